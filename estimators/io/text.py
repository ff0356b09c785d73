"""Text files as analysts have them: CSV dialects and encodings; JSON.

A CSV file from Norwegian Excel is ``;``-separated with a decimal comma
(``1,5``) and often Windows-1252; one from R or pandas is ``,``-separated,
UTF-8, decimal point; Excel's "Unicode text" is UTF-16 and tab-separated.
:func:`read_csv_table` reads all of them and returns, beside the frame, a
:class:`ReadInfo` saying what it found, so that a run can state it.

The rules (``docs/cli.md``, "Input files"):

* **Encoding**: a byte-order mark decides (UTF-8, UTF-16); otherwise UTF-8
  when the bytes are valid UTF-8, else Windows-1252, else Latin-1 (every byte
  is a Latin-1 character). Bytes that are *partly* valid multi-byte UTF-8 are
  refused instead of being read as Windows-1252 mojibake: such a file is a
  damaged UTF-8 file or mixes encodings. ``encoding=`` (``--encoding``)
  overrides the detection.
* **Delimiter**: ``,``, ``;`` or tab, whichever splits the header and the
  next rows into the same number (at least two) of fields, the most fields
  winning (ties in that order); a one-column file, the first that leaves
  its rows whole.
* **Decimal mark**: a comma when the delimiter is ``;`` or tab and some field
  is a number written with a decimal comma (``1,5``, ``-0,25``); a point
  otherwise. A ``,``-separated file always has a decimal point (a field
  ``"1,5"`` there is text).
* **Structure**: every data row has exactly as many fields as the header;
  blank lines are skipped; a column name may not appear twice; quoting is
  RFC 4180's (a quote inside a quoted field is doubled). Anything else is an
  :class:`InputFileError` naming the file and the line.
* **Workbooks**: a spreadsheet workbook (ZIP: ``.xlsx``, ``.ods``; OLE2:
  ``.xls``), known by its first bytes, is an :class:`InputFileError` saying
  to save it as CSV; so are a gzip-compressed file, a Stata ``.dta`` file
  and a SAS data set (``.sas7bdat``, XPORT), with what to do.
* **Missing**: only an empty cell is missing. ``NA``, ``NaN``, ``null``,
  ``N/A`` are text like any other (pandas' default missing markers are off).

Lines are numbered as in an editor: line 1 is the header, line 2 the first
data row (when no field spans lines and no line is blank); a field that spans
lines is reported at the line where its row starts.

Unlike R's ``read.csv`` (which pads short rows with ``NA`` under its default
``fill = TRUE``) and pandas (which does the same, and takes a first column
without a header as the index), a row with a missing or an extra field is an
error: it is what a truncated or hand-edited file looks like.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, SupportsInt

import numpy as np
import pandas as pd

from weighting.errors import KalibError

#: A file name: text or a path object.
StrPath = str | os.PathLike[str]

DELIMITERS = (",", ";", "\t")
#: Rows read to choose the delimiter (the header and the next ones).
SNIFF_ROWS = 20
#: Characters those rows are first read from (all of the text when they
#: are not within them).
SNIFF_CHARS = 1 << 16
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Magic bytes of the spreadsheet formats: ZIP (.xlsx, .ods) and OLE2 (.xls).
_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ODS_MIME = b"application/vnd.oasis.opendocument.spreadsheet"
# Magic bytes of other programs' data files: gzip, SAS (.sas7bdat, XPORT .xpt).
_GZIP = b"\x1f\x8b"
_SAS7BDAT = (
    bytes(12) + b"\xc2\xea\x81\x60\xb3\x14\x11\xcf\xbd\x92\x08\x00\x09\xc7\x31\x8c\x18\x1f\x10\x11"
)
_SAS_XPORT = b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!"
# A well-formed multi-byte UTF-8 sequence (2, 3 or 4 bytes).
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}"
    rb"|[\xf0-\xf4][\x80-\xbf]{3}"
)
_NAMES = {
    "utf-8": "UTF-8",
    "utf-16": "UTF-16",
    "cp1252": "Windows-1252",
    "iso8859-1": "Latin-1",
    "latin-1": "Latin-1",
}


class InputFileError(KalibError):
    """An input file is missing, unreadable or malformed (names the file, and
    the line or column where it applies)."""


@dataclass(frozen=True)
class ReadInfo:
    """What a reader found in a file: format, encoding, delimiter, decimal mark.

    ``lines[i]`` is the file line where data row ``i`` starts (text files);
    :meth:`where` turns a row position into the words a message uses.
    """

    path: str
    format: str  # "csv", "parquet" or "sav"
    rows: int
    columns: int
    encoding: str | None = None  # codec of a text file ("utf-8", "cp1252", ...)
    bom: bool = False
    encoding_given: bool = False  # --encoding, not detected
    delimiter: str | None = None  # the one the file is parsed with
    decimal: str | None = None
    lines: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def plain(self) -> bool:
        """Nothing worth saying: not a text file, or UTF-8 without a BOM,
        comma-separated (or one column) with a decimal point, as detected."""
        return self.format != "csv" or (
            self.encoding == "utf-8"
            and not self.bom
            and not self.encoding_given
            and (self.delimiter == "," or self.columns == 1)
            and self.decimal == "."
        )

    def describe(self) -> str:
        """One line for the run summary, e.g. ``read 'a.csv': 3 rows, 4 columns
        (';'-separated, decimal comma, Windows-1252)``."""
        size = f"{self.rows} rows, {self.columns} columns"
        if self.format != "csv":
            return f"read {self.path!r}: {size} ({self.format})"
        if self.columns == 1:
            layout = "one column"
        elif self.delimiter == "\t":
            layout = "tab-separated"
        else:
            layout = f"{self.delimiter!r}-separated"
        parts = [
            layout,
            "decimal comma" if self.decimal == "," else "decimal point",
            encoding_name(self.encoding)
            + (" with byte-order mark" if self.bom else "")
            + (" (--encoding)" if self.encoding_given else ""),
        ]
        return f"read {self.path!r}: {size} ({', '.join(parts)})"

    def where(self, row: int) -> str:
        """``line N`` (text files) or ``row N`` (1-based) for data row ``row``."""
        return self.where_rows([row])

    def where_rows(self, rows: Iterable[SupportsInt], limit: int = 3) -> str:
        """``lines 3, 9`` (text files) or ``rows 2, 8`` (1-based) for data
        rows at positions ``rows``, the first ``limit`` of them."""
        at = [int(r) for r in rows]
        if self.lines is not None and all(0 <= r < len(self.lines) for r in at):
            word, numbers = "line", [int(self.lines[r]) for r in at]
        else:
            word, numbers = "row", [r + 1 for r in at]
        text = ", ".join(str(n) for n in numbers[:limit]) + (", ..." if len(at) > limit else "")
        return f"{word}{'s' if len(at) > 1 else ''} {text}"


def encoding_name(codec: str | None) -> str:
    """The usual name of a codec (``cp1252`` is Windows-1252)."""
    return _NAMES.get(codec or "", codec or "unknown encoding")


# ---------------------------------------------------------------- encoding
def decode(raw: bytes, path: str, encoding: str | None = None) -> tuple[str, str, bool]:
    """The text of a file's bytes: ``(text, codec, had_bom)`` (rules above)."""
    workbook = _workbook(raw)
    if workbook is not None:
        # Checked before any decoding: a workbook's bytes would otherwise be
        # refused as "binary data", which does not tell the user what to do.
        raise InputFileError(
            f"{path!r} is {workbook}, not a CSV file: save it as CSV (UTF-8, or the "
            "';'-separated CSV of Norwegian Excel: both are read, see \"Input files\" "
            "in docs/cli.md); parquet and SPSS .sav files are read directly"
        )
    other = _data_file(raw)
    if other is not None:
        what, advice = other
        raise InputFileError(f"{path!r} is {what}, not a CSV file: {advice}")
    if encoding is not None:
        try:
            codec = codecs.lookup(encoding).name
        except LookupError:
            raise InputFileError(f"unknown encoding {encoding!r} (--encoding)") from None
        bom = codec == "utf-8" and raw.startswith(codecs.BOM_UTF8)
        return _decode_as(raw[3:] if bom else raw, codec, path, explicit=True), codec, bom
    for mark, codec in _BOMS:
        if raw.startswith(mark):
            body = raw[len(mark) :] if codec == "utf-8" else raw
            return _decode_as(body, codec, path), codec, True
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise InputFileError(
            f"{path!r} is not a text file (a NUL byte at line {line}: "
            "binary data, or UTF-16 without a byte-order mark)"
        )
    try:
        return raw.decode("utf-8"), "utf-8", False
    except UnicodeDecodeError as exc:
        if _UTF8_MULTIBYTE.search(raw):
            raise InputFileError(
                f"{path!r} is not valid UTF-8 at line {_line_at(raw, exc.start)} (byte "
                f"0x{raw[exc.start]:02x}) although other lines are UTF-8: a damaged file, "
                "or mixed encodings; give --encoding to read it anyway"
            ) from None
    try:
        return raw.decode("cp1252"), "cp1252", False
    except UnicodeDecodeError:
        # Windows-1252 leaves five bytes undefined; Latin-1 defines every byte.
        return raw.decode("latin-1"), "iso8859-1", False


def _workbook(raw: bytes) -> str | None:
    """What spreadsheet format ``raw`` starts as (by its magic bytes), or None."""
    if raw.startswith(_OLE2):
        return "an Excel workbook in the legacy .xls format"
    if not raw.startswith(_ZIP):
        return None
    # A ZIP archive's member names are stored uncompressed (in the local
    # headers and the central directory), so the workbook part is found in
    # the bytes; an OpenDocument file stores its MIME type first, uncompressed.
    if b"xl/workbook" in raw:
        return "an Excel workbook (.xlsx)"
    if raw[30:38] == b"mimetype" and _ODS_MIME in raw[38:256]:
        return "an OpenDocument spreadsheet (.ods)"
    return "a ZIP archive (a spreadsheet workbook or a compressed file)"


def _data_file(raw: bytes) -> tuple[str, str] | None:
    """What other program's file ``raw`` is (by its first bytes) and how to
    make a CSV file of it, or None."""
    if raw.startswith(_GZIP):
        return "gzip-compressed", "decompress it first (gunzip; 7-Zip on Windows)"
    if raw.startswith(b"<stata_dta>") or (
        len(raw) > 1 and 0x66 <= raw[0] <= 0x77 and raw[1] in (1, 2)  # formats 102-119
    ):
        return "a Stata data file", "export it as CSV (export delimited) or SPSS .sav"
    if raw.startswith((_SAS7BDAT, _SAS_XPORT)):
        return "a SAS data set", "export it as CSV (PROC EXPORT ... DBMS=CSV) or SPSS .sav"
    return None


def _decode_as(raw: bytes, codec: str, path: str, explicit: bool = False) -> str:
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as exc:
        hint = "" if explicit else "; give --encoding if the file is in another encoding"
        raise InputFileError(
            f"{path!r} is not valid {encoding_name(codec)} at line "
            f"{_line_at(raw, exc.start)} (byte 0x{raw[exc.start]:02x})"
            f"{hint}"
        ) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise InputFileError(
            f"{path!r} is not a text file in {encoding_name(codec)} "
            f"(a NUL character at line {line})"
        )
    return text


def _line_at(raw: bytes, offset: int) -> int:
    return raw[:offset].count(b"\n") + 1


# ------------------------------------------------------- delimiter, decimal
def sniff_delimiter(text: str) -> str:
    """``,``, ``;`` or tab (rules above).

    A one-column file is read with the first delimiter that leaves each of
    its rows one field (a text cell ``a,b`` in a column exported with ``;``
    is not two fields); when no delimiter splits the rows evenly, the one
    that splits the header most, so that the structure check names the first
    uneven line.
    """
    best, best_fields, single = None, 1, None
    head = text[:SNIFF_CHARS]
    first, to_end = _first_rows(head)
    if to_end and len(head) < len(text):  # a record may go on beyond the start
        first, _ = _first_rows(text)
    for delimiter, rows in first.items():
        if not rows or any(len(r) != len(rows[0]) for r in rows):
            continue
        if len(rows[0]) > best_fields:
            best, best_fields = delimiter, len(rows[0])
        elif len(rows[0]) == 1 and single is None:
            single = delimiter
    if best is None:
        header = _first_line(text)
        most = max(DELIMITERS, key=lambda d: (header.count(d), -DELIMITERS.index(d)))
        best = single if single is not None and not header.count(most) else most
    return best


def _first_rows(text: str) -> tuple[dict[str, list[list[str]] | None], bool]:
    """The first ``SNIFF_ROWS`` records of ``text`` but blank ones, split by
    each delimiter (None: bad quoting), and whether a reader got to the end
    of ``text``."""
    found: dict[str, list[list[str]] | None] = {}
    to_end = False
    # one buffer, rewound for each delimiter (making one is a pass over the text)
    buffer = io.StringIO(text, newline="")
    for delimiter in DELIMITERS:
        buffer.seek(0)
        reader = csv.reader(buffer, delimiter=delimiter, strict=True)
        try:
            found[delimiter] = [r for r in itertools.islice(reader, SNIFF_ROWS) if not _blank(r)]
        except csv.Error:
            found[delimiter] = None
        to_end = to_end or buffer.tell() == len(text)
    return found, to_end


def sniff_decimal(text: str, delimiter: str) -> str:
    """``,`` when ``;``/tab-separated text holds a decimal-comma number, else ``.``."""
    if delimiter == ",":
        return "."
    d = re.escape(delimiter)
    number = r'"?[ ]*[-+]?(?:\d+,\d*|,\d+)(?:[eE][-+]?\d+)?[ ]*"?'
    pattern = re.compile(rf"(?:^|{d}){number}(?={d}|\r|\n|$)", re.M)
    return "," if pattern.search(text) else "."


def _first_line(text: str) -> str:
    for line in io.StringIO(text, newline=""):
        if line.strip():
            return line
    return ""


def _blank(record: list[str]) -> bool:
    # An empty or whitespace-only line (pandas skips both); a quoted empty
    # field ('""') is a row with a missing value.
    return not record or (len(record) == 1 and record[0] != "" and not record[0].strip())


# ------------------------------------------------------------------ structure
def scan(text: str, delimiter: str, path: str) -> tuple[list[str], np.ndarray]:
    """The header and the start line of every data row; InputFileError on a
    row with the wrong number of fields, a duplicated column name or bad
    quoting (naming the line).

    A file without quotes whose lines end in LF or CR LF is checked on its
    bytes (a row is a line, its fields the delimiters between); any other
    file, and one that check finds fault with, record by record by the csv
    module, whose reading the messages describe.
    """
    found = _scan_unquoted(text, delimiter, path)
    return found if found is not None else _scan_records(text, delimiter, path)


def _scan_records(text: str, delimiter: str, path: str) -> tuple[list[str], np.ndarray]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header, lines, previous = None, [], 0
    try:
        for record in reader:
            start, previous = previous + 1, reader.line_num
            if _blank(record):
                continue
            if header is None:
                header = record
                _check_header(header, path)
                continue
            if len(record) != len(header):
                raise InputFileError(
                    f"{path!r}, line {start}: {len(record)} field(s), the header has "
                    f"{len(header)} (a missing or extra {_delimiter_name(delimiter)}, or a "
                    "truncated file)"
                )
            lines.append(start)
    except csv.Error as exc:
        raise InputFileError(f"{path!r}, line {previous + 1}: bad quoting ({exc})") from None
    if header is None:
        raise InputFileError(f"{path!r} is empty")
    return header, np.asarray(lines, dtype=np.int64)


def _scan_unquoted(text: str, delimiter: str, path: str) -> tuple[list[str], np.ndarray] | None:
    """:func:`scan` on the bytes of a file without quotes, or None when the
    file is not one or breaks a rule (the record reader then says which)."""
    if not text or '"' in text or ("\r" in text and text.count("\r") != text.count("\r\n")):
        return None  # quoting, or lines ended by a lone CR
    data = text.encode("utf-8")  # delimiters and line ends are single bytes in UTF-8
    b = np.frombuffer(data, np.uint8)
    ends = np.flatnonzero(b == ord("\n"))
    starts = np.concatenate(([0], ends + 1))
    ends = np.concatenate((ends, [b.size]))
    if data.endswith(b"\n"):  # no record after the last line end
        starts, ends = starts[:-1], ends[:-1]
    ends -= (ends > starts) & (b[np.maximum(ends - 1, 0)] == ord("\r"))
    if (ends - starts).max() >= csv.field_size_limit():
        return None  # a field may be over the csv module's limit: it says so
    # delimiters from each line's start to the next's (no line is empty: each
    # has its LF, but for a last one without, which has a character)
    fields = np.add.reduceat(b == ord(delimiter), starts, dtype=np.intp) + 1
    # A line without a delimiter is one field; blank when it is only
    # whitespace (_blank of its record). A printable ASCII character other
    # than space is none: only lines without one need their text stripped.
    single = np.flatnonzero(fields == 1)
    if single.size:
        printable = np.add.reduceat((b > 0x20) & (b < 0x7F), starts, dtype=np.intp)
        single = single[printable[single] == 0]
    blank = [i for i in single if not data[starts[i] : ends[i]].decode().strip()]
    rows = np.delete(np.arange(starts.size), blank)
    if not rows.size:
        return None
    header = data[starts[rows[0]] : ends[rows[0]]].decode().split(delimiter)
    _check_header(header, path)
    if (fields[rows[1:]] != len(header)).any():
        return None
    return header, rows[1:] + 1  # line numbers from 1


def _delimiter_name(delimiter: str) -> str:
    return "tab" if delimiter == "\t" else repr(delimiter)


def _check_header(header: list[str], path: str) -> None:
    seen: dict[str, int] = {}
    for k, name in enumerate(header, start=1):
        if name in seen and name.strip():
            raise InputFileError(
                f"{path!r}: column {name!r} appears twice in the header "
                f"(columns {seen[name]} and {k})"
            )
        seen.setdefault(name, k)


def read_csv_header(path: StrPath, encoding: str | None = None) -> list[str]:
    """The column names of a CSV file (its dialect detected as for the table)."""
    name = str(path)
    text, _, _ = decode(read_bytes(path), name, encoding)
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=sniff_delimiter(text), strict=True
    )
    try:
        header = next((r for r in reader if not _blank(r)), None)
    except csv.Error as exc:
        raise InputFileError(f"{name!r}, line {reader.line_num}: bad quoting ({exc})") from None
    if header is None:
        raise InputFileError(f"{name!r} is empty")
    return header


# ----------------------------------------------------------------- the table
def read_csv_table(
    path: StrPath,
    raw: bytes,
    *,
    text_columns: Iterable[str] = (),
    all_text: bool = False,
    encoding: str | None = None,
    named: bool = False,
) -> tuple[pd.DataFrame, ReadInfo]:
    """A CSV file's bytes as a DataFrame, with what was detected.

    Parameters
    ----------
    path : str or Path
        For messages only.
    raw : bytes
        The file's content.
    text_columns : iterable of str
        Columns read as text (codes such as ``01`` keep their zeros; a column
        written with decimal commas keeps them).
    all_text : bool
        Every column as text, an empty cell as ``""`` (the CATI reader maps
        blanks to its own missing code).
    encoding : str, optional
        The codec to decode with (``--encoding``) instead of detecting it.
    named : bool
        Every column must have a name (a margin file); otherwise an empty
        header cell names its column ``Unnamed: k`` as pandas does (R's
        ``write.csv`` leaves the row-name column's header empty).

    Returns
    -------
    (DataFrame, ReadInfo)
        Other columns are typed as pandas infers them (integers, floats with
        the detected decimal mark, booleans for ``True``/``False``, else text),
        an empty cell is missing (NaN).
    """
    name = str(path)
    text, codec, bom = decode(raw, name, encoding)
    delimiter = sniff_delimiter(text)
    decimal = sniff_decimal(text, delimiter)
    header, lines = scan(text, delimiter, name)
    if named and not all(h.strip() for h in header):
        k = next(k for k, h in enumerate(header, start=1) if not h.strip())
        raise InputFileError(f"{name!r}: column {k} has no name in the header")
    if not len(lines):
        raise InputFileError(f"{name!r} has a header but no data rows")
    options = dict(
        sep=delimiter,
        decimal=decimal,
        index_col=False,
        keep_default_na=False,
        skip_blank_lines=True,
    )
    if all_text:
        options.update(dtype=str, na_filter=False)
    else:
        options.update(dtype={c: str for c in text_columns if c in header}, na_values=[""])
    try:
        frame = pd.read_csv(io.StringIO(text), **options)
    except (ValueError, pd.errors.ParserError) as exc:
        raise InputFileError(f"cannot read {name!r}: {_first(exc)}") from None
    if len(frame) != len(lines) or list(frame.columns) != _pandas_names(header):
        # The structure check and pandas' tokenizer read the file differently
        # (unusual quoting or whitespace): refuse rather than guess.
        raise InputFileError(
            f"cannot read {name!r} unambiguously: {len(lines)} data rows "
            f"by line but {len(frame)} as parsed (check the quoting)"
        )
    info = ReadInfo(
        path=name,
        format="csv",
        rows=len(frame),
        columns=frame.shape[1],
        encoding=codec,
        bom=bom,
        encoding_given=encoding is not None,
        delimiter=delimiter,
        decimal=decimal,
        lines=lines,
    )
    return frame, info


def _pandas_names(header: list[str]) -> list[str]:
    # pandas names an empty header cell by its position ("Unnamed: 2").
    return [name if name else f"Unnamed: {k}" for k, name in enumerate(header)]


def _first(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def read_json(path: StrPath, what: str, error: type[KalibError] = InputFileError) -> Any:
    """The JSON document in a file; ``error`` (naming ``what`` and the file,
    with the line and column of a syntax error) when it cannot be read."""
    raw = read_bytes(path)
    name = str(path)
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise error(
            f"cannot read {what} {name!r}: not UTF-8 (byte 0x{raw[exc.start]:02x} "
            f"at line {_line_at(raw, exc.start)})"
        ) from None
    except json.JSONDecodeError as exc:
        raise error(
            f"cannot read {what} {name!r}: line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except (ValueError, RecursionError) as exc:  # e.g. nesting too deep
        raise error(f"cannot read {what} {name!r}: {_first(exc)}") from None


def check_input(path: StrPath) -> Path:
    """``path`` as a Path; InputFileError when it is absent or a directory."""
    path = Path(path)
    if path.is_dir():
        raise InputFileError(f"input {str(path)!r} is a directory, not a file")
    if not path.exists():
        raise InputFileError(f"input file {str(path)!r} does not exist")
    return path


def read_bytes(path: StrPath) -> bytes:
    """A file's bytes; InputFileError when it is absent, a directory or unreadable."""
    path = check_input(path)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
