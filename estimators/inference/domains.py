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

import ast
import io
import re
import tokenize
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from weighting.columns import canonical, column, dense_range, encode, n_rows, numeric
from weighting.errors import KalibError, MissingValueError

if TYPE_CHECKING:
    import pandas as pd

ALL = "all"


def text_column(data, name: str) -> pd.Series:
    """Column ``name`` as canonical category text (``1``, not ``1.0``); missing
    values (NaN, None, "") become ``None``."""
    import pandas as pd

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
    return encode(data[name], name, missing="code", factorize=_factorize)


def _factorize(values):
    """``pandas.factorize``, imported for the columns that need it (text and
    other objects), not for numbers."""
    import pandas as pd

    return pd.factorize(values)


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
        return _in_categories(data, self.variable, (self.value,))

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
        return _in_categories(data, self.variable, self.values)

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


def _in_categories(data, name: str, values) -> np.ndarray:
    """Rows whose value is one of ``values`` (by :func:`denoted`; missing: False)."""
    codes, categories = factor(data, name)
    texts = {denoted(categories, v) for v in values}
    hit = np.array([c in texts for c in categories] + [False])
    return hit[codes]


# -- the one comparison rule -----------------------------------------------------------


class CategoryError(KalibError):
    """A value asked for (``--proportion VAR=VALUE``, a ``--where``
    comparison) is not a category of its column: a typo, another case,
    another coding. The message lists the column's categories."""


class EmptyDomainError(KalibError):
    """A domain (or the ``--where`` subpopulation) has no unit where the
    result needs some (a table's shares, a model's fit)."""


_BOOLEAN = {"False", "True"}
_BOOLEAN_TEXT = {"1": "True", "true": "True", "0": "False", "false": "False"}


def denoted(categories, value) -> str:
    """The category text that ``value`` stands for in a column whose
    categories (canonical texts) are ``categories``.

    The one comparison rule of ``--proportion``, ``--where``, ``--by`` and the
    margins: two values are the same category when their canonical texts
    (``weighting.columns.canonical``) are equal, so ``1``, ``1.0``, ``"1"``
    and ``"1.0"`` are one category, while a code with a leading zero
    (``"01"``) is a code, not the number 1. A boolean column (categories
    ``False``/``True`` only, stored as booleans or as those texts) is
    compared as booleans: ``True``, ``1``, ``"1"`` and ``"true"`` (any case)
    stand for ``True``; ``False``, ``0``, ``"0"`` and ``"false"`` for
    ``False``.
    """
    text = canonical(value)
    if categories and _BOOLEAN.issuperset(categories):
        return _BOOLEAN_TEXT.get(text.lower(), text)
    return text


def category_hits(data, name: str, values, *, known=(), what: str = "") -> tuple:
    """Codes of column ``name`` and which codes are one of ``values``.

    Returns ``codes`` and ``categories`` (``factor``; code -1: missing) and
    ``hit`` (bool, one per category plus a last False for missing), so that
    ``hit[codes]`` marks the rows. A value that is no category of the column, nor one of
    ``known`` (a codebook's categories, which may be absent from a sample),
    is a :class:`CategoryError` starting with ``what`` and listing the
    column's categories.
    """
    codes, categories = factor(data, name)
    wanted = [denoted(categories, v) for v in values]
    absent = [t for t in wanted if t not in categories]
    if absent:
        allowed = {denoted(categories, k) for k in known}
        absent = [t for t in absent if t not in allowed]
    if absent:
        listed = (
            f"its categories: {describe_categories(categories)}"
            if categories
            else "it has no values"
        )
        raise CategoryError(f"{what}{absent[0]!r} is not a category of {name!r} ({listed})")
    hit = np.array([c in wanted for c in categories] + [False])
    return codes, categories, hit


def describe_categories(categories, limit: int = 12) -> str:
    """Categories for a message, in sorted order: ``E, H, M`` (``... and 7
    more`` beyond ``limit``)."""
    ordered = sorted(categories, key=_sort_key)
    text = ", ".join(ordered[:limit])
    return text + (f" ... and {len(ordered) - limit} more" if len(ordered) > limit else "")


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
            first = int(np.flatnonzero(missing)[0])
            raise MissingValueError(
                f"domain variable {part!r} has {int(missing.sum())} missing value(s) "
                f"(first at row {first + 1})",
                row=first,
            )
        factors.append((codes, categories))
    if len(factors) == 1:  # every category is present: no combinations to find
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


# -- --where expressions ---------------------------------------------------------------

# Python's comparison nodes -> the operator as written
_OPERATORS = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
}
_MIRRORED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_ORDER = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}
_VALUE_OPERATORS = ("==", "!=", "<", "<=", ">", ">=")
# a backquoted column name stands in the parsed text as this identifier
_BACKQUOTED = "__kalib_column_{}__"


def parse_where(expr: str) -> Where:
    """Parse a ``--where`` expression into a :class:`Where` condition.

    The expression is parsed by Python's own parser (:mod:`ast`), and only
    these forms are accepted (nothing is ever evaluated):

    * a column compared with a value: ``==``, ``!=``, ``<``, ``<=``, ``>``,
      ``>=``, chains too (``1 <= x < 5``); ``in`` / ``not in`` a list of
      values in parentheses or brackets (``nace in (C, 'F')``);
    * ``and``, ``or``, ``not`` and parentheses (``not`` binds tighter than
      ``and``, ``and`` than ``or``);
    * a column is a name (``sector``, dotted ``reasons.csr`` too) or any
      text in backquotes (```size class```);
    * a value is quoted text (``'a or b'``), a number, or unquoted text: a
      word (``public``), or everything from the operator to the next
      ``and``, ``or``, comma or closing parenthesis (``size_class == 50+``,
      ``size_class != 1-4``). The right-hand side of a comparison is always
      a value, never another column; a value with a space, ``and``, ``or``
      or ``#`` must be quoted.

    ``==``, ``!=`` and ``in`` follow the one comparison rule of categories
    (:func:`denoted`), and a value that is no category of its column is a
    :class:`CategoryError` listing the column's categories; ``<`` and the
    like compare numbers. A missing value makes a comparison unknown, and
    the expression is read in SQL's three-valued logic: ``not`` of unknown
    is unknown, a row is selected only when the whole expression is true
    (a missing value satisfies neither ``x == 1``, ``x != 1`` nor
    ``not x == 1``). Anything else (a call, an attribute of a value, a
    subscript, arithmetic on a column, a column alone) is a
    :class:`~weighting.errors.KalibError` naming the part.
    """
    source, names = _backquoted_names(expr)
    source = _quote_bare_values(source, expr).strip()
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        hint = " (compare with ==)" if re.search(r"(?<![=!<>])=(?!=)", source) else ""
        raise KalibError(f"--where: cannot parse {expr!r}: {exc.msg}{hint}") from None
    return Where(_WhereReader(source, names, expr).condition(tree.body))


def _backquoted_names(expr: str) -> tuple[str, list[str]]:
    """``expr`` with each backquoted name (outside quotes) replaced by an
    identifier, and the names in order."""
    out: list[str] = []
    names: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(expr):
        ch = expr[i]
        if quote is None and ch == "`":
            end = expr.find("`", i + 1)
            if end < 0:
                raise KalibError(f"--where: a backquote is not closed in {expr!r}")
            out.append(_BACKQUOTED.format(len(names)))
            names.append(expr[i + 1 : end])
            i = end + 1
            continue
        if quote is not None and ch == "\\":
            out.append(expr[i : i + 2])
            i += 2
            continue
        if ch in "'\"" and quote in (None, ch):
            quote = ch if quote is None else None
        out.append(ch)
        i += 1
    return "".join(out), names


def _quote_bare_values(source: str, expr: str) -> str:
    """Quote the unquoted values that are not a single word or number, so
    that ``size_class == 50+`` means the category ``50+`` and ``nace in (01,
    10)`` the codes ``01`` and ``10``: the text from a comparison operator to
    the next ``and``/``or``/comma/closing parenthesis, and each element of a
    list after ``in`` (a list of one gets its comma: ``in (1-4)``)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return source  # the parser says what is wrong
    if any(t.type == tokenize.ERRORTOKEN and t.string.strip() for t in tokens):
        return source
    if any(t.type == tokenize.COMMENT for t in tokens):
        # Python would read the rest of the line as a comment: silently less
        raise KalibError(f"--where: '#' outside quotes in {expr!r}: quote the value")
    line_starts = np.cumsum([0] + [len(line) for line in source.splitlines(keepends=True)])

    def offset(position):
        row, col = position
        return int(line_starts[row - 1]) + col

    edits = []  # (start, end, replacement) in the source

    def quote(value):
        if _bare(value):
            start, end = offset(value[0].start), offset(value[-1].end)
            edits.append((start, end, repr(source[start:end])))

    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t.type == tokenize.OP and t.string in _VALUE_OPERATORS:
            end = _value_end(tokens, i + 1)
            quote(tokens[i + 1 : end])
            i = end
        elif (
            t.type == tokenize.NAME
            and t.string == "in"
            and i + 1 < len(tokens)
            and tokens[i + 1].string in ("(", "[")
        ):
            start, commas = i + 2, 0
            while True:
                end = _value_end(tokens, start)
                quote(tokens[start:end])
                if end >= len(tokens) or tokens[end].string != ",":
                    break
                start, commas = end + 1, commas + 1
            if (
                commas == 0
                and end > i + 2
                and tokens[i + 1].string == "("
                and end < len(tokens)
                and tokens[end].string == ")"
            ):
                at = offset(tokens[end].start)
                edits.append((at, at, ","))
            i = end
        else:
            i += 1
    for start, end, text in sorted(edits, reverse=True):
        source = source[:start] + text + source[end:]
    return source


def _value_end(tokens, start: int) -> int:
    """Index of the token that ends a value starting at ``start``: ``and``,
    ``or``, another comparison, a comma or a closing bracket at its depth,
    or the end of the line."""
    j, depth = start, 0
    while j < len(tokens):
        t = tokens[j]
        if t.type in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER):
            break
        if t.type == tokenize.NAME and t.string in ("and", "or") and depth == 0:
            break
        if t.type == tokenize.OP:
            if t.string in "([{":
                depth += 1
            elif t.string in ")]}":
                if depth == 0:
                    break
                depth -= 1
            elif depth == 0 and (t.string == "," or t.string in _VALUE_OPERATORS):
                break
        j += 1
    return j


def _bare(tokens) -> bool:
    """Whether a value's tokens are unquoted text for :func:`_quote_bare_values`
    (not one word, number or string, a signed number, nor anything with
    brackets, which the parser reads as it is)."""
    if not tokens or any(t.string in "()[]{}" for t in tokens if t.type == tokenize.OP):
        return False  # a list, or a call the parser will refuse
    kinds = [t.type for t in tokens]
    if len(tokens) == 1 or all(k == tokenize.STRING for k in kinds):
        return False
    return not (len(tokens) == 2 and tokens[0].string in "+-" and kinds[1] == tokenize.NUMBER)


class _WhereReader:
    """Turns the parsed expression into :class:`Where` nodes, refusing any
    other kind of node with a message that quotes it as the user wrote it."""

    def __init__(self, source: str, names: list[str], expr: str):
        self.source, self.names, self.expr = source, names, expr

    def error(self, node, why: str) -> KalibError:
        part = ast.get_source_segment(self.source, node) or ""
        for k, name in enumerate(self.names):
            part = part.replace(_BACKQUOTED.format(k), f"`{name}`")
        return KalibError(f"--where: cannot parse {part!r} in {self.expr!r}: {why}")

    def condition(self, node):
        if isinstance(node, ast.BoolOp):
            kind = "and" if isinstance(node.op, ast.And) else "or"
            return _Logic(kind, tuple(self.condition(v) for v in node.values))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return _Negation(self.condition(node.operand))
        if isinstance(node, ast.Compare):
            parts, left = [], node.left
            for op, right in zip(node.ops, node.comparators):
                parts.append(self.comparison(node, left, op, right))
                left = right
            return parts[0] if len(parts) == 1 else _Logic("and", tuple(parts))
        raise self.error(
            node,
            "expected a comparison (VAR == VALUE, VAR < NUMBER, "
            "VAR in (A, B)) joined by and/or/not",
        )

    def comparison(self, node, left, op, right):
        operator = _OPERATORS.get(type(op))
        if operator is None:
            raise self.error(node, "comparisons are == != < <= > >= in, not in")
        if operator in ("in", "not in"):
            if not isinstance(right, (ast.Tuple, ast.List)):
                raise self.error(
                    right, f"'{operator}' takes a list of values in parentheses, e.g. (a, b)"
                )
            if not right.elts:
                raise self.error(right, "an empty list of values")
            return _Categories(
                self.column(left), operator, tuple(self.value(v) for v in right.elts)
            )
        if self.literal(left) and not self.literal(right):  # 1 <= x: x >= 1
            left, right, operator = right, left, _MIRRORED[operator]
        variable, value = self.column(left), self.value(right)
        if operator not in _ORDER:
            return _Categories(variable, operator, (value,))
        number = _as_number(value)
        if number is None:
            raise self.error(right, f"'{operator}' compares numbers")
        return _Order(variable, operator, number)

    def column(self, node) -> str:
        if isinstance(node, ast.Name):
            for k, name in enumerate(self.names):
                if node.id == _BACKQUOTED.format(k):
                    return name
            return node.id
        if isinstance(node, ast.Attribute) and self.dotted(node):
            return f"{self.column(node.value)}.{node.attr}"  # a column such as reasons.csr
        raise self.error(node, "not a column name (write a column, or `any name` in backquotes)")

    def dotted(self, node) -> bool:
        while isinstance(node, ast.Attribute):
            node = node.value
        return isinstance(node, ast.Name)

    @staticmethod
    def literal(node) -> bool:
        return isinstance(node, ast.Constant) or (
            isinstance(node, ast.UnaryOp)
            and isinstance(node.op, (ast.USub, ast.UAdd))
            and isinstance(node.operand, ast.Constant)
        )

    def value(self, node):
        if isinstance(node, ast.Constant) and isinstance(node.value, (str, int, float)):
            return node.value  # bool is an int: True stays True
        if (
            isinstance(node, ast.UnaryOp)
            and isinstance(node.op, (ast.USub, ast.UAdd))
            and isinstance(node.operand, ast.Constant)
            and type(node.operand.value) in (int, float)
        ):
            return -node.operand.value if isinstance(node.op, ast.USub) else node.operand.value
        if isinstance(node, ast.Name) or (isinstance(node, ast.Attribute) and self.dotted(node)):
            return self.column(node)  # an unquoted word is its text
        if (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, (ast.Add, ast.Sub))
            and all(
                isinstance(
                    n,
                    (
                        ast.Name,
                        ast.Constant,
                        ast.BinOp,
                        ast.Attribute,
                        ast.operator,
                        ast.expr_context,
                    ),
                )
                for n in ast.walk(node)
            )
        ):
            return ast.get_source_segment(self.source, node)  # a code such as 1-4 in a list
        raise self.error(node, "not a value (quote text: 'like this')")


def _as_number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class Where(Condition):
    """A ``--where`` expression (:func:`parse_where`), evaluated in SQL's
    three-valued logic: a row is in when the expression is true."""

    node: object

    def mask(self, data):
        return self.node.truth(data)[0]

    def variables(self):
        return self.node.variables()

    def __str__(self):
        return str(self.node)


# The nodes of a Where: ``truth(data)`` is (rows where true, rows where
# false); a row in neither is unknown (a missing value decides it).


@dataclass(frozen=True)
class _Leaf:
    """A comparison of one column."""

    variable: str
    op: str

    def variables(self):
        return {self.variable}


@dataclass(frozen=True)
class _Order(_Leaf):
    """``variable < value`` and the like, on numbers."""

    value: float

    def truth(self, data):
        x = numeric(column(data, self.variable), f"--where: column {self.variable!r}")
        with np.errstate(invalid="ignore"):
            true = _ORDER[self.op](x, self.value)  # False where x is NaN
        return true, ~np.isnan(x) & ~true

    def __str__(self):  # the number as written (5000, not 5000.0)
        return f"{_written(self.variable)} {self.op} {canonical(self.value)}"


@dataclass(frozen=True)
class _Categories(_Leaf):
    """``==``, ``!=`` (one value), ``in``, ``not in``: by :func:`category_hits`."""

    values: tuple

    def truth(self, data):
        codes, _, hit = category_hits(data, self.variable, self.values, what="--where: ")
        inside = hit[codes]
        outside = (codes >= 0) & ~inside
        return (outside, inside) if self.op in ("!=", "not in") else (inside, outside)

    def __str__(self):
        if self.op in ("==", "!="):
            return f"{_written(self.variable)} {self.op} {self.values[0]!r}"
        return f"{_written(self.variable)} {self.op} ({', '.join(map(repr, self.values))})"


@dataclass(frozen=True)
class _Logic:
    op: str  # "and" or "or"
    parts: tuple

    def truth(self, data):
        truths = [p.truth(data) for p in self.parts]
        true, false = truths[0]
        for t, f in truths[1:]:
            true, false = (true & t, false | f) if self.op == "and" else (true | t, false & f)
        return true, false

    def variables(self):
        return set().union(*(p.variables() for p in self.parts))

    def __str__(self):
        return f" {self.op} ".join(
            f"({p})" if isinstance(p, _Logic) and p.op != self.op else str(p) for p in self.parts
        )


@dataclass(frozen=True)
class _Negation:
    inner: object

    def truth(self, data):
        true, false = self.inner.truth(data)
        return false, true

    def variables(self):
        return self.inner.variables()

    def __str__(self):
        return f"not ({self.inner})" if isinstance(self.inner, _Logic) else f"not {self.inner}"


def _written(name: str) -> str:
    """A column as a --where expression writes it (backquoted unless a name)."""
    return name if all(p.isidentifier() for p in name.split(".")) else f"`{name}`"
