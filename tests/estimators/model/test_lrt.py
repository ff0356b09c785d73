"""regTermTest's Wald, working Wald and working-likelihood (LRT) tests against R.

Reference: ``tests/reference/tests_intervals`` (R 4.2.2, survey 4.1.1; the
models fitted with ``glm.control(epsilon = 1e-13)``). ``dclus2`` (two-stage)
needs multistage designs and is left out.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference.tests_intervals.designs import DESIGNS, R
from scipy import stats

from estimators.inference.chisqsum import pchisqsum, pfsum, satterthwaite
from estimators.model import ModelError, svyglm
from estimators.model.families import get_family
from estimators.model.lrt import WorkingTest, deviance
from weighting.errors import KalibError

MODELS = {
    "bin_strat": ("I(sch_wide == 'Yes') ~ ell + meals + mobility", "binomial"),
    "gauss_strat": ("api00 ~ ell + meals + mobility", "gaussian"),
}
TERMS = {"ell_meals": ["ell", "meals"], "mobility": "mobility"}
VARIANTS = list(R["regTermTest"]["bin_strat"]["tests"]["mobility"])
# The coefficients' covariance of the logistic model agrees with R to 1e-10 (an
# iterative fit, R converged to 1e-13): its p-values move by about 1e-9.
RTOL = {"bin_strat": 1e-8, "gauss_strat": 1e-10}
FITS = {}


def fit(name):
    if name not in FITS:
        formula, family = MODELS[name]
        FITS[name] = svyglm(formula, DESIGNS["dstrat"], family=family)
    return FITS[name]


def run(name, term, variant):
    method = variant.split("_")[0]
    approximation = "saddlepoint" if "saddlepoint" in variant else "satterthwaite"
    df = np.inf if variant.endswith("dfInf") else None
    return fit(name).wald_test(TERMS[term], method=method, lrt_approximation=approximation, df=df)


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("term", list(TERMS))
@pytest.mark.parametrize("variant", VARIANTS)
def test_regtermtest_equals_r(name, term, variant):
    ref = R["regTermTest"][name]["tests"][term][variant]
    t = run(name, term, variant)
    rtol = RTOL[name]
    assert t.df == ref["df"]
    if variant.startswith("Wald"):
        if variant == "Wald":
            np.testing.assert_allclose(t.F, ref["Ftest"], rtol=rtol)
            assert t.ddf == ref["ddf"]
        else:
            np.testing.assert_allclose(t.F * t.df, ref["chisq"], rtol=rtol)
    else:
        assert isinstance(t, WorkingTest)
        np.testing.assert_allclose(t.chisq, ref["chisq"], rtol=rtol)
        np.testing.assert_allclose(t.lambdas, ref["lambda"], rtol=rtol)
        assert t.ddf == ref["ddf"]
    np.testing.assert_allclose(t.p, ref["p"], rtol=rtol)


def test_the_models_are_r_s():
    for name in MODELS:
        np.testing.assert_allclose(
            fit(name).params, list(R["regTermTest"][name]["coef"].values()), rtol=1e-12
        )


@pytest.mark.parametrize("name", list(MODELS))
def test_deviance_is_r_s(name):
    f = fit(name)
    w = np.asarray(f.design.weights)[f.frame.used]
    mu = f.family.inverse_link(f.frame.X @ f.params)
    np.testing.assert_allclose(
        deviance(f.family, f.frame.y, mu, w / w.mean()),
        R["regTermTest"][name]["deviance"],
        rtol=1e-12,
    )


def test_pchisqsum_from_r_s_statistics_and_lambdas():
    """The tail probabilities alone, from R's own chisq and lambdas: equal to
    rounding (zeroin follows R's uniroot step by step), well inside the
    1e-8 tolerance of the saddlepoint root."""
    for model in R["regTermTest"].values():
        for tests in model["tests"].values():
            for variant, ref in tests.items():
                if "lambda" not in ref:
                    continue
                method = "saddlepoint" if "saddlepoint" in variant else "satterthwaite"
                ddf = np.inf if ref["ddf"] is None else ref["ddf"]
                p = pfsum(ref["chisq"], ref["lambda"], ddf, method)
                assert p == pytest.approx(ref["p"], rel=1e-12, abs=0), variant


@settings(max_examples=60, deadline=None)
@given(
    k=st.integers(1, 6),
    a=st.floats(0.2, 5.0),
    x=st.floats(0.5, 40.0),
    ddf=st.sampled_from([np.inf, 7.0, 40.0]),
)
def test_equal_weights_are_a_scaled_chisq_or_f(k, a, x, ddf):
    """With k equal weights ``a`` the sum is ``a chi2_k`` exactly: Satterthwaite
    is exact; the saddlepoint approximation's relative error is at most 12 %
    for one chi-square and shrinks with k (measured on a grid: 5.7 % for k = 2,
    1.4 % for k = 6; Lugannani–Rice)."""
    lam = np.full(k, a)
    exact = stats.chi2.sf(x / a, k) if ddf == np.inf else stats.f.sf(x / (a * k), k, ddf)
    assert pfsum(x, lam, ddf, "satterthwaite") == pytest.approx(exact, rel=1e-12)
    if exact > 1e-6:
        assert pfsum(x, lam, ddf, "saddlepoint") == pytest.approx(exact, rel=0.13 / k**0.75)
    assert satterthwaite(lam) == pytest.approx((a, k))


@settings(max_examples=60, deadline=None)
@given(lam=st.lists(st.floats(0.1, 10.0), min_size=1, max_size=5), x=st.floats(0.1, 50.0))
def test_tail_probability_is_a_probability_decreasing_in_x(lam, x):
    for method in ("saddlepoint", "satterthwaite"):
        p1, p2 = pchisqsum(x, lam, method), pchisqsum(1.5 * x, lam, method)
        assert 0 <= p2 <= p1 <= 1


def test_linear_model_lrt_is_the_working_wald_statistic():
    """For a linear model the drop in the weighted residual sum of squares is
    exactly ``b' V0^{-1} b`` (Frisch–Waugh), so LRT and WorkingWald agree."""
    lrt = fit("gauss_strat").wald_test("mobility", method="LRT")
    ww = fit("gauss_strat").wald_test("mobility", method="WorkingWald")
    assert lrt.chisq == pytest.approx(ww.chisq, rel=1e-9)
    assert lrt.p == pytest.approx(ww.p, rel=1e-9)
    assert "Working (Rao-Scott) LRT for mobility" in str(lrt)


def test_bad_method_and_approximation_are_named():
    with pytest.raises(ModelError, match="unknown test method 'lrt'"):
        fit("gauss_strat").wald_test("mobility", method="lrt")
    with pytest.raises(KalibError, match="unknown approximation 'integration'"):
        fit("gauss_strat").wald_test("mobility", method="LRT", lrt_approximation="integration")


def test_gaussian_deviance_is_the_weighted_residual_sum_of_squares():
    y, mu, w = np.array([1.0, 2.0, 4.0]), np.array([1.5, 2.0, 3.0]), np.array([1.0, 2.0, 3.0])
    assert deviance(get_family("gaussian"), y, mu, w) == pytest.approx(0.25 + 3.0)
