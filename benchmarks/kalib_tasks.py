"""kalib's side of the benchmark tasks, written once for the suites and peers.py.

Each task is what an analyst's script does with kalib's public API, starting
from integer-coded columns (a pandas DataFrame: the estimators take the row
count from ``len(data)``) and margin tables:

* :func:`rake` -- raking to the sector x size (8 cells) and NACE (12 cells)
  margins to tol 1e-10 (Deville & Särndal 1992, the raking distance);
* :func:`bootstrap_domain_means` -- B Rao-Wu-Yue rescaling bootstrap
  replicates within strata (Rao, Wu & Yue 1992), each re-raked to the same
  margins, then the means of the 5 outcomes overall, by sector and by size
  class with replicate standard errors: through ``estimators.inference.estimate`` (the
  analyst's API, with CIs and design effects), or with ``engine=True``
  straight from the fused replicate totals of ``weighting.Design`` (the
  engine alone: ratio means and R's ``svrVar`` variance, nothing else);
* :func:`linearized_domain_means` -- on the raked design, the means of the 5
  outcomes in the 115 domains of ``MANY_DOMAINS`` (overall, 2 sectors, 4 size
  classes, 12 NACE groups, 96 sector x size x NACE cells) with
  linearization standard errors through the raking (Deville & Särndal 1992;
  R's ``svyby(..., svymean)`` on a ``calibrate``d design), CIs, design
  effects and flags;
* :func:`analyst_domain_means` -- the analyst's call at survey size: 5 means
  x 15 domains (overall, sector, size class, sector x size class) with
  CIs and flags from the design's bootstrap replicates.
"""

from __future__ import annotations

import numpy as np
from workloads import OUTCOMES

from weighting.margins import Margin

DOMAINS = ("all", "sector", "size_class")
MANY_DOMAINS = ("all", "sector", "size_class", "nace", "sector*size_class*nace")
ANALYST_DOMAINS = ("all", "sector", "size_class", "sector*size_class")


def margins(tables: dict[str, dict]) -> list[Margin]:
    """kalib margins from :meth:`workloads.Workload.margin_tables`."""
    return [
        Margin(("sector", "size_class"), tables["sector_size"]),
        Margin("nace", tables["nace"]),
    ]


def rake(columns, margin_list, tol=1e-10, distance="raking", bounds=None):
    """Calibrate the base weights ``columns["weight"]``; the CalibrationResult."""
    from weighting.calibrate import calibrate

    return calibrate(
        columns,
        margin_list,
        base_weights=columns["weight"],
        distance=distance,
        bounds=bounds,
        tol=tol,
    )


def raked_design(columns, margin_list, tol=1e-10, psu=None):
    """The design (strata, base weights, PSUs if given, numbered within strata:
    nest) raked to the margins."""
    from weighting.design import Design

    design = Design(columns, weights="weight", strata="stratum", psu=psu, nest=True)
    return design.calibrate(margin_list, tol=tol)


def replicate_design(
    columns, margin_list, method="bootstrap", replicates=500, seed=20170602, tol=1e-10, psu=None
):
    """A raked design with re-raked replicates (bootstrap, or JKn with ``psu``)."""
    design = raked_design(columns, margin_list, tol, psu)
    return design.with_replicates(method, replicates=replicates, seed=seed)


def domain_means(design):
    """Means of the 5 outcomes overall, by sector and by size class, with
    standard errors from the design's replicates (``estimators.inference.estimate``:
    ratio of domain totals, R's ``svrVar`` rule), CIs and design effects."""
    from estimators.inference.estimate import svymean

    return _read(svymean(design, list(OUTCOMES), by=DOMAINS))


def linearized_domain_means(design):
    """Means of the 5 outcomes in the 115 domains of ``MANY_DOMAINS`` with
    linearization SEs (the design without replicates), CIs, deff and flags."""
    from estimators.inference.estimate import svymean

    return _read(svymean(design, list(OUTCOMES), by=MANY_DOMAINS))


def analyst_domain_means(design):
    """Means of the 5 outcomes in the 15 domains of ``ANALYST_DOMAINS``."""
    from estimators.inference.estimate import svymean

    return _read(svymean(design, list(OUTCOMES), by=ANALYST_DOMAINS))


def _read(results):
    """``results`` with their frame made: the estimators make it on first
    use, and the suites time the estimates as an analyst reads them."""
    _ = results.frame
    return results


def engine_domain_means(design, columns) -> dict:
    """``{domain: (means, se)}`` ((groups, 5) arrays) from the replicate totals.

    One fused pass gives the replicate totals of the 8 sector x size cells;
    each domain sums its cells. Each mean is the ratio of the domain's
    weighted totals of y and of 1; its variance ``scale * sum_b rscales_b
    (theta_b - centre)^2`` (R's ``svrVar``).
    """
    from estimators.inference.variance import replicate_covariance

    k = len(OUTCOMES)
    values = np.column_stack(
        [np.asarray(columns[y], dtype=np.float64) for y in OUTCOMES] + [np.ones(design.n)]
    )
    sector = np.asarray(columns["sector"], dtype=np.int64)
    size = np.asarray(columns["size_class"], dtype=np.int64)
    cell = sector * 4 + size
    cells_full = np.stack(
        [np.bincount(cell, design.weights * v, minlength=8) for v in values.T], axis=1
    )  # (8, k + 1)
    cells_reps = design.replicate_totals(values, cell, 8)  # (B, 8, k + 1)
    members = {
        "all": np.ones((1, 8)),
        "sector": np.kron(np.eye(2), np.ones(4)),
        "size_class": np.tile(np.eye(4), 2),
    }
    out = {}
    for domain in DOMAINS:
        full, reps = members[domain] @ cells_full, members[domain] @ cells_reps
        theta, theta_reps = full[:, :k] / full[:, k:], reps[:, :, :k] / reps[:, :, k:]
        cov = replicate_covariance(
            theta.ravel(),
            theta_reps.reshape(len(reps), -1),
            design.scale,
            design.rscales,
            design.mse,
        )
        out[domain] = (theta, np.sqrt(np.diag(cov)).reshape(theta.shape))
    return out


def bootstrap_domain_means(
    columns, margin_list, replicates=500, seed=20170602, tol=1e-10, engine=False
):
    """The bootstrap task end to end: replicates, re-raking, domain means + SEs."""
    design = replicate_design(columns, margin_list, "bootstrap", replicates, seed, tol)
    return engine_domain_means(design, columns) if engine else domain_means(design)
