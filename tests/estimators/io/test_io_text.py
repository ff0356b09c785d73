"""CSV files as analysts have them (issue 17): dialect and encoding detection,
the documented missing marker, and one-line errors naming file and line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estimators.io.files import (
    IdError,
    InputFileError,
    check_ids,
    read_margins,
    read_margins_info,
    read_table,
    read_table_info,
)
from estimators.io.text import (
    DELIMITERS,
    SNIFF_CHARS,
    _first_rows,
    _scan_records,
    _scan_unquoted,
    decode,
    sniff_decimal,
    sniff_delimiter,
)

ROWS = [
    ("1", "Østfold", "1,5", "m"),
    ("2", "Møre og Romsdal", "2,25", "NA"),
    ("3", "Troms", "", "k"),
]


def _write(path, text, encoding="utf-8", bom=b""):
    path.write_bytes(bom + text.encode(encoding))
    return path


def _excel(path, encoding="cp1252", line_end="\r\n"):
    """A sample as Norwegian Excel saves it: ';', decimal comma, CRLF."""
    lines = ["id;fylke;w;sex"] + [";".join(r) for r in ROWS]
    return _write(path, line_end.join(lines) + line_end, encoding)


@pytest.mark.parametrize("encoding, name", [("cp1252", "Windows-1252"), ("utf-8", "UTF-8")])
def test_norwegian_excel_export(tmp_path, encoding, name):
    frame, info = read_table_info(_excel(tmp_path / "semi.csv", encoding))
    assert list(frame.columns) == ["id", "fylke", "w", "sex"]
    assert frame["fylke"].tolist() == ["Østfold", "Møre og Romsdal", "Troms"]
    np.testing.assert_array_equal(frame["w"].to_numpy(), [1.5, 2.25, np.nan])
    assert frame["sex"].tolist() == ["m", "NA", "k"]  # NA is a category
    assert (info.delimiter, info.decimal, info.rows, info.columns) == (";", ",", 3, 4)
    assert info.describe() == (
        f"read {str(tmp_path / 'semi.csv')!r}: 3 rows, 4 columns "
        f"(';'-separated, decimal comma, {name})"
    )
    assert not info.plain


def test_latin1_bytes_undefined_in_windows_1252(tmp_path):
    # 0x81 is undefined in Windows-1252: the file can only be Latin-1.
    path = _write(tmp_path / "l.csv", "id,x\n1,\x81\n2,\xd8\n", "latin-1")
    frame, info = read_table_info(path)
    assert frame["x"].tolist() == ["\x81", "Ø"] and info.encoding == "iso8859-1"


def test_bom_and_utf16(tmp_path):
    text = "id\tfylke\n1\tØstfold\n"
    frame, info = read_table_info(_write(tmp_path / "u16.txt", text, "utf-16"))
    assert frame["fylke"].tolist() == ["Østfold"] and info.delimiter == "\t"
    assert info.encoding == "utf-16" and info.bom
    frame, info = read_table_info(_write(tmp_path / "bom.csv", "id,x\n1,2\n", bom=b"\xef\xbb\xbf"))
    assert list(frame.columns) == ["id", "x"]  # not '\ufeffid'
    assert info.bom and "with byte-order mark" in info.describe()


def test_plain_file_has_nothing_to_say(tmp_path):
    _, info = read_table_info(_write(tmp_path / "p.csv", "id,x\n1,2.5\n"))
    assert info.plain and (info.delimiter, info.decimal, info.encoding) == (",", ".", "utf-8")


@pytest.mark.parametrize("marker", ["NA", "NaN", "null", "N/A", "nan", "None", "-"])
def test_only_empty_cells_are_missing(tmp_path, marker):
    frame = read_table(_write(tmp_path / "m.csv", f"id,region,y\n1,{marker},1\n2,,2\n3,a,\n"))
    assert frame["region"].iloc[0] == marker and pd.isna(frame["region"].iloc[1])
    assert pd.isna(frame["y"].iloc[2]) and frame["y"].iloc[0] == 1


def test_explicit_encoding_and_unknown_codec(tmp_path):
    path = _write(tmp_path / "e.csv", "id,x\n1,Ø\n", "cp1252")
    assert read_table(path, encoding="latin-1")["x"].tolist() == ["Ø"]
    assert read_table_info(path, encoding="cp1252")[1].encoding_given
    with pytest.raises(InputFileError, match="not valid UTF-8 at line 2"):
        read_table(path, encoding="utf-8")
    with pytest.raises(InputFileError, match="unknown encoding 'klingon'"):
        read_table(path, encoding="klingon")


def test_damaged_utf8_is_refused_not_read_as_mojibake(tmp_path):
    raw = "id,x\n1,Østfold\n2,Møre\n".encode()
    damaged = raw.replace("ø".encode(), b"\xf8")  # one Latin-1 byte in UTF-8 text
    path = tmp_path / "d.csv"
    path.write_bytes(damaged)
    with pytest.raises(
        InputFileError,
        match=r"not valid UTF-8 at line 3 \(byte 0xf8\) "
        r"although other lines are UTF-8",
    ):
        read_table(path)


@pytest.mark.parametrize(
    "text, message",
    [
        ("id,nace,nace\n1,A,B\n", "column 'nace' appears twice in the header (columns 2 and 3)"),
        ("id,x,y\n1,2,3\n4,5\n", "line 3: 2 field(s), the header has 3"),
        ("id,x\n1,2\n3,4,5\n", "line 3: 3 field(s), the header has 2"),
        ("id,x\n1,2,\n3,4,\n", "line 2: 3 field(s), the header has 2"),  # pandas: an index column
        ('id,x\n1,"2\n3,4\n', "line 2: bad quoting"),
        ("", "is empty"),
        ("\n\n  \n", "is empty"),
        ("id,x\n", "has a header but no data rows"),
        ("id,x\n1,\x00\n", "not a text file (a NUL byte at line 2"),
    ],
)
def test_malformed_csv_is_one_line_naming_file_and_line(tmp_path, text, message):
    path = _write(tmp_path / "bad.csv", text)
    with pytest.raises(InputFileError) as info:
        read_table(path)
    assert message in str(info.value) and "bad.csv" in str(info.value)
    assert "\n" not in str(info.value)


#: Pieces of CSV text: fields, every delimiter, line ends (a lone CR too),
#: quotes, whitespace that str.strip() removes, a header name twice.
PIECES = ["a", "b", "1", "", " ", "\xa0", "\x0c", "é", ",", ";", "\t", "\n", "\r\n", "\r", '"']


def _outcome(scan, text, delimiter):
    try:
        found = scan(text, delimiter, "f.csv")
    except InputFileError as exc:
        return str(exc)
    return found if found is None else (found[0], found[1].tolist())


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40).map("".join), st.sampled_from(DELIMITERS))
def test_unquoted_files_are_checked_on_their_bytes_as_the_csv_module_reads_them(text, delimiter):
    # The byte-level check finds the header and row lines the record reader
    # finds; it leaves a file it cannot decide (quotes, a lone CR) or finds
    # fault with to the reader, whose message names the line.
    expected = _outcome(_scan_records, text, delimiter)
    found = _outcome(_scan_unquoted, text, delimiter)
    plain = '"' not in text and text.count("\r") == text.count("\r\n")
    if isinstance(expected, tuple) and plain:
        assert found == expected
    else:
        assert found is None or found == expected


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=60).map("".join), st.integers(0, 60))
def test_the_first_rows_read_from_the_start_of_a_file_are_its_first_rows(text, cut):
    # Read from the first `cut` characters, the rows that choose the delimiter
    # are those of the whole text, or the start is found too short.
    start, to_end = _first_rows(text[:cut])
    assert to_end or start == _first_rows(text)[0]


def test_the_delimiter_of_a_long_file_is_chosen_from_its_start():
    text = "id;x\n" + "".join(f"{i};{i},5\n" for i in range(10**5))
    start, to_end = _first_rows(text[:SNIFF_CHARS])
    assert not to_end and start == _first_rows(text)[0]
    assert sniff_delimiter(text) == ";"


def _zip(path, members):
    """A ZIP archive of ``(name, bytes)`` members, the first stored (as an
    OpenDocument file stores its MIME type), the others deflated."""
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        for k, (name, data) in enumerate(members):
            method = zipfile.ZIP_STORED if k == 0 else zipfile.ZIP_DEFLATED
            archive.writestr(name, data, compress_type=method)
    return path


def _xlsx(path):
    # The parts of a minimal workbook as Excel writes them ([Content_Types]
    # first); the reader needs only the magic bytes and the member names.
    return _zip(
        path,
        [
            ("[Content_Types].xml", b"<Types/>"),
            ("_rels/.rels", b"<Relationships/>"),
            ("xl/workbook.xml", b"<workbook/>"),
            ("xl/worksheets/sheet1.xml", b"<worksheet/>"),
        ],
    )


def _ods(path):
    return _zip(
        path,
        [
            ("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"),
            ("content.xml", b"<office:document-content/>"),
        ],
    )


def _xls(path):
    # An OLE2 compound file: its 8-byte signature, then the 512-byte header.
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + b"\xff" * 512)
    return path


def _zipped_csv(path):
    return _zip(path, [("data.csv", b"id,x\n1,2\n")])


@pytest.mark.parametrize(
    "make, name, what",
    [
        (_xlsx, "t.xlsx", "an Excel workbook (.xlsx)"),
        (_xlsx, "t.csv", "an Excel workbook (.xlsx)"),  # by the bytes, not the name
        (_ods, "t.ods", "an OpenDocument spreadsheet (.ods)"),
        (_xls, "t.xls", "an Excel workbook in the legacy .xls format"),
        (_zipped_csv, "t.zip", "a ZIP archive (a spreadsheet workbook or a compressed file)"),
    ],
)
def test_a_spreadsheet_workbook_is_named_with_what_to_do(tmp_path, make, name, what):
    path = make(tmp_path / name)
    for read in (read_table, read_margins, lambda p: read_table(p, encoding="latin-1")):
        with pytest.raises(InputFileError) as info:
            read(path)
        message = str(info.value)
        assert message.startswith(f"{str(path)!r} is {what}, not a CSV file: save it as CSV")
        assert "Norwegian Excel" in message and ".sav" in message
        assert "not a text file" not in message and "\n" not in message


def test_lines_count_as_in_an_editor(tmp_path):
    # a blank line and a field spanning two lines: rows start at lines 2, 4, 6
    path = _write(tmp_path / "l.csv", 'id,note\n1,a\n\n2,"two\nlines"\n3,c\n3,d\n')
    frame, info = read_table_info(path)
    assert [info.where(r) for r in range(4)] == ["line 2", "line 4", "line 6", "line 7"]
    with pytest.raises(IdError, match=r"id 3 appears 2 times \(lines 6, 7\)"):
        check_ids(frame, "id", info)


def test_input_that_is_a_directory_or_missing(tmp_path):
    with pytest.raises(InputFileError, match="is a directory, not a file"):
        read_table(tmp_path)
    with pytest.raises(InputFileError, match="does not exist"):
        read_table(tmp_path / "nope.csv")


def test_parquet_with_a_repeated_column_and_a_damaged_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(
        pa.table([pa.array([1, 2]), pa.array([3, 4])], names=["a", "a"]), tmp_path / "dup.parquet"
    )
    with pytest.raises(InputFileError, match="column 'a' appears twice"):
        read_table(tmp_path / "dup.parquet")
    pd.DataFrame({"a": [1, 2]}).to_parquet(tmp_path / "ok.parquet")
    (tmp_path / "cut.parquet").write_bytes((tmp_path / "ok.parquet").read_bytes()[:40])
    with pytest.raises(InputFileError, match="cannot read parquet file .*cut.parquet"):
        read_table(tmp_path / "cut.parquet")


@pytest.mark.parametrize(
    "values, error",
    [
        ([1, 2, None], "has 1 missing value(s) (line 4)"),
        ([1, 2, 2], "id 2 appears 2 times (lines 3, 4)"),
        (["a", " ", "b"], "has 1 missing value(s) (line 3)"),
    ],
)
def test_ids_missing_or_repeated(tmp_path, values, error):
    frame = pd.DataFrame({"id": values, "y": 1.0})
    frame.to_csv(tmp_path / "s.csv", index=False)
    frame, info = read_table_info(tmp_path / "s.csv")
    with pytest.raises(IdError) as caught:
        check_ids(frame, "id", info)
    assert error in str(caught.value) and "s.csv" in str(caught.value)


def test_ids_present_unique_or_absent_by_default(tmp_path):
    path = _write(tmp_path / "s.csv", "unit,y\n07,1\n7,2\n")
    frame, info = read_table_info(path, text_columns=["unit"])
    check_ids(frame, "unit", info)  # '07' and '7': distinct codes
    frame, info = read_table_info(path)
    with pytest.raises(IdError, match=r"id 7 appears 2 times \(lines 2, 3\)"):
        check_ids(frame, "unit", info)  # the same number
    check_ids(frame, "id", info)  # the default may be absent
    with pytest.raises(IdError, match="no id column 'snum'"):
        check_ids(frame, "snum", info)
    parquet = tmp_path / "s.parquet"
    pd.DataFrame({"id": [5, 5]}).to_parquet(parquet)
    frame, info = read_table_info(parquet)
    with pytest.raises(IdError, match=r"id 5 appears 2 times \(rows 1, 2\)"):
        check_ids(frame, "id", info)


def test_sniffing_rules():
    assert sniff_delimiter("a;b\n1,5;2\n") == ";"
    assert sniff_delimiter('a,b\n"x;y",2\n') == ","
    assert sniff_delimiter("a\tb\tc\n1\t2,5\t3\n") == "\t"
    assert sniff_delimiter("a;b,c\n1;2,3\n") == ","  # a tie: ',' before ';' before tab
    assert sniff_delimiter("id\n1\n2\n") == ","
    assert sniff_delimiter("x\na,b\nc\n") == ";"  # one column: rows stay whole
    assert sniff_decimal("a;b\n1;2,5\n", ";") == ","
    assert sniff_decimal("a;b\n1;2.5\n", ";") == "."
    assert sniff_decimal("a;b\nx,y;2\n", ";") == "."  # text with a comma
    assert sniff_decimal('a,b\n1,"2,5"\n', ",") == "."  # comma-separated: always a point
    assert decode(b"\xef\xbb\xbfa", "f")[1:] == ("utf-8", True)


def test_margin_file_from_excel(tmp_path):
    path = _write(tmp_path / "m.csv", "fylke;total\r\nØstfold;1234,5\r\nNA;10\r\n", "cp1252")
    margin, info = read_margins_info(path)
    assert margin.table == {("Østfold",): 1234.5, ("NA",): 10.0}
    assert info.decimal == "," and info.encoding == "cp1252"


@pytest.mark.parametrize(
    "text, message",
    [
        ("a,total\nx,1\nx,2\n", "line 3: category 'x' appears twice (line 2)"),
        ("a,total\n0,1\n-0,2\n", "line 3: category '-0' appears twice (as '0', line 2)"),
        ("a,b,total\nx,1,1\nx,1.0,2\n", "category ('x', '1.0') appears twice (as ('x', '1')"),
        ("a,total\nx,1\n,2\n", "line 3: empty category (column 'a')"),
        ("a,total\nx,1\ny,abc\n", "line 3: total 'abc' is not a finite number"),
        ("a,total\nx,inf\n", "line 2: total 'inf' is not a finite number"),
        ("a,total,total\nx,1,2\n", "column 'total' appears twice"),
        ("a,b\nx,1\n", "has no 'total' column"),
    ],
)
def test_margin_file_errors_name_the_line(tmp_path, text, message):
    from weighting.errors import KalibError

    with pytest.raises(KalibError) as info:
        read_margins(_write(tmp_path / "m.csv", text))
    assert message in str(info.value) and "m.csv" in str(info.value)
