r"""Raking by iterative proportional fitting (IPF) on the cell table.

With the raking distance, no bounds and categorical margins only, the
calibrated g-factors (Deville & Särndal 1992) are the fixed point of iterative
proportional fitting (Deming & Stephan 1940): scale the cells of every
category of a margin so that its total meets the target, margin after margin,
until every category total is within ``tol`` (R ``calibrate``'s criterion
:math:`\max_j |\hat t_j - t_j| / (1 + |t_j|)`). A sweep costs a few passes over
the cells and no linear algebra, against a Cholesky factorisation and a
line search per Newton step; started from the full-sample solution, a
bootstrap or jackknife replicate needs a handful of sweeps. Replicate
re-calibration (``weighting.replicates``) therefore sweeps first and hands
over to the Newton solver (``weighting.solver``), which goes on from IPF's
iterate, when IPF is foreseen not to converge within :data:`IPF_SWEEPS`
sweeps (it slows down on tables whose margins are strongly associated, where
Newton does not).

``cext/ipf.pxd`` runs the same operations in the same order, so that both give
the same g-factors bit for bit.

References
----------
Deming, W. E. and Stephan, F. F. (1940). On a least squares adjustment of a
sampled frequency table when the expected marginal totals are known. Annals
of Mathematical Statistics 11, 427-444.
Deville, J.-C. and Särndal, C.-E. (1992). Calibration estimators in survey
sampling. JASA 87, 376-382.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from weighting.distances import RAKING

# IPF's error falls linearly, a Newton step's quadratically: on tables whose
# margins are strongly associated IPF needs 30 and more sweeps, where 4 to 5
# Newton steps cost about as much as 25 to 30 sweeps (measured on the bundled
# survey). IPF therefore gives up, and Newton goes on from its iterate, once
# the rate of its last sweep foresees more than IPF_SWEEPS sweeps; the kernels
# get the same constant.
IPF_SWEEPS = 30


@dataclass(frozen=True)
class IpfStart:
    """How to rake replicates of a cell table by IPF: each cell's category
    column per margin ``cat`` (cells, K), the first column of each margin
    ``first`` (K + 1,) (see :func:`ipf_layout`), the start ``g0`` (cells,),
    and ``to_lambda`` (p, q), which maps log factors per category to the
    solver's multipliers (:func:`ipf_lambda`)."""

    cat: NDArray[np.int32]
    first: NDArray[np.int64]
    g0: NDArray[np.float64]
    to_lambda: NDArray[np.float64]


def lambda_map(
    kept: NDArray[np.integer], dependent: Iterable[tuple[int, NDArray[np.float64]]], q: int
) -> NDArray[np.float64]:
    """``A`` (p, q) with ``Xfull = X A`` (``X = Xfull[:, kept]``; ``dependent``
    as in ``weighting.problem.CalibrationProblem``): log factors ``delta`` per
    ``Xfull`` column move the multipliers by ``A delta``."""
    A = np.zeros((len(kept), q))
    A[np.arange(len(kept)), kept] = 1.0
    for j, coefficients in dependent:
        A[:, j] = coefficients
    return A


def ipf_lambda(
    lam0: ArrayLike, to_lambda: NDArray[np.float64], scaled: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Multipliers of an IPF iterate: ``lam0 + to_lambda @ log(scaled)``, the
    products of factors per category ``scaled`` (``lam0`` if one is not
    positive and finite); summed column by column as the kernel does.

    IPF multiplies ``g0 = exp(X lam0)`` by each category's factors, so its
    iterate is ``exp(X lam0 + Xfull log(scaled))``: Newton goes on from there
    when IPF gives up, instead of starting again from ``lam0``.
    """
    lam = np.array(lam0, dtype=np.float64)
    if not np.all((scaled > 0) & np.isfinite(scaled)):
        return lam
    for j in range(len(scaled)):
        lam = lam + to_lambda[:, j] * math.log(scaled[j])  # libm's log, as the kernel's
    return lam


def ipf_layout(
    Xfull: NDArray[np.float64],
    labels: Sequence[tuple[str, str]],
    code: int,
    lower: float,
    upper: float,
) -> tuple[NDArray[np.int32], NDArray[np.int64]] | None:
    """``(cat, first)`` when a cell table can be raked by IPF, else None.

    ``Xfull`` (cells, q) and ``labels`` (margin, category) per column are the
    calibration problem's. ``cat`` (cells, K) int32 holds the column of
    ``Xfull`` of every cell's category in each of the K margins, ``first``
    (K + 1,) int64 the first column of each margin. IPF applies to the raking
    distance without bounds on a table whose every cell is in exactly one
    category of every margin (no numeric totals).
    """
    if code != RAKING or lower > 0 or np.isfinite(upper):
        return None
    if not np.all((Xfull == 0) | (Xfull == 1)):
        return None
    names = [name for name, _ in labels]
    starts = [j for j in range(len(names)) if j == 0 or names[j] != names[j - 1]]
    first = np.array(starts + [len(names)], dtype=np.int64)
    cat = np.empty((Xfull.shape[0], len(first) - 1), dtype=np.int32)
    for k in range(len(first) - 1):
        block = Xfull[:, first[k] : first[k + 1]]
        if not np.all(block.sum(axis=1) == 1):
            return None
        cat[:, k] = first[k] + np.argmax(block, axis=1)
    return cat, first


def ipf_solve(
    cat: NDArray[np.int32],
    first: NDArray[np.int64],
    D: NDArray[np.float64],
    tfull: NDArray[np.float64],
    g: NDArray[np.float64],
    tol: float,
    max_sweeps: int,
) -> tuple[NDArray[np.float64], int, list[float], bool, NDArray[np.float64]]:
    """Rake cell weights ``D * g`` to ``tfull`` by IPF, starting from ``g``.

    Returns ``(g, sweeps, errors, converged, scaled)``: ``errors`` holds the
    criterion before the first sweep and after each, ``scaled`` (q,) each
    category's product of factors. IPF stops early, unconverged, when the
    rate of its last sweep (from the second on) foresees the criterion still
    above ``tol`` after ``max_sweeps`` sweeps.
    """
    g = np.array(g, dtype=np.float64)
    q, K = len(tfull), cat.shape[1]
    scaled = np.ones(q)
    totals = _totals(cat, range(K), D, g, q)
    errors = [_criterion(totals, tfull)]
    sweeps = 0
    while not errors[-1] <= tol:
        if sweeps >= max_sweeps or (sweeps >= 2 and _foreseen_slow(errors, max_sweeps, tol)):
            return g, sweeps, errors, False, scaled
        for k in range(K):
            if k > 0:
                totals = _totals(cat, [k], D, g, q)
            block = slice(first[k], first[k + 1])
            with np.errstate(divide="ignore", invalid="ignore"):
                factor = np.where(totals[block] != 0, tfull[block] / totals[block], 1.0)
            scaled[block] = scaled[block] * factor
            g = g * factor[cat[:, k] - first[k]]
        sweeps += 1
        totals = _totals(cat, range(K), D, g, q)
        errors.append(_criterion(totals, tfull))
    return g, sweeps, errors, True, scaled


def _foreseen_slow(errors: Sequence[float], max_sweeps: int, tol: float) -> bool:
    """Whether the last sweep's rate, kept up, leaves the criterion above
    ``tol`` after ``max_sweeps`` sweeps (products in the kernel's order)."""
    rate = errors[-1] / errors[-2]
    foreseen = errors[-1]
    for _ in range(max_sweeps - (len(errors) - 1)):
        foreseen = foreseen * rate
    return not rate < 1.0 or foreseen > tol


def _totals(
    cat: NDArray[np.int32],
    margins: Iterable[int],
    D: NDArray[np.float64],
    g: NDArray[np.float64],
    q: int,
) -> NDArray[np.float64]:
    """Category totals of ``D * g`` over the given margins (others 0), added
    cell by cell as the kernel adds them."""
    w = D * g
    totals = np.zeros(q)
    for k in margins:
        totals += np.bincount(cat[:, k], w, minlength=q)
    return totals


def _criterion(totals: NDArray[np.float64], tfull: NDArray[np.float64]) -> float:
    err = np.max(np.abs(totals - tfull) / (1.0 + np.abs(tfull)), initial=0.0)
    return float(err) if np.isfinite(err) else np.inf
