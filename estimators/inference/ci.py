"""Confidence intervals for design-based estimates.

All functions are vectorised over numpy arrays of estimates. ``df`` is the
design's degrees of freedom (``numpy.inf`` for the normal distribution);
quantiles are Student t on ``df`` wherever R's ``survey`` uses them.

Proportions (``proportion_ci``), following R ``survey::svyciprop`` (Lumley):

``logit``
    ``expit(logit(p) +- t * se_logit)`` where ``se_logit`` is the standard error
    of ``logit(p)``: from the replicates of ``logit(p_b)`` for a replicate
    design (as R's ``svyglm`` refits each replicate), else by the delta method
    ``se / (p (1 - p))``. R turns the t level into a normal one,
    ``1 - 2 pnorm(qt(a/2, df))``, which rounds to 1 at ``df = 1`` and gives
    the interval (0, 1) there; kalib takes the t quantile itself.
``xlogit``
    The same interval with the delta-method ``se_logit`` always.
``beta``
    Korn & Graubard (1998): Clopper–Pearson on the effective sample size
    ``n* = p (1 - p) / Var(p) * (t_{n-1} / t_df)^2`` with
    ``[B(a/2; n* p, n* (1 - p) + 1), B(1 - a/2; n* p + 1, n* (1 - p))]``.
``wilson``
    Wilson's score interval at the same effective sample size ``n*`` (z on the
    normal distribution, as ``statsmodels`` computes it for counts).
``wald``
    ``p +- t_df * se`` (R's ``method = "mean"``).
``percentile``
    Percentile bootstrap: the ``a/2`` and ``1 - a/2`` quantiles of the
    bootstrap replicate estimates.
``asin``
    ``sin^2(asin(sqrt(p)) +- t_df * se / (2 sqrt(p (1 - p))))``: the Wald
    interval on the variance-stabilising angular scale (delta method), R's
    ``method = "asin"``. Where the angle's interval leaves ``[0, pi/2]`` it
    is cut there (the interval ends at 0 or 1); R squares the sine of the
    angle outside, which folds the end back into (0, 1).
``likelihood``
    The profile-likelihood interval of the intercept of a weighted logistic
    model, Rao–Scott-scaled by the design effect of ``logit(p)``, as R
    computes it (``estimators.inference.likelihood_ci``). On a replicate
    design R 4.1 gives NA (it cannot profile a replicate ``svyglm``); kalib
    takes the design effect from the replicate SE of ``logit(p)``.

References
----------
Korn, E. L. and Graubard, B. I. (1998). Confidence intervals for proportions
with small expected number of positive counts estimated from survey data.
Survey Methodology 24, 193-201.
Wilson, E. B. (1927). Probable inference, the law of succession, and
statistical inference. JASA 22, 209-212.
Lumley, T. (2010). Complex Surveys: A Guide to Analysis Using R. Wiley.
"""

from __future__ import annotations

import numpy as np

from weighting.errors import KalibError, shown

PROPORTION_METHODS = (
    "logit",
    "beta",
    "xlogit",
    "wilson",
    "wald",
    "percentile",
    "asin",
    "likelihood",
)
ALIASES = {"korn-graubard": "beta", "mean": "wald"}


def canonical_method(method: str) -> str:
    """Resolve aliases (``korn-graubard`` = ``beta``, ``mean`` = ``wald``)."""
    method = ALIASES.get(method, method)
    if method not in PROPORTION_METHODS:
        raise KalibError(
            f"unknown CI method {method!r}; choose one of "
            f"{', '.join(PROPORTION_METHODS)} (or korn-graubard)"
        )
    return method


def t_quantile(level: float, df) -> np.ndarray:
    """Two-sided quantile ``t_{df}(1 - (1 - level) / 2)`` (normal for inf)."""
    _check_level(level)
    return t_ppf(1 - (1 - level) / 2, df)


def t_ppf(q: float, df) -> np.ndarray:
    """Student t quantile ``t_df(q)``, 0 < q < 1: the normal's for ``df = inf``,
    NaN for ``df <= 0`` or NaN.

    ``scipy.stats.t.ppf(q, df)`` bit for bit (it is ``scipy.special.stdtrit``
    after argument checks), without importing ``scipy.stats`` (a third of a
    second) and computed once per distinct df: the estimates of a call share
    a few.
    """
    from scipy import special

    df = np.asarray(df, dtype=np.float64)
    distinct, position = np.unique(df, return_inverse=True)
    with np.errstate(invalid="ignore"):
        values = np.where(distinct > 0, special.stdtrit(distinct, q), np.nan)
    return values[position].reshape(df.shape)


def beta_ppf(q: float, a, b) -> np.ndarray:
    """Beta quantile ``B(q; a, b)``, 0 < q < 1; NaN unless a, b > 0.

    ``scipy.stats.beta.ppf(q, a, b)`` bit for bit (both are Boost's
    ``ibeta_inv``), from ``scipy.special.betaincinv`` without importing
    ``scipy.stats``.
    """
    from scipy import special

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.where((a > 0) & (b > 0), special.betaincinv(a, b, q), np.nan)


def wald_ci(estimate, se, df=np.inf, level=0.95):
    """``estimate +- t_df * se`` (R ``confint(..., df = degf(design))``)."""
    half = t_quantile(level, df) * np.asarray(se, dtype=float)
    estimate = np.asarray(estimate, dtype=float)
    return estimate - half, estimate + half


def effective_n(p, se, n, df=np.inf, level=0.95):
    """Korn–Graubard effective sample size with R's degrees-of-freedom factor.

    ``n* = p (1 - p) / se^2 * (t_{n-1}(a/2) / t_df(a/2))^2``; where the
    variance is zero (p = 0 or 1) the actual sample size ``n`` is used.
    """
    p, se, n = (np.asarray(x, dtype=float) for x in (p, se, n))
    alpha = 1 - level
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = np.where(se > 0, p * (1 - p) / se**2, n)
        factor = (t_ppf(alpha / 2, n - 1) / t_ppf(alpha / 2, df)) ** 2
    return raw * factor


def proportion_ci(
    p, se, *, method="logit", df=np.inf, level=0.95, n=None, se_logit=None, replicates=None
):
    """Confidence interval ``(low, high)`` for a proportion.

    Parameters
    ----------
    p, se : array_like
        Estimated proportion and its standard error.
    method : str
        ``logit`` (default), ``beta`` (alias ``korn-graubard``), ``xlogit``,
        ``wilson``, ``wald`` (alias ``mean``), ``percentile``, ``asin``,
        ``likelihood``.
    df : array_like
        Design degrees of freedom.
    level : float
        Confidence level in (0, 1).
    n : array_like
        Unweighted sample size (``beta``, ``wilson`` and ``likelihood``).
    se_logit : array_like, optional
        Standard error of ``logit(p)`` from replicates (``logit`` and
        ``likelihood``); the delta method is used where absent.
    replicates : array_like, shape (B, ...)
        Bootstrap replicate estimates (``percentile``).
    """
    method = canonical_method(method)
    _check_level(level)
    p = np.asarray(p, dtype=float)
    se = np.asarray(se, dtype=float)
    if method == "wald":
        return wald_ci(p, se, df, level)
    if method in ("logit", "xlogit"):
        return _logit_ci(p, se, df, level, se_logit if method == "logit" else None)
    if method == "asin":
        return asin_ci(p, se, df, level)
    if method == "percentile":
        if replicates is None:
            raise KalibError(
                "--ci percentile needs bootstrap replicates "
                "(--variance bootstrap or a bootstrap replicate file)"
            )
        reps = np.asarray(replicates, dtype=float)
        alpha = 1 - level
        return (np.quantile(reps, alpha / 2, axis=0), np.quantile(reps, 1 - alpha / 2, axis=0))
    if n is None:
        raise KalibError(f"CI method {method!r} needs the unweighted sample size n")
    if method == "likelihood":
        # imported on use: profiling loads scipy.stats, which other methods avoid
        from estimators.inference.likelihood_ci import likelihood_ci

        with np.errstate(divide="ignore", invalid="ignore"):
            se_logit = se / (p * (1 - p)) if se_logit is None else se_logit
        return likelihood_ci(p, se_logit, n, df, level)
    n_star = effective_n(p, se, n, df, level)
    if method == "beta":
        return _korn_graubard(p, n_star, level)
    return wilson_ci(p, n_star, level)


def _logit_ci(p, se, df, level, se_logit):
    from scipy import special

    with np.errstate(divide="ignore", invalid="ignore"):
        if se_logit is None:
            se_logit = se / (p * (1 - p))
        half = t_quantile(level, df) * np.asarray(se_logit, dtype=float)
        centre = special.logit(p)
        low, high = special.expit(centre - half), special.expit(centre + half)
    # p = 0 or 1 has no logit: the interval collapses onto p (flagged upstream).
    edge = (p <= 0) | (p >= 1)
    return np.where(edge, p, low), np.where(edge, p, high)


def asin_ci(p, se, df=np.inf, level=0.95):
    """The angular interval ``sin^2(asin(sqrt p) +- t_df se / (2 sqrt(p (1 - p))))``
    with the angle cut to ``[0, pi/2]``; p = 0 or 1 (no delta-method SE)
    gives ``(p, p)``."""
    p, se = np.asarray(p, dtype=float), np.asarray(se, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        angle = np.arcsin(np.sqrt(p))
        half = t_quantile(level, df) * se / (2 * np.sqrt(p * (1 - p)))
        low = np.sin(np.clip(angle - half, 0.0, np.pi / 2)) ** 2
        high = np.sin(np.clip(angle + half, 0.0, np.pi / 2)) ** 2
    edge = (p <= 0) | (p >= 1)
    return np.where(edge, p, low), np.where(edge, p, high)


def _korn_graubard(p, n_star, level):
    alpha = 1 - level
    x = n_star * p
    with np.errstate(invalid="ignore"):
        low = np.where(x > 0, beta_ppf(alpha / 2, x, n_star - x + 1), 0.0)
        high = np.where(n_star - x > 0, beta_ppf(1 - alpha / 2, x + 1, n_star - x), 1.0)
    return low, high


def wilson_ci(p, n, level=0.95):
    """Wilson score interval for proportion ``p`` on (effective) size ``n``:
    ``(p + z^2/2n +- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)``."""
    p = np.asarray(p, dtype=float)
    n = np.asarray(n, dtype=float)
    from scipy import special

    z = special.ndtri(1 - (1 - level) / 2)  # scipy.stats.norm.ppf
    denom = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return centre - half, centre + half


def _check_level(level):
    number = isinstance(level, (int, float, np.integer, np.floating))
    if isinstance(level, (bool, np.bool_)) or not number or not 0 < level < 1:  # NaN too
        raise KalibError(f"confidence level must be in (0, 1), got {shown(level)}")
