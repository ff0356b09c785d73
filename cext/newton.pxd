# cython: language_level=3
"""Damped Newton calibration solver as nogil inline C functions.

The same algorithm as ``weighting/solver.py`` (read its docstring for the
maths). Its status and distance codes and constants below are
``weighting.contract``'s: ``cext._calibrate.CONTRACT`` publishes them, and
``weighting._backend`` uses the kernels only if they are equal. Everything
works on raw pointers to C-contiguous float64 data with caller-provided work
buffers: no Python objects, no allocation, no GIL, so that a kernel can
``cimport`` it and solve many replicates in a ``prange`` loop (one work
buffer per thread).

Signatures (m units, p constraints, q criterion columns; arrays row-major)::

    Py_ssize_t newton_work_size(Py_ssize_t m, Py_ssize_t p, Py_ssize_t q)
        # doubles needed in ``work``: 6 m + 2 p^2 + 4 p + q

    void distance_eval(int distance, double lower, double upper, double u,
                       double* g, double* dg, double* rho)
        # g(u), g'(u) and the dual potential rho(u) of one unit;
        # distance: NEWTON_LINEAR (also truncated), NEWTON_RAKING, NEWTON_LOGIT;
        # lower/upper: bounds on g (-inf / 0 / +inf when absent).

    double newton_criterion(const double* Xfull, const NewtonSparse* S,
                            const double* d, const double* g, const double* tfull,
                            Py_ssize_t m, Py_ssize_t q, double* achieved)
        # max_j |sum_k Xfull[k,j] d_k g_k - tfull_j| / (1 + |tfull_j|);
        # +inf if not finite; ``achieved`` (q) receives the totals.

    int newton_solve(const double* X, const NewtonSparse* S, const double* d,
                     const double* t, Py_ssize_t m, Py_ssize_t p,
                     const double* Xfull, const double* tfull, Py_ssize_t q,
                     int distance, double lower, double upper,
                     double* lam, double* g, double tol, int max_iter,
                     double* work, double* errors, int* iterations)
        # lam (p): start in, solution out; g (m): unit g-factors out;
        # errors: NULL or room for max_iter + 1 criteria (start + each step);
        # iterations: steps taken. Returns NEWTON_CONVERGED (0),
        # NEWTON_MAX_ITER (1) or NEWTON_LINE_SEARCH_FAILED (2).

``S`` is NULL, or X and Xfull of zeros and ones (categorical margins) given
as per-unit lists of the columns holding a 1 (CSR without values): the
products with X and Xfull then skip the zeros. Adding a product with 0 leaves
a float sum unchanged, so both forms take the same steps to the last bit.
"""
from libc.math cimport exp, fabs, isfinite, log, sqrt, INFINITY, NAN
from libc.stdint cimport int64_t

cdef enum:
    NEWTON_LINEAR = 0
    NEWTON_RAKING = 1
    NEWTON_LOGIT = 2

cdef enum:
    NEWTON_CONVERGED = 0
    NEWTON_MAX_ITER = 1
    NEWTON_LINE_SEARCH_FAILED = 2

cdef enum:
    NEWTON_MAX_HALVINGS = 60

# Real constants as C macros (a .pxd cannot initialise variables).
cdef extern from *:
    """
    #define NEWTON_ARMIJO 1e-4
    #define NEWTON_ROUNDING_SLACK 1e-12
    #define NEWTON_PIVOT_RTOL 1e-14
    #define NEWTON_RIDGE 1e-10
    """
    const double NEWTON_ARMIJO
    const double NEWTON_ROUNDING_SLACK
    const double NEWTON_PIVOT_RTOL
    const double NEWTON_RIDGE


cdef struct NewtonSparse:
    const int64_t* x_ptr  # unit k's columns of X: x_idx[x_ptr[k] .. x_ptr[k + 1]]
    const int64_t* x_idx
    const int64_t* f_ptr  # the same for Xfull
    const int64_t* f_idx


cdef inline Py_ssize_t newton_work_size(Py_ssize_t m, Py_ssize_t p, Py_ssize_t q) noexcept nogil:
    return 6 * m + 2 * p * p + 4 * p + q


cdef inline void distance_eval(int distance, double lower, double upper, double u,
                               double* g, double* dg, double* rho) noexcept nogil:
    cdef double a, b, uc, A, v, e, num, den, log_den
    if distance == NEWTON_LOGIT:
        A = (upper - lower) / ((upper - 1.0) * (1.0 - lower))
        v = A * u
        e = exp(-fabs(v))
        if v > 0:
            num = lower * (upper - 1.0) * e + upper * (1.0 - lower)
            den = (upper - 1.0) * e + (1.0 - lower)
            log_den = v + log(den)
        else:
            num = lower * (upper - 1.0) + upper * (1.0 - lower) * e
            den = (upper - 1.0) + (1.0 - lower) * e
            log_den = log(den)
        g[0] = num / den
        dg[0] = A * (g[0] - lower) * (upper - g[0]) / (upper - lower)
        rho[0] = lower * u + (upper - lower) / A * (log_den - log(upper - lower))
        return
    if distance == NEWTON_LINEAR:
        a = lower - 1.0
        b = upper - 1.0
    else:
        a = log(lower) if lower > 0 else -INFINITY
        b = log(upper) if isfinite(upper) else INFINITY
    uc = u
    if uc < a:
        uc = a
    if uc > b:
        uc = b
    if distance == NEWTON_LINEAR:
        g[0] = 1.0 + uc
        rho[0] = uc + 0.5 * uc * uc
        dg[0] = 1.0 if (u > a and u < b) else 0.0
    else:
        g[0] = exp(uc)
        rho[0] = g[0]
        dg[0] = g[0] if (u > a and u < b) else 0.0
    # Beyond a bound the potential grows linearly with slope = the bound.
    if isfinite(a) and u < a:
        rho[0] += lower * (u - a)
    if isfinite(b) and u > b:
        rho[0] += upper * (u - b)


cdef inline double newton_criterion(const double* Xfull, const NewtonSparse* S,
                                    const double* d, const double* g, const double* tfull,
                                    Py_ssize_t m, Py_ssize_t q,
                                    double* achieved) noexcept nogil:
    cdef Py_ssize_t k, j, e
    cdef double w, err = 0.0, dev
    for j in range(q):
        achieved[j] = 0.0
    if S != NULL:
        for k in range(m):
            w = d[k] * g[k]
            for e in range(S.f_ptr[k], S.f_ptr[k + 1]):
                achieved[S.f_idx[e]] += w
    else:
        for k in range(m):
            w = d[k] * g[k]
            for j in range(q):
                achieved[j] += Xfull[k * q + j] * w
    for j in range(q):
        dev = fabs(achieved[j] - tfull[j]) / (1.0 + fabs(tfull[j]))
        if not (dev <= err):  # NaN propagates
            err = dev
    return err if isfinite(err) else INFINITY


cdef inline void _newton_units(const double* X, const NewtonSparse* S, const double* lam,
                               Py_ssize_t m, Py_ssize_t p, int distance, double lower,
                               double upper, double* g, double* dg,
                               double* rho) noexcept nogil:
    cdef Py_ssize_t k, j, e
    cdef double u
    if S != NULL:
        for k in range(m):
            u = 0.0
            for e in range(S.x_ptr[k], S.x_ptr[k + 1]):
                u += lam[S.x_idx[e]]
            distance_eval(distance, lower, upper, u, &g[k], &dg[k], &rho[k])
    else:
        for k in range(m):
            u = 0.0
            for j in range(p):
                u += X[k * p + j] * lam[j]
            distance_eval(distance, lower, upper, u, &g[k], &dg[k], &rho[k])


cdef inline double _newton_dual(const double* d, const double* rho, const double* lam,
                                const double* t, Py_ssize_t m, Py_ssize_t p,
                                double* magnitude) noexcept nogil:
    """Phi = sum d rho - lam.t; ``magnitude`` = sum d |rho| + |lam.t|."""
    cdef Py_ssize_t k
    cdef double s = 0.0, a = 0.0, lt = 0.0
    for k in range(m):
        s += d[k] * rho[k]
        a += d[k] * fabs(rho[k])
    for k in range(p):
        lt += lam[k] * t[k]
    magnitude[0] = a + fabs(lt)
    return s - lt


cdef inline bint _newton_cholesky(const double* H, double ridge, double min_pivot,
                                  Py_ssize_t p, double* C) noexcept nogil:
    """Lower Cholesky factor of H + ridge I into C; False if a pivot <= min_pivot."""
    cdef Py_ssize_t i, j, l
    cdef double s
    for i in range(p * p):
        C[i] = 0.0
    for j in range(p):
        s = H[j * p + j] + ridge
        for l in range(j):
            s -= C[j * p + l] * C[j * p + l]
        if not (s > min_pivot):
            return False
        C[j * p + j] = sqrt(s)
        for i in range(j + 1, p):
            s = H[i * p + j]
            for l in range(j):
                s -= C[i * p + l] * C[j * p + l]
            C[i * p + j] = s / C[j * p + j]
    return True


cdef inline void _newton_direction(const double* H, const double* r, Py_ssize_t p,
                                   double curvature_scale, double* C, double* y,
                                   double* delta) noexcept nogil:
    """delta = -H^{-1} r by Cholesky, with a ridge when H is near singular."""
    cdef Py_ssize_t i, l
    cdef double s, scale = 0.0
    for i in range(p):
        if H[i * p + i] > scale:
            scale = H[i * p + i]
    if not (scale > 0):
        scale = curvature_scale
    if not _newton_cholesky(H, 0.0, NEWTON_PIVOT_RTOL * scale, p, C):
        if not _newton_cholesky(H, NEWTON_RIDGE * scale, 0.0, p, C):
            for i in range(p):
                delta[i] = NAN
            return
    for i in range(p):
        s = r[i]
        for l in range(i):
            s -= C[i * p + l] * y[l]
        y[i] = s / C[i * p + i]
    for i in range(p - 1, -1, -1):
        s = y[i]
        for l in range(i + 1, p):
            s -= C[l * p + i] * delta[l]
        delta[i] = s / C[i * p + i]
    for i in range(p):
        delta[i] = -delta[i]


cdef inline void _newton_system(const double* X, const NewtonSparse* S, const double* d,
                                 const double* g, const double* dg, const double* t,
                                 Py_ssize_t m, Py_ssize_t p, double* H,
                                 double* r) noexcept nogil:
    """r = X'(d g) - t and H = X' diag(d g') X (both triangles)."""
    cdef Py_ssize_t k, i, j, e, f
    cdef double w, xi
    for i in range(p):
        r[i] = -t[i]
    for i in range(p * p):
        H[i] = 0.0
    if S != NULL:
        for k in range(m):
            w = d[k] * g[k]
            for e in range(S.x_ptr[k], S.x_ptr[k + 1]):
                r[S.x_idx[e]] += w
            w = d[k] * dg[k]
            if w != 0.0:
                for e in range(S.x_ptr[k], S.x_ptr[k + 1]):
                    i = S.x_idx[e]
                    for f in range(S.x_ptr[k], e + 1):
                        H[i * p + S.x_idx[f]] += w
    else:
        for k in range(m):
            w = d[k] * g[k]
            for i in range(p):
                r[i] += X[k * p + i] * w
            w = d[k] * dg[k]
            if w != 0.0:
                for i in range(p):
                    xi = X[k * p + i] * w
                    if xi != 0.0:
                        for j in range(i + 1):
                            H[i * p + j] += xi * X[k * p + j]
    for i in range(p):
        for j in range(i + 1, p):
            H[i * p + j] = H[j * p + i]


cdef inline int newton_solve(const double* X, const NewtonSparse* S, const double* d,
                             const double* t, Py_ssize_t m, Py_ssize_t p,
                             const double* Xfull, const double* tfull, Py_ssize_t q,
                             int distance, double lower, double upper,
                             double* lam, double* g, double tol, int max_iter,
                             double* work, double* errors, int* iterations) noexcept nogil:
    cdef double* cur_g = work
    cdef double* cur_dg = work + m
    cdef double* cur_rho = work + 2 * m
    cdef double* new_g = work + 3 * m
    cdef double* new_dg = work + 4 * m
    cdef double* new_rho = work + 5 * m
    cdef double* H = work + 6 * m
    cdef double* C = H + p * p
    cdef double* r = C + p * p
    cdef double* delta = r + p
    cdef double* y = delta + p
    cdef double* trial = y + p
    cdef double* achieved = trial + p
    cdef double* swap
    cdef Py_ssize_t k, i, j, e, it = 0, halvings
    cdef double err, w, curvature_scale = 0.0, phi, phi_t, magnitude, slope, alpha
    cdef int status = NEWTON_CONVERGED

    # the largest diagonal of X' diag(d) X (the ridge's scale when H vanishes)
    for j in range(p):
        y[j] = 0.0
    if S != NULL:
        for k in range(m):
            for e in range(S.x_ptr[k], S.x_ptr[k + 1]):
                y[S.x_idx[e]] += d[k]
    else:
        for k in range(m):
            for j in range(p):
                y[j] += d[k] * X[k * p + j] * X[k * p + j]
    for j in range(p):
        if y[j] > curvature_scale:
            curvature_scale = y[j]
    _newton_units(X, S, lam, m, p, distance, lower, upper, cur_g, cur_dg, cur_rho)
    err = newton_criterion(Xfull, S, d, cur_g, tfull, m, q, achieved)
    if errors != NULL:
        errors[0] = err
    while not (err <= tol):
        if it >= max_iter:
            status = NEWTON_MAX_ITER
            break
        _newton_system(X, S, d, cur_g, cur_dg, t, m, p, H, r)
        _newton_direction(H, r, p, curvature_scale, C, y, delta)
        phi = _newton_dual(d, cur_rho, lam, t, m, p, &magnitude)
        slope = 0.0
        for i in range(p):
            slope += r[i] * delta[i]
        alpha = 1.0
        for halvings in range(NEWTON_MAX_HALVINGS + 1):
            if halvings == NEWTON_MAX_HALVINGS:
                status = NEWTON_LINE_SEARCH_FAILED
                break
            for i in range(p):
                trial[i] = lam[i] + alpha * delta[i]
            _newton_units(X, S, trial, m, p, distance, lower, upper, new_g, new_dg, new_rho)
            phi_t = _newton_dual(d, new_rho, trial, t, m, p, &w)
            if isfinite(phi_t) and phi_t <= phi + NEWTON_ARMIJO * alpha * slope + \
                    NEWTON_ROUNDING_SLACK * magnitude:
                break
            alpha *= 0.5
        if status == NEWTON_LINE_SEARCH_FAILED:
            break
        for i in range(p):
            lam[i] = trial[i]
        swap = cur_g; cur_g = new_g; new_g = swap
        swap = cur_dg; cur_dg = new_dg; new_dg = swap
        swap = cur_rho; cur_rho = new_rho; new_rho = swap
        it += 1
        err = newton_criterion(Xfull, S, d, cur_g, tfull, m, q, achieved)
        if errors != NULL:
            errors[it] = err
    for k in range(m):
        g[k] = cur_g[k]
    iterations[0] = <int>it
    return status
