"""File input and output: sample tables, margin files, unit ids, atomic writes.

* :func:`read_table` / :func:`read_table_info` read a sample — CSV in any of
  the dialects of :mod:`estimators.io.text` (``,``/``;``/tab, decimal
  comma, UTF-8/UTF-16/Windows-1252/Latin-1), parquet (``.parquet``/``.pq``)
  through pyarrow, or SPSS ``.sav`` through pyreadstat — and say what was
  detected (:class:`~estimators.io.text.ReadInfo`); columns named in
  ``text_columns`` are read as text so that codes such as ``01`` keep their
  leading zeros.
* :func:`read_margins` reads a margin file — one column per crossed sample
  variable plus ``total`` — into a :class:`weighting.Margin`; category values
  are kept as text (the contract compares categories as strings).
* :func:`check_ids` checks a unit-id column: present, no missing value, no
  repeat (naming the first offending lines).
* :func:`write_atomic` writes through a temporary file in the target's
  directory and ``os.replace``, so a reader never sees a half-written file;
  :func:`write_files` does the same for files that belong together (a
  replicate table and its sidecar). Both hold an exclusive claim on their
  targets while they check and rename (:func:`claim_outputs`), so two runs
  never write the same target, and refuse to replace an existing file unless
  ``force``. :func:`staged_directory` does it for a directory (the report).

Every error is a :class:`~weighting.errors.KalibError` with a one-line message
naming the file, and the line (text files: line 1 is the header) or the row
(parquet, ``.sav``: 1-based) where it applies.
"""

from __future__ import annotations

import fcntl
import math
import os
import shutil
import signal
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np
import pandas as pd

from estimators.io.text import (
    InputFileError,
    ReadInfo,
    StrPath,
    check_input,
    read_bytes,
    read_csv_table,
)
from weighting import Margin, errors
from weighting.columns import canonical
from weighting.errors import KalibError, MarginError

PARQUET_SUFFIXES = (".parquet", ".pq")
SAV_SUFFIXES = (".sav", ".zsav")


class IdError(InputFileError):
    """A unit-id column is absent, has missing values or repeats a value."""


class OutputExistsError(KalibError):
    """The output exists and ``force`` was not given."""


class OutputBusyError(OutputExistsError):
    """Another run is writing the same output right now."""


class OutputWriteError(KalibError):
    """An output cannot be written (read-only place, a directory, a full disk)."""


def shown(value: object) -> str:
    """A value as a message shows it (:func:`weighting.errors.shown`; pandas'
    NA is missing too)."""
    return "missing" if value is pd.NA else errors.shown(value)


# ------------------------------------------------------------------ reading
def read_table(
    path: StrPath, text_columns: Iterable[str] = (), *, encoding: str | None = None
) -> pd.DataFrame:
    """Read a sample table (CSV, parquet or SPSS ``.sav``); see :func:`read_table_info`."""
    return read_table_info(path, text_columns, encoding=encoding)[0]


def read_table_info(
    path: StrPath, text_columns: Iterable[str] = (), *, encoding: str | None = None
) -> tuple[pd.DataFrame, ReadInfo]:
    """Read a sample table and say what was found in it.

    Parameters
    ----------
    path : str or Path
        CSV (any name), parquet (``.parquet``, ``.pq``) or SPSS (``.sav``).
    text_columns : iterable of str
        Columns to read as text (CSV only; parquet and ``.sav`` keep their
        stored types).
    encoding : str, optional
        Codec of a CSV file (``--encoding``); detected when absent.

    Returns
    -------
    (DataFrame, ReadInfo)
        A file without data rows, a column name used twice, a row with the
        wrong number of fields are :class:`InputFileError` naming the file
        (and line); so is a directory or a missing file.
    """
    path = check_input(path)
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return _read_parquet(path)
    if suffix in SAV_SUFFIXES:
        return _read_sav(path)
    return read_csv_table(path, read_bytes(path), text_columns=text_columns, encoding=encoding)


def _read_parquet(path: Path) -> tuple[pd.DataFrame, ReadInfo]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    name = str(path)
    try:
        names = pq.read_schema(path).names
        _refuse_repeated(names, name)
        frame = pd.read_parquet(path, engine="pyarrow")
    except InputFileError:
        raise
    # A damaged parquet file makes pyarrow raise any of its exception types
    # (ArrowInvalid, ArrowIOError, ArrowNotImplementedError...), all ArrowException.
    except (
        pa.ArrowException,
        OSError,
        ValueError,
        TypeError,
        IndexError,
        KeyError,
        NotImplementedError,
        MemoryError,
    ) as exc:
        raise InputFileError(f"cannot read parquet file {name!r}: {_first(exc)}") from None
    if any(level is not None for level in frame.index.names):
        # a table saved from pandas with a named index (df.set_index("id")):
        # the index is one of the file's columns, not the rows' labels
        frame = frame.reset_index()
    return _non_empty(
        frame, ReadInfo(path=name, format="parquet", rows=len(frame), columns=frame.shape[1])
    )


def _read_sav(path: Path) -> tuple[pd.DataFrame, ReadInfo]:
    from estimators.io.sav import read_sav

    name = str(path)
    frame, _ = read_sav(path, apply_value_formats=False)
    return _non_empty(
        frame, ReadInfo(path=name, format="sav", rows=len(frame), columns=frame.shape[1])
    )


def _non_empty(frame: pd.DataFrame, info: ReadInfo) -> tuple[pd.DataFrame, ReadInfo]:
    if frame.shape[1] == 0:
        raise InputFileError(f"{info.path!r} has no columns")
    if len(frame) == 0:
        raise InputFileError(f"{info.path!r} has columns but no data rows")
    return frame, info


def _refuse_repeated(names, source: str) -> None:
    seen: dict[str, int] = {}
    for k, name in enumerate(names, start=1):
        if name in seen:
            raise InputFileError(
                f"{source!r}: column {name!r} appears twice (columns {seen[name]} and {k})"
            )
        seen[name] = k


def _first(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def read_margins(path: StrPath, *, encoding: str | None = None) -> Margin:
    """Read a margin file into a Margin; see :func:`read_margins_info`."""
    return read_margins_info(path, encoding=encoding)[0]


def read_margins_info(path: StrPath, *, encoding: str | None = None) -> tuple[Margin, ReadInfo]:
    """Read a margin file (variables..., ``total``) into a Margin.

    The margin's variables are the header's columns other than ``total``, in
    file order; each row is one category (a cross of the variables' values,
    read as text) with its population count, a finite number (with the
    file's decimal mark). An empty category, a total that is not a number and
    a category given twice are :class:`~weighting.errors.MarginError` naming
    the file and line.
    """
    path = check_input(path)
    name = str(path)
    if path.suffix.lower() in PARQUET_SUFFIXES + SAV_SUFFIXES:
        frame, info = read_table_info(path)
        frame = (
            frame.astype(object)
            .where(frame.notna(), "")
            .map(lambda v: v if isinstance(v, str) else canonical(v))
        )
    else:
        frame, info = read_csv_table(
            path, read_bytes(path), all_text=True, encoding=encoding, named=True
        )
    if "total" not in frame.columns:
        raise MarginError(
            f"margin file {name!r} has no 'total' column "
            f"(columns: {', '.join(map(str, frame.columns))})"
        )
    variables = [c for c in frame.columns if c != "total"]
    if not variables:
        raise MarginError(
            f"margin file {name!r} needs at least one variable column beside 'total'"
        )
    table: dict[tuple[str, ...], float] = {}
    seen: dict[tuple[str, ...], tuple[tuple[str, ...], int]] = {}  # canonical key: (key, row)
    for row, values in enumerate(frame.itertuples(index=False)):
        record = dict(zip(frame.columns, values))
        key = tuple(record[v] for v in variables)
        where = info.where(row)
        empty = [v for v, k in zip(variables, key) if not k.strip()]
        if empty:
            raise MarginError(
                f"margin file {name!r}, {where}: empty category (column {empty[0]!r})"
            )
        total = _number(record["total"], info.decimal or ".")
        if total is None:
            raise MarginError(
                f"margin file {name!r}, {where}: total "
                f"{shown(record['total'])} is not a finite number"
            )
        # categories are compared canonically (weighting.columns.canonical):
        # '-0' is '0', '1.0' is '1' — one category written twice
        same = tuple(canonical(k) for k in key)
        if same in seen:
            first, at = seen[same]
            spelt = "" if first == key else f"as {_category(first)}, "
            raise MarginError(
                f"margin file {name!r}, {where}: category {_category(key)} "
                f"appears twice ({spelt}{info.where(at)})"
            )
        seen[same] = (key, row)
        table[key] = total
    return Margin(tuple(variables), table), info


def _category(key: tuple) -> str:
    return shown(key[0]) if len(key) == 1 else "(" + ", ".join(map(shown, key)) + ")"


def _number(text: str, decimal: str) -> float | None:
    text = text.strip()
    if decimal == ",":
        text = text.replace(",", ".")
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def check_ids(frame: pd.DataFrame, column: str, info: ReadInfo, *, default: str = "id") -> None:
    """Check the unit-id column of a sample read from a file.

    The column must exist (unless it is the ``default`` name, which a sample
    may lack when nothing needs ids), have no missing value and no repeated
    value. :class:`IdError` names the file, the count and the first lines.
    Ids are compared as read (``7`` and ``007`` are the same number in a
    numeric column, different codes in a text column).
    """
    if column not in frame.columns:
        if column == default:
            return
        raise IdError(
            f"{info.path!r} has no id column {column!r} "
            f"(columns: {', '.join(map(str, frame.columns))})"
        )
    values = frame[column]
    missing = values.isna().to_numpy()
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        missing = missing | values.astype(str).str.strip().eq("").to_numpy()
    if missing.any():
        rows = np.flatnonzero(missing)
        raise IdError(
            f"{info.path!r}: id column {column!r} has {rows.size} missing "
            f"value(s) ({info.where_rows(rows)})"
        )
    repeated = values.duplicated(keep=False).to_numpy()
    if repeated.any():
        first = values.iloc[int(np.flatnonzero(repeated)[0])]
        rows = np.flatnonzero((values == first).to_numpy())
        n_ids = values[repeated].nunique()
        raise IdError(
            f"{info.path!r}: id column {column!r} is not unique: id "
            f"{shown(first)} appears {rows.size} times ({info.where_rows(rows)})"
            + (f"; {n_ids - 1} more id(s) repeat" if n_ids > 1 else "")
        )


# ------------------------------------------------------------------ writing
#: What writes one output file: ``write(tmp_path)``, or its text or bytes. (The
#: call's arguments are left open: mypy infers no type for a writer that binds
#: a loop variable as a default, ``lambda tmp, f=frame: f.to_csv(tmp)``.)
Writer = Callable[..., object] | str | bytes


def check_writable(path: StrPath, force: bool = False, *, directory: bool = False) -> Path:
    """Fail early (before any work) if ``path`` exists without ``force``, is
    a directory (a file, when the output is a ``directory``), is a device,
    pipe or socket, or its parent directory does not exist.

    Returns the path to write: ``path``, or the file a symbolic link ``path``
    points to, so that the output replaces the link's target and the link
    stays (renaming onto the link would replace it by a file).
    """
    path = Path(path)
    if path.exists() and path.is_dir() != directory:
        raise OutputWriteError(
            f"output {str(path)!r} is a directory; give a file name"
            if not directory
            else f"output {str(path)!r} exists and is not a directory"
        )
    if path.exists() and not directory and not path.is_file():
        # the temporary file renamed onto a FIFO or a device (/dev/stdout as
        # root: a link to one) would replace it for every process that uses it
        raise OutputWriteError(
            f"output {str(path)!r} is not a regular file (a device, pipe or socket): "
            "kalib writes files atomically (a temporary file renamed onto the "
            "output); give a file name"
        )
    if path.is_symlink():
        try:
            path = path.resolve()
        except (RuntimeError, OSError):  # a loop of links: RuntimeError before 3.13
            raise OutputWriteError(
                f"output {str(path)!r} is a symbolic link that leads nowhere (a loop of "
                "links); remove it or give another name"
            ) from None
    if path.exists() and not force:
        raise OutputExistsError(f"output {str(path)!r} exists; use --force to replace it")
    if not path.parent.resolve().is_dir():
        raise OutputWriteError(f"output directory {str(path.parent)!r} does not exist")
    return path


@contextmanager
def claim_outputs(paths: Iterable[StrPath]) -> Iterator[None]:
    """Hold an exclusive claim on every path for the ``with`` block.

    The claim is a lock file ``.NAME.lock`` beside each target, locked with
    ``flock``: the kernel drops the lock when its process dies, so a run that
    was killed leaves no stale claim (its empty lock file is reused). Another
    run holding a claim makes this one raise :class:`OutputBusyError` naming
    the target (the loser of two runs started together exits 2). Lock files
    are removed on the way out.
    """
    held: list[tuple[Path, int]] = []
    try:
        for path in sorted({Path(p).absolute() for p in paths}):
            held.append(_claim(path))
        yield
    finally:
        for lock, fd in reversed(held):
            # Removed while still locked, so that a run waiting on this inode
            # sees it gone (and retries) rather than locking a dead file.
            try:
                os.unlink(lock)
            except FileNotFoundError:
                pass
            os.close(fd)


def _claim(path: Path) -> tuple[Path, int]:
    lock = path.with_name(f".{path.name}.lock")
    for _ in range(10):
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise OutputWriteError(f"cannot write {str(path)!r}: {_reason(exc)}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 32, 0).decode(errors="replace").strip()
            os.close(fd)
            raise OutputBusyError(
                f"output {str(path)!r} is being written by another kalib run"
                + (f" (process {owner})" if owner else "")
                + "; wait for it to finish or choose another --out"
            ) from None
        try:
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            return lock, fd
        os.close(fd)  # its holder removed it between our open and lock: again
    raise OutputBusyError(f"output {str(path)!r} is being claimed by other kalib runs")


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def write_atomic(path: StrPath, write: Writer, force: bool = False) -> Path:
    """Write a file atomically: ``write(tmp_path)`` then rename onto ``path``.

    Parameters
    ----------
    path : str or Path
    write : callable or str or bytes
        ``write(tmp_path)`` writes the content to the given temporary path
        (e.g. ``frame.to_csv``); text or bytes are written as they are.
    force : bool
        Replace an existing ``path``; otherwise raise OutputExistsError.

    Any ``OSError`` (read-only place, ``/proc``, a full disk) is an
    :class:`OutputWriteError` naming the file; nothing is left behind.
    """
    return write_files([(path, write)], force)[0]


def write_files(items: Sequence[tuple[StrPath, Writer]], force: bool = False) -> list[Path]:
    """Write files that belong together as one unit.

    ``items`` is a list of ``(path, write)`` pairs (``write`` as in
    :func:`write_atomic`). Every target is claimed (:func:`claim_outputs`)
    and checked again under the claim, every file is written to a temporary
    file beside its target in the order given, and only then are they renamed
    into place, in reverse order: a file written later may describe the
    earlier ones (a sidecar with their checksum), and being in place first it
    makes a reader that comes between two renames see a checksum mismatch,
    never an unchecked mix. An error leaves no temporary file and touches no
    existing target.
    """
    paths = [check_writable(path, force) for path, _ in items]
    umask = current_umask()
    with claim_outputs(paths):
        for path in paths:
            check_writable(path, force)  # again: another run may have finished meanwhile
        temps: list[str] = []
        current = paths[0]
        try:
            for path, (_, write) in zip(paths, items):
                current = path
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
                os.close(fd)
                temps.append(tmp)
                if isinstance(write, (str, bytes)):
                    Path(tmp).write_bytes(write.encode() if isinstance(write, str) else write)
                else:
                    write(tmp)
                # mkstemp makes owner-only files; give the output the mode of
                # any file the user writes.
                os.chmod(tmp, 0o666 & ~umask)
            with signals_held():
                for path, tmp in reversed(list(zip(paths, temps))):
                    current = path
                    os.replace(tmp, path)
        except OSError as exc:
            raise OutputWriteError(f"cannot write {str(current)!r}: {_reason(exc)}") from None
        finally:
            for tmp in temps:
                if os.path.exists(tmp):
                    os.unlink(tmp)
    return paths


@contextmanager
def signals_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM while the block runs; a signal that came
    meanwhile is acted on when it ends.

    It guards a few renames that publish an output: an interrupt lands before
    them (the old output untouched) or after them (the new one complete),
    never between (the old output moved aside and the new one not in place,
    or a sidecar without its table). Signals are only handled in the main
    thread; elsewhere the block runs as it is.
    """
    caught: list[tuple[int, FrameType | None]] = []
    held = [
        sig
        for sig in (signal.SIGINT, signal.SIGTERM)
        if signal.getsignal(sig) not in (None, signal.SIG_IGN)
    ]
    if threading.current_thread() is not threading.main_thread() or not held:
        yield
        return
    # a handler is a function, SIG_DFL or SIG_IGN (ints), or None (not set from Python)
    previous: dict[int, Callable[[int, FrameType | None], Any] | int | None] = {
        sig: signal.signal(sig, lambda signum, frame: caught.append((signum, frame)))
        for sig in held
    }
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if caught:
            signum, frame = caught[0]
            handler = previous[signum]
            if callable(handler):
                handler(signum, frame)
            else:  # SIG_DFL: the signal's default action, now that it can
                os.kill(os.getpid(), signum)


def current_umask() -> int:
    """The process umask (it can only be read by setting it: set it back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_table(
    frame: pd.DataFrame,
    path: StrPath,
    force: bool = False,
    float_format: Callable[[float], str] | None = None,
) -> Path:
    """Write a DataFrame atomically as CSV (numbers in shortest round-trip
    form, or by ``float_format``; compressed when the name says so,
    :func:`csv_compression`) or parquet (by suffix).

    A compressed CSV is the same bytes from run to run and names the target,
    never the temporary file written first: gzip stores the name without
    ``.gz`` and no time, a zip archive one member, the name without ``.zip``,
    dated 1980-01-01 (zip's earliest date); bz2, xz and zstd store neither.
    """
    target = Path(path)
    if target.suffix.lower() in PARQUET_SUFFIXES:
        return write_atomic(target, lambda tmp: frame.to_parquet(tmp, index=False), force)
    compression = csv_compression(target)
    options: dict[str, Any] = {"index": False, "float_format": float_format}
    if compression == "zip":
        # pandas dates the member by the clock (and cannot be told otherwise)
        member = zipfile.ZipInfo(target.name[: -len(".zip")], date_time=(1980, 1, 1, 0, 0, 0))
        member.external_attr = 0o644 << 16  # rw-r--r-- when unpacked

        def write_zip(tmp: str) -> None:
            with zipfile.ZipFile(tmp, "w") as archive:
                archive.writestr(member, frame.to_csv(**options), zipfile.ZIP_DEFLATED)

        return write_atomic(target, write_zip, force)
    if compression == "gzip":
        # pandas hands these to gzip.GzipFile, which would otherwise store
        # the temporary file's name and the time it was written
        gzip_header = {"method": "gzip", "filename": target.name, "mtime": 0}

        def write_gzip(tmp: str) -> None:
            with open(tmp, "wb") as raw:  # an open file: GzipFile takes the name given
                frame.to_csv(raw, compression=gzip_header, **options)

        return write_atomic(target, write_gzip, force)
    return write_atomic(
        target, lambda tmp: frame.to_csv(tmp, compression=compression, **options), force
    )


#: Output names of formats other than the CSV and parquet that tables are
#: written in, and what a reader would expect to find in them.
_OTHER_FORMATS = {
    ".xlsx": "an Excel workbook",
    ".xls": "an Excel workbook",
    ".ods": "an OpenDocument spreadsheet",
    ".json": "JSON",
    ".sav": "an SPSS file",
    ".dta": "a Stata file",
    ".nc": "netCDF",
    ".feather": "a Feather file",
    ".html": "a web page",
}
#: Compressed CSV by the name's last suffix (pandas' own inference, which
#: cannot see the target's name through the temporary file written first).
_COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zip": "zip", ".zst": "zstd"}


def csv_compression(path: StrPath) -> str | None:
    """The compression the name of a CSV output asks for (``o.csv.gz``:
    ``"gzip"``), or None; OutputWriteError for the name of another format
    (``o.xlsx`` would be CSV text under an Excel name)."""
    suffix = Path(path).suffix.lower()
    if suffix in _OTHER_FORMATS:
        raise OutputWriteError(
            f"kalib writes tables as CSV or parquet: {str(path)!r} would be CSV text under "
            f"the name of {_OTHER_FORMATS[suffix]}; name it .csv (or .parquet)"
        )
    return _COMPRESSIONS.get(suffix)


# ------------------------------------------------------------- directories
@contextmanager
def staged_directory(out: StrPath, force: bool = False) -> Iterator[Path]:
    """Build an output directory in a temporary sibling, then publish it whole.

    ``with staged_directory(out, force) as tmp:`` yields the temporary
    directory to write into. When the block ends without error, under a claim
    on ``out`` (:func:`claim_outputs`: the loser of two runs exits 2 naming
    it) ``out`` is checked again, an existing ``out`` (only with ``force``) is
    renamed aside and removed once the new one is in place, so ``out`` is
    never a mix of two runs; entries get the usual permissions (0666/0777
    less the umask; ``mkdtemp`` makes owner-only ones). On any error (or
    Ctrl-C) the temporary directory is removed and ``out`` is untouched; an
    ``OSError`` becomes an :class:`OutputWriteError` naming ``out``.
    """
    out = check_writable(out, force, directory=True)
    tmp = temporary_sibling(out)
    try:
        try:
            yield tmp
        except OSError as exc:
            raise OutputWriteError(f"cannot write {str(out)!r}: {_reason(exc)}") from None
        _publish(tmp, out, force)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def temporary_sibling(out: Path) -> Path:
    """A new temporary directory ``.NAME.XXXX.tmp`` beside ``out`` (the path
    :func:`check_writable` returns: beside a link's target, so that renaming
    it onto the target stays on one filesystem); OutputWriteError naming
    ``out`` when it cannot be made."""
    try:
        return Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    except OSError as exc:
        raise OutputWriteError(f"cannot write {str(out)!r}: {_reason(exc)}") from None


def _publish(tmp: Path, out: Path, force: bool) -> None:
    # held from the swap to the removal of the old output: an interrupt
    # between them would leave out missing, or the old one beside it
    with claim_outputs([out]), signals_held():
        check_writable(out, force, directory=True)
        umask = current_umask()
        old = None
        try:
            tmp.chmod(0o777 & ~umask)
            for entry in tmp.rglob("*"):
                entry.chmod((0o777 if entry.is_dir() else 0o666) & ~umask)
            if out.exists():
                old = out.with_name(f".{out.name}.old-{os.getpid()}")
                os.replace(out, old)
            os.replace(tmp, out)
        except OSError as exc:
            if old is not None and not out.exists():
                os.replace(old, out)  # put the previous output back
                old = None
            raise OutputWriteError(f"cannot write {str(out)!r}: {_reason(exc)}") from None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
