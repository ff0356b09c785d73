# cython: language_level=3
"""Re-calibration of one replicate from its cell base totals, as a nogil inline
C function shared by the fused kernel (``cext/_replicate.pyx``) and the Dask
chunk kernel (``cext/_chunked.pyx``); ``weighting.replicates.recalibrate_cells``
is the numpy original::

    int recalibrate_cells(const double* D, const double* X, const NewtonSparse* S,
                          const double* t, Py_ssize_t C, Py_ssize_t p,
                          const double* Xfull, const double* tfull, Py_ssize_t q,
                          int distance, double lower, double upper,
                          const double* lam0, const IpfArgs* ipf, double tol,
                          int max_iter, double* lam, double* g, double* work,
                          double* errors, int* iterations, double* error)
        # D (C): the replicate's cell base totals; lam (p), g (C): out;
        # work: newton_work_size(C, p, q) + 3 q doubles; errors: room for
        # max(max_iter, ipf.sweeps) + 1 criteria. Returns the Newton status,
        # or RECALIBRATE_EMPTY when a margin category with a positive target
        # has no weight (g is then the warm start's, error +inf).

A replicate is raked by IPF from the full-sample g when ``ipf.sweeps`` > 0
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


cdef inline bint _empty_category(const double* D, const double* Xfull, const NewtonSparse* S,
                                 const double* tfull, Py_ssize_t C, Py_ssize_t q,
                                 double* colsum) noexcept nogil:
    """Whether a margin category with a positive target has no weight in D."""
    cdef Py_ssize_t c, j, e
    for j in range(q):
        colsum[j] = 0.0
    for c in range(C):
        if S != NULL:
            for e in range(S.f_ptr[c], S.f_ptr[c + 1]):
                colsum[S.f_idx[e]] += D[c]
        else:
            for j in range(q):
                colsum[j] += Xfull[c * q + j] * D[c]
    for j in range(q):
        if tfull[j] > 0 and not (colsum[j] > 0):
            return True
    return False


cdef inline int recalibrate_cells(const double* D, const double* X, const NewtonSparse* S,
                                  const double* t, Py_ssize_t C, Py_ssize_t p,
                                  const double* Xfull, const double* tfull, Py_ssize_t q,
                                  int distance, double lower, double upper,
                                  const double* lam0, const IpfArgs* ipf, double tol,
                                  int max_iter, double* lam, double* g, double* work,
                                  double* errors, int* iterations,
                                  double* error) noexcept nogil:
    cdef Py_ssize_t c, j
    cdef int status, sweeps = 0
    for j in range(p):
        lam[j] = lam0[j]
    # the last q doubles of work are free until Newton runs
    if _empty_category(D, Xfull, S, tfull, C, q, work + newton_work_size(C, p, q)):
        newton_solve(X, S, D, t, C, p, Xfull, tfull, q, distance, lower, upper, lam, g, tol,
                     0, work, errors, iterations)
        error[0] = INFINITY
        return RECALIBRATE_EMPTY
    if ipf.sweeps > 0:
        for c in range(C):
            g[c] = ipf.g0[c]
        if ipf_solve(ipf.cat, C, ipf.K, ipf.first, D, tfull, q, g, tol, ipf.sweeps, work,
                     errors, &sweeps) == 0:
            iterations[0] = sweeps
            error[0] = errors[sweeps]
            return 0
        ipf_lambda(lam0, ipf.to_lambda, work + 2 * q, p, q, lam)  # Newton goes on from here
    status = newton_solve(X, S, D, t, C, p, Xfull, tfull, q, distance, lower, upper, lam, g,
                          tol, max_iter, work, errors, iterations)
    error[0] = errors[iterations[0]]
    iterations[0] += sweeps
    return status


cdef inline IpfArgs ipf_args(int sweeps, const int32_t[:, ::1] cat, const int64_t[::1] first,
                             const double[::1] g0, const double[:, ::1] to_lambda):
    """The kernels' IPF arguments (``weighting.replicates.ipf_kernel_args``)."""
    cdef IpfArgs a
    a.sweeps = sweeps
    a.K = cat.shape[1]
    a.cat = &cat[0, 0] if sweeps > 0 else NULL
    a.first = &first[0] if sweeps > 0 else NULL
    a.g0 = &g0[0] if sweeps > 0 else NULL
    a.to_lambda = &to_lambda[0, 0] if sweeps > 0 else NULL
    return a
