"""svyciprop's six methods against R (survey 4.1.1), overall and by domain.

Reference: ``tests/reference/tests_intervals`` (``tests_intervals.R``, and
``ciprop_likelihood.R`` for the likelihood interval on a converged fit).
``logit`` and ``likelihood`` take R's estimate from a ``glm`` stopped at its
default tolerance, 1e-12 from the weighted mean, so their intervals are
compared at 1e-9. svyciprop's ``likelihood`` interval also takes its design
effect from the IRLS weights of glm's second-to-last iteration, which moves it
by up to 3e-6 relative: kalib equals R's algorithm run on a converged fit
(to 1e-10) and the default output to 5e-6. ``dclus2`` (two stages) waits
for multistage designs.
"""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference.tests_intervals.designs import DESIGNS, HERE, LINEARIZED, R

from estimators.inference import ci as cimod
from estimators.inference import estimate as E
from estimators.inference.likelihood_ci import likelihood_ci

CONVERGED = json.loads((HERE / "ciprop_likelihood.json").read_text())
EXACT = ("asin", "beta", "mean", "xlogit")
RTOL = {"logit": 1e-9, "likelihood": 5e-6, **{m: 1e-12 for m in EXACT}}


def prop(design, method, **kw):
    return E.svyprop(DESIGNS[design], "sch_wide", "Yes", ci=method, **kw).frame


def row(frame, i=0):
    return [frame["estimate"][i], frame["se"][i], frame["ci_low"][i], frame["ci_high"][i]]


@pytest.mark.parametrize("design", LINEARIZED)
@pytest.mark.parametrize("method", list(RTOL))
def test_overall_equals_r(design, method):
    ref = R["svyciprop"][design]["overall"][method]
    expected = [ref["estimate"], ref["se"], *ref["ci"].values()]
    np.testing.assert_allclose(row(prop(design, method)), expected, rtol=RTOL[method])


@pytest.mark.parametrize("design", LINEARIZED)
@pytest.mark.parametrize("method", list(RTOL))
def test_normal_quantiles_equal_r_s_df_inf(design, method):
    """``df = Inf``; R's beta interval ignores ``df`` (its effective n always
    uses ``degf(design)``), so beta keeps the design's df here."""
    f = prop(design, method)
    df = f["df"] if method == "beta" else np.inf
    low, high = cimod.proportion_ci(f["estimate"], f["se"], method=method, df=df, n=f["n"])
    ref = R["svyciprop"][design]["overall_dfInf"][method]["ci"]
    np.testing.assert_allclose([low[0], high[0]], list(ref.values()), rtol=RTOL[method])


@pytest.mark.parametrize("design", LINEARIZED)
@pytest.mark.parametrize("method", list(RTOL))
def test_by_domain_equals_r_svyby_and_subsets(design, method):
    f = prop(design, method, by=["stype"])
    f = f[f["domain_var"] == "stype"].reset_index(drop=True)
    table = list(R["svyciprop"][design]["by_stype"][method]["table"].values())
    assert list(f["domain"]) == table[0] == ["E", "H", "M"]
    got = np.array([row(f, i) for i in range(3)])
    np.testing.assert_allclose(got, np.array(table[1:]).T, rtol=RTOL[method])
    for i, s in enumerate("EHM"):
        ref = R["svyciprop"][design]["by_stype_subset"][method][s]
        np.testing.assert_allclose(
            got[i], [ref["estimate"], ref["se"], *ref["ci"].values()], rtol=RTOL[method]
        )
        assert f["df"][i] == R["svyciprop"][design]["degf_subset"][s]


@pytest.mark.parametrize("design", LINEARIZED)
@pytest.mark.parametrize(
    "case", ["overall", "overall_level90", "overall_dfInf", "subset_E", "subset_H", "subset_M"]
)
def test_likelihood_interval_is_r_s_algorithm_on_a_converged_fit(design, case):
    ref = CONVERGED[design][case]
    level = 0.90 if case == "overall_level90" else 0.95
    if case.startswith("subset"):
        f = prop(design, "likelihood", by=["stype"], level=level)
        f = f[f["domain"] == case[-1]].reset_index(drop=True)
    else:
        f = prop(design, "likelihood", level=level)
    p, low, high = f["estimate"][0], f["ci_low"][0], f["ci_high"][0]
    if case == "overall_dfInf":
        low, high = (
            v[()] for v in likelihood_ci(p, f["se"][0] / (p * (1 - p)), f["n"][0], np.inf)
        )
    np.testing.assert_allclose(
        [p, low, high], [ref["estimate"], ref["low"], ref["high"]], rtol=1e-10
    )


def test_likelihood_interval_on_replicates_uses_the_replicate_logit_se():
    """R gives NA (its replicate-GLM dispersion is n times the quasi-binomial
    one, so the profile never reaches the cutoff); kalib profiles with the
    replicate SE of logit(p): an interval about as wide as the logit one."""
    f = E.svyprop(DESIGNS["rclus1"], "sch_wide", "Yes", ci="likelihood").frame
    g = E.svyprop(DESIGNS["rclus1"], "sch_wide", "Yes", ci="logit").frame
    assert f["ci_low"][0] < f["estimate"][0] < f["ci_high"][0]
    ratio = (f["ci_high"][0] - f["ci_low"][0]) / (g["ci_high"][0] - g["ci_low"][0])
    assert 0.9 < ratio < 1.1


def test_asin_interval_is_cut_at_the_ends_where_r_folds_it_back():
    """A small p with a large SE: the angle's interval passes below 0, where
    R's sin^2 would give a positive lower end; kalib ends at 0."""
    low, high = cimod.asin_ci(0.01, 0.02, df=10)
    assert low == 0.0 and 0.01 < high < 1
    low, high = cimod.asin_ci(0.99, 0.02, df=10)
    assert high == 1.0 and 0 < low < 0.99
    np.testing.assert_array_equal(
        cimod.asin_ci(np.array([0.0, 1.0]), np.zeros(2)), ([0.0, 1.0], [0.0, 1.0])
    )


@settings(max_examples=80, deadline=None)
@given(
    p=st.floats(0.01, 0.99),
    deff=st.floats(0.3, 4.0),
    n=st.integers(5, 3000),
    df=st.sampled_from([3.0, 14.0, 200.0, np.inf]),
    level=st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_asin_and_likelihood_intervals_hold_p_within_0_1(p, deff, n, df, level):
    se = np.sqrt(deff * p * (1 - p) / n)
    for method in ("asin", "likelihood"):
        low, high = cimod.proportion_ci(p, se, method=method, df=df, level=level, n=n)
        low, high = float(low), float(high)
        if np.isnan(low) or np.isnan(high):
            # the profile is cut at nine steps: a cutoff beyond it has no end (R's NA)
            assert method == "likelihood"
            continue
        assert 0 <= low <= p <= high <= 1, method


@settings(max_examples=40, deadline=None)
@given(p=st.floats(0.05, 0.95), n=st.integers(30, 3000), df=st.sampled_from([14.0, np.inf]))
def test_likelihood_interval_narrows_with_the_level(p, n, df):
    se = np.sqrt(1.5 * p * (1 - p) / n)
    wide = cimod.proportion_ci(p, se, method="likelihood", df=df, level=0.99, n=n)
    narrow = cimod.proportion_ci(p, se, method="likelihood", df=df, level=0.8, n=n)
    assert wide[0] < narrow[0] < p < narrow[1] < wide[1]


def test_unknown_method_is_named():
    with pytest.raises(cimod.KalibError, match="unknown CI method 'profile'"):
        cimod.proportion_ci(0.5, 0.1, method="profile")


@pytest.mark.parametrize(
    "p,deff,n,df,level", [(0.875, 2.0, 5, 3.0, 0.9), (0.49194, 2.34686, 2115, 3.0, 0.99)]
)
def test_likelihood_interval_in_the_far_tails(p, deff, n, df, level):
    """A profile step beyond |logit| = 30 keeps a finite deviance (R's link
    clamps the odds at eps), and a cutoff probability of 1e-19 still gives a
    finite grid (the F(1, n-1) quantile taken as a t quantile)."""
    se = np.sqrt(deff * p * (1 - p) / n)
    low, high = cimod.proportion_ci(p, se, method="likelihood", df=df, level=level, n=n)
    assert 0 < low < p < high < 1


def test_approx_drops_missing_points_and_needs_two():
    from estimators.inference.rnumerics import approx

    np.testing.assert_allclose(approx([0.0, np.nan, 2.0], [0.0, 5.0, 4.0], [1.0]), [2.0])
    assert np.isnan(approx([0.0, np.nan], [0.0, 1.0], [0.0])).all()
