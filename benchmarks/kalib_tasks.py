"""kalib's side of the benchmark tasks, written once for the suites and peers.py.

Each task is what an analyst's script does with kalib's public API, starting
from integer-coded columns (a pandas DataFrame: the estimators take the row
count from ``len(data)``) and margin tables:

* :func:`rake` -- raking to the sector x size (8 cells) and NACE (12 cells)
  margins to tol 1e-10 (Deville & Särndal 1992, the raking distance);
* :func:`bootstrap_domain_means` -- B Rao-Wu-Yue rescaling bootstrap
  replicates within strata (Rao, Wu & Yue 1992), each re-raked to the same
  margins, then the means of the 5 outcomes overall, by sector and by size
  class with replicate standard errors.
"""
from __future__ import annotations

from weighting.margins import Margin
from workloads import OUTCOMES

DOMAINS = ("all", "sector", "size_class")


def margins(tables: dict[str, dict]) -> list[Margin]:
    """kalib margins from :meth:`workloads.Workload.margin_tables`."""
    return [Margin(("sector", "size_class"), tables["sector_size"]),
            Margin("nace", tables["nace"])]


def rake(columns, margin_list, tol=1e-10, distance="raking", bounds=None):
    """Calibrate the base weights ``columns["weight"]``; the CalibrationResult."""
    from weighting.calibrate import calibrate

    return calibrate(columns, margin_list, base_weights=columns["weight"],
                     distance=distance, bounds=bounds, tol=tol)


def replicate_design(columns, margin_list, method="bootstrap", replicates=500,
                     seed=20170602, tol=1e-10, psu=None):
    """A raked design with re-raked replicates (bootstrap, or JKn with ``psu``)."""
    from weighting.design import Design

    design = Design(columns, weights="weight", strata="stratum", psu=psu)
    design = design.calibrate(margin_list, tol=tol)
    return design.with_replicates(method, replicates=replicates, seed=seed)


def domain_means(design):
    """Means of the 5 outcomes overall, by sector and by size class, with
    standard errors from the design's replicates (``estimators.estimate``:
    ratio of domain totals, R's ``svrVar`` rule), CIs and design effects."""
    from estimators.estimate import svymean

    return svymean(design, list(OUTCOMES), by=DOMAINS)


def bootstrap_domain_means(columns, margin_list, replicates=500, seed=20170602, tol=1e-10):
    """The bootstrap task end to end: replicates, re-raking, domain means + SEs."""
    design = replicate_design(columns, margin_list, "bootstrap", replicates, seed, tol)
    return domain_means(design)
