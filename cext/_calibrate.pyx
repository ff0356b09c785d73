# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Calibration kernels: collapse rows into cells, expand cells to rows, and
the Newton solver of ``newton.pxd`` on a (units x constraints) table.

Arguments are validated, C-contiguous arrays (``weighting`` checks them).

``CONTRACT`` publishes the constants the kernels share with ``weighting``
(``weighting.contract``: status and distance codes, the Newton solver's
constants); ``weighting._backend`` uses the kernels only if they all agree.
"""
from libc.stdint cimport int64_t

import numpy as np

from cext._args cimport CellSystem
from cext.newton cimport (NEWTON_ARMIJO, NEWTON_CONVERGED, NEWTON_LINE_SEARCH_FAILED,
                          NEWTON_LINEAR, NEWTON_LOGIT, NEWTON_MAX_HALVINGS, NEWTON_MAX_ITER,
                          NEWTON_PIVOT_RTOL, NEWTON_RAKING, NEWTON_RIDGE,
                          NEWTON_ROUNDING_SLACK, newton_solve, newton_work_size)
from cext.recalibrate cimport RECALIBRATE_EMPTY, CellProblem

CONTRACT = {
    "CONVERGED": NEWTON_CONVERGED, "MAX_ITER": NEWTON_MAX_ITER,
    "LINE_SEARCH_FAILED": NEWTON_LINE_SEARCH_FAILED, "EMPTY_CATEGORY": RECALIBRATE_EMPTY,
    "LINEAR": NEWTON_LINEAR, "RAKING": NEWTON_RAKING, "LOGIT": NEWTON_LOGIT,
    "ARMIJO": NEWTON_ARMIJO, "MAX_HALVINGS": NEWTON_MAX_HALVINGS,
    "ROUNDING_SLACK": NEWTON_ROUNDING_SLACK, "PIVOT_RTOL": NEWTON_PIVOT_RTOL,
    "RIDGE": NEWTON_RIDGE,
}


def collapse(const int64_t[::1] cell, const double[::1] w, Py_ssize_t n_cells):
    """out[c] = sum of w[i] over rows i with cell[i] == c (one pass)."""
    out = np.zeros(n_cells)
    cdef double[::1] o = out
    cdef Py_ssize_t i, n = cell.shape[0]
    with nogil:
        for i in range(n):
            o[cell[i]] += w[i]
    return out


def expand(const int64_t[::1] cell, const double[::1] values):
    """out[i] = values[cell[i]] (one pass)."""
    cdef Py_ssize_t i, n = cell.shape[0]
    out = np.empty(n)
    cdef double[::1] o = out
    with nogil:
        for i in range(n):
            o[i] = values[cell[i]]
    return out


def solve(CellSystem system, const double[::1] d):
    """Run ``newton_solve`` on ``system`` with unit weights ``d`` (C,), from
    ``system``'s start; returns (lam, g, iterations, errors, status)."""
    cdef const CellProblem* P = &system.c
    if d.shape[0] != P.C:
        raise ValueError(f"cext: d has {d.shape[0]} entries for {P.C} units")
    lam = np.empty(P.p)
    g = np.empty(P.C)
    work = np.empty(newton_work_size(P.C, P.p, P.q))
    errors = np.empty(P.max_iter + 1)
    cdef double[::1] lam_v = lam, g_v = g, work_v = work, errors_v = errors
    cdef Py_ssize_t j
    cdef int iterations = 0, status
    with nogil:
        for j in range(P.p):
            lam_v[j] = P.lam0[j]
        status = newton_solve(P.X, &P.lists if P.sparse else NULL,
                              &d[0] if P.C else NULL, P.t, P.C, P.p, P.Xfull, P.tfull, P.q,
                              P.distance, P.lower, P.upper, &lam_v[0] if P.p else NULL,
                              &g_v[0] if P.C else NULL, P.tol, P.max_iter, &work_v[0],
                              &errors_v[0], &iterations)
    return lam, g, iterations, errors[:iterations + 1].copy(), status
