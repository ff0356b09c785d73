"""Weighted GLM fits: the full sample and all replicates, by one Newton iteration.

The coefficients solve the weighted score equations

.. math:: \\sum_i w_i x_i (y_i - \\mu_i(\\beta)) = 0,

(the pseudo-likelihood estimator of Binder 1983). For the canonical links
offered (:mod:`.families`) Newton's method on them is Fisher scoring, i.e.
IRLS: :func:`newton_step` solves ``X' diag(w V(mu)) X step = X' w (y - mu)``
for ``B`` weightings at once, the weighted cross-products of all of them
formed in one matrix product ``W' [x_i x_i']`` and the ``B`` small systems
solved in one batched call. The full sample is that iteration with ``B = 1``
(:func:`fit_full_sample`, started from the IRLS start R and statsmodels
use); each replicate solves the same equations with replicate weights
``w_ib``, warm-started from the full-sample estimate
(:func:`refit_replicates`; R's ``svyglm`` on a replicate design instead calls
``glm.fit`` once per replicate). One solver serves both, so the full-sample
fit needs neither statsmodels' GLM (nor the import of ``scipy.stats`` and
formulaic it brings); the tests check both against statsmodels and R.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import qr

from weighting.errors import ReplicateError

from .errors import CollinearityError, ConvergenceError, SeparationError
from .families import Family

# A fitted probability this close to 0 or 1 only arises when the estimate is
# running off to infinity (|eta| > 25): the data are separated.
_SEPARATION_EPS = 1e-11


def check_identifiable(X: np.ndarray, w: np.ndarray, terms: list) -> None:
    """Raise if a column of ``X`` is empty, constant or aliased.

    Parameters
    ----------
    X : (n, p) design matrix of the rows in the fit.
    w : (n,) weights of those rows (rows with zero weight do not count).
    terms : column names, for the message.
    """
    pos = w > 0
    Xp = X[pos]
    has_intercept = bool(np.any(np.all(Xp == 1.0, axis=0)))
    for j, name in enumerate(terms):
        col = Xp[:, j]
        if np.all(col == 0):
            raise CollinearityError(
                f"term {name!r} has no respondents among the {len(col)} fitted rows "
                f"(a factor level without data); drop or merge it"
            )
        if has_intercept and name != "Intercept" and np.all(col == col[0]):
            raise CollinearityError(
                f"term {name!r} is constant (all {len(col)} fitted rows = {col[0]:g}); "
                f"it is aliased with the intercept: drop it from the formula"
            )
    # Rank: pivoted QR of the weighted matrix, scaled so that units do not matter.
    Z = Xp * np.sqrt(w[pos])[:, None]
    Z = Z / np.linalg.norm(Z, axis=0)
    _, R, piv = qr(Z, mode="economic", pivoting=True)
    d = np.abs(np.diag(R))
    rank = int(np.sum(d > d[0] * 1e-10))
    if rank < X.shape[1]:
        aliased = [terms[k] for k in piv[rank:]]
        raise CollinearityError(
            f"term {aliased[0]!r} is a linear combination of the other model columns "
            f"(rank {rank} < {X.shape[1]} columns); drop it or merge categories"
        )


def _extreme_fits(mu: np.ndarray, family: Family) -> np.ndarray:
    """Fitted means at the boundary of the family's range (0 or 1 for
    binomial, 0 for Poisson): only reached when a coefficient diverges."""
    if family.name == "binomial":
        return np.minimum(mu, 1.0 - mu) < _SEPARATION_EPS
    if family.name == "poisson":
        return mu < _SEPARATION_EPS
    return np.zeros(mu.shape, dtype=bool)


def separating_direction(X: np.ndarray, y: np.ndarray, family: Family):
    """A direction ``b != 0`` along which the likelihood grows without bound.

    Logistic model (Konis 2007): ``s_i x_i'b >= 0`` for every row, with
    ``s_i = +1`` for y = 1 and ``-1`` for y = 0 (``x_i'b = 0`` for a
    fractional y), and some row strictly positive — then ``beta + t b``
    improves the fit for every t > 0 and the estimate is infinite
    ((quasi-)complete separation, Albert & Anderson 1984). Poisson model: the
    same with ``x_i'b <= 0``, ``x_i'b = 0`` where y > 0 (a group of zero counts).
    Found by the linear program ``max sum_i s_i x_i'b`` over ``-1 <= b <= 1``
    on column-scaled X; returns None when its optimum is zero.
    """
    # imported here: only a fit with fitted means on the boundary gets here
    from scipy.optimize import linprog

    scale = np.max(np.abs(X), axis=0)
    Z = X / np.where(scale > 0, scale, 1.0)
    if family.name == "binomial":
        sign = np.where(y >= 1, 1.0, np.where(y <= 0, -1.0, 0.0))
    else:
        sign = np.where(y <= 0, -1.0, 0.0)
    free = sign != 0
    S = Z[free] * sign[free, None]
    res = linprog(
        -S.sum(axis=0),
        A_ub=-S,
        b_ub=np.zeros(len(S)),
        A_eq=Z[~free] if (~free).any() else None,
        b_eq=np.zeros((~free).sum()) if (~free).any() else None,
        bounds=[(-1.0, 1.0)] * X.shape[1],
        method="highs",
    )
    if res.status != 0 or -res.fun <= 1e-7 * max(1, len(S)) ** 0.5:
        return None
    return res.x


def _describe_separation(X, y, b, terms, family) -> str:
    """Name what separates: a 0/1 column (factor level) whose rows all have
    the same boundary response, else the terms of the direction."""
    bounds = (0.0, 1.0) if family.name == "binomial" else (0.0,)
    for j in np.argsort(-np.abs(b)):
        col = X[:, j]
        if abs(b[j]) < 1e-6 or terms[j] == "Intercept" or not np.all((col == 0) | (col == 1)):
            continue
        yy = y[col == 1]
        for bound in bounds:
            if len(yy) and np.all(yy == bound):
                return f"all {len(yy)} respondents with {terms[j]} have response {bound:g}"
    involved = [terms[j] for j in np.flatnonzero(np.abs(b) > 1e-6)]
    return f"the terms {', '.join(involved)} separate the response"


def check_separation(frame, w, mu, beta, family: Family) -> None:
    """Raise :class:`SeparationError` if the estimate is infinite.

    Fitted means at the boundary (probabilities 0 or 1, Poisson means 0) are
    the symptom; :func:`separating_direction` confirms it, so that a fit
    that is merely extreme (an outlying covariate) is not refused.
    """
    pos = w > 0
    X, y = frame.X[pos], frame.y[pos]
    if family.name == "binomial" and (np.all(y == 0) or np.all(y == 1)):
        raise SeparationError(
            f"response {frame.response!r} is {y[0]:g} for all {len(y)} fitted rows; "
            f"a logistic model needs both outcomes"
        )
    extreme = _extreme_fits(mu[pos], family)
    if not np.any(extreme):
        return
    b = separating_direction(X, y, family)
    if b is None:
        return
    raise SeparationError(
        f"perfect separation in the model for {frame.response!r}: "
        f"{_describe_separation(X, y, b, frame.terms, family)}; "
        f"{int(extreme.sum())} fitted values are on the boundary, so the estimate is "
        f"infinite (merge or drop the level)"
    )


def _start(X: np.ndarray, y: np.ndarray, w: np.ndarray, family: Family) -> np.ndarray:
    """The first IRLS iterate, from the fitted means ``mu_0 = (y + 1/2) / 2``
    (binomial) or ``(y + weighted mean of y) / 2`` (statsmodels starts from
    the unweighted mean; the start changes the path, not the estimate):
    the weighted least-squares fit of the working response
    ``z = g(mu_0) + (y - mu_0) / V(mu_0)`` with weights ``w V(mu_0)``."""
    mu = (y + (0.5 if family.name == "binomial" else np.average(y, weights=w))) / 2.0
    v = family.variance(mu)
    z = family.link_function(mu) + (y - mu) / v
    wv = w * v
    return np.linalg.solve(X.T @ (X * wv[:, None]), X.T @ (wv * z))


def fit_full_sample(
    X: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    family: Family,
    *,
    tol: float = 1e-10,
    max_iter: int = 100,
) -> np.ndarray:
    """Weighted GLM coefficients by Newton's method (IRLS).

    From the IRLS start (:func:`_start`), :func:`newton_step` with the one
    weighting ``w`` until the step is below ``tol * (1 + max |beta|)``; the
    step is applied, so (quadratic convergence) the estimate is then at
    rounding level. The weights are rescaled to mean 1 (as R's ``svyglm``),
    which changes nothing in the estimate. When the iteration does not
    converge because fitted values run to the boundary of the family's range
    (separation), the last iterate is returned for :func:`check_separation`
    to report.

    Raises
    ------
    ConvergenceError
        Non-finite coefficients, or no convergence in ``max_iter`` steps
        without fitted values on the boundary.
    """
    wn = w / w.mean()
    beta = _start(X, y, wn, family)
    stopped = f"did not converge in {max_iter} iterations"
    for _ in range(max_iter):
        try:
            step = newton_step(X, y, wn[:, None], family, beta[:, None])[:, 0]
        except np.linalg.LinAlgError:  # information singular at the boundary
            stopped = "stopped on a singular information matrix"
            break
        beta = beta + step
        if not np.all(np.isfinite(beta)):
            raise ConvergenceError(
                f"the full-sample {family.name} fit gave non-finite coefficients"
            )
        if np.max(np.abs(step)) <= tol * (1.0 + np.max(np.abs(beta))):
            return beta
    if np.any(_extreme_fits(family.inverse_link(X @ beta), family)):
        return beta
    raise ConvergenceError(f"the full-sample {family.name} fit {stopped}")


# Rows are merged (collapse_rows) unless more than this share of them is
# distinct: the report's factor models have 8-64 % distinct rows and gain
# 1.5-12x per Newton iteration; a model with a continuous predictor has
# about 100 % and would pay the merge (a sort of the rows) for nothing.
COLLAPSE_SHARE = 0.8


def collapse_rows(X: np.ndarray, W: np.ndarray, y: np.ndarray | None = None) -> tuple:
    """The distinct rows of ``X`` (with ``y``) and the summed weights of each.

    A model's score, information, log-likelihood and weighted mean
    predictions depend on a row only through ``(x_i, y_i)``, each a sum
    ``sum_i w_ib g(x_i, y_i)``; rows that agree in both can be merged into
    one with weight ``sum_{i in group} w_ib``. With factor predictors, as in
    the report's models, a thousand rows have one or two hundred patterns,
    and every Newton iteration or margin of ``B`` replicates then costs that
    many rows instead of ``n``. The sums are the same up to the order of
    the additions (last bits).

    Parameters
    ----------
    X : (n, p); W : (n, B) weights; y : (n,) response, optional.

    Returns
    -------
    X, W (and y when given) of the distinct rows: (u, p), (u, B), (u,);
    the inputs themselves when more than ``COLLAPSE_SHARE`` of the rows are
    distinct (a continuous predictor): merging would cost more than it saves.
    """
    keys = X if y is None else np.column_stack([X, y])
    # A lower bound on the distinct rows from one number per row: equal rows
    # give equal projections, so a collision can only undercount (and merge).
    projection = np.sqrt(np.arange(2.0, 2.0 + keys.shape[1])) % 1.0 + 0.5  # fixed, no RNG
    if np.unique(keys @ projection).size > COLLAPSE_SHARE * len(keys):
        return (X, W) if y is None else (X, W, y)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    order = np.argsort(inverse, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(inverse[order]) != 0])
    summed = np.add.reduceat(W[order], starts, axis=0)
    if y is None:
        return X[first], summed
    return X[first], summed, y[first]


def cross_products(X: np.ndarray) -> np.ndarray:
    """Row-wise products x_ij x_ik for j <= k: (n, p(p+1)/2), the upper
    triangle of x_i x_i' (the information matrix is symmetric)."""
    upper, lower = np.triu_indices(X.shape[1])
    return X[:, upper] * X[:, lower]


def newton_step(X, y, W, family: Family, beta, XX=None):
    """Newton (= Fisher scoring for canonical links) steps for B weightings.

    Parameters
    ----------
    X : (n, p); y : (n,); W : (n, B) weights; beta : (p, B) current estimates.
    XX : optional precomputed :func:`cross_products` of X.

    Returns
    -------
    step : (p, B), the solution of ``X' diag(W_b V(mu_b)) X step_b = X' W_b (y - mu_b)``.
    """
    p = X.shape[1]
    XX = cross_products(X) if XX is None else XX
    mu = family.inverse_link(X @ beta)
    packed = (W * family.variance(mu)).T @ XX  # (B, p(p+1)/2)
    upper, lower = np.triu_indices(p)
    info = np.empty((packed.shape[0], p, p))
    info[:, upper, lower] = packed
    info[:, lower, upper] = packed
    score = (X.T @ (W * (y[:, None] - mu))).T
    return np.linalg.solve(info, score[:, :, None])[:, :, 0].T


def refit_replicates(
    X: np.ndarray,
    y: np.ndarray,
    W: np.ndarray,
    family: Family,
    beta0: np.ndarray,
    terms: list,
    *,
    tol: float = 1e-8,
    max_iter: int = 50,
) -> np.ndarray:
    """Coefficients of every replicate, fitted together.

    The Newton iterations run on the distinct ``(x_i, y_i)`` with summed
    replicate weights (:func:`collapse_rows`), the same equations in fewer rows.

    Parameters
    ----------
    X : (n, p) design matrix; y : (n,) response.
    W : (n, B) replicate weights of the fitted rows.
    beta0 : (p,) full-sample estimate, the common starting point.
    tol : a replicate has converged when its Newton step is below
        ``tol * (1 + max |beta|)``; as Newton converges quadratically and
        that step is applied, the estimate is then accurate to about ``tol**2``.

    Returns
    -------
    (B, p) array of replicate coefficients.

    Raises
    ------
    ReplicateError
        A replicate in which a model column has no unit with positive weight
        (a factor level without respondents), or whose fit does not converge
        (separation within the replicate); names the replicate (1-based) and term.
    """
    n, p = X.shape
    B = W.shape[1]
    present = (W > 0).T.astype(float) @ (X != 0).astype(float)  # (B, p) counts
    empty = np.argwhere(present == 0)
    if len(empty):
        b, j = empty[0]
        raise ReplicateError(
            f"replicate {b + 1}: term {terms[j]!r} has no respondent with positive weight "
            f"({len(empty)} such replicate/term pairs); its coefficient is not identified "
            f"there — merge the level or use another replicate method"
        )
    X, W, y = collapse_rows(X, W, y)
    XX = cross_products(X)
    beta = np.repeat(beta0[:, None], B, axis=1)
    # The replicates still iterating: their indices, weights and estimates
    # (compacted as replicates converge, so late iterations are cheap).
    active, Wa, ba = np.arange(B), W, beta.copy()
    for _ in range(max_iter):
        try:
            step = newton_step(X, y, Wa, family, ba, XX)
        except np.linalg.LinAlgError:
            raise ReplicateError(
                "a replicate's information matrix is singular: some model column is "
                "aliased within a replicate"
            ) from None
        ba += step
        done = np.max(np.abs(step), axis=0) <= tol * (1.0 + np.max(np.abs(ba), axis=0))
        beta[:, active[done]] = ba[:, done]
        if done.all():
            return beta.T
        if done.any():
            active, Wa, ba = active[~done], Wa[:, ~done], ba[:, ~done]
    beta[:, active] = ba
    worst = int(active[0])
    runaway = terms[int(np.argmax(np.abs(beta[:, worst] - beta0)))]
    raise ReplicateError(
        f"replicate {worst + 1} (and {active.size - 1} more) did not converge in "
        f"{max_iter} Newton steps: a predictor separates the response within the "
        f"replicate (coefficient running away: {runaway!r})"
    )
