"""svyttest and svyvar against R survey 4.1.1 (tests/reference/contrasts)."""

import numpy as np
import pandas as pd
import pytest
from reference.contrasts.designs import DESIGNS, REF
from scipy import stats

from estimators.inference.contrast import estimates, svycontrast
from estimators.inference.domains import Equals
from estimators.inference.moments import svyvar
from estimators.inference.ttest import TTEST_COLUMNS, TTestError, svyttest
from weighting.design import Design
from weighting.errors import KalibError

RTOL = 1e-8
NAMES = list(DESIGNS)
REF_DATA = DESIGNS["apistrat"].data


@pytest.mark.parametrize("design", NAMES)
@pytest.mark.parametrize(
    "key, formula",
    [("ttest_api00_schwide", "api00 ~ sch_wide"), ("ttest_enroll_compimp", "enroll ~ comp_imp")],
)
def test_ttest_matches_r(design, key, formula):
    R = REF[design][key]
    t = svyttest(DESIGNS[design], formula)
    assert t.df == R["df"] == REF[design]["degf"] - 1
    assert (t.first, t.second) == ("No", "Yes")
    np.testing.assert_allclose(
        [t.estimate, t.statistic, t.p_value, *t.conf_int],
        [R["estimate"], R["statistic"], R["p_value"], *R["conf_int"]],
        rtol=RTOL,
    )
    assert t.level == R["conf_level"] and t.method == R["method"]
    frame = t.frame()
    assert list(frame.columns) == TTEST_COLUMNS and frame["se"][0] == t.se


def test_ttest_spellings_agree():
    d = DESIGNS["apistrat"]
    a = svyttest(d, "api00 ~ sch_wide")
    b = svyttest(d, "api00", group="sch_wide")
    assert a == b


def test_one_sample_ttest_is_the_mean_on_degf_minus_one():
    d = DESIGNS["apiclus1_calibrated"]
    t = svyttest(d, "api00 ~ 0")
    m = estimates(d, "api00")
    assert t.df == d.degf - 1 and t.group is None
    np.testing.assert_allclose([t.estimate, t.se], [m.coef[0], m.se[0]], rtol=1e-14)
    np.testing.assert_allclose(t.p_value, 2 * stats.t.sf(abs(t.statistic), d.degf - 1), rtol=1e-12)
    assert svyttest(d, "api00 ~ 1") == t


def test_ttest_on_a_subpopulation_drops_nothing_from_the_design():
    """A where-condition is a domain: the difference is that of the two domain
    means within it, with the df of the rows in it."""
    d = DESIGNS["apistrat"]
    t = svyttest(d, "api00 ~ sch_wide", where=Equals("stype", "E"))
    b = estimates(d, "api00", by="stype*sch_wide")
    c = svycontrast(b, {"E*Yes": 1, "E*No": -1})
    np.testing.assert_allclose([t.estimate, t.se], [c.coef[0], c.se[0]], rtol=1e-12)
    # R: degf(subset(D, stype == "E")) = 100 PSUs - 1 stratum = 99; df.residual 98
    assert t.df == 98


@pytest.mark.parametrize(
    "formula, message",
    [
        ("api00 ~ stype", "group 'stype' has 3 categories"),
        ("api00 ~ sch_wide + stype", "is not 'y ~ group'"),
        ("~ sch_wide", "is not 'y ~ group'"),
    ],
)
def test_ttest_errors_are_named(formula, message):
    with pytest.raises(TTestError, match=message):
        svyttest(DESIGNS["apistrat"], formula)


def test_ttest_group_in_two_places_is_refused():
    with pytest.raises(TTestError, match="not both"):
        svyttest(DESIGNS["apistrat"], "api00 ~ sch_wide", group="comp_imp")


def test_ttest_leaves_out_rows_with_missing_values():
    data = REF_DATA.copy()
    data.loc[:9, "api00"] = np.nan
    data.loc[10:14, "sch_wide"] = None
    d = Design(data, weights="pw", strata="stype", fpc="fpc")
    kept = Design(data.iloc[15:].reset_index(drop=True), weights="pw", strata="stype", fpc="fpc")
    a, b = svyttest(d, "api00 ~ sch_wide"), svyttest(kept, "api00 ~ sch_wide")
    # the same domain means; the df of the rows in the fit (R's svyglm); the SEs
    # differ, the full design keeping the dropped rows' PSUs in n_h
    np.testing.assert_allclose(a.estimate, b.estimate, rtol=1e-12)
    assert a.df == b.df == 200 - 15 - 3 - 1


# -- svyvar -------------------------------------------------------------------------


@pytest.mark.parametrize("design", NAMES)
def test_svyvar_matches_r(design):
    R = REF[design]["svyvar_api00_enroll"]
    v = svyvar(DESIGNS[design], ["api00", "enroll"])
    np.testing.assert_allclose(v.matrix.to_numpy(), R["matrix"]["matrix"], rtol=RTOL)
    np.testing.assert_allclose(v.estimates.vcov, R["vcov"], rtol=RTOL)
    np.testing.assert_allclose(v.se.to_numpy(), R["se_matrix"], rtol=RTOL)
    assert v.estimates.names == (
        "var(api00)",
        "cov(enroll,api00)",
        "cov(api00,enroll)",
        "var(enroll)",
    )
    assert list(v.matrix.index) == ["api00", "enroll"]


@pytest.mark.parametrize("design", NAMES)
def test_sd_is_the_square_root_by_the_delta_method(design):
    v = svyvar(DESIGNS[design], ["api00", "enroll"])
    sd = v.sd()
    var = v.matrix.to_numpy().diagonal()
    np.testing.assert_allclose(sd.coef, np.sqrt(var), rtol=1e-14)
    same = svycontrast(v, {"sd(api00)": "sqrt(`var(api00)`)"})
    np.testing.assert_allclose([same.coef[0], same.se[0]], [sd.coef[0], sd.se[0]], rtol=1e-14)
    if design != "apistrat_jkn":  # replicates: sqrt recomputed in every replicate
        np.testing.assert_allclose(
            sd.se, v.se.to_numpy().diagonal() / (2 * np.sqrt(var)), rtol=1e-12
        )


def test_svyvar_of_one_variable_is_the_n_minus_one_variance():
    """Equal weights, no design: the ordinary sample variance (divisor n - 1)."""
    rng = np.random.default_rng(3)
    x = rng.normal(10, 2, 50)
    d = Design(pd.DataFrame({"x": x}), weights=np.full(50, 7.0))
    v = svyvar(d, "x")
    np.testing.assert_allclose(v.matrix.iloc[0, 0], np.var(x, ddof=1), rtol=1e-12)


def test_svyvar_needs_two_rows_and_distinct_variables():
    d = DESIGNS["apistrat"]
    with pytest.raises(KalibError, match="at least 2 rows"):
        svyvar(d, "api00", where=Equals("snum", "2077"))
    with pytest.raises(KalibError, match="distinct variables"):
        svyvar(d, ["api00", "api00"])
