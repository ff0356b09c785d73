"""The report's printed numbers and its rounding rule, for every survey.

Each survey package bundles its part of ``shared/survey/published_tables.json``
(every question, routing rule and printed number, with line references) as
``data/published_<survey>.json`` and reads it with :func:`load_published`.
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from pathlib import Path

from estimators.inference.catalog import report_round


@cache
def load_published(path: Path) -> dict:
    """A survey's published tables, as bundled beside its data."""
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def report_percent(n: int, base: int, decimals: int) -> Decimal:
    """A percentage as the report prints it.

    The report rounds twice: half up to ``decimals + 1`` places, then half up
    to ``decimals`` (this reproduces 179 of its 184 count-backed percentages;
    a single rounding reproduces 171). Exact decimal arithmetic, so
    ``report_percent(52, 55, 1) == Decimal('94.6')``.
    """
    if base <= 0:
        raise ValueError(f"percentage base must be positive, got {base}")
    return report_round(Decimal(100 * int(n)) / Decimal(int(base)), decimals)


def count_range(percent: float, base: int, decimals: int = 0) -> list[int]:
    """All counts ``n`` of ``base`` that the report would print as ``percent``."""
    target = Decimal(str(percent)).quantize(Decimal(1).scaleb(-decimals))
    return [n for n in range(base + 1) if report_percent(n, base, decimals) == target]


def parse_printed(text: str) -> tuple[Decimal, int] | None:
    """``'29,7 %'`` -> (Decimal('29.7'), 1); ``'46 prosent'`` -> (46, 0).

    Returns None when the string holds no number (``'omtrent like viktig'``).
    Number words used by the report (``'Åtte'``) are understood.
    """
    words = {"åtte": "8"}
    for token in text.split():
        token = words.get(token.lower(), token.strip("%*()").replace(",", "."))
        try:
            value = Decimal(token)
        except ArithmeticError:
            continue
        exponent = value.as_tuple().exponent
        if not isinstance(exponent, int):  # 'n', 'N', 'F': NaN or infinite
            continue
        return value, (-exponent if exponent < 0 else 0)
    return None
