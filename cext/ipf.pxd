# cython: language_level=3
"""Raking by iterative proportional fitting as a nogil inline C function.

The same operations in the same order as ``weighting/ipf.py`` (read its
docstring), so that both give the same g-factors bit for bit::

    int ipf_solve(const int32_t* cat, Py_ssize_t m, Py_ssize_t K,
                  const int64_t* first, const double* D, const double* tfull,
                  Py_ssize_t q, double* g, double tol, int max_sweeps,
                  double* work, double* errors, int* sweeps)
        # cat (m, K): Xfull column of each cell's category in every margin;
        # first (K + 1): first column of each margin; g (m): start in,
        # solution out; work: 3 q doubles, of which work[2q .. 3q) returns
        # each category's product of factors (g = start * their product over
        # the cell's categories); errors: room for max_sweeps + 1 criteria.
        # Returns 0 (converged) or 1 (not converged: max_sweeps reached, or
        # foreseen not to converge within them).

    void ipf_lambda(const double* lam0, const double* to_lambda, const double* scaled,
                    Py_ssize_t p, Py_ssize_t q, double* lam)
        # lam = lam0 + to_lambda @ log(scaled) (to_lambda (p, q)): the Newton
        # multipliers of an IPF iterate, to go on from it; lam0 itself if a
        # factor is not positive and finite.
"""
from libc.math cimport fabs, isfinite, log, INFINITY
from libc.stdint cimport int32_t, int64_t


cdef inline void _ipf_totals(const int32_t* cat, Py_ssize_t m, Py_ssize_t K,
                             Py_ssize_t k0, Py_ssize_t k1, const int64_t* first,
                             const double* D, const double* g,
                             double* totals) noexcept nogil:
    """Category totals of D * g over margins k0 .. k1 - 1, added cell by cell."""
    cdef Py_ssize_t c, k, j
    cdef double w
    for j in range(first[k0], first[k1]):
        totals[j] = 0.0
    for c in range(m):
        w = D[c] * g[c]
        for k in range(k0, k1):
            totals[cat[c * K + k]] += w


cdef inline double _ipf_criterion(const double* totals, const double* tfull,
                                  Py_ssize_t q) noexcept nogil:
    cdef Py_ssize_t j
    cdef double err = 0.0, e
    for j in range(q):
        e = fabs(totals[j] - tfull[j]) / (1.0 + fabs(tfull[j]))
        if not (e <= err):  # NaN propagates
            err = e
    return err if isfinite(err) else INFINITY


cdef inline int ipf_solve(const int32_t* cat, Py_ssize_t m, Py_ssize_t K,
                          const int64_t* first, const double* D, const double* tfull,
                          Py_ssize_t q, double* g, double tol, int max_sweeps,
                          double* work, double* errors, int* sweeps) noexcept nogil:
    cdef double* totals = work
    cdef double* factor = work + q
    cdef double* scaled = work + 2 * q
    cdef Py_ssize_t c, k, j, i
    cdef int it = 0
    cdef double rate, foreseen
    for j in range(q):
        scaled[j] = 1.0
    _ipf_totals(cat, m, K, 0, K, first, D, g, totals)
    errors[0] = _ipf_criterion(totals, tfull, q)
    while not (errors[it] <= tol):
        if it >= max_sweeps:
            sweeps[0] = it
            return 1
        if it >= 2:  # give up early when the linear rate foresees no convergence in time
            rate = errors[it] / errors[it - 1]
            foreseen = errors[it]
            for i in range(max_sweeps - it):
                foreseen = foreseen * rate
            if not (rate < 1.0) or foreseen > tol:
                sweeps[0] = it
                return 1
        for k in range(K):
            if k > 0:
                _ipf_totals(cat, m, K, k, k + 1, first, D, g, totals)
            for j in range(first[k], first[k + 1]):
                factor[j] = tfull[j] / totals[j] if totals[j] != 0 else 1.0
                scaled[j] = scaled[j] * factor[j]
            for c in range(m):
                g[c] = g[c] * factor[cat[c * K + k]]
        it += 1
        _ipf_totals(cat, m, K, 0, K, first, D, g, totals)
        errors[it] = _ipf_criterion(totals, tfull, q)
    sweeps[0] = it
    return 0


cdef inline void ipf_lambda(const double* lam0, const double* to_lambda, const double* scaled,
                            Py_ssize_t p, Py_ssize_t q, double* lam) noexcept nogil:
    cdef Py_ssize_t i, j
    cdef double delta
    for i in range(p):
        lam[i] = lam0[i]
    for j in range(q):
        if not (scaled[j] > 0 and isfinite(scaled[j])):
            for i in range(p):
                lam[i] = lam0[i]
            return
        delta = log(scaled[j])
        for i in range(p):
            lam[i] = lam[i] + to_lambda[i * q + j] * delta
