# cython: language_level=3
"""Re-calibration of one replicate from its cell base totals, as a nogil inline
C function shared by the fused kernel (``cext/_replicate.pyx``) and the Dask
chunk kernel (``cext/_chunked.pyx``); ``weighting.replicates.recalibrate_cells``
is the numpy original::

    int recalibrate_cells(const CellProblem* P, const double* D, double* lam,
                          double* g, double* work, double* errors,
                          int* iterations, double* error)
        # P: the calibration on the cell table (``cext._args.CellSystem``);
        # D (C): the replicate's cell base totals; lam (p), g (C): out;
        # work: cell_work_size(P) doubles; errors: room for
        # cell_errors_size(P) criteria. Returns the Newton status, or
        # RECALIBRATE_EMPTY when a margin category with a positive target
        # has no weight (g is then the warm start's, error +inf).

A replicate is raked by IPF from the full-sample g when ``P.ipf.sweeps`` > 0
(``cext/ipf.pxd``); if IPF gives up, Newton goes on from its iterate; the
iterations add up.
"""
from libc.math cimport INFINITY
from libc.stdint cimport int32_t, int64_t

from cext.ipf cimport ipf_lambda, ipf_solve
from cext.newton cimport NewtonSparse, newton_solve, newton_work_size

cdef enum:
    RECALIBRATE_EMPTY = 3


cdef struct IpfArgs:
    int sweeps               # 0: no IPF
    Py_ssize_t K             # margins
    const int32_t* cat       # (C, K) Xfull column of each cell's category
    const int64_t* first     # (K + 1,) first column of each margin
    const double* g0         # (C,) the full-sample g
    const double* to_lambda  # (p, q) log factors -> multipliers


cdef struct CellProblem:
    Py_ssize_t C, p, q       # cells, independent constraints, margin categories
    const double* X          # (C, p)
    const double* t          # (p,)
    const double* Xfull      # (C, q)
    const double* tfull      # (q,)
    bint sparse              # X, Xfull 0/1, also given as column lists:
    NewtonSparse lists       # newton_solve reads those (the same steps)
    int distance
    double lower, upper
    const double* lam0       # (p,) the warm start (full-sample solution)
    IpfArgs ipf
    double tol
    int max_iter


cdef inline Py_ssize_t cell_work_size(const CellProblem* P) noexcept nogil:
    return newton_work_size(P.C, P.p, P.q) + 3 * P.q


cdef inline Py_ssize_t cell_errors_size(const CellProblem* P) noexcept nogil:
    return (P.max_iter if P.max_iter > P.ipf.sweeps else P.ipf.sweeps) + 1


cdef inline bint _empty_category(const double* D, const CellProblem* P,
                                 const NewtonSparse* S, double* colsum) noexcept nogil:
    """Whether a margin category with a positive target has no weight in D."""
    cdef Py_ssize_t c, j, e
    for j in range(P.q):
        colsum[j] = 0.0
    for c in range(P.C):
        if S != NULL:
            for e in range(S.f_ptr[c], S.f_ptr[c + 1]):
                colsum[S.f_idx[e]] += D[c]
        else:
            for j in range(P.q):
                colsum[j] += P.Xfull[c * P.q + j] * D[c]
    for j in range(P.q):
        if P.tfull[j] > 0 and not (colsum[j] > 0):
            return True
    return False


cdef inline int recalibrate_cells(const CellProblem* P, const double* D, double* lam,
                                  double* g, double* work, double* errors, int* iterations,
                                  double* error) noexcept nogil:
    cdef Py_ssize_t c, j
    cdef int status, sweeps = 0
    cdef const NewtonSparse* S = &P.lists if P.sparse else NULL
    cdef const IpfArgs* ipf = &P.ipf
    for j in range(P.p):
        lam[j] = P.lam0[j]
    # the last q doubles of work are free until Newton runs
    if _empty_category(D, P, S, work + newton_work_size(P.C, P.p, P.q)):
        newton_solve(P.X, S, D, P.t, P.C, P.p, P.Xfull, P.tfull, P.q, P.distance, P.lower,
                     P.upper, lam, g, P.tol, 0, work, errors, iterations)
        error[0] = INFINITY
        return RECALIBRATE_EMPTY
    if ipf.sweeps > 0:
        for c in range(P.C):
            g[c] = ipf.g0[c]
        if ipf_solve(ipf.cat, P.C, ipf.K, ipf.first, D, P.tfull, P.q, g, P.tol, ipf.sweeps,
                     work, errors, &sweeps) == 0:
            iterations[0] = sweeps
            error[0] = errors[sweeps]
            return 0
        ipf_lambda(P.lam0, ipf.to_lambda, work + 2 * P.q, P.p, P.q, lam)  # Newton goes on
    status = newton_solve(P.X, S, D, P.t, P.C, P.p, P.Xfull, P.tfull, P.q, P.distance,
                          P.lower, P.upper, lam, g, P.tol, P.max_iter, work, errors,
                          iterations)
    error[0] = errors[iterations[0]]
    iterations[0] += sweeps
    return status
