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

from weighting.columns import canonical, dense_range, encode, n_rows
from weighting.errors import KalibError, MissingValueError

ALL = "all"


def text_column(data, name: str) -> pd.Series:
    """Column ``name`` as canonical category text (``1``, not ``1.0``); missing
    values (NaN, None, "") become ``None``."""
    codes, categories = factor(data, name)
    return pd.Series(np.array(categories + [None], dtype=object)[codes], dtype=object)


def factor(data, name: str) -> tuple[np.ndarray, list[str]]:
    """Column ``name`` as codes into its distinct canonical texts
    (``weighting.columns.encode``, the encoder of calibration variables and
    strata too, with pandas' hashing of object columns).

    Returns ``codes`` (int64, one per row, ``-1`` where the value is missing:
    NaN, None, NA or "") and ``categories`` (the distinct canonical texts
    present); values with the same text (``1``, ``1.0``, ``"1"``) share a code.
    """
    if name not in data:
        raise KalibError(f"column {name!r} is not in the data")
    return encode(data[name], name, missing="code", factorize=pd.factorize)


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
        return _in_categories(data, self.variable, {canonical(self.value)})

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
        return _in_categories(data, self.variable, {canonical(v) for v in self.values})

    def variables(self):
        return {self.variable}

    def __str__(self):
        return f"{self.variable} in ({', '.join(canonical(v) for v in self.values)})"


@dataclass(frozen=True)
class NotMissing(Condition):
    """``notna(variable)``: the question was answered."""

    variable: str

    def mask(self, data):
        return factor(data, self.variable)[0] >= 0

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
        return _in_categories(data, self.column, _CHOSEN)

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


def _in_categories(data, name: str, texts) -> np.ndarray:
    """Rows whose canonical text is one of ``texts`` (missing: False)."""
    codes, categories = factor(data, name)
    hit = np.array([c in texts for c in categories] + [False])
    return hit[codes]


def domain_codes(data, spec: str) -> tuple[np.ndarray, list[str]]:
    """Integer domain code per row and the domain labels for ``spec``.

    ``spec`` is ``"all"``, a column name, or a cross ``"A*B"`` (labels
    ``"a1*b1"``, only for the combinations present). Labels are sorted (a
    cross in the order of its parts). A missing value in a domain variable is
    an error naming the variable.
    """
    n = n_rows(data)
    if spec == ALL:
        return np.zeros(n, dtype=np.int64), [ALL]
    parts = [p.strip() for p in spec.split("*")]
    factors = []
    for part in parts:
        codes, categories = factor(data, part)
        missing = codes < 0
        if missing.any():
            raise MissingValueError(
                f"domain variable {part!r} has {int(missing.sum())} missing value(s) "
                f"(first at row {int(np.flatnonzero(missing)[0])})")
        factors.append((codes, categories))
    if len(factors) == 1:   # every category is present: no combinations to find
        joint, combos = factors[0][0], np.arange(len(factors[0][1]))[:, None]
    else:
        joint, combos = combinations([c for c, _ in factors], [len(k) for _, k in factors])
    texts = ["*".join(factors[p][1][c] for p, c in enumerate(combo)) for combo in combos]
    # texts holding "*" may spell one label two ways: the label is the domain
    labels = sorted(set(texts), key=lambda s: tuple(_sort_key(x) for x in s.split("*")))
    position = {label: i for i, label in enumerate(labels)}
    return np.array([position[t] for t in texts], dtype=np.int64)[joint], labels


def combinations(codes, sizes) -> tuple[np.ndarray, np.ndarray]:
    """The combinations present of several codings of the same rows.

    Parameters
    ----------
    codes : sequence of int arrays (n,)
        Codes in ``0..sizes[p]-1``.
    sizes : sequence of int

    Returns
    -------
    joint : ndarray (n,) of int64
        Each row's combination, in ``0..J-1``.
    combos : ndarray (J, len(codes)) of int64
        The codes of each combination, in lexicographic order.
    """
    n = len(codes[0]) if len(codes) else 0
    joint = np.zeros(n, dtype=np.int64)
    combos = np.zeros((1 if n else 0, 0), dtype=np.int64)
    for part, size in zip(codes, sizes):
        if size == 1:  # a single domain splits nothing
            combos = np.column_stack([combos, np.zeros(len(combos), dtype=np.int64)])
            continue
        # mixed radix over (combination so far, this code): below n^2, no overflow
        if len(combos) == 1:
            key = np.asarray(part, dtype=np.int64)
        else:
            key = joint * size
            key += part
        if dense_range(len(combos) * size, n):  # presence by counting: O(n + range)
            seen = np.bincount(key, minlength=len(combos) * size) > 0
            present = np.flatnonzero(seen)
            joint = key if seen.all() else (np.cumsum(seen) - 1)[key]
        else:
            present, joint = np.unique(key, return_inverse=True)
        combos = np.column_stack([combos[present // size], present % size])
    return joint, combos


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
