"""Outputs the command line must not write: an input file, a parquet name
holding CSV text, a run whose weights overflow (H4's bad-input pass)."""

from __future__ import annotations

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
