"""Design-based GLMs against R survey's svyglm / regTermTest / svyby.

Reference values: tests/reference/model/svyglm_reference.json, written by
tests/reference/model/make_reference.R (R survey 4.1.1) from apistrat and
apiclus1: linearization on a stratified design with fpc, a one-stage cluster
design, a raked stratified design, a raked stratified cluster design, and a
raked JKn replicate design (replicate weights
exported from R); fits on domains (rows with missing values, subset=) with
R's degrees of freedom for each design type.
"""

import json

import numpy as np
import pandas as pd
import pytest
from repo_paths import REFERENCE

from estimators.model import ReplicateWeights, svyglm
from weighting.design import Design

REF = REFERENCE / "model"
REFERENCE = json.loads((REF / "svyglm_reference.json").read_text())
RTOL = 1e-7


def _margin(file):
    from weighting.margins import Margin

    table = pd.read_csv(REF / file, dtype=str)
    var = table.columns[0]
    return Margin(var, dict(zip(table[var], table["total"].astype(float))))


def _designs():
    strat = pd.read_csv(REF / "apistrat.csv")
    clus1 = pd.read_csv(REF / "apiclus1.csv")
    reps = pd.read_csv(REF / "jkn_calibrated_weights.csv")
    meta = json.loads((REF / "jkn_calibrated_weights.json").read_text())
    assert (reps["snum"] == strat["snum"]).all()
    return {
        "strat": lambda: Design(strat, weights="pw", strata="stype", fpc="fpc"),
        "clus1": lambda: Design(clus1, weights="pw", psu="dnum", fpc="fpc"),
        "strat_calibrated": lambda: Design(
            strat, weights="pw", strata="stype", fpc="fpc"
        ).calibrate(
            [_margin("margin_stype.csv"), _margin("margin_comp_imp.csv")],
            distance="raking",
            tol=1e-13,
        ),
        "stratclus_calibrated": lambda: Design(
            strat, weights="pw", strata="stype", psu="dnum", nest=True
        ).calibrate(
            [_margin("margin_stype.csv"), _margin("margin_comp_imp.csv")],
            distance="raking",
            tol=1e-13,
        ),
        "jkn_calibrated": lambda: ReplicateWeights(
            strat,
            reps["weight"].to_numpy(),
            reps.filter(like="rep_").to_numpy(),
            meta["scale"],
            np.asarray(meta["rscales"]),
            meta["mse"],
            meta["degf"],
            "JKn",
        ),
    }


DESIGNS = _designs()
_FITS = {}


def fitted(case):
    if case["name"] not in _FITS:
        design = DESIGNS[case["design"]]()
        subset = case.get("subset") or None  # R's subset= as a pandas expression
        if subset is not None:
            subset = pd.DataFrame(design.data).eval(subset).to_numpy()
        _FITS[case["name"]] = svyglm(case["formula"], design, case["family"], subset=subset)
    return _FITS[case["name"]]


@pytest.mark.parametrize("case", REFERENCE["models"], ids=lambda c: c["name"])
def test_coefficients_and_standard_errors_match_svyglm(case):
    fit = fitted(case)
    table = fit.tidy().set_index("term").loc[case["terms"]]
    np.testing.assert_allclose(table["estimate"], case["coef"], rtol=RTOL)
    np.testing.assert_allclose(table["se"], case["se"], rtol=RTOL)
    order = [fit.terms.index(t) for t in case["terms"]]
    np.testing.assert_allclose(
        fit.cov[np.ix_(order, order)],
        case["vcov"],
        rtol=RTOL,
        atol=1e-12 * np.max(np.abs(case["vcov"])),
    )
    assert fit.df == case["df"]
    np.testing.assert_allclose(table["ci_low"], case["ci_low"], rtol=RTOL)
    np.testing.assert_allclose(table["ci_high"], case["ci_high"], rtol=RTOL)
    # p-values far below machine epsilon relative to 1 lose relative accuracy.
    np.testing.assert_allclose(table["p"], case["p"], rtol=1e-6, atol=1e-300)


@pytest.mark.parametrize("case", REFERENCE["models"], ids=lambda c: c["name"])
def test_wald_term_tests_match_regTermTest(case):
    fit = fitted(case)
    for ref in case["term_tests"]:
        terms = ref["terms"] if isinstance(ref["terms"], list) else [ref["terms"]]
        test = fit.wald_test(terms)
        assert (test.df, test.ddf) == (ref["df"], ref["ddf"])
        np.testing.assert_allclose(test.F, ref["F"], rtol=RTOL)
        np.testing.assert_allclose(test.p, ref["p"], rtol=1e-6)


def test_odds_ratios_are_exponentiated_coefficients_and_intervals():
    case = next(c for c in REFERENCE["models"] if c["name"] == "strat_logistic")
    table = fitted(case).tidy()
    np.testing.assert_allclose(table["odds_ratio"], np.exp(table["estimate"]), rtol=1e-15)
    np.testing.assert_allclose(table["or_ci_low"], np.exp(table["ci_low"]), rtol=1e-15)
    np.testing.assert_allclose(table["or_ci_high"], np.exp(table["ci_high"]), rtol=1e-15)


def test_predictive_margins_match_svypredmeans_estimates():
    ref = REFERENCE["margins"]["adjusted"]
    fit = svyglm(ref["formula"], DESIGNS[ref["design"]](), "binomial")
    margins = fit.predicted_margins("stype").set_index("level").loc[ref["levels"]]
    np.testing.assert_allclose(margins["estimate"], ref["estimate"], rtol=RTOL)


@pytest.mark.parametrize("key", ["saturated_strat", "saturated_jkn_calibrated"])
def test_saturated_model_margins_equal_domain_proportions_of_svyby(key):
    ref = REFERENCE["margins"][key]
    fit = svyglm(ref["formula"], DESIGNS[ref["design"]](), "binomial")
    margins = fit.predicted_margins("stype").set_index("level").loc[ref["levels"]]
    np.testing.assert_allclose(margins["estimate"], ref["estimate"], rtol=RTOL)
    np.testing.assert_allclose(margins["se"], ref["se"], rtol=RTOL)
    # Contrasts with the reference level E: differences of the margins.
    np.testing.assert_allclose(
        margins["contrast"],
        np.asarray(ref["estimate"]) - ref["estimate"][0],
        rtol=1e-12,
        atol=1e-15,
    )
