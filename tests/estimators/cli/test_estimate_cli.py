"""kalib estimate / kalib crosstab: columns, values against R, errors."""

import json

import numpy as np
import pandas as pd
import pytest
from reference.estimators.refvalues import HERE, load

from estimators.cli import main
from estimators.inference.results import ESTIMATE_COLUMNS

R = load("apistrat")
SAMPLE = str(HERE / "apistrat.csv")
DESIGN = ["--weight", "pw", "--strata", "stype", "--fpc", "fpc"]


def test_estimate_mean_columns_and_values(tmp_path):
    out = tmp_path / "est.csv"
    assert (
        main(
            [
                "estimate",
                SAMPLE,
                *DESIGN,
                "--mean",
                "api00",
                "--by",
                "awards",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    f = pd.read_csv(out)
    assert list(f.columns) == ESTIMATE_COLUMNS
    assert f["domain_var"].tolist() == ["all", "awards", "awards"]
    np.testing.assert_allclose(f["estimate"][0], R["lin.mean_api00"], rtol=1e-12)
    np.testing.assert_allclose(f["se"][0], R["lin.mean_api00_se"], rtol=1e-11)
    np.testing.assert_allclose(f["se"][1:], R["lin.by_awards_se"], rtol=1e-8)


def test_estimate_proportion_ci_and_output_protection(tmp_path, capsys):
    out = tmp_path / "p.csv"
    args = [
        "estimate",
        SAMPLE,
        *DESIGN,
        "--proportion",
        "high=1",
        "--ci",
        "korn-graubard",
        "--out",
        str(out),
        "--quiet",
    ]
    assert main(args) == 0
    f = pd.read_csv(out)
    np.testing.assert_allclose(
        f[["ci_low", "ci_high"]].to_numpy()[0], R["lin.ciprop_high_beta"][1:], rtol=1e-8
    )
    assert main(args) == 2  # exists, no --force
    assert "use --force" in capsys.readouterr().err
    assert main(args + ["--force"]) == 0


def test_estimate_with_replicate_file_uses_its_replicates(tmp_path):
    reps = pd.read_csv(HERE / "apistrat_jkn_weights.csv").rename(columns={"snum": "id"})
    data = pd.read_csv(SAMPLE).rename(columns={"snum": "id"})
    reps = pd.concat(
        [reps[["id"]], data[["pw"]].rename(columns={"pw": "weight"}), reps.drop(columns="id")],
        axis=1,
    )
    sample, rep_file = tmp_path / "s.csv", tmp_path / "reps.csv"
    data.to_csv(sample, index=False)
    reps.to_csv(rep_file, index=False)
    rep_file.with_suffix(".json").write_text(
        json.dumps(
            {"method": "jkn", "scale": 1.0, "rscales": R["jkn.rscales"].tolist(), "mse": False}
        )
    )
    out = tmp_path / "e.csv"
    assert (
        main(
            [
                "estimate",
                str(sample),
                "--replicate-weights",
                str(rep_file),
                "--mean",
                "api00",
                "--by",
                "awards",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    f = pd.read_csv(out)
    np.testing.assert_allclose(
        f["se"], np.r_[R["jkn.mean_api00_se"], R["jkn.by_awards_se"]], rtol=1e-8
    )


def test_estimate_rates_from_the_catalog(tmp_path):
    # The CATI export as the CATI system writes it: don't-know / no-answer
    # codes are missing through the codebook, not answers (n = 993, not 1000).
    from reference.estimators import cati_fixture

    sample = cati_fixture.DATA_CSV
    out = tmp_path / "rates.csv"
    assert (
        main(
            [
                "estimate",
                str(sample),
                "--strata",
                "stratum",
                "--rates",
                "trainee_now_rate,alternative_tasks_rates",
                "--by",
                "sector",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    f = pd.read_csv(out)
    assert list(f.columns) == ESTIMATE_COLUMNS
    assert set(f["variable"]) == {
        "trainee_now_rate",
        "alternative_tasks_rates.full_time",
        "alternative_tasks_rates.part_time",
        "alternative_tasks_rates.no",
    }
    row = f[(f["variable"] == "trainee_now_rate") & (f["domain"] == "all")].iloc[0]
    assert row["n"] == 993 and round(100 * row["estimate"], 1) == 29.7  # N/n weights


def test_crosstab_prints_svychisq_and_writes_cells(tmp_path, capsys):
    out = tmp_path / "tab.csv"
    assert (
        main(
            [
                "crosstab",
                SAMPLE,
                *DESIGN,
                "--rows",
                "sch_wide",
                "--cols",
                "comp_imp",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    F = R["lin.chisq_F"]
    assert f"F = {F[0]:.4f}, ndf = {F[1]:.4f}, ddf = {F[2]:.4f}" in text
    assert f"X-squared = {R['lin.chisq_Chisq'][0]:.4f}" in text
    assert "Unweighted Pearson" in text
    f = pd.read_csv(out)
    assert f["n"].sum() == 200
    assert f["proportion"].sum() == pytest.approx(1.0)
    assert f["weighted_count"].sum() == pytest.approx(6194.0, rel=1e-6)


@pytest.mark.parametrize(
    "args,message",
    [
        (["--mean", "nope"], "column 'nope' is not in the data"),
        (["--proportion", "high"], "--proportion expects VAR=VALUE"),
        (
            [
                "--rates",
                "no_such_rate",
            ],
            "no key rate 'no_such_rate'",
        ),
        (["--mean", "api00", "--where", "stype ~ E"], "--where: cannot parse"),
        (["--mean", "api00", "--by", "nope"], "column 'nope' is not in the data"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, message):
    code = main(["estimate", SAMPLE, *DESIGN, *args, "--out", str(tmp_path / "x.csv")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "x.csv").exists()


def test_estimate_with_replicates_made_in_process(tmp_path):
    out = tmp_path / "jkn.csv"
    assert (
        main(
            [
                "estimate",
                SAMPLE,
                *DESIGN,
                "--variance",
                "jkn",
                "--mean",
                "api00",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    np.testing.assert_allclose(pd.read_csv(out)["se"], R["jkn.mean_api00_se"], rtol=1e-8)
    out = tmp_path / "boot.csv"
    args = [
        "estimate",
        SAMPLE,
        *DESIGN,
        "--variance",
        "bootstrap",
        "--replicates",
        "50",
        "--proportion",
        "sch_wide=Yes",
        "--ci",
        "percentile",
        "--quiet",
    ]
    assert main(args + ["--out", str(out)]) == 0
    assert main(args + ["--out", str(tmp_path / "again.csv")]) == 0
    assert out.read_text() == (tmp_path / "again.csv").read_text()  # same seed, same bytes
