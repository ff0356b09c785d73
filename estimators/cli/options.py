"""Option groups shared by several subcommands (same name, same meaning:
``../shared/CLI.md``)."""
from __future__ import annotations

import argparse
from contextlib import contextmanager, nullcontext

from estimators.inference.ci import ALIASES, PROPORTION_METHODS

VARIANCES = ("bootstrap", "jkn", "jk1", "linearization")


def add_design_arguments(p: argparse.ArgumentParser) -> None:
    """``--id --weight --strata --psu --fpc``."""
    p.add_argument("--id", default="id", metavar="COL", help="unit identifier (default id)")
    p.add_argument("--weight", metavar="COL", help="base weight column (default N/n)")
    p.add_argument("--strata", metavar="COL", help="stratum column")
    p.add_argument("--psu", metavar="COL", help="primary sampling unit column")
    p.add_argument("--fpc", metavar="COL",
                   help="population count per stratum (or sampling fraction if <= 1)")


def add_variance_arguments(p: argparse.ArgumentParser, default: str) -> None:
    """``--variance --replicates --seed``: replicates made in this process."""
    p.add_argument("--variance", choices=VARIANCES, default=default,
                   help=f"variance method when no replicate file is given (default {default})")
    add_replicate_arguments(p)


def add_replicate_arguments(p: argparse.ArgumentParser) -> None:
    """``--replicates --seed`` (the RNG contract of ``../shared/CLI.md``)."""
    p.add_argument("--replicates", type=replicate_count, default=1000, metavar="B",
                   help="number of bootstrap replicates (default 1000)")
    p.add_argument("--seed", type=int, default=20170602, metavar="S",
                   help="random seed (default 20170602)")


def add_scheduler_argument(p: argparse.ArgumentParser) -> None:
    """``--scheduler``: replicates on Dask (default: in-process, no Dask)."""
    p.add_argument("--scheduler", metavar="threads|processes|ADDRESS",
                   help="run replicate draws, re-calibration and replicate totals "
                        "chunked on Dask: its threaded scheduler, a LocalCluster of "
                        "processes, or an existing dask-scheduler's address "
                        "(default: in-process; the numbers are the same)")


@contextmanager
def scheduler_context(scheduler):
    """The Dask scheduler of ``--scheduler`` for the ``with`` block (nothing
    without it, so that the in-process path never imports dask)."""
    if scheduler is None:
        with nullcontext():
            yield
        return
    from estimators.scale import dask_scheduler

    with dask_scheduler(scheduler):
        yield


def make_replicates(design, scheduler, method, **kwargs):
    """``design.with_replicates(method, **kwargs)``, chunked on Dask under
    ``--scheduler`` (call inside ``scheduler_context``)."""
    if scheduler is None:
        return design.with_replicates(method, **kwargs)
    from estimators.scale import with_replicates_chunked

    return with_replicates_chunked(design, method, **kwargs)


def add_ci_argument(p: argparse.ArgumentParser) -> None:
    """``--ci``: interval method for proportions."""
    p.add_argument("--ci", default="logit", choices=PROPORTION_METHODS + tuple(ALIASES),
                   help="CI method for proportions (default logit)")


def add_level_argument(p: argparse.ArgumentParser) -> None:
    """``--level``."""
    p.add_argument("--level", type=confidence_level, default=0.95,
                   help="confidence level (default 0.95)")


def replicate_count(text: str) -> int:
    value = int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"need at least 2 replicates (got {text})")
    return value


def confidence_level(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"level must be between 0 and 1 (got {text})")
    return value
