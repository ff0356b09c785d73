"""``kalib model --family ordinal`` end to end: files in, table out, against R svyolr.

The sample is tests/reference/ordinal/ordinal_establishments.csv as R's
script wrote it (size as text, so patsy codes it against ``large``, its
first level in sorted order; R's script made ``small`` the reference, so the
formulas say ``C(size, Treatment('small'))``). Reference values:
tests/reference/ordinal/ordinal_reference.json (see
tests/estimators/model/test_ordinal_reference.py).
"""

import json

import numpy as np
import pandas as pd
import pytest
from repo_paths import REFERENCE

from estimators.cli import main

REF = REFERENCE / "ordinal"
R = json.loads((REF / "ordinal_reference.json").read_text())
SAMPLE = REF / "ordinal_establishments.csv"
DESIGN = ["--weight", "basew", "--strata", "stratum", "--fpc", "N_h"]
FORMULA = "z ~ sector + C(size, Treatment('small')) + trainee"
COLUMNS = ["term", "estimate", "se", "t", "df", "p", "ci_low", "ci_high"]
ODDS = ["odds_ratio", "or_ci_low", "or_ci_high"]
SIZE = "C(size, Treatment('small'))"
# R's names -> patsy's
NAMES = {
    "sectorpublic": "sector[T.public]",
    "sizemedium": f"{SIZE}[T.medium]",
    "sizelarge": f"{SIZE}[T.large]",
    "trainee": "trainee",
}


def _margins(tmp_path, *variables):
    """The reference margins as kalib margin files (``VAR, total``)."""
    options = []
    for var in variables:
        table = pd.read_csv(REF / f"ordinal_margin_{var}.csv").rename(columns={"Freq": "total"})
        path = tmp_path / f"margin_{var}.csv"
        table.to_csv(path, index=False)
        options += ["--margins", str(path)]
    return options + ["--tol", "1e-13"]


def _model(tmp_path, *options, out="coef.csv"):
    code = main(["model", str(SAMPLE), *options, "--out", str(tmp_path / out), "--quiet"])
    return code, (pd.read_csv(tmp_path / out) if code == 0 else None)


def _check(table, case, se="se_exact_hessian", rtol=1e-9):
    names = [NAMES.get(n, n) for n in case["coef_all"]]
    assert set(table["term"]) == set(names)
    table = table.set_index("term").loc[names]
    np.testing.assert_allclose(table["estimate"], list(case["coef_all"].values()), rtol=rtol)
    np.testing.assert_allclose(table["se"], list(case[se].values()), rtol=rtol)
    df = case["df_residual"] if "df_residual" in case else case["design"]["df_residual"]
    assert (table["df"] == df).all()


def test_raked_design_linearized(tmp_path):
    code, table = _model(
        tmp_path,
        *DESIGN,
        *_margins(tmp_path, "sector", "size"),
        "--formula",
        FORMULA,
        "--family",
        "ordinal",
    )
    assert code == 0
    assert list(table.columns) == COLUMNS + ODDS
    # the coefficients first, then the thresholds named as R names them
    assert list(table["term"])[-4:] == ["1|2", "2|3", "3|4", "4|5"]
    assert table["odds_ratio"].iloc[-4:].isna().all()
    np.testing.assert_allclose(table["odds_ratio"].iloc[:4], np.exp(table["estimate"].iloc[:4]))
    _check(table, R["b_raked_logistic"])


def test_probit_link_without_odds_ratios(tmp_path):
    code, table = _model(
        tmp_path, *DESIGN, "--formula", FORMULA, "--family", "ordinal", "--link", "probit"
    )
    assert code == 0 and list(table.columns) == COLUMNS
    _check(table, R["d_strat_probit"])


def test_default_reference_level_is_a_reparametrisation(tmp_path):
    # z ~ sector + size: size coded against "large" (sorted order). The fit is
    # R's with beta_size and the thresholds shifted by -beta_large(R).
    code, table = _model(
        tmp_path, *DESIGN, "--formula", "z ~ sector + size + trainee", "--family", "ordinal"
    )
    assert code == 0
    r = R["a_strat_logistic"]["coef_all"]
    got = table.set_index("term")["estimate"]
    np.testing.assert_allclose(got["size[T.small]"], -r["sizelarge"], rtol=1e-9)
    np.testing.assert_allclose(got["size[T.medium]"], r["sizemedium"] - r["sizelarge"], rtol=1e-9)
    for k in ("1|2", "2|3", "3|4", "4|5"):
        np.testing.assert_allclose(got[k], r[k] - r["sizelarge"], rtol=1e-9)


def test_replicate_file_from_kalib_replicate_jkn(tmp_path):
    # kalib replicate --method jkn (each replicate re-raked) -> --replicate-weights:
    # R's svyolr on calibrate(as.svrepdesign(d, "JKn"), ...) with converged replicates.
    reps = tmp_path / "reps.csv"
    assert (
        main(
            [
                "replicate",
                str(SAMPLE),
                *DESIGN,
                *_margins(tmp_path, "sector", "size", "trainee"),
                "--method",
                "jkn",
                "--out",
                str(reps),
                "--quiet",
            ]
        )
        == 0
    )
    code, table = _model(
        tmp_path, "--replicate-weights", str(reps), "--formula", FORMULA, "--family", "ordinal"
    )
    assert code == 0
    _check(table, R["c3_jkn_reraked3_logistic"], se="se")


def test_text_response_with_levels(tmp_path):
    # a labelled rating scale: --levels gives the order (R: factor(z, levels, ordered))
    labels = ["never", "rarely", "sometimes", "often", "always"]
    sample = pd.read_csv(SAMPLE)
    sample["z"] = sample["z"].map(dict(enumerate(labels, start=1)))
    path = tmp_path / "labelled.csv"
    sample.to_csv(path, index=False)
    code = main(
        [
            "model",
            str(path),
            *DESIGN,
            "--formula",
            FORMULA,
            "--family",
            "ordinal",
            "--levels",
            ",".join(labels),
            "--out",
            str(tmp_path / "c.csv"),
            "--quiet",
        ]
    )
    assert code == 0
    table = pd.read_csv(tmp_path / "c.csv")
    assert list(table["term"])[-4:] == [
        "never|rarely",
        "rarely|sometimes",
        "sometimes|often",
        "often|always",
    ]
    case = R["a_strat_logistic"]
    names = [NAMES[n] for n in list(case["coef_all"])[:4]] + list(table["term"])[-4:]
    table = table.set_index("term").loc[names]
    np.testing.assert_allclose(table["estimate"], list(case["coef_all"].values()), rtol=1e-9)
    np.testing.assert_allclose(table["se"], list(case["se_exact_hessian"].values()), rtol=1e-9)


def test_predicted_margins_per_category(tmp_path):
    code, _ = _model(
        tmp_path,
        *DESIGN,
        "--formula",
        FORMULA,
        "--family",
        "ordinal",
        "--predict",
        "sector",
        "--predict-out",
        str(tmp_path / "m.csv"),
    )
    assert code == 0
    margins = pd.read_csv(tmp_path / "m.csv")
    assert list(margins.columns[:3]) == ["variable", "level", "category"]
    assert len(margins) == 2 * 5
    # every level's predicted distribution sums to one, and the contrasts to zero
    np.testing.assert_allclose(margins.groupby("level")["estimate"].sum(), 1.0, rtol=1e-12)
    np.testing.assert_allclose(margins.groupby("level")["contrast"].sum(), 0.0, atol=1e-12)


@pytest.mark.parametrize(
    "options, message",
    [
        (["--formula", "sector ~ trainee", "--family", "ordinal"], "text value 'private'"),
        (
            ["--formula", FORMULA, "--family", "binomial", "--link", "probit"],
            "--link is for --family ordinal",
        ),
        (
            ["--formula", "sector ~ trainee", "--family", "ordinal", "--levels", "private"],
            "the value 'public' (170 rows), not one of its levels private",
        ),
        (
            ["--formula", "z ~ sector + trainee", "--family", "ordinal", "--where", "z == 3"],
            "one category ('3')",
        ),
    ],
)
def test_bad_input_is_exit_2_with_one_line(tmp_path, capsys, options, message):
    code, _ = _model(tmp_path, *DESIGN, *options)
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
