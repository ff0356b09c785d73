"""Tail probabilities of linear combinations of chi-squares (R ``pchisqsum``, ``pFsum``).

Under the null hypothesis a Rao–Scott working statistic (Pearson's X^2 of a
survey table, a working-likelihood ratio or a working Wald statistic of a
model) is distributed as ``Q = sum_j lambda_j Z_j^2`` with ``Z_j`` independent
standard normals and ``lambda_j`` the eigenvalues of the generalised design
effect matrix (Rao & Scott 1984). With ``ddf`` denominator degrees of
freedom the reference is ``Q / (chi2_ddf / ddf)`` (Lumley & Scott 2013).
Two approximations of ``P(Q > x)``, as R ``survey``:

``satterthwaite``
    ``Q ~ a chi2_nu`` matching the first two moments: ``a = sum l^2 / sum l``,
    ``nu = (sum l)^2 / sum l^2``; with ``ddf``, ``P(F(nu, ddf) > x / (a nu))``.
``saddlepoint``
    Lugannani & Rice (1980) through the cumulant generating function
    ``K(z) = -1/2 sum log(1 - 2 z l_j)`` (Kuonen 1999): solve ``K'(z) = x``,
    ``w = sign(z) sqrt(2 (z x - K(z)))``, ``v = z sqrt(K''(z))``,
    ``P(Q > x) = 1 - Phi(w + log(v / w) / w)``. With ``ddf`` the event
    ``Q > x chi2_ddf / ddf`` is ``Q - (x / ddf) chi2_ddf > 0``, a combination
    with ``ddf`` more weights ``-x / ddf`` evaluated at 0 (R uses
    ``trunc(ddf)`` copies for a fractional ``ddf``; so does kalib). Where
    the saddlepoint ``|z| < 1e-4`` (x near the mean) the formula is unstable
    and the Satterthwaite value is returned.

The saddlepoint equation is solved as R solves it (:func:`~estimators.inference.rnumerics.zeroin`
on R's bracket, tolerance 1e-8 after scaling the weights by their maximum),
so kalib's p-values equal R's to rounding, not only to the 1e-8 of the root:
the root's error moves ``v`` and so the p-value in about the 7th digit.
R's ``method = "integration"`` (Davies' or Farebrother's algorithm from the
CompQuadForm package) is not offered.

References
----------
Rao, J. N. K. and Scott, A. J. (1984). On chi-squared tests for multiway
contingency tables with cell proportions estimated from survey data. Annals of
Statistics 12, 46-60.
Lugannani, R. and Rice, S. (1980). Saddle point approximation for the
distribution of the sum of independent random variables. Advances in Applied
Probability 12, 475-490.
Kuonen, D. (1999). Saddlepoint approximations for distributions of quadratic
forms in normal variables. Biometrika 86, 929-935.
Lumley, T. and Scott, A. J. (2013). Partial likelihood ratio tests for the Cox
model under complex sampling. Statistics in Medicine 32, 110-123.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from estimators.inference.rnumerics import zeroin
from weighting.errors import KalibError

APPROXIMATIONS = ("saddlepoint", "satterthwaite")


def check_approximation(method: str) -> str:
    """``method`` if it is one of :data:`APPROXIMATIONS`, else a KalibError."""
    if method not in APPROXIMATIONS:
        raise KalibError(
            f"unknown approximation {method!r} for a sum of chi-squares; "
            f"choose {' or '.join(APPROXIMATIONS)}"
        )
    return method


def satterthwaite(lambdas) -> tuple[float, float]:
    """Scale ``a`` and degrees of freedom ``nu`` of ``a chi2_nu`` with the mean
    and variance of ``sum lambda_j chi2_1``."""
    lam = np.asarray(lambdas, float)
    mean = lam.mean()
    ratio = np.mean(lam**2) / mean**2
    return float(mean * ratio), float(lam.size / ratio)


def saddle(x: float, lambdas) -> float:
    """Lugannani–Rice upper tail ``P(sum lambda_j chi2_1 > x)``, or NaN where
    the saddlepoint is within 1e-4 of zero (R's ``saddle``)."""
    lam = np.asarray(lambdas, float)
    top = lam.max()
    lam, x = lam / top, x / top

    def k0(z):
        return -np.sum(np.log(1 - 2 * z * lam)) / 2

    def k1(z):
        return np.sum(lam / (1 - 2 * z * lam))

    def k2(z):
        return 2 * np.sum(lam**2 / (1 - 2 * z * lam) ** 2)

    if np.any(lam < 0):
        low = np.max(1 / (2 * lam[lam < 0])) * 0.99999
    elif x > lam.sum():
        low = -0.01
    else:
        low = -lam.size / (2 * x)
    high = np.min(1 / (2 * lam[lam > 0])) * 0.99999
    z = zeroin(lambda t: k1(t) - x, low, high, tol=1e-8)
    if abs(z) < 1e-4:
        return np.nan
    w = np.sign(z) * np.sqrt(2 * (z * x - k0(z)))
    v = z * np.sqrt(k2(z))
    return float(stats.norm.sf(w + np.log(v / w) / w))


def pchisqsum(x: float, lambdas, method: str = "saddlepoint") -> float:
    """``P(sum_j lambda_j chi2_1 > x)`` (R ``pchisqsum(..., lower.tail = FALSE)``)."""
    scale, nu = satterthwaite(lambdas)
    guess = float(stats.chi2.sf(x / scale, nu))
    if check_approximation(method) == "satterthwaite":
        return guess
    s = saddle(x, lambdas)
    return guess if np.isnan(s) else s


def pfsum(x: float, lambdas, ddf: float, method: str = "saddlepoint") -> float:
    """``P(sum_j lambda_j chi2_1 / (chi2_ddf / ddf) > x)`` (R ``pFsum(...,
    lower.tail = FALSE)``); ``ddf = inf`` is :func:`pchisqsum`."""
    if ddf == np.inf:
        return pchisqsum(x, lambdas, method)
    scale, nu = satterthwaite(lambdas)
    value = float(stats.f.sf(x / nu / scale, nu, ddf))
    if check_approximation(method) == "satterthwaite":
        return value
    lam = np.concatenate([np.asarray(lambdas, float), np.full(int(ddf), -x / ddf)])
    s = saddle(0.0, lam)
    return value if np.isnan(s) else s
