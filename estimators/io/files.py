"""File input and output: sample tables, margin files, atomic writes.

* :func:`read_table` reads a sample (CSV, or parquet through pyarrow) into a
  pandas DataFrame; columns named in ``text_columns`` are read as text so that
  codes such as ``01`` keep their leading zeros.
* :func:`read_margins` reads a margin CSV — one column per crossed sample
  variable plus ``total`` — into a :class:`weighting.Margin`; category values
  are kept as text (the contract compares categories as strings).
* :func:`write_atomic` writes through a temporary file in the target's
  directory and ``os.replace``, so a reader never sees a half-written file,
  and refuses to replace an existing file unless ``force``.
"""
from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import pandas as pd

from weighting import Margin
from weighting.errors import KalibError, MarginError

PARQUET_SUFFIXES = (".parquet", ".pq")


class InputFileError(KalibError):
    """An input file is missing, unreadable or malformed (names the file)."""


class OutputExistsError(KalibError):
    """The output exists and ``force`` was not given."""


def read_table(path, text_columns=()) -> pd.DataFrame:
    """Read a sample table: CSV, or parquet (``.parquet``/``.pq``) via pyarrow.

    Parameters
    ----------
    path : str or Path
    text_columns : iterable of str
        Columns to read as text (CSV only; parquet keeps its stored types).
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"input file {str(path)!r} does not exist")
    try:
        if path.suffix.lower() in PARQUET_SUFFIXES:
            return pd.read_parquet(path, engine="pyarrow")
        return pd.read_csv(path, dtype={c: str for c in text_columns})
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise InputFileError(f"cannot read {str(path)!r}: {exc}") from None


def read_margins(path) -> Margin:
    """Read a margin CSV (variables..., ``total``) into a Margin.

    The margin's variables are the header's columns other than ``total``, in
    file order; each row is one category (a cross of the variables' values)
    with its population count.
    """
    path = Path(path)
    frame = read_table(path, text_columns=_header(path))
    if "total" not in frame.columns:
        raise MarginError(f"margin file {str(path)!r} has no 'total' column "
                          f"(columns: {', '.join(frame.columns)})")
    variables = [c for c in frame.columns if c != "total"]
    if not variables or frame.empty:
        raise MarginError(f"margin file {str(path)!r} needs at least one variable column "
                          "and one row")
    table = {}
    for row, values in enumerate(frame.itertuples(index=False), start=2):
        record = dict(zip(frame.columns, values))
        key = tuple(record[v] for v in variables)
        if any(pd.isna(k) for k in key):
            raise MarginError(f"margin file {str(path)!r}, line {row}: empty category")
        total = _number(record["total"])
        if total is None:
            raise MarginError(f"margin file {str(path)!r}, line {row}: total "
                              f"{record['total']!r} is not a number")
        if key in table:
            raise MarginError(f"margin file {str(path)!r}, line {row}: category "
                              f"{key if len(key) > 1 else key[0]!r} appears twice")
        table[key] = total
    return Margin(tuple(variables), table)


def _header(path: Path) -> list[str]:
    try:
        return list(pd.read_csv(path, nrows=0).columns)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise InputFileError(f"cannot read {str(path)!r}: {exc}") from None


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def check_writable(path, force: bool = False) -> Path:
    """Fail early (before any work) if ``path`` exists without ``force`` or
    its directory does not exist."""
    path = Path(path)
    if path.exists() and not force:
        raise OutputExistsError(f"output {str(path)!r} exists; use --force to replace it")
    if not path.parent.resolve().is_dir():
        raise InputFileError(f"output directory {str(path.parent)!r} does not exist")
    return path


def write_atomic(path, write, force: bool = False) -> Path:
    """Write a file atomically: ``write(tmp_path)`` then rename onto ``path``.

    Parameters
    ----------
    path : str or Path
    write : callable or str or bytes
        ``write(tmp_path)`` writes the content to the given temporary path
        (e.g. ``frame.to_csv``); text or bytes are written as they are.
    force : bool
        Replace an existing ``path``; otherwise raise OutputExistsError.
    """
    path = check_writable(path, force)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        if isinstance(write, (str, bytes)):
            Path(tmp).write_bytes(write.encode() if isinstance(write, str) else write)
        else:
            write(tmp)
        # mkstemp makes owner-only files; give the output the mode of any
        # file the user writes.
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def current_umask() -> int:
    """The process umask (it can only be read by setting it: set it back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_table(frame: pd.DataFrame, path, force: bool = False) -> Path:
    """Write a DataFrame atomically as CSV (numbers in shortest round-trip form)
    or parquet (by suffix)."""
    if Path(path).suffix.lower() in PARQUET_SUFFIXES:
        return write_atomic(path, lambda tmp: frame.to_parquet(tmp, index=False), force)
    return write_atomic(path, lambda tmp: frame.to_csv(tmp, index=False), force)
