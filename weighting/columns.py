"""Column access on any mapping and canonical category strings.

``data`` may be a ``dict`` of arrays, a pandas ``DataFrame`` or anything else
that returns a 1-d array-like for ``data[name]``; pandas is never imported.
Categories are compared as text: numbers are written canonically (``1``, not
``1.0``; ``0.5`` as Python's shortest round-trip repr), so a margin file read
as strings matches a sample column read as integers or floats.
"""
from __future__ import annotations

import numpy as np

from weighting.errors import KalibError, MissingValueError, WeightError

# Integer columns are encoded through a lookup table indexed by value when the
# value range is at most this many times the number of rows (else by sorting).
_LUT_RANGE_FACTOR = 4


def column(data, name: str) -> np.ndarray:
    """Return ``data[name]`` as a 1-d numpy array (no copy when possible)."""
    try:
        values = data[name]
    except (KeyError, IndexError, TypeError):
        raise KalibError(f"column {name!r} is not in the data") from None
    values = np.asarray(values)
    if values.ndim != 1:
        raise KalibError(f"column {name!r} is not one-dimensional")
    return values


def n_rows(data, names) -> int:
    """Number of rows shared by the named columns (error if they differ)."""
    lengths = {name: len(column(data, name)) for name in names}
    if len(set(lengths.values())) > 1:
        raise KalibError(f"columns have different lengths: {lengths}")
    return next(iter(lengths.values()))


def is_missing(value) -> bool:
    """True for None, NaN, NaT, pandas NA and the empty string."""
    if value is None:
        return True
    if isinstance(value, (float, np.floating)):
        return value != value
    if isinstance(value, str):
        return value == ""
    # pandas.NA / NaT without importing pandas.
    return type(value).__name__ in ("NAType", "NaTType")


def canonical(value) -> str:
    """Canonical text of one category value: ``1`` for 1 and 1.0, else str."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, bytes):
        return value.decode()
    return str(value)


def encode(values: np.ndarray, name: str) -> tuple[np.ndarray, list[str]]:
    """Integer codes and canonical category strings of one column.

    Returns ``codes`` (int64, one per row, in ``0..K-1``) and ``categories``
    (K distinct canonical strings; codes follow their order). Raises
    ``MissingValueError`` naming the column, the count and the first row if
    any value is missing.
    """
    values = np.asarray(values)
    kind = values.dtype.kind
    if kind == "f":
        missing = np.isnan(values)
        _refuse_missing(missing, name)
        if np.all(values == np.floor(values)) and np.all(np.abs(values) < 2**53):
            return _encode_integers(values.astype(np.int64))
        uniques, codes = np.unique(values, return_inverse=True)
        return codes.astype(np.int64), [canonical(u) for u in uniques]
    if kind in "iub":
        return _encode_integers(values.astype(np.int64, copy=False))
    if kind in "US":
        _refuse_missing(values == values.dtype.type(""), name)
        return _encode_text(values)
    return _encode_objects(values, name)


def _refuse_missing(missing: np.ndarray, name: str) -> None:
    count = int(np.count_nonzero(missing))
    if count:
        first = int(np.flatnonzero(missing)[0])
        raise MissingValueError(
            f"calibration variable {name!r} has {count} missing value(s) "
            f"(first at row {first})")


def _encode_integers(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    if values.size == 0:
        return values.astype(np.int64), []
    low, high = int(values.min()), int(values.max())
    span = high - low + 1
    if span <= _LUT_RANGE_FACTOR * values.size + 1024:
        # One pass to find which values occur, one to map them: no sort.
        shifted = values - low if low else values
        present = np.bincount(shifted, minlength=span) > 0
        lut = np.cumsum(present) - 1
        codes = lut[shifted]
        categories = [str(v) for v in (np.flatnonzero(present) + low).tolist()]
        return codes.astype(np.int64, copy=False), categories
    uniques, codes = np.unique(values, return_inverse=True)
    return codes.astype(np.int64), [str(u) for u in uniques.tolist()]


def _encode_text(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Encode fixed-width text without sorting strings.

    Rows are grouped by a polynomial hash of their characters (an integer
    sort), then every row is checked to equal a representative of its group;
    on a hash collision the text itself is sorted instead.
    """
    width = values.dtype.itemsize // (4 if values.dtype.kind == "U" else 1)
    chars = np.ascontiguousarray(values).view(
        np.uint32 if values.dtype.kind == "U" else np.uint8).reshape(len(values), width)
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


def _encode_objects(values: np.ndarray, name: str) -> tuple[np.ndarray, list[str]]:
    missing = np.fromiter((is_missing(v) for v in values), bool, len(values))
    _refuse_missing(missing, name)
    try:
        uniques, codes = np.unique(values, return_inverse=True)
    except TypeError:  # mixed types that do not sort (e.g. 1 and "a")
        text = np.array([canonical(v) for v in values])
        uniques, codes = np.unique(text, return_inverse=True)
        return codes.astype(np.int64), [str(u) for u in uniques]
    return _merge_equal_text(codes, [canonical(u) for u in uniques])


def _merge_equal_text(codes: np.ndarray, text: list[str]) -> tuple[np.ndarray, list[str]]:
    """Sort categories by text, merging those whose canonical text is equal
    (1, 1.0 and "1"); remap the codes accordingly."""
    categories = sorted(set(text))
    if len(categories) == len(text) and categories == text:
        return codes.astype(np.int64, copy=False), categories
    position = {c: i for i, c in enumerate(categories)}
    remap = np.array([position[c] for c in text], dtype=np.int64)
    return remap[codes], categories


def positive_weights(values, label: str, n: int) -> np.ndarray:
    """``values`` as float64 (n,), or WeightError naming the count and first row
    of values that are not positive and finite."""
    try:
        w = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise WeightError(f"{label} are not numeric") from None
    if w.shape != (n,):
        raise WeightError(f"{label} have shape {w.shape}, the sample has {n} rows")
    bad = ~(np.isfinite(w) & (w > 0))
    if bad.any():
        rows = np.flatnonzero(bad)
        raise WeightError(f"{label}: {rows.size} value(s) not positive and finite "
                          f"(first at row {rows[0]}: {w[rows[0]]!r})")
    return w
