# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The kernels' structured arguments, checked once when they are made.

A kernel call passes one of these instead of a score of arrays:
:class:`ReplicatePlan` (how replicate b's PSU multipliers are made, and the
rows' PSU layout) and :class:`CellSystem` (a calibration on a cell table:
design, targets, distance, bounds, warm start, IPF layout, stopping rule).
They are built by ``weighting`` (``weighting._backend``) from its validated
structures; the constructors check the dtypes, contiguity (typed memoryviews)
and shapes, so that the kernels, which read raw pointers, can trust them.
Both pickle (by their constructor's arguments), for Dask's processes.
"""
from libc.stdint cimport int32_t, int64_t, uint64_t


cdef inline void _need(bint ok, str what) except *:
    if not ok:
        raise ValueError(f"cext: {what}")


cdef class ReplicatePlan:
    """Replicate multipliers of B replicates (see ``weighting.replicates.Plan``).

    Parameters
    ----------
    method : int
        0 bootstrap, 1 jackknife.
    seeds : uint64 (B, 4) (bootstrap; (0, 4) otherwise)
    n_psu, offset, n_draws : int64 (H,)
    base, step : float64 (P,)
    jk_psu : int64 (B,), jk_factor : float64 (B,) (jackknife; empty otherwise)
    psu_stratum : int64 (P,)
    B : int
    psu_ptr : int64 (P + 1,) or (0,)
        Rows sorted by PSU, PSU p owning rows ``psu_ptr[p] .. psu_ptr[p + 1]``;
        empty when row p is PSU p (``weighting.replicates.PsuRows``).
    """

    def __init__(self, int method, const uint64_t[:, ::1] seeds, const int64_t[::1] n_psu,
                 const int64_t[::1] offset, const int64_t[::1] n_draws,
                 const double[::1] base, const double[::1] step,
                 const int64_t[::1] jk_psu, const double[::1] jk_factor,
                 const int64_t[::1] psu_stratum, Py_ssize_t B, const int64_t[::1] psu_ptr):
        cdef Py_ssize_t H = n_psu.shape[0], P = psu_stratum.shape[0], h
        cdef int64_t most = 0
        _need(method in (0, 1), f"method {method} is neither 0 (bootstrap) nor 1 (jackknife)")
        _need(offset.shape[0] == H and n_draws.shape[0] == H and H > 0,
              "n_psu, offset, n_draws must have one entry per stratum")
        _need(base.shape[0] == P and step.shape[0] == P and P > 0,
              "base, step must have one entry per PSU")
        if method == 0:
            _need(seeds.shape[0] == B and seeds.shape[1] == 4, "seeds must be (B, 4)")
        else:
            _need(jk_psu.shape[0] == B and jk_factor.shape[0] == B,
                  "jk_psu, jk_factor must have one entry per replicate")
        _need(psu_ptr.shape[0] in (0, P + 1), "psu_ptr must be empty or (P + 1,)")
        self.args = (method, seeds.base, n_psu.base, offset.base, n_draws.base, base.base,
                     step.base, jk_psu.base, jk_factor.base, psu_stratum.base, B,
                     psu_ptr.base)
        self.B = B
        self.m.method = method
        self.m.P = P
        self.m.H = H
        self.m.seeds = &seeds[0, 0] if seeds.shape[0] else NULL
        self.m.n_psu = &n_psu[0]
        self.m.offset = &offset[0]
        self.m.n_draws = &n_draws[0]
        self.m.base = &base[0]
        self.m.step = &step[0]
        self.m.jk_psu = &jk_psu[0] if jk_psu.shape[0] else NULL
        self.m.jk_factor = &jk_factor[0] if jk_factor.shape[0] else NULL
        self.m.psu_stratum = &psu_stratum[0]
        self.psu_ptr = &psu_ptr[0] if psu_ptr.shape[0] else NULL
        # A PSU is drawn at most n_draws[h] times: the narrowest count type that
        # holds that never wraps (narrow counts: less memory under the scatter).
        for h in range(H):
            if method == 0 and n_draws[h] > most:
                most = n_draws[h]
        self.m.count_bytes = 1 if most < 256 else (2 if most < 65536 else 4)

    def __reduce__(self):
        return ReplicatePlan, self.args


cdef class CellSystem:
    """A calibration on a table of C units (cells) with p independent and q
    criterion constraints (``weighting.problem.CellTable``).

    Parameters
    ----------
    X : float64 (C, p), t : (p,), Xfull : (C, q), tfull : (q,)
    distance : int
        ``weighting.contract.Distance``.
    lower, upper : float
        Bounds on g (the distance's own limits when unbounded).
    lam0 : float64 (p,)
        The start (warm start of replicates).
    tol : float
    max_iter : int
    sparse : (x_ptr, x_idx, f_ptr, f_idx) int64, or None
        X and Xfull (both 0/1) as per-unit lists of their columns holding a 1
        (``newton_solve`` then skips the zeros: the same steps).
    ipf : (g0 (C,), cat int32 (C, K), first int64 (K + 1,), to_lambda (p, q), sweeps), or None
        Rake by IPF from g0 first, at most ``sweeps`` sweeps
        (``weighting.ipf.IpfStart``).
    """

    def __init__(self, const double[:, ::1] X, const double[::1] t,
                 const double[:, ::1] Xfull, const double[::1] tfull, int distance,
                 double lower, double upper, const double[::1] lam0, double tol,
                 int max_iter, sparse=None, ipf=None):
        cdef Py_ssize_t C = X.shape[0], p = X.shape[1], q = Xfull.shape[1]
        cdef const int64_t[::1] x_ptr, x_idx, f_ptr, f_idx, first
        cdef const double[::1] g0
        cdef const int32_t[:, ::1] cat
        cdef const double[:, ::1] to_lambda
        _need(t.shape[0] == p and lam0.shape[0] == p, "t and lam0 must have X's columns")
        _need(Xfull.shape[0] == C and tfull.shape[0] == q, "Xfull, tfull do not match X")
        _need(distance in (0, 1, 2), f"unknown distance code {distance}")
        _need(max_iter >= 0, "max_iter must be >= 0")
        self.c.C, self.c.p, self.c.q = C, p, q
        self.c.X = &X[0, 0] if C and p else NULL
        self.c.t = &t[0] if p else NULL
        self.c.Xfull = &Xfull[0, 0] if C and q else NULL
        self.c.tfull = &tfull[0] if q else NULL
        self.c.distance = distance
        self.c.lower = lower
        self.c.upper = upper
        self.c.lam0 = &lam0[0] if p else NULL
        self.c.tol = tol
        self.c.max_iter = max_iter
        self.c.sparse = sparse is not None
        if sparse is not None:
            x_ptr, x_idx, f_ptr, f_idx = sparse
            _need(x_ptr.shape[0] == C + 1 and f_ptr.shape[0] == C + 1,
                  "sparse pointers must be (C + 1,)")
            _need(x_ptr[C] == x_idx.shape[0] and f_ptr[C] == f_idx.shape[0],
                  "sparse pointers must end at their index lists' length")
            self.c.lists.x_ptr = &x_ptr[0]
            self.c.lists.x_idx = &x_idx[0] if x_idx.shape[0] else NULL
            self.c.lists.f_ptr = &f_ptr[0]
            self.c.lists.f_idx = &f_idx[0] if f_idx.shape[0] else NULL
            sparse = (x_ptr.base, x_idx.base, f_ptr.base, f_idx.base)
        self.c.ipf.sweeps = 0
        self.c.ipf.K = 0
        if ipf is not None:
            g0, cat, first, to_lambda, sweeps = ipf
            _need(g0.shape[0] == C and cat.shape[0] == C and first.shape[0] == cat.shape[1] + 1
                  and to_lambda.shape[0] == p and to_lambda.shape[1] == q and sweeps > 0
                  and C > 0, "the IPF layout does not match the cell table")
            self.c.ipf.sweeps = sweeps
            self.c.ipf.K = cat.shape[1]
            self.c.ipf.cat = &cat[0, 0]
            self.c.ipf.first = &first[0]
            self.c.ipf.g0 = &g0[0]
            self.c.ipf.to_lambda = &to_lambda[0, 0] if p and q else NULL
            ipf = (g0.base, cat.base, first.base, to_lambda.base, sweeps)
        self.args = (X.base, t.base, Xfull.base, tfull.base, distance, lower, upper,
                     lam0.base, tol, max_iter, sparse, ipf)

    def __reduce__(self):
        return CellSystem, self.args
