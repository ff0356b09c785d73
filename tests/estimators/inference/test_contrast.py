"""svycontrast against R survey 4.1.1 (tests/reference/contrasts), its
properties, its errors, and domain differences."""

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference.contrasts.designs import DESIGNS, REF, REPLICATE, STRAT
from reference.estimators.apistrat_designs import DESIGNS as AWARDS_DESIGNS
from reference.estimators.apistrat_designs import R as AWARDS_R

from estimators.inference import estimate as E
from estimators.inference.contrast import (
    DIFFERENCE_COLUMNS,
    ContrastError,
    ContrastShapeError,
    Estimates,
    ExpressionError,
    UnknownEstimateError,
    domain_difference,
    estimates,
    svycontrast,
)
from estimators.model import svyglm

RTOL = 1e-8
NAMES = list(DESIGNS)
DIFFERENCES = {"EvH": [1, -1, 0], "EvM": [1, 0, -1], "HvM": [0, 1, -1]}


def assert_matches(est, ref, names=None):
    """Coefficients, SEs and the covariance of ``est`` equal R's ``ref``
    (``names``: R's names of kalib's estimates, in kalib's order)."""
    names = list(est.names) if names is None else names
    np.testing.assert_allclose(est.coef, [ref["coef"][n] for n in names], rtol=RTOL)
    np.testing.assert_allclose(est.se, [ref["se"][n] for n in names], rtol=RTOL)
    order = [ref["vcov"]["names"].index(n) for n in names] if len(names) > 1 else [0]
    V = np.atleast_2d(np.array(ref["vcov"]["matrix"], dtype=float))[np.ix_(order, order)]
    np.testing.assert_allclose(est.vcov, V, rtol=RTOL, atol=RTOL * np.abs(V).max())


def log_odds_ratio(a, b, name):
    return f"log({name(a, 'Yes')}/{name(a, 'No')}) - log({name(b, 'Yes')}/{name(b, 'No')})"


def lor_contrasts(name):
    return {
        f"{a}v{b}": log_odds_ratio(a, b, name) for a, b in (("E", "H"), ("E", "M"), ("H", "M"))
    }


# -- svymean(~api00 + api99) and its contrasts ------------------------------------------


@pytest.mark.parametrize("design", NAMES)
def test_means_and_their_contrasts(design):
    d, R = DESIGNS[design], REF[design]
    m = estimates(d, ["api00", "api99"])
    assert m.df == R["degf"] == d.degf
    assert_matches(m, R["svymean_api00_api99"])
    assert_matches(svycontrast(m, {"api00": 1, "api99": -1}), R["mean_difference"])
    # on JKn R's ratio is replicate-based (return.replicates = TRUE), as kalib's default
    assert_matches(svycontrast(m, "api00/api99"), R["mean_ratio"])
    assert_matches(svycontrast(m, "log(api00) - log(api99)"), R["mean_log_ratio"])
    assert_matches(
        svycontrast(m, {"diff": {"api00": 1, "api99": -1}, "avg": [0.5, 0.5]}),
        R["mean_two_contrasts"],
    )


def test_replicate_and_delta_method_ratios_differ_as_in_r():
    m = estimates(DESIGNS["apistrat_jkn"], ["api00", "api99"])
    R = REF["apistrat_jkn"]
    assert_matches(
        svycontrast(m, "api00 / api99", use_replicates=False), R["mean_ratio_delta_method"]
    )
    assert not np.isclose(
        R["mean_ratio"]["se"]["contrast"],
        R["mean_ratio_delta_method"]["se"]["contrast"],
        rtol=1e-6,
    )


def test_linear_contrasts_with_replicates_equal_l_v_lt():
    """R errors on a linear contrast of a statistic with replicates (bug 2 of
    the README); kalib's replicate route equals R's L V L' route."""
    assert "non-conformable" in REF["apistrat_jkn"]["linear_contrast_with_replicates_error"]
    m = estimates(DESIGNS["apistrat_jkn"], ["api00", "api99"])
    L = np.array([[1.0, -1.0], [0.5, 0.5]])
    by_replicates = svycontrast(m, L)
    np.testing.assert_allclose(by_replicates.vcov, L @ m.vcov @ L.T, rtol=1e-12)
    np.testing.assert_allclose(
        svycontrast(m, L, use_replicates=False).vcov, by_replicates.vcov, rtol=1e-12
    )
    assert by_replicates.names == ("contrast1", "contrast2")


# -- domain means (svyby) ----------------------------------------------------------------


@pytest.mark.parametrize("design", NAMES)
def test_domain_means_and_their_contrasts(design):
    d, R = DESIGNS[design], REF[design]
    b = estimates(d, "api00", by="stype")
    assert b.names == ("E", "H", "M")
    if design == "apiclus1_calibrated":
        # survey 4.1.1 bug 1: svyby(covmat = TRUE) errors on a calibrated design;
        # R's cell-means svyglm has the same estimates with the full covariance
        assert "error" in R["by_stype_api00_covmat_TRUE"]
        ref = R["by_stype_api00_svyglm"]
        assert_matches(b, ref["svyglm"], ["stypeE", "stypeH", "stypeM"])
    else:
        ref = R["by_stype_api00_covmat_TRUE"]
        assert_matches(b, ref["svyby"])
        # strata = domains: R's default diagonal covariance is exact here
        for key in ("svyby", "differences", "weighted_average", "ratio_E_H"):
            np.testing.assert_allclose(
                list(R["by_stype_api00_covmat_FALSE"][key]["se"].values()),
                list(ref[key]["se"].values()),
                rtol=1e-12,
            )
    assert_matches(svycontrast(b, DIFFERENCES), ref["differences"])
    assert_matches(svycontrast(b, [0.5, 0.3, 0.2]), ref["weighted_average"])
    assert_matches(svycontrast(b, "E/H"), ref["ratio_E_H"])


@pytest.mark.parametrize("design", NAMES)
def test_contrasts_of_a_cell_means_model(design):
    """Contrasts of svyglm coefficients; R's svycontrast of a svyglm uses the
    delta method from vcov even on a replicate design."""
    d, R = DESIGNS[design], REF[design]
    ref = R["by_stype_api00_svyglm"]
    fit = svyglm("api00 ~ 0 + stype", d)
    est = Estimates.from_model(fit)
    assert est.df == fit.df
    assert est.cov_params().loc["stype[E]", "stype[E]"] == fit.cov[0, 0]
    assert_matches(est, ref["svyglm"], ["stypeE", "stypeH", "stypeM"])
    delta = {"use_replicates": False}
    term = "`stype[{}]`".format
    assert_matches(
        svycontrast(
            fit,
            {
                "EvH": f"{term('E')} - {term('H')}",
                "EvM": f"{term('E')} - {term('M')}",
                "HvM": f"{term('H')} - {term('M')}",
            },
            **delta,
        ),
        ref["differences"],
    )
    assert_matches(
        svycontrast(fit, f"0.5*{term('E')} + 0.3*{term('H')} + 0.2*{term('M')}", **delta),
        ref["weighted_average"],
    )
    assert_matches(svycontrast(fit, f"{term('E')}/{term('H')}", **delta), ref["ratio_E_H"])


@pytest.mark.parametrize("design", NAMES)
def test_log_odds_ratios_of_shares_by_domain(design):
    """The two shares of sch.wide by stype (R: svyby(~I(sch.wide == "Yes"))),
    with the covariance of a domain's two shares (minus the variance)."""
    d, R = DESIGNS[design], REF[design]
    p = estimates(d, E.distribution_items(d, "sch_wide"), by="stype")
    assert p.names[:2] == ("E:sch_wide=No", "H:sch_wide=No")
    lor = lor_contrasts(lambda g, v: f"`{g}:sch_wide={v}`")
    rep = design in REPLICATE
    if design == "apiclus1_calibrated":
        assert "error" in R["by_stype_schwide_logical_covmat_TRUE"]  # bug 1
        expected = R["by_stype_schwide_svyglm"]["log_odds_ratios"]
    else:
        ref = R["by_stype_schwide_logical_covmat_TRUE"]
        r_names = [f'{g}:I(sch.wide == "Yes"){v}' for v in ("FALSE", "TRUE") for g in "EHM"]
        assert_matches(p, ref["svyby"], r_names)
        expected = ref["log_odds_ratios"]  # delta method (no replicates) in R
        assert_matches(svycontrast(p, lor, use_replicates=not rep), expected)
        # R's default covmat = FALSE treats a domain's two shares as independent
        wrong = R["by_stype_schwide_logical_covmat_FALSE"]["log_odds_ratios"]["se"]["EvH"]
        assert not np.isclose(svycontrast(p, lor).se[0], wrong, rtol=0.05)
        # the replicate-based version for it is mislabelled in survey 4.1.1 (bug 3)
        expected = R["by_stype_schwide_numeric_covmat_TRUE"]["log_odds_ratios"]
    result = svycontrast(p, lor)
    assert_matches(result, expected)
    if rep:
        bug = list(ref["log_odds_ratios_replicates_R_BUG"]["se"].values())
        assert not np.allclose(result.se, bug, rtol=0.01)


@pytest.mark.parametrize("design", NAMES)
def test_log_odds_ratios_of_one_share_by_domain(design):
    d, R = DESIGNS[design], REF[design]
    pn = estimates(d, [E.proportion_item(d, "sch_wide", "Yes")], by="stype")
    lor = lor_contrasts(lambda g, v: g if v == "Yes" else f"(1 - {g})")
    block = (
        "by_stype_schwide_svyglm"
        if design == "apiclus1_calibrated"
        else "by_stype_schwide_numeric_covmat_TRUE"
    )
    assert_matches(svycontrast(pn, lor), R[block]["log_odds_ratios"])
    if block.endswith("TRUE"):
        assert_matches(pn, R[block]["svyby"])


@pytest.mark.parametrize("design", NAMES)
def test_share_model_log_odds_ratios(design):
    d, R = DESIGNS[design], REF[design]
    ref = R["by_stype_schwide_svyglm"]
    data = d.data.assign(yes=(d.data["sch_wide"] == "Yes").astype(float))
    fit = svyglm("yes ~ 0 + stype", d, data=data)
    assert_matches(Estimates.from_model(fit), ref["svyglm"], ["stypeE", "stypeH", "stypeM"])
    lor = lor_contrasts(lambda g, v: f"`stype[{g}]`" if v == "Yes" else f"(1 - `stype[{g}]`)")
    assert_matches(svycontrast(fit, lor, use_replicates=False), ref["log_odds_ratios"])


# -- properties ------------------------------------------------------------------------


@st.composite
def random_estimates(draw, positive=False):
    m = draw(st.integers(2, 5))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    coef = rng.uniform(0.5, 5, m) if positive else rng.normal(0, 3, m)
    if draw(st.booleans()):
        B = 30
        reps = coef + rng.normal(0, 0.05, (B, m)) @ rng.normal(0, 1, (m, m))
        rscales = rng.uniform(0.5, 1.5, B)
        est = Estimates(
            [f"x{k}" for k in range(m)],
            coef,
            np.eye(m),
            12,
            reps,
            0.9,
            rscales,
            draw(st.booleans()),
        )
        return svycontrast(est, {n: n for n in est.names})  # covariance from the replicates
    A = rng.normal(0, 1, (m, m))
    return Estimates([f"x{k}" for k in range(m)], coef, A @ A.T + 0.1 * np.eye(m), 12)


@settings(max_examples=40, deadline=None)
@given(random_estimates(), st.data())
def test_unit_contrast_is_the_estimate(est, data):
    k = data.draw(st.integers(0, len(est) - 1))
    out = svycontrast(est, np.eye(len(est))[k])
    assert out.coef[0] == est.coef[k]
    np.testing.assert_allclose(out.se[0], est.se[k], rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(random_estimates(), st.floats(-1e3, 1e3).filter(lambda a: abs(a) > 1e-3))
def test_scaled_estimate_has_scaled_se(est, a):
    out = svycontrast(est, f"{a!r} * x0")
    np.testing.assert_allclose(out.coef[0], a * est.coef[0], rtol=1e-12)
    np.testing.assert_allclose(out.se[0], abs(a) * est.se[0], rtol=1e-10)


@settings(max_examples=40, deadline=None)
@given(random_estimates(positive=True))
def test_log_ratio_equals_difference_of_logs(est):
    one = svycontrast(
        est,
        {
            "a": "log(x0 / x1)",
            "b": "log(x0) - log(x1)",
            "c": "log(x0 * x1 ^ -1)",
            "d": "-log(x1 / x0)",
        },
    )
    np.testing.assert_allclose(one.coef, one.coef[0], rtol=1e-12)
    np.testing.assert_allclose(one.vcov, one.vcov[0, 0], rtol=1e-10)


@settings(max_examples=40, deadline=None)
@given(random_estimates(positive=True))
def test_gradient_equals_central_differences(est):
    """The forward-mode gradient against central differences (h = 1e-6, whose
    truncation error is ~1e-12 relative for these smooth functions). With
    V = I, the covariance of f with the estimate x_k is df/dx_k."""
    expr = "sqrt(x0) * exp(x1 / 10) / (1 + x0 ** 2) - x1 ^ 3 + 2 ^ x0"
    unit = Estimates(est.names, est.coef, np.eye(len(est)), est.df)
    out = svycontrast(unit, {"f": expr, **{n: n for n in est.names}})
    gradient = out.vcov[0, 1:]

    def f(theta):
        return svycontrast(Estimates(est.names, theta, np.eye(len(est)), 1), expr).coef[0]

    h = 1e-6
    numeric = [(f(est.coef + h * e) - f(est.coef - h * e)) / (2 * h) for e in np.eye(len(est))]
    np.testing.assert_allclose(gradient, numeric, rtol=1e-6, atol=1e-8)


# -- errors ------------------------------------------------------------------------------

EST = Estimates(["api00", "api99", "E:sch_wide=Yes"], [2.0, 1.0, 0.5], np.eye(3), 10)


@pytest.mark.parametrize(
    "contrast, error, message",
    [
        (
            {"api00": 1, "api01": -1},
            UnknownEstimateError,
            "names 'api01', which is not an estimate",
        ),
        ("api00 - api01", UnknownEstimateError, "'api01'"),
        ("`E:sch_wide=No` - api00", UnknownEstimateError, "'E:sch_wide=No'"),
        ([1, -1], ContrastShapeError, "has 2 coefficients for 3 estimates"),
        (np.ones((2, 4)), ContrastShapeError, "has 4 coefficients for 3 estimates"),
        ("__import__('os').system('true')", ExpressionError, "is not allowed"),
        ("api00.real", ExpressionError, "Attribute"),
        ("log(api00, 2)", ExpressionError, "'log\\(api00, 2\\)' is not allowed"),
        ("abs(api00)", ExpressionError, "abs"),
        ("api00 > api99", ExpressionError, "Compare"),
        ("api00 // api99", ExpressionError, "FloorDiv"),
        ("api00 | api99", ExpressionError, "BitOr"),
        ("api00 + 'x'", ExpressionError, "is not a number"),
        ("api00 +", ExpressionError, "is not an expression"),
        ("log(api00 - 3)", ContrastError, "not finite"),
        ("api99 / (api00 - 2)", ContrastError, "not finite"),
        ({"a": "api00", "api99": 1}, ContrastError, "mixes"),
        (["api00", "api99"], ContrastError, "neither numbers"),
    ],
)
def test_bad_contrasts_are_named(contrast, error, message):
    with pytest.raises(error, match=message):
        svycontrast(EST, contrast)


def test_backticks_and_r_power():
    out = svycontrast(EST, {"a": "`E:sch_wide=Yes` ^ 2", "b": "`E:sch_wide=Yes` ** 2"})
    np.testing.assert_allclose(out.coef, [0.25, 0.25])
    np.testing.assert_allclose(out.se, [1.0, 1.0])  # d(x^2) = 2x = 1


def test_contrasts_as_a_data_frame_and_constants_on_replicates():
    m = estimates(DESIGNS["apistrat_jkn"], ["api00", "api99"])
    frame = pd.DataFrame({"api00": [1.0, 0.5]}, index=["first", "half"])
    out = svycontrast(m, frame)
    assert out.names == ("first", "half")
    np.testing.assert_allclose(out.coef, np.array([1, 0.5]) * m.coef[0], rtol=1e-15)
    np.testing.assert_allclose(out.se, np.array([1, 0.5]) * m.se[0], rtol=1e-12)
    const = svycontrast(m, {"c": "2", "d": "api00 - api00"})
    np.testing.assert_array_equal(const.coef, [2.0, 0.0])
    np.testing.assert_array_equal(const.vcov, np.zeros((2, 2)))
    with pytest.raises(UnknownEstimateError, match="'api01'"):
        svycontrast(m, pd.DataFrame({"api01": [1.0]}))
    with pytest.raises(ContrastError, match="no contrasts"):
        svycontrast(m, {})


def test_only_estimates_or_models_are_contrasted():
    with pytest.raises(ContrastError, match="needs Estimates .* not dict"):
        svycontrast({"api00": 1.0}, [1.0])


def test_duplicate_names_are_refused():
    with pytest.raises(ContrastError, match="'a' appears 2 times"):
        Estimates(["a", "a"], [1, 2], np.eye(2), 3)


def test_frame_has_t_intervals_on_the_df():
    out = svycontrast(
        estimates(DESIGNS["apistrat"], ["api00", "api99"]), {"api00": 1, "api99": -1}
    ).frame(level=0.9)
    row = out.iloc[0]
    from scipy import stats

    half = stats.t.ppf(0.95, 197) * row["se"]
    np.testing.assert_allclose(
        [row["ci_low"], row["ci_high"]],
        [row["estimate"] - half, row["estimate"] + half],
        rtol=1e-14,
    )
    np.testing.assert_allclose(row["p"], 2 * stats.t.sf(abs(row["t"]), 197), rtol=1e-12)


def test_estimates_need_a_known_statistic_and_one_domain_specification():
    with pytest.raises(ContrastError, match="'median'"):
        estimates(DESIGNS["apistrat"], "api00", statistic="median")
    with pytest.raises(ContrastError, match="one domain specification"):
        estimates(DESIGNS["apistrat"], "api00", by=["stype", "comp_imp"])
    with pytest.raises(ContrastError, match="scale and rscales"):
        Estimates(["a"], [1.0], [[1.0]], 3, replicates=np.ones((4, 1)))


# -- domain differences (R svycontrast(svyby(..., covmat = TRUE), c(1, -1))) --------------


@pytest.mark.parametrize("kind", ["lin", "jkn"])
def test_difference_keeps_the_covariance(kind):
    design = AWARDS_DESIGNS[kind]
    items = E.mean_items(design, ["api00"])
    out = domain_difference(design, items, "awards", "Yes", "No")
    assert list(out.columns) == DIFFERENCE_COLUMNS
    np.testing.assert_allclose(out["estimate"], AWARDS_R[f"{kind}.diff_awards"], rtol=1e-8)
    np.testing.assert_allclose(out["se"], AWARDS_R[f"{kind}.diff_awards_se"], rtol=1e-8)
    assert out["ci_low"][0] < out["estimate"][0] < out["ci_high"][0]
    # the independent-domains shortcut would give a different SE
    by = E.svymean(design, "api00", by=["awards"]).frame
    naive = np.sqrt((by["se"] ** 2).sum())
    assert abs(naive - out["se"][0]) > 1e-6 * out["se"][0]


def test_differences_of_several_items_pair_each_item():
    design = DESIGNS["apistrat"]
    items = E.mean_items(design, ["api00", "api99"])
    out = domain_difference(design, items, "stype", "E", "H")
    b = estimates(design, ["api00", "api99"], by="stype")
    assert b.names[:3] == ("E:api00", "H:api00", "M:api00")
    for j, var in enumerate(["api00", "api99"]):
        one = svycontrast(b, {f"E:{var}": 1, f"H:{var}": -1})
        assert out["variable"][j] == var
        np.testing.assert_allclose(
            [out["estimate"][j], out["se"][j]], [one.coef[0], one.se[0]], rtol=1e-14
        )


def test_unknown_domain_is_named():
    design = AWARDS_DESIGNS["lin"]
    with pytest.raises(ContrastError, match=re.escape("'Maybe' is not a category of 'awards'")):
        domain_difference(design, E.mean_items(design, ["api00"]), "awards", "Maybe", "No")


def test_reference_data_is_r_api():
    assert len(STRAT) == 200 and set(STRAT["stype"]) == {"E", "H", "M"}
