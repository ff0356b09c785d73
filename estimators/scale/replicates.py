"""Chunked replicate totals of an in-memory ``Design`` (the same numbers as
``Design.replicate_totals``, computed as Dask tasks).

:func:`replicate_totals_chunked` is the drop-in for
``design.replicate_totals(values, groups, n_groups)``; :func:`chunked` wraps a
design so that code written against ``Design`` (``estimators.inference.estimate``)
takes the chunked path unchanged.
"""

from __future__ import annotations

import dask
import numpy as np

from estimators.scale.cells import CellCalibration
from estimators.scale.chunks import make_chunk
from estimators.scale.engine import replicate_dataset
from estimators.scale.schedulers import dask_scheduler
from weighting.contract import Status
from weighting.design import _check_totals_input
from weighting.errors import KalibError
from weighting.replicates import Convergence, Replicates, bootstrap_plan, jackknife_plan


def _plan(design, method, replicates, seed):
    """(plan, scale, rscales, degf, mse, accept_failures, method) of the design's
    replicates, or of the ones asked for."""
    r = design.replicates
    if method is None:
        if r is None:
            raise KalibError("the design has no replicates: call with_replicates or give method=")
        return r.plan, r.scale, r.rscales, r.degf, r.mse, r.accept_failures, r.method
    method = str(method).lower()
    if method == "bootstrap":
        plan, scale, rscales, degf = bootstrap_plan(design, int(replicates), seed)
    elif method in ("jkn", "jk1"):
        plan, scale, rscales, degf = jackknife_plan(design, stratified=method == "jkn")
    else:
        raise KalibError(f"unknown replicate method {method!r} (expected bootstrap, jkn or jk1)")
    return plan, scale, rscales, degf, False, False, method


def design_replicate_dataset(
    design,
    values,
    groups=None,
    n_groups=None,
    *,
    method=None,
    replicates=1000,
    seed=20170602,
    mse=None,
    accept_failures=None,
    n_chunks=8,
    block_size=None,
    split_every=4,
    value_names=None,
    weights=False,
):
    """Lazy ``xarray.Dataset`` of full-sample and replicate totals of ``design``.

    The rows are cut into ``n_chunks`` contiguous chunks; replicates come from
    the design's own (``with_replicates``) or, with ``method``, from a plan
    made here (``weighting.replicates.bootstrap_plan``/``jackknife_plan``)
    without re-calibrating in this process. Variables: ``total`` (group,
    stat), ``replicate_total`` (replicate, group, stat), ``g`` (replicate,
    cell), ``iterations``, ``error``, ``status``, ``rscales``; stat ``weight``
    is the sum of weights, the others the value columns.
    """
    values, groups, G = _check_totals_input(values, groups, n_groups, design.n)
    plan, scale, rscales, degf, plan_mse, plan_accept, method = _plan(
        design, method, replicates, seed
    )
    mse = plan_mse if mse is None else mse
    accept = plan_accept if accept_failures is None else accept_failures
    calibration = CellCalibration.from_result(design.calibration, accept_failures=accept)
    cell = (
        np.zeros(design.n, np.int64)
        if design.calibration is None
        else design.calibration.problem.cell
    )
    if not 1 <= n_chunks <= max(design.n, 1):
        raise KalibError(f"n_chunks must lie in 1..{design.n}, got {n_chunks}")
    parts = np.array_split(np.arange(design.n), n_chunks)
    chunk_list = [
        dask.delayed(make_chunk)(
            design.psu[rows],
            design.strata[rows],
            cell[rows],
            groups[rows],
            G,
            design.base_weights[rows],
            values[rows],
        )
        for rows in parts
    ]
    names = value_names or [f"v{j}" for j in range(values.shape[1])]
    return replicate_dataset(
        chunk_list,
        calibration,
        plan,
        G,
        scale=scale,
        rscales=rscales,
        mse=mse,
        degf=degf,
        method=method,
        stat_names=["weight", *names],
        block_size=block_size,
        split_every=split_every,
        chunk_rows=[len(rows) for rows in parts] if weights else None,
    )


def replicate_totals_chunked(
    design,
    values,
    groups=None,
    n_groups=None,
    *,
    scheduler=None,
    n_chunks=8,
    block_size=None,
    split_every=4,
) -> np.ndarray:
    """``design.replicate_totals(values, groups, n_groups)`` on Dask: (B, G, k).

    ``scheduler`` as ``--scheduler`` (``threads``, ``processes``, an address;
    None: the active one). Equal to the in-process totals to rounding (the
    sums are added in another order).
    """
    ds = design_replicate_dataset(
        design,
        values,
        groups,
        n_groups,
        n_chunks=n_chunks,
        block_size=block_size,
        split_every=split_every,
    )
    with dask_scheduler(scheduler):
        return ds.replicate_total.values[:, :, 1:]


def with_replicates_chunked(
    design,
    method="bootstrap",
    replicates=1000,
    seed=20170602,
    accept_failures=False,
    mse=False,
    n_chunks=8,
    block_size=None,
):
    """``design.with_replicates(...)`` with the draws and re-calibrations on Dask.

    Runs on the active scheduler (``dask_scheduler``); returns a new design
    whose replicate structure (plan, g-factors, convergence record) equals
    the in-process one to rounding, so ``replicate_weights()``, exports and
    estimators work as usual.
    """
    ds = design_replicate_dataset(
        design,
        np.zeros((design.n, 0)),
        method=method,
        replicates=replicates,
        seed=seed,
        mse=mse,
        accept_failures=accept_failures,
        n_chunks=n_chunks,
        block_size=block_size,
    )
    g, iterations, error, status = dask.compute(
        ds.g.data, ds.iterations.data, ds.error.data, ds.status.data
    )
    plan, scale, rscales, degf, _, _, method = _plan(design, method, replicates, seed)
    convergence = Convergence(iterations, error, status == Status.CONVERGED, status)
    structure = Replicates(
        method,
        plan,
        scale,
        rscales,
        mse,
        degf,
        accept_failures,
        convergence,
        None if design.calibration is None else g,
    )
    return design.with_replicate_structure(structure)


class ChunkedDesign:
    """A design whose ``replicate_totals`` runs chunked on the active Dask scheduler.

    Every other attribute is the wrapped design's, so estimators written for
    ``Design`` (means, proportions, domains, CIs) work unchanged.
    """

    def __init__(self, design, n_chunks=8, block_size=None):
        object.__setattr__(self, "_design", design)
        object.__setattr__(self, "_options", {"n_chunks": n_chunks, "block_size": block_size})

    def __getattr__(self, name):
        return getattr(self._design, name)

    def __setattr__(self, name, value):
        raise AttributeError("Design is immutable; its methods return new designs")

    def replicate_totals(self, values, groups=None, n_groups=None) -> np.ndarray:
        return replicate_totals_chunked(self._design, values, groups, n_groups, **self._options)

    def __repr__(self):
        return f"Chunked{self._design!r}"


def chunked(design, n_chunks=8, block_size=None) -> ChunkedDesign:
    """Wrap ``design`` so that its replicate totals are computed chunked."""
    return ChunkedDesign(design, n_chunks=n_chunks, block_size=block_size)
