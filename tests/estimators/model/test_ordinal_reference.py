"""Design-based proportional-odds models against R survey's svyolr.

Reference values: tests/reference/ordinal/ordinal_reference.json, written by
tests/reference/ordinal/ordinal.R (R survey 4.1.1, MASS 7.3-58): a stratified
design with fpc, the same raked on two and on three margins (linearization
after calibration), JKn replicate designs (plain, re-raked per replicate,
and replicates of the raked design not re-raked), a probit fit, and apistrat.
R solved every fit to 2e-11 of the root of the weighted score; the standard
errors compared are R's sandwich with the exact Hessian (``se_exact_hessian``;
R's default ``vcov`` uses optim's finite-difference Hessian, see
``estimators.model.ordinal``) and, on replicate designs, those of fully
converged replicate fits. Wald tests of terms: ordinal_wald_reference.json,
written by ordinal_wald.R (R's regTermTest on the same fits).
"""

import json

import numpy as np
import pandas as pd
import pytest
from repo_paths import REFERENCE

from estimators.model import ReplicateWeights
from estimators.model.ordinal import svyolr
from weighting.design import Design
from weighting.margins import Margin

REF = REFERENCE / "ordinal"
R = json.loads((REF / "ordinal_reference.json").read_text())
META = json.loads((REF / "ordinal_jkn_repweights.json").read_text())
FORMULA = "z ~ sector + size + trainee"
API_FORMULA = "api_cls ~ stype + ell"
# R's root is within 2e-11 of the exact one and kalib's within rounding;
# apistrat's small coefficients make that 1.2e-10 relative.
RTOL_COEF = 1e-9
RTOL_SE = 1e-9


def _establishments():
    data = pd.read_csv(REF / "ordinal_establishments.csv")
    # R's script gives size the levels small < medium < large (patsy would sort them).
    data["size"] = pd.Categorical(data["size"], ["small", "medium", "large"])
    return data


def _margin(variable):
    table = pd.read_csv(REF / f"ordinal_margin_{variable}.csv", dtype=str)
    return Margin(variable, dict(zip(table[variable], table["Freq"].astype(float))))


def _stratified():
    return Design(_establishments(), weights="basew", strata="stratum", fpc="N_h")


def _raked(*variables):
    return _stratified().calibrate([_margin(v) for v in variables], distance="raking", tol=1e-13)


def _apistrat():
    return Design(
        pd.read_csv(REF / "ordinal_apistrat.csv"), weights="pw", strata="stype", fpc="fpc"
    )


def _replicate_file(stem):
    reps = pd.read_csv(REF / f"{stem}.csv.gz")
    meta = META[stem]
    return ReplicateWeights(
        _establishments(),
        reps["weight"].to_numpy(),
        reps.filter(like="rep_").to_numpy(),
        meta["scale"],
        np.asarray(meta["rscales"]),
        meta["mse"],
        meta["degf"],
        "JKn",
    )


LINEARIZED = {
    "a_strat_logistic": lambda: svyolr(FORMULA, _stratified()),
    "b_raked_logistic": lambda: svyolr(FORMULA, _raked("sector", "size")),
    "b3_raked_with_trainee_logistic": lambda: svyolr(FORMULA, _raked("sector", "size", "trainee")),
    "d_strat_probit": lambda: svyolr(FORMULA, _stratified(), "probit"),
    "e_apistrat_logistic": lambda: svyolr(API_FORMULA, _apistrat(), "logistic"),
    "e_apistrat_probit": lambda: svyolr(API_FORMULA, _apistrat(), "probit"),
}
REPLICATED = {
    # replicate weights exported from R
    "c0_jkn_logistic": lambda: svyolr(FORMULA, _replicate_file("ordinal_jkn_repweights")),
    "c1_jkn_reraked_logistic": lambda: svyolr(
        FORMULA, _replicate_file("ordinal_jkn_reraked_repweights")
    ),
    "c2_jkn_of_raked_logistic": lambda: svyolr(
        FORMULA, _replicate_file("ordinal_jkn_of_raked_repweights")
    ),
    "c3_jkn_reraked3_logistic": lambda: svyolr(
        FORMULA, _replicate_file("ordinal_jkn_reraked3_repweights")
    ),
    "c4_jkn_of_raked3_logistic": lambda: svyolr(
        FORMULA, _replicate_file("ordinal_jkn_of_raked3_repweights")
    ),
    # kalib's own JKn replicates (each re-raked when the design is raked)
    "e_apistrat_jkn_logistic": lambda: svyolr(API_FORMULA, _apistrat().with_replicates("jkn")),
}
MADE_HERE = {
    "c0_jkn_logistic": lambda: svyolr(FORMULA, _stratified().with_replicates("jkn")),
    "c1_jkn_reraked_logistic": lambda: svyolr(
        FORMULA, _raked("sector", "size").with_replicates("jkn")
    ),
    "c3_jkn_reraked3_logistic": lambda: svyolr(
        FORMULA, _raked("sector", "size", "trainee").with_replicates("jkn")
    ),
}
_FITS = {}


def fitted(name, table=None):
    table = table or {**LINEARIZED, **REPLICATED}
    key = (name, id(table))
    if key not in _FITS:
        _FITS[key] = table[name]()
    return _FITS[key]


def _values(mapping):
    return list(mapping), np.array(list(mapping.values()), dtype=float)


def _check_coefficients(fit, case):
    names, coef = _values(case["coef_all"])
    assert fit.terms == [
        n.replace("sectorpublic", "sector[T.public]")
        .replace("sizemedium", "size[T.medium]")
        .replace("sizelarge", "size[T.large]")
        .replace("stypeH", "stype[T.H]")
        .replace("stypeM", "stype[T.M]")
        for n in names
    ]
    np.testing.assert_allclose(fit.params, coef, rtol=RTOL_COEF, atol=1e-13)


@pytest.mark.parametrize("name", list(LINEARIZED))
def test_linearized_fit_matches_svyolr(name):
    fit, case = fitted(name), R[name]
    _check_coefficients(fit, case)
    _, se = _values(case["se_exact_hessian"])
    np.testing.assert_allclose(fit.bse, se, rtol=RTOL_SE)
    vcov = np.array(case["vcov_exact_hessian"]["matrix"])
    np.testing.assert_allclose(fit.cov, vcov, rtol=RTOL_SE, atol=1e-12 * np.abs(vcov).max())
    assert fit.df == case["df_residual"]
    assert fit.weight_total == pytest.approx(case["n"], rel=1e-12)
    assert fit.loglik == pytest.approx(case["weighted_loglik"], rel=1e-12)
    assert fit.deviance == pytest.approx(case["deviance"], rel=1e-12)
    np.testing.assert_allclose(fit.thresholds, list(case["zeta"].values()), rtol=RTOL_COEF)
    assert list(fit.thresholds.index) == list(case["zeta"])


@pytest.mark.parametrize("name", list(LINEARIZED))
def test_se_within_what_r_default_vcov_can_tell(name):
    # R's own vcov (finite-difference Hessian) is 2e-7 (1.3e-4 on apistrat's
    # wide-ranging ell) from the exact sandwich; with ndeps = 1e-6, 1e-10.
    fit, case = fitted(name), R[name]
    _, se_default = _values(case["se"])
    _, se_fine = _values(case["se_ndeps_1e6"])
    np.testing.assert_allclose(fit.bse, se_default, rtol=2e-4 if "apistrat" in name else 1e-6)
    np.testing.assert_allclose(fit.bse, se_fine, rtol=1e-8)


@pytest.mark.parametrize("name", list(REPLICATED))
def test_replicate_fit_matches_converged_svyolr_replicates(name):
    fit, case = fitted(name), R[name]
    _check_coefficients(fit, case)
    # kalib's own JKn (apistrat) numbers the replicates in another order than R
    ours, theirs = fit.replicate_params, np.array(case["replicate_coefficients"])
    np.testing.assert_allclose(
        ours[np.lexsort(ours.T)], theirs[np.lexsort(theirs.T)], rtol=1e-9, atol=1e-12
    )
    _, se = _values(case["se"])
    np.testing.assert_allclose(fit.bse, se, rtol=RTOL_SE)
    np.testing.assert_allclose(
        fit.cov, np.array(case["vcov"]["matrix"]), rtol=RTOL_SE, atol=1e-12 * np.max(se) ** 2
    )
    assert fit.df == case["design"]["df_residual"]


@pytest.mark.parametrize("name", list(MADE_HERE))
def test_replicates_made_and_re_raked_by_kalib(name):
    # as.svrepdesign(type = "JKn") (|> calibrate(raking)): kalib's own JKn,
    # re-raked per replicate, gives R's replicate standard errors.
    fit, case = fitted(name, MADE_HERE), R[name]
    _check_coefficients(fit, case)
    _, se = _values(case["se"])
    np.testing.assert_allclose(fit.bse, se, rtol=RTOL_SE)


@pytest.mark.parametrize("name", ["a_strat_logistic", "b_raked_logistic", "d_strat_probit"])
def test_predicted_probabilities_match_predict_polr(name):
    fit, case = fitted(name), R[name]["predict"]
    probs = fit.predict_proba(pd.DataFrame(case["newdata"]))
    assert list(probs.columns) == case["columns"]
    np.testing.assert_allclose(probs.to_numpy(), np.array(case["probs"]), rtol=1e-9, atol=1e-13)


@pytest.mark.parametrize(
    "name, file, data",
    [
        ("a_strat_logistic", "ordinal_a_fitted.csv", _establishments),
        ("d_strat_probit", "ordinal_d_fitted.csv", _establishments),
        (
            "e_apistrat_logistic",
            "ordinal_e_fitted.csv",
            lambda: pd.read_csv(REF / "ordinal_apistrat.csv"),
        ),
    ],
)
def test_in_sample_probabilities_match_fitted_values(name, file, data):
    expected = pd.read_csv(REF / file).filter(regex="^p").to_numpy()
    np.testing.assert_allclose(
        fitted(name).predict_proba(data()).to_numpy(), expected, rtol=1e-9, atol=1e-13
    )


def test_raked_weights_are_r_calibrate_weights():
    # the linearization after calibration above rests on the same weights
    weights = pd.read_csv(REF / "ordinal_raked_weights.csv")
    np.testing.assert_allclose(_raked("sector", "size").weights, weights["w_raked"], rtol=1e-12)
    np.testing.assert_allclose(
        _raked("sector", "size", "trainee").weights, weights["w_raked3"], rtol=1e-12
    )


WALD = json.loads((REF / "ordinal_wald_reference.json").read_text())


@pytest.mark.parametrize(
    "name, terms",
    [
        (name, terms)
        for name in ("a_strat_logistic", "b_raked_logistic", "e_apistrat_probit")
        for terms in WALD[name]
    ],
)
def test_wald_tests_match_regtermtest(name, terms):
    # written by ordinal_wald.R: regTermTest(fit, ~terms) uses R's vcov (a
    # finite-difference Hessian, 2e-7 from the exact one; 1e-4 on apistrat),
    # F_exact_hessian the same F with the exact-Hessian sandwich.
    case = WALD[name][terms]
    parts = [case["terms"]] if isinstance(case["terms"], str) else case["terms"]
    test = fitted(name).wald_test(parts)
    assert (test.df, test.ddf) == (case["df"], case["ddf"])
    # (R's root is 2e-11 from the exact one: F agrees to ~6e-9)
    assert test.F == pytest.approx(case["F_exact_hessian"], rel=2e-8)
    assert test.p == pytest.approx(case["p_exact_hessian"], rel=2e-7)
    assert test.F == pytest.approx(case["F_regTermTest"], rel=5e-4 if "apistrat" in name else 1e-6)
