"""Confidence intervals against R survey's svyciprop and statsmodels' Wilson."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference.estimators.refvalues import load
from statsmodels.stats.proportion import proportion_confint

from estimators.inference import ci
from weighting.errors import KalibError

R = load("apistrat")
N = 200  # rows of apistrat
RTOL = 1e-8


@pytest.mark.parametrize("kind", ["lin", "jkn"])
@pytest.mark.parametrize("var", ["sch_wide", "high"])
@pytest.mark.parametrize("method", ["beta", "mean", "xlogit"])
def test_whole_sample_matches_svyciprop(kind, var, method):
    if var == "sch_wide":
        p, se = R[f"{kind}.dist_sch_wide"][1], R[f"{kind}.dist_sch_wide_se"][1]
    else:
        p, se = R[f"{kind}.mean_high"][0], R[f"{kind}.mean_high_se"][0]
    low, high = ci.proportion_ci(p, se, method=method, df=R[f"{kind}.degf"][0], n=N)
    ref = R[f"{kind}.ciprop_{var}_{method}"]
    np.testing.assert_allclose([low, high], ref[1:], rtol=RTOL)


@pytest.mark.parametrize("var", ["sch_wide", "high"])
def test_logit_linearised_matches_svyciprop(var):
    # svyglm's logit fit stops at glm's tolerance (about 5e-10 relative here).
    if var == "sch_wide":
        p, se = R["lin.dist_sch_wide"][1], R["lin.dist_sch_wide_se"][1]
    else:
        p, se = R["lin.mean_high"][0], R["lin.mean_high_se"][0]
    low, high = ci.proportion_ci(p, se, method="logit", df=R["lin.degf"][0])
    np.testing.assert_allclose([low, high], R[f"lin.ciprop_{var}_logit"][1:], rtol=RTOL)


@pytest.mark.parametrize("method", ["logit", "beta", "mean", "xlogit"])
def test_domain_intervals_match_svyby_svyciprop(method):
    ref = R[f"lin.by_comp_imp_ciprop_{method}"]
    p, se, low_r, high_r, n = ref[0:2], ref[2:4], ref[4:6], ref[6:8], ref[8:10]
    df = R["lin.by_comp_imp_degf"]
    low, high = ci.proportion_ci(p, se, method=method, df=df, n=n)
    np.testing.assert_allclose(low, low_r, rtol=RTOL)
    np.testing.assert_allclose(high, high_r, rtol=RTOL)


@settings(max_examples=60, deadline=None)
@given(
    p=st.floats(0.01, 0.99),
    n=st.integers(5, 5000),
    deff=st.floats(0.3, 4.0),
    df=st.integers(2, 400),
    level=st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_wilson_is_statsmodels_at_effective_n(p, n, deff, df, level):
    se = np.sqrt(p * (1 - p) / n * deff)
    low, high = ci.proportion_ci(p, se, method="wilson", df=df, n=n, level=level)
    n_star = ci.effective_n(p, se, n, df, level)
    ref = proportion_confint(p * n_star, n_star, alpha=1 - level, method="wilson")
    np.testing.assert_allclose([low, high], ref, rtol=1e-10)
    assert low < p < high


@settings(max_examples=60, deadline=None)
@given(p=st.floats(0.02, 0.98), n=st.integers(30, 3000), df=st.integers(5, 500))
def test_intervals_contain_estimate_and_nest_in_level(p, n, df):
    se = np.sqrt(p * (1 - p) / n)
    for method in ("logit", "beta", "xlogit", "wilson", "wald"):
        lo90, hi90 = ci.proportion_ci(p, se, method=method, df=df, n=n, level=0.90)
        lo95, hi95 = ci.proportion_ci(p, se, method=method, df=df, n=n, level=0.95)
        assert lo95 <= lo90 <= p <= hi90 <= hi95, method


def test_beta_is_clopper_pearson_for_srs_with_infinite_df():
    # Korn-Graubard reduces to the exact binomial interval when deff = 1 and
    # the df factor is 1 (n - 1 = df).
    n, x = 50, 7
    p = x / n
    se = np.sqrt(p * (1 - p) / n)
    low, high = ci.proportion_ci(p, se, method="beta", df=n - 1, n=n)
    ref = proportion_confint(x, n, alpha=0.05, method="beta")
    np.testing.assert_allclose([low, high], ref, rtol=1e-10)


def test_percentile_uses_replicate_quantiles():
    reps = np.linspace(0.1, 0.3, 1001)
    low, high = ci.proportion_ci(0.2, 0.05, method="percentile", replicates=reps)
    assert low == pytest.approx(0.105) and high == pytest.approx(0.295)


def test_errors_name_the_problem():
    with pytest.raises(KalibError, match="unknown CI method 'exact'"):
        ci.proportion_ci(0.5, 0.1, method="exact")
    with pytest.raises(KalibError, match="percentile needs bootstrap replicates"):
        ci.proportion_ci(0.5, 0.1, method="percentile")
    with pytest.raises(KalibError, match="level must be in"):
        ci.proportion_ci(0.5, 0.1, level=95)
    assert ci.canonical_method("korn-graubard") == "beta"
