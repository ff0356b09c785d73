"""Numerical building blocks whose exact algorithm fixes R ``survey``'s answers.

Some of R's results are not the solution of an equation but the output of a
particular numerical procedure run to a loose tolerance: the saddlepoint
p-values of ``pchisqsum``/``pFsum`` (a root found by ``uniroot`` to 1e-8),
the score interval of ``svyquantile`` (a root of a step function, found to
``1 / (100 sqrt(n))``), the profile-likelihood interval of ``svyciprop``
(a spline through ten profile points, inverted by linear interpolation) and
the quantile rules (``approx`` with its tie and end rules). To agree with R
beyond the tolerance of those procedures, kalib runs the same published
algorithms, written here from their descriptions:

:func:`zeroin`
    Brent's (1973) root finder in the form of the public-domain ``zeroin``
    (Forsythe, Malcolm & Moler 1977), as R's ``uniroot`` calls it: bisection,
    secant and inverse quadratic steps, stopping when half the bracket is
    within ``2 eps |b| + tol / 2`` of the best point ``b``.
:func:`fmm_spline`, :func:`spline`
    The cubic interpolating spline with Forsythe, Malcolm & Moler's end
    conditions (the third derivative at each end equals that of the cubic
    through the four points nearest it), R's ``spline(method = "fmm")``
    evaluated at ``3 n`` equally spaced points.
:func:`approx`
    Linear or step (left-continuous value, ``f = 0``) interpolation after
    sorting the abscissae and averaging the ordinates of tied abscissae (R's
    ``approx(ties = mean)``, pairs with a NaN dropped); outside the range NaN
    (``rule = 1``) or the end values (``rule = 2``); NaN everywhere with
    fewer than two points (where R stops).

References
----------
Brent, R. P. (1973). Algorithms for Minimization without Derivatives, ch. 4.
Prentice-Hall.
Forsythe, G. E., Malcolm, M. A. and Moler, C. B. (1977). Computer Methods for
Mathematical Computations, ch. 4 (SPLINE) and 7 (ZEROIN). Prentice-Hall.
"""

from __future__ import annotations

import numpy as np

from weighting.errors import KalibError

EPS = np.finfo(float).eps


class RootError(KalibError):
    """A root asked for in a bracket whose ends have the same sign."""


def zeroin(
    f,
    lower: float,
    upper: float,
    tol: float,
    *,
    f_lower: float | None = None,
    f_upper: float | None = None,
    maxiter: int = 1000,
) -> float:
    """A root of ``f`` in ``[lower, upper]`` by Brent's method (R ``uniroot``).

    ``f(lower)`` and ``f(upper)`` must differ in sign (or one be zero). The
    iteration keeps ``b`` (best point), ``c`` (the other end of a bracket
    around the root) and ``a`` (the previous ``b``) and stops when
    ``|c - b| / 2 <= 2 eps |b| + tol / 2`` or ``f(b) = 0``, returning ``b``:
    the same iterates, and so the same root, as R's ``uniroot(f, c(lower,
    upper), tol = tol)``.
    """
    a, b = float(lower), float(upper)
    fa = float(f(a)) if f_lower is None else float(f_lower)
    fb = float(f(b)) if f_upper is None else float(f_upper)
    if np.isnan(fa) or np.isnan(fb):
        raise RootError(f"the function is not a number at an end of [{a!r}, {b!r}]")
    if fa * fb > 0:
        raise RootError(f"no sign change on [{a!r}, {b!r}]: f = {fa!r} and {fb!r}")
    if fa == 0:
        return a
    if fb == 0:
        return b
    c, fc = a, fa
    for _ in range(maxiter + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):  # b must be the best approximation
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * EPS * abs(b) + tol / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or fb == 0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:  # two distinct points: secant
                t1 = fb / fa
                p, q = cb * t1, 1.0 - t1
            else:  # inverse quadratic interpolation
                q, t1, t2 = fa / fc, fb / fc, fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            # accept the interpolated step only inside the bracket and when it
            # shrinks faster than bisection would
            if p < 0.75 * cb * q - abs(tol_act * q) / 2 and p < abs(prev_step * q / 2):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = float(f(b))
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b  # R returns the last iterate with a warning; no caller gets here


def fmm_spline(x, y) -> tuple:
    """Coefficients ``(b, c, d)`` of the Forsythe–Malcolm–Moler cubic spline
    through ``(x, y)`` (x strictly increasing): on ``[x_i, x_{i+1}]`` the
    spline is ``y_i + b_i t + c_i t^2 + d_i t^3`` with ``t = u - x_i``.

    The second derivatives solve the usual tridiagonal continuity system; the
    two end equations ask the spline's third derivative at each end to equal
    that of the cubic through the four nearest points (with three points,
    of the parabola: zero; with two, the line).
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = x.size
    if n < 2:
        raise KalibError("a spline needs at least two points")
    h = np.diff(x)
    slope = np.diff(y) / h
    if n == 2:
        return np.full(2, slope[0]), np.zeros(2), np.zeros(2)
    # unknowns s_i = S''(x_i) / 6; the matrix is symmetric tridiagonal with
    # off-diagonal h; rows: end, continuity at each inner knot, end
    diag, rhs = np.empty(n), np.empty(n)
    diag[1:-1] = 2 * (h[:-1] + h[1:])
    rhs[1:-1] = slope[1:] - slope[:-1]
    diag[0], diag[-1] = -h[0], -h[-1]
    rhs[0] = rhs[-1] = 0.0
    if n > 3:
        # third divided differences of the end quadruples, scaled as the end rows
        d3_first = (slope[2] - slope[1]) / (x[3] - x[1]) - (slope[1] - slope[0]) / (x[2] - x[0])
        d3_last = (slope[-1] - slope[-2]) / (x[-1] - x[-3]) - (slope[-2] - slope[-3]) / (
            x[-2] - x[-4]
        )
        rhs[0] = d3_first * h[0] ** 2 / (x[3] - x[0])
        rhs[-1] = -d3_last * h[-1] ** 2 / (x[-1] - x[-4])
    # Gaussian elimination without pivoting (the system is diagonally dominant
    # but for the end rows, whose elimination is stable for increasing x)
    for i in range(1, n):
        t = h[i - 1] / diag[i - 1]
        diag[i] -= t * h[i - 1]
        rhs[i] -= t * rhs[i - 1]
    s = np.empty(n)
    s[-1] = rhs[-1] / diag[-1]
    for i in range(n - 2, -1, -1):
        s[i] = (rhs[i] - h[i] * s[i + 1]) / diag[i]
    b = np.empty(n)
    b[:-1] = slope - h * (s[1:] + 2 * s[:-1])
    b[-1] = slope[-1] + h[-1] * (s[-2] + 2 * s[-1])
    d = np.empty(n)
    d[:-1] = (s[1:] - s[:-1]) / h
    d[-1] = d[-2]
    return b, 3 * s, d


def spline(x, y) -> tuple:
    """R's ``spline(x, y)``: the FMM spline through ``(x, y)`` (ties in x
    averaged, x sorted) evaluated at ``3 n`` equally spaced points from
    ``min(x)`` to ``max(x)``; returns ``(u, S(u))``."""
    x, y = _regularize(x, y)
    b, c, d = fmm_spline(x, y)
    u = np.linspace(x[0], x[-1], 3 * x.size)
    i = np.clip(np.searchsorted(x, u, side="right") - 1, 0, x.size - 1)
    t = u - x[i]
    return u, y[i] + t * (b[i] + t * (c[i] + t * d[i]))


def approx(x, y, xout, method: str = "linear", rule: int = 1) -> np.ndarray:
    """R's ``approx(x, y, xout, method, rule, f = 0, ties = mean)``.

    ``linear`` interpolates; ``constant`` takes the value at the largest
    abscissa not above ``xout``. Outside ``[min x, max x]``: NaN for
    ``rule = 1``, the nearest end's value for ``rule = 2``.
    """
    x, y = _regularize(x, y)
    xout = np.atleast_1d(np.asarray(xout, float))
    if x.size < 2:  # R stops: "need at least two non-NA values to interpolate"
        return np.full(xout.shape, np.nan)
    if method == "linear":
        out = np.interp(xout, x, y)
    else:
        out = y[np.clip(np.searchsorted(x, xout, side="right") - 1, 0, x.size - 1)]
    if rule == 1:
        out = np.where((xout < x[0]) | (xout > x[-1]), np.nan, out)
    return np.where(np.isnan(xout), np.nan, out)


def _regularize(x, y) -> tuple:
    """Drop pairs with a NaN, sort by x (stably) and average y over tied x
    (R's ``regularize.values``)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = ~(np.isnan(x) | np.isnan(y))
    x, y = x[ok], y[ok]
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    ux, first, counts = np.unique(x, return_index=True, return_counts=True)
    if ux.size == x.size:
        return x, y
    return ux, np.add.reduceat(y, first) / counts
