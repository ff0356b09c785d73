"""PSU multipliers for a block of replicates, sliced per chunk.

The RNG contract (``../shared/CLI.md``) fixes replicate b's bootstrap draws:
``Generator(PCG64(SeedSequence(seed).spawn(B)[b]))`` draws
``u = random(sum_h m_h)``, stratum by stratum in code order, and PSU
``floor(u * n_h)`` of stratum h is counted per draw. One task draws a block
of replicates for every PSU (so no chunk ever owns a stream of its own) and
cuts the counts into the slices the chunks need (their PSU runs); a chunk
turns its slice into multipliers ``1 - a_h + a_h n_h/(n_h - 1) count``
(Rao, Wu & Yue 1992, with the Rao–Wu fpc factor a_h). The jackknives' block
task writes the chunk slices of the delete-one multipliers directly.

:class:`ReplicateSpec` carries what these tasks need in O(strata + B) numbers
(``weighting.replicates.Plan`` also holds per-PSU arrays, O(n) when units are
PSUs, which would be shipped to every task).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from estimators.scale.chunks import accumulate, accumulate_bootstrap, chunk_kernel
from weighting.replicates import BOOTSTRAP, bootstrap_counts, checked_seed

if TYPE_CHECKING:
    from estimators.scale.chunks import Chunk
    from weighting.replicates import Plan

#: Each chunk's PSUs as runs ``(first global PSU code, count)``.
Runs = Sequence[Sequence[tuple[int, int]]]


@dataclass(frozen=True)
class ReplicateSpec:
    """Multiplier recipe of a replicate plan, per stratum."""

    method: int
    B: int
    seed: int | None
    n_psu: np.ndarray  # (H,)
    offset: np.ndarray  # (H,) first global PSU code of each stratum
    n_draws: np.ndarray  # (H,) bootstrap draws per stratum
    base: np.ndarray  # (H,) bootstrap: 1 - a_h
    step: np.ndarray  # (H,) bootstrap: a_h n_h / (n_h - 1)
    jk_psu: np.ndarray  # (B,) jackknife: deleted PSU
    jk_factor: np.ndarray  # (B,) jackknife: n_h / (n_h - 1) for its stratum
    jk_stratum: np.ndarray  # (B,) jackknife: stratum of the deleted PSU

    @classmethod
    def from_plan(cls, plan: Plan) -> ReplicateSpec:
        """Per-stratum form of a ``weighting.replicates.Plan`` (same doubles)."""
        return cls(
            plan.method,
            plan.B,
            plan.seed,
            plan.n_psu,
            plan.offset,
            plan.n_draws,
            plan.base[plan.offset],
            plan.step[plan.offset],
            plan.jk_psu,
            plan.jk_factor,
            plan.psu_stratum[plan.jk_psu],
        )

    @property
    def P(self) -> int:
        return int(self.n_psu.sum())


def blocks(B: int, size: int) -> list[tuple[int, int]]:
    """Replicate ranges ``[b0, b1)`` of at most ``size`` replicates."""
    return [(b0, min(b0 + size, B)) for b0 in range(0, B, size)]


def _slices(block: np.ndarray, runs_per_chunk: Runs) -> list[np.ndarray]:
    return [
        np.concatenate([block[:, s : s + n] for s, n in runs], axis=1) for runs in runs_per_chunk
    ]


def bootstrap_count_block(spec: ReplicateSpec, b0: int, b1: int) -> np.ndarray:
    """Counts (b1 - b0, P) of replicates b0..b1-1, per the RNG contract."""
    kernel = chunk_kernel()
    if kernel is not None:
        children = np.random.SeedSequence(spec.seed).spawn(spec.B)[b0:b1]
        counts, overflow = kernel.draw_counts(
            [np.random.PCG64(c) for c in children],
            spec.n_psu,
            spec.offset,
            spec.n_draws,
            spec.P,
            1,
        )
        if not overflow:
            return counts
    # numpy reference (and the rare block with a count above 255); a bootstrap
    # plan's seed is a checked int (None is for the jackknife, which draws nothing)
    seed = checked_seed(spec.seed)
    return np.stack(
        [bootstrap_counts(seed, spec.B, spec.n_psu, spec.n_draws, b) for b in range(b0, b1)]
    )


def draw_block(spec: ReplicateSpec, b0: int, b1: int, runs_per_chunk: Runs) -> list[np.ndarray]:
    """The block's multiplier material for every chunk (a list, one per chunk).

    Bootstrap: counts (uint8 unless a count exceeds 255) of the chunk's PSUs;
    jackknife: the multipliers themselves.
    """
    if spec.method == BOOTSTRAP:
        return _slices(bootstrap_count_block(spec, b0, b1), runs_per_chunk)
    out = []
    for runs in runs_per_chunk:
        psus = (
            np.concatenate([np.arange(s, s + n) for s, n in runs])
            if len(runs)
            else np.zeros(0, np.int64)
        )
        mult = np.ones((b1 - b0, len(psus)))
        for row, b in enumerate(range(b0, b1)):
            h = spec.jk_stratum[b]
            inside = (psus >= spec.offset[h]) & (psus < spec.offset[h] + spec.n_psu[h])
            mult[row, inside] = spec.jk_factor[b]
            mult[row, psus == spec.jk_psu[b]] = 0.0
        out.append(mult)
    return out


def multipliers(spec: ReplicateSpec, chunk: Chunk, material: np.ndarray) -> np.ndarray:
    """Multipliers (b, P_k) of a chunk's PSUs from its slice of a block."""
    if spec.method != BOOTSTRAP:
        return material
    h = chunk.psu_stratum
    return spec.base[h] + spec.step[h] * material


def accumulate_block(
    spec: ReplicateSpec, chunk: Chunk, material: np.ndarray, n_refined: int
) -> np.ndarray:
    """Statistics S (b, n_refined, 1 + k) of a chunk from its slice of a block."""
    if spec.method != BOOTSTRAP:
        return accumulate(chunk, material, n_refined)
    h = chunk.psu_stratum
    return accumulate_bootstrap(chunk, material, spec.base[h], spec.step[h], n_refined)
