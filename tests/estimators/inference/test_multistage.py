"""Multistage designs against R survey 4.1.1 (``tests/reference/multistage``).

Means, totals, ratios and their SEs, overall and by domain (``svyby``), of
two-stage designs: apiclus2 (``id = ~dnum + snum, fpc = ~fpc1 + fpc2``), a
generated stratified two-stage sample given as R's
``svydesign(id = ~cluster + id, strata = ~stratum, fpc = ~N1 + N2, nest =
TRUE)`` (the issue's acceptance test), its fpc as fractions, without fpc
(with-replacement PSUs: the later stage does not enter), linear and raking
calibration on top, and every lonely-PSU policy at stage 1 and at stage 2.
All to 1e-8 relative. Also: a second stage that is complete gives the
single-stage variance (a hypothesis property).
"""

import json
from functools import cache

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from repo_paths import REFERENCE

from estimators.inference import variance
from estimators.inference.estimate import (
    distribution_items,
    domain_covariance,
    estimate_items,
    mean_items,
    svymean,
    svyratio,
    svytotal,
)
from estimators.inference.variance import linearization_covariance
from estimators.model import svyglm
from weighting import Margin, NumericTotal
from weighting.design import Design
from weighting.errors import DesignError

REF = REFERENCE / "multistage"
RTOL = 1e-8


@cache
def reference():
    return json.loads((REF / "multistage.json").read_text())


@cache
def table(name):
    data = pd.read_csv(REF / f"{name}.csv")
    if "stype" in data:
        for k in ("E", "H", "M"):
            data[f"stype{k}"] = (data["stype"] == k).astype(float)
    return data


def close(actual, expected, what):
    expected = np.asarray(expected, dtype=float)
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=0, err_msg=what)


# -- designs ---------------------------------------------------------------------------


def api_design(name):
    data = table("apiclus2")
    full = Design(data, psu=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    if name == "dclus2":
        return full
    if name == "dclus2_stage1":
        return Design(data, weights=full.weights, psu="dnum", fpc="fpc1")
    if name == "dclus2_wr":
        return Design(data, weights=full.weights, psu=["dnum", "snum"])
    pop = reference()["apiclus2"]["pop_stype_sw"]
    N = pop["(Intercept)"]  # apipop's 6194 schools
    stype = Margin(
        "stype", {"E": N - pop["stypeH"] - pop["stypeM"], "H": pop["stypeH"], "M": pop["stypeM"]}
    )
    margins = [stype]
    if name == "dclus2_rake2":
        yes = pop["sch_wideYes"]
        margins.append(Margin("sch_wide", {"No": N - yes, "Yes": yes}))
    distance = "linear" if name == "dclus2_lin" else "raking"
    return full.calibrate(margins, distance=distance, tol=1e-14, max_iter=1000)


def twostage_design(name, data="twostage"):
    data = table(data)
    common = dict(strata="stratum", nest=True)
    if name == "d2_frac":
        return Design(data, psu=["cluster", "id"], fpc=["f1", "f2"], **common)
    if name == "d2_nofpc":
        return Design(data, weights="w", psu=["cluster", "id"], **common)
    if name == "d2_stage1":
        return Design(data, weights="w", psu="cluster", fpc="N1", **common)
    d2 = Design(data, psu=["cluster", "id"], fpc=["N1", "N2"], **common)
    if name == "d2":
        return d2
    pop = reference()["twostage"]["population_totals"]["pop_dom_x"]
    dom = {"a": pop["(Intercept)"] - pop["domb"] - pop["domc"], "b": pop["domb"], "c": pop["domc"]}
    margins = [Margin("dom", dom)]
    if name.endswith("_x"):
        margins.append(NumericTotal("x", pop["x"]))
    distance = "linear" if "_lin" in name else "raking"
    return d2.calibrate(margins, distance=distance, tol=1e-14, max_iter=1000)


# -- R's statistics ---------------------------------------------------------------------


def svystat(frame, ref, what, se_floor=0.0):
    """``frame`` rows against a svystat entry (estimate and se, in order)."""
    close(frame["estimate"], list(ref["estimate"].values()), f"{what} estimate")
    se = np.asarray(list(ref["se"].values()), dtype=float)
    if se_floor:  # calibrated totals: both SEs are rounding noise
        assert (frame["se"] < se_floor).all() and (se < se_floor).all(), what
        return
    close(frame["se"], se, f"{what} se")


def svyby(frame, ref, what, variables):
    """Rows of one item per domain, variable-major, against R's svyby table."""
    t = ref["table"]
    est = np.concatenate([t[v] for v in variables])
    se_names = [f"se.{v}" for v in variables] if len(variables) > 1 else ["se"]
    se = np.concatenate([np.asarray(t[s], dtype=float) for s in se_names])
    close(frame["estimate"], est, f"{what} estimate")
    close(frame["se"], se, f"{what} se")


def by_variable(frame):
    return frame.sort_values(["variable", "domain"], kind="stable")


API_DESIGNS = ["dclus2", "dclus2_stage1", "dclus2_wr", "dclus2_lin", "dclus2_rake", "dclus2_rake2"]
TWOSTAGE_DESIGNS = [
    "d2",
    "d2_frac",
    "d2_nofpc",
    "d2_stage1",
    "d2_lin",
    "d2_rake",
    "d2_lin_x",
    "d2_rake_x",
]


@pytest.mark.parametrize("name", API_DESIGNS)
def test_apiclus2_equals_r(name):
    ref = reference()["apiclus2"][name]
    d = api_design(name)
    calibrated = name.endswith(("_lin", "_rake", "_rake2"))
    svystat(svymean(d, "api00").frame, ref["mean_api00"], f"{name} mean api00")
    svystat(svytotal(d, "api00").frame, ref["total_api00"], f"{name} total api00")
    svystat(svymean(d, "enroll").frame, ref["mean_enroll"], f"{name} mean enroll")
    svystat(svytotal(d, "enroll").frame, ref["total_enroll"], f"{name} total enroll")
    floor = 1e-9 if calibrated else 0.0
    svystat(svymean(d, "is_E").frame, ref["mean_is_E"], f"{name} mean is_E", floor / 1e3)
    svystat(svytotal(d, "is_E").frame, ref["total_is_E"], f"{name} total is_E", floor)
    shares = estimate_items(d, distribution_items(d, "stype")).frame
    svystat(shares, ref["mean_stype"], f"{name} mean stype", floor / 1e3)
    totals = svytotal(d, ["stypeE", "stypeH", "stypeM"]).frame
    svystat(totals, ref["total_stype"], f"{name} total stype", floor)
    r = svyratio(d, "api00", "api99").frame
    close(r["estimate"], ref["ratio_api00_api99"]["ratio"]["values"][0], f"{name} ratio")
    close(r["se"], ref["ratio_api00_api99"]["se"]["values"][0], f"{name} ratio se")
    for key, frame, variables in (
        ("by_stype_mean_api00", svymean(d, "api00", by=("stype",)).frame, ["api00"]),
        ("by_stype_total_api00", svytotal(d, "api00", by=("stype",)).frame, ["api00"]),
        ("by_stype_mean_enroll", svymean(d, "enroll", by=("stype",)).frame, ["enroll"]),
        ("by_sch_wide_mean_is_E", svymean(d, "is_E", by=("sch_wide",)).frame, ["is_E"]),
    ):
        svyby(frame, ref[key], f"{name} {key}", variables)
    f = estimate_items(d, distribution_items(d, "sch_wide"), ("stype",)).frame
    svyby(
        by_variable(f),
        ref["by_stype_mean_sch_wide"],
        f"{name} sch_wide by stype",
        ["sch_wideNo", "sch_wideYes"],
    )


def test_apiclus2_weights_are_r_s():
    d = api_design("dclus2")
    close(d.weights, pd.read_csv(REF / "apiclus2_weights.csv").iloc[:, -1], "weights")
    calibrated = pd.read_csv(REF / "apiclus2_calibrated_weights.csv")
    for name, column in (
        ("dclus2_lin", "weight_linear"),
        ("dclus2_rake", "weight_raking"),
        ("dclus2_rake2", "weight_raking_stype_schwide"),
    ):
        close(api_design(name).weights, calibrated[column], f"{name} weights")


@pytest.mark.parametrize("name", TWOSTAGE_DESIGNS)
def test_twostage_equals_r(name):
    """The acceptance test of issue 19 for ``d2``: R's means and SEs overall
    and by domain."""
    ref = reference()["twostage"][name]
    d = twostage_design(name)
    floor = 1e-9 if name.endswith("_x") or "_lin" in name or "_rake" in name else 0.0
    svystat(svymean(d, "y").frame, ref["mean_y"], f"{name} mean y")
    svystat(svytotal(d, "y").frame, ref["total_y"], f"{name} total y")
    svystat(svymean(d, "z").frame, ref["mean_z"], f"{name} mean z")
    svystat(svytotal(d, "z").frame, ref["total_z"], f"{name} total z")
    svystat(svymean(d, ["y", "z"]).frame, ref["mean_y_z"], f"{name} mean y, z")
    svystat(svytotal(d, ["y", "z"]).frame, ref["total_y_z"], f"{name} total y, z")
    shares = estimate_items(d, distribution_items(d, "dom")).frame
    svystat(shares, ref["mean_dom"], f"{name} mean dom", floor / 1e3)
    r = svyratio(d, "y", "x").frame
    close(r["estimate"], ref["ratio_y_x"]["ratio"]["values"][0], f"{name} ratio")
    close(r["se"], ref["ratio_y_x"]["se"]["values"][0], f"{name} ratio se")
    for key, frame, variables in (
        ("by_dom_mean_y", svymean(d, "y", by=("dom",)).frame, ["y"]),
        ("by_dom_total_y", svytotal(d, "y", by=("dom",)).frame, ["y"]),
        ("by_dom_mean_z", svymean(d, "z", by=("dom",)).frame, ["z"]),
        ("by_dom_total_z", svytotal(d, "z", by=("dom",)).frame, ["z"]),
        ("by_stratum_mean_y", svymean(d, "y", by=("stratum",)).frame, ["y"]),
        ("by_dom_mean_y_z", by_variable(svymean(d, ["y", "z"], by=("dom",)).frame), ["y", "z"]),
    ):
        svyby(frame, ref[key], f"{name} {key}", variables)


@pytest.mark.parametrize("name", ["d2", "d2_nofpc", "d2_stage1"])
def test_twostage_covariances_equal_r(name):
    """The full covariance (``linearization_covariance``): R's ``vcov`` of the
    totals of y and z and of the domain means."""
    ref = reference()["twostage"][name]
    d = twostage_design(name)
    data = table("twostage")
    cov = linearization_covariance(d, data[["y", "z"]].to_numpy(float))
    close(cov, ref["total_y_z"]["vcov"]["values"], f"{name} vcov of totals")
    _, cov, labels, _ = domain_covariance(d, mean_items(d, ["y"]), "dom")
    assert labels == ["a", "b", "c"]
    close(cov, ref["by_dom_mean_y"]["vcov"]["values"], f"{name} vcov by dom")


def test_degrees_of_freedom_and_weights():
    assert twostage_design("d2").degf == reference()["twostage"]["degf"]["d2"] == 9
    assert api_design("dclus2").degf == reference()["apiclus2"]["degf"]["dclus2"] == 39
    weights = pd.read_csv(REF / "twostage_weights.csv")
    close(twostage_design("d2").weights, weights["weight"], "d2 weights")
    close(twostage_design("d2_frac").weights, weights["weight"], "d2_frac weights")
    for name, column in (("d2_lin", "weight_linear_dom"), ("d2_rake_x", "weight_raking_dom_x")):
        close(twostage_design(name).weights, weights[column], f"{name} weights")


def test_codes_crossing_strata_need_nest():
    ref = reference()["twostage"]["without_nest"]
    assert "Clusters not nested in strata" in ref["error"]
    with pytest.raises(DesignError, match=r"psu 'cluster'.*code '1' in strata 1, 2, 3\)"):
        Design(table("twostage"), strata="stratum", psu=["cluster", "id"], fpc=["N1", "N2"])


def test_fpc_for_fewer_stages_means_complete_later_stages():
    """R documents it (and 4.1.1 errors, recorded in the JSON): the stage-1
    variance alone, as with a single stage."""
    assert "error" in reference()["twostage"]["fpc_stage1_only"]
    data = table("twostage")
    d = Design(data, weights="w", strata="stratum", psu=["cluster", "id"], fpc="N1", nest=True)
    ref = reference()["twostage"]["d2_stage1"]
    svystat(svytotal(d, "y").frame, ref["total_y"], "fpc at stage 1 only")


def test_a_glm_on_a_two_stage_design_equals_r():
    """svyglm's sandwich through the multistage variance
    (``replicates_glm.R``)."""
    ref = json.loads((REF / "replicates_glm.json").read_text())["glm"]
    fit = svyglm("api00 ~ ell", api_design("dclus2"))
    close(fit.params, ref["coef"], "glm coefficients")
    close(fit.bse, ref["se"], "glm se")


# -- lonely PSUs -------------------------------------------------------------------------

# R's survey.lonely.psu options; "_adjust_domain_lonely": with
# survey.adjust.domain.lonely = TRUE (Design(domain_lonely=True)), which
# changes the svyby and subset domains, not the whole-sample estimates
POLICIES = [
    "remove",
    "adjust",
    "average",
    "certainty",
    "adjust_adjust_domain_lonely",
    "average_adjust_domain_lonely",
]


def lonely_design(data, policy):
    return Design(
        table(data),
        strata="stratum",
        psu=["cluster", "id"],
        fpc=["N1", "N2"],
        nest=True,
        lonely_psu=policy.split("_")[0],
        domain_lonely=policy.endswith("_domain_lonely"),
    )


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("data", ["twostage_lonely_stage1", "twostage_lonely_stage2"])
def test_lonely_policies_equal_r(data, policy):
    ref = reference()["lonely"][data.removeprefix("twostage_")][policy]
    d = lonely_design(data, policy)
    what = f"{data} {policy}"
    svystat(svymean(d, "y").frame, ref["mean_y"], f"{what} mean y")
    svystat(svytotal(d, "y").frame, ref["total_y"], f"{what} total y")
    svystat(svymean(d, ["y", "z"]).frame, ref["mean_y_z"], f"{what} mean y, z")
    svystat(svytotal(d, ["y", "z"]).frame, ref["total_y_z"], f"{what} total y, z")
    for key, frame in (
        ("by_dom_mean_y", svymean(d, "y", by=("dom",)).frame),
        ("by_dom_total_y", svytotal(d, "y", by=("dom",)).frame),
        ("by_dom2_mean_y", svymean(d, "y", by=("dom2",)).frame),
        ("by_dom2_total_y", svytotal(d, "y", by=("dom2",)).frame),
    ):
        svyby(frame, ref[key], f"{what} {key}", ["y"])
    # R's subset(): the same rows as svyby's domain (R drops the others)
    means = svymean(d, "y", by=("dom2",)).frame.set_index("domain")
    totals = svytotal(d, "y", by=("dom2",)).frame.set_index("domain")
    for key, frame in (
        ("subset_dom2_x_mean_y", means.loc[["x"]]),
        ("subset_dom2_x_total_y", totals.loc[["x"]]),
        ("subset_dom2_y_total_y", totals.loc[["y"]]),
    ):
        svystat(frame, ref[key], f"{what} {key}")


@pytest.mark.parametrize(
    "data, stage", [("twostage_lonely_stage1", 1), ("twostage_lonely_stage2", 2)]
)
def test_lonely_error_names_the_stage(data, stage):
    ref = reference()["lonely"][data.removeprefix("twostage_")]["fail"]
    assert f"at stage {stage}" in ref["mean_y"]["error"]
    pattern = (
        "1 stratum/strata with a single PSU: 3 "
        if stage == 1
        else r"stage 2: 1 .* \(clusters 1, numbered from 0"
    )
    with pytest.raises(DesignError, match=pattern):
        lonely_design(data, "error")


# -- properties --------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.booleans())
def test_a_complete_second_stage_adds_nothing(seed, fraction):
    """Stage-2 fpc = N2 = n2 (every unit of a sampled cluster): the variance
    is the single-stage one, for totals, means and domain means."""
    rng = np.random.default_rng(seed)
    H = int(rng.integers(1, 4))
    n1 = rng.integers(2, 5, H)
    N1 = n1 + rng.integers(0, 6, H)
    rows = []
    for h in range(H):
        for c in range(n1[h]):
            size = int(rng.integers(1, 5))
            rows += [(h, c, N1[h], size) for _ in range(size)]
    strata, cluster, pop1, n2 = map(np.array, zip(*rows))
    n = len(strata)
    data = {
        "h": strata,
        "c": cluster,
        "unit": np.arange(n),
        "N1": n1[strata] / pop1 if fraction else pop1,
        "N2": np.ones(n) if fraction else n2,
        "y": rng.normal(size=n),
        "g": rng.integers(0, 2, n),
    }
    two = Design(data, strata="h", psu=["c", "unit"], fpc=["N1", "N2"], nest=True)
    one = Design(data, weights=two.weights, strata="h", psu="c", fpc="N1", nest=True)
    for estimate in (svytotal, svymean):
        a = estimate(two, "y", by=("all", "g")).frame["se"]
        b = estimate(one, "y", by=("all", "g")).frame["se"]
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@st.composite
def multistage_samples(draw):
    """Stratified samples of 2 or 3 stages, with or without fpc, lonely
    clusters at any stage, take-all strata, under every lonely policy."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    stages = draw(st.integers(2, 3))
    H = int(rng.integers(1, 4))
    rows = []  # (stratum, cluster labels per stage, population per stage)
    for h in range(H):
        n1 = int(rng.integers(1, 4))
        N1 = n1 + int(rng.integers(0, 3))
        for c in range(n1):
            n2 = int(rng.integers(1, 4))
            N2 = n2 + int(rng.integers(0, 3))
            for u in range(n2):
                n3 = int(rng.integers(1, 3)) if stages == 3 else 1
                N3 = n3 + int(rng.integers(0, 2))
                rows += [(h, c, u, k, N1, N2, N3) for k in range(n3)]
    h, c, u, k, N1, N2, N3 = map(np.array, zip(*rows))
    n = len(h)
    data = {"h": h, "c": c, "u": u * 10 + k if stages == 2 else u, "k": k}
    data.update(N1=N1, N2=N2, N3=N3, y=rng.normal(size=n), x=rng.uniform(1, 2, n))
    data["g"] = rng.integers(0, 3, n)
    psu = ["c", "u", "k"][:stages]
    fpc = ["N1", "N2", "N3"][:stages] if draw(st.booleans()) else None
    policy = draw(st.sampled_from(["certainty", "remove", "adjust", "average"]))
    domain_lonely = draw(st.booleans())
    design = Design(
        data,
        weights=rng.uniform(1, 3, n),
        strata="h",
        psu=psu,
        fpc=fpc,
        nest=True,
        lonely_psu=policy,
        domain_lonely=domain_lonely,
    )
    return design, data


@settings(max_examples=60, deadline=None)
@given(multistage_samples())
def test_domain_sums_equal_the_dense_multistage_variances(case):
    """The (cluster, domain) shortcut of uncalibrated multistage domains
    equals the n x G m influence matrix through multistage_covariance, every
    lonely policy and stage included (NaN where that gives NaN)."""
    design, data = case
    codes = np.asarray(data["g"])
    e = np.column_stack([data["y"], data["y"] - 0.5 * data["x"]])
    scale = np.array([[1.0, 0.5], [2.0, 1.0], [1.0, 3.0]])
    fast = variance.domain_variances(design, codes, 3, e, scale)
    dense = variance._multistage_domain_variances(design, codes, 3, e, scale)
    np.testing.assert_allclose(fast, dense, rtol=1e-10, atol=1e-12)
