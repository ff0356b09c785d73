r"""Replicate weights re-calibrated per replicate: bootstrap, JKn, JK1, BRR, Fay.

Replicate b multiplies the base weight of every unit of PSU p by a multiplier
:math:`m_{pb}`; if the design is calibrated, the replicate base weights
:math:`d_i m_{p(i)b}` are then re-calibrated with the full-sample spec (same
margins, distance, bounds, trimming, tolerance), warm-started at the
full-sample solution, on the table of calibration cells: a replicate needs
only its cell totals :math:`D_{bc} = \sum_{i \in c} d_i m_{p(i)b}`. The
replicate weight is :math:`w_{ib} = d_i m_{p(i)b} g_{b,c(i)}`; only the
(B × cells) g-factors are stored, never the n × B matrix.

Methods
-------
bootstrap
    Rao–Wu–Yue rescaling bootstrap with :math:`m_h = n_h - 1` draws with
    replacement among the :math:`n_h` PSUs of stratum h (R's
    ``subbootweights``): :math:`m_{pb} = 1 - a_h + a_h \frac{n_h}{n_h - 1} r_{pb}`
    with :math:`r_{pb}` the times PSU p is drawn and :math:`a_h = 1` — or,
    with a finite-population correction, :math:`a_h = \sqrt{1 - f_h}` (Rao &
    Wu 1988), so that a take-all stratum (:math:`f_h = 1`) has multiplier 1
    in every replicate and contributes no variance. ``scale = 1/(B - 1)``,
    ``rscales = 1``.
jkn
    Delete one PSU within its stratum, the stratum's other PSUs get
    :math:`n_h/(n_h - 1)`; one replicate per PSU of every stratum with at least
    two PSUs and :math:`f_h < 1` (R drops take-all strata), ``scale = 1``,
    ``rscales = (1 - f_h)(n_h - 1)/n_h`` (R's ``jknweights``). Lonely
    strata (one PSU) have no replicate; under ``lonely_psu="average"`` the
    scale is ``P/B`` (PSUs over replicates) whenever some PSU has no
    replicate, lonely or take-all (R's rule: a take-all stratum alone sets
    it too), and ``"adjust"`` is refused: R's replicate for a lonely PSU
    rescales every other PSU of the sample, which these plans do not make.
jk1
    Unstratified delete-one-PSU jackknife, ``scale = (1 - f)(n - 1)/n``,
    ``rscales = 1`` (R's ``jk1weights``); a stratified design is refused as R
    does (use jkn).
brr, fay
    Balanced repeated replication for two PSUs per stratum (McCarthy 1969),
    and Fay's variant (Judkins 1990): with the Hadamard matrix
    ``weighting.hadamard.hadamard(H)`` of order B > H (R's choice), the
    stratum whose label is k-th in text order gets row k + 1 (R sorts the
    labels as character strings: "10" before "2"), and in replicate b the
    PSU of the stratum that comes first in the data gets
    :math:`m = 2 - \rho` where the row has a 1 in column b and :math:`\rho`
    where it has a 0, the other PSU :math:`2 - m`; :math:`\rho = 0` for BRR
    (half-samples: 2 and 0), ``fay_rho`` in [0, 1) for Fay (0.5: 1.5 and
    0.5). ``scale = 1/(B (1 - rho)^2)``, ``rscales = 1``, ``degf`` = the
    number of strata (the rank of the replicate weights minus one), as R's
    ``as.svrepdesign(type = "BRR" | "Fay")``. A stratum with other than two
    PSUs is an error naming it; ``collapse_strata=True`` pairs one-PSU
    strata, adjacent in stratum order, into pseudo-strata of two PSUs (the
    collapsed-stratum estimator, Wolter 2007 §2.5): its variance includes the
    difference between the paired strata and so overstates the variance on
    average. R's own remedies differ (``brrweights(small = "merge")``, and
    ``large = "split"`` for even strata of more than two PSUs, which kalib
    leaves to the user's strata). BRR has no finite-population correction:
    R drops the fpc with a warning, kalib refuses a design with one.

RNG contract
------------
Replicate b (0-based) uses ``Generator(PCG64(SeedSequence(seed).spawn(B)[b]))``
and draws ``u = gen.random(sum_h m_h)``: stratum by stratum in code order, PSU
``floor(u * n_h)`` (in sorted PSU order) of stratum h per draw. The compiled
kernel seeds the same PCG64 from :func:`child_seed_words` and reproduces the
draws bit for bit whatever the thread count; :func:`bootstrap_counts` is the
numpy reference.

Degrees of freedom
------------------
R's rule for replicate designs is the rank of the replicate weights minus one.
For the jackknives that is PSUs minus strata (over the strata that have
replicates); for the bootstrap, whose multipliers satisfy one linear
constraint per stratum, ``min(B, P' - H' + 1) - 1`` with P', H' the PSUs and
strata whose multipliers vary.

References
----------
Rao, J. N. K. and Wu, C. F. J. (1988). Resampling inference with complex
survey data. JASA 83, 231-241.
Rao, J. N. K., Wu, C. F. J. and Yue, K. (1992). Some recent work on resampling
methods for complex surveys. Survey Methodology 18, 209-217.
Wolter, K. M. (2007). Introduction to Variance Estimation, 2nd ed., ch. 3-4.
McCarthy, P. J. (1969). Pseudo-replication: half samples. Rev. Int. Stat.
Inst. 37, 239-264.
Judkins, D. R. (1990). Fay's method for variance estimation. J. Official
Statistics 6, 223-239.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from weighting import _backend
from weighting.columns import dense_range
from weighting.contract import Status
from weighting.errors import DesignError, InfeasibleBoundsError, KalibError, ReplicateError, shown
from weighting.hadamard import hadamard
from weighting.ipf import IPF_SWEEPS, IpfStart, ipf_lambda, ipf_layout, ipf_solve, lambda_map
from weighting.problem import CellTable
from weighting.protocols import PsuStructure
from weighting.spec import CalibrationSpec

Arr = NDArray[np.float64]
Codes = NDArray[np.int64]
_U32 = NDArray[np.uint32]

METHODS = ("bootstrap", "jkn", "jk1", "brr", "fay")
BOOTSTRAP, JACKKNIFE, BALANCED = 0, 1, 2

# numpy SeedSequence constants (O'Neill's seed_seq_fe hash, as numpy implements it).
_INIT_A, _MULT_A = 0x43B0D7E5, 0x931E8875
_INIT_B, _MULT_B = 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R = 0xCA01F9DD, 0x4973F715
_POOL = 4


def _words32(value: int) -> list[int]:
    words = []
    while True:
        words.append(value & 0xFFFFFFFF)
        value >>= 32
        if not value:
            return words


def checked_seed(seed: object) -> int:
    """``seed`` as an int; anything but a non-negative integer is an error.

    ``SeedSequence`` takes any non-negative integer (Python's or numpy's). A
    float, a bool or a text is refused with its value named instead of being
    truncated (``int(1.5)`` would silently be seed 1) or parsed.
    """
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise KalibError(f"seed must be a non-negative integer, got {shown(seed)}")
    return int(seed)


def child_seed_words(seed: int, B: int) -> np.ndarray:
    """``SeedSequence(seed).spawn(B)[b].generate_state(4, uint64)`` for every b.

    Vectorised over b (uint32 arithmetic wraps as in numpy's implementation);
    the PCG64 of replicate b is seeded from row b. Equality with numpy is
    tested for every b.
    """
    seed = checked_seed(seed)
    if not 0 <= B < 2**32:
        raise KalibError(f"the number of replicates must be below 2**32, got {B}")
    run = _words32(seed)
    run += [0] * max(0, _POOL - len(run))  # numpy pads the seed when spawning
    entropy = [np.full(B, w, dtype=np.uint32) for w in run] + [
        np.arange(B, dtype=np.uint32)
    ]  # the spawn key (b,)
    words: NDArray[np.uint64] = _generate_state(_mix_entropy(entropy))
    return words


def _mix_entropy(entropy: list[_U32]) -> list[_U32]:
    u32 = np.uint32
    hash_const = [u32(_INIT_A)]

    def hashmix(value: _U32) -> _U32:
        value = value ^ hash_const[0]
        hash_const[0] = u32(hash_const[0] * u32(_MULT_A))
        value = value * hash_const[0]
        hashed: _U32 = value ^ (value >> u32(16))
        return hashed

    def mix(x: _U32, y: _U32) -> _U32:
        result = u32(_MIX_L) * x - u32(_MIX_R) * y
        mixed: _U32 = result ^ (result >> u32(16))
        return mixed

    with np.errstate(over="ignore"):
        zero = np.zeros_like(entropy[0])
        mixer = [hashmix(entropy[i] if i < len(entropy) else zero) for i in range(_POOL)]
        for src in range(_POOL):
            for dst in range(_POOL):
                if src != dst:
                    mixer[dst] = mix(mixer[dst], hashmix(mixer[src]))
        for src in range(_POOL, len(entropy)):
            for dst in range(_POOL):
                mixer[dst] = mix(mixer[dst], hashmix(entropy[src]))
    return mixer


def _generate_state(pool: list[_U32]) -> NDArray[np.uint64]:
    u32 = np.uint32
    hash_const = u32(_INIT_B)
    words = []
    with np.errstate(over="ignore"):
        for i in range(2 * _POOL):
            value = pool[i % _POOL] ^ hash_const
            hash_const = u32(hash_const * u32(_MULT_B))
            value = value * hash_const
            words.append((value ^ (value >> u32(16))).astype(np.uint64))
    return np.column_stack(
        [words[2 * k] | (words[2 * k + 1] << np.uint64(32)) for k in range(_POOL)]
    )


def bootstrap_counts(
    seed: int, B: int, n_psu: ArrayLike, n_draws: ArrayLike, b: int | None = None
) -> Codes:
    """Times each PSU is drawn, by numpy's generators (the RNG contract).

    Returns (B, P) counts, or (P,) for a single replicate ``b``.
    """
    n_psu = np.asarray(n_psu, dtype=np.int64)
    n_draws = np.asarray(n_draws, dtype=np.int64)
    offset = np.concatenate([[0], np.cumsum(n_psu)[:-1]])
    stratum_of_draw = np.repeat(np.arange(len(n_psu)), n_draws)
    which = range(B) if b is None else [b]
    out = np.zeros((len(which), int(n_psu.sum())), dtype=np.int64)
    for row, k in enumerate(which):
        # SeedSequence(seed).spawn(B)[k] is SeedSequence(seed, spawn_key=(k,)): made
        # directly, so that one replicate does not cost B spawns.
        child = np.random.SeedSequence(seed, spawn_key=(k,))
        u = np.random.Generator(np.random.PCG64(child)).random(int(n_draws.sum()))
        psu = offset[stratum_of_draw] + np.floor(u * n_psu[stratum_of_draw]).astype(np.int64)
        out[row] = np.bincount(psu, minlength=out.shape[1])
    return out if b is None else out[0]


class _Sums:
    """Sums by combination of a plan's multipliers times row values (numpy)."""

    def multipliers(self, b: int) -> Arr:
        raise NotImplementedError  # Plan and BalancedPlan define it

    def sums(self, b: int, rows: PsuRows, combo: ArrayLike, values: Arr, K: int) -> Arr:
        """``S[c, j] = sum_{i: combo_i = c} m_{p(i)b} values[i, j]`` (K, k), in numpy.

        ``combo`` and ``values`` are in PSU order (``rows.sort``), as the
        kernels read them; the sums are theirs bit for bit (same products,
        added in the same order).
        """
        return _bincount_columns(combo, self.multipliers(b)[rows.psu][:, None] * values, K)


@dataclass(frozen=True)
class Plan(_Sums):
    """How replicate multipliers are made (the kernels' multiplier spec)."""

    method: int
    B: int
    seed: int | None
    seeds: np.ndarray  # (B, 4) uint64 (bootstrap) or (0, 4)
    n_psu: np.ndarray  # (H,)
    offset: np.ndarray  # (H,) first PSU of each stratum
    n_draws: np.ndarray  # (H,) bootstrap draws per stratum
    base: np.ndarray  # (P,) bootstrap: 1 - a_h
    step: np.ndarray  # (P,) bootstrap: a_h n_h / (n_h - 1)
    jk_psu: np.ndarray  # (B,) jackknife: deleted PSU
    jk_factor: np.ndarray  # (B,) jackknife: n_h / (n_h - 1)
    psu_stratum: np.ndarray  # (P,)

    def for_kernels(self, kernels: Any, rows: PsuRows | None = None) -> Any:
        """The plan as the kernels' ``ReplicatePlan`` (``kernels``:
        ``weighting._backend.KERNELS``), over ``rows`` in PSU order (default:
        one row per PSU, or rows not read in PSU order)."""
        psu_ptr = np.zeros(0, np.int64) if rows is None else rows.kernel_ptr
        return kernels.args.ReplicatePlan(
            self.method,
            self.seeds,
            self.n_psu,
            self.offset,
            self.n_draws,
            self.base,
            self.step,
            self.jk_psu,
            self.jk_factor,
            self.psu_stratum,
            self.B,
            psu_ptr,
        )

    def multipliers(self, b: int) -> np.ndarray:
        """(P,) multipliers of replicate b, in numpy (the reference)."""
        if self.method == BOOTSTRAP:
            assert self.seed is not None  # a bootstrap plan has its seed
            counts = bootstrap_counts(self.seed, self.B, self.n_psu, self.n_draws, b)
            drawn: Arr = self.base + self.step * counts
            return drawn
        mult = np.ones(len(self.psu_stratum))
        h = self.psu_stratum[self.jk_psu[b]]
        mult[self.offset[h] : self.offset[h] + self.n_psu[h]] = self.jk_factor[b]
        mult[self.jk_psu[b]] = 0.0
        return mult

    @property
    def options(self) -> dict[str, Any]:
        """The ``make_replicates`` keywords that remake this plan (none)."""
        return {}


@dataclass(frozen=True)
class BalancedPlan(_Sums):
    """BRR or Fay: replicate b's PSU multipliers are row b of a fixed table.

    The fused kernels draw bootstrap counts or delete one PSU; a balanced
    replicate changes every stratum at once, so its sums are made from the
    table (:func:`balanced_sums`: a kernel pass over rows grouped by PSU and
    combination, or numpy), and re-calibration solves the replicates' cell
    totals with the same kernel (or numpy) solver as the other methods.
    """

    B: int
    table: np.ndarray  # (B, P) multipliers
    psu_stratum: np.ndarray  # (P,)
    fay_rho: float
    collapse_strata: bool
    method = BALANCED
    seed = None

    def multipliers(self, b: int) -> Arr:
        """(P,) multipliers of replicate b."""
        row: Arr = self.table[b]
        return row

    @property
    def options(self) -> dict[str, Any]:
        """The ``make_replicates`` keywords that remake this plan."""
        return {"fay_rho": self.fay_rho, "collapse_strata": self.collapse_strata}


class PsuRows:
    """Rows sorted by PSU, as the kernels and :meth:`Plan.sums` read them.

    ``sort(array)`` puts row arrays in PSU order (stable: row order within a
    PSU); PSU p then owns sorted rows ``kernel_ptr[p] .. kernel_ptr[p + 1]``,
    or, with ``kernel_ptr`` empty, every PSU is one row (sorted row i is PSU i).
    """

    def __init__(self, psu: ArrayLike, P: int) -> None:
        psu = np.ascontiguousarray(psu, dtype=np.int64)
        sizes = np.bincount(psu, minlength=P)
        one_row_each = bool(np.all(sizes == 1))
        self.order: NDArray[np.intp] | None = None  # None: in PSU order already
        if psu.size >= 2 and np.any(psu[1:] < psu[:-1]):
            if one_row_each:  # the order is the inverse permutation
                self.order = np.empty(psu.size, np.intp)
                self.order[psu] = np.arange(psu.size)
            else:
                self.order = np.argsort(psu, kind="stable")
        self.psu = self.sort(psu)
        self.kernel_ptr = np.zeros(0 if one_row_each else P + 1, np.int64)
        if self.kernel_ptr.size:
            np.cumsum(sizes, out=self.kernel_ptr[1:])

    def sort(self, array: NDArray[Any]) -> NDArray[Any]:
        """``array`` (rows first) in PSU order, C-contiguous."""
        return np.ascontiguousarray(array if self.order is None else array[self.order])


KEEP_DRAWS_BYTES = 2**27
"""Bootstrap counts are kept between the kernels' passes (:class:`KeptDraws`,
one byte per PSU and replicate) up to this size: at n = 1e5 PSUs and B = 1000
(100 MB) they are kept, at n = 1e6 and B = 500 (500 MB) every pass draws them
again, so that the peak memory stays under issue 14's 1 GB."""


@dataclass(frozen=True, eq=False)  # compared by identity: its fields are arrays and a lock
class KeptDraws:
    """A bootstrap plan's counts, drawn by the first kernel pass that needs
    them and read by the later ones (the re-calibration's and every totals
    pass draw the same counts: reading them is cheaper than drawing them).

    ``counts`` (B, P) uint8 and ``drawn`` (B,) uint8, zeros until a kernel
    fills them (``cext/_replicate.pyx``: ``_block_sums``); ``np.zeros``
    takes the memory from the system as the kernels first write it. ``lock``
    is held by a kernel call that reads or fills them (:func:`_kept_args`).
    """

    counts: NDArray[np.uint8]
    drawn: NDArray[np.uint8]
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def for_plan(cls, plan: Plan | BalancedPlan) -> KeptDraws | None:
        """Room for the counts of a bootstrap ``plan``, or None (another
        method, or counts over :data:`KEEP_DRAWS_BYTES`)."""
        P = len(plan.psu_stratum)
        if not isinstance(plan, Plan) or plan.method != BOOTSTRAP or plan.B * P > KEEP_DRAWS_BYTES:
            return None
        return cls(np.zeros((plan.B, P), np.uint8), np.zeros(plan.B, np.uint8))


@contextmanager
def _kept_args(kept: KeptDraws | None) -> Iterator[tuple[Any, Any]]:
    """The kernels' ``kept``, ``drawn`` arguments, for one kernel call: two
    threads filling the same counts at once would add into each other's draws."""
    if kept is None:
        yield None, None
        return
    with kept.lock:
        yield kept.counts, kept.drawn


def _bincount_columns(codes: ArrayLike, values: Arr, K: int) -> Arr:
    """``out[c, j] = sum_{i: codes_i = c} values[i, j]``, summed in row order."""
    out = np.zeros((K, values.shape[1]))
    for j in range(values.shape[1]):
        out[:, j] = np.bincount(codes, values[:, j], minlength=K)
    return out


def _offsets(n_psu: Codes) -> Codes:
    return np.concatenate([[0], np.cumsum(n_psu)[:-1]]).astype(np.int64)


def bootstrap_plan(design: PsuStructure, B: int, seed: int) -> tuple[Plan, float, Arr, int]:
    """Rao–Wu–Yue rescaling bootstrap of ``design``'s strata and PSUs: (plan,
    scale, rscales, degf)."""
    if B < 2:
        raise KalibError(f"the bootstrap needs at least 2 replicates, got {B}")
    seed = checked_seed(seed)
    n_h = design.n_psu.astype(np.int64)
    n_draws = np.where(design.certainty, 0, n_h - 1)
    # a_h = 0 where nothing is drawn (certainty strata): multiplier 1.
    a = np.where(n_draws > 0, np.sqrt(1.0 - design.sampling_fraction), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        step_h = np.where(n_h > 1, a * n_h / (n_h - 1), 0.0)
    varying = (n_draws > 0) & (a > 0)
    if not varying.any():
        raise DesignError(
            "no stratum has sampling variance (every stratum is take-all "
            "or a certainty stratum): nothing to replicate"
        )
    stratum = design.psu_stratum
    plan = Plan(
        BOOTSTRAP,
        B,
        seed,
        child_seed_words(seed, B),
        n_h,
        _offsets(n_h),
        n_draws,
        (1.0 - a)[stratum],
        step_h[stratum],
        np.zeros(0, np.int64),
        np.zeros(0),
        np.ascontiguousarray(stratum, dtype=np.int64),
    )
    rank = min(B, int(n_h[varying].sum() - varying.sum() + 1))
    return plan, 1.0 / (B - 1), np.ones(B), rank - 1


def jackknife_plan(design: PsuStructure, stratified: bool) -> tuple[Plan, float, Arr, int]:
    """JKn (stratified) or JK1 of ``design``'s strata and PSUs: (plan, scale,
    rscales, degf)."""
    n_h = design.n_psu.astype(np.int64)
    f = design.sampling_fraction
    if not stratified:
        if design.n_strata > 1:
            raise DesignError(
                f"JK1 is for unstratified designs; this one has "
                f"{design.n_strata} strata (use method 'jkn')"
            )
        if n_h[0] < 2 or f[0] >= 1:
            raise DesignError("JK1 needs at least two PSUs and a sampling fraction below 1")
        keep = np.ones(1, bool)
    else:
        keep = (n_h > 1) & (f < 1) & ~design.certainty
        if not keep.any():
            raise DesignError(
                "no stratum has two PSUs and a sampling fraction below 1: nothing to replicate"
            )
        _refuse_jkn_adjust(design)
    stratum = design.psu_stratum
    deleted = np.flatnonzero(keep[stratum]).astype(np.int64)
    h = stratum[deleted]
    factor = n_h[h] / (n_h[h] - 1.0)
    B = len(deleted)
    P = len(stratum)
    plan = Plan(
        JACKKNIFE,
        B,
        None,
        np.zeros((0, 4), np.uint64),
        n_h,
        _offsets(n_h),
        np.zeros(len(n_h), np.int64),
        np.zeros(P),
        np.zeros(P),
        deleted,
        factor,
        np.ascontiguousarray(stratum, dtype=np.int64),
    )
    if stratified:
        scale, rscales = 1.0, (1.0 - f[h]) * (n_h[h] - 1.0) / n_h[h]
        if getattr(design, "lonely_psu", None) == "average" and B < P:
            # R's jknweights: whenever a PSU has no replicate (lonely or
            # take-all), the replicates stand in for every PSU
            scale = P / B
    else:
        scale, rscales = (1.0 - f[0]) * (B - 1.0) / B, np.ones(B)
    degf = int(n_h[keep].sum() - keep.sum())
    return plan, scale, rscales, degf


def _refuse_jkn_adjust(design: PsuStructure) -> None:
    """JKn under ``lonely_psu="adjust"`` with a lonely stratum: R's
    ``jknweights`` gives each lonely PSU a replicate that deletes it and
    multiplies every other PSU of the sample by ``H/(H - 1)``, which is no
    stratum's jackknife and which these plans do not make; refused rather
    than silently treated as ``"certainty"``."""
    if getattr(design, "lonely_psu", None) != "adjust" or not design.certainty.any():
        return
    labels = getattr(design, "strata_labels", None)
    lonely = np.flatnonzero(design.certainty)
    names = ", ".join(str(labels[h] if labels is not None else h) for h in lonely[:5])
    raise DesignError(
        f"jkn with lonely_psu='adjust': {lonely.size} stratum/strata with a single PSU "
        f"({names}); R's as.svrepdesign adds a replicate per lonely PSU that rescales "
        f"every other PSU of the sample, which kalib does not make",
        option="lonely_psu",
        remedy="choose lonely_psu='certainty' (no replicate for them), 'average' "
        "(R's scale P/B) or a mapping {lonely: neighbour} to merge",
    )


def balanced_plan(
    design: Any, fay_rho: float, collapse_strata: bool = False
) -> tuple[BalancedPlan, float, Arr, int]:
    """BRR (``fay_rho`` 0) or Fay replicates of ``design`` (a ``Design``: its
    strata, PSUs and rows' PSUs): (plan, scale, rscales, degf).

    See the module docstring (the Hadamard row of each stratum, the first
    PSU of a stratum, ``collapse_strata``).
    """
    rho = fay_rho_value(fay_rho)
    if design.fpc is not None:
        raise DesignError(
            "BRR and Fay's method have no finite-population correction "
            "(R's as.svrepdesign drops it with a warning): give the design "
            "without fpc"
        )
    first, second, labels = _psu_pairs(design, collapse_strata)
    H = hadamard(len(labels))
    B = H.shape[0]
    # Hadamard row k + 1 for the k-th stratum in text order of the labels (R's).
    rank = np.empty(len(labels), np.int64)
    rank[sorted(range(len(labels)), key=labels.__getitem__)] = np.arange(len(labels))
    high = np.where(H[1 + rank] == 1, 2.0 - rho, rho)  # (pairs, B): first PSU's
    table = np.empty((B, design.n_psus))
    table[:, first] = high.T
    table[:, second] = 2.0 - high.T
    table.flags.writeable = False
    plan = BalancedPlan(
        B, table, np.ascontiguousarray(design.psu_stratum, np.int64), rho, bool(collapse_strata)
    )
    return plan, 1.0 / (B * (1.0 - rho) ** 2), np.ones(B), len(labels)


def fay_rho_value(fay_rho: object) -> float:
    """``fay_rho`` as a float, checked to lie in [0, 1) (1 would leave a PSU
    out of every replicate's half and its partner in twice: no variance)."""
    if not (
        isinstance(fay_rho, (int, float, np.floating))
        and not isinstance(fay_rho, bool)
        and 0.0 <= fay_rho < 1.0
    ):
        raise KalibError(f"fay_rho must be a number in [0, 1), got {shown(fay_rho)}")
    return float(fay_rho)


def _psu_pairs(design: Any, collapse_strata: bool) -> tuple[Codes, Codes, list[str]]:
    """The two PSUs of every (pseudo-)stratum: first PSU (in data order), second
    PSU (global codes) and the stratum label, strata in code order; one-PSU
    strata paired in code order when ``collapse_strata`` (a pair is labelled
    by its first stratum)."""
    n_psu, labels = design.n_psu, design.strata_labels
    offset = _offsets(n_psu)
    large = np.flatnonzero(n_psu > 2)
    single = np.flatnonzero(n_psu == 1)
    if large.size:
        h = int(large[0])
        raise DesignError(
            f"BRR needs two PSUs in every stratum: stratum {labels[h]!r} has {n_psu[h]} "
            f"PSUs ({large.size} stratum/strata with more than two); group its PSUs into "
            f"two variance units, or its PSUs into strata of two"
        )
    if single.size and not collapse_strata:
        names = [labels[h] for h in single[:5]]
        raise DesignError(
            f"BRR needs two PSUs in every stratum: {single.size} stratum/strata "
            f"with one PSU: {', '.join(map(str, names))}",
            option="collapse_strata",
            remedy="pass collapse_strata=True to pair them, adjacent in stratum "
            "order (the collapsed-stratum variance)",
        )
    if single.size % 2:
        last = labels[single[-1]]
        raise DesignError(
            f"collapse_strata pairs one-PSU strata, and there is an odd number "
            f"of them ({single.size}): stratum {last!r} has no partner",
            option="lonely_psu",
            remedy=f"merge it into a neighbour: lonely_psu={{{last!r}: ...}}",
        )
    pairs = np.flatnonzero(n_psu == 2)
    # (first candidate, second candidate, label stratum), strata in code order
    a = np.concatenate([offset[pairs], offset[single[0::2]]])
    b = np.concatenate([offset[pairs] + 1, offset[single[1::2]]])
    stratum = np.concatenate([pairs, single[0::2]])
    keep = np.argsort(stratum, kind="stable")
    a, b, stratum = a[keep], b[keep], stratum[keep]
    # "first" is the PSU appearing first in the data (R's brrweights)
    first_row = np.full(design.n_psus, design.n, np.int64)
    np.minimum.at(first_row, design.psu, np.arange(design.n))
    a_first = first_row[a] < first_row[b]
    return (np.where(a_first, a, b), np.where(a_first, b, a), [labels[h] for h in stratum])


def balanced_sums(
    plan: BalancedPlan, kernels: Any, psu: ArrayLike, combo: ArrayLike, values: ArrayLike, K: int
) -> Arr:
    """``S[b, c, j] = sum_{i: combo_i = c} m_{p(i)b} values[i, j]`` (B, K, k) of a
    balanced plan by the kernels (``kernels``: ``weighting._backend.KERNELS``):
    rows summed by (PSU, combination) first, then weighted by every
    replicate's multipliers in one pass (``accumulate_refined``). The numpy
    reference is :meth:`BalancedPlan.sums`, replicate by replicate."""
    key = np.asarray(psu, np.int64) * K + np.asarray(combo, np.int64)
    keys, pair = np.unique(key, return_inverse=True)
    T = _bincount_columns(pair.reshape(-1), np.asarray(values, np.float64), len(keys))
    sums: Arr = kernels.chunked.accumulate_refined(
        np.ascontiguousarray(plan.table), keys // K, keys % K, T, K, 0
    )
    return sums


@dataclass(frozen=True)
class Convergence:
    """Per-replicate convergence record (one entry per replicate)."""

    iterations: np.ndarray  # (B,) IPF sweeps, then Newton steps if IPF did not converge
    error: np.ndarray  # (B,) final criterion (max relative margin error)
    converged: np.ndarray  # (B,) bool
    status: np.ndarray  # (B,) weighting.contract.Status codes

    def rows(self) -> list[dict[str, Any]]:
        """One dict per replicate (``replicate`` is 1-based, as in ``rep_1``)."""
        return [
            {"replicate": b + 1, "iterations": int(i), "error": float(e), "converged": bool(c)}
            for b, (i, e, c) in enumerate(zip(self.iterations, self.error, self.converged))
        ]

    @property
    def failed(self) -> Codes:
        return np.flatnonzero(~self.converged)


class Replicates:
    """Replicate structure of a design: plan, R's scale/rscales/mse, g-factors
    (a ``weighting.protocols.ReplicateStructure``).

    Attributes
    ----------
    method : str
    B : int
    seed : int or None
    scale : float
    rscales : ndarray (B,)
    mse : bool
    degf : int
    convergence : Convergence
    g : ndarray (B, cells) or None
        Re-calibrated g-factors per calibration unit (None if uncalibrated).
    """

    def __init__(
        self,
        method: str,
        plan: Plan | BalancedPlan,
        scale: float,
        rscales: ArrayLike,
        mse: bool,
        degf: int,
        accept_failures: bool,
        convergence: Convergence,
        g: Arr | None,
        rows: PsuRows | None = None,
        kept: KeptDraws | None = None,
    ) -> None:
        self.method = method
        self.plan = plan
        self.B = plan.B
        self.seed = plan.seed
        self.scale = float(scale)
        self.rscales = np.asarray(rscales, dtype=np.float64)
        self.rscales.flags.writeable = False
        self.mse = bool(mse)
        self.degf = int(degf)
        self.accept_failures = bool(accept_failures)
        self.convergence = convergence
        self.g = g
        self._psu_rows = rows
        self._kept = KeptDraws.for_plan(plan) if kept is None else kept

    def __getstate__(self) -> dict[str, Any]:
        # A copy (another process's) draws its own counts: sending them would
        # cost up to KEEP_DRAWS_BYTES, and a lock does not pickle.
        return {**self.__dict__, "_kept": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._kept = KeptDraws.for_plan(self.plan)

    @property
    def options(self) -> dict[str, Any]:
        """The method's own ``make_replicates`` keywords (``fay_rho``,
        ``collapse_strata`` for brr and fay), to remake the replicates."""
        return self.plan.options

    def rank_degf(self, design: Any) -> int:
        """R's degf of these replicates of ``design``: :func:`rank_degf` of the
        replicate weights, from one row per (PSU, calibration cell) — every
        other row is a multiple of its combination's, so the rank is the same
        without forming the n x B matrix."""
        cell, n_cells, g = self._cells(design)
        psu = np.asarray(design.psu, np.int64)
        _, rows = np.unique(psu * n_cells + cell, return_index=True)
        M = np.stack([self.plan.multipliers(b) for b in range(self.B)])  # (B, P)
        W = design.base_weights[rows, None] * M[:, psu[rows]].T * g[:, cell[rows]].T
        return rank_degf(W)

    def rows(self, design: Any) -> PsuRows:
        """The design's rows in PSU order (sorted once, then kept: every
        ``totals`` call reads them)."""
        if self._psu_rows is None:
            self._psu_rows = PsuRows(design.psu, len(self.plan.psu_stratum))
        return self._psu_rows

    def _cells(self, design: Any) -> tuple[Codes, int, Arr]:
        """Calibration cell of each row, number of cells, g table (B, cells)."""
        if self.g is None:
            return np.zeros(design.n, np.int64), 1, np.ones((self.B, 1))
        problem = design.calibration.problem
        return problem.cell, problem.n_cells, self.g

    def totals(self, design: Any, values: Arr, groups: Codes, n_groups: int) -> Arr:
        cell, n_cells, g = self._cells(design)
        rows = self.rows(design)
        combo, combo_cell, combo_group = _combinations(cell, n_cells, groups, n_groups)
        combo = rows.sort(combo)
        dv = rows.sort(design.base_weights[:, None] * values)
        kernels = _backend.KERNELS
        plan = self.plan
        if kernels is not None and isinstance(plan, Plan):
            with _kept_args(self._kept) as kept:
                fused: Arr = kernels.replicate.replicate_totals(
                    plan.for_kernels(kernels, rows),
                    combo,
                    combo_cell,
                    combo_group,
                    g,
                    dv,
                    n_groups,
                    0,
                    *kept,
                )
            return fused
        sums: Callable[[int], Arr]
        if kernels is not None and isinstance(plan, BalancedPlan):
            sums = balanced_sums(plan, kernels, rows.psu, combo, dv, len(combo_cell)).__getitem__
        else:

            def sums(b: int) -> Arr:
                return plan.sums(b, rows, combo, dv, len(combo_cell))

        out = np.empty((self.B, n_groups, values.shape[1]))
        for b in range(self.B):
            out[b] = _bincount_columns(combo_group, g[b][combo_cell][:, None] * sums(b), n_groups)
        return out

    def weights(self, design: Any) -> Arr:
        cell, _, g = self._cells(design)
        psu = np.ascontiguousarray(design.psu, dtype=np.int64)
        cell = np.ascontiguousarray(cell, dtype=np.int64)
        kernels = _backend.KERNELS
        d = np.ascontiguousarray(design.base_weights)
        plan = self.plan
        if kernels is not None and isinstance(plan, Plan):
            fused: Arr = kernels.replicate.replicate_weights(
                plan.for_kernels(kernels), psu, cell, g, d, 0
            ).T
            return fused
        out = np.empty((design.n, self.B))
        for b in range(self.B):
            out[:, b] = d * self.plan.multipliers(b)[psu] * g[b][cell]
        return out


def rank_degf(W: ArrayLike) -> int:
    """R's degf of replicate weights W (n, B): their rank minus one, the rank
    at R's tolerance 1e-5 (singular values above 1e-5 of the largest)."""
    sv = np.linalg.svd(np.asarray(W, dtype=np.float64), compute_uv=False)
    return int(np.sum(sv > 1e-5 * sv[0])) - 1


def poststratified_weights(W: Arr, problem: Any) -> Arr:
    """Every column of the replicate weights W (n, B) post-stratified to the
    one margin of a calibration ``problem``: ``W[i, b] N_c / sum_{j in c} W[j, b]``
    with c the cell of row i (R's ``postStratify`` of a replicate design)."""
    N = problem.Xfull @ problem.tfull  # each cell lies in one category of the margin
    S = np.column_stack(
        [np.bincount(problem.cell, W[:, b], minlength=problem.n_cells) for b in range(W.shape[1])]
    )
    empty = np.argwhere((S <= 0) & (N[:, None] > 0))
    if empty.size:
        c, b = (int(v) for v in empty[0])
        j = int(np.flatnonzero(problem.Xfull[c])[0])
        raise ReplicateError(
            f"replicate {b + 1} has no weight in post-stratum "
            f"{problem.labels[j][1]} ({len(empty)} such replicate cell(s)); "
            f"R gives infinite or NaN weights"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(S > 0, N[:, None] / S, 0.0)
    scaled: Arr = W * factor[problem.cell]
    return scaled


#: R's ``svrepdesign`` types of given replicate weights (lower case; R's "ACS"
#: is "successive-difference").
REPLICATE_TYPES = ("bootstrap", "jk1", "jkn", "brr", "fay", "successive-difference", "other")
_TYPE_ALIASES = {"acs": "successive-difference", "sdr": "successive-difference"}


def svrep_constants(
    replicate_type: str,
    B: int,
    scale: float | None = None,
    rscales: ArrayLike | None = None,
    fay_rho: float | None = None,
) -> tuple[str, float, Arr]:
    r"""R's variance constants of B given (combined) replicate weights of a type.

    ``svrepdesign(type = ..., combined.weights = TRUE)``'s rules for
    :math:`V = \text{scale} \sum_b \text{rscales}_b (\theta_b - c)^2`:

    ========================= ================================ ==============
    type                      scale                            rscales
    ========================= ================================ ==============
    bootstrap                 given, else 1/(B - 1)            given, else 1
    jk1                       given, else (B - 1)/B            given, else 1
    jkn                       given, else 1                    required
    brr                       1/B                              1
    fay                       1/(B (1 - fay_rho)^2)            1
    successive-difference     4/B (ACS: 80 columns, 0.05)      1
    other                     given, else 1                    given, else 1
    ========================= ================================ ==============

    Differences from R: where R ignores a given scale or rscales (brr, fay,
    successive-difference) with a warning, or guesses one (jk1, other) with a
    warning, kalib raises on a given value that differs from the type's and
    guesses silently (the docstring is the warning); ``fay_rho`` defaults to
    0.5 (R has no default). R's "ACS" is accepted as "successive-difference".

    Returns
    -------
    (type, scale, rscales (B,))
    """
    if B < 2:
        raise KalibError(f"replicate weights need at least 2 replicates, got {B}")
    kind = _TYPE_ALIASES.get(str(replicate_type).lower(), str(replicate_type).lower())
    if kind not in REPLICATE_TYPES:
        raise KalibError(
            f"unknown replicate type {replicate_type!r} (expected one of "
            f"{', '.join(REPLICATE_TYPES)})"
        )
    if kind != "fay" and fay_rho is not None:
        raise KalibError(f"fay_rho belongs to the replicate type 'fay', not {kind!r}")
    rho = fay_rho_value(0.5 if fay_rho is None else fay_rho)
    fixed = {"brr": 1.0 / B, "fay": 1.0 / (B * (1.0 - rho) ** 2), "successive-difference": 4.0 / B}
    defaults = {"bootstrap": 1.0 / (B - 1), "jk1": (B - 1.0) / B, "jkn": 1.0, "other": 1.0}
    if kind in fixed:
        for name, given, own in (("scale", scale, fixed[kind]), ("rscales", rscales, 1.0)):
            if given is not None and not np.allclose(given, own, rtol=1e-12, atol=0):
                raise KalibError(
                    f"replicate type {kind!r} has {name} {own:.10g} for {B} "
                    f"replicates; the {name} given differs (R ignores it); "
                    f"leave it out, or use type 'other'"
                )
        return kind, fixed[kind], np.ones(B)
    if kind == "jkn" and rscales is None:
        raise KalibError(
            "JKn replicate weights need their rscales, (1 - f_h)(n_h - 1)/n_h "
            "for a replicate of stratum h (R: 'Must provide rscales for "
            "combined JKn weights')",
            option="rscales",
            remedy="give rscales=",
        )
    if scale is not None and not (np.ndim(scale) == 0 and np.isfinite(scale) and scale > 0):
        raise KalibError(f"scale must be one positive number, got {scale!r}")
    return kind, float(defaults[kind] if scale is None else scale), replicate_rscales(rscales, B)


def replicate_rscales(rscales: ArrayLike | None, B: int) -> Arr:
    """``rscales`` (one number or one per replicate; None: 1) as (B,),
    checked finite and non-negative."""
    if rscales is None:
        return np.ones(B)
    values = np.asarray(rscales, dtype=np.float64)
    if values.ndim > 1 or (values.ndim == 1 and values.size not in (1, B)):
        raise KalibError(
            f"rscales has {values.size} values for {B} replicates (give one "
            f"per replicate, or one for all)"
        )
    if not (np.isfinite(values).all() and (values >= 0).all()):
        raise KalibError("rscales must be finite and non-negative")
    return np.array(np.broadcast_to(values.reshape(-1), (B,)))


class GivenReplicates:
    """Replicate weights given as an (n, B) matrix (read from a file, or R's).

    A ``weighting.protocols.ReplicateStructure``, as :class:`Replicates`;
    nothing is re-calibrated (the weights are taken as final), ``seed`` and
    ``convergence`` are None.
    """

    accept_failures = False
    seed = None
    convergence = None
    g = None

    def __init__(
        self,
        repweights: ArrayLike,
        scale: float,
        rscales: ArrayLike | None,
        mse: bool,
        method: str,
        degf: int | None,
    ) -> None:
        W = np.array(repweights, dtype=np.float64, order="F")
        if W.ndim != 2 or W.shape[1] < 2:
            raise KalibError(f"replicate weights must be (n, B) with B >= 2, got {W.shape}")
        if not np.isfinite(W).all():
            rows = np.flatnonzero(~np.isfinite(W).all(axis=1))
            raise KalibError(
                f"replicate weights are missing or not finite in {rows.size} "
                f"row(s) (first at row {rows[0] + 1})",
                row=rows[0],
            )
        W.flags.writeable = False
        self.repweights = W
        self.B = W.shape[1]
        self.method = str(method)
        self.scale = float(scale)
        self.rscales = replicate_rscales(rscales, self.B)
        self.rscales.flags.writeable = False
        self.mse = bool(mse)
        self.degf = int(rank_degf(W) if degf is None else degf)

    def totals(self, design: Any, values: Arr, groups: Codes, n_groups: int) -> Arr:
        out = np.zeros((self.B, n_groups, values.shape[1]))
        order = np.argsort(groups, kind="stable")
        bounds = np.searchsorted(groups[order], np.arange(n_groups + 1))
        for g in range(n_groups):
            rows = order[bounds[g] : bounds[g + 1]]
            out[:, g, :] = self.repweights[rows].T @ values[rows]
        return out

    def weights(self, design: Any) -> Arr:
        return self.repweights


def _combinations(
    cell: ArrayLike, n_cells: int, groups: Codes, n_groups: int
) -> tuple[NDArray[np.int32], NDArray[np.int32], NDArray[np.int32]]:
    """Each row's (cell, group) combination among those present, and the cell
    and group of each combination (int32 codes for the kernels).

    Replicate totals are sums by combination weighted by the replicate's cell
    g-factors, so only combinations that occur are kept (in cell-major order).
    """
    key = np.asarray(cell, dtype=np.int64) * n_groups + groups
    if dense_range(n_cells * n_groups, key.size):  # a presence table: no sort
        present = np.zeros(n_cells * n_groups, dtype=bool)
        present[key] = True
        keys = np.flatnonzero(present)
        combo = (np.cumsum(present) - 1)[key]
    else:
        keys, combo = np.unique(key, return_inverse=True)
    return (
        combo.astype(np.int32),
        (keys // n_groups).astype(np.int32),
        (keys % n_groups).astype(np.int32),
    )


def make_replicates(
    design: Any,
    method: str,
    B: int,
    seed: int,
    mse: bool,
    accept_failures: bool,
    fay_rho: float | None = None,
    collapse_strata: bool = False,
) -> Replicates:
    """Build the replicate structure of ``design`` and re-calibrate every replicate.

    ``fay_rho`` (default 0.5 for "fay"; 0, or None, for "brr") and
    ``collapse_strata`` belong to the balanced methods ("brr", "fay").
    """
    method = str(method).lower()
    if method not in METHODS:
        raise KalibError(
            f"unknown replicate method {method!r} (expected one of {', '.join(METHODS)})"
        )
    balanced = method in ("brr", "fay")
    if not balanced and (fay_rho is not None or collapse_strata):
        raise KalibError(
            f"fay_rho and collapse_strata are options of the methods brr and "
            f"fay, not of {method!r}"
        )
    if method == "brr" and fay_rho not in (None, 0):
        raise KalibError(
            f"BRR is Fay's method with fay_rho = 0 (got fay_rho={fay_rho!r}): use method 'fay'"
        )
    plan: Plan | BalancedPlan
    if method == "bootstrap":
        if not (isinstance(B, (int, np.integer)) and B >= 2):
            raise KalibError(f"replicates must be an integer >= 2, got {shown(B)}")
        plan, scale, rscales, degf = bootstrap_plan(design, int(B), seed)
    elif balanced:
        rho = 0.0 if method == "brr" else (0.5 if fay_rho is None else fay_rho)
        plan, scale, rscales, degf = balanced_plan(design, rho, collapse_strata)
    else:
        plan, scale, rscales, degf = jackknife_plan(design, stratified=method == "jkn")
    rows = PsuRows(design.psu, len(plan.psu_stratum))
    kept = KeptDraws.for_plan(plan)
    if design.calibration is None:
        ones = np.ones(plan.B)
        convergence = Convergence(
            np.zeros(plan.B, np.int64),
            np.zeros(plan.B),
            ones.astype(bool),
            np.zeros(plan.B, np.int64),
        )
        return Replicates(
            method, plan, scale, rscales, mse, degf, accept_failures, convergence, None, rows, kept
        )
    g, convergence = recalibrate(design, plan, rows, kept)
    failed = convergence.failed
    if failed.size and not accept_failures:
        b = int(failed[0])
        raise ReplicateError(
            f"{failed.size} of {plan.B} replicates failed to re-calibrate; replicate "
            f"{b + 1} (index {b}): {_cause(design, plan, rows, convergence, b)}",
            option="accept_failures",
            remedy="pass accept_failures=True to keep failed replicates, flagged",
        )
    return Replicates(
        method, plan, scale, rscales, mse, degf, accept_failures, convergence, g, rows, kept
    )


def recalibrate(
    design: Any, plan: Plan | BalancedPlan, rows: PsuRows, kept: KeptDraws | None = None
) -> tuple[Arr, Convergence]:
    """Re-calibrate every replicate (``rows``: the design's :class:`PsuRows`)
    with the full-sample spec (``CalibrationSpec.for_replicates``), keeping
    the bootstrap counts in ``kept`` if given; returns (g (B, cells),
    Convergence)."""
    result = design.calibration
    spec = result.spec.for_replicates()
    table = result.table
    lam0 = np.ascontiguousarray(result.lam, dtype=np.float64)
    cell = rows.sort(result.problem.cell.astype(np.int32))
    d = rows.sort(design.base_weights.astype(np.float64))
    ipf = ipf_start(result, spec)
    kernels = _backend.KERNELS
    # The kernels take one pair of bounds and no per-unit variance: a
    # calibration with per-row settings is re-calibrated in numpy.
    if kernels is not None and spec.trim is None and not spec.per_row:
        system = kernel_system(kernels, table, spec, lam0, ipf)
        if isinstance(plan, BalancedPlan):
            D = balanced_sums(plan, kernels, rows.psu, cell, d[:, None], table.n_cells)
            g, iterations, error, status = kernels.chunked.solve_cell_tables(
                np.ascontiguousarray(D[:, :, 0]), system, 0
            )
        else:
            with _kept_args(kept) as kept_counts:
                g, iterations, error, status = kernels.replicate.solve_replicates(
                    plan.for_kernels(kernels, rows), cell, d, system, 0, *kept_counts
                )
    else:
        # variance folded into the table: base totals D_bc v_c (weighting.calibrate)
        fold = 1.0 if result.variance is None else result.variance
        g, iterations, error, status = recalibrate_cells(
            table,
            lambda b: replicate_cell_totals(table.n_cells, plan, rows, cell, d, b) * fold,
            plan.B,
            spec,
            lam0,
            ipf,
            result.unit_bounds,
        )
    convergence = Convergence(
        np.asarray(iterations, np.int64),
        np.asarray(error),
        np.asarray(status) == Status.CONVERGED,
        np.asarray(status, np.int64),
    )
    return g, convergence


def ipf_start(result: Any, spec: CalibrationSpec) -> IpfStart | None:
    """An :class:`~weighting.ipf.IpfStart` from the full-sample cell g-factors
    of the calibration ``result`` when replicates solving ``spec`` are raked
    by IPF (``weighting.ipf``), else None."""
    problem = result.problem
    if spec.trim is not None or problem.rows_are_units:
        return None
    layout = ipf_layout(problem.Xfull, problem.labels, spec.code, *spec.limits)
    if layout is None:
        return None
    g0 = np.empty(problem.n_cells)
    g0[problem.cell] = result.g
    return IpfStart(*layout, g0, lambda_map(problem.kept, problem.dependent, len(problem.tfull)))


def kernel_system(
    kernels: Any, table: CellTable, spec: CalibrationSpec, lam0: Arr, ipf: IpfStart | None = None
) -> Any:
    """The re-calibration of replicates of ``table`` with ``spec`` from ``lam0``
    (and by IPF from ``ipf``) as the kernels' ``CellSystem`` (``kernels``:
    ``weighting._backend.KERNELS``; ``spec`` without trimming)."""
    lower, upper = spec.limits
    return kernels.args.CellSystem(
        table.X,
        table.t,
        table.Xfull,
        table.tfull,
        spec.code,
        lower,
        upper,
        lam0,
        spec.tol,
        spec.max_iter,
        sparse=_column_lists(table),
        ipf=None if ipf is None else (ipf.g0, ipf.cat, ipf.first, ipf.to_lambda, IPF_SWEEPS),
    )


def _column_lists(table: CellTable) -> tuple[Codes, Codes, Codes, Codes] | None:
    """(x_ptr, x_idx, f_ptr, f_idx): X and Xfull as per-cell lists of their
    columns with a 1 when both are 0/1 (categorical margins), else None (the
    kernel then runs the dense solver)."""
    X, Xfull = table.X, table.Xfull
    if not (np.all((X == 0) | (X == 1)) and np.all((Xfull == 0) | (Xfull == 1))):
        return None
    lists: list[Codes] = []
    for M in (X, Xfull):
        rows, cols = np.nonzero(M)  # row-major: columns ascending within a row
        ptr = np.zeros(M.shape[0] + 1, np.int64)
        np.cumsum(np.bincount(rows, minlength=M.shape[0]), out=ptr[1:])
        lists += [ptr, cols.astype(np.int64)]
    x_ptr, x_idx, f_ptr, f_idx = lists
    return x_ptr, x_idx, f_ptr, f_idx


def replicate_cell_totals(
    n_cells: int, plan: Plan | BalancedPlan, rows: PsuRows, cell: ArrayLike, d: Arr, b: int
) -> Arr:
    """``D_bc = sum_{i in c} d_i m_{p(i)b}`` in numpy (``cell``, ``d`` in PSU order)."""
    totals: Arr = plan.sums(b, rows, cell, d[:, None], n_cells)[:, 0]
    return totals


def recalibrate_cells(
    table: CellTable,
    cell_totals: Callable[[int], Arr],
    B: int,
    spec: CalibrationSpec,
    lam0: Arr,
    ipf: IpfStart | None = None,
    unit_bounds: tuple[Arr, Arr] | None = None,
) -> tuple[Arr, Codes, Arr, Codes]:
    """Re-calibrate B replicates in numpy from their cell base totals
    ``cell_totals(b)`` (C,) on the cell ``table`` with ``spec`` (as
    ``CalibrationSpec.for_replicates`` makes it): returns (g (B, C),
    iterations, error, status).

    ``unit_bounds`` are the full sample's per-unit g-bounds of
    ``weight_bounds`` (:math:`L_k/d_k, U_k/d_k`), kept in every replicate: a
    replicate weight :math:`d_k m_{kb} g_{kb}` lies within
    :math:`m_{kb} [L_k, U_k]`, the bounds scaled as the replicate scales the
    unit (absolute bounds on replicate weights would clash with the
    bootstrap's multipliers of 2 or 3). R ``survey`` 4.1.1 ignores
    ``bounds.const`` for replicate designs.

    With ``ipf`` (an :class:`~weighting.ipf.IpfStart`) a replicate is first
    raked by IPF from ``ipf.g0``; when IPF gives up (``weighting.ipf``), the
    Newton solver goes on from its iterate (iterations add up).
    """
    from weighting.solver import solve

    C = table.n_cells
    g = np.empty((B, C))
    iterations = np.zeros(B, np.int64)
    error = np.empty(B)
    status = np.zeros(B, np.int64)
    positive = table.tfull > 0
    for b in range(B):
        D = cell_totals(b)
        if np.any(table.Xfull[:, positive].T @ D <= 0):
            fit = solve(
                table.X,
                D,
                table.t,
                spec.distance,
                spec.bounds,
                lam0=lam0,
                tol=spec.tol,
                max_iter=0,
                Xfull=table.Xfull,
                tfull=table.tfull,
                unit_bounds=unit_bounds,
            )
            g[b], iterations[b], error[b], status[b] = fit.g, 0, np.inf, Status.EMPTY_CATEGORY
            continue
        sweeps, start = 0, lam0
        if ipf is not None:
            g_b, sweeps, errors, converged, scaled = ipf_solve(
                ipf.cat, ipf.first, D, table.tfull, ipf.g0, spec.tol, IPF_SWEEPS
            )
            if converged:
                g[b], iterations[b], error[b], status[b] = (
                    g_b,
                    sweeps,
                    errors[-1],
                    Status.CONVERGED,
                )
                continue
            start = ipf_lambda(lam0, ipf.to_lambda, scaled)
        fit = solve(
            table.X,
            D,
            table.t,
            spec.distance,
            spec.bounds,
            lam0=start,
            tol=spec.tol,
            max_iter=spec.max_iter,
            Xfull=table.Xfull,
            tfull=table.tfull,
            unit_bounds=unit_bounds,
        )
        g[b], iterations[b], error[b], status[b] = (
            fit.g,
            fit.iterations + sweeps,
            fit.errors[-1],
            fit.status,
        )
        if spec.trim is not None and fit.converged:
            trimmed = _trim_replicate(table.with_totals(D), fit, spec)
            if trimmed is None:
                status[b] = Status.TRIM_INFEASIBLE
            else:
                g[b] = trimmed
    return g, iterations, error, status


def _trim_replicate(table: CellTable, fit: Any, spec: CalibrationSpec) -> Arr | None:
    """Logit trimming of one replicate (the fixing rounds of ``weighting.calibrate``)
    on its cell ``table``; None when caps and margins cannot hold together in
    this replicate."""
    from weighting.calibrate import _trim_fixing

    try:
        g, _, _ = _trim_fixing(table, fit, spec)
    except InfeasibleBoundsError:
        return None
    return g


def _cause(
    design: Any, plan: Plan | BalancedPlan, rows: PsuRows, convergence: Convergence, b: int
) -> str:
    """Why replicate b failed, naming the margin category when one is to blame."""
    status = int(convergence.status[b])
    problem = design.calibration.problem
    D = replicate_cell_totals(
        problem.n_cells, plan, rows, rows.sort(problem.cell), rows.sort(design.base_weights), b
    )
    totals = problem.Xfull.T @ D
    if status == Status.EMPTY_CATEGORY:
        j = int(np.flatnonzero((totals <= 0) & (problem.tfull > 0))[0])
        margin, category = problem.labels[j]
        return (
            f"margin {margin!r} category {category} has no sample weight in this "
            f"replicate (all its PSUs were left out)"
        )
    if status == Status.TRIM_INFEASIBLE:
        return (
            f"the trimming caps {design.calibration.trim} and the margins cannot hold "
            f"together in this replicate"
        )
    spec = design.calibration.spec.for_replicates()
    bounds, tol = spec.bounds, spec.tol
    reasons: dict[int, str] = {
        Status.MAX_ITER: f"not converged in {int(convergence.iterations[b])} iterations",
        Status.LINE_SEARCH_FAILED: "the Newton step search stalled",
    }
    reason = reasons.get(status, "failed")
    message = f"{reason}: max relative margin error {convergence.error[b]:.3g} > tol {tol:g}"
    if bounds is not None:
        with np.errstate(divide="ignore"):
            needed = problem.tfull / totals
        outside = np.flatnonzero((needed < bounds[0]) | (needed > bounds[1]))
        if outside.size:
            margin, category = problem.labels[int(outside[0])]
            return (
                f"{message}; margin {margin!r} category {category} needs g = "
                f"{needed[outside[0]]:.4g} on average, outside the bounds "
                f"[{bounds[0]:g}, {bounds[1]:g}]"
            )
        return (
            f"{message}; the bounds [{bounds[0]:g}, {bounds[1]:g}] may be jointly "
            "infeasible for this replicate"
        )
    return message
