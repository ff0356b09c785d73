"""Column access on any mapping and canonical category strings.

``data`` may be a ``dict`` of arrays, a pandas ``DataFrame`` or anything else
that returns a 1-d array-like for ``data[name]``; pandas is never imported.
Categories are compared as text: numbers are written canonically (``1``, not
``1.0``; ``0.5`` as Python's shortest round-trip repr), so a margin file read
as strings matches a sample column read as integers or floats.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Hashable, Iterable, Iterator, Sequence
from typing import Any, Literal, Protocol, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from weighting.errors import KalibError, MissingValueError, WeightError


class Columns(Protocol):
    """What a table must offer to be read by column: ``data[name]`` (a 1-d
    array-like) and iteration over its column names (a ``dict`` of arrays, a
    pandas ``DataFrame``, a numpy structured array)."""

    def __getitem__(self, name: str, /) -> Any: ...

    def __iter__(self) -> Iterator[Any]: ...


#: ``pandas.factorize``'s form: ``values -> (codes, uniques)``, code -1 for a
#: value it takes as missing.
Factorize = Callable[[Any], tuple[NDArray[np.integer], Sequence[Any]]]


def dense_range(span: int, n: int) -> bool:
    """The size rule for codes or values spanning ``span`` consecutive integers
    over ``n`` rows: True when a table indexed by value (a ``bincount`` and a
    ``cumsum``, O(n + span)) is the cheaper way to find which occur and to
    number them, False when sorting (``np.unique``, O(n log n)) is. The table
    costs a few passes over ``span`` entries against one sort of n entries:
    up to about four entries per row it is the faster (measured at n = 1e3
    to 1e7), and below a thousand entries it costs nothing either way."""
    return span <= 4 * n + 1024


def column(data: Columns, name: str) -> np.ndarray:
    """Return ``data[name]`` as a 1-d numpy array (no copy when possible)."""
    values = np.asarray(_lookup(data, name))
    _check_1d(np.shape(values), name)
    return values


def _lookup(data: Columns, name: str) -> Any:
    try:
        return data[name]
    except (KeyError, IndexError, TypeError):
        raise KalibError(f"column {name!r} is not in the data") from None


def _check_1d(shape: tuple[int, ...], name: str) -> int:
    if len(shape) != 1:
        raise KalibError(f"column {name!r} is not one-dimensional")
    return shape[0]


def n_rows(data: Columns, names: Iterable[str] | None = None) -> int:
    """Rows of a table.

    With ``names``, the number of rows the named columns share (KalibError if
    their lengths differ). Without, the table's: a DataFrame's (its
    ``shape``), or a mapping's first column's length (``len`` of a mapping
    counts columns, not rows); 0 for an empty mapping.
    """
    if names is not None:
        # a column's shape, not the column: a pandas column of text would
        # otherwise be made an array of Python strings only to be counted
        lengths = {name: _check_1d(np.shape(_lookup(data, name)), name) for name in names}
        if len(set(lengths.values())) > 1:
            raise KalibError(f"columns have different lengths: {lengths}")
        return next(iter(lengths.values()))
    shape = getattr(data, "shape", None)
    if shape is not None:
        return int(shape[0])
    for name in data:
        return len(column(data, name))
    return 0


def category_values(data: Columns, name: str) -> Any:
    """``data[name]`` as :func:`encode` reads it fastest.

    A column whose type is not numpy's but that groups its own values (a
    pandas extension array, which has a ``factorize`` method in compiled
    code) is returned as that array (a pandas Series' ``.array``): when its
    values are text, :func:`encode` hashes it with that method instead of
    making it n Python strings hashed one by one in a dict, several times
    faster. Any other column as :func:`column` gives it.
    """
    values = _lookup(data, name)
    if _groups_itself(values):
        _check_1d(np.shape(values), name)
        return getattr(values, "array", values)  # a pandas Series' own array
    return column(data, name)


def _groups_itself(values: Any) -> bool:
    """An array of a type other than numpy's that has its own ``factorize``."""
    dtype = getattr(values, "dtype", None)
    return (
        dtype is not None
        and not isinstance(dtype, np.dtype)
        and callable(getattr(values, "factorize", None))
    )


def _text_factorize(values: Any) -> Factorize | None:
    """``values.factorize()`` as a :data:`Factorize` when every value it found
    is text (the column is then the array of strings and missing values that
    numpy would make of it), else None: numbers, booleans and categories of
    numbers are encoded as numpy makes them (integers sorted as numbers)."""
    codes, uniques = values.factorize()
    if not all(isinstance(u, str) for u in uniques):
        return None
    return lambda _: (codes, uniques)


def is_missing(value: object) -> bool:
    """True for None, NaN, NaT, pandas NA and the empty string."""
    if value is None:
        return True
    if isinstance(value, (float, np.floating)):
        return value != value
    if isinstance(value, str):
        return value == ""
    # pandas.NA / NaT without importing pandas.
    return type(value).__name__ in ("NAType", "NaTType")


# A number as a file writes it in decimal notation (``1``, ``-2.50``, ``1e3``,
# ``.5``), with no leading zero before another digit: ``01`` and ``007`` are
# codes, not numbers.
_NUMERAL = re.compile(r"[+-]?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def canonical(value: object) -> str:
    """Canonical text of one category value, the text categories are compared by.

    Numbers are written as integers when they are whole (``1`` for 1, 1.0,
    ``"1"`` and ``"1.0"``) and in Python's shortest round-trip form otherwise
    (``0.5`` for 0.5 and ``"0.50"``); text that is a number in decimal
    notation counts as that number, so a column exported as floats
    (``1.0,2.0,``) matches the codes ``1``, ``2``. Text with a leading zero
    (``01``), other text and booleans (``True``) are kept as they are.
    """
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, bytes):
        value = value.decode()
    if not isinstance(value, str):
        return str(value)
    value = str(value)  # numpy's str_ (a subclass) is shown as np.str_('a') in messages
    if value.isascii() and value.isdigit() and (value[0] != "0" or len(value) == 1):
        return value  # a whole number as it is written
    if not _NUMERAL.fullmatch(value):
        return value
    if not any(c in value for c in ".eE"):
        return str(int(value))  # exact at any length: no float
    number = float(value)
    return canonical(number) if math.isfinite(number) else value


def encode(
    values: ArrayLike,
    name: str,
    *,
    role: str = "calibration variable",
    missing: Literal["raise", "code"] = "raise",
    factorize: Factorize | None = None,
) -> tuple[NDArray[np.int64], list[str]]:
    """Integer codes and canonical category strings of one column.

    The one encoder of categories (calibration variables, strata, PSUs,
    domains): values are the same category when their canonical text is
    (``1``, ``1.0`` and ``"1"``; ``True`` is not ``1``).

    Parameters
    ----------
    values : array-like (n,)
    name : str
        The column's name, for messages.
    role : str
        What the column is, for messages (``"design variable (strata)"``).
    missing : {"raise", "code"}
        Missing values (None, NaN, NaT, pandas NA, "") raise
        ``MissingValueError`` naming the column, the count and the first row,
        or get code -1.
    factorize : callable, optional
        A faster hashing of object columns, ``values -> (codes, uniques)``
        with code -1 for the values it takes as missing (``pandas.factorize``:
        its hash table in C is ten times faster than the dict this module,
        which imports no pandas, hashes with). Only the grouping of equal
        values is taken from it; texts, merging, missing values and order are
        decided here. Without it, an array of text that groups its own values
        (see :func:`category_values`) is hashed by its ``factorize`` method.

    Returns
    -------
    codes : ndarray (n,) int64
        In ``0..K-1`` (-1 for a missing value).
    categories : list of K str
        Distinct canonical texts in sorted order: numeric for integer and
        float columns, chronological for dates, textual otherwise; codes
        follow it.
    """
    if missing not in ("raise", "code"):
        raise ValueError(f"missing must be 'raise' or 'code', not {missing!r}")
    dtype = getattr(values, "dtype", None)
    absent: NDArray[np.bool_] | None
    if factorize is None and _groups_itself(values):
        factorize = _text_factorize(values)  # its own hashing (category_values)
    if factorize is not None and dtype is not None and not isinstance(dtype, np.dtype):
        # an extension array (pandas' strings, categoricals): hashed as it is,
        # not made a numpy array of objects first (which costs more than that);
        # a column with a dtype is sized and iterable, which ArrayLike does not say
        codes, categories = _encode_objects(cast("Collection[Any]", values), missing, factorize)
        absent = codes < 0
    elif (values := np.asarray(values)).dtype.kind == "O":
        # missing values are found among the distinct values, not row by row
        codes, categories = _encode_objects(values, missing, factorize)
        absent = codes < 0
    else:
        absent = _missing(values)
        if absent is None or not absent.any():
            return _encode_present(values)
        codes = np.full(values.shape[0], -1, np.int64)
        codes[~absent], categories = _encode_present(values[~absent])
    if missing == "raise" and absent.any():
        count = int(np.count_nonzero(absent))
        first = int(np.flatnonzero(absent)[0])
        raise MissingValueError(
            f"{role} {name!r} has {count} missing value(s) (first at row {first + 1})",
            row=first,
        )
    return codes, categories


def _missing(values: np.ndarray) -> NDArray[np.bool_] | None:
    """Missing rows of a numpy-typed column, or None for a dtype that cannot
    hold any."""
    kind = values.dtype.kind
    absent: NDArray[np.bool_] | None = None
    if kind == "f":
        absent = np.isnan(values)
    elif kind in "US":
        absent = values == values.dtype.type("")
    elif kind in "mM":
        absent = np.isnat(values)
    return absent


def _encode_present(values: np.ndarray) -> tuple[NDArray[np.int64], list[str]]:
    kind = values.dtype.kind
    if kind == "f":
        if np.all(values == np.floor(values)) and np.all(np.abs(values) < 2**53):
            return _encode_integers(values.astype(np.int64))
    if kind == "b":
        codes, present = _encode_integers(values.astype(np.int64))
        return codes, [str(bool(int(v))) for v in present]  # "False", "True"
    if kind in "iu":
        return _encode_integers(values.astype(np.int64, copy=False))
    if kind in "US":
        return _encode_text(values)
    uniques, codes = np.unique(values, return_inverse=True)  # floats, dates: sorted
    return codes.astype(np.int64).reshape(-1), [canonical(u) for u in uniques]


def _encode_integers(values: np.ndarray) -> tuple[NDArray[np.int64], list[str]]:
    if values.size == 0:
        return values.astype(np.int64), []
    low, high = int(values.min()), int(values.max())
    span = high - low + 1
    if dense_range(span, values.size):
        # One pass to find which values occur, one to map them: no sort.
        shifted = values - low if low else values
        present = np.bincount(shifted, minlength=span) > 0
        lut = np.cumsum(present) - 1
        codes = lut[shifted]
        categories = [str(v) for v in (np.flatnonzero(present) + low).tolist()]
        return codes.astype(np.int64, copy=False), categories
    uniques, codes = np.unique(values, return_inverse=True)
    return codes.astype(np.int64).reshape(-1), [str(u) for u in uniques.tolist()]


def _encode_text(values: np.ndarray) -> tuple[NDArray[np.int64], list[str]]:
    """Encode fixed-width text without sorting strings.

    Rows are grouped by a polynomial hash of their characters (an integer
    sort), then every row is checked to equal a representative of its group;
    on a hash collision the text itself is sorted instead.
    """
    width = values.dtype.itemsize // (4 if values.dtype.kind == "U" else 1)
    chars = (
        np.ascontiguousarray(values)
        .view(np.uint32 if values.dtype.kind == "U" else np.uint8)
        .reshape(len(values), width)
    )
    key = np.zeros(len(values), np.uint64)
    for j in range(width):  # wraps modulo 2**64, as intended
        key *= np.uint64(1_000_003)
        key += chars[:, j]
    hashes, codes = np.unique(key, return_inverse=True)
    some_row = np.empty(len(hashes), np.intp)
    some_row[codes] = np.arange(len(values))  # any row of each group will do
    representatives = values[some_row]
    if not np.array_equal(values, representatives[codes]):  # a hash collision
        representatives, codes = np.unique(values, return_inverse=True)
    return _merge_equal_text(codes.reshape(-1), [canonical(r) for r in representatives])


def _encode_objects(
    values: Collection[Any], missing: str, factorize: Factorize | None = None
) -> tuple[NDArray[np.int64], list[str]]:
    """Encode Python objects by hashing (a dict of the distinct values: O(n),
    where sorting objects costs a Python comparison per step), then merge the
    values whose canonical text is equal; missing values (among the distinct
    ones) get code -1.

    Hashing merges ``True`` with ``1`` and ``False`` with ``0`` (they are
    equal in Python) although their texts differ: when both kinds occur the
    rows are hashed again with the kind in the key.
    """
    try:
        codes, uniques = _hash_codes(values) if factorize is None else factorize(values)
        if any(
            _is_bool(u) or (isinstance(u, (int, float, np.number)) and u in (0, 1))
            for u in uniques
        ):
            is_bool = np.fromiter(map(_is_bool, values), bool, len(values))
            if is_bool.any() and not is_bool.all():
                codes, uniques = _hash_codes(values, key=lambda v: (_is_bool(v), v))
                uniques = [u for _, u in uniques]
    except TypeError:  # unhashable values: their text stands for them
        codes, uniques = _hash_codes(np.array([canonical(v) for v in values], dtype=object))
    texts = [None if is_missing(u) else _text(u, missing) for u in uniques]
    return _merge_equal_text(codes, texts)


def _hash_codes(
    values: Collection[Any], key: Callable[[Any], Hashable] | None = None
) -> tuple[NDArray[np.int64], list[Any]]:
    """Codes of ``values`` by a dict of their distinct ``key(value)`` (values
    themselves by default), and the distinct ones in order of appearance."""
    index: dict[Hashable, int] = {}
    find = index.setdefault
    keys = values if key is None else map(key, values)
    codes = np.fromiter((find(v, len(index)) for v in keys), np.int64, len(values))
    return codes, list(index)


def _is_bool(value: object) -> bool:
    return isinstance(value, (bool, np.bool_))


def _text(value: object, missing: str) -> str | None:
    """Canonical text; None for a value without one (undecodable bytes) when
    missing values get a code, rather than an error."""
    if missing == "raise":
        return canonical(value)
    try:
        return canonical(value)
    except (TypeError, ValueError):
        return None


def _merge_equal_text(
    codes: NDArray[np.integer], text: Sequence[str | None]
) -> tuple[NDArray[np.int64], list[str]]:
    """Sort categories by text, merging those whose canonical text is equal
    (1, 1.0 and "1"); remap the codes accordingly (a text of None: -1)."""
    categories = sorted(set(t for t in text if t is not None))
    if len(categories) == len(text) and categories == text:
        return codes.astype(np.int64, copy=False), categories
    position: dict[str | None, int] = {c: i for i, c in enumerate(categories)}
    remap = np.array([position.get(c, -1) for c in text] + [-1], dtype=np.int64)
    return remap[codes], categories


def numeric(
    values: ArrayLike, what: str, *, error: type[KalibError] = KalibError
) -> NDArray[np.float64]:
    """The one numeric coercer: a column as float64, a missing value (None,
    NaN, NaT, pandas NA, "") as NaN.

    Numbers and booleans are taken as they are; text is read as Python's
    ``float`` reads it, but without digit-grouping underscores (as pandas'
    ``to_numeric``). Anything else raises ``error``: "``what`` is not
    numeric", with the count and the first row (and its value) of the values
    that are not numbers.
    """
    values = np.asarray(values)
    kind = values.dtype.kind
    if kind in "biuf":
        return values.astype(np.float64)
    if kind not in "USO":
        raise error(f"{what} is not numeric (values of type {values.dtype})")
    out = np.empty(values.shape[0])
    bad = []
    items = values.tolist()
    for i, value in enumerate(items):
        if is_missing(value):
            out[i] = np.nan
            continue
        try:
            if isinstance(value, (str, bytes)) and "_" in canonical(value):
                raise ValueError(value)
            out[i] = float(value)
        except (TypeError, ValueError):
            bad.append(i)
    if bad:
        raise error(
            f"{what} is not numeric: {len(bad)} value(s) are not numbers (first at "
            f"row {bad[0] + 1}: {items[bad[0]]!r})",
            row=bad[0],
        )
    return out


def frozen(array: NDArray[Any]) -> NDArray[Any]:
    """``array`` contiguous and read-only: how a design holds its arrays, so
    that no caller can change a design (or a result) in place."""
    array = np.ascontiguousarray(array)
    array.flags.writeable = False
    return array


def positive_weights(values: ArrayLike, label: str, n: int) -> NDArray[np.float64]:
    """``values`` as float64 (n,), or WeightError naming the count and first row
    of values that are not numbers, or not positive and finite, or saying
    that their total overflows."""
    shape = np.shape(values)
    if shape != (n,):
        raise WeightError(f"{label} have shape {shape}, the sample has {n} rows")
    w = numeric(values, label, error=WeightError)
    bad = ~(np.isfinite(w) & (w > 0))
    if bad.any():
        rows = np.flatnonzero(bad)
        raise WeightError(
            f"{label}: {rows.size} value(s) not positive and finite "
            f"(first at row {rows[0] + 1}: {float(w[rows[0]])!r})",
            row=rows[0],
        )
    with np.errstate(over="ignore"):  # the overflow is the error below
        total = w.sum()
    if not np.isfinite(total):
        # every weight finite but their total is not: each estimate would be
        # inf or NaN, after numpy's overflow warnings, with no error
        raise WeightError(
            f"{label}: the {n} weights sum to more than {np.finfo(float).max:.3g} "
            f"(largest {w.max():g}); rescale them"
        )
    return w
