r"""One damped Newton solver for every calibration distance.

Solves :math:`\sum_k d_k\, g(x_k^\top\lambda)\, x_k = t` on a table of units
(joint cells or rows) by minimising the convex dual
:math:`\Phi(\lambda) = \sum_k d_k \rho(x_k^\top\lambda) - \lambda^\top t`
(see :mod:`weighting.distances`):

1. the Newton direction :math:`\delta` solves :math:`H\delta = -r` with
   :math:`r = X^\top(d\,g) - t` and :math:`H = X^\top \mathrm{diag}(d\,g') X`, by
   Cholesky; when a pivot is below ``1e-14`` times the largest diagonal
   (units at their bounds make H singular) the factorisation is redone on
   :math:`H + 10^{-10} s I` (s = that largest diagonal, or the one of
   :math:`X^\top \mathrm{diag}(d) X` if H is zero);
2. step halving (at most 60 times) until the Armijo condition
   :math:`\Phi(\lambda + \alpha\delta) \le \Phi(\lambda) + 10^{-4}\alpha r^\top\delta`
   holds, up to rounding (a slack of :math:`10^{-12}` times the magnitude of
   :math:`\Phi`'s terms, so that the last, tiny steps are taken);
3. stop when R ``calibrate``'s criterion
   :math:`\max_j |\hat t_j - t_j| / (1 + |t_j|) \le` ``tol`` over every margin
   category (``Xfull``, ``tfull``), or after ``max_iter`` steps.

The Cython kernel (``cext/newton.pxd``) runs the same steps; both agree to
1e-12 at the same iteration count. The constants above (1e-4, 60, 1e-12,
1e-14, 1e-10) are ``weighting.contract``'s, which the kernels' must equal
(checked when they are loaded).

References
----------
Deville, J.-C. and Särndal, C.-E. (1992). Calibration estimators in survey
sampling. JASA 87, 376-382.
Nocedal, J. and Wright, S. (2006). Numerical Optimization, ch. 3 (line search).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from weighting import _backend
from weighting.contract import ARMIJO, MAX_HALVINGS, PIVOT_RTOL, RIDGE, ROUNDING_SLACK, Status
from weighting.distances import CODES, evaluate, parse
from weighting.errors import KalibError

Arr = NDArray[np.float64]


@dataclass
class SolveResult:
    """Solution of one calibration system.

    Attributes
    ----------
    lam : ndarray (p,)
        Lagrange multipliers.
    g : ndarray (m,)
        g-factor of every unit, ``g(X @ lam)``.
    iterations : int
        Newton steps taken.
    errors : ndarray (iterations + 1,)
        The criterion at the start and after every step.
    converged : bool
    status : Status
        CONVERGED, MAX_ITER (``max_iter`` reached) or LINE_SEARCH_FAILED (no
        step decreased the dual).
    """

    lam: np.ndarray
    g: np.ndarray
    iterations: int
    errors: np.ndarray
    converged: bool
    status: Status


def solve(
    X: ArrayLike,
    d: ArrayLike,
    t: ArrayLike,
    distance: str = "raking",
    bounds: Sequence[float] | None = None,
    lam0: ArrayLike | None = None,
    tol: float = 1e-10,
    max_iter: int = 1000,
    Xfull: ArrayLike | None = None,
    tfull: ArrayLike | None = None,
    unit_bounds: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None,
) -> SolveResult:
    """Calibrate unit weights ``d`` on design ``X`` (m, p) to targets ``t``.

    Parameters
    ----------
    X : ndarray (m, p)
        Full column rank.
    d : ndarray (m,)
        Base-weight totals of the units (positive).
    t : ndarray (p,)
    distance : {"raking", "linear", "logit", "truncated"}
    bounds : (L, U) or None
        Bounds on g.
    lam0 : ndarray (p,), optional
        Warm start (e.g. the full-sample solution for a replicate).
    tol, max_iter : float, int
    Xfull, tfull : ndarray (m, q), (q,), optional
        Constraints on which the criterion is evaluated (default X, t).
    unit_bounds : (ndarray (m,), ndarray (m,)), optional
        Bounds on g per unit instead of ``bounds`` (``weight_bounds``); solved
        in numpy (the kernels take one pair of bounds).

    Returns
    -------
    SolveResult
    """
    lower: float | NDArray[np.float64]
    upper: float | NDArray[np.float64]
    if unit_bounds is None:
        code, lower, upper = parse(distance, bounds)
    else:
        if distance not in CODES:
            parse(distance, None)  # names the unknown distance
        code, (lower, upper) = CODES[distance], unit_bounds
    X = np.ascontiguousarray(X, dtype=np.float64)
    d = np.ascontiguousarray(d, dtype=np.float64)
    t = np.ascontiguousarray(t, dtype=np.float64)
    Xfull = X if Xfull is None else np.ascontiguousarray(Xfull, dtype=np.float64)
    tfull = t if tfull is None else np.ascontiguousarray(tfull, dtype=np.float64)
    lam = np.zeros(X.shape[1]) if lam0 is None else np.array(lam0, dtype=np.float64)
    _check_shapes(X, d, t, Xfull, tfull, lam)
    kernels = _backend.KERNELS
    if kernels is not None and unit_bounds is None:
        system = kernels.args.CellSystem(
            X, t, Xfull, tfull, code, lower, upper, lam, float(tol), int(max_iter)
        )
        lam, g, iterations, errors, status = kernels.calibrate.solve(system, d)
    else:
        lam, g, iterations, errors, status = _solve_numpy(
            X, d, t, Xfull, tfull, code, lower, upper, lam, float(tol), int(max_iter)
        )
    status = Status(status)
    return SolveResult(lam, g, iterations, np.asarray(errors), status == Status.CONVERGED, status)


def _check_shapes(X: Arr, d: Arr, t: Arr, Xfull: Arr, tfull: Arr, lam: Arr) -> None:
    """The kernel reads these arrays unchecked: their shapes must agree."""
    if X.ndim != 2 or Xfull.ndim != 2:
        raise KalibError(f"X and Xfull must be 2-d, got shapes {X.shape}, {Xfull.shape}")
    m, p = X.shape
    expected = {
        "d": (d.shape, (m,)),
        "t": (t.shape, (p,)),
        "lam0": (lam.shape, (p,)),
        "Xfull": (Xfull.shape, (m, Xfull.shape[1])),
        "tfull": (tfull.shape, (Xfull.shape[1],)),
    }
    for name, (shape, want) in expected.items():
        if shape != want:
            raise KalibError(
                f"solve: {name} has shape {shape}, expected {want} for X of shape {X.shape}"
            )


def criterion(Xfull: Arr, w: Arr, tfull: Arr) -> float:
    """``max_j |Xfull[:, j] @ w - tfull_j| / (1 + |tfull_j|)`` (inf if not finite)."""
    err = np.max(np.abs(Xfull.T @ w - tfull) / (1.0 + np.abs(tfull)), initial=0.0)
    return float(err) if np.isfinite(err) else np.inf


def _solve_numpy(
    X: Arr,
    d: Arr,
    t: Arr,
    Xfull: Arr,
    tfull: Arr,
    code: int,
    lower: float | Arr,
    upper: float | Arr,
    lam: Arr,
    tol: float,
    max_iter: int,
) -> tuple[Arr, Arr, int, list[float], Status]:
    curvature_scale = np.max((X * X).T @ d, initial=0.0)
    u = X @ lam
    g, dg, rho = evaluate(code, u, lower, upper)
    errors = [criterion(Xfull, d * g, tfull)]
    status = Status.CONVERGED
    while not errors[-1] <= tol:
        if len(errors) > max_iter:
            status = Status.MAX_ITER
            break
        r = X.T @ (d * g) - t
        H = (X * (d * dg)[:, None]).T @ X
        delta = -_cholesky_solve(H, r, curvature_scale)
        phi = d @ rho - lam @ t
        slack = ROUNDING_SLACK * (d @ np.abs(rho) + abs(lam @ t))
        slope = r @ delta
        alpha = 1.0
        for _ in range(MAX_HALVINGS):
            trial = lam + alpha * delta
            # A trial far outside the feasible region can overflow (raking's
            # exp(u) is finite but its weighted sum is not): phi_t is then
            # inf or nan, the Armijo test fails and the step is halved, so
            # the overflow is harmless and numpy is not to warn of it.
            with np.errstate(over="ignore", invalid="ignore"):
                g_t, dg_t, rho_t = evaluate(code, X @ trial, lower, upper)
                phi_t = d @ rho_t - trial @ t
            if np.isfinite(phi_t) and phi_t <= phi + ARMIJO * alpha * slope + slack:
                break
            alpha *= 0.5
        else:
            status = Status.LINE_SEARCH_FAILED
            break
        lam, g, dg, rho = trial, g_t, dg_t, rho_t
        errors.append(criterion(Xfull, d * g, tfull))
    return lam, g, len(errors) - 1, errors, status


def _cholesky_solve(H: Arr, r: Arr, curvature_scale: float) -> Arr:
    """Solve H x = r (H symmetric PSD), with a ridge when H is near singular."""
    scale = float(np.max(np.diag(H), initial=0.0))
    if not scale > 0:
        scale = curvature_scale
    C = _cholesky(H, PIVOT_RTOL * scale)
    if C is None:
        C = _cholesky(H + RIDGE * scale * np.eye(len(r)), 0.0)
    if C is None:  # non-finite H: no direction (the line search then fails)
        return np.full_like(r, np.nan)
    y = np.empty_like(r)
    for i in range(len(r)):  # forward: C y = r
        y[i] = (r[i] - C[i, :i] @ y[:i]) / C[i, i]
    x = np.empty_like(r)
    for i in reversed(range(len(r))):  # backward: C' x = y
        x[i] = (y[i] - C[i + 1 :, i] @ x[i + 1 :]) / C[i, i]
    return x


def _cholesky(H: Arr, min_pivot: float) -> Arr | None:
    """Lower Cholesky factor, or None if a pivot is <= min_pivot."""
    p = len(H)
    C = np.zeros_like(H)
    for j in range(p):
        pivot = H[j, j] - C[j, :j] @ C[j, :j]
        if not pivot > min_pivot:
            return None
        C[j, j] = np.sqrt(pivot)
        C[j + 1 :, j] = (H[j + 1 :, j] - C[j + 1 :, :j] @ C[j, :j]) / C[j, j]
    return C
