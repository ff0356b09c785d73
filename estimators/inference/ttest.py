"""Design-based t-tests of a mean (R ``svyttest``).

Two groups (``y ~ g``)
    The difference of the domain means ``d = ybar_2 - ybar_1`` of the second
    and first category of ``g`` (kalib's domain order: numbers numerically,
    then text; R's factor levels), its design-based SE from the covariance
    of the two domain means (:func:`estimators.inference.contrast.svycontrast`),
    ``t = d / se`` on ``degf - 1`` degrees of freedom, the two-sided
    ``p = 2 P(T > |t|)`` and the interval ``d +- t_{df} se``.

    R's ``svyttest`` fits ``svyglm(y ~ g, family = gaussian())`` and reports
    the coefficient of ``g`` with the model's residual df ``degf + 1 - 2``.
    That coefficient *is* the difference of the domain means, and its
    linearized (or replicate) variance is that of the difference (the
    regression's estimating equations are the two domain means'), so the two
    agree to rounding; ``degf`` is R's ``degf`` of the design restricted to
    the rows in the fit (PSUs minus strata among the rows with ``y`` and
    ``g``; with replicates, the design's ``degf``).
One sample (``y ~ 0`` or ``y ~ 1``)
    The mean against 0, on ``degf - 1`` df (R).

Differences from R: rows with a missing ``y`` or ``g`` are left out of the
domains (R's ``svyglm``; the one-sample test of R gives NA instead); the
confidence ``level`` can be chosen (R fixes 0.95); a group with other than
two categories raises :class:`TTestError` (R: "group must be binary"). With
replicates and missing values, kalib keeps the design's ``degf`` where R
would recompute the rank of the replicate weights of the rows kept.

References
----------
Lumley, T. (2010). Complex Surveys: A Guide to Analysis Using R, ch. 3. Wiley
(R package ``survey``: ``svyttest``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from estimators.inference.contrast import item_estimates, svycontrast
from estimators.inference.domains import text_column
from estimators.inference.estimate import Item, mean_items
from estimators.inference.tables import categories
from weighting.errors import KalibError

TTEST_COLUMNS = [
    "variable",
    "group",
    "first",
    "second",
    "estimate",
    "se",
    "t",
    "df",
    "p",
    "ci_low",
    "ci_high",
    "level",
]


class TTestError(KalibError):
    """A t-test cannot be formed: a malformed formula, or a group without
    exactly two categories (names the group and its categories)."""


@dataclass(frozen=True)
class TTest:
    """A design-based t-test (R ``svyttest``'s ``htest``).

    ``estimate`` is the difference in means ``second - first`` (or the mean,
    one-sample), ``statistic`` its t, ``df`` the degrees of freedom,
    ``p_value`` two-sided, ``conf_int`` the interval at ``level``.
    """

    variable: str
    group: str | None
    first: str | None
    second: str | None
    estimate: float
    se: float
    statistic: float
    df: float
    p_value: float
    conf_int: tuple
    level: float

    @property
    def method(self) -> str:
        return (
            "Design-based t-test" if self.group is not None else "Design-based one-sample t-test"
        )

    def frame(self) -> pd.DataFrame:
        """One row with ``TTEST_COLUMNS``."""
        return pd.DataFrame(
            [
                [
                    self.variable,
                    self.group,
                    self.first,
                    self.second,
                    self.estimate,
                    self.se,
                    self.statistic,
                    self.df,
                    self.p_value,
                    self.conf_int[0],
                    self.conf_int[1],
                    self.level,
                ]
            ],
            columns=TTEST_COLUMNS,
        )

    def __str__(self) -> str:
        what = (
            f"{self.variable} by {self.group}: {self.second} - {self.first}"
            if self.group is not None
            else f"mean of {self.variable}"
        )
        return (
            f"{self.method}, {what}\n"
            f"t = {self.statistic:.4f}, df = {self.df:g}, p = {self.p_value:.4g}\n"
            f"estimate {self.estimate:.6g}, {100 * self.level:g}% CI "
            f"[{self.conf_int[0]:.6g}, {self.conf_int[1]:.6g}]"
        )


def svyttest(
    design, formula: str, group: str | None = None, *, where=None, level: float = 0.95
) -> TTest:
    """Design-based t-test of a mean (R ``svyttest``); see the module docstring.

    Parameters
    ----------
    design : weighting.design.Design
    formula : str
        ``"y ~ g"`` (two groups), ``"y ~ 0"`` / ``"y ~ 1"`` (one sample), or
        just ``"y"`` with ``group``.
    group : str, optional
        The grouping variable when ``formula`` is a variable name.
    where : Condition, optional
        Subpopulation (still on the full design).
    level : float

    Returns
    -------
    TTest
    """
    y, group = _parse(formula, group)
    item = mean_items(design, [y])[0]
    rows = item.base.copy()
    if where is not None:
        rows &= where.mask(design.data)
    if group is None:
        est = item_estimates(design, [Item(y, item.num, item.den, rows, "mean")], present=rows)
        first = second = None
        contrast = [1.0]
    else:
        text = text_column(design.data, group)
        rows &= text.notna().to_numpy()
        levels = categories(design.data, group, rows)
        if len(levels) != 2:
            raise TTestError(
                f"group {group!r} has {len(levels)} categories among the rows "
                f"with {y!r} ({', '.join(map(repr, levels[:6]))}); a t-test "
                f"compares two"
            )
        first, second = levels
        est = item_estimates(
            design,
            [
                Item(
                    f"{y}|{group}={lev}",
                    item.num,
                    item.den,
                    rows & (text == lev).to_numpy(),
                    "mean",
                )
                for lev in levels
            ],
            present=rows,  # R's svyglm(y ~ g) drops the other rows
        )
        contrast = [-1.0, 1.0]
    est = dataclasses.replace(est, df=float(_degf(design, rows) - 1))
    row = svycontrast(est, contrast).frame(level).iloc[0]
    return TTest(
        y,
        group,
        first,
        second,
        float(row["estimate"]),
        float(row["se"]),
        float(row["t"]),
        float(row["df"]),
        float(row["p"]),
        (float(row["ci_low"]), float(row["ci_high"])),
        level,
    )


def _parse(formula: str, group):
    """``(y, group)`` from ``"y ~ g"``, ``"y ~ 0"``, ``"y ~ 1"`` or ``"y"``."""
    if "~" not in formula:
        return formula.strip(), group
    if group is not None:
        raise TTestError(f"give the group in the formula {formula!r} or as group=, not both")
    left, _, right = (part.strip() for part in formula.partition("~"))
    if not left or not right or "~" in right or "+" in right:
        raise TTestError(f"formula {formula!r} is not 'y ~ group', 'y ~ 0' or 'y ~ 1'")
    return left, None if right in ("0", "1") else right


def _degf(design, rows) -> int:
    """R's ``degf`` of the design restricted to ``rows`` (module docstring)."""
    if design.replicates is not None:
        return int(design.degf)
    used = rows & (design.weights != 0)
    return len(np.unique(design.psu[used])) - len(np.unique(design.strata[used]))
