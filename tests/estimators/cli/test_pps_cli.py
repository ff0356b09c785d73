"""``--pps brewer|overton|hr|FILE`` and ``--pps-variance HT|YG`` on the command
line against R (tests/reference/pps, pps.R), and the errors they name."""

import json

import numpy as np
import pandas as pd
import pytest
from repo_paths import REFERENCE

from estimators.cli import main

REF_DIR = REFERENCE / "pps"
PPS = json.loads((REF_DIR / "pps.json").read_text())
REF = PPS["results"]
PSUM = PPS["psum"]  # R's HR(psum), psum = sum(election$p^2) / 40
SAMPLE = str(REF_DIR / "election_pps.csv")
JOINT = str(REF_DIR / "election_jointprob.csv")


def estimate(tmp_path, *options):
    out = tmp_path / "est.csv"
    args = ["estimate", SAMPLE, "--id", "County", "--fpc", "p", *options]
    code = main([*args, "--out", str(out), "--force", "--quiet"])
    return code, (pd.read_csv(out) if code == 0 else None)


@pytest.mark.parametrize(
    ("options", "design"),
    [
        (["--pps", "brewer"], "dpps_br"),
        (["--pps", "overton"], "dpps_ov"),
        (["--pps", "hr"], "dpps_hr1"),
        (["--pps", f"hr={PSUM!r}"], "dpps_hr"),
        (["--pps", JOINT], "dpps_ht"),
        (["--pps", JOINT, "--pps-variance", "yg"], "dpps_yg"),
    ],
)
def test_means_overall_and_by_domain_equal_r(tmp_path, options, design):
    code, f = estimate(tmp_path, *options, "--mean", "Bush,Kerry,Nader")
    assert code == 0
    whole = REF[design]["mean_bush_kerry_nader"]
    np.testing.assert_allclose(f["estimate"], list(whole["estimate"].values()), rtol=1e-12)
    np.testing.assert_allclose(f["se"], list(whole["se"].values()), rtol=1e-8)
    code, f = estimate(tmp_path, *options, "--mean", "Bush", "--by", "kerry_won")
    assert code == 0
    by = REF[design]["by_kerry_won_mean_bush"]
    np.testing.assert_allclose(f["se"], [whole["se"]["Bush"], *by["se"].values()], rtol=1e-8)


def test_errors_name_the_problem(tmp_path, capsys):
    cases = [
        (["--pps", "brewer", "--pps-variance", "YG"], "no Yates-Grundy form"),
        (["--pps", "overton", "--variance", "bootstrap"], "not made for a PPS design"),
        (  # replicates made on Dask are refused too
            ["--pps", "overton", "--variance", "jkn", "--scheduler", "threads"],
            "not made for a PPS design",
        ),
        (["--pps", "poisson"], "poisson"),
        (["--pps", "hr=big"], "'big' is not a number"),
    ]
    for options, message in cases:
        code, _ = estimate(tmp_path, *options, "--mean", "Bush")
        assert code == 2
        assert message in capsys.readouterr().err
    out = str(tmp_path / "x.csv")
    assert (
        main(
            [
                "estimate",
                SAMPLE,
                "--id",
                "County",
                "--pps-variance",
                "YG",
                "--mean",
                "Bush",
                "--out",
                out,
            ]
        )
        == 2
    )
    assert "needs a PPS design" in capsys.readouterr().err
    square = tmp_path / "joint.csv"
    pd.read_csv(JOINT).iloc[:39].to_csv(square, index=False)
    code, _ = estimate(tmp_path, "--pps", str(square), "--mean", "Bush")
    assert code == 2
    assert "39 rows and 40 columns" in capsys.readouterr().err
