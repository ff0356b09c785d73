"""Embarrassingly parallel studies on Dask: many samples, surveys or variants.

:func:`run_study` runs ``function(item, shared)`` for every item — a
Monte-Carlo replication of the coverage study, a survey of the nightly
batch, a margin variant of ``kalib report`` — as a ``dask.bag`` on the local
schedulers or as futures on a distributed ``Client`` (``shared`` is then
broadcast once to every worker), with dask's progress bar, and gathers the
results into one ``xarray.Dataset`` along a new dimension.

:func:`margin_variant_keyrates` is the sensitivity study of the report: the
key-rate catalog of a bundled survey raked to each of its register-margin
variants (the employer survey's ``low_public``, ``central``, ``high_public``),
the survey given as its :class:`~estimators.surveys.base.SurveyConfig`.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import xarray as xr

from estimators.inference.catalog import estimate_catalog
from estimators.scale.schedulers import dask_scheduler


def _active_client():
    try:
        from distributed import get_client

        return get_client()
    except (ImportError, ValueError):
        return None


def _as_dataset(result) -> xr.Dataset:
    if isinstance(result, xr.Dataset):
        return result
    if isinstance(result, dict):
        return xr.Dataset({k: ((), v) if np.ndim(v) == 0 else v for k, v in result.items()})
    raise TypeError(
        f"a study function must return an xarray Dataset or a dict, not {type(result).__name__}"
    )


def _call(item, function, shared):
    return _as_dataset(function(item, shared))


def run_study(
    function,
    items,
    *,
    shared=None,
    scheduler=None,
    progress=None,
    dim="item",
    labels=None,
    partitions=None,
) -> xr.Dataset:
    """``function(item, shared)`` for every item on Dask, gathered along ``dim``.

    Parameters
    ----------
    function : callable
        Returns an ``xarray.Dataset`` or a dict of scalars (or of
        ``(dims, array)`` pairs); must be importable by the workers (a
        module-level function).
    items : sequence
        One task each (seeds, sample indices, variant names, file paths).
    shared : object, optional
        Read-only input of every call (a population, margins), shipped once
        per worker.
    scheduler : {"threads", "processes", "synchronous"}, address or None
        As ``--scheduler``; None: the active scheduler (a registered Client,
        else threads).
    progress : bool, optional
        Dask's progress bar (default: when stderr is a terminal, as the CLI's
        ``--quiet`` rule).
    dim : str
        Name of the new dimension; its coordinate is ``labels`` or the items.
    partitions : int, optional
        Bag partitions on the local schedulers (default: one per item up to 100).

    Returns
    -------
    xarray.Dataset
    """
    items = list(items)
    show = sys.stderr.isatty() if progress is None else bool(progress)
    with dask_scheduler(
        scheduler, progress=show and scheduler in (None, "threads", "synchronous")
    ):
        client = _active_client()
        if client is not None:
            from distributed import progress as distributed_progress

            shared_future = client.scatter(shared, broadcast=True) if shared is not None else None
            futures = client.map(_call, items, function=function, shared=shared_future, pure=False)
            if show:
                distributed_progress(futures)
            results = client.gather(futures)
        else:
            import dask.bag as db

            bag = db.from_sequence(items, npartitions=partitions or min(len(items), 100))
            results = bag.map(_call, function=function, shared=shared).compute()
    index = pd.Index(labels if labels is not None else items, name=dim)
    return xr.concat(results, dim=index)


def _variant_keyrates(variant, settings):
    """Key-rate catalog of a bundled survey under one variant: its design of
    the variant, raked to the variant's margins when it is calibrated."""
    survey = settings["survey"]
    design = survey.design(survey.load(), variant)
    if survey.calibrated:
        design = design.calibrate(survey.margins(variant), tol=settings["tol"])
    variance = survey.variance or settings["variance"]  # a survey's own method first
    if variance != "linearization":
        design = design.with_replicates(
            variance, replicates=settings["replicates"], seed=settings["seed"]
        )
    rates = (
        survey.catalog
        if settings["rates"] is None
        else [survey.get_rate(r) for r in settings["rates"]]
    )
    return estimate_catalog(design, rates, settings["domains"]).to_dataset()


def margin_variant_keyrates(
    survey,
    variants=None,
    *,
    variance="linearization",
    replicates=1000,
    seed=20170602,
    domains=None,
    rates=None,
    tol=1e-10,
    scheduler=None,
    progress=None,
) -> xr.Dataset:
    """The key-rate catalog (or the ``rates`` ids) of ``survey`` under each of
    its variants (register-margin variants of a calibrated survey, design
    variants of one that is not), one task each, gathered along ``variant``
    (the report's sensitivity study at scale).

    Parameters
    ----------
    survey : estimators.surveys.base.SurveyConfig
        E.g. ``estimators.surveys.employers.SURVEY``.
    variants : sequence of str, optional
        Default: every variant of the survey (``survey.variants``).
    domains : sequence of str, optional
        Default: the survey's forest-plot domains (``survey.forest_domains``).
    variance, replicates, seed, tol
        The design of each task (raking to the variant's margins, if any;
        a survey with its own ``variance`` method keeps it).
    rates : sequence of str, optional
        Rate ids (default: the whole catalog).
    scheduler, progress
        As :func:`run_study`.
    """
    settings = {
        "survey": survey,
        "variance": variance,
        "replicates": replicates,
        "seed": seed,
        "domains": list(domains or survey.forest_domains),
        "rates": rates,
        "tol": tol,
    }
    return run_study(
        _variant_keyrates,
        list(variants or survey.variants),
        shared=settings,
        scheduler=scheduler,
        progress=progress,
        dim="variant",
    )


__all__ = ["margin_variant_keyrates", "run_study"]
