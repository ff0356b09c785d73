"""Population margins: categorical tables and numeric totals.

A :class:`Margin` gives the population count of every category of one sample
variable, or of every combination of several crossed variables (e.g.
``sector × size_class``). A :class:`NumericTotal` gives the population total
of a numeric variable (e.g. employees), with any distance; it rules out
collapsing rows into cells of identical units (the rows are then the
solver's units).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from weighting.columns import canonical
from weighting.errors import MarginError, shown


class Margin:
    """Population counts over the categories of one variable or a cross.

    Parameters
    ----------
    variables : str or tuple of str
        The sample column(s) the margin is defined on.
    table : mapping
        ``{category: total}`` for one variable, ``{(cat_1, ..., cat_r): total}``
        for a cross of r variables. Categories are compared as canonical text
        (``1`` and ``1.0`` and ``"1"`` are the same category). Totals are
        numbers, finite and non-negative; text (``"5"``) is a MarginError.
    name : str, optional
        Label used in messages; defaults to the variables joined by ``*``.
    """

    def __init__(
        self, variables: str | Sequence[str], table: Mapping[Any, float], name: str | None = None
    ) -> None:
        self.variables = (variables,) if isinstance(variables, str) else tuple(variables)
        if not self.variables:
            raise MarginError("a margin needs at least one variable")
        self.name = name or "*".join(self.variables)
        r = len(self.variables)
        entries: dict[tuple[str, ...], float] = {}
        for key, total in dict(table).items():
            key = key if isinstance(key, tuple) else (key,)
            if len(key) != r:
                raise MarginError(
                    f"margin {self.name!r}: category {key!r} has {len(key)} "
                    f"value(s) for {r} variable(s)"
                )
            key = tuple(canonical(k) for k in key)
            total = _number(total, f"margin {self.name!r}: category {self.label(key)}")
            if not math.isfinite(total) or total < 0:
                raise MarginError(
                    f"margin {self.name!r}: category {self.label(key)} has total "
                    f"{shown(total)} (must be finite and non-negative)"
                )
            if key in entries:
                raise MarginError(
                    f"margin {self.name!r}: category {self.label(key)} appears twice"
                )
            entries[key] = total
        if not entries:
            raise MarginError(f"margin {self.name!r} has no categories")
        self.table = entries

    @classmethod
    def from_arrays(
        cls,
        variables: str | Sequence[str],
        categories: Iterable[Any],
        totals: Iterable[float],
        name: str | None = None,
    ) -> Margin:
        """Build from parallel sequences: ``categories[i]`` (a value, or a
        tuple of values for a cross) has population count ``totals[i]``."""
        categories, totals = list(categories), list(totals)
        if len(categories) != len(totals):
            raise MarginError(f"{len(categories)} categories but {len(totals)} totals")
        keys = [tuple(c) if isinstance(c, (tuple, list)) else c for c in categories]
        return cls(variables, dict(zip(keys, totals)), name=name)

    @property
    def grand_total(self) -> float:
        return math.fsum(self.table.values())

    def scaled(self, factor: float) -> Margin:
        """The same margin with every total multiplied by ``factor``."""
        return Margin(
            self.variables, {k: v * factor for k, v in self.table.items()}, name=self.name
        )

    def label(self, key: tuple[str, ...]) -> str:
        """Readable label of one category, e.g. ``sector*size=(public, 5-19)``."""
        return f"{self.name}={_label(key)}"

    def __repr__(self) -> str:
        return f"Margin({self.name!r}, {len(self.table)} categories, total={self.grand_total:g})"


@dataclass(frozen=True)
class NumericTotal:
    """Population total of a numeric sample variable (e.g. employees), beside
    categorical margins."""

    variable: str
    total: float

    def __post_init__(self) -> None:
        total = _number(self.total, f"numeric variable {self.variable!r}")
        if not math.isfinite(total):
            raise MarginError(f"numeric total of {self.variable!r} is not finite")
        object.__setattr__(self, "total", total)

    @property
    def name(self) -> str:
        return self.variable


def _label(key: tuple[str, ...]) -> str:
    parts = [_part(part) for part in key]
    return parts[0] if len(parts) == 1 else "(" + ", ".join(parts) + ")"


def _part(category: str) -> str:
    """A category as a label shows it: plain, but quoted (``'a '``, ``''``,
    ``'a\\nb'``) when blanks at an end or a control character would be
    invisible or break a one-line message (padded text from SPSS or Excel,
    a quoted CSV field holding a newline)."""
    text = str(category)
    hidden = not text or text != text.strip() or not text.isprintable()
    return repr(text) if hidden else text


def _number(total: Any, what: str) -> float:
    """A population total as a float; a MarginError naming ``what`` when it
    is not a number.

    Text is refused although ``float("5")`` would read it: a count given as
    text is the sign of a table read without converting its numbers (margin
    files are converted by their reader, with their decimal mark).
    """
    if isinstance(total, (str, bytes)):
        raise MarginError(f"{what} has total {shown(total)}: text, not a number")
    try:
        return float(total)
    except (TypeError, ValueError):
        raise MarginError(f"{what} has total {shown(total)}, which is not a number") from None
