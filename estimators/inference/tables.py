"""Weighted tables of any cross, with standard errors (R ``svytable``,
``svytotal``/``svymean`` of an ``interaction``).

A *cell* is one combination of categories of the crossed variables; every
combination of the categories present is a cell, empty ones included (as R's
``interaction`` of factors). The rows that enter a table are those that
answered every crossed variable (and satisfy ``where``); the others stay in
the design with zero indicators (domain estimation, never dropped rows).

* :func:`svytable` — weighted counts ``sum_i w_i 1[i in cell]`` (R
  ``svytable``, which gives no SE).
* :func:`cell_estimates` — the cells' weighted totals, or their shares of the
  table (R ``svytotal``/``svymean(~interaction(A, B), D)``), with their full
  covariance (linearization or replicates), ready for
  :func:`estimators.inference.contrast.svycontrast`.
* :func:`cell_table` — the tidy table with SEs and intervals, by domain: one
  row per cell with its unweighted count, weighted count and SE, share of the
  table and SE, and the share's logit interval (the ``kalib crosstab``
  columns, for any number of variables).

Differences from R: cells are named by kalib's domain convention, the
categories joined by ``*`` (``"E*No"``; R: ``interaction(stype,
sch.wide)E.No``) and ordered with the first variable varying slowest, as
kalib's crossed domains (R's ``interaction`` varies the first fastest);
categories are in kalib's domain order (numbers numerically, then text).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from estimators.inference.contrast import Estimates, item_estimates
from estimators.inference.domains import ALL, domain_codes, text_column
from estimators.inference.estimate import Item, estimate_items
from weighting.errors import KalibError

CELL_COLUMNS = [
    "n",
    "weighted_count",
    "weighted_count_se",
    "proportion",
    "proportion_se",
    "ci_low",
    "ci_high",
]


def categories(data, variable: str, rows=None) -> list:
    """The categories (canonical text) of ``variable`` present in ``rows``
    (all rows by default), missing values left out, in kalib's domain order."""
    return _levels(text_column(data, variable), variable, rows)


def _levels(text, variable, rows):
    keep = text.notna().to_numpy() if rows is None else text.notna().to_numpy() & rows
    if not keep.any():
        raise KalibError(f"variable {variable!r} has no answers in the rows of the table")
    return domain_codes({variable: text[keep].to_numpy()}, variable)[1]


def svytable(design, variables, where=None) -> pd.Series:
    """Weighted counts of the cross of ``variables`` (R ``svytable``).

    Parameters
    ----------
    design : weighting.design.Design
        Its analysis weights (calibrated, if calibrated) are summed.
    variables : str or sequence of str
    where : Condition, optional

    Returns
    -------
    pandas.Series ``weighted_count`` indexed by the categories (a MultiIndex
    for several variables; ``.unstack()`` gives R's two-way table).
    """
    cells = _Cells(design, variables, where)
    counts = np.bincount(
        cells.code[cells.answered], design.weights[cells.answered], minlength=len(cells.labels)
    )
    return pd.Series(counts, index=cells.index(), name="weighted_count")


def cell_estimates(design, variables, statistic: str = "total", where=None) -> Estimates:
    """Totals (``"total"``) or shares of the table (``"mean"``) of the cells,
    with their full covariance (R ``svytotal`` / ``svymean`` of
    ``interaction(...)``); named ``"a*b"`` (module docstring)."""
    if statistic not in ("total", "mean"):
        raise KalibError(f"statistic must be 'total' or 'mean', not {statistic!r}")
    cells = _Cells(design, variables, where)
    return item_estimates(design, cells.items("total" if statistic == "total" else "proportion"))


def cell_table(design, variables, by=(ALL,), where=None, level: float = 0.95) -> pd.DataFrame:
    """The cross of ``variables`` with SEs, for the whole sample and by domain.

    Parameters
    ----------
    design : weighting.design.Design
    variables : str or sequence of str
    by : sequence of str
        Domain specifications (``"all"``, a column, a cross ``"A*B"``).
    where : Condition, optional
    level : float

    Returns
    -------
    pandas.DataFrame
        ``domain_var, domain``, one column per variable (its category), then
        ``n`` (unweighted count), ``weighted_count``, ``weighted_count_se``,
        ``proportion`` (share of the domain's table), ``proportion_se`` and
        the share's logit interval ``ci_low, ci_high`` (R ``svyciprop``).
    """
    cells = _Cells(design, variables, where)
    # the items' base holds ``where`` already
    shares = estimate_items(design, cells.items("proportion"), by, None, "logit", level).frame
    totals = estimate_items(design, cells.items("total"), by, None, "logit", level).frame
    per_domain = len(shares) // len(cells.labels)
    combos = pd.DataFrame(list(cells.combos) * per_domain, columns=cells.variables)
    table = pd.concat([shares[["domain_var", "domain"]], combos], axis=1)
    table["n"] = np.rint(shares["unweighted"] * shares["n"]).astype(np.int64)
    table["weighted_count"] = totals["estimate"]
    table["weighted_count_se"] = totals["se"]
    table["proportion"] = shares["estimate"]
    table["proportion_se"] = shares["se"]
    table["ci_low"] = shares["ci_low"]
    table["ci_high"] = shares["ci_high"]
    return table


class _Cells:
    """The cells of a cross: ``variables``, ``combos`` (their categories, the
    first variable slowest), ``labels`` (``"a*b"``), each row's cell ``code``
    and the rows that ``answered`` every variable (and satisfy ``where``)."""

    def __init__(self, design, variables, where):
        self.variables = [variables] if isinstance(variables, str) else list(variables)
        if not self.variables:
            raise KalibError("a table needs at least one variable")
        texts = [text_column(design.data, v) for v in self.variables]
        answered = np.logical_and.reduce([t.notna().to_numpy() for t in texts])
        if where is not None:
            answered &= where.mask(design.data)
        levels = [_levels(t, v, answered) for t, v in zip(texts, self.variables)]
        self.combos = list(itertools.product(*levels))
        self.labels = ["*".join(c) for c in self.combos]
        code = np.zeros(design.n, dtype=np.int64)
        for text, cats in zip(texts, levels):
            position = {c: k for k, c in enumerate(cats)}
            code = code * len(cats) + text.map(position).fillna(0).to_numpy(np.int64)
        self.code, self.answered, self.n = code, answered, design.n

    def index(self):
        if len(self.variables) == 1:
            return pd.Index([c[0] for c in self.combos], name=self.variables[0])
        return pd.MultiIndex.from_tuples(self.combos, names=self.variables)

    def items(self, kind: str) -> list:
        """One item per cell: its indicator's total, or its share of the
        answered rows (``kind="proportion"``)."""
        ones = np.ones(self.n)
        return [
            Item(
                label,
                (self.answered & (self.code == k)).astype(np.float64),
                None if kind == "total" else ones,
                self.answered,
                kind,
            )
            for k, label in enumerate(self.labels)
        ]
