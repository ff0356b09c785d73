"""Row conditions and domain codes on a survey data frame.

A *condition* is a declarative test on codebook columns (``trainee_now ==
'yes'``, ``'permanent' in hired_position_type``, ``notna(x)``) that evaluates
to one boolean per row; a missing answer never satisfies an equality, so
``Equals`` behaves like SQL's ``=`` and like the report's tables. Conditions
combine with ``&``, ``|`` and ``~``.

Domains (sector, size class, a cross, an answer, a ``--where`` restriction)
are always estimated on the full design: they only select rows through an
indicator multiplied into the estimating variables, never by dropping rows,
so that standard errors keep the between-PSU variation of the domain size.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from weighting.columns import canonical
from weighting.errors import KalibError, MissingValueError

ALL = "all"


def text_column(data, name: str) -> pd.Series:
    """Column ``name`` as canonical category text (``1``, not ``1.0``); missing
    values (NaN, None, "") become ``None``."""
    if name not in data:
        raise KalibError(f"column {name!r} is not in the data")
    values = pd.Series(data[name]).reset_index(drop=True).astype(object)
    missing = values.isna() | (values == "")
    present = values[~missing]
    # canonical text once per distinct value, not once per row
    lookup = {v: _canon_or_none(v) for v in pd.unique(present)}
    text = pd.Series(None, index=values.index, dtype=object)
    text[~missing] = present.map(lookup)
    return text


def _canon_or_none(value):
    try:
        return canonical(value)
    except (TypeError, ValueError):
        return None


class Condition:
    """A boolean test per row; subclasses implement ``mask(data)``."""

    def mask(self, data) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def variables(self) -> set[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def __and__(self, other):
        return And(self, other)

    def __or__(self, other):
        return Or(self, other)

    def __invert__(self):
        return Not(self)


@dataclass(frozen=True)
class Everyone(Condition):
    """Every row (the report's ``ALL``)."""

    def mask(self, data):
        return np.ones(n_rows(data), dtype=bool)

    def variables(self):
        return set()

    def __str__(self):
        return "ALL"


@dataclass(frozen=True)
class Equals(Condition):
    """``variable == value`` compared as canonical text; missing is False."""

    variable: str
    value: object

    def mask(self, data):
        return (text_column(data, self.variable) == canonical(self.value)).to_numpy(bool)

    def variables(self):
        return {self.variable}

    def __str__(self):
        return f"{self.variable} == {canonical(self.value)!r}"


@dataclass(frozen=True)
class OneOf(Condition):
    """``variable in values`` (e.g. a grid item rated 4 or 5)."""

    variable: str
    values: tuple

    def mask(self, data):
        wanted = {canonical(v) for v in self.values}
        return text_column(data, self.variable).isin(wanted).to_numpy(bool)

    def variables(self):
        return {self.variable}

    def __str__(self):
        return f"{self.variable} in ({', '.join(canonical(v) for v in self.values)})"


@dataclass(frozen=True)
class NotMissing(Condition):
    """``notna(variable)``: the question was answered."""

    variable: str

    def mask(self, data):
        return text_column(data, self.variable).notna().to_numpy(bool)

    def variables(self):
        return {self.variable}

    def __str__(self):
        return f"notna({self.variable})"


# A multiple-response option is stored as its own column ``question.option``
# (docs/data.md); these codes mean "chosen".
_CHOSEN = {"1", "True", "yes"}


@dataclass(frozen=True)
class Chosen(Condition):
    """``'option' in question`` for a multiple-response question."""

    question: str
    option: str

    @property
    def column(self) -> str:
        return f"{self.question}.{self.option}"

    def mask(self, data):
        return text_column(data, self.column).isin(_CHOSEN).to_numpy(bool)

    def variables(self):
        return {self.column}

    def __str__(self):
        return f"{self.option!r} in {self.question}"


@dataclass(frozen=True)
class And(Condition):
    left: Condition
    right: Condition

    def mask(self, data):
        return self.left.mask(data) & self.right.mask(data)

    def variables(self):
        return self.left.variables() | self.right.variables()

    def __str__(self):
        return f"({self.left} and {self.right})"


@dataclass(frozen=True)
class Or(Condition):
    left: Condition
    right: Condition

    def mask(self, data):
        return self.left.mask(data) | self.right.mask(data)

    def variables(self):
        return self.left.variables() | self.right.variables()

    def __str__(self):
        return f"({self.left} or {self.right})"


@dataclass(frozen=True)
class Not(Condition):
    inner: Condition

    def mask(self, data):
        return ~self.inner.mask(data)

    def variables(self):
        return self.inner.variables()

    def __str__(self):
        return f"not {self.inner}"


def n_rows(data) -> int:
    """Rows of a table: a DataFrame, or a mapping of equal-length columns
    (whose ``len`` counts columns, not rows)."""
    if hasattr(data, "index"):
        return len(data.index)
    return len(next(iter(data.values()))) if len(data) else 0


def domain_codes(data, spec: str) -> tuple[np.ndarray, list[str]]:
    """Integer domain code per row and the domain labels for ``spec``.

    ``spec`` is ``"all"``, a column name, or a cross ``"A*B"`` (labels
    ``"a1*b1"``). Labels are sorted (a cross in the order of its parts).
    A missing value in a domain variable is an error naming the variable.
    """
    n = n_rows(data)
    if spec == ALL:
        return np.zeros(n, dtype=np.int64), [ALL]
    parts = [p.strip() for p in spec.split("*")]
    texts = []
    for part in parts:
        column = text_column(data, part)
        missing = column.isna()
        if missing.any():
            raise MissingValueError(
                f"domain variable {part!r} has {int(missing.sum())} missing value(s) "
                f"(first at row {int(np.flatnonzero(missing.to_numpy())[0])})")
        texts.append(column)
    label = texts[0]
    for column in texts[1:]:
        label = label + "*" + column
    labels = sorted(set(label), key=lambda s: tuple(_sort_key(x) for x in s.split("*")))
    position = {lab: i for i, lab in enumerate(labels)}
    return label.map(position).to_numpy(np.int64), labels


def _sort_key(text: str):
    """Numbers in numeric order, then text (so size classes sort 1-4, 5-19)."""
    head = text.split("-")[0].rstrip("+")
    try:
        return (0, float(head), text)
    except ValueError:
        return (1, 0.0, text)


def parse_where(expr: str) -> Condition:
    """Parse a ``--where`` expression: ``VAR == VALUE`` / ``VAR != VALUE``
    joined by ``and`` / ``or`` (``and`` binds tighter); values may be quoted."""
    result = None
    for or_part in expr.split(" or "):
        term = None
        for atom in or_part.split(" and "):
            cond = _parse_atom(atom.strip(), expr)
            term = cond if term is None else term & cond
        result = term if result is None else result | term
    return result


def _parse_atom(atom: str, expr: str) -> Condition:
    for op in ("!=", "=="):
        if op in atom:
            var, value = (s.strip() for s in atom.split(op, 1))
            value = value.strip("'\"")
            if not var or not value:
                break
            cond = Equals(var, value)
            return ~cond & NotMissing(var) if op == "!=" else cond
    raise KalibError(f"--where: cannot parse {atom!r} in {expr!r} "
                     "(expected VAR == VALUE or VAR != VALUE joined by and/or)")
