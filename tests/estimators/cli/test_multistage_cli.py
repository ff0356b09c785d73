"""``--psu`` and ``--fpc`` once per stage, ``--nest``, ``--lonely-psu``: the
acceptance test of issue 19 on the command line (R's ``svydesign(id =
~cluster + id, strata = ~stratum, fpc = ~N1 + N2, nest = TRUE)``), and the
errors that name the missing option."""

import json

import numpy as np
import pandas as pd
from repo_paths import REFERENCE

from estimators.cli import main

REF = REFERENCE / "multistage"
SAMPLE = str(REF / "twostage.csv")
TWO_STAGE = [
    "--strata",
    "stratum",
    "--psu",
    "cluster",
    "--psu",
    "id",
    "--fpc",
    "N1",
    "--fpc",
    "N2",
]


def r(design, key):
    return json.loads((REF / "multistage.json").read_text())[design[0]][design[1]][key]


def estimate(tmp_path, *options):
    out = tmp_path / "est.csv"
    code = main(["estimate", SAMPLE, *options, "--out", str(out), "--force", "--quiet"])
    return code, (pd.read_csv(out) if code == 0 else None)


def test_two_stage_means_and_ses_by_domain_equal_r(tmp_path):
    code, f = estimate(tmp_path, *TWO_STAGE, "--nest", "--mean", "y", "--by", "dom")
    assert code == 0
    whole = r(("twostage", "d2"), "mean_y")
    by = r(("twostage", "d2"), "by_dom_mean_y")["table"]
    np.testing.assert_allclose(f["estimate"], [whole["estimate"]["y"], *by["y"]], rtol=1e-8)
    np.testing.assert_allclose(f["se"], [whole["se"]["y"], *by["se"]], rtol=1e-8)


def test_lonely_policy_at_stage_two(tmp_path):
    sample = str(REF / "twostage_lonely_stage2.csv")
    out = tmp_path / "lonely.csv"
    args = ["estimate", sample, *TWO_STAGE, "--nest", "--mean", "y", "--out", str(out)]
    assert main([*args, "--lonely-psu", "adjust", "--quiet"]) == 0
    expected = r(("lonely", "lonely_stage2"), "adjust")["mean_y"]
    np.testing.assert_allclose(pd.read_csv(out)["se"], expected["se"]["y"], rtol=1e-8)


def test_errors_name_the_option(tmp_path, capsys):
    code, _ = estimate(tmp_path, *TWO_STAGE, "--mean", "y")
    err = capsys.readouterr().err
    assert code == 2 and "more than one stratum" in err and "--nest" in err
    sample = str(REF / "twostage_lonely_stage2.csv")
    out = str(tmp_path / "x.csv")
    code = main(["estimate", sample, *TWO_STAGE, "--nest", "--mean", "y", "--out", out])
    err = capsys.readouterr().err
    assert code == 2 and "stage 2" in err and "--lonely-psu" in err


def test_domain_lonely_option(tmp_path):
    """--domain-lonely is R's survey.adjust.domain.lonely = TRUE."""
    sample = str(REF / "twostage_lonely_stage1.csv")
    out = tmp_path / "dl.csv"
    args = ["estimate", sample, *TWO_STAGE, "--nest", "--mean", "y", "--by", "dom2"]
    args += ["--lonely-psu", "adjust", "--domain-lonely", "--out", str(out), "--quiet"]
    assert main(args) == 0
    expected = r(("lonely", "lonely_stage1"), "adjust_adjust_domain_lonely")["by_dom2_mean_y"]
    np.testing.assert_allclose(pd.read_csv(out)["se"][1:], expected["table"]["se"], rtol=1e-8)
