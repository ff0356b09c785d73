"""How chapter 7 states its numbers, read as intervals of the exact share.

Chapter 7 has no table with bar values: its numbers are percentages in the
text, many of them words ("drøyt 80", "nær 60", "tre av ti", "et flertall").
Every stated number is read here as an interval of the exact share
``100 n / base`` that it is consistent with; the reconstruction is built
inside these intervals and the tests check them (``ai_staff_decisions.md``,
"Reading the text's numbers").

========================================  ==========================  =====================
printed                                   qualifier                   exact share p
========================================  ==========================  =====================
"84 prosent", "96,5 prosent"              none                        prints as X under the
                                                                      report's double
                                                                      rounding: X - 0.55 u
                                                                      <= p < X + 0.45 u
                                                                      (u = 10^-decimals)
"cirka / om lag / rundt X"                ``approximately``           X - 2 <= p <= X + 2
"nær X"                                   ``slightly_less_than_or_    X - 2 <= p <= X + 0.5
                                          about``
"over X", "drøyt X"                       ``more_than``               X < p <= X + 3
"tre av ti", "seks av ti", "halvparten"   ``verbal`` (with a number)  X - 2 <= p <= X + 2
"et flertall"                             ``verbal``                  50 < p <= 100
"relativt lik"                            ``verbal`` (no number)      no interval
========================================  ==========================  =====================

The two-point band of "cirka" and of the number words is the one the
employer survey's tests use for "nær"/"nesten"/"rundt"; "drøyt" gets three
points because the Kortrapport's "drøyt 60" and chapter 7's "om lag 62"
describe the same share (A-62-60).

Each interval also has a *target*, the share the reconstruction aims at: the
printed number itself, or the middle of a qualifier's band ("drøyt 80" ->
81.5 %, "nær 60" -> 59.25 %); :meth:`Interval.nearest` is the count of a
base closest to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from estimators.surveys.published import parse_printed

#: Half-widths (below, above) of the qualifier bands, in percentage points.
BANDS: dict[str, tuple[int | Fraction, int | Fraction]] = {
    "approximately": (2, 2),
    "slightly_less_than_or_about": (2, Fraction(1, 2)),
    "verbal": (2, 2),
}
#: "drøyt X" / "over X": above X, by at most this many points.
MORE_THAN = 3


@dataclass(frozen=True)
class Interval:
    """Exact shares (percent) consistent with a printed number.

    ``low``/``high`` are exact fractions; ``low_open``/``high_open`` say
    whether the end itself is excluded.
    """

    low: Fraction
    high: Fraction
    low_open: bool = False
    high_open: bool = False
    target: Fraction | None = None

    @property
    def aim(self) -> Fraction:
        """The target share, by default the middle of the interval."""
        return self.target if self.target is not None else (self.low + self.high) / 2

    def contains(self, n: int, base: int) -> bool:
        """Whether the exact share ``100 n / base`` lies in the interval."""
        p = Fraction(100 * int(n), int(base))
        above = p > self.low if self.low_open else p >= self.low
        below = p < self.high if self.high_open else p <= self.high
        return above and below

    def counts(self, base: int) -> tuple[int, int]:
        """The smallest and largest count of ``base`` in the interval."""
        ok = [n for n in range(base + 1) if self.contains(n, base)]
        if not ok:
            raise ValueError(f"no count of {base} lies in {self}")
        return ok[0], ok[-1]

    def nearest(self, base: int) -> int:
        """The count of ``base`` in the interval whose share is closest to
        the target (the smaller count on a tie)."""
        lo, hi = self.counts(base)
        return min(range(lo, hi + 1), key=lambda n: (abs(Fraction(100 * n, base) - self.aim), n))

    def __str__(self) -> str:
        left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
        return f"{left}{float(self.low):g}, {float(self.high):g}{right} %"


def exact(percent: float | str, decimals: int) -> Interval:
    """Shares the report prints as ``percent`` with ``decimals`` decimals:
    half up to ``decimals + 1`` places, then to ``decimals``
    (:func:`estimators.surveys.published.report_percent`)."""
    unit = Fraction(1, 10**decimals)
    x = Fraction(str(percent))
    return Interval(
        x - Fraction(55, 100) * unit, x + Fraction(45, 100) * unit, high_open=True, target=x
    )


def stated(
    percent: float | str | None, qualifier: str | None, printed: str = ""
) -> Interval | None:
    """The interval of a stated number (module table); None when the text
    gives no number ("relativt lik")."""
    if qualifier == "verbal" and "flertall" in printed.lower():
        return Interval(Fraction(50), Fraction(100), low_open=True)
    if percent is None:
        return None
    if qualifier is None:
        parsed = parse_printed(printed) if printed else None
        return exact(percent, parsed[1] if parsed is not None else 0)
    x = Fraction(str(percent))
    if qualifier == "more_than":
        return Interval(x, x + MORE_THAN, low_open=True)
    below, above = BANDS[qualifier]
    return Interval(x - below, x + above)


def cell_interval(cell: dict) -> Interval | None:
    """The interval of one published cell of ``published_tables.json``."""
    return stated(cell.get("pct"), cell.get("pct_qualifier"), cell.get("pct_printed") or "")
