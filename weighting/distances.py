r"""Calibration distances of Deville & Särndal (1992), with bounds.

Calibration minimises :math:`\sum_k d_k G(w_k/d_k)` subject to
:math:`\sum_k w_k x_k = t`. The solution is :math:`w_k = d_k\,g(x_k^\top\lambda)`
with :math:`g = 1 + F` the inverse of :math:`G'`; :math:`\lambda` minimises the
convex dual

.. math:: \Phi(\lambda) = \sum_k d_k\,\rho(x_k^\top\lambda) - \lambda^\top t,
   \qquad \rho' = g,

whose gradient is the calibration misfit and whose Hessian is
:math:`X^\top \mathrm{diag}(d\,g') X`. The distances, with bounds
:math:`L \le g \le U` defined as R ``survey``'s ``calibrate`` defines them:

========== ============================================================= ==================================
distance   g(u)                                                          bounds
========== ============================================================= ==================================
linear     ``clip(1 + u, L, U)``                                         optional; "truncated" = with bounds
raking     ``clip(exp(u), L, U)``                                        optional
logit      :math:`\frac{L(U-1) + U(1-L)e^{Au}}{U-1 + (1-L)e^{Au}}`        required, :math:`L < 1 < U`,
                                                                          :math:`A = \frac{U-L}{(U-1)(1-L)}`
========== ============================================================= ==================================

References
----------
Deville, J.-C. and Särndal, C.-E. (1992). Calibration estimators in survey
sampling. JASA 87, 376-382.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from weighting.contract import Distance
from weighting.errors import KalibError

#: g(u), g'(u) and rho(u), each the shape of u.
Potential = tuple[np.ndarray, np.ndarray, np.ndarray]

LINEAR, RAKING, LOGIT = Distance.LINEAR, Distance.RAKING, Distance.LOGIT
# Public names -> kernel code; "truncated" is the linear distance with bounds.
CODES = {"linear": LINEAR, "truncated": LINEAR, "raking": RAKING, "logit": LOGIT}


def parse(distance: str, bounds: Sequence[float] | None) -> tuple[int, float, float]:
    """Validate a distance name and bounds; return (code, L, U).

    ``bounds`` is None or a pair (L, U) on g. Logit and truncated need finite
    bounds with L < 1 < U; raking needs L >= 0.
    """
    if distance not in CODES:
        raise KalibError(
            f"unknown calibration distance {distance!r} (expected one of {', '.join(CODES)})"
        )
    code = CODES[distance]
    if bounds is None:
        if distance in ("logit", "truncated"):
            raise KalibError(f"the {distance} distance needs bounds L,U")
        return code, (0.0 if code == RAKING else -math.inf), math.inf
    try:
        lower, upper = (float(b) for b in bounds)
    except (TypeError, ValueError):
        raise KalibError(f"bounds must be a pair L,U, got {bounds!r}") from None
    if not lower < 1.0 < upper or math.isnan(lower) or math.isnan(upper):
        raise KalibError(f"bounds ({lower:g}, {upper:g}) must satisfy L < 1 < U")
    if distance in ("logit", "truncated") and not (math.isfinite(lower) and math.isfinite(upper)):
        raise KalibError(
            f"the {distance} distance needs finite bounds, got ({lower:g}, {upper:g})"
        )
    if code == RAKING and lower < 0:
        raise KalibError(f"raking keeps g positive: lower bound {lower:g} must be >= 0")
    return code, lower, upper


def evaluate(
    code: int, u: np.ndarray, lower: float | np.ndarray, upper: float | np.ndarray
) -> Potential:
    """g(u), g'(u) and the dual potential rho(u) (with rho(0) = 0).

    Outside the bounds g is constant and g' = 0 (strict inequalities, as R).
    ``lower`` and ``upper`` are numbers, or arrays of one bound per unit
    (``weight_bounds``: ``weighting.calibrate``).
    """
    per_unit = bool(np.ndim(lower) or np.ndim(upper))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if code == LOGIT:
            return _logit(u, lower, upper)
        if code == LINEAR:
            a, b = lower - 1.0, upper - 1.0
            uc = np.clip(u, a, b)
            g, rho = 1.0 + uc, uc + 0.5 * uc * uc
        else:
            if per_unit:  # log 0 = -inf, log inf = inf
                a, b = np.log(lower), np.log(upper)
            else:
                a = math.log(lower) if lower > 0 else -math.inf
                b = math.log(upper) if math.isfinite(upper) else math.inf
            uc = np.clip(u, a, b)
            g = np.exp(uc)
            rho = g.copy()
        dg = np.where((u > a) & (u < b), g if code == RAKING else 1.0, 0.0)
        # Beyond a bound the potential grows linearly with slope = the bound.
        if per_unit:
            rho += np.where(np.isfinite(a), lower * np.minimum(u - a, 0.0), 0.0)
            rho += np.where(np.isfinite(b), upper * np.maximum(u - b, 0.0), 0.0)
        else:
            if math.isfinite(a):
                rho += lower * np.minimum(u - a, 0.0)
            if math.isfinite(b):
                rho += upper * np.maximum(u - b, 0.0)
    return g, dg, rho


def _logit(u: np.ndarray, lower: float | np.ndarray, upper: float | np.ndarray) -> Potential:
    L, U = lower, upper
    A = (U - L) / ((U - 1.0) * (1.0 - L))
    v = A * u
    e = np.exp(-np.abs(v))  # in (0, 1]: no overflow on either side
    pos = v > 0
    num = np.where(pos, L * (U - 1.0) * e + U * (1.0 - L), L * (U - 1.0) + U * (1.0 - L) * e)
    den = np.where(pos, (U - 1.0) * e + (1.0 - L), (U - 1.0) + (1.0 - L) * e)
    g = num / den
    dg = A * (g - L) * (U - g) / (U - L)
    log_den = np.where(pos, v, 0.0) + np.log(den)
    log_range = np.log(U - L) if np.ndim(U - L) else math.log(U - L)
    rho = L * u + (U - L) / A * (log_den - log_range)
    return g, dg, rho
