"""No silent answers to a wrong question (issue 17, items 4-6): a category
that occurs nowhere, numbers exported as floats, booleans, design effects
against R (``deff = TRUE`` and ``"replace"``, also where the weights sum to
n), ratios over a zero total, impossible quantile probabilities, empty
crosstab domains, a model term left with one level, plain numbers in
messages."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from reference.tests_intervals.designs import DESIGNS
from reference.tests_intervals.designs import R as R_INTERVALS

from estimators.cli import main
from estimators.inference import estimate as E
from estimators.inference.domains import CategoryError, parse_where
from weighting.columns import canonical
from weighting.design import Design
from weighting.errors import KalibError

HERE = Path(__file__).resolve().parents[2] / "reference"
APISTRAT = str(HERE / "tests_intervals" / "apistrat.csv")
STRAT = ["--weight", "pw", "--strata", "stype", "--fpc", "fpc"]
R = json.loads((HERE / "silent_answers" / "silent_answers.json").read_text())
SCD = pd.read_csv(HERE / "silent_answers" / "scd.csv").assign(one=1.0, N=5)
SCD_DESIGN = Design(SCD, weights="one", strata="ESA", psu="ambulance", fpc="N", nest=True)


def _run(*args):
    return main([*args, "--quiet"])


def _one_line_error(capsys, code, *words):
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    for word in words:
        assert word in err
    return err


# -- a category that occurs nowhere -------------------------------------------------


def test_a_misspelt_category_is_an_error_naming_the_categories(tmp_path, capsys):
    out = tmp_path / "p.csv"
    code = _run("estimate", APISTRAT, *STRAT, "--proportion", "stype=e", "--out", str(out))
    _one_line_error(
        capsys, code, "stype=e", "'e' is not a category of 'stype'", "(its categories: E, H, M)"
    )
    assert not out.exists()
    with pytest.raises(CategoryError, match=r"its categories: E, H, M"):
        E.svyprop(DESIGNS["dstrat"], "stype", "e")


def test_a_codebook_category_absent_from_the_sample_is_a_share_of_zero():
    f = E.svyprop(DESIGNS["dstrat"], "stype", "X", categories=["E", "H", "M", "X"]).frame
    assert f["estimate"].iloc[0] == 0 and f["n"].iloc[0] == 200


def test_booleans_are_compared_as_booleans():
    data = pd.read_csv(APISTRAT).assign(yes=lambda d: d["sch_wide"] == "Yes")
    design = Design(data, weights="pw", strata="stype", fpc="fpc")
    expected = E.svyprop(design, "sch_wide", "Yes").frame["estimate"].iloc[0]
    for value in (True, 1, 1.0, "1", "True", "true", np.bool_(True)):
        row = E.svyprop(design, "yes", value).frame.iloc[0]
        assert row["estimate"] == pytest.approx(expected, rel=1e-14)
        assert row["variable"] == "yes=True"
    no = E.svyprop(design, "yes", 0).frame["estimate"].iloc[0]
    assert no == pytest.approx(1 - expected, rel=1e-12)
    with pytest.raises(
        CategoryError,
        match="'2' is not a category of 'yes' "
        r"\(its categories: False, True\)",
    ):
        E.svyprop(design, "yes", 2)


def test_codes_exported_as_floats_match_their_integers(tmp_path):
    """A code column with missing values is written 1.0, 2.0, '' by most
    exports: --proportion q1=1, q1=1.0 and --where "q1 == 1" all find the
    same rows; a code with a leading zero stays a code."""
    rng = np.random.default_rng(5)
    q1 = rng.choice(["1.0", "2.0", ""], 300, p=[0.35, 0.5, 0.15])
    sample = tmp_path / "s.csv"
    pd.DataFrame({"id": range(300), "q1": q1, "y": rng.normal(size=300)}).to_csv(
        sample, index=False
    )
    answered = q1 != ""
    share = (q1 == "1.0").sum() / answered.sum()
    estimates = []
    for value in ("1", "1.0", "1.00"):
        out = tmp_path / f"p{value}.csv"
        assert _run("estimate", str(sample), "--proportion", f"q1={value}", "--out", str(out)) == 0
        estimates.append(pd.read_csv(out)["estimate"].iloc[0])
    assert estimates == pytest.approx([share] * 3, rel=1e-12)
    out = tmp_path / "w.csv"
    assert (
        _run("estimate", str(sample), "--mean", "y", "--where", "q1 == 1", "--out", str(out)) == 0
    )
    assert pd.read_csv(out)["n"].iloc[0] == (q1 == "1.0").sum()


@pytest.mark.parametrize(
    "value, text",
    [
        ("1.0", "1"),
        ("1.50", "1.5"),
        ("-2.0", "-2"),
        ("1e3", "1000"),
        (".5", "0.5"),
        ("+3", "3"),
        ("12345678901234567890", "12345678901234567890"),
        ("01", "01"),
        ("007", "007"),
        ("00.5", "00.5"),
        ("1-4", "1-4"),
        ("50+", "50+"),
        ("nan", "nan"),
        ("1e999", "1e999"),
        (" 1", " 1"),
        ("True", "True"),
    ],
)
def test_the_one_canonical_text(value, text):
    assert canonical(value) == text
    assert canonical(value.encode()) == text


def test_the_comparison_rule_is_the_same_for_where_and_proportions():
    data = pd.DataFrame({"code": ["01", "1.0", "1", "2", None], "y": [1.0] * 5})
    design = Design(data, weights=np.ones(5))
    # 1.0 and 1 are the number 1; 01 is a code
    assert parse_where("code == 1").mask(data).tolist() == [False, True, True, False, False]
    assert parse_where("code == '01'").mask(data).tolist() == [True, False, False, False, False]
    assert E.svyprop(design, "code", 1.0).frame["estimate"].iloc[0] == pytest.approx(0.5)


# -- design effects against R ----------------------------------------------------------


def _r_deff(entry):
    found = entry.get("deff")
    return list(found.values()) if found is not None else entry["table"]["DEff.api00"]


@pytest.mark.parametrize("design", ["dstrat", "dclus1"])
@pytest.mark.parametrize("reference, deff", [("true", True), ("replace", "replace")])
def test_deff_against_r(design, reference, deff):
    ref = R_INTERVALS["deff"][design]
    d = DESIGNS[design]
    f = E.svymean(d, ["api00", "enroll"], deff=deff).frame
    np.testing.assert_allclose(f["deff"], _r_deff(ref[f"mean_{reference}"]), rtol=1e-8)
    f = E.svytotal(d, ["api00", "enroll"], deff=deff).frame
    np.testing.assert_allclose(f["deff"], _r_deff(ref[f"total_{reference}"]), rtol=1e-8)
    f = E.svymean(d, "api00", by=["stype"], deff=deff).frame
    np.testing.assert_allclose(f["deff"], _r_deff(ref[f"by_stype_mean_{reference}"]), rtol=1e-8)
    f = E.svymean(d, "api00", where=parse_where("stype == E"), deff=deff).frame
    np.testing.assert_allclose(f["deff"], _r_deff(ref[f"subset_E_mean_{reference}"]), rtol=1e-8)
    shares = pd.concat([E.svyprop(d, "stype", s, deff=deff).frame for s in "EHM"])
    np.testing.assert_allclose(
        shares["deff"], _r_deff(ref[f"mean_stype_{reference}"]), rtol=1e-8, atol=1e-12
    )


def test_deff_of_domain_totals_against_r():
    ref = R_INTERVALS["deff"]["dclus1"]["by_stype_total_true"]
    f = E.svytotal(DESIGNS["dclus1"], "api00", by=["stype"]).frame
    np.testing.assert_allclose(f["deff"], _r_deff(ref), rtol=1e-8)


@pytest.mark.parametrize("front", [E.svymean, E.svytotal])
def test_deff_keeps_its_reference_when_the_weights_sum_to_n(front):
    """R's scd example (every weight 1): deff = TRUE is Inf, not silently the
    with-replacement value; deff = "replace" gives that one."""
    kind = "mean" if front is E.svymean else "total"
    results = front(SCD_DESIGN, ["arrests", "alive"])
    assert results.attrs["deff"] == "wor"
    wor = results.frame
    replace = front(SCD_DESIGN, ["arrests", "alive"], deff="replace").frame
    np.testing.assert_allclose(wor["estimate"], R[f"{kind}_true"]["estimate"], rtol=1e-12)
    np.testing.assert_allclose(wor["se"], R[f"{kind}_true"]["se"], rtol=1e-8)
    assert wor["deff"].tolist() == R[f"{kind}_true"]["deff"] == [np.inf, np.inf]
    np.testing.assert_allclose(replace["deff"], R[f"{kind}_replace"]["deff"], rtol=1e-8)


def test_the_deff_option_on_the_command_line(tmp_path):
    sample = tmp_path / "scd.csv"
    SCD.to_csv(sample, index=False)
    outs = {}
    for option in ("wor", "replace"):
        outs[option] = tmp_path / f"{option}.csv"
        assert (
            _run(
                "estimate",
                str(sample),
                "--id",
                "alive",
                "--weight",
                "one",
                "--strata",
                "ESA",
                "--psu",
                "ambulance",
                "--fpc",
                "N",
                "--nest",
                "--mean",
                "arrests",
                "--deff",
                option,
                "--out",
                str(outs[option]),
            )
            == 0
        )
    assert pd.read_csv(outs["wor"])["deff"].iloc[0] == np.inf
    assert pd.read_csv(outs["replace"])["deff"].iloc[0] == pytest.approx(
        R["mean_replace"]["deff"][0], rel=1e-8
    )
    with pytest.raises(KalibError, match="deff must be True"):
        E.svymean(SCD_DESIGN, "arrests", deff="srs")


# -- ratios, quantiles ----------------------------------------------------------------


def test_a_ratio_over_a_zero_total_is_r_s_inf_flagged_undefined():
    f = E.svyratio(SCD_DESIGN, "alive", "zero").frame.iloc[0]
    assert f["estimate"] == np.inf == R["ratio_zero"]["estimate"]
    assert np.isnan(f["se"]) and np.isnan(R["ratio_zero"]["se"])
    assert np.isnan(f["ci_low"]) and np.isnan(f["deff"]) and f["flag"] == "undefined"
    f = E.svyratio(SCD_DESIGN, "zero", "zero").frame.iloc[0]
    assert np.isnan(f["estimate"]) and np.isnan(R["ratio_zero_zero"]["estimate"])
    assert f["flag"] == "undefined"
    # a domain with a zero total among others with a ratio
    data = SCD.assign(x=[0.0, 0.0, 1.0, 2.0, 3.0, 1.0])
    design = Design(data, weights="one", strata="ESA", psu="ambulance", fpc="N", nest=True)
    f = E.svyratio(design, "alive", "x", by=["ESA"]).frame
    assert f["flag"].tolist() == ["undefined", "suppress", "suppress"]
    assert np.isfinite(f["se"].iloc[1:]).all()


@pytest.mark.parametrize("p", [1.5, -0.5, np.nan, [0.5, 2.0]])
def test_a_quantile_probability_outside_zero_one_is_named(p):
    with pytest.raises(
        E.QuantileError,
        match=r"quantile probability (1\.5|-0\.5|nan|2\.0) "
        r"is not in \[0, 1\]",
    ):
        E.svyquantile(DESIGNS["dstrat"], "api00", p)


def test_quantile_probabilities_zero_and_one_are_allowed():
    f = E.svyquantile(DESIGNS["dstrat"], "api00", [0, 1])
    assert f["estimate"].iloc[1] == DESIGNS["dstrat"].data["api00"].max()


# -- command-line rows ----------------------------------------------------------------


@pytest.mark.parametrize(
    "options, words",
    [
        (
            ["--where", "api00 > 5000"],
            [
                "no row with both 'sch_wide' and 'stype' answered",
                "within --where 'api00 > 5000'",
            ],
        ),
        (["--by", "stype", "--where", "stype == E"], ["domain stype = H has no row"]),
    ],
)
def test_crosstab_of_no_rows_is_one_line(tmp_path, capsys, options, words):
    out = tmp_path / "t.csv"
    code = _run(
        "crosstab",
        APISTRAT,
        *STRAT,
        "--rows",
        "sch_wide",
        "--cols",
        "stype",
        *options,
        "--out",
        str(out),
    )
    _one_line_error(capsys, code, *words)
    assert not out.exists()


@pytest.mark.parametrize("quiet", [[], ["--quiet"]])
def test_a_model_term_left_with_one_level_is_an_error_before_writing(tmp_path, capsys, quiet):
    out = tmp_path / "m.csv"
    code = main(
        [
            "model",
            APISTRAT,
            *STRAT,
            "--formula",
            "api00 ~ ell + sch_wide",
            "--where",
            "sch_wide == Yes",
            "--out",
            str(out),
            *quiet,
        ]
    )
    _one_line_error(
        capsys,
        code,
        "the term 'sch_wide' cannot be estimated",
        "'sch_wide' has the one level 'Yes'",
    )
    assert not out.exists()


def test_messages_write_numbers_plainly():
    with pytest.raises(KalibError, match=r"confidence level must be in \(0, 1\), got nan$"):
        E.svymean(DESIGNS["dstrat"], "api00", level=np.float64(np.nan))
    with pytest.raises(E.QuantileError, match="quantile probability nan is not"):
        E.svyquantile(DESIGNS["dstrat"], "api00", np.float64(np.nan))
