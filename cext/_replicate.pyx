# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Fused replicate kernels: draw, re-calibrate, accumulate — one replicate per thread.

Every kernel loops over replicates in an OpenMP ``prange``. What a replicate
needs is a few sums by combination (calibration cell, or cell x group) of its
multipliers times row values: its cell base totals (``solve_replicates``), its
group totals of weighted values (``replicate_totals``). A thread takes a block
of BLOCK replicates, draws their PSU counts (bootstrap) or knows their deleted
PSU (jackknife), and makes the block's sums in one pass over the rows, sorted
by PSU. No n x B matrix is made unless asked for (``replicate_weights``).
The bootstrap counts can be kept between calls (one byte per PSU and
replicate, ``weighting.replicates.KeptDraws``): each pass then draws only
the replicates no earlier pass drew.

Bootstrap draws reproduce numpy bit for bit: replicate b seeds a PCG64 (XSL-RR
128/64, numpy's ``PCG64``) from the 4 words of
``SeedSequence(seed).spawn(B)[b].generate_state(4, uint64)`` (computed in
``weighting.replicates``) and takes ``(next64 >> 11) * 2**-53`` per draw,
exactly as ``Generator.random``. The generator is inlined here rather than
called through ``bitgen_t`` because building B numpy bit generators costs
~15 us each in Python, more than a whole replicate at n = 1000.

Every kernel takes a ``cext._args.ReplicatePlan`` (the multiplier
specification and the rows' PSU layout, checked when it was made) and, to
re-calibrate, a ``cext._args.CellSystem``; the other arguments are validated,
C-contiguous arrays: PSU codes and pointers int64, per-row cell and
combination codes int32 (read for every row of every replicate: half the
bytes). Multiplier specification (``weighting.replicates``):

* method 0 (bootstrap): stratum h (PSUs ``offset[h] .. offset[h] + n_psu[h]``)
  gets ``n_draws[h]`` uniform draws, PSU ``offset[h] + floor(u * n_psu[h])``
  counted once per draw; multiplier ``base[p] + step[p] * count[p]``.
* method 1 (jackknife): replicate b deletes PSU ``jk_psu[b]``; the other PSUs
  of its stratum get ``jk_factor[b]``, every other PSU 1.

Each thread allocates its scratch once (``cext/alloc.pxd``): if an
allocation fails the threads stop and the kernel raises a ``MemoryError``
naming the step and the buffer (``*_BUFFERS`` below, in allocation order).
"""
import numpy as np

from cython.parallel cimport parallel, prange
from libc.stdint cimport int32_t, int64_t, uint64_t
from libc.stdlib cimport free

from cext._args cimport CellSystem, Multipliers, ReplicatePlan
from cext.alloc cimport alloc_error, kalib_alloc, kalib_alloc_failure
from cext.recalibrate cimport (CellProblem, cell_errors_size, cell_work_size,
                               recalibrate_cells)

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
    /* The state `delta` steps ahead (numpy's pcg_advance_lcg_128: the
       composed affine map by squaring), in O(log delta) multiplications. */
    static inline unsigned __int128 kalib_pcg64_ahead(unsigned __int128 state,
                                                      unsigned __int128 inc,
                                                      uint64_t delta) {
        unsigned __int128 mult = KALIB_PCG_MULT, plus = inc, acc_mult = 1, acc_plus = 0;
        while (delta > 0) {
            if (delta & 1) {
                acc_mult *= mult;
                acc_plus = acc_plus * mult + plus;
            }
            plus = (mult + 1) * plus;
            mult *= mult;
            delta /= 2;
        }
        return acc_mult * state + acc_plus;
    }
    /* The PSU of one draw among n: floor(u * n) with u the next uniform of
       numpy's Generator.random, (next64 >> 11) * 2**-53. */
    static inline Py_ssize_t kalib_pcg64_pick(unsigned __int128* state,
                                              unsigned __int128 inc, double n) {
        *state = *state * KALIB_PCG_MULT + inc;
        uint64_t x = ((uint64_t)(*state >> 64)) ^ (uint64_t)*state;
        unsigned rot = (unsigned)(*state >> 122);
        x = (x >> rot) | (x << ((64u - rot) & 63u));
        return (Py_ssize_t)((double)(x >> 11) * (1.0 / 9007199254740992.0) * n);
    }
    /* stretch[floor(u * n)] += 1 for `draws` uniforms u of generator r. Two
       lanes: the first half of the draws from the state, the second from the
       state half the draws ahead, interleaved so that the two chains of
       128-bit multiplications overlap (a quarter faster than one chain;
       the counts are the same, as adding them does not depend on the order).
       States and increment are locals so that they stay in registers:
       through the struct, a store into the counts (a char type may alias
       anything) makes the compiler keep the state in memory, and the
       store-to-load latency then doubles the time of a draw. Not inlined, for
       the same reason: in the caller's loops too few registers are left. One
       function per count width. */
    #if defined(__GNUC__)
    #define KALIB_NOINLINE __attribute__((noinline))
    #else
    #define KALIB_NOINLINE
    #endif
    #define KALIB_DRAW_COUNTS(NAME, T)                                            \
    static KALIB_NOINLINE void NAME(kalib_pcg64* r, T* stretch, Py_ssize_t draws, \
                                    double n) {                                  \
        unsigned __int128 inc = r->inc, first = r->state;                        \
        Py_ssize_t half = draws / 2;                                             \
        unsigned __int128 second = kalib_pcg64_ahead(first, inc, (uint64_t)half); \
        for (Py_ssize_t t = 0; t < half; ++t) {                                  \
            stretch[kalib_pcg64_pick(&first, inc, n)] += 1;                      \
            stretch[kalib_pcg64_pick(&second, inc, n)] += 1;                     \
        }                                                                        \
        if (draws & 1)                                                           \
            stretch[kalib_pcg64_pick(&second, inc, n)] += 1;                     \
        r->state = second;                                                       \
    }
    KALIB_DRAW_COUNTS(kalib_draw_counts_u8, unsigned char)
    KALIB_DRAW_COUNTS(kalib_draw_counts_u16, unsigned short)
    KALIB_DRAW_COUNTS(kalib_draw_counts_int, int)
    /* sum of n one-byte counts, in loops the compiler vectorises: runs of
       256 summed in two bytes (at most 255 * 256), which widen twice fewer
       times than straight into eight bytes */
    static inline uint64_t kalib_sum_counts_u8(const unsigned char* a, Py_ssize_t n) {
        uint64_t sum = 0;
        for (Py_ssize_t i0 = 0; i0 < n; i0 += 256) {
            Py_ssize_t end = n - i0 < 256 ? n - i0 : 256;
            uint16_t run = 0;
            for (Py_ssize_t i = 0; i < end; ++i) run += a[i0 + i];
            sum += run;
        }
        return sum;
    }
    """
    ctypedef struct kalib_pcg64:
        pass
    void kalib_pcg64_seed(kalib_pcg64* r, const uint64_t* w) noexcept nogil
    void kalib_draw_counts_u8(kalib_pcg64* r, unsigned char* stretch, Py_ssize_t draws,
                              double n) noexcept nogil
    void kalib_draw_counts_u16(kalib_pcg64* r, unsigned short* stretch, Py_ssize_t draws,
                               double n) noexcept nogil
    void kalib_draw_counts_int(kalib_pcg64* r, int* stretch, Py_ssize_t draws,
                               double n) noexcept nogil
    uint64_t kalib_sum_counts_u8(const unsigned char* a, Py_ssize_t n) noexcept nogil


cdef extern from *:
    """
    /* S[(combo[i] * k + j) * 8 + r] += m[(p - p0) * 8 + r] * values[i * k + j]
       for the 8 replicates r of a block, over the rows i of PSUs p0 .. p1 - 1
       (rows sorted by PSU, PSU p owning rows psu_ptr[p] .. psu_ptr[p + 1];
       psu_ptr NULL: row p is PSU p). The 8 lanes are added in vectors of type
       V (GCC/Clang vector extensions: SSE2 on x86-64, NEON on arm64, AVX2
       where the CPU has it) so that the compiler does not re-vectorise the
       loop with shuffles. Each lane is one multiplication and one addition
       whatever the width (no fused multiply-add: -ffp-contract=off), so
       every width gives the same sums bit for bit. */
    #include <string.h>
    #define KALIB_TILE_SUMS(NAME, V, TARGET)                                        \
    TARGET static void NAME(double* S, const int32_t* combo, const double* values, \
                            Py_ssize_t k, const int64_t* psu_ptr, Py_ssize_t p0,   \
                            Py_ssize_t p1, const double* m) {                      \
        for (Py_ssize_t p = p0; p < p1; ++p) {                                     \
            const double* mp = m + (p - p0) * 8;                                   \
            Py_ssize_t r0 = psu_ptr ? psu_ptr[p] : p;                              \
            Py_ssize_t r1 = psu_ptr ? psu_ptr[p + 1] : p + 1;                      \
            for (Py_ssize_t i = r0; i < r1; ++i) {                                 \
                double* dest = S + (Py_ssize_t)combo[i] * k * 8;                   \
                for (Py_ssize_t j = 0; j < k; ++j, dest += 8) {                    \
                    double v = values[i * k + j];                                  \
                    for (int r = 0; r < 8; r += (int)(sizeof(V) / sizeof(double))) { \
                        V d, mm;                                                   \
                        memcpy(&d, dest + r, sizeof d);                            \
                        memcpy(&mm, mp + r, sizeof mm);                            \
                        d += mm * v;                                               \
                        memcpy(dest + r, &d, sizeof d);                            \
                    }                                                              \
                }                                                                  \
            }                                                                      \
        }                                                                          \
    }
    #if defined(__GNUC__)
    typedef double kalib_v2d __attribute__((vector_size(16)));
    KALIB_TILE_SUMS(kalib_tile_sums_2, kalib_v2d, )
    #else
    KALIB_TILE_SUMS(kalib_tile_sums_2, double, )
    #endif
    #if defined(__GNUC__) && defined(__x86_64__)
    typedef double kalib_v4d __attribute__((vector_size(32)));
    KALIB_TILE_SUMS(kalib_tile_sums_4, kalib_v4d, __attribute__((target("avx2"))))
    #endif
    static void kalib_tile_sums(double* S, const int32_t* combo, const double* values,
                                Py_ssize_t k, const int64_t* psu_ptr, Py_ssize_t p0,
                                Py_ssize_t p1, const double* m) {
    #if defined(__GNUC__) && defined(__x86_64__)
        if (__builtin_cpu_supports("avx2")) {
            kalib_tile_sums_4(S, combo, values, k, psu_ptr, p0, p1, m);
            return;
        }
    #endif
        kalib_tile_sums_2(S, combo, values, k, psu_ptr, p0, p1, m);
    }
    """
    void kalib_tile_sums(double* S, const int32_t* combo, const double* values, Py_ssize_t k,
                         const int64_t* psu_ptr, Py_ssize_t p0, Py_ssize_t p1,
                         const double* m) noexcept nogil


ctypedef unsigned char uchar
ctypedef unsigned short ushort

ctypedef fused count_t:
    uchar
    ushort
    int


cdef void _multipliers(const Multipliers* s, Py_ssize_t b, int* counts, double* mult) noexcept nogil:
    """PSU multipliers of replicate b into ``mult`` (P); ``counts`` is scratch (P ints)."""
    cdef Py_ssize_t p, h
    cdef double factor
    if s.method == 0:
        _block_counts(s, b, 1, counts)
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


cdef enum:
    BLOCK = 8  # replicates per pass over the rows (kalib_tile_sums's width)
    TILE = 256  # PSUs whose multipliers are made before their rows are read


cdef bint _block_counts(const Multipliers* s, Py_ssize_t b0, Py_ssize_t R,
                        count_t* counts) noexcept nogil:
    """Times PSU p is drawn in bootstrap replicate b0 + r, at ``counts[r * P + p]``;
    True if a count wrapped to 0 (the caller then redoes the block wider).

    Replicate by replicate within a stratum, so that the random scatter of
    the draws stays in one replicate's stretch of the stratum (in cache):
    interleaving the generators would overlap their multiplications but
    spread the scatter over BLOCK stretches, which costs more once strata
    outgrow the cache. A one-byte count can wrap only in a stratum of over
    255 draws; there the stretch's counts must add up to the draws (the
    wider types are chosen never to wrap: ``Multipliers.count_bytes``).
    """
    cdef kalib_pcg64 rng[BLOCK]
    cdef Py_ssize_t i, h, r, draws
    cdef uint64_t drawn
    cdef double nh
    cdef count_t* stretch
    cdef bint wrapped = False
    for i in range(s.P * R):
        counts[i] = 0
    for r in range(R):
        kalib_pcg64_seed(&rng[r], s.seeds + 4 * (b0 + r))
    for h in range(s.H):
        nh = <double>s.n_psu[h]
        draws = s.n_draws[h]
        for r in range(R):
            stretch = counts + r * s.P + s.offset[h]
            if count_t is uchar:
                kalib_draw_counts_u8(&rng[r], stretch, draws, nh)
            elif count_t is ushort:
                kalib_draw_counts_u16(&rng[r], stretch, draws, nh)
            else:
                kalib_draw_counts_int(&rng[r], stretch, draws, nh)
            if count_t is uchar and draws > 255:
                drawn = kalib_sum_counts_u8(stretch, s.n_psu[h])
                wrapped = wrapped or drawn != <uint64_t>draws
    return wrapped


cdef void _block_sums_with(const Multipliers* s, Py_ssize_t b0, Py_ssize_t R, const count_t* counts,
                           const int64_t* psu_ptr, const int32_t* combo,
                           const double* values, Py_ssize_t k, Py_ssize_t K,
                           double* S) noexcept nogil:
    # The multipliers of a tile of TILE PSUs first, replicate by replicate
    # (a loop over PSUs the compiler vectorises), then the tile's rows.
    cdef double m[TILE * BLOCK]
    cdef Py_ssize_t t, p, p0, p1, h, r, j, deleted
    cdef const count_t* row_counts
    for j in range(K * k * BLOCK):
        S[j] = 0.0
    for j in range(TILE * BLOCK):
        m[j] = 0.0  # the unused lanes of a short last block stay 0
    for t in range((s.P + TILE - 1) // TILE):
        p0 = t * TILE
        p1 = p0 + TILE if p0 + TILE < s.P else s.P
        for r in range(R):
            if s.method == 0:
                row_counts = counts + r * s.P
                for p in range(p0, p1):
                    m[(p - p0) * BLOCK + r] = s.base[p] + s.step[p] * row_counts[p]
            else:
                deleted = s.jk_psu[b0 + r]
                h = s.psu_stratum[deleted]
                for p in range(p0, p1):
                    m[(p - p0) * BLOCK + r] = 0.0 if p == deleted else (
                        s.jk_factor[b0 + r] if s.psu_stratum[p] == h else 1.0)
        kalib_tile_sums(S, combo, values, k, psu_ptr, p0, p1, m)


cdef enum:
    # a replicate's state in ``drawn`` (kept counts)
    KEPT_NOT_DRAWN = 0
    KEPT_DRAWN = 1
    KEPT_WRAPPED = 2  # a count passed 255: drawn again, wider, at every pass


cdef void _block_sums(const Multipliers* s, Py_ssize_t b0, Py_ssize_t R, void* counts,
                      unsigned char* kept, unsigned char* drawn, const int64_t* psu_ptr,
                      const int32_t* combo, const double* values, Py_ssize_t k, Py_ssize_t K,
                      double* S) noexcept nogil:
    """Sums by combination of replicates b0 .. b0 + R - 1 (R <= BLOCK), in one
    pass over the rows (sorted by PSU): ``S[(c * k + j) * BLOCK + r] = sum_{i:
    combo_i = c} m_{p(i), b0 + r} values[i, j]``.

    One pass over the rows for BLOCK replicates reads each row's values once
    instead of BLOCK times: the pass is bound by memory traffic, not
    arithmetic, once the rows outgrow the cache. ``counts`` is scratch of
    ``P * BLOCK * count_bytes`` bytes. Counts are made in one byte first (half
    or a quarter of the memory under the scatter); in the vanishingly rare
    block where one passes 255 (possible only in a stratum of over 256 PSUs),
    the block is redone in the width that cannot overflow.

    ``kept`` NULL, or the (B, P) one-byte counts kept between passes (the
    re-calibration's and every totals pass draw the same counts; reading
    them costs a fraction of drawing them), with ``drawn`` (B,) the
    replicates' ``KEPT_*`` states; the block's replicates are drawn into
    ``kept`` by the first pass that needs them.
    """
    cdef unsigned char* block
    cdef unsigned char state
    cdef Py_ssize_t r
    if s.method != 0:
        _block_sums_with(s, b0, R, <const unsigned char*>NULL, psu_ptr, combo, values, k, K, S)
        return
    if kept != NULL:
        block = kept + b0 * s.P
        if drawn[b0] == KEPT_NOT_DRAWN:
            state = KEPT_WRAPPED if _block_counts(s, b0, R, block) else KEPT_DRAWN
            for r in range(R):
                drawn[b0 + r] = state
        if drawn[b0] == KEPT_DRAWN:
            _block_sums_with(s, b0, R, <const unsigned char*>block, psu_ptr, combo, values, k,
                             K, S)
            return
    elif not _block_counts(s, b0, R, <unsigned char*>counts):
        _block_sums_with(s, b0, R, <const unsigned char*>counts, psu_ptr, combo, values, k,
                         K, S)
        return
    if s.count_bytes == 2:
        _block_counts(s, b0, R, <unsigned short*>counts)
        _block_sums_with(s, b0, R, <const unsigned short*>counts, psu_ptr, combo, values, k,
                         K, S)
    else:
        _block_counts(s, b0, R, <int*>counts)
        _block_sums_with(s, b0, R, <const int*>counts, psu_ptr, combo, values, k, K, S)


cdef inline unsigned char* _kept_counts(ReplicatePlan plan, unsigned char[:, ::1] kept,
                                        unsigned char[::1] drawn,
                                        unsigned char** drawn_ptr) except? NULL:
    """The kept counts' pointer (NULL if none) after checking their shapes."""
    drawn_ptr[0] = NULL
    if kept is None and drawn is None:
        return NULL
    if (kept is None or drawn is None or plan.m.method != 0 or kept.shape[0] != plan.B
            or kept.shape[1] != plan.m.P or drawn.shape[0] != plan.B or plan.B == 0):
        raise ValueError("cext: kept counts are (B, P) and drawn (B,), for a bootstrap plan")
    drawn_ptr[0] = &drawn[0]
    return &kept[0, 0]


SOLVE_BUFFERS = ("the bootstrap counts", "the per-cell sums", "the cell base totals",
                 "the calibration multipliers", "the solver's work space",
                 "the convergence history")
TOTALS_BUFFERS = ("the bootstrap counts", "the per-combination sums")
WEIGHTS_BUFFERS = ("the bootstrap counts", "the PSU multipliers")


def draw_multipliers(ReplicatePlan plan):
    """(B, P) PSU multipliers (for tests and exports of small designs)."""
    cdef const Multipliers* s = &plan.m
    out = np.empty((plan.B, s.P))
    counts = np.empty(s.P, dtype=np.intc)
    cdef double[:, ::1] o = out
    cdef int[::1] c = counts
    cdef Py_ssize_t b
    with nogil:
        for b in range(plan.B):
            _multipliers(s, b, &c[0], &o[b, 0])
    return out


def solve_replicates(ReplicatePlan plan, const int32_t[::1] row_cell, const double[::1] d,
                     CellSystem system, int num_threads, unsigned char[:, ::1] kept=None,
                     unsigned char[::1] drawn=None):
    """Re-calibrate the plan's B replicates on the cell table of ``system``.

    Returns ``g`` (B, cells), ``iterations`` (B,), ``error`` (B,) the final
    criterion and ``status`` (B,) of ``recalibrate_cells``
    (``cext/recalibrate.pxd``): IPF from the full-sample g-factors when the
    system has an IPF layout, Newton from its warm start or from IPF's
    iterate; status 3 when a margin category with a positive target has no
    weight in the replicate. ``row_cell`` and ``d`` (base weights) are in the
    plan's PSU order. A replicate's cell totals ``D_c = sum_{i in c} m_p(i)
    d_i`` come from ``_block_sums``, BLOCK replicates per pass over the rows,
    which keeps the bootstrap counts in ``kept`` (B, P) uint8 if given, with
    ``drawn`` (B,) uint8, zeros at first (``_block_sums``).
    """
    cdef const Multipliers* s = &plan.m
    cdef const int64_t* ptr = plan.psu_ptr
    cdef const CellProblem* P = &system.c
    cdef Py_ssize_t B = plan.B, n = row_cell.shape[0], C = P.C
    if d.shape[0] != n:
        raise ValueError(f"cext: d has {d.shape[0]} rows, row_cell {n}")
    cdef unsigned char* drawn_ptr
    cdef unsigned char* kept_ptr = _kept_counts(plan, kept, drawn, &drawn_ptr)
    g_out = np.empty((B, C))
    iters = np.zeros(B, dtype=np.intc)
    errs = np.empty(B)
    status = np.zeros(B, dtype=np.intc)
    cdef double[:, ::1] G = g_out
    cdef int[::1] it_v = iters, st_v = status
    cdef double[::1] err_v = errs
    cdef Py_ssize_t blk, b, b0, r, R, c
    cdef Py_ssize_t n_blocks = (B + BLOCK - 1) // BLOCK
    cdef void* counts
    cdef double* sums
    cdef double* D
    cdef double* lam
    cdef double* work
    cdef double* errors
    cdef kalib_alloc_failure failure
    failure.what = -1
    if B == 0 or n == 0:
        return g_out, iters, errs, status
    with nogil, parallel(num_threads=num_threads):
        counts = kalib_alloc(s.P * BLOCK * s.count_bytes + 1, 1, 0, &failure)
        sums = <double*>kalib_alloc(C * BLOCK + 1, sizeof(double), 1, &failure)
        D = <double*>kalib_alloc(C + 1, sizeof(double), 2, &failure)
        lam = <double*>kalib_alloc(P.p + 1, sizeof(double), 3, &failure)
        work = <double*>kalib_alloc(cell_work_size(P) + 1, sizeof(double), 4, &failure)
        errors = <double*>kalib_alloc(cell_errors_size(P) + 1, sizeof(double), 5, &failure)
        for blk in prange(n_blocks, schedule="dynamic"):
            if failure.what >= 0:
                continue  # some thread lacks its scratch: the call raises
            b0 = blk * BLOCK
            R = B - b0 if B - b0 < BLOCK else BLOCK
            _block_sums(s, b0, R, counts, kept_ptr, drawn_ptr, ptr, &row_cell[0], &d[0], 1, C,
                        sums)
            for r in range(R):
                b = b0 + r
                for c in range(C):
                    D[c] = sums[c * BLOCK + r]
                st_v[b] = recalibrate_cells(P, D, lam, &G[b, 0], work, errors, &it_v[b],
                                            &err_v[b])
        free(counts)
        free(sums)
        free(D)
        free(lam)
        free(work)
        free(errors)
    if failure.what >= 0:
        raise alloc_error(&failure, "replicate re-calibration", SOLVE_BUFFERS)
    return g_out, iters, errs, status


def replicate_totals(ReplicatePlan plan, const int32_t[::1] combo,
                     const int32_t[::1] combo_cell, const int32_t[::1] combo_group,
                     const double[:, ::1] g, const double[:, ::1] dv, Py_ssize_t n_groups,
                     int num_threads, unsigned char[:, ::1] kept=None,
                     unsigned char[::1] drawn=None):
    """``out[b, group, j] = sum_i m_b,p(i) g[b, cell_i] dv[i, j]`` over the group's rows.

    ``dv`` holds base weight times value, rows in the plan's PSU order.
    ``combo[i]`` indexes the (cell, group) combinations present,
    ``combo_cell``/``combo_group`` name them: a replicate's sums by
    combination (``_block_sums``) are then weighted by its g-factors and added
    into the groups. ``g`` is (B, cells), or (B, 1) with every combination in
    cell 0 for an uncalibrated design. ``kept``, ``drawn``: as in
    ``solve_replicates``.
    """
    cdef const Multipliers* s = &plan.m
    cdef const int64_t* ptr = plan.psu_ptr
    cdef Py_ssize_t B = plan.B, n = dv.shape[0], k = dv.shape[1], K = combo_cell.shape[0]
    if combo.shape[0] != n or combo_group.shape[0] != K or g.shape[0] != B:
        raise ValueError("cext: combo, combo_group or g do not match dv and the plan")
    cdef unsigned char* drawn_ptr
    cdef unsigned char* kept_ptr = _kept_counts(plan, kept, drawn, &drawn_ptr)
    out = np.zeros((B, n_groups, k))
    cdef double[:, :, ::1] o = out
    cdef Py_ssize_t blk, b0, r, R, c, j, n_blocks = (B + BLOCK - 1) // BLOCK
    cdef void* counts
    cdef double* sums
    cdef double coef
    cdef double* dest
    cdef const double* src
    cdef kalib_alloc_failure failure
    failure.what = -1
    if B == 0 or n == 0 or k == 0:
        return out
    with nogil, parallel(num_threads=num_threads):
        counts = kalib_alloc(s.P * BLOCK * s.count_bytes + 1, 1, 0, &failure)
        sums = <double*>kalib_alloc(K * BLOCK * k + 1, sizeof(double), 1, &failure)
        for blk in prange(n_blocks, schedule="dynamic"):
            if failure.what >= 0:
                continue  # some thread lacks its scratch: the call raises
            b0 = blk * BLOCK
            R = B - b0 if B - b0 < BLOCK else BLOCK
            _block_sums(s, b0, R, counts, kept_ptr, drawn_ptr, ptr, &combo[0], &dv[0, 0], k, K,
                        sums)
            for r in range(R):
                for c in range(K):
                    coef = g[b0 + r, combo_cell[c]]
                    dest = &o[b0 + r, combo_group[c], 0]
                    src = sums + c * k * BLOCK + r
                    for j in range(k):
                        dest[j] += coef * src[j * BLOCK]
        free(counts)
        free(sums)
    if failure.what >= 0:
        raise alloc_error(&failure, "replicate totals", TOTALS_BUFFERS)
    return out


def replicate_weights(ReplicatePlan plan, const int64_t[::1] row_psu,
                      const int64_t[::1] row_cell, const double[:, ::1] g,
                      const double[::1] d, int num_threads):
    """(B, n) replicate weights ``d[i] * mult_b[row_psu[i]] * g[b, row_cell[i]]``
    (rows in their own order)."""
    cdef const Multipliers* s = &plan.m
    cdef Py_ssize_t B = plan.B, n = row_psu.shape[0]
    if row_cell.shape[0] != n or d.shape[0] != n or g.shape[0] != B:
        raise ValueError("cext: row_cell, d or g do not match row_psu and the plan")
    out = np.empty((B, n))
    cdef double[:, ::1] o = out
    cdef Py_ssize_t b, i
    cdef int* counts
    cdef double* mult
    cdef kalib_alloc_failure failure
    failure.what = -1
    with nogil, parallel(num_threads=num_threads):
        counts = <int*>kalib_alloc(s.P + 1, sizeof(int), 0, &failure)
        mult = <double*>kalib_alloc(s.P + 1, sizeof(double), 1, &failure)
        for b in prange(B, schedule="dynamic"):
            if failure.what >= 0:
                continue  # some thread lacks its scratch: the call raises
            _multipliers(s, b, counts, mult)
            for i in range(n):
                o[b, i] = d[i] * mult[row_psu[i]] * g[b, row_cell[i]]
        free(counts)
        free(mult)
    if failure.what >= 0:
        raise alloc_error(&failure, "replicate weights", WEIGHTS_BUFFERS)
    return out
