"""``kalib model`` end to end: files in, coefficient table out, against R."""

import json

import numpy as np
import pandas as pd
import pytest
from repo_paths import REFERENCE

from estimators.cli import main

REF = REFERENCE / "model"
MODELS = {m["name"]: m for m in json.loads((REF / "svyglm_reference.json").read_text())["models"]}
STRAT = ["--weight", "pw", "--strata", "stype", "--fpc", "fpc"]
COLUMNS = ["term", "estimate", "se", "t", "df", "p", "ci_low", "ci_high"]


def _run(tmp_path, *options, out="coef.csv"):
    code = main(
        ["model", str(REF / "apistrat.csv"), *options, "--out", str(tmp_path / out), "--quiet"]
    )
    return code, (pd.read_csv(tmp_path / out) if code == 0 else None)


def _check(table, case, df=True):
    table = table.set_index("term").loc[case["terms"]]
    np.testing.assert_allclose(table["estimate"], case["coef"], rtol=1e-7)
    np.testing.assert_allclose(table["se"], case["se"], rtol=1e-7)
    if df:
        assert (table["df"] == case["df"]).all()
        np.testing.assert_allclose(table["ci_low"], case["ci_low"], rtol=1e-7)


def test_logistic_on_a_stratified_design(tmp_path):
    case = MODELS["strat_logistic"]
    code, table = _run(tmp_path, *STRAT, "--formula", case["formula"], "--family", "binomial")
    assert code == 0
    assert list(table.columns) == COLUMNS + ["odds_ratio", "or_ci_low", "or_ci_high"]
    _check(table, case)


def test_raked_design_from_margin_files(tmp_path):
    case = MODELS["strat_calibrated_poisson"]
    code, table = _run(
        tmp_path,
        *STRAT,
        "--margins",
        str(REF / "margin_stype.csv"),
        "--margins",
        str(REF / "margin_comp_imp.csv"),
        "--tol",
        "1e-13",
        "--formula",
        case["formula"],
        "--family",
        "poisson",
    )
    assert code == 0 and list(table.columns) == COLUMNS
    _check(table, case)


def test_jackknife_made_and_re_raked_in_process(tmp_path):
    # kalib's own JKn replicates, each re-raked, then every replicate re-fitted:
    # R's as.svrepdesign(type = "JKn") |> calibrate(raking) |> svyglm.
    case = MODELS["jkn_calibrated_logistic"]
    code, table = _run(
        tmp_path,
        *STRAT,
        "--variance",
        "jkn",
        "--margins",
        str(REF / "margin_stype.csv"),
        "--margins",
        str(REF / "margin_comp_imp.csv"),
        "--tol",
        "1e-13",
        "--formula",
        case["formula"],
        "--family",
        "binomial",
    )
    assert code == 0
    _check(table, case)


def test_replicate_file(tmp_path):
    case = MODELS["jkn_calibrated_linear"]
    code, table = _run(
        tmp_path,
        "--id",
        "snum",
        "--replicate-weights",
        str(REF / "jkn_calibrated_weights.csv"),
        "--formula",
        case["formula"],
    )
    assert code == 0
    # The df come from the replicate file's design (rank rule), not from R's QR.
    _check(table, case, df=False)


def test_where_fits_a_domain_on_the_full_design(tmp_path):
    case = MODELS["strat_subset_logistic"]
    code, table = _run(
        tmp_path,
        *STRAT,
        "--where",
        "stype != E",
        "--formula",
        case["formula"],
        "--family",
        "binomial",
    )
    assert code == 0
    _check(table, case)


def test_predictive_margins_file(tmp_path):
    code, _ = _run(
        tmp_path,
        *STRAT,
        "--formula",
        MODELS["strat_logistic"]["formula"],
        "--family",
        "binomial",
        "--predict",
        "stype",
        "--predict-out",
        str(tmp_path / "margins.csv"),
    )
    margins = pd.read_csv(tmp_path / "margins.csv")
    assert code == 0 and margins["level"].tolist() == ["E", "H", "M"]
    assert (
        (margins["ci_low"] < margins["estimate"]) & (margins["estimate"] < margins["ci_high"])
    ).all()


@pytest.mark.parametrize(
    "options, needle",
    [
        (["--formula", "api00 ~ ell + nonesuch"], "'nonesuch'"),
        (["--formula", "api00 ~ ell", "--by", "stype"], "--by"),
        (["--formula", "api00 ~ ell", "--predict", "stype"], "--predict-out"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, options, needle):
    code, _ = _run(tmp_path, *STRAT, *options)
    err = capsys.readouterr().err
    assert code == 2 and needle in err and err.count("\n") == 1


def test_existing_output_needs_force(tmp_path, capsys):
    (tmp_path / "coef.csv").write_text("keep me\n")
    code, _ = _run(tmp_path, *STRAT, "--formula", "api00 ~ ell")
    assert code == 2 and "--force" in capsys.readouterr().err
    assert (tmp_path / "coef.csv").read_text() == "keep me\n"
