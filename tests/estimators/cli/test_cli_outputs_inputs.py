"""Files the command line must not write or misread: an output that is an
input, a FIFO or device, a symlink replaced by a file, a table under the name
of another format, a run whose weights overflow; other programs' data files
and pandas' parquet index (H4's bad-input pass)."""

from __future__ import annotations

import gzip
import os
import stat
import zipfile

import pandas as pd
import pytest
from repo_paths import REFERENCE
from test_cli_files_inputs import _one_line_error  # the same rule: one line, exit 2

from estimators.cli import main

APISTRAT = REFERENCE / "model" / "apistrat.csv"
DESIGN = ["--weight", "pw", "--strata", "stype", "--fpc", "fpc"]


def test_weights_whose_total_overflows_are_named(tmp_path, capsys):
    # was: numpy overflow warnings, then exit 0 with weighted_base inf and
    # every estimate empty, flag 'undefined'
    sample = tmp_path / "s.csv"
    pd.read_csv(APISTRAT).assign(pw=1e307).to_csv(sample, index=False)
    out = tmp_path / "e.csv"
    code = main(
        [
            "estimate",
            str(sample),
            "--weight",
            "pw",
            "--mean",
            "api00",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    _one_line_error(capsys, code, "weights 'pw'", "rescale them")
    assert not out.exists()


def test_estimate_writes_parquet_when_the_name_says_so(tmp_path):
    # was: CSV text in a file called e.parquet (docs/cli.md: "CSV, or parquet
    # when it ends in .parquet"); the same table as the CSV
    args = ["estimate", str(APISTRAT), *DESIGN, "--mean", "api00", "--by", "stype", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "e.parquet")]) == 0
    assert main([*args, "--out", str(tmp_path / "e.csv")]) == 0
    assert (tmp_path / "e.parquet").read_bytes()[:4] == b"PAR1"
    parquet = pd.read_parquet(tmp_path / "e.parquet")
    pd.testing.assert_frame_equal(parquet, pd.read_csv(tmp_path / "e.csv"), check_dtype=False)


@pytest.mark.parametrize(
    "command,clash",
    [
        (["rake", "--margins", "M"], "sample"),
        (["replicate", "--replicates", "3"], "sample"),
        (["estimate", "--mean", "api00"], "sample"),
        (["rake", "--margins", "M"], "margins"),
    ],
)
def test_an_output_that_is_an_input_is_refused_even_with_force(tmp_path, capsys, command, clash):
    # was: `kalib rake s.csv --out s.csv --force` replaced the sample (its base
    # weights overwritten by the calibrated ones); `kalib replicate z.csv --out
    # z.csv --force` replaced it by replicate weights; --out = a --margins file too
    sample = tmp_path / "s.csv"
    sample.write_bytes(APISTRAT.read_bytes())
    margin = tmp_path / "m.csv"
    margin.write_text("stype,total\nE,4421\nH,755\nM,1018\n")
    inputs = {"sample": sample, "margins": margin}
    before = {p: p.read_bytes() for p in inputs.values()}
    argv = [command[0], str(sample), "--weight", "pw"]
    argv += [] if command[0] == "rake" else ["--id", "snum"]
    argv += [str(margin) if a == "M" else a for a in command[1:]]
    out = inputs[clash]
    # the same file by another name (a relative path through a link) is found too
    (tmp_path / "link").symlink_to(tmp_path)
    code = main([*argv, "--out", str(tmp_path / "link" / out.name), "--force", "--quiet"])
    words = "input SAMPLE" if clash == "sample" else "--margins"
    _one_line_error(capsys, code, out.name, f"is also the {words} file")
    assert {p: p.read_bytes() for p in inputs.values()} == before


@pytest.mark.parametrize("through", ["directory", "link", "parent"])
def test_an_output_directory_that_holds_an_input_is_refused(tmp_path, capsys, through):
    # was: `kalib report dd/s.csv --out dd --force` exited 0 and dd/s.csv was
    # gone (the old directory is removed whole once the new one is in place)
    held = tmp_path / "dd"
    (held / "sub").mkdir(parents=True)
    sample = held / "sub" / "s.csv"
    sample.write_bytes(APISTRAT.read_bytes())
    (tmp_path / "link").symlink_to(held)
    out = {"directory": held / "sub", "link": tmp_path / "link", "parent": held}[through]
    argv = ["report", str(sample), "--survey", "employers_2017", "--out", str(out)]
    code = main([*argv, "--force", "--quiet"])
    _one_line_error(capsys, code, str(out), "is a directory that holds the input SAMPLE file")
    assert sample.read_bytes() == APISTRAT.read_bytes()


def _margin(tmp_path):
    margin = tmp_path / "m.csv"
    margin.write_text("stype,total\nE,4421\nH,755\nM,1018\n")
    return str(margin)


def _rake(tmp_path, sample, out, *more):
    argv = ["rake", str(sample), "--weight", "pw", "--margins", _margin(tmp_path)]
    return main([*argv, "--out", str(out), *more, "--quiet"])


def test_an_output_that_is_a_fifo_or_device_is_refused(tmp_path, capsys):
    # was: with --force the rename replaced the FIFO by a regular file; as root
    # `--out /dev/stdout --force` replaced /dev/stdout (a symlink) by a file,
    # breaking /dev/stdout for the whole machine
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    _one_line_error(capsys, _rake(tmp_path, APISTRAT, fifo, "--force"), "pipe", "not a regular")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    link = tmp_path / "to_pipe"
    link.symlink_to(fifo)
    _one_line_error(capsys, _rake(tmp_path, APISTRAT, link, "--force"), "to_pipe")
    assert link.is_symlink() and stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_an_output_through_a_symlink_writes_the_target(tmp_path):
    # was: the link itself replaced by a regular file, its target left stale
    target = tmp_path / "target.csv"
    target.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    assert _rake(tmp_path, APISTRAT, link, "--force") == 0
    assert link.is_symlink() and target.read_text().startswith("snum,")


_SAS7BDAT_MAGIC = bytes(12) + bytes.fromhex("c2ea8160b31411cfbd92080009c7318c181f1011")
_XPORT_HEADER = b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!000000000000000000000000000000"


@pytest.mark.parametrize(
    "kind,write",
    [
        ("Stata", lambda frame, path: frame.to_stata(path, write_index=False)),
        # format 117 and later begin with "<stata_dta>", not a version byte
        ("Stata", lambda frame, path: frame.to_stata(path, write_index=False, version=117)),
        ("gzip", lambda frame, path: path.write_bytes(gzip.compress(APISTRAT.read_bytes()))),
        # a .sas7bdat file's magic number (12 NUL bytes first) and an XPORT
        # file's first header record, each followed by filler
        ("SAS", lambda frame, path: path.write_bytes(_SAS7BDAT_MAGIC + bytes(1000))),
        ("SAS", lambda frame, path: path.write_bytes(_XPORT_HEADER + b" " * 1000)),
    ],
)
def test_other_programs_data_files_are_named(tmp_path, capsys, kind, write):
    # was: "'s.dta' is not a text file (a NUL byte at line 1 ...)"; a gzipped
    # CSV the same
    sample = tmp_path / "s.data"
    write(pd.read_csv(APISTRAT)[["snum", "stype", "pw"]], sample)
    code = _rake(tmp_path, sample, tmp_path / "o.csv")
    _one_line_error(capsys, code, "s.data' is", kind, "not a CSV file")


def test_a_parquet_index_is_a_column(tmp_path):
    # was: `df.set_index("snum").to_parquet(...)` (how pandas users save keyed
    # tables): rake's output silently lost the snum column
    frame = pd.read_csv(APISTRAT)
    frame.set_index("snum").to_parquet(tmp_path / "s.parquet")
    out = tmp_path / "o.csv"
    assert _rake(tmp_path, tmp_path / "s.parquet", out) == 0
    assert pd.read_csv(out)["snum"].tolist() == frame["snum"].tolist()


@pytest.mark.parametrize("name", ["o.xlsx", "o.json"])
@pytest.mark.parametrize("command", ["rake", "estimate"])
def test_an_output_name_of_another_format_is_refused(tmp_path, capsys, name, command):
    # was: exit 0 and plain CSV text in o.xlsx (Excel: "the file format and
    # extension don't match") or o.json
    out = tmp_path / name
    if command == "rake":
        code = _rake(tmp_path, APISTRAT, out)
    else:
        argv = ["estimate", str(APISTRAT), *DESIGN, "--mean", "api00"]
        code = main([*argv, "--out", str(out), "--quiet"])
    _one_line_error(capsys, code, name, "CSV or parquet")
    assert not out.exists()


def test_a_gz_output_is_gzipped_csv(tmp_path):
    # was: plain CSV text in o.csv.gz (gzip -t: not in gzip format)
    assert _rake(tmp_path, APISTRAT, tmp_path / "o.csv.gz") == 0
    assert _rake(tmp_path, APISTRAT, tmp_path / "o.csv") == 0
    assert (
        gzip.decompress((tmp_path / "o.csv.gz").read_bytes()) == (tmp_path / "o.csv").read_bytes()
    )
    argv = ["estimate", str(APISTRAT), *DESIGN, "--mean", "api00", "--quiet", "--out"]
    assert main([*argv, str(tmp_path / "e.csv.gz")]) == 0
    assert main([*argv, str(tmp_path / "e.csv")]) == 0
    assert (
        gzip.decompress((tmp_path / "e.csv.gz").read_bytes()) == (tmp_path / "e.csv").read_bytes()
    )


@pytest.mark.parametrize("command", ["rake", "estimate"])
def test_compressed_outputs_name_the_target_and_are_the_same_bytes_each_run(tmp_path, command):
    # was: o.csv.gz stored the temporary file's name (.o.csv.gz.XXXX.tmp) and
    # the time in its header, o.csv.zip held a member named so (dated now):
    # two runs differed in bytes
    def run(name, place):
        place.mkdir(exist_ok=True)
        if command == "rake":
            assert _rake(place, APISTRAT, place / name) == 0
        else:
            argv = ["estimate", str(APISTRAT), *DESIGN, "--mean", "api00", "--quiet"]
            assert main([*argv, "--out", str(place / name)]) == 0
        return (place / name).read_bytes()

    plain = run("o.csv", tmp_path / "a")
    for name in ("o.csv.gz", "o.csv.zip"):
        first = run(name, tmp_path / "a")
        assert run(name, tmp_path / "b") == first
        if name.endswith(".gz"):
            assert first[3] == 0x08 and first[4:8] == bytes(4)  # FNAME set, no time
            assert first[10 : first.index(0, 10)] == b"o.csv"
            assert gzip.decompress(first) == plain
        else:
            with zipfile.ZipFile(tmp_path / "a" / name) as archive:
                (member,) = archive.infolist()
                assert member.filename == "o.csv" and member.date_time == (1980, 1, 1, 0, 0, 0)
                assert archive.read(member) == plain


@pytest.mark.parametrize("header", ["stype,note,total", "Stype,total"])
def test_a_margin_variable_the_sample_lacks_names_the_margin_file(tmp_path, capsys, header):
    # was: "'s.csv' has no column 'note'", as if the sample were at fault
    margin = tmp_path / "m.csv"
    rows = ["E,4421", "H,755", "M,1018"]
    if "note" in header:
        rows = [row.replace(",", ",x,") for row in rows]
    margin.write_text("\n".join([header, *rows]) + "\n")
    argv = ["estimate", str(APISTRAT), *DESIGN, "--margins", str(margin), "--mean", "api00"]
    code = main([*argv, "--out", str(tmp_path / "e.csv"), "--quiet"])
    column = "note" if "note" in header else "Stype"
    _one_line_error(capsys, code, "margin file", "m.csv' has a column", f"'{column}'", "total")
