"""Fuzz tests of every reader (issue 17): valid files, randomly corrupted.

Each property writes a valid file (a random table in a random dialect, a
JSON-stat cube, a replicate table and sidecar, a codebook, a CATI export),
corrupts it (truncation, byte flips, deleted or inserted bytes, wrong types,
missing or extra columns, duplicated headers, empty and header-only files)
and reads it. The read must give either

* a ``KalibError`` whose message is one line naming the file (and the line
  where it applies), never another exception type; or
* the table the bytes hold under the documented rules (``docs/cli.md``,
  "Input files"), checked cell by cell against an independent parse with
  Python's ``csv``/``json`` modules — never a silently different table.

Corruptions that make a file certainly malformed (a duplicated column name,
a row with an extra or a missing field, an empty or header-only file, a
sidecar that contradicts its table) must be errors.

``KALIB_FUZZ_EXAMPLES`` sets the examples per property (default 60); the
counts of cases that read and that failed cleanly are printed at the end of
the module (``pytest -s``).
"""

from __future__ import annotations

import collections
import csv
import io
import itertools
import json
import math
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from estimators.io.files import read_margins_info, read_table_info
from weighting.columns import canonical
from weighting.errors import KalibError

EXAMPLES = int(os.environ.get("KALIB_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: (reader, outcome) -> number of examples; printed when the module ends.
STATS: collections.Counter = collections.Counter()


@pytest.fixture(scope="module", autouse=True)
def _report_counts():
    yield
    total = sum(STATS.values())
    lines = [f"fuzz cases: {total}"] + [
        f"  {reader:<14} {outcome:<22} {n}" for (reader, outcome), n in sorted(STATS.items())
    ]
    print("\n" + "\n".join(lines))


def _clean_error(exc: BaseException, path: Path) -> None:
    """The error contract: a KalibError, one line, naming the file (or its
    companion: a replicate table's sidecar shares its stem)."""
    assert isinstance(exc, KalibError), f"{type(exc).__name__}: {exc}"
    message = str(exc)
    assert "\n" not in message, message
    assert path.stem + "." in message, message


def _read(reader: str, corruption: str, raw: bytes, name: str, read):
    """Write ``raw`` as a file called ``name``, ``read(path)`` it, check the
    error contract and count the case: ``(result, None)`` or ``(None, error)``."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(raw)
        try:
            result = read(path)
        except Exception as exc:
            _clean_error(exc, path)
            STATS[reader, f"{corruption}: error"] += 1
            return None, exc
    STATS[reader, f"{corruption}: read"] += 1
    return result, None


# ----------------------------------------------------------- byte corruption
BYTE_MUTATIONS = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0, 1)),
    st.tuples(st.just("flip"), st.floats(0, 1), st.integers(1, 255)),
    st.tuples(st.just("delete"), st.floats(0, 1)),
    st.tuples(st.just("insert"), st.floats(0, 1), st.integers(0, 255)),
)


def _mutate(raw: bytes, mutation) -> bytes:
    kind, where = mutation[0], mutation[1]
    if kind == "truncate":
        return raw[: int(where * len(raw))]
    if not raw:
        return raw
    pos = min(int(where * len(raw)), len(raw) - 1)
    if kind == "flip":
        return raw[:pos] + bytes([raw[pos] ^ mutation[2]]) + raw[pos + 1 :]
    if kind == "delete":
        return raw[:pos] + raw[pos + 1 :]
    return raw[:pos] + bytes([mutation[2]]) + raw[pos:]


# ------------------------------------------------------------ CSV samples
# Characters Windows-1252 can encode, with the delimiters, quotes and a
# newline inside text so that quoting is exercised.
TEXT_CHARS = "abcxyzABØøÆæÅåé-/ 0123456789,;\t\"'\n"
MARKERS = ["NA", "NaN", "null", "N/A", "nan", "True", "007", "1,5", "-"]
NAME = st.text(alphabet="abcxyzøæå_1.", min_size=1, max_size=5)
NUMBER_LIKE = re.compile(r"^\s*[-+]?(?:\d+,\d*|,\d+)(?:[eE][-+]?\d+)?\s*$")


@st.composite
def _cells(draw, kind: str, n: int):
    missing = st.none() if draw(st.booleans()) else st.nothing()
    if kind == "int":
        values = st.one_of(st.integers(-(10**6), 10**6), missing)
    elif kind == "float":
        values = st.one_of(st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False), missing)
    elif kind == "code":
        values = st.one_of(st.from_regex(r"0[0-9]{1,3}", fullmatch=True), missing)
    else:
        values = st.one_of(
            st.text(TEXT_CHARS, min_size=1, max_size=8).filter(lambda t: t.strip()),
            st.sampled_from(MARKERS),
            missing,
        )
    return draw(st.lists(values, min_size=n, max_size=n))


@st.composite
def tables(draw):
    """A table, its dialect, and the text columns (which a caller names)."""
    n_rows = draw(st.integers(1, 12))
    names = draw(st.lists(NAME, min_size=1, max_size=5, unique=True))
    kinds = draw(
        st.lists(
            st.sampled_from(["int", "float", "text", "code"]),
            min_size=len(names),
            max_size=len(names),
        )
    )
    columns = {name: draw(_cells(kind, n_rows)) for name, kind in zip(names, kinds)}
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    decimal = draw(st.sampled_from([".", ","])) if delimiter != "," else "."
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = [n for n, k in zip(names, kinds) if k in ("text", "code")]
    if delimiter != "," and decimal == ".":
        # A text cell that looks like a decimal-comma number would make the
        # file's decimal mark a comma by the documented rule: not this table.
        for name in text:
            columns[name] = [
                None if v is not None and NUMBER_LIKE.match(v) else v for v in columns[name]
            ]
    return columns, delimiter, decimal, encoding, newline, text


def _records(columns: dict, delimiter, decimal, newline) -> list[str]:
    """The header and every row as written, each with its line terminator."""
    rows = [list(columns)] + [
        [
            "" if v is None else repr(v).replace(".", decimal) if isinstance(v, float) else str(v)
            for v in row
        ]
        for row in zip(*columns.values())
    ]
    return [_join(row, delimiter) + newline for row in rows]


def _blank(record) -> bool:
    return not record or (len(record) == 1 and record[0] != "" and not record[0].strip())


def _decoded(raw: bytes, info) -> str:
    text = raw.decode(info.encoding)
    return text[1:] if text.startswith("\ufeff") else text


def _check_against_bytes(raw: bytes, frame: pd.DataFrame, info) -> None:
    """Every cell of ``frame`` is what the bytes hold under the documented
    rules (the detected encoding, delimiter and decimal mark)."""
    records = [
        r
        for r in csv.reader(io.StringIO(_decoded(raw, info), newline=""), delimiter=info.delimiter)
        if not _blank(r)
    ]
    header, body = records[0], records[1:]
    assert list(frame.columns) == [h or f"Unnamed: {k}" for k, h in enumerate(header)]
    assert len(frame) == len(body)
    for j, name in enumerate(frame.columns):
        column = frame[name]
        for i, record in enumerate(body):
            _check_cell(record[j], column.iloc[i], column.dtype, info.decimal)


def _check_cell(field: str, value, dtype, decimal: str) -> None:
    if isinstance(value, float) and math.isnan(value):
        assert not field.strip(), (field, value)
    elif dtype.kind in "iuf":
        number = float(field.strip().replace(decimal, "."))
        assert number == value or math.isclose(number, value, rel_tol=1e-15), (field, value)
    elif dtype.kind == "b":
        assert field.strip().lower() == str(bool(value)).lower(), (field, value)
    else:
        assert value == field, (field, value)


def _check_truth(frame: pd.DataFrame, columns: dict) -> None:
    """An uncorrupted file reads back as the table that was written."""
    assert list(frame.columns) == list(columns)
    for name, values in columns.items():
        got = frame[name].tolist()
        for v, g in zip(values, got):
            if v is None:
                assert pd.isna(g), (name, v, g)
            elif isinstance(v, str):
                assert g == v, (name, v, g)
            else:
                assert g == v or math.isclose(g, v, rel_tol=1e-15), (name, v, g)


STRUCTURAL = [
    "none",
    "duplicate_header",
    "extra_field",
    "missing_field",
    "empty",
    "header_only",
    "drop_column",
    "extra_column",
    "wrong_type",
    "bytes",
]


def _structural(columns: dict, kind: str, draw_index: int) -> dict:
    """The columns after a corruption that leaves a regular table: a column
    dropped or added, or a number replaced by text (read as a text column)."""
    names = list(columns)
    k = draw_index % len(names)
    if kind == "drop_column" and len(names) > 1:
        return {n: v for n, v in columns.items() if n != names[k]}
    if kind == "extra_column":
        return {**columns, "extra_col": ["x"] * len(columns[names[0]])}
    if kind == "wrong_type":
        values = list(columns[names[k]])
        values[draw_index % len(values)] = "abc"
        return {**columns, names[k]: values}
    return columns


@FUZZ
@given(tables(), st.sampled_from(STRUCTURAL), st.integers(0, 10**6), BYTE_MUTATIONS)
def test_fuzz_csv_sample(table, corruption, index, mutation):
    columns, delimiter, decimal, encoding, newline, text_cols = table
    columns = _structural(columns, corruption, index)
    text_cols = [c for c in columns if c in text_cols or c == "extra_col"]
    records = _records(columns, delimiter, decimal, newline)
    must_fail = None
    if corruption == "duplicate_header":
        names = list(columns)
        records = [_join(names + [names[index % len(names)]], delimiter) + newline] + [
            r[: -len(newline)] + delimiter + "1" + newline for r in records[1:]
        ]
        must_fail = "appears twice"
    elif corruption in ("extra_field", "missing_field") and len(columns) > 1:
        # only rows without quoted fields (one line, one record) that do not
        # become blank when a field goes (a blank line is no row at all)
        cut = [r[: -len(newline)] for r in records]
        plain = [
            i
            for i in range(1, len(cut))
            if '"' not in cut[i] and cut[i].rsplit(delimiter, 1)[0].strip()
        ]
        assume(plain)
        row = plain[index % len(plain)]
        cut[row] = (
            cut[row] + delimiter + "9"
            if corruption == "extra_field"
            else cut[row].rsplit(delimiter, 1)[0]
        )
        records = [r + newline for r in cut]
        # the row's line as an editor counts it (a quoted newline above counts)
        must_fail = f"line {1 + sum(r.count(chr(10)) for r in records[:row])}:"
    elif corruption == "empty":
        records, must_fail = [], "is empty"
    elif corruption == "header_only":
        records, must_fail = records[:1], "no data rows"
    raw = "".join(records).encode(encoding)
    if corruption == "bytes":
        raw = _mutate(raw, mutation)
    read, error = _read(
        "csv sample",
        corruption,
        raw,
        "sample.csv",
        lambda path: read_table_info(path, text_columns=text_cols),
    )
    if error is not None:
        assert must_fail is None or must_fail in str(error), str(error)
        return
    frame, info = read
    if must_fail is not None:
        # Only a different delimiter can make such a file regular (a text
        # cell holding the other delimiter in every row): then it must read
        # consistently under that delimiter.
        assert info.delimiter != delimiter, must_fail
    _check_against_bytes(raw, frame, info)
    if corruption in ("none", "drop_column", "extra_column"):
        _check_truth(frame, columns)
        if len(columns) > 1:
            assert info.delimiter == delimiter


def _join(fields, delimiter) -> str:
    """One CSV record without its terminator. The writer is given one (and it
    is cut off) because it quotes a field holding a newline only when its
    terminator holds that character."""
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerow(fields)
    return out.getvalue()[:-2]


# ------------------------------------------------------------ margin files
@st.composite
def margin_tables(draw):
    n_vars = draw(st.integers(1, 2))
    names = draw(
        st.lists(
            NAME.filter(lambda s: s != "total"), min_size=n_vars, max_size=n_vars, unique=True
        )
    )
    keys = draw(
        st.lists(
            st.tuples(
                *[st.text("abcØø01 -", min_size=1, max_size=4).filter(str.strip) for _ in names]
            ),
            min_size=1,
            max_size=8,
            unique=True,
        )
    )
    totals = draw(
        st.lists(st.floats(0, 1e7, allow_nan=False), min_size=len(keys), max_size=len(keys))
    )
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    decimal = "," if delimiter != "," and draw(st.booleans()) else "."
    return names, keys, totals, delimiter, decimal


@FUZZ
@given(
    margin_tables(),
    st.sampled_from(["none", "duplicate_category", "bytes"]),
    st.integers(0, 100),
    BYTE_MUTATIONS,
    st.sampled_from(["utf-8", "cp1252"]),
)
def test_fuzz_margin_file(table, corruption, index, mutation, encoding):
    names, keys, totals, delimiter, decimal = table
    rows = [list(k) + [repr(t).replace(".", decimal)] for k, t in zip(keys, totals)]
    if corruption == "duplicate_category":
        rows.append(list(rows[index % len(rows)]))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(names + ["total"])
    writer.writerows(rows)
    raw = out.getvalue().encode(encoding)
    if corruption == "bytes":
        raw = _mutate(raw, mutation)
    read, error = _read("margins", corruption, raw, "margin.csv", read_margins_info)
    canonical_keys = {tuple(map(canonical, k)) for k in keys}
    if error is not None:
        assert corruption != "duplicate_category" or "appears twice" in str(error)
        # '0' and '-0' are one category (weighting.columns.canonical): twice
        assert corruption != "none" or len(canonical_keys) < len(keys), str(error)
        return
    assert corruption != "duplicate_category"
    margin, info = read
    records = [
        r
        for r in csv.reader(io.StringIO(_decoded(raw, info), newline=""), delimiter=info.delimiter)
        if not _blank(r)
    ]
    header, body = records[0], records[1:]
    total_at = header.index("total")
    expected = {
        tuple(canonical(f) for j, f in enumerate(r) if j != total_at): float(
            r[total_at].strip().replace(info.decimal, ".")
        )
        for r in body
    }
    got = {tuple(map(canonical, k)): v for k, v in margin.table.items()}
    assert margin.variables == tuple(h for h in header if h != "total")
    assert got == expected and len(expected) == len(body)
    if corruption == "none":
        assert got == {tuple(map(canonical, k)): t for k, t in zip(keys, totals)}


# ------------------------------------------------------------ parquet
@st.composite
def frames(draw):
    n = draw(st.integers(0, 6))
    names = draw(st.lists(NAME, min_size=0, max_size=4, unique=True))
    data = {}
    for name in names:
        kind = draw(st.sampled_from(["int", "float", "text"]))
        data[name] = draw(_cells(kind, n))
    return pd.DataFrame(data)


@FUZZ
@given(
    frames(), st.sampled_from(["none", "duplicate_column", "wrong_type", "bytes"]), BYTE_MUTATIONS
)
def test_fuzz_parquet_sample(frame, corruption, mutation):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    if corruption == "duplicate_column" and table.num_columns:
        table = pa.table(
            table.columns + [table.column(0)], names=table.column_names + [table.column_names[0]]
        )
    elif corruption == "wrong_type" and table.num_columns:
        table = table.set_column(
            0, table.column_names[0], pa.array([str(v) for v in table.column(0).to_pylist()])
        )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    raw = sink.getvalue()
    if corruption == "bytes":
        raw = _mutate(raw, mutation)
    # with what pyarrow itself finds in the same bytes
    read, error = _read(
        "parquet",
        corruption,
        raw,
        "sample.parquet",
        lambda path: (*read_table_info(path), pq.read_table(path).to_pandas()),
    )
    if error is not None:
        if corruption == "duplicate_column" and table.num_columns:
            assert "appears twice" in str(error)
        if len(frame) and table.num_columns and corruption != "bytes":
            assert corruption == "duplicate_column", str(error)
        return
    got, info, expected = read
    assert corruption != "duplicate_column" or not frame.shape[1]
    pd.testing.assert_frame_equal(got, expected)
    if corruption == "none":
        pd.testing.assert_frame_equal(got, frame, check_dtype=False, check_column_type=False)
    assert info.rows == len(got) > 0


# ------------------------------------------------------------ JSON-stat
@st.composite
def cubes(draw):
    n_dims = draw(st.integers(1, 3))
    ids = [f"d{k}" for k in range(n_dims)]
    sizes = draw(st.lists(st.integers(1, 3), min_size=n_dims, max_size=n_dims))
    dims = {}
    for d, size in zip(ids, sizes):
        codes = [f"{d}c{i}" for i in range(size)]
        as_list = draw(st.booleans())
        index = codes if as_list else {c: i for i, c in enumerate(codes)}
        dims[d] = {"category": {"index": index, "label": {c: c.upper() for c in codes}}}
    total = math.prod(sizes)
    values = draw(
        st.lists(
            st.one_of(st.none(), st.integers(0, 10**6), st.floats(0, 1e6, allow_nan=False)),
            min_size=total,
            max_size=total,
        )
    )
    return {
        "version": "2.0",
        "class": "dataset",
        "id": ids,
        "size": sizes,
        "dimension": dims,
        "value": values,
    }


def _cube_cells(doc) -> list[tuple]:
    """(codes..., value) per cell, in row-major order (last dimension fastest)."""
    codes = []
    for d in doc["id"]:
        category = doc["dimension"][d]["category"]
        index = category.get("index", list(category.get("label", {})))  # labels' order
        codes.append(index if isinstance(index, list) else sorted(index, key=index.get))
    values = doc["value"]
    if isinstance(values, dict):
        values = [values.get(str(k)) for k in range(math.prod(doc["size"]))]
    return [(*combo, v) for combo, v in zip(itertools.product(*codes), values)]


JSON_STRUCTURAL = [
    "none",
    "bytes",
    "drop_key",
    "string_value",
    "bool_value",
    "short_values",
    "bad_position",
    "negative_size",
    "sparse",
]


@FUZZ
@given(cubes(), st.sampled_from(JSON_STRUCTURAL), BYTE_MUTATIONS, st.integers(0, 100))
def test_fuzz_jsonstat(doc, corruption, mutation, index):
    from estimators.io.jsonstat import read_jsonstat

    must_fail = corruption in (
        "drop_key",
        "string_value",
        "bool_value",
        "short_values",
        "bad_position",
        "negative_size",
    )
    if corruption == "drop_key":
        del doc[["id", "size", "dimension", "value", "class"][index % 5]]
    elif corruption in ("string_value", "bool_value"):
        doc["value"][index % len(doc["value"])] = "12" if corruption == "string_value" else True
    elif corruption == "short_values":
        doc["value"] = doc["value"][:-1]
    elif corruption == "bad_position":
        d = doc["id"][index % len(doc["id"])]
        doc["dimension"][d]["category"]["index"] = {
            c: -1 if k == 0 else k
            for k, c in enumerate(list(doc["dimension"][d]["category"]["label"]))
        }
    elif corruption == "negative_size":
        doc["size"][0] = -doc["size"][0]
    elif corruption == "sparse":
        doc["value"] = {str(k): v for k, v in enumerate(doc["value"]) if v is not None}
    raw = json.dumps(doc).encode()
    if corruption == "bytes":
        raw = _mutate(raw, mutation)
    long, error = _read("json-stat", corruption, raw, "cube.json", read_jsonstat)
    if error is not None:
        return
    assert not must_fail, corruption
    parsed = json.loads(raw)
    cells = _cube_cells(parsed)
    assert len(long) == len(cells)
    for row, cell in zip(long.itertuples(index=False), cells):
        codes = tuple(getattr(row, d) for d in parsed["id"])
        assert codes == tuple(str(c) for c in cell[:-1])
        value = cell[-1]
        assert (math.isnan(row.value) and value is None) or row.value == value


# ------------------------------------------------------------ replicate files
@pytest.fixture(scope="module")
def replicate_pair(tmp_path_factory):
    from estimators.io.replicate_file import write_replicate_weights
    from weighting.design import Design

    data = {"id": np.arange(1, 13), "s": np.repeat(["a", "b", "c"], 4), "w": np.linspace(1, 3, 12)}
    design = Design(data, weights="w", strata="s").with_replicates("jkn")
    pair = {}
    for suffix in (".csv", ".parquet"):
        out = tmp_path_factory.mktemp("reps")
        write_replicate_weights(design, out / f"r{suffix}", ids=data["id"])
        pair[suffix] = ((out / f"r{suffix}").read_bytes(), (out / "r.json").read_bytes())
    return design, pair


SIDECAR_EDITS = {
    "scale_negative": ("scale", -1),
    "scale_text": ("scale", "1"),
    "method_banana": ("method", "banana"),
    "replicates_off": ("replicates", 13),
    "rscales_short": ("rscales", [1.0]),
    "rscales_negative": ("rscales", None),
    "mse_text": ("mse", "yes"),
    "degf_zero": ("degf", 0),
    "sha_wrong": ("weights_sha256", "0" * 64),
    "version_future": ("version", 99),
    "format_other": ("format", "something-else"),
}


@FUZZ
@given(
    st.sampled_from([".csv", ".parquet"]),
    st.sampled_from(["table_bytes", "sidecar_bytes", *SIDECAR_EDITS]),
    BYTE_MUTATIONS,
)
def test_fuzz_replicate_file(replicate_pair, suffix, corruption, mutation):
    from estimators.io.replicate_file import read_replicate_weights

    design, pair = replicate_pair
    table, sidecar = pair[suffix]
    if corruption == "table_bytes":
        mutated = _mutate(table, mutation)
        assume(mutated != table)
        table = mutated
    elif corruption == "sidecar_bytes":
        sidecar = _mutate(sidecar, mutation)
    else:
        meta = json.loads(sidecar)
        key, value = SIDECAR_EDITS[corruption]
        meta[key] = [1.0] * (len(meta["rscales"]) - 1) + [-0.5] if value is None else value
        sidecar = json.dumps(meta).encode()

    def read(path):
        path.with_suffix(".json").write_bytes(sidecar)
        return read_replicate_weights(path)

    got, error = _read("replicates", corruption, table, f"reps{suffix}", read)
    if error is not None:
        return
    # A changed table never passes its sidecar's checksum; a sidecar edit that
    # reads is one that leaves every number the reader uses valid and equal.
    assert corruption == "sidecar_bytes", corruption
    meta = json.loads(sidecar)
    np.testing.assert_array_equal(got.repweights, design.replicate_weights())
    assert got.scale == meta["scale"] > 0 and got.mse is meta["mse"]
    np.testing.assert_array_equal(got.rscales, meta["rscales"])
    assert got.method == meta["method"] and len(got.rscales) == got.repweights.shape[1]


def test_fuzz_replicate_text_in_a_weight_column(replicate_pair, tmp_path):
    from estimators.io.replicate_file import ReplicateFileError, read_replicate_weights

    design, _ = replicate_pair
    frame = pd.read_csv(io.BytesIO(replicate_pair[1][".csv"][0]))
    frame["rep_3"] = frame["rep_3"].astype(object)
    frame.loc[4, "rep_3"] = "abc"
    from estimators.io.replicate_file import file_sha256

    path = tmp_path / "r.csv"
    frame.to_csv(path, index=False)
    meta = json.loads(replicate_pair[1][".csv"][1])
    meta["weights_sha256"] = file_sha256(path)  # a consistent pair, edited by hand
    (tmp_path / "r.json").write_text(json.dumps(meta))
    with pytest.raises(
        ReplicateFileError,
        match=r"r.csv', line 6, column 'rep_3': 'abc' is "
        r"not a finite number",
    ):
        read_replicate_weights(path)


# ------------------------------------------------------------ codebook
CODEBOOK_EDITS = [
    "bytes",
    "drop_key",
    "categories_text",
    "value_text",
    "duplicate_id",
    "routing_number",
    "questions_dict",
]


@FUZZ
@given(st.sampled_from(CODEBOOK_EDITS), BYTE_MUTATIONS, st.integers(0, 10**6))
def test_fuzz_codebook(corruption, mutation, index):
    from estimators.io.codebook import Codebook
    from estimators.surveys.employers import DATA

    raw = (DATA / "codebook.json").read_bytes()
    must_fail = corruption not in ("bytes",)
    if corruption != "bytes":
        doc = json.loads(raw)
        questions = doc["questions"]
        q = questions[index % len(questions)]
        if corruption == "drop_key":
            del q[["id", "type"][index % 2]]
        elif corruption == "categories_text":
            q["categories"] = "yes,no"
            must_fail = True
        elif corruption == "value_text":
            q["categories"] = [{"code": "x", "value": "one"}]
        elif corruption == "duplicate_id":
            questions.append(dict(q))
        elif corruption == "routing_number":
            q["routing"] = 5
        elif corruption == "questions_dict":
            doc["questions"] = {"a": 1}
        raw = json.dumps(doc).encode()
    else:
        raw = _mutate(raw, mutation)
    book, error = _read("codebook", corruption, raw, "codebook.json", Codebook.from_json)
    if error is not None:
        return
    assert not must_fail, corruption
    parsed = json.loads(raw)
    assert list(book.questions) == [q["id"] for q in parsed["questions"]]


# ------------------------------------------------------------ CATI exports
@pytest.fixture(scope="module")
def cati_rows():
    from estimators.surveys.employers import CATI_FILE

    return CATI_FILE.read_text(encoding="utf-8").splitlines()[:9]


@FUZZ
@given(
    st.sampled_from(["none", "semicolon_cp1252", "bytes", "header_only", "duplicate_header"]),
    BYTE_MUTATIONS,
)
def test_fuzz_cati_csv(cati_rows, corruption, mutation):
    from estimators.io.cati import read_cati
    from estimators.surveys.employers import codebook

    text = "\n".join(cati_rows) + "\n"
    encoding = "utf-8"
    if corruption == "semicolon_cp1252":
        records = list(csv.reader(io.StringIO(text)))
        text = "".join(_join(r, ";") + "\r\n" for r in records)
        encoding = "cp1252"
    elif corruption == "header_only":
        text = cati_rows[0] + "\n"
    elif corruption == "duplicate_header":
        text = "\n".join([cati_rows[0] + ",id"] + [r + ",1" for r in cati_rows[1:]]) + "\n"
    raw = text.encode(encoding)
    if corruption == "bytes":
        raw = _mutate(raw, mutation)
    frame, error = _read(
        "cati csv", corruption, raw, "export.csv", lambda path: read_cati(path, codebook())
    )
    if error is not None:
        assert corruption not in ("none", "semicolon_cp1252"), str(error)
        return
    assert corruption not in ("header_only", "duplicate_header")
    assert len(frame) <= len(cati_rows) - 1


@FUZZ
@given(st.sampled_from(["none", "bytes"]), BYTE_MUTATIONS)
def test_fuzz_cati_sav(cati_sav, corruption, mutation):
    from estimators.io.cati import read_cati_sav
    from estimators.surveys.employers import codebook

    raw, coded = cati_sav
    if corruption == "bytes":
        raw = _mutate(raw, mutation)
    frame, error = _read(
        "cati sav", corruption, raw, "export.sav", lambda path: read_cati_sav(path, codebook())
    )
    if error is not None:
        assert corruption != "none", str(error)
        return
    if corruption == "none":
        pd.testing.assert_frame_equal(
            frame.reset_index(drop=True)[coded.columns].astype(str),
            coded.reset_index(drop=True).astype(str),
        )


@pytest.fixture(scope="module")
def cati_sav(tmp_path_factory):
    """A valid SPSS export of the first rows of the bundled survey, and its codes."""
    from estimators.io.cati import read_cati_csv, write_cati_sav
    from estimators.surveys.employers import CATI_FILE, codebook

    tmp = tmp_path_factory.mktemp("sav")
    head = tmp / "head.csv"
    head.write_text(
        "\n".join(CATI_FILE.read_text(encoding="utf-8").splitlines()[:9]) + "\n", encoding="utf-8"
    )
    coded = read_cati_csv(head, codebook())
    write_cati_sav(coded, tmp / "x.sav", codebook())
    return (tmp / "x.sav").read_bytes(), coded


def test_byte_mutations_change_the_bytes():
    raw = b"abcdef"
    assert _mutate(raw, ("flip", 0.5, 1)) != raw
    assert _mutate(raw, ("truncate", 0.5)) == b"abc"
    assert _mutate(raw, ("delete", 0.0)) == b"bcdef"
    assert _mutate(raw, ("insert", 1.0, 65)) == b"abcdeAf"
