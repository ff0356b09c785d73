"""Differences between domains with their covariance kept.

The difference ``theta_a - theta_b`` of an estimate in two domains (public −
private, smallest − largest size class) has variance
``Var_a + Var_b - 2 Cov_ab``; the covariance comes from the same replicates
(or the same linearization) as the variances, because both domains are
estimated on the full design. For replicates, the contrast of R's ``svrVar``
covariance equals ``svrVar`` of the replicate differences (it is linear), so
this is R's ``svycontrast(svyby(..., covmat = TRUE), c(1, -1))``.

The interval is ``d +- t_df se`` with the design degrees of freedom; the
two-sided p-value tests ``d = 0`` on the same t distribution.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from estimators.inference.ci import wald_ci
from estimators.inference.estimate import domain_covariance
from weighting.errors import KalibError

DIFFERENCE_COLUMNS = ["variable", "domain_var", "first", "second", "estimate", "se",
                      "ci_low", "ci_high", "df", "t", "p"]


def domain_difference(design, items, spec, first, second, level=0.95,
                      restrict=None) -> pd.DataFrame:
    """``theta(first) - theta(second)`` for each item across domains of ``spec``.

    Parameters
    ----------
    design : weighting.design.Design
    items : list of estimators.inference.estimate.Item
    spec : str
        Domain variable or cross (``"sector"``, ``"size_class"``).
    first, second : str
        Domain labels.
    level : float
    restrict : bool array, optional
        A ``--where`` subpopulation (still on the full design).

    Returns
    -------
    pandas.DataFrame with ``DIFFERENCE_COLUMNS``.
    """
    theta, cov, labels, _ = domain_covariance(design, items, spec, restrict)
    missing = [x for x in (first, second) if x not in labels]
    if missing:
        raise KalibError(f"domain {missing[0]!r} is not a category of {spec!r} "
                         f"(categories: {', '.join(labels)})")
    a, b = labels.index(first), labels.index(second)
    m = len(items)
    rows = []
    df = float(design.degf)
    for j, item in enumerate(items):
        ia, ib = a * m + j, b * m + j
        d = theta[a, j] - theta[b, j]
        se = float(np.sqrt(cov[ia, ia] + cov[ib, ib] - 2 * cov[ia, ib]))
        low, high = wald_ci(d, se, df, level)
        t = d / se
        rows.append((item.rate or item.variable, spec, first, second, d, se, float(low),
                     float(high), df, t, float(2 * stats.t.sf(abs(t), df))))
    return pd.DataFrame(rows, columns=DIFFERENCE_COLUMNS)
