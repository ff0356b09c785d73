# cython: language_level=3
"""The kernels' structured arguments (``cext/_args.pyx``), for ``cimport``."""
from libc.stdint cimport int64_t, uint64_t

from cext.recalibrate cimport CellProblem


cdef struct Multipliers:
    int method                  # 0 bootstrap, 1 jackknife
    Py_ssize_t P, H             # PSUs, strata
    const uint64_t* seeds       # (B, 4) bootstrap: PCG64 seed words of every replicate
    const int64_t* n_psu        # (H,)
    const int64_t* offset       # (H,) first PSU of each stratum
    const int64_t* n_draws      # (H,) bootstrap draws per stratum
    const double* base          # (P,) bootstrap: 1 - a_h
    const double* step          # (P,) bootstrap: a_h n_h / (n_h - 1)
    const int64_t* jk_psu       # (B,) jackknife: deleted PSU
    const double* jk_factor     # (B,) jackknife: n_h / (n_h - 1)
    const int64_t* psu_stratum  # (P,)
    int count_bytes             # width of a bootstrap count that cannot overflow: 1, 2, 4


cdef class ReplicatePlan:
    cdef Multipliers m
    cdef const int64_t* psu_ptr  # rows sorted by PSU: PSU p owns rows psu_ptr[p] ..
    #                              psu_ptr[p + 1]; NULL: row p is PSU p
    cdef readonly Py_ssize_t B
    cdef readonly tuple args     # the constructor's arguments (kept alive; pickling)


cdef class CellSystem:
    cdef CellProblem c
    cdef readonly tuple args
