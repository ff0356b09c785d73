"""Design-based proportional-odds models: R's ``svyolr``.

The model for an ordered response with categories ``1 < 2 < ... < K`` is

.. math:: P(Y_i \\le k \\mid x_i) = F(\\zeta_k - x_i'\\beta), \\qquad k = 1, \\dots, K-1,

with ``F`` the logistic (``link="logit"``) or standard normal (``"probit"``)
distribution function, thresholds ``zeta_1 < ... < zeta_{K-1}`` and no
intercept in ``x`` (the thresholds play its part). A positive ``beta_j``
shifts the ratings upwards; for the logit link ``exp(beta_j)`` is the odds
ratio of a rating above any k (McCullagh 1980). Parametrisation, sign and
names are R's ``svyolr``/``MASS::polr``: coefficients first (patsy names,
treatment contrasts), then the thresholds named ``"1|2"``, ``"2|3"``, ...
from the response's categories.

Fit
---
The coefficients maximise the weighted pseudo-log-likelihood
``l(theta) = sum_i w_i log p_i(theta)``, ``p_i = F(u_i) - F(l_i)``,
``u_i = zeta_{y_i} - x_i'beta``, ``l_i = zeta_{y_i - 1} - x_i'beta``
(``zeta_0 = -inf``, ``zeta_K = +inf``), by Newton's method on
``theta = (beta, zeta)`` with the analytic score and Hessian: with
``a_u = (-x_i, e_{y_i})``, ``a_l = (-x_i, e_{y_i - 1})``,

.. math:: s_i = (f(u_i) a_u - f(l_i) a_l) / p_i, \\qquad
          H = \\sum_i w_i \\big[(f'(u_i) a_u a_u' - f'(l_i) a_l a_l') / p_i
              - s_i s_i'\\big].

``l`` is concave in ``(beta, zeta)`` on the set where the thresholds increase
(``F`` is log-concave; Pratt 1981), so Newton's method with step halving
(a step is halved until the thresholds stay increasing and ``l`` does not
fall) converges from the start ``beta = 0``, ``zeta_k = F^{-1}`` (weighted
share of ratings ``<= k``), the exact fit without covariates. The iteration
stops when the Newton step is below ``1e-10 (1 + max |theta|)``, after which
the applied step leaves the estimate within rounding of the root.

Why not statsmodels' ``OrderedModel`` (the issue's suggestion): it has no
weights argument (statsmodels 0.15: its log-likelihood is the unweighted sum
over rows, and a ``GenericLikelihoodModel`` subclass that weights it gets
numerical derivatives only), while the design-based variance needs the
per-row scores and the exact Hessian anyway, and the replicate re-fits are
the same Newton iteration run for all replicates at once. ``OrderedModel``
serves as an independent check: with equal weights the fit here is its
maximum-likelihood fit (``tests/estimators/model/test_ordinal_properties.py``).

Variance
--------
* Linearization (Binder 1983): the influence of unit i is
  ``z_i = s_i' (-H)^{-1}`` (so that ``theta_hat - theta ~ sum_i w_i z_i``),
  passed to :func:`estimators.inference.variance.linearization_covariance`,
  which takes strata, PSUs, the fpc and, after calibration, the calibration
  residuals into account (R: ``svyrecvar`` of the same influence, with the
  calibration's ``postStrata``).
* Replicates: every replicate is re-fitted with its weights, warm-started
  from the full-sample estimate, all replicates iterated together (the
  coefficient block of their Hessians formed in one matrix product of the
  weights with the row-wise cross-products of X, the threshold blocks from
  sums over each category's rows, the small systems solved in one batched
  call; memory ``n p(p+1)/2`` as for ``svyglm``), and the
  replicate estimates go through R's ``svrVar`` rule with the design's
  ``scale``, ``rscales`` and ``mse``.

Differences from R
------------------
* R's ``vcov`` uses optim's finite-difference Hessian (central differences
  of step ``1e-3`` in svyolr's internal scale ``(beta, zeta_1,
  log(zeta_k - zeta_{k-1}))``, mapped back with the Jacobian): its standard
  errors differ from the exact sandwich by about ``2e-7`` relative on
  moderately scaled covariates and up to ``1.3e-4`` when a covariate ranges
  widely (apistrat's ``ell``, 0-84). kalib uses the exact Hessian; it equals
  R's sandwich with the analytic Hessian to ``1e-9`` relative
  (``tests/reference/ordinal``, ``vcov_exact_hessian``).
* R fits with optim's BFGS, which stops about ``3e-5`` from the root with its
  default tolerance and cannot get closer than about ``1e-7`` with any
  tolerance; kalib solves the score equations to rounding. On a replicate
  design R's replicate fits stop at optim's default tolerance, so its
  replicate SEs are off by 0.1-1 %; kalib's equal those of fully converged
  replicate fits.
* A response with two categories is accepted (the model is then the binary
  logit or probit model of ``Y > 1``); R requires three. Only the logit and
  probit links are offered (R also has cloglog and cauchit).
* A response must be numeric codes (their sorted distinct values among the
  fitted rows are the categories), an ordered pandas Categorical or come
  with its ``levels`` in order (then every category must occur); text
  without levels has no order and is refused.

References
----------
McCullagh, P. (1980). Regression models for ordinal data. JRSS B 42, 109-142.
Pratt, J. W. (1981). Concavity of the log likelihood. JASA 76, 103-106.
Binder, D. A. (1983). On the variances of asymptotically normal estimators
from complex surveys. International Statistical Review 51, 279-292.
Lumley, T. (2010). Complex Surveys: A Guide to Analysis Using R, ch. 6. Wiley.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.special import expit, logit, ndtr, ndtri

from estimators._threads import thread_limits
from weighting.columns import canonical
from weighting.errors import ReplicateError

from .errors import CollinearityError, FormulaError, ModelError, SeparationError
from .fitting import check_identifiable, collapse_rows, cross_products
from .formula import ModelFrame, build_model_frame, formula_variables
from .glm import fit_inputs
from .ordinal_results import OrdinalResults
from .variance import design_df, linearized_cov, replicate_cov, replicate_matrix

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from estimators.inference.domains import Condition
    from weighting.design import Design
    from weighting.protocols import ReplicateDesign

# Newton stops when its step is below TOL (1 + max |theta|); quadratic
# convergence then leaves the applied step's result at rounding level.
TOL = 1e-10
MAX_ITER = 100
# Step halvings before a Newton step is declared a failure (2^-50 ~ 1e-15).
MAX_HALVINGS = 50


@dataclass(frozen=True)
class OrdinalLink:
    """The distribution ``F`` of a cumulative link model.

    Attributes
    ----------
    name : ``ordinal`` (the family, as ``kalib model --family ordinal``).
    link : ``logit`` or ``probit``.
    cdf, pdf : ``F`` and ``f = F'``; ``pdf_slope`` gives ``(f, f')`` in one
        pass. All are finite at ``+-inf`` (0 for ``f`` and ``f'``), so the
        open ends of the first and last category need no special case.
    quantile : ``F^{-1}`` (starting thresholds).
    """

    name: str
    link: str
    cdf: Callable[[np.ndarray], np.ndarray]
    pdf: Callable[[np.ndarray], np.ndarray]
    pdf_slope: Callable[[np.ndarray], tuple]
    quantile: Callable[[np.ndarray], np.ndarray]


def _logistic_pdf(x):
    F = expit(x)
    return F * (1.0 - F)


def _logistic_pdf_slope(x):
    F = expit(x)
    f = F * (1.0 - F)
    return f, f * (1.0 - 2.0 * F)


def _normal_pdf(x):
    return np.exp(-0.5 * np.square(x)) / np.sqrt(2.0 * np.pi)


def _normal_pdf_slope(x):
    # f' = -x f(x), written so that x = +-inf gives 0 rather than inf * 0.
    f = _normal_pdf(x)
    return f, -np.where(np.isfinite(x), x, 0.0) * f


LINKS = {
    "logit": OrdinalLink("ordinal", "logit", expit, _logistic_pdf, _logistic_pdf_slope, logit),
    "probit": OrdinalLink("ordinal", "probit", ndtr, _normal_pdf, _normal_pdf_slope, ndtri),
}
# R's svyolr calls the logit link method = "logistic".
LINK_ALIASES = {"logistic": "logit"}


def get_link(name: str | OrdinalLink) -> OrdinalLink:
    """Look a link up by name (``logit``, ``probit``; R's ``logistic``)."""
    if isinstance(name, OrdinalLink):
        return name
    key = LINK_ALIASES.get(str(name).lower(), str(name).lower())
    try:
        return LINKS[key]
    except KeyError:
        raise ModelError(
            f"unknown link {name!r} for an ordinal model; use {' or '.join(LINKS)}"
        ) from None


# -- model frame -----------------------------------------------------------------


@dataclass
class OrdinalFrame(ModelFrame):
    """A :class:`~estimators.model.formula.ModelFrame` of an ordinal model.

    ``y`` holds category codes ``0..K-1``; ``X``, ``terms`` and
    ``term_columns`` have no intercept column (the thresholds stand for it);
    ``levels`` are the response's categories, lowest first, as text.
    """

    levels: tuple
    intercept_column: int

    def design_matrix(self, data: pd.DataFrame) -> np.ndarray:
        """The (intercept-free) design matrix of ``data`` with this frame's coding."""
        return np.delete(super().design_matrix(data), self.intercept_column, axis=1)

    @property
    def threshold_names(self) -> list:
        """R's names of the thresholds: ``"1|2"``, ``"2|3"``, ..."""
        return [f"{a}|{b}" for a, b in zip(self.levels[:-1], self.levels[1:])]


def _response_name(formula: str) -> str:
    """The response variable of an ordinal formula (a plain column name or
    ``Q('name')``; an expression has no natural order of its values)."""
    if "~" not in formula:
        raise FormulaError(f"formula {formula!r} has no response: write 'Y ~ A + B'")
    lhs = formula.split("~", 1)[0].strip()
    names = formula_variables(f"{lhs} ~ 1") if lhs else []
    if len(names) != 1 or lhs not in (names[0], f"Q('{names[0]}')", f'Q("{names[0]}")'):
        raise FormulaError(f"the response of an ordinal model must be one variable, not {lhs!r}")
    return names[0]


def _response_codes(data: pd.DataFrame, name: str, subset=None, levels=None) -> tuple:
    """Category codes (float, NaN where missing), category texts and whether
    the categories are declared (each must then occur) of the response:
    ``levels`` if given (matched as canonical text, ``1`` = ``1.0``), an
    ordered Categorical's categories, or the sorted distinct values of a
    numeric column (numbers written as text count as numbers). Rows outside
    ``subset`` are not looked at (they may hold codes such as ``dont_know``
    that the subset leaves out)."""
    values = data[name]
    if subset is not None:
        values = values.where(subset)
    if levels is not None:
        levels = [canonical(v) for v in levels]
        repeated = [v for v in levels if levels.count(v) > 1]
        if repeated:
            raise FormulaError(f"the levels of response {name!r} repeat {repeated[0]!r}")
        texts = values.map(canonical, na_action="ignore")
        codes = texts.map({v: k for k, v in enumerate(levels)})
        unknown = texts.notna() & codes.isna()
        if unknown.any():
            value = texts[unknown].iloc[0]
            raise FormulaError(
                f"response {name!r} has the value {value!r} ({int((texts == value).sum())} "
                f"rows), not one of its levels {', '.join(levels)}; add it or leave such "
                f"rows out of the fit (subset, --where)"
            )
        return codes.to_numpy(dtype=float), levels, True
    if isinstance(values.dtype, pd.CategoricalDtype):
        if not values.cat.ordered:
            raise FormulaError(
                f"response {name!r} is an unordered categorical: give its order "
                f"(an ordered Categorical, or levels) or numeric codes"
            )
        codes = values.cat.codes.to_numpy().astype(float)
        codes[codes < 0] = np.nan
        return codes, [canonical(c) for c in values.cat.categories], True
    numbers = pd.to_numeric(values, errors="coerce")
    text = numbers.isna() & values.notna()
    if text.any():
        raise FormulaError(
            f"response {name!r} has the text value {values[text].iloc[0]!r} "
            f"({int((values == values[text].iloc[0]).sum())} rows): an ordinal response "
            f"needs numeric codes (1-5), an ordered Categorical or its levels in order "
            f"(levels, --levels); or leave such rows out of the fit (subset, --where)"
        )
    numbers = numbers.to_numpy(dtype=float)
    distinct = np.unique(numbers[~np.isnan(numbers)])
    codes = np.where(np.isnan(numbers), np.nan, np.searchsorted(distinct, np.nan_to_num(numbers)))
    return codes.astype(float), [canonical(v) for v in distinct], False


def build_ordinal_frame(
    formula: str,
    data: pd.DataFrame,
    weights: np.ndarray,
    subset: ArrayLike | None = None,
    levels: Sequence[object] | None = None,
) -> OrdinalFrame:
    """The model frame of an ordinal formula on the rows of ``data``.

    Rows with a missing model variable or outside ``subset`` are left out of
    the fit (:func:`~estimators.model.formula.build_model_frame`). The
    categories are ``levels``, an ordered Categorical's categories (each
    must occur) or a numeric response's values among the fitted rows; each
    needs positive weight.

    Raises
    ------
    FormulaError
        Response not one variable, text or unordered, fewer than two
        categories, a declared category without respondents; formula without
        intercept.
    CollinearityError
        A model column is empty, constant or aliased (with the thresholds too).
    """
    name = _response_name(formula)
    if name not in data.columns:
        raise FormulaError(
            f"formula {formula!r} names unknown variable {name!r} (not a column of the data)"
        )
    codes, labels, declared = _response_codes(data, name, subset, levels)
    frame = build_model_frame(formula, data.assign(**{name: codes}), subset)
    if "Intercept" not in frame.terms:
        raise FormulaError(
            f"formula {formula!r} removes the intercept; an ordinal model's thresholds "
            f"take its place, so write the formula with it"
        )
    w = np.asarray(weights, dtype=float)[frame.used]
    check_identifiable(frame.X, w, frame.terms)
    y = frame.y.astype(np.int64)
    counts = np.bincount(y, minlength=len(labels))
    weighted = np.bincount(y, w, minlength=len(labels))
    if declared:
        empty = np.flatnonzero(weighted <= 0)
        if len(empty):
            k = empty[0]
            raise FormulaError(
                f"category {labels[k]!r} of response {name!r} has no respondents "
                f"with positive weight among the {len(y)} fitted rows ({counts[k]} "
                f"rows); drop it from the categories or merge it with a neighbour"
            )
        present = np.arange(len(labels))
    else:
        present = np.flatnonzero(counts > 0)
        zero = present[weighted[present] <= 0]
        if len(zero):
            raise FormulaError(
                f"category {labels[zero[0]]!r} of response {name!r} has only rows of "
                f"weight zero ({counts[zero[0]]}); its threshold is not identified"
            )
    if len(present) < 2:
        raise FormulaError(
            f"response {name!r} has one category ({labels[present[0]]!r}) among the "
            f"{len(y)} fitted rows; an ordinal model needs at least two"
        )
    recode = np.full(len(labels), -1)
    recode[present] = np.arange(len(present))
    j = frame.terms.index("Intercept")
    term_columns = {
        term: [c - (c > j) for c in cols]
        for term, cols in frame.term_columns.items()
        if term != "Intercept"
    }
    return OrdinalFrame(
        y=recode[y],
        X=np.delete(frame.X, j, axis=1),
        used=frame.used,
        response=name,
        terms=[t for t in frame.terms if t != "Intercept"],
        term_columns=term_columns,
        design_info=frame.design_info,
        levels=tuple(labels[k] for k in present),
        intercept_column=j,
    )


# -- likelihood, score and Hessian, batched over weightings --------------------------


class _Rows:
    """The fixed per-row quantities of a fit on ``X`` (n, p) and codes ``y``.

    ``Au``, ``Al`` (n, P) are the derivatives of ``u_i`` and ``l_i`` with
    respect to ``theta = (beta, zeta)`` (the scores are ``Au' (W alpha) -
    Al' (W gamma)``); ``groups`` are the rows and their ``X`` per category.
    The Hessian is assembled by blocks (:func:`_derivatives`): the
    ``beta beta`` block from the row-wise cross-products of X (formed on
    first use), so that B weightings take one matrix product of
    p(p+1)/2 columns, the others from sums over each category's rows.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, n_levels: int):
        n, p = X.shape
        q = n_levels - 1
        self.X, self.y, self.p, self.q = X, y, p, q
        self.P = p + q
        upper = np.zeros((n, q))
        lower = np.zeros((n, q))
        top, bottom = y < q, y > 0
        upper[np.flatnonzero(top), y[top]] = 1.0
        lower[np.flatnonzero(bottom), y[bottom] - 1] = 1.0
        self.Au = np.hstack([-X, upper])
        self.Al = np.hstack([-X, lower])
        self.groups = [
            (rows, X[rows]) for rows in (np.flatnonzero(y == k) for k in range(n_levels))
        ]
        self._XX: np.ndarray | None = None

    def cross_products(self) -> np.ndarray:
        """(n, p(p+1)/2): the upper triangle of ``x_i x_i'`` row by row."""
        if self._XX is None:
            self._XX = cross_products(self.X)
        return self._XX

    def bounds(self, theta: np.ndarray) -> tuple:
        """``u``, ``l`` (n, B) for parameters ``theta`` (P, B)."""
        eta = self.X @ theta[: self.p]
        B = theta.shape[1]
        zeta = np.vstack([np.full((1, B), -np.inf), theta[self.p :], np.full((1, B), np.inf)])
        return zeta[self.y + 1] - eta, zeta[self.y] - eta


def cell_probability(u: np.ndarray, l: np.ndarray, link: OrdinalLink) -> np.ndarray:
    """``F(u) - F(l)``, from the upper tails when both bounds are high (no
    cancellation for the top categories; ``F(-x) = 1 - F(x)`` for both links)."""
    flip = np.where(u + l > 0, -1.0, 1.0)
    return flip * (link.cdf(flip * u) - link.cdf(flip * l))


def cells(rows: _Rows, theta: np.ndarray, link: OrdinalLink) -> tuple:
    """``(u, l, p)`` (each (n, B)) at ``theta`` (P, B): the bounds of every
    row's category and its probability ``p = F(u) - F(l)``, which the
    log-likelihood and its derivatives share (:func:`newton` evaluates them
    once per iterate, for the step-halving test and then the next step)."""
    u, l = rows.bounds(theta)
    return u, l, cell_probability(u, l, link)


def _loglik(rows: _Rows, theta, W, at: tuple) -> np.ndarray:
    """Weighted log-likelihood ``sum_i w_i log p_i`` (B,) at ``theta``, whose
    :func:`cells` are ``at``; ``-inf`` where the thresholds do not increase."""
    ok = np.all(np.diff(theta[rows.p :], axis=0) > 0, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ll = np.sum(W * np.log(at[2]), axis=0)
    return np.where(ok & ~np.isnan(ll), ll, -np.inf)


def _derivatives(rows: _Rows, at: tuple, W, link) -> tuple:
    """Score (P, B) and Hessian (B, P, P) of the weighted log-likelihood at
    the parameters whose :func:`cells` are ``at``.

    With ``h_uu = f'(u)/p - alpha^2``, ``h_ll = -f'(l)/p - gamma^2``,
    ``h_ul = alpha gamma`` (``alpha = f(u)/p``, ``gamma = f(l)/p``), the
    Hessian ``sum_i w_i [h_uu a_u a_u' + h_ll a_l a_l' + h_ul (a_u a_l' +
    a_l a_u')]`` has the blocks: ``beta beta``, ``sum w (h_uu + h_ll +
    2 h_ul) x x'``; ``beta zeta_j``, ``-sum w x (h_uu + h_ul)`` over category
    j plus ``-sum w x (h_ll + h_ul)`` over category j + 1; ``zeta zeta``,
    tridiagonal, ``sum w h_uu`` over category j plus ``sum w h_ll`` over
    j + 1 on the diagonal and ``sum w h_ul`` over j + 1 beside it (categories
    and thresholds counted from 0; category j lies between thresholds j - 1
    and j).
    """
    u, l, p = at
    (fu, dfu), (fl, dfl) = link.pdf_slope(u), link.pdf_slope(l)
    alpha, gamma = fu / p, fl / p
    score = rows.Au.T @ (W * alpha) - rows.Al.T @ (W * gamma)
    cu = W * (dfu / p - alpha**2)
    cl = W * (-dfl / p - gamma**2)
    cx = W * (alpha * gamma)
    B, k, q = W.shape[1], rows.p, rows.q
    H = np.zeros((B, rows.P, rows.P))
    packed = (cu + cl + 2.0 * cx).T @ rows.cross_products()
    i, j = np.triu_indices(k)
    H[:, i, j] = packed
    H[:, j, i] = packed
    cross = np.zeros((B, k, q))
    diagonal = np.zeros((B, q))
    beside = np.zeros((B, q))
    for c, (members, Xc) in enumerate(rows.groups):
        if c < q:  # threshold c is the category's upper bound
            cross[:, :, c] -= (cu[members] + cx[members]).T @ Xc
            diagonal[:, c] += cu[members].sum(axis=0)
        if c > 0:  # threshold c - 1 is its lower bound
            cross[:, :, c - 1] -= (cl[members] + cx[members]).T @ Xc
            diagonal[:, c - 1] += cl[members].sum(axis=0)
            beside[:, c - 1] = cx[members].sum(axis=0)
    H[:, :k, k:] = cross
    H[:, k:, :k] = cross.transpose(0, 2, 1)
    t = np.arange(q)
    H[:, k + t, k + t] = diagonal
    H[:, k + t[:-1], k + t[:-1] + 1] = beside[:, :-1]
    H[:, k + t[:-1] + 1, k + t[:-1]] = beside[:, :-1]
    return score, H


def row_scores(rows: _Rows, theta: np.ndarray, link: OrdinalLink) -> np.ndarray:
    """Unweighted scores ``s_i`` (n, P) of the rows at ``theta`` (P,)."""
    u, l = rows.bounds(theta[:, None])
    p = cell_probability(u, l, link)
    return rows.Au * (link.pdf(u) / p) - rows.Al * (link.pdf(l) / p)


def newton(
    rows: _Rows,
    theta0: np.ndarray,
    W: np.ndarray,
    link: OrdinalLink,
    *,
    tol: float = TOL,
    max_iter: int = MAX_ITER,
) -> tuple:
    """Maximise the weighted log-likelihood for B weightings together.

    Parameters
    ----------
    theta0 : (P, B) starting values (increasing thresholds).
    W : (n, B) weights.

    Returns
    -------
    theta : (P, B); converged : (B,) bool.
    """
    theta = theta0.astype(float, copy=True)
    B = theta.shape[1]
    converged = np.zeros(B, dtype=bool)
    # The weightings still iterating (compacted as they converge, so that the
    # late iterations only touch the few that are left).
    active, Wa, ta = np.arange(B), W, theta.copy()
    at = cells(rows, ta, link)
    ll = _loglik(rows, ta, Wa, at)
    for _ in range(max_iter):
        score, H = _derivatives(rows, at, Wa, link)
        try:
            step = np.linalg.solve(-H, score.T[:, :, None])[:, :, 0].T
        except np.linalg.LinAlgError:
            break
        done = np.max(np.abs(step), axis=0) <= tol * (1.0 + np.max(np.abs(ta), axis=0))
        t = np.ones(len(active))
        for _ in range(MAX_HALVINGS):
            candidate = ta + t * step
            at = cells(rows, candidate, link)
            new = _loglik(rows, candidate, Wa, at)
            # l is concave: a step that lowers it (beyond rounding) overshoots.
            bad = ~(new >= ll - 1e-12 * (1.0 + np.abs(ll)))
            if not bad.any():
                break
            t[bad] /= 2.0
        # A weighting whose step cannot be made to raise l is left where it was.
        candidate[:, bad], new[bad] = ta[:, bad], ll[bad]
        done &= t == 1.0
        ta, ll = candidate, new
        if done.any():
            theta[:, active[done]] = ta[:, done]
            converged[active[done]] = True
        theta[:, active[bad]] = ta[:, bad]
        going = ~(done | bad)
        if not going.any():
            return theta, converged
        # the weightings that go on were all accepted at `candidate`: their cells stand
        active, Wa, ta, ll = active[going], Wa[:, going], ta[:, going], ll[going]
        at = tuple(a[:, going] for a in at)
    theta[:, active] = ta
    return theta, converged


def start_values(rows: _Rows, w: np.ndarray, link: OrdinalLink) -> np.ndarray:
    """``beta = 0`` and ``zeta_k = F^{-1}`` (weighted share of ``y <= k``): the
    maximum of the weighted likelihood without covariates."""
    shares = np.cumsum(np.bincount(rows.y, w, minlength=rows.q + 1))[:-1] / w.sum()
    return np.concatenate([np.zeros(rows.p), link.quantile(shares)])


def fit_full_sample(
    rows: _Rows, w: np.ndarray, link: OrdinalLink, names: list, response: str
) -> tuple:
    """The full-sample estimate (P,) and the Hessian of the weighted
    log-likelihood there (weights as given, not rescaled).

    Raises
    ------
    SeparationError
        Newton's method does not converge: an estimate runs to infinity,
        which happens when a predictor separates the categories (e.g. every
        respondent of a factor level gives the top rating).
    """
    scaled = (w / w.mean())[:, None]  # the fit does not depend on the scale of w
    theta, converged = newton(rows, start_values(rows, w, link)[:, None], scaled, link)
    theta = theta[:, 0]
    if not converged[0]:
        k = int(np.argmax(np.abs(theta[: rows.p]))) if rows.p else 0
        raise SeparationError(
            f"the ordinal model for {response!r} did not converge in {MAX_ITER} Newton "
            f"steps: coefficient {names[k]!r} runs away ({theta[k]:.3g}); a predictor "
            f"separates the categories (e.g. all respondents of a level give the same "
            f"extreme rating): merge or drop the level"
        )
    _, H = _derivatives(rows, cells(rows, theta[:, None], link), w[:, None], link)
    return theta, H[0]


def refit_replicates(
    rows: _Rows, W: np.ndarray, link: OrdinalLink, theta0: np.ndarray, names: list, levels: tuple
) -> np.ndarray:
    """The estimates of every replicate (B, P), warm-started from ``theta0``,
    fitted together (:func:`newton`) on the distinct ``(x_i, y_i)`` with
    summed replicate weights (:func:`~.fitting.collapse_rows`).

    Raises
    ------
    ReplicateError
        A replicate in which a model column or a response category has no
        unit with positive weight (its parameter is not identified there), or
        whose fit does not converge; names the replicate (1-based).
    """
    positive = (W > 0).T.astype(float)
    for counts, what in (
        (positive @ (rows.X != 0), [f"term {t!r}" for t in names]),
        (
            positive @ (rows.y[:, None] == np.arange(rows.q + 1)),
            [f"category {c!r}" for c in levels],
        ),
    ):
        empty = np.argwhere(counts == 0)
        if len(empty):
            b, j = empty[0]
            raise ReplicateError(
                f"replicate {b + 1}: {what[j]} has no respondent with positive "
                f"weight ({len(empty)} such cases); its parameter is not identified "
                f"there — merge the level or use another replicate method"
            )
    B = W.shape[1]
    # the likelihood depends on a row only through (x_i, y_i): one row per distinct pair
    X, Wd, y = collapse_rows(rows.X, W, rows.y)
    distinct = _Rows(X, y, rows.q + 1)
    theta, converged = newton(distinct, np.repeat(theta0[:, None], B, axis=1), Wd, link)
    if not converged.all():
        failed = np.flatnonzero(~converged)
        runaway = names[int(np.argmax(np.abs(theta[:, failed[0]] - theta0)))]
        raise ReplicateError(
            f"replicate {failed[0] + 1} (and {len(failed) - 1} more) did not converge "
            f"in {MAX_ITER} Newton steps: a predictor separates the categories within "
            f"the replicate (estimate running away: {runaway!r})"
        )
    return theta.T


# -- the estimator ---------------------------------------------------------------------


def svyolr(
    formula: str,
    design: Design | ReplicateDesign,
    link: str | OrdinalLink = "logit",
    *,
    levels: Sequence[object] | None = None,
    variance: str | None = None,
    subset: ArrayLike | Condition | None = None,
    data: pd.DataFrame | None = None,
    level: float = 0.95,
) -> OrdinalResults:
    """Fit a design-based proportional-odds model (R's ``svyolr``).

    ``P(Y <= k | x) = F(zeta_k - x'beta)`` with ``F`` logistic or normal; see
    the module docstring for the fit, the variance and the differences from R.

    Parameters
    ----------
    formula : str
        patsy formula ``"Y ~ A + B"``; ``Y`` is a column of numeric codes
        (e.g. a 1-5 rating) or an ordered pandas Categorical. Factor levels
        of the predictors are coded against the first in sorted order.
    design : weighting.design.Design or ReplicateWeights
        The design; its ``data`` holds the formula's variables. Rows with a
        missing model variable are left out of the fit but stay in the
        design (domain estimation, as R).
    link : {"logit", "probit"}
        ``logistic`` (R's name) is an alias of ``logit``.
    levels : sequence, optional
        The response's categories, lowest first (R's ``factor(y, levels,
        ordered = TRUE)``): for a text response, or to declare a category
        that must occur. Values are matched as text (``1`` = ``1.0``); a
        value of a fitted row that is not among them is an error.
    variance : {"replicate", "linearization"}, optional
        Default: replicate when the design has replicates, else linearization.
    subset : array-like of bool, or a condition with ``mask(data)``, optional
        Fit on a domain (R's ``subset``).
    data : pandas.DataFrame, optional
        The design's rows (same order) with extra columns; default
        ``design.data``.
    level : float
        Confidence level of the intervals.

    Returns
    -------
    OrdinalResults
        Coefficients then thresholds (``"1|2"``, ...), their design-based
        covariance, Wald tests, predicted category probabilities.
    """
    fam = get_link(link)
    variance, data, mask = fit_inputs(design, variance, subset, data)  # subset as a mask
    weights = np.asarray(design.weights, dtype=float)
    with thread_limits(blas=1):
        frame = build_ordinal_frame(formula, data, weights, mask, levels)
        w = weights[frame.used]
        rows = _Rows(frame.X, frame.y, len(frame.levels))
        names = frame.terms + frame.threshold_names
        theta, H = fit_full_sample(rows, w, fam, names, frame.response)
        reps = W = influence = None
        if variance == "replicate":
            W = replicate_matrix(design)[frame.used]
            reps = refit_replicates(rows, W, fam, theta, names, frame.levels)
            cov = replicate_cov(design, theta, reps)
        else:
            try:
                bread = np.linalg.inv(-H)
            except np.linalg.LinAlgError:
                raise CollinearityError(
                    "the information matrix of the ordinal model is singular"
                ) from None
            influence = np.zeros((len(data), len(theta)))
            influence[frame.used] = row_scores(rows, theta, fam) @ bread
            cov = linearized_cov(design, influence, frame.used)
        at = cells(rows, theta[:, None], fam)
        loglik = float(_loglik(rows, theta[:, None], w[:, None], at)[0])
    return OrdinalResults(
        formula=formula,
        family=fam,
        frame=frame,
        design=design,
        data=data,
        params=theta,
        cov=cov,
        variance=variance,
        design_df=design_df(design, frame.used, mask, variance == "replicate"),
        level=level,
        replicate_params=reps,
        replicate_weights=W,
        influence=influence,
        loglik=loglik,
        weight_total=float(w.sum()),
    )
