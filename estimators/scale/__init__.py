"""Dask scale-out: chunked replicate variance, out-of-core inputs, parallel studies.

Entry points
------------
``replicate_totals_chunked(design, values, groups, n_groups, scheduler=...)``
    ``Design.replicate_totals`` as Dask tasks (same numbers).
``chunked(design)``
    a design whose replicate totals take the chunked path (for estimators).
``with_replicates_chunked(design, method, replicates, seed, ...)``
    ``Design.with_replicates`` with draws and re-calibrations on Dask.
``dask_scheduler(spec)`` / ``run_with_scheduler(spec, fn, ...)``
    ``--scheduler threads|processes|ADDRESS``.

See ``docs/scale.md``.
"""

from estimators.scale.engine import domain_means, replicate_dataset, replicate_variance
from estimators.scale.replicates import (
    ChunkedDesign,
    chunked,
    design_replicate_dataset,
    replicate_totals_chunked,
    with_replicates_chunked,
)
from estimators.scale.schedulers import dask_scheduler, run_with_scheduler

__all__ = [
    "ChunkedDesign",
    "chunked",
    "dask_scheduler",
    "design_replicate_dataset",
    "domain_means",
    "replicate_dataset",
    "replicate_totals_chunked",
    "replicate_variance",
    "run_with_scheduler",
    "with_replicates_chunked",
]
