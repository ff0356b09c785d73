# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Chunk kernels of the Dask scale-out (``estimators.scale``).

The scale-out splits the replicate computation of ``cext._replicate`` into
three steps that can run on different machines:

* ``draw_counts`` — the bootstrap draws of a block of replicates, for every
  PSU, from numpy's own PCG64 bit generators (``bitgen_t.next_double``, the
  call behind ``Generator.random``): replicate b's stream is the one of the
  RNG contract, so the counts equal ``weighting.replicates.bootstrap_counts``
  bit for bit.
* ``accumulate_refined`` — one chunk of rows, a block of replicates, given
  the chunk's slice of the PSU multipliers: the sufficient statistics
  ``S[b, r, j] = sum_{i in chunk, refined(i) = r} m_{b, psu(i)} dv[i, j]``
  (refined cell r = calibration cell x domain group; ``dv`` holds base
  weight times 1 and the values). Chunks' S add up to the sample's.
* ``accumulate_counts`` — the same from a bootstrap block's one-byte counts,
  forming the multipliers on the fly (no b x P_k doubles).
* ``solve_cell_tables`` — re-calibrate a block of replicates from their
  reduced cell base totals ``D`` (B, cells), warm-started at the full-sample
  solution (a ``CellSystem``), by IPF (``cext/ipf.pxd``) for raking on categorical margins and
  the Newton solver of ``cext/newton.pxd`` otherwise or if IPF has not
  converged (the same as the fused kernel).

Arguments are validated, C-contiguous arrays (codes int64) and, to
re-calibrate, a ``cext._args.CellSystem``. Scratch allocations are checked
(``cext/alloc.pxd``): out of memory raises a ``MemoryError`` naming the step
and the buffer.
"""
import numpy as np

from cpython.pycapsule cimport PyCapsule_GetPointer
from cython.parallel cimport parallel, prange
from libc.stdint cimport int32_t, int64_t, uint8_t
from libc.stdlib cimport free
from numpy.random cimport bitgen_t

from cext._args cimport CellSystem
from cext.alloc cimport alloc_error, kalib_alloc, kalib_alloc_failure
from cext.recalibrate cimport (CellProblem, cell_errors_size, cell_work_size,
                               recalibrate_cells)


def draw_counts(list bit_generators, const int64_t[::1] n_psu, const int64_t[::1] offset,
                const int64_t[::1] n_draws, Py_ssize_t P, int num_threads):
    """Bootstrap counts (b, P) as uint8, one row per bit generator, and an overflow flag.

    Stratum h draws ``n_draws[h]`` uniforms u and counts PSU
    ``offset[h] + floor(u * n_psu[h])``, strata in order. The flag is True if
    some count exceeded 255 (then the counts are wrong and the caller must
    redo the block in a wider type); it cannot happen when every
    ``n_draws[h] <= 255``.
    """
    cdef Py_ssize_t B = len(bit_generators), H = n_psu.shape[0]
    out = np.zeros((B, P), dtype=np.uint8)
    cdef uint8_t[:, ::1] counts = out
    cdef kalib_alloc_failure failure
    failure.what = -1
    cdef bitgen_t** rngs = <bitgen_t**>kalib_alloc(B + 1, sizeof(bitgen_t*), 0, &failure)
    if rngs == NULL:
        raise alloc_error(&failure, "bootstrap draws", ("the table of bit generators",))
    overflowed = np.zeros(B, dtype=np.uint8)  # per replicate: prange has no OR reduction
    cdef uint8_t[::1] overflow = overflowed
    cdef Py_ssize_t b, h, k, first, nh, p
    for b in range(B):
        rngs[b] = <bitgen_t*>PyCapsule_GetPointer(bit_generators[b].capsule, "BitGenerator")
    try:
        for b in prange(B, nogil=True, schedule="dynamic", num_threads=num_threads):
            for h in range(H):
                first = offset[h]
                nh = n_psu[h]
                for k in range(n_draws[h]):
                    p = first + <Py_ssize_t>(rngs[b].next_double(rngs[b].state) * nh)
                    if counts[b, p] == 255:
                        overflow[b] = 1
                    else:
                        counts[b, p] += 1
    finally:
        free(rngs)
    return out, bool(overflowed.any())


def accumulate_refined(const double[:, ::1] mult, const int64_t[::1] row_psu,
                       const int64_t[::1] row_refined, const double[:, ::1] dv,
                       Py_ssize_t n_refined, int num_threads):
    """``S[b, row_refined[i], j] += mult[b, row_psu[i]] * dv[i, j]`` -> (B, n_refined, k).

    ``mult`` (B, P_chunk) are the chunk's PSU multipliers, ``row_psu`` the
    rows' positions in it (rows sorted by it for sequential reads).
    """
    cdef Py_ssize_t B = mult.shape[0], n = row_psu.shape[0], k = dv.shape[1]
    out = np.zeros((B, n_refined, k))
    cdef double[:, :, ::1] S = out
    cdef Py_ssize_t b, i, j
    cdef double coef
    cdef double* dest
    for b in prange(B, nogil=True, schedule="static", num_threads=num_threads):
        for i in range(n):
            coef = mult[b, row_psu[i]]
            dest = &S[b, row_refined[i], 0]
            for j in range(k):
                dest[j] += coef * dv[i, j]
    return out


def accumulate_counts(const uint8_t[:, ::1] counts, const double[::1] base,
                      const double[::1] step, const int64_t[::1] row_psu,
                      const int64_t[::1] row_refined, const double[:, ::1] dv,
                      Py_ssize_t n_refined, int num_threads):
    """``accumulate_refined`` with bootstrap multipliers ``base[p] + step[p] * counts[b, p]``
    formed on the fly (the chunk's counts stay one byte per PSU and replicate)."""
    cdef Py_ssize_t B = counts.shape[0], n = row_psu.shape[0], k = dv.shape[1]
    out = np.zeros((B, n_refined, k))
    cdef double[:, :, ::1] S = out
    cdef Py_ssize_t b, i, j, p
    cdef double coef
    cdef double* dest
    for b in prange(B, nogil=True, schedule="static", num_threads=num_threads):
        for i in range(n):
            p = row_psu[i]
            coef = base[p] + step[p] * counts[b, p]
            dest = &S[b, row_refined[i], 0]
            for j in range(k):
                dest[j] += coef * dv[i, j]
    return out


SOLVE_BUFFERS = ("the calibration multipliers", "the solver's work space",
                 "the convergence history")


def solve_cell_tables(const double[:, ::1] D, CellSystem system, int num_threads):
    """Calibrate every row of ``D`` (B, cells) to the targets of ``system``,
    from its warm start.

    Returns ``g`` (B, cells), ``iterations``, ``error`` (final criterion) and
    ``status`` (B,), each replicate by ``recalibrate_cells``
    (``cext/recalibrate.pxd``), as in ``cext._replicate.solve_replicates``.
    """
    cdef const CellProblem* P = &system.c
    cdef Py_ssize_t B = D.shape[0], C = P.C
    if D.shape[1] != C:
        raise ValueError(f"cext: D has {D.shape[1]} cells, the system {C}")
    g_out = np.empty((B, C))
    iters = np.zeros(B, dtype=np.intc)
    errs = np.empty(B)
    status = np.zeros(B, dtype=np.intc)
    cdef double[:, ::1] G = g_out
    cdef int[::1] it_v = iters, st_v = status
    cdef double[::1] err_v = errs
    cdef Py_ssize_t b
    cdef double* lam
    cdef double* work
    cdef double* errors
    cdef kalib_alloc_failure failure
    failure.what = -1
    if B == 0 or C == 0:
        return g_out, iters, errs, status
    with nogil, parallel(num_threads=num_threads):
        lam = <double*>kalib_alloc(P.p + 1, sizeof(double), 0, &failure)
        work = <double*>kalib_alloc(cell_work_size(P) + 1, sizeof(double), 1, &failure)
        errors = <double*>kalib_alloc(cell_errors_size(P) + 1, sizeof(double), 2, &failure)
        for b in prange(B, schedule="dynamic"):
            if failure.what >= 0:
                continue  # some thread lacks its scratch: the call raises
            st_v[b] = recalibrate_cells(P, &D[b, 0], lam, &G[b, 0], work, errors, &it_v[b],
                                        &err_v[b])
        free(lam)
        free(work)
        free(errors)
    if failure.what >= 0:
        raise alloc_error(&failure, "re-calibration of the cell tables", SOLVE_BUFFERS)
    return g_out, iters, errs, status
