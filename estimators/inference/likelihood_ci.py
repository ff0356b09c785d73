"""Profile-likelihood interval for a proportion (R ``svyciprop(method = "likelihood")``).

The proportion is the intercept ``b = logit(p)`` of a weighted logistic model
with weights rescaled to sum to ``n`` (the rows), whose working deviance
about the estimate ``p^`` is

.. math:: \\Delta D(b) = 2 n \\,[\\hat p \\log(\\hat p / \\mu) + (1 - \\hat p)
          \\log((1 - \\hat p) / (1 - \\mu))], \\qquad \\mu = \\mathrm{expit}(b).

The signed root ``z(b) = sign(b - b^) sqrt(Delta D(b) / phi)``, with the
quasi-binomial dispersion ``phi = n / (n - 1)`` (the design-weighted variance
of the Pearson residuals with R's ``svyvar`` divisor), is set equal to
``+-t_df(1 - a/2) sqrt(lambda)``: ``lambda = s^2 n p^(1 - p^)`` is the design
effect of ``b^`` (its design variance ``s^2`` over the model-based
``1 / (n p^(1 - p^))``), which rescales the likelihood-ratio statistic to its
design-based distribution (Rao & Scott 1984). The interval is ``expit`` of the
two roots.

R does not solve for the roots: it evaluates ``z`` on a grid (MASS's
``profile.glm``: steps of ``zmax / 5`` standard errors from ``b^`` up to
nine each way, until ``|z| >= zmax = sqrt(F_{1, n-1}^{-1}(1 - alpha))``
with ``alpha = Phi(-t sqrt(lambda)) / 2``), passes an interpolating cubic
spline (Forsythe–Malcolm–Moler) through the points, evaluates it at
``3 m`` equally spaced points (m grid points) and inverts that table by
linear interpolation. kalib does the same (:mod:`estimators.inference.rnumerics`),
so it reproduces R's interval to rounding; the exact roots differ from it by
the interpolation error, about 3e-6 relative on ``apiclus1``.

Differences from R: the estimate is the weighted mean, where R takes
``expit`` of a ``glm`` intercept fitted to glm's default tolerance (they
differ in about the 12th digit). A proportion of 0 or 1 has no logit (R's
fit diverges): the interval collapses onto the estimate, as kalib's logit
interval does.

References
----------
Venables, W. N. and Ripley, B. D. (2002). Modern Applied Statistics with S,
4th ed., section 8.4 (profiling a GLM). Springer.
Rao, J. N. K. and Scott, A. J. (1984). On chi-squared tests for multiway
contingency tables with cell proportions estimated from survey data. Annals
of Statistics 12, 46-60.
Lumley, T. (2010). Complex Surveys: A Guide to Analysis Using R, section 2.4
(svyciprop). Wiley.
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

from estimators.inference.rnumerics import EPS, approx, spline

STEPS = 10  # MASS's maxsteps: at most nine grid points each way


def likelihood_ci(p, se_logit, n, df, level=0.95):
    """Profile-likelihood interval ``(low, high)`` of proportions ``p`` (arrays
    broadcast together) given the design SE of ``logit(p)``, the number of
    rows ``n`` and the design df."""
    p, se_logit, n, df = np.broadcast_arrays(
        *(np.asarray(a, dtype=float) for a in (p, se_logit, n, df))
    )
    low, high = np.full(p.shape, np.nan), np.full(p.shape, np.nan)
    for i in np.ndindex(p.shape):
        if not (0 < p[i] < 1):  # no logit: collapse onto p (NaN stays NaN)
            low[i] = high[i] = p[i]
        elif se_logit[i] > 0 and n[i] > 1 and df[i] > 0:
            low[i], high[i] = _profile_interval(p[i], se_logit[i], n[i], df[i], level)
    return low, high


def _profile_interval(p, s, n, df, level):
    b_hat = special.logit(p)
    lam = s**2 * n * p * (1 - p)
    q = stats.norm.ppf((1 - level) / 2) if df == np.inf else stats.t.ppf((1 - level) / 2, df)
    alpha = stats.norm.cdf(q * np.sqrt(lam)) / 2
    # sqrt of the F(1, n-1) quantile, as the t quantile: scipy's F tail is inf
    # below ~1e-17, the t tail stays exact (R's qf and qt agree there)
    zmax = stats.t.isf(alpha / 2, n - 1)
    step_size = zmax / 5 * s
    phi = n / (n - 1)

    def z(b):
        mu = _linkinv(b)
        dev = (
            2
            * n
            * (
                special.xlogy(p, p)
                - special.xlogy(p, mu)
                + special.xlogy(1 - p, 1 - p)
                - special.xlogy(1 - p, 1 - mu)
            )
        )
        return np.sign(b - b_hat) * np.sqrt(max(dev / phi, 0.0))

    bs, zs = [b_hat], [0.0]
    for sign in (-1, 1):
        value, step = 0.0, 1
        while step < STEPS and abs(value) < zmax:
            b = b_hat + sign * step * step_size
            value = z(b)
            bs.append(b)
            zs.append(value)
            step += 1
    cutoffs = [stats.norm.ppf(2 * alpha), stats.norm.isf(2 * alpha)]
    u, zu = spline(bs, zs)
    b_low, b_high = approx(zu, u, cutoffs)
    return special.expit(b_low), special.expit(b_high)


def _linkinv(b: float) -> float:
    """R's logistic inverse link: beyond |eta| = 30 the odds are held at
    ``eps`` or ``1/eps``, so a far profile step keeps a finite deviance."""
    odds = EPS if b < -30 else 1 / EPS if b > 30 else np.exp(b)
    return odds / (1 + odds)
