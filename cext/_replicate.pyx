# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Fused replicate kernels: draw, re-calibrate, accumulate — one replicate per thread.

Every kernel loops over replicates in an OpenMP ``prange``. A replicate's PSU
multipliers are made in a thread-local buffer (bootstrap: its draws; jackknife:
the deleted PSU), then one pass over the rows (sorted by PSU) gives what is
needed: the replicate's calibration-cell base totals (``solve_replicates``),
its group totals of weighted values (``replicate_totals``) or its weights
(``replicate_weights``). No n x B matrix is made unless asked for.

Bootstrap draws reproduce numpy bit for bit: replicate b seeds a PCG64 (XSL-RR
128/64, numpy's ``PCG64``) from the 4 words of
``SeedSequence(seed).spawn(B)[b].generate_state(4, uint64)`` (computed in
``weighting.replicates``) and takes ``(next64 >> 11) * 2**-53`` per draw,
exactly as ``Generator.random``. The generator is inlined here rather than
called through ``bitgen_t`` because building B numpy bit generators costs
~15 us each in Python, more than a whole replicate at n = 1000.

Arguments are validated, C-contiguous arrays; codes are int64. Multiplier
specification (``weighting.replicates``):

* method 0 (bootstrap): stratum h (PSUs ``offset[h] .. offset[h] + n_psu[h]``)
  gets ``n_draws[h]`` uniform draws, PSU ``offset[h] + floor(u * n_psu[h])``
  counted once per draw; multiplier ``base[p] + step[p] * count[p]``.
* method 1 (jackknife): replicate b deletes PSU ``jk_psu[b]``; the other PSUs
  of its stratum get ``jk_factor[b]``, every other PSU 1.
"""
import numpy as np

from cython.parallel cimport parallel, prange
from libc.stdint cimport int64_t, uint64_t
from libc.math cimport INFINITY
from libc.stdlib cimport free, malloc

from cext.newton cimport newton_solve, newton_work_size

cdef extern from *:
    """
    #include <stdint.h>
    typedef struct { unsigned __int128 state, inc; } kalib_pcg64;
    #define KALIB_PCG_MULT ((((unsigned __int128)0x2360ED051FC65DA4ULL) << 64) | 0x4385DF649FCCF645ULL)
    static inline void kalib_pcg64_seed(kalib_pcg64* r, const uint64_t* w) {
        unsigned __int128 seed = (((unsigned __int128)w[0]) << 64) | w[1];
        unsigned __int128 seq = (((unsigned __int128)w[2]) << 64) | w[3];
        r->state = 0;
        r->inc = (seq << 1) | 1u;
        r->state = r->state * KALIB_PCG_MULT + r->inc;
        r->state += seed;
        r->state = r->state * KALIB_PCG_MULT + r->inc;
    }
    static inline double kalib_pcg64_double(kalib_pcg64* r) {
        r->state = r->state * KALIB_PCG_MULT + r->inc;
        uint64_t x = ((uint64_t)(r->state >> 64)) ^ (uint64_t)r->state;
        unsigned rot = (unsigned)(r->state >> 122);
        x = (x >> rot) | (x << ((64u - rot) & 63u));
        return (double)(x >> 11) * (1.0 / 9007199254740992.0);
    }
    """
    ctypedef struct kalib_pcg64:
        pass
    void kalib_pcg64_seed(kalib_pcg64* r, const uint64_t* w) noexcept nogil
    double kalib_pcg64_double(kalib_pcg64* r) noexcept nogil


cdef struct Spec:
    int method
    Py_ssize_t P, H
    const uint64_t* seeds
    const int64_t* n_psu
    const int64_t* offset
    const int64_t* n_draws
    const double* base
    const double* step
    const int64_t* jk_psu
    const double* jk_factor
    const int64_t* psu_stratum


cdef Spec _spec(int method, const uint64_t[:, ::1] seeds, const int64_t[::1] n_psu,
                const int64_t[::1] offset, const int64_t[::1] n_draws,
                const double[::1] base, const double[::1] step,
                const int64_t[::1] jk_psu, const double[::1] jk_factor,
                const int64_t[::1] psu_stratum):
    cdef Spec s
    s.method = method
    s.P = psu_stratum.shape[0]
    s.H = n_psu.shape[0]
    s.seeds = &seeds[0, 0] if seeds.shape[0] else NULL
    s.n_psu = &n_psu[0]
    s.offset = &offset[0]
    s.n_draws = &n_draws[0]
    s.base = &base[0]
    s.step = &step[0]
    s.jk_psu = &jk_psu[0] if jk_psu.shape[0] else NULL
    s.jk_factor = &jk_factor[0] if jk_factor.shape[0] else NULL
    s.psu_stratum = &psu_stratum[0]
    return s


cdef void _multipliers(const Spec* s, Py_ssize_t b, int* counts, double* mult) noexcept nogil:
    """PSU multipliers of replicate b into ``mult`` (P)."""
    cdef Py_ssize_t p, h, k, first, nh
    cdef kalib_pcg64 rng
    cdef double factor
    if s.method == 0:
        for p in range(s.P):
            counts[p] = 0
        kalib_pcg64_seed(&rng, s.seeds + 4 * b)
        for h in range(s.H):
            first = s.offset[h]
            nh = s.n_psu[h]
            for k in range(s.n_draws[h]):
                counts[first + <Py_ssize_t>(kalib_pcg64_double(&rng) * nh)] += 1
        for p in range(s.P):
            mult[p] = s.base[p] + s.step[p] * counts[p]
    else:
        for p in range(s.P):
            mult[p] = 1.0
        h = s.psu_stratum[s.jk_psu[b]]
        factor = s.jk_factor[b]
        for p in range(s.offset[h], s.offset[h] + s.n_psu[h]):
            mult[p] = factor
        mult[s.jk_psu[b]] = 0.0


def draw_multipliers(int method, const uint64_t[:, ::1] seeds, const int64_t[::1] n_psu,
                     const int64_t[::1] offset, const int64_t[::1] n_draws,
                     const double[::1] base, const double[::1] step,
                     const int64_t[::1] jk_psu, const double[::1] jk_factor,
                     const int64_t[::1] psu_stratum, Py_ssize_t B):
    """(B, P) PSU multipliers (for tests and exports of small designs)."""
    cdef Spec s = _spec(method, seeds, n_psu, offset, n_draws, base, step, jk_psu,
                        jk_factor, psu_stratum)
    out = np.empty((B, s.P))
    counts = np.empty(s.P, dtype=np.intc)
    cdef double[:, ::1] o = out
    cdef int[::1] c = counts
    cdef Py_ssize_t b
    with nogil:
        for b in range(B):
            _multipliers(&s, b, &c[0] if s.P else NULL, &o[b, 0] if s.P else NULL)
    return out


def solve_replicates(int method, const uint64_t[:, ::1] seeds, const int64_t[::1] n_psu,
                     const int64_t[::1] offset, const int64_t[::1] n_draws,
                     const double[::1] base, const double[::1] step,
                     const int64_t[::1] jk_psu, const double[::1] jk_factor,
                     const int64_t[::1] psu_stratum,
                     const int64_t[::1] row_psu, const int64_t[::1] row_cell,
                     const double[::1] d,
                     const double[:, ::1] X, const double[::1] t,
                     const double[:, ::1] Xfull, const double[::1] tfull,
                     int distance, double lower, double upper,
                     const double[::1] lam0, double tol, int max_iter,
                     Py_ssize_t B, int num_threads):
    """Re-calibrate B replicates on the cell table, warm-started at ``lam0``.

    Returns ``g`` (B, cells), ``lam`` (B, p), ``iterations`` (B,), ``error``
    (B,) the final criterion, ``status`` (B,) (newton status; 3 when a margin
    category with a positive target has no weight in the replicate, in which
    case ``g`` is the warm start's).
    """
    cdef Spec s = _spec(method, seeds, n_psu, offset, n_draws, base, step, jk_psu,
                        jk_factor, psu_stratum)
    cdef Py_ssize_t n = row_psu.shape[0], C = X.shape[0], p = X.shape[1], q = Xfull.shape[1]
    g_out = np.empty((B, C))
    lam_out = np.empty((B, p))
    iters = np.zeros(B, dtype=np.intc)
    errs = np.empty(B)
    status = np.zeros(B, dtype=np.intc)
    cdef double[:, ::1] G = g_out, L = lam_out
    cdef int[::1] it_v = iters, st_v = status
    cdef double[::1] err_v = errs
    cdef Py_ssize_t b, i, j, c, wsize = newton_work_size(C, p, q)
    cdef int* counts
    cdef double* mult
    cdef double* D
    cdef double* work
    cdef double* errors
    cdef double total
    cdef bint empty
    with nogil, parallel(num_threads=num_threads):
        counts = <int*>malloc((s.P + 1) * sizeof(int))
        mult = <double*>malloc((s.P + 1) * sizeof(double))
        D = <double*>malloc((C + 1) * sizeof(double))
        work = <double*>malloc((wsize + 1) * sizeof(double))
        errors = <double*>malloc((max_iter + 2) * sizeof(double))
        for b in prange(B, schedule="dynamic"):
            _multipliers(&s, b, counts, mult)
            for c in range(C):
                D[c] = 0.0
            for i in range(n):
                D[row_cell[i]] += d[i] * mult[row_psu[i]]
            for j in range(p):
                L[b, j] = lam0[j]
            empty = False
            for j in range(q):
                if tfull[j] > 0:
                    total = 0.0
                    for c in range(C):
                        total = total + Xfull[c, j] * D[c]
                    if not (total > 0):
                        empty = True
            if empty:
                st_v[b] = 3
                it_v[b] = 0
                err_v[b] = INFINITY
                # g at the warm start (flagged; kept only if failures are accepted)
                newton_solve(&X[0, 0], D, &t[0], C, p, &Xfull[0, 0], &tfull[0], q,
                             distance, lower, upper, &L[b, 0], &G[b, 0], tol, 0,
                             work, errors, &it_v[b])
            else:
                st_v[b] = newton_solve(&X[0, 0], D, &t[0], C, p, &Xfull[0, 0], &tfull[0],
                                       q, distance, lower, upper, &L[b, 0], &G[b, 0], tol,
                                       max_iter, work, errors, &it_v[b])
                err_v[b] = errors[it_v[b]]
        free(counts)
        free(mult)
        free(D)
        free(work)
        free(errors)
    return g_out, lam_out, iters, errs, status


def replicate_totals(int method, const uint64_t[:, ::1] seeds, const int64_t[::1] n_psu,
                     const int64_t[::1] offset, const int64_t[::1] n_draws,
                     const double[::1] base, const double[::1] step,
                     const int64_t[::1] jk_psu, const double[::1] jk_factor,
                     const int64_t[::1] psu_stratum,
                     const int64_t[::1] row_psu, const int64_t[::1] row_cell,
                     const double[:, ::1] g, const double[:, ::1] dv,
                     const int64_t[::1] groups, Py_ssize_t n_groups,
                     Py_ssize_t B, int num_threads):
    """``out[b, groups[i], j] += mult_b[row_psu[i]] * g[b, row_cell[i]] * dv[i, j]``.

    ``dv`` holds base weight times value; ``g`` is (B, cells), or (B, 1) with
    ``row_cell`` all zero for an uncalibrated design.
    """
    cdef Spec s = _spec(method, seeds, n_psu, offset, n_draws, base, step, jk_psu,
                        jk_factor, psu_stratum)
    cdef Py_ssize_t n = row_psu.shape[0], k = dv.shape[1]
    out = np.zeros((B, n_groups, k))
    cdef double[:, :, ::1] o = out
    cdef Py_ssize_t b, i, j
    cdef int* counts
    cdef double* mult
    cdef double coef
    cdef double* dest
    with nogil, parallel(num_threads=num_threads):
        counts = <int*>malloc((s.P + 1) * sizeof(int))
        mult = <double*>malloc((s.P + 1) * sizeof(double))
        for b in prange(B, schedule="dynamic"):
            _multipliers(&s, b, counts, mult)
            for i in range(n):
                coef = mult[row_psu[i]] * g[b, row_cell[i]]
                dest = &o[b, groups[i], 0]
                for j in range(k):
                    dest[j] += coef * dv[i, j]
        free(counts)
        free(mult)
    return out


def replicate_weights(int method, const uint64_t[:, ::1] seeds, const int64_t[::1] n_psu,
                      const int64_t[::1] offset, const int64_t[::1] n_draws,
                      const double[::1] base, const double[::1] step,
                      const int64_t[::1] jk_psu, const double[::1] jk_factor,
                      const int64_t[::1] psu_stratum,
                      const int64_t[::1] row_psu, const int64_t[::1] row_cell,
                      const double[:, ::1] g, const double[::1] d,
                      Py_ssize_t B, int num_threads):
    """(B, n) replicate weights ``d[i] * mult_b[row_psu[i]] * g[b, row_cell[i]]``."""
    cdef Spec s = _spec(method, seeds, n_psu, offset, n_draws, base, step, jk_psu,
                        jk_factor, psu_stratum)
    cdef Py_ssize_t n = row_psu.shape[0]
    out = np.empty((B, n))
    cdef double[:, ::1] o = out
    cdef Py_ssize_t b, i
    cdef int* counts
    cdef double* mult
    with nogil, parallel(num_threads=num_threads):
        counts = <int*>malloc((s.P + 1) * sizeof(int))
        mult = <double*>malloc((s.P + 1) * sizeof(double))
        for b in prange(B, schedule="dynamic"):
            _multipliers(&s, b, counts, mult)
            for i in range(n):
                o[b, i] = d[i] * mult[row_psu[i]] * g[b, row_cell[i]]
        free(counts)
        free(mult)
    return out
