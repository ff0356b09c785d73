"""Options and files as users give them (engineer H4's pass over every
subcommand): a wrong one is one line naming it, exit 2, nothing written."""

from __future__ import annotations

import pytest
from repo_paths import REFERENCE
from test_cli_files_inputs import _one_line_error  # the same rule: one line, exit 2

from estimators.cli import main

APISTRAT = REFERENCE / "model" / "apistrat.csv"
PPS = REFERENCE / "pps"
DESIGN = ["--weight", "pw", "--strata", "stype", "--fpc", "fpc"]


@pytest.mark.parametrize("address", ["banana", "tcp://host:x", "foo://host:1"])
def test_a_scheduler_that_is_no_address_is_named(tmp_path, capsys, address):
    # was: distributed's ValueError ('missing port number in address ...') as a traceback
    out = tmp_path / "e.csv"
    argv = ["estimate", str(APISTRAT), *DESIGN, "--mean", "api00", "--variance", "bootstrap"]
    code = main([*argv, "--replicates", "4", "--scheduler", address, "--out", str(out)])
    _one_line_error(capsys, code, "--scheduler must be threads, processes", repr(address))
    assert not out.exists()


@pytest.mark.parametrize("levels", ["", "E,,M", "E,M,"])
def test_ordinal_levels_with_an_empty_one_are_named(tmp_path, capsys, levels):
    # was: "response 'stype' has the value 'E' (...), not one of its levels ; ..."
    # after the sample was read and the design built
    out = tmp_path / "o.csv"
    argv = ["model", str(APISTRAT), *DESIGN, "--formula", "stype ~ api00", "--family", "ordinal"]
    code = main([*argv, "--levels", levels, "--out", str(out)])
    _one_line_error(capsys, code, f"--levels {levels!r} has an empty level")
    assert not out.exists()


def test_a_joint_inclusion_file_with_r_s_row_names_is_read(tmp_path):
    # R's write.csv(P, file) writes the row names first under an empty header;
    # was: "a joint-inclusion matrix has one row and one column per PSU, this
    # table has 40 rows and 41 columns"
    lines = (PPS / "election_jointprob.csv").read_text().splitlines()
    with_names = ['"",' + lines[0]] + [f'"{k}",{line}' for k, line in enumerate(lines[1:], 1)]
    (tmp_path / "joint_r.csv").write_text("\n".join(with_names) + "\n")
    tables = []
    for joint in (PPS / "election_jointprob.csv", tmp_path / "joint_r.csv"):
        out = tmp_path / f"{joint.stem}.out.csv"
        argv = ["estimate", str(PPS / "election_pps.csv"), "--id", "County", "--fpc", "p"]
        assert main([*argv, "--pps", str(joint), "--mean", "Bush", "--out", str(out)]) == 0
        tables.append(out.read_bytes())
    assert tables[0] == tables[1]


@pytest.mark.parametrize(
    "command",
    [["rake", "--weight", "pw"], ["replicate", *DESIGN, "--id", "snum", "--replicates", "3"]],
)
def test_a_margin_column_the_sample_lacks_names_the_margin_file(tmp_path, capsys, command):
    # was: rake "'apistrat.csv' has no column 'note'", replicate "column 'note'
    # is not in the data": the stray column is the margin file's
    margin = tmp_path / "m.csv"
    margin.write_text("stype,total,note\nE,4421,x\nH,755,y\nM,1018,z\n")
    out = tmp_path / "o.csv"
    code = main(
        [command[0], str(APISTRAT), *command[1:], "--margins", str(margin)] + ["--out", str(out)]
    )
    _one_line_error(capsys, code, f"margin file {str(margin)!r} has a column 'note'")
    assert not out.exists()
