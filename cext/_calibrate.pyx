# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Calibration kernels: collapse rows into cells, expand cells to rows, and
the Newton solver of ``newton.pxd`` on a (units x constraints) table.

Arguments are validated, C-contiguous arrays (``weighting`` checks them).
"""
from libc.stdint cimport int64_t

import numpy as np

from cext.newton cimport newton_solve, newton_work_size


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


def solve(const double[:, ::1] X, const double[::1] d, const double[::1] t,
          const double[:, ::1] Xfull, const double[::1] tfull,
          int distance, double lower, double upper, double[::1] lam,
          double tol, int max_iter):
    """Run ``newton_solve``; returns (lam, g, iterations, errors, status).

    ``lam`` is the start and is overwritten with the solution.
    """
    cdef Py_ssize_t m = X.shape[0], p = X.shape[1], q = Xfull.shape[1]
    g = np.empty(m)
    work = np.empty(newton_work_size(m, p, q))
    errors = np.empty(max_iter + 1)
    cdef double[::1] g_v = g, work_v = work, errors_v = errors
    cdef int iterations = 0, status
    with nogil:
        status = newton_solve(&X[0, 0] if m and p else NULL, NULL, &d[0] if m else NULL,
                              &t[0] if p else NULL, m, p,
                              &Xfull[0, 0] if m and q else NULL, &tfull[0] if q else NULL,
                              q, distance, lower, upper, &lam[0] if p else NULL,
                              &g_v[0] if m else NULL, tol, max_iter, &work_v[0],
                              &errors_v[0], &iterations)
    return np.asarray(lam), g, iterations, errors[:iterations + 1].copy(), status
