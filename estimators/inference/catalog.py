"""Key-rate catalogs: declarative rates, estimated by domain, and their contrasts.

A survey's headline rates are written as data (a survey package's
``catalog.py``, e.g. ``estimators.surveys.employers.catalog.KEY_RATES``): a
*numerator* and a *base* condition on codebook ids
(:mod:`estimators.inference.domains`), the published value(s) with the number
of printed decimals, and the counts printed beside them. This module is the
engine that does not depend on the survey: the rate and published-value
types, the report's rounding rule, and the estimation of a catalog by domain
and of its domain contrasts.

A rate is the domain ratio ``sum w 1[num & base] / sum w 1[base]``: a
conditional base ("among firms with a trainee now") is a domain, estimated on
the full design like any other (never by dropping rows).

Published values are kept as fractions (0.297, not 29.7) with ``decimals`` =
printed decimals of the percentage; they are reconciled with the unweighted
estimate by the report's double rounding (:func:`report_round`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from estimators.inference.contrast import domain_difference
from estimators.inference.domains import ALL, Condition, text_column
from estimators.inference.estimate import estimate_items, rate_items


@dataclass(frozen=True)
class Published:
    """A printed percentage: value in percent, its decimals and source line.

    A number stated in words ("drøyt 80", "nær 60", "seks av ti") keeps its
    nominal value in ``percent``, its wording in ``text`` and the exact shares
    it allows in ``low`` .. ``high`` (percent; how a survey reads its words,
    e.g. :mod:`estimators.surveys.ai_staff.printed`). For a mean rate
    (:attr:`KeyRate.mean_of`) ``percent`` holds the printed mean itself.
    """

    percent: float
    decimals: int
    line: int | None = None
    low: float | None = None
    high: float | None = None
    text: str = ""

    @property
    def fraction(self) -> float:
        return self.percent / 100.0

    @property
    def is_interval(self) -> bool:
        """Whether the number was stated in words, as an interval."""
        return self.low is not None


@dataclass(frozen=True)
class KeyRate:
    """One key rate: ``share of base satisfying numerator``.

    Attributes
    ----------
    id : catalog id (``section 3.1`` id, or ``id.item``).
    meaning : English description.
    numerator, base : conditions on codebook ids.
    published : the primary published value (whole sample), or None.
    published_by : ``{(domain_var, domain): Published}`` values printed for
        domains (for example Tabell 5.7 by sector).
    printed_counts : ``(numerator, base)`` counts printed in the report (or
        derived there), when any.
    mean_of : a numeric column, or None. When given, the rate is the mean
        of that column over the base (rows where it is present), estimated as
        a ratio with a t interval, and ``numerator`` is not used (pass
        ``Everyone()``).
    """

    id: str
    meaning: str
    numerator: Condition
    base: Condition
    published: Published | None = None
    published_by: dict = field(default_factory=dict)
    printed_counts: tuple | None = None
    mean_of: str | None = None

    def published_for(self, domain_var: str, domain: str) -> Published | None:
        if domain_var == ALL:
            return self.published
        return self.published_by.get((domain_var, domain))


def report_round(percent, decimals: int) -> Decimal:
    """The report's rounding: half up to ``decimals + 1``, then to ``decimals``.

    ``percent`` is a float (taken at its shortest decimal form, ``repr``) or
    an exact ``Decimal``. Rounding twice reproduces 179 of the employer
    report's 184 count-backed percentages, a single rounding 171
    (published_tables.md).
    """
    exact = percent if isinstance(percent, Decimal) else Decimal(repr(float(percent)))
    first = exact.quantize(Decimal(1).scaleb(-(decimals + 1)), rounding=ROUND_HALF_UP)
    return first.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def estimate_catalog(design, rates, domains=(ALL,), ci="logit", level=0.95):
    """Estimate every key rate for every domain.

    Parameters
    ----------
    design : weighting.design.Design
        The (calibrated) survey design; its data carry the codebook columns
        the rates' conditions name.
    rates : sequence of KeyRate
        The catalog (or part of it), e.g. a survey's ``KEY_RATES``.
    domains : sequence of str
        Domain specifications: ``"all"``, a column, or a cross ``"A*B"``.
    ci : str
        Proportion CI method (``estimators.inference.ci.proportion_ci``).
    level : float
        Confidence level.

    Returns
    -------
    estimators.inference.results.Results
        ``results.keyrates()`` has exactly the keyrates.csv columns of CLI.md:
        ``rate, variable, domain_var, domain, n, weighted_base, estimate, se,
        ci_low, ci_high, deff, flag, published, unweighted``; ``variable`` is
        the numerator condition as text, ``published`` the published fraction
        for that domain (NaN where none was printed) and ``unweighted`` the
        unweighted share in the sample.
    """
    return estimate_items(design, rate_items(design, rates), domains, None, ci, level)


def catalog_differences(design, rates, contrasts, level=0.95):
    """Domain differences of every key rate, with SE and CI from the same
    replicates or linearization (``estimators.inference.contrast.domain_difference``).

    Parameters
    ----------
    design : weighting.design.Design
    rates : sequence of KeyRate
    contrasts : sequence of ``(domain_var, first, second)``
        Each gives ``first - second``, e.g. ``("sector", "public", "private")``.
    level : float

    Returns
    -------
    DataFrame with ``estimators.inference.contrast.DIFFERENCE_COLUMNS``; rates
    whose base is empty in one of the two domains are left out.
    """
    frames = []
    for spec, first, second in contrasts:
        present = [r for r in rates if _present_in(design, r, spec, (first, second))]
        if present:
            frames.append(
                domain_difference(design, rate_items(design, present), spec, first, second, level)
            )
    return pd.concat(frames, ignore_index=True)


def _present_in(design, rate, spec, labels) -> bool:
    base = rate.base.mask(design.data)
    values = text_column(design.data, spec)
    return all(bool((base & (values == lab).to_numpy()).any()) for lab in labels)
