r"""A chunk of rows encoded for the replicate pass, and its sufficient statistics.

Replicate b's weight of row i is :math:`w_{ib} = d_i\, m_{b,p(i)}\, g_{b,c(i)}`:
base weight, PSU multiplier, g-factor of the calibration cell. Every
replicate estimate of a domain total is therefore a function of

.. math::

    S_{b,r,j} = \sum_{i:\ \mathrm{refined}(i) = r} d_i\, m_{b,p(i)}\, v_{ij},
    \qquad v_{i0} = 1,

over the *refined cells* r = (calibration cell c, domain group g): the cell
base totals are :math:`D_{bc} = \sum_g S_{b,(c,g),0}` (what re-calibration
needs) and the replicate totals are
:math:`T_{bgj} = \sum_c g_{bc}\, S_{b,(c,g),j}`. S is a sum over rows, so the
S of row chunks add up to the sample's (a tree reduction), and a chunk needs
only the multipliers of its own PSUs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from weighting import _backend


def chunk_kernel():
    """The chunk kernels (``cext._chunked``, reached through
    ``weighting._backend`` with its version and constants checks) when the
    compiled kernels are in use, else None (numpy)."""
    kernels = _backend.KERNELS
    return None if kernels is None else kernels.chunked


@dataclass(frozen=True)
class Chunk:
    """Rows of one chunk, sorted by PSU.

    Attributes
    ----------
    psus : ndarray (P_k,) int64
        Sorted global codes of the PSUs present in the chunk.
    psu_stratum : ndarray (P_k,) int64
        Stratum of each of them.
    row_psu : ndarray (n_k,) int64
        Position of every row's PSU in ``psus``.
    refined : ndarray (n_k,) int64
        Refined cell ``cell * n_groups + group`` of every row.
    dv : ndarray (n_k, 1 + k)
        Base weight times ``(1, values...)``.
    order : ndarray (n_k,) int64
        Position in the chunk as given of every (sorted) row.
    """

    psus: np.ndarray
    psu_stratum: np.ndarray
    row_psu: np.ndarray
    refined: np.ndarray
    dv: np.ndarray
    order: np.ndarray

    @property
    def runs(self) -> np.ndarray:
        """(runs, 2) ``[start, length]`` of the consecutive PSU codes in ``psus``.

        A few numbers describe which columns of a (replicates × PSUs) block
        the chunk needs: one run per stratum when each unit is its own PSU
        and rows are in stratum order within the chunk.
        """
        breaks = np.flatnonzero(np.diff(self.psus) != 1) + 1
        starts = np.concatenate([[0], breaks])
        ends = np.concatenate([breaks, [len(self.psus)]])
        return np.column_stack([self.psus[starts], ends - starts]).astype(np.int64)


def make_chunk(psu, stratum, cell, groups, n_groups, d, values) -> Chunk:
    """Encode one chunk of rows (global PSU codes, their strata, cell and group
    codes, base weights, values (n_k, k))."""
    psu = np.asarray(psu, dtype=np.int64)
    order = np.argsort(psu, kind="stable")  # sequential multiplier reads
    psu = psu[order]
    first = np.concatenate([[True], psu[1:] != psu[:-1]]) if psu.size else np.zeros(0, bool)
    row_psu = np.cumsum(first) - 1
    refined = np.asarray(cell, np.int64)[order] * n_groups + np.asarray(groups, np.int64)[order]
    d = np.asarray(d, np.float64)[order]
    dv = np.column_stack([d, d[:, None] * np.asarray(values, np.float64)[order]])
    return Chunk(
        psus=psu[first],
        psu_stratum=np.asarray(stratum, np.int64)[order][first],
        row_psu=np.ascontiguousarray(row_psu, dtype=np.int64),
        refined=np.ascontiguousarray(refined),
        dv=np.ascontiguousarray(dv),
        order=order,
    )


def accumulate(chunk: Chunk, mult: np.ndarray, n_refined: int) -> np.ndarray:
    """Sufficient statistics ``S`` (B, n_refined, 1 + k) of the chunk for the
    multipliers ``mult`` (B, P_k) of its PSUs."""
    mult = np.ascontiguousarray(mult, dtype=np.float64)
    kernel = chunk_kernel()
    if kernel is not None:
        return kernel.accumulate_refined(
            mult, chunk.row_psu, chunk.refined, chunk.dv, n_refined, 1
        )
    out = np.empty((mult.shape[0], n_refined, chunk.dv.shape[1]))
    for b in range(mult.shape[0]):
        coef = mult[b][chunk.row_psu]
        for j in range(chunk.dv.shape[1]):
            out[b, :, j] = np.bincount(chunk.refined, coef * chunk.dv[:, j], minlength=n_refined)
    return out


def accumulate_bootstrap(
    chunk: Chunk, counts: np.ndarray, base: np.ndarray, step: np.ndarray, n_refined: int
) -> np.ndarray:
    """``accumulate`` for bootstrap multipliers ``base + step * counts`` of the
    chunk's PSUs, without forming them when the counts are one byte each."""
    kernel = chunk_kernel()
    if kernel is not None and counts.dtype == np.uint8:
        return kernel.accumulate_counts(
            np.ascontiguousarray(counts),
            base,
            step,
            chunk.row_psu,
            chunk.refined,
            chunk.dv,
            n_refined,
            1,
        )
    return accumulate(chunk, base + step * counts, n_refined)


def full_sample(chunk: Chunk, n_refined: int) -> np.ndarray:
    """``S`` of the full sample (every multiplier 1): (n_refined, 1 + k)."""
    return accumulate(chunk, np.ones((1, len(chunk.psus))), n_refined)[0]
