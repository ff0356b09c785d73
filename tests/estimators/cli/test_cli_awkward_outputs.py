"""Output paths as users give them (engineer H4's pass over every subcommand):
a ``.parquet`` name gets parquet, two outputs of one run cannot be one file,
and a file where a directory belongs is named as such — one line, exit 2,
nothing written."""

from __future__ import annotations

import os

import pandas as pd
import pyarrow.parquet as pq
import pytest
from repo_paths import REFERENCE
from test_cli_files_inputs import _one_line_error  # the same rule: one line, exit 2

from estimators.cli import main

APISTRAT = REFERENCE / "model" / "apistrat.csv"
DESIGN = ["--weight", "pw", "--strata", "stype", "--fpc", "fpc"]


def test_crosstab_writes_parquet_when_the_name_says_so(tmp_path):
    # was: CSV text in a file called x.parquet, which no parquet reader opens
    args = ["crosstab", str(APISTRAT), *DESIGN, "--rows", "stype", "--cols", "sch_wide"]
    assert main([*args, "--out", str(tmp_path / "x.csv"), "--quiet"]) == 0
    assert main([*args, "--out", str(tmp_path / "x.parquet"), "--quiet"]) == 0
    parquet = pq.read_table(tmp_path / "x.parquet").to_pandas()
    pd.testing.assert_frame_equal(parquet, pd.read_csv(tmp_path / "x.csv"))


@pytest.mark.parametrize("other_name", ["relative", "hard link"])
def test_model_margins_and_coefficients_cannot_share_a_file(tmp_path, capsys, other_name):
    # was: with --force the margins silently replaced the coefficient table;
    # a hard link was not seen as the same file (paths compared, not inodes)
    out = tmp_path / "m.csv"
    out.write_text("keep\n")
    predict_out = tmp_path / "." / "m.csv"
    if other_name == "hard link":
        predict_out = tmp_path / "h.csv"
        os.link(out, predict_out)
    code = main(
        [
            "model",
            str(APISTRAT),
            *DESIGN,
            "--formula",
            "api00 ~ stype",
            "--predict",
            "stype",
            "--out",
            str(out),
            "--predict-out",
            str(predict_out),
            "--force",
            "--quiet",
        ]
    )
    _one_line_error(capsys, code, "--predict-out", "is the --out file")
    assert out.read_text() == "keep\n"


def test_data_margins_to_a_file_says_it_is_a_file(tmp_path, capsys):
    # was: "output directory 'x.csv' does not exist" of a file that exists
    target = tmp_path / "x.csv"
    target.write_text("keep\n")
    code = main(["data", "margins", "--out", str(target), "--force"])
    _one_line_error(capsys, code, "is a file; --out names the directory")
    assert target.read_text() == "keep\n"


@pytest.mark.parametrize(
    "command",
    [
        ["rake", "--weight", "pw", "--margins", str(APISTRAT)],
        ["crosstab", *DESIGN, "--rows", "stype", "--cols", "sch_wide"],
        ["model", *DESIGN, "--formula", "api00 ~ stype"],
        ["replicate", *DESIGN, "--replicates", "3"],
    ],
)
@pytest.mark.parametrize("name", ["o.xlsx", "o.json"])
def test_an_output_named_for_another_format_is_refused_before_the_work(
    tmp_path, capsys, command, name
):
    # was: CSV text in o.xlsx / o.json, exit 0; the check comes before the
    # inputs are read (the absent sample is never opened)
    out = tmp_path / name
    code = main([command[0], str(tmp_path / "absent.csv"), *command[1:], "--out", str(out)])
    _one_line_error(capsys, code, repr(str(out)))
    assert not out.exists()


def test_a_replicate_table_is_not_compressed(tmp_path, capsys):
    # kalib estimate reads no compressed table back; was: plain CSV in r.csv.gz
    out = tmp_path / "r.csv.gz"
    code = main(["replicate", str(APISTRAT), *DESIGN, "--replicates", "3", "--out", str(out)])
    _one_line_error(capsys, code, "a replicate table is written as plain CSV or parquet")
    assert not out.exists() and not out.with_suffix(".json").exists()
