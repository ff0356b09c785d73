"""Calibration cross-check of kalib's public API against R survey 4.1.1.

Round two of the cross-check (``test_crosscheck_r.py``,
``test_crosscheck_edge_r.py``): ``ce_d`` (``make_datasets.py``'s ``CALIB``,
seeded; R's values from ``calib.R`` beside it) is a stratified two-stage
sample with an fpc at both stages (counts) and a take-all stratum, base
weights varying within PSUs and margins far enough from the base totals that
unbounded linear calibration gives negative weights. It is compared
uncalibrated and calibrated by raking, linear with ``variance =``, linear
with ``aggregate.stage = 1``, linear with ``bounds.const = TRUE``, logit and
truncated linear with bounds, ``postStratify`` to crossed cells, and
``trimWeights`` after raking: the weights, means, totals, a ratio, domain
means and totals, a domain mean of a 0/1 variable, design effects, Rao-Scott
tests, a t-test, quasi-Poisson and
quasi-binomial ``svyglm`` fits and (where the weights are positive) domain
means and totals of several variables with their covariance, non-linear
contrasts (a ratio of means, a log odds ratio), quartiles, ``svyciprop``
and ``svyolr``; with two PSUs cut to one SSU, the lonely-SSU policies at
stage 2; kalib's JKn of the calibrated design, every replicate
re-calibrated. ``ce_b``'s replicate weights made by R (``edge.R``: BRR,
Fay, JKn, bootstrap with and without ``mse``) are re-calibrated replicate
by replicate (raking, linear, linear with ``variance =``) as R's
``calibrate`` of a replicate design does. ``ce_e`` (``PPS``) is a
stratified PPS sample without replacement (Brewer), uncalibrated and raked,
and one of its strata under Brewer, Hartley-Rao and Overton, HT and YG.
The ``kalib`` CLI (two stages, margin files, ``--calibration-variance``
with ``--aggregate-stage``; R's replicate file post-stratified) is compared
too. Agreement is 1e-8 relative (models 1e-7, svyolr as in the edge check);
the SE of a domain of one respondent is rounding noise on both sides
(compared absolutely).
"""

import json
from functools import cache

import numpy as np
import pandas as pd
import pytest
from reference.crosscheck.rvalues import close, r_values
from repo_paths import REFERENCE

from estimators.cli import main
from estimators.inference.chisq import rao_scott
from estimators.inference.contrast import estimates, svycontrast
from estimators.inference.estimate import (
    estimate_items,
    mean_items,
    svymean,
    svyprop,
    svyquantile,
    svyratio,
    svytotal,
)
from estimators.inference.ttest import svyttest
from estimators.model import svyglm, svyolr
from weighting import Margin, NumericTotal, calibrate
from weighting.calibrate import trim_weights
from weighting.design import Design
from weighting.pps import HR

REF = REFERENCE / "crosscheck"
GLM_RTOL = 1e-7
TOL = 1e-13  # calibration's stopping rule (R's epsilon 1e-12 on its own scale)


@cache
def ce_d():
    data = pd.read_csv(REF / "ce_d.csv")
    spec = json.loads((REF / "ce_d_margins.json").read_text())
    return data, spec, r_values("ce_d_r")


@cache
def ce_b():
    data = pd.read_csv(REF / "ce_b.csv")
    data["v"] = 1 + data.x / 10  # calib.R's variance = for ce_b
    return data, r_values("ce_b_r"), r_values("ce_b_cal_r")


def two_stage_design(case):
    """The ``ce_d`` design of an R case of ``calib.R``."""
    data, spec, _ = ce_d()
    base = Design(data, weights="d", strata="stratum", psu=["psu", "ssu"], fpc=["N1", "N2"])
    margins = [Margin("a", spec["a"]), Margin("b", spec["b"]), NumericTotal("x", spec["x_total"])]
    settings = {
        "none": None,
        "raking": dict(distance="raking"),
        "linear_variance": dict(distance="linear", variance="v"),
        "linear_stage1": dict(distance="linear", aggregate_stage=1),
        "bounds_const": dict(distance="linear", weight_bounds=tuple(spec["weight_bounds"])),
        "logit": dict(distance="logit", bounds=tuple(spec["bounds"])),
        "trimmed": dict(distance="raking"),
        "truncated": dict(distance="truncated", bounds=tuple(spec["bounds"])),
        "poststratified": None,
    }[case]
    if case == "poststratified":  # calib.R's cells, in R's order (a fastest)
        cells = [(a, b) for b in ("b1", "b2", "b3") for a in ("a1", "a2")]
        counts = ce_d()[2]["poststratified/cells"]
        return base.poststratify(dict(zip(cells, counts)), ("a", "b"))
    if settings is None:
        return base
    calibrated = base.calibrate(margins, tol=TOL, **settings)
    return trim_weights(calibrated, *spec["trim"]) if case == "trimmed" else calibrated


def compare_estimates(d, ref, prefix):
    """calib.R's ``estimates()`` on design ``d`` against R's values under ``prefix``."""

    def pair(frame):
        return frame.loc[0, ["estimate", "se"]]

    close(pair(svymean(d, ["y"]).frame), ref[f"{prefix}/mean_y"], f"{prefix} mean y")
    close(pair(svytotal(d, ["y"]).frame), ref[f"{prefix}/total_y"], f"{prefix} total y")
    close(pair(svytotal(d, ["k"]).frame), ref[f"{prefix}/total_k"], f"{prefix} total k")
    r = svyratio(d, "y", "x").frame
    close(pair(r), ref[f"{prefix}/ratio_y_x"], f"{prefix} ratio")
    for est, var, key in ((svymean, "y", "by_dom_mean_y"), (svytotal, "k", "by_dom_total_k")):
        f = est(d, [var], by="dom").frame
        expected = ref[f"{prefix}/{key}"]
        G = len(f)
        close(f.estimate, expected[:G], f"{prefix} {key}")
        se, expected_se = f.se.to_numpy(), expected[G:].copy()
        if d.replicates is not None:
            # a domain empty in some replicate has no replicate SE (NaN; R
            # drops those replicates: estimators.inference.estimate)
            W = d.replicate_weights()
            for g, label in enumerate(f.domain):
                if np.isnan(se[g]):
                    rows = (d.data.dom == label).to_numpy()
                    assert (W[rows].sum(axis=0) == 0).any(), f"{prefix} {key} {label}"
                    expected_se[g] = np.nan
        # the domain of one respondent: SE ~1e-15 both sides, rounding noise
        close(se, expected_se, f"{prefix} {key} SE", atol=1e-12 * f.estimate.abs().max())
    f = svymean(d, ["z"], by="sex").frame
    close(
        f.loc[f.domain == "f", ["estimate", "se"]].iloc[0], ref[f"{prefix}/where_mean_z"], prefix
    )


TWO_STAGE = [
    "none",
    "raking",
    "linear_variance",
    "linear_stage1",
    "bounds_const",
    "logit",
    "truncated",
    "poststratified",
]


@pytest.mark.parametrize("case", [*TWO_STAGE, "trimmed"])
def test_two_stage_calibrated_estimates_equal_r(case):
    """Weights and estimates of the two-stage design, calibrated each way.

    ``linear_stage1`` failed before: with ``aggregate_stage`` the calibration
    regression's fitted values were carried by each row's own base weight,
    R's (``regcalibrate``'s ``ave``) by its PSU's mean base weight, which
    changes the stage-2 variance when base weights vary within PSUs
    (mean y SE 0.52807 against R's 0.52531; ``CalibrationResult.regression``).
    """
    ref = ce_d()[2]
    d = two_stage_design(case)
    close(d.weights, ref[f"{case}/weights"], f"{case} weights")
    if case == "bounds_const":  # the weight bounds bind at both ends
        lower, upper = ce_d()[1]["weight_bounds"]
        assert np.isclose(d.weights.min(), lower) and np.isclose(d.weights.max(), upper)
    compare_estimates(d, ref, case)


@pytest.mark.parametrize("case", [*TWO_STAGE, "trimmed"])
def test_two_stage_deff_chisq_ttest_equal_r(case):
    """Design effects (against the SRS variance with and without
    replacement), Rao-Scott F and chi-squared tests of a x dom and b x dom
    (a and b calibrated) and a t-test on each calibrated design."""
    ref = ce_d()[2]
    d = two_stage_design(case)
    close(svymean(d, ["y"]).frame.deff[0], ref[f"{case}/deff_mean_y"], f"{case} deff")
    replace = estimate_items(d, mean_items(d, ["y"]), deff="replace").frame.deff[0]
    close(replace, ref[f"{case}/deff_replace_mean_y"], f"{case} deff replace")
    close(svytotal(d, ["k"]).frame.deff[0], ref[f"{case}/deff_total_k"], f"{case} deff total")
    t = rao_scott(d, "a", "dom")
    close([t.f, t.f_ndf, t.f_ddf, t.f_p], ref[f"{case}/chisq_F_a_dom"], f"{case} F")
    t = rao_scott(d, "b", "dom")
    close([t.chisq_df, t.chisq_p], ref[f"{case}/chisq_Chisq_b_dom"][1:], f"{case} Chisq")
    if f"{case}/ttest_y_sex" in ref:  # R's svyttest is a glm: positive weights only
        t = svyttest(d, "y ~ sex")
        expected = ref[f"{case}/ttest_y_sex"]
        close([t.estimate, t.statistic, t.df, t.p_value, *t.conf_int], expected, case)


AGGREGATED = {
    "ab_raking_stage1": dict(distance="raking", aggregate_stage=1),
    "ab_logit_stage1": dict(distance="logit", bounds=(0.3, 3), aggregate_stage=1),
    "ab_linear_stage2": dict(distance="linear", aggregate_stage=2),
    "ab_raking_stage2": dict(distance="raking", aggregate_stage=2),
    "ab_linear_stage1": dict(distance="linear", aggregate_stage=1),
}


@pytest.mark.parametrize("case", [*AGGREGATED, "jkn_ab_raking_stage1", "jkn_ab_linear_stage1"])
def test_aggregated_calibration_equals_r(case):
    """aggregate_stage with raking and logit (R's Newton path) at stage 1,
    and at stage 2 (one g per SSU), to the a and b margins; base weights
    vary within the clusters (``CalibrationResult.regression``). And JKn
    replicates re-calibrated so (R's calibrate(aggregate.index = ~psu) of
    the replicate design)."""
    data, spec, ref = ce_d()
    base = Design(data, weights="d", strata="stratum", psu=["psu", "ssu"], fpc=["N1", "N2"])
    margins = [Margin("a", spec["a"]), Margin("b", spec["b"])]
    replicated = case.startswith("jkn_")
    d = base.calibrate(margins, tol=TOL, **AGGREGATED[case.removeprefix("jkn_")])
    if replicated:
        d = d.with_replicates("jkn")
    else:
        close(d.weights, ref[f"{case}/weights"], f"{case} weights")
    compare_estimates(d, ref, case)


@pytest.mark.parametrize("case", [c for c in [*TWO_STAGE, "trimmed"] if c != "linear_stage1"])
def test_two_stage_models_equal_r(case):
    """Quasi-Poisson and quasi-binomial svyglm where every weight is positive
    (R's glm refuses negative weights: no fit after linear with variance)."""
    ref = ce_d()[2]
    if f"{case}/glm_poisson/coef" not in ref:
        assert (two_stage_design(case).weights < 0).any(), case
        return
    d = two_stage_design(case)
    compare_glm(d, ref, f"{case}/glm_poisson", "k ~ x + a", "poisson")
    compare_glm(d, ref, f"{case}/glm_binomial", "z ~ x + b", "binomial")


def compare_glm(d, ref, prefix, formula, family):
    fit = svyglm(formula, d, family)
    # R's order: the intercept, x, then the last term's factor levels
    # (patsy puts factors first)
    factor = formula.rsplit("+", 1)[1].strip()
    r_terms = ["Intercept", "x"] + [t for t in fit.terms if t.startswith(f"{factor}[")]
    order = [fit.terms.index(t) for t in r_terms]
    close(fit.params[order], ref[f"{prefix}/coef"], prefix, GLM_RTOL)
    close(fit.bse[order], ref[f"{prefix}/se"], f"{prefix} SE", GLM_RTOL)


@pytest.mark.parametrize("case", ["raking", "linear_variance"])
def test_two_stage_jkn_recalibrated_equals_r(case):
    """kalib's JKn of the calibrated two-stage design (stage-1 PSUs, each
    replicate re-calibrated with the same spec) is R's calibrate() of
    as.svrepdesign(design, "JKn"). (R's as.svrepdesign of the calibrated
    design is another thing: its replicates are not re-calibrated.)"""
    d = two_stage_design(case).with_replicates("jkn")
    compare_estimates(d, ce_d()[2], f"jkn_{case}")


@pytest.mark.parametrize("raked", [False, True])
@pytest.mark.parametrize("policy", ["adjust", "average", "certainty", "remove"])
def test_lonely_ssus_equal_r(policy, raked):
    """Two PSUs of ce_d keep one SSU each: at stage 2 those PSUs are
    single-unit strata, handled by the lonely-PSU policy as R's
    ``survey.lonely.psu`` does at every stage (``average`` has no other
    stratum within the PSU to average: NaN in both)."""
    data, spec, ref = ce_d()
    one_ssu = data.psu.isin(["s3p1", "s4p2"]) & ~data.ssu.str.endswith("u1")
    d = Design(
        data[~one_ssu].reset_index(drop=True),
        weights="d",
        strata="stratum",
        psu=["psu", "ssu"],
        fpc=["N1", "N2"],
        lonely_psu=policy,
    )
    if raked:
        margins = [Margin("a", spec["a"]), Margin("b", spec["b"])]
        d = d.calibrate([*margins, NumericTotal("x", spec["x_total"])], tol=TOL)
    compare_estimates(d, ref, f"lonely_ssu_{policy}{'_raking' if raked else ''}")


# calib.R's more(): the designs with positive weights
POSITIVE = ["none", "raking", "bounds_const", "logit", "trimmed", "truncated", "poststratified"]
CONTRASTS = {
    "ratio": "`a2:k` / `a1:k`",
    "scaled": "(`a2:k` - `a1:k`) / `a1:x`",
    "log_odds_ratio": "log(`a2:z` / (1 - `a2:z`)) - log(`a1:z` / (1 - `a1:z`))",
}
CIPROP = {"beta": "beta", "mean": "wald", "xlogit": "xlogit", "asin": "asin"}


@pytest.mark.parametrize("case", POSITIVE)
def test_two_stage_contrasts_quantiles_and_models_equal_r(case):
    """Domain means of several variables with their covariance (R: the
    ratios of domain totals by svycontrast, as svyby(covmat = TRUE) fails on
    a calibrated design in R 4.1.1), non-linear contrasts of them (a ratio of
    means, a scaled difference, a log odds ratio), domain totals of several
    variables with their covariance, quartiles (Woodruff), svyciprop and
    svyolr (R's BFGS and finite-difference Hessian: the edge check's
    tolerances)."""
    ref = ce_d()[2]
    d = two_stage_design(case)
    by = estimates(d, ["k", "x", "z"], by="a")
    assert by.names == ("a1:k", "a2:k", "a1:x", "a2:x", "a1:z", "a2:z")
    close(by.coef, ref[f"{case}/by_a_mean_kxz"], f"{case} means by a")
    close(by.vcov.ravel(), ref[f"{case}/by_a_mean_kxz/vcov"], f"{case} their covariance")
    c = svycontrast(by, CONTRASTS)
    close(c.coef, ref[f"{case}/contrasts"], f"{case} contrasts")
    close(c.vcov.ravel(), ref[f"{case}/contrasts/vcov"], f"{case} contrasts' covariance")
    t = estimates(d, ["k", "x"], statistic="total", by="dom")
    close(t.coef, ref[f"{case}/by_dom_total_kx"], f"{case} totals by dom")
    close(t.vcov.ravel(), ref[f"{case}/by_dom_total_kx/vcov"], f"{case} their covariance")
    q = svyquantile(d, "y", [0.25, 0.5])[["estimate", "ci_low", "ci_high", "se"]]
    close(q.to_numpy().ravel(), ref[f"{case}/quantile_y"], f"{case} quartiles")
    # the score interval over the rows with y (R 4.1.1 puts the missing
    # values in as zeros where its subset keeps them: after calibration)
    q = svyquantile(d, "y", [0.5], interval_type="score").loc[0, ["ci_low", "ci_high"]]
    close(q, ref[f"{case}/median_score"], f"{case} score interval")
    r_own = ref[f"{case}/median_score_r_4.1.1"]
    assert np.array_equal(r_own, ref[f"{case}/median_score"]) == (case == "none"), case
    for method, ci in CIPROP.items():
        p = svyprop(d, "z", 1, ci=ci).frame.iloc[0]
        close([p.estimate, p.se, p.ci_low, p.ci_high], ref[f"{case}/ciprop_{method}"], method)
    table = svyolr("ord ~ x + a", d).tidy().set_index("term")
    order = ["x", "a[T.a2]", "1|2", "2|3", "3|4"]  # R's
    close(table.estimate.loc[order], ref[f"{case}/olr/coef"], f"{case} olr", 1e-6)
    close(table.se.loc[order], ref[f"{case}/olr/se"], f"{case} olr SE", 1e-5)


@pytest.mark.parametrize("calibrated", [False, True])
def test_stratified_pps_equals_r(calibrated):
    """ce_e: PSUs drawn with unequal probabilities in three strata (Brewer's
    approximation; R 4.1.1 fails on a stratified Overton design), clusters of
    several rows, missing y, a domain with one respondent with y (SE 0 on
    both sides), uncalibrated and raked to a margin."""
    data = pd.read_csv(REF / "ce_e.csv")
    data["z"] = (data.k > 2).astype(float)  # calib.R's
    data["sex"] = np.where(data.id % 2 == 0, "f", "m")
    spec = json.loads((REF / "ce_e_margins.json").read_text())
    ref = r_values("ce_e_r")
    d = Design(data, weights="d", strata="stratum", psu="psu", fpc="pi", pps="brewer")
    if calibrated:
        d = d.calibrate([Margin("a", spec["a"])], distance="raking", tol=TOL)
    prefix = f"brewer/{'raking' if calibrated else 'none'}"
    compare_estimates(d, ref, prefix)
    compare_glm(d, ref, f"{prefix}/glm_poisson", "k ~ x + a", "poisson")


@pytest.mark.parametrize(
    "pps, variance",
    [("brewer", "HT"), ("HR", "HT"), ("HR", "YG"), ("overton", "HT"), ("overton", "YG")],
)
def test_pps_one_stratum_equals_r(pps, variance):
    """ce_e's stratum s2 on the rows with y under each PPS approximation and
    variance form (R 4.1.1 fails on HR() with strata and on HR and Overton
    with na.rm = TRUE: calib.R). kalib's mean of y on all the rows (those
    without y a domain outside, as R's na.rm) is the same."""
    data = pd.read_csv(REF / "ce_e.csv")
    s2 = data[data.stratum == "s2"].reset_index(drop=True)
    with_y = s2[s2.y.notna()].reset_index(drop=True)
    ref = r_values("ce_e_r")
    prefix = f"s2/{pps}_{variance}"
    spec = HR() if pps == "HR" else pps
    d = Design(with_y, weights="d", psu="psu", fpc="pi", pps=spec, variance=variance)
    close(svymean(d, ["y"]).frame.loc[0, ["estimate", "se"]], ref[f"{prefix}/mean_y"], prefix)
    close(svytotal(d, ["k"]).frame.loc[0, ["estimate", "se"]], ref[f"{prefix}/total_k"], prefix)
    r = svyratio(d, "y", "x").frame.loc[0, ["estimate", "se"]]
    close(r, ref[f"{prefix}/ratio_y_x"], f"{prefix} ratio")
    d = Design(s2, weights="d", psu="psu", fpc="pi", pps=spec, variance=variance)
    m = svymean(d, ["y"]).frame.loc[0, ["estimate", "se"]]
    close(m, ref[f"{prefix}/mean_y"], f"{prefix} rows without y kept")


REPLICATES = ["brr", "fay", "jkn", "bootstrap", "bootstrap_mse"]


def recalibrated(kind, how):
    """ce_b with R's replicate weights ``kind`` re-calibrated ``how``, each
    replicate from its own weights (R's ``calibrate`` of a replicate design);
    rows outside a replicate (weight 0: BRR) stay at 0."""
    data, rb, cal = ce_b()
    cells = json.loads((REF / "ce_b_margins.json").read_text())["ab"]
    a, b = {}, {}
    for cell, count in cells.items():
        i, j = cell.split("|")
        a[i], b[j] = a.get(i, 0.0) + count, b.get(j, 0.0) + count
    margins = [Margin("a", a), Margin("b", b)]
    if how != "raking":
        margins.append(NumericTotal("x", float(cal["x_total"][0])))
    settings = dict(distance="raking" if how == "raking" else "linear", tol=TOL)
    if how == "linear_variance":
        settings["variance"] = "v"
    W = pd.read_csv(REF / f"ce_b_rep_{kind}.csv").drop(columns="id").to_numpy()
    full = calibrate(data, margins, base_weights=data.d, **settings).weights
    Wc = np.zeros_like(W)
    for j in range(W.shape[1]):
        rows = W[:, j] > 0
        Wc[rows, j] = calibrate(data[rows], margins, base_weights=W[rows, j], **settings).weights
    base = Design(data, weights="d", strata="stratum", psu="psu", fpc="fpc")
    return base.with_replicate_weights(
        Wc,
        scale=float(rb[f"rep_{kind}/scale"][0]),
        rscales=rb[f"rep_{kind}/rscales"],
        mse=kind.endswith("_mse"),
        weights=full,
    )


@pytest.mark.parametrize("how", ["raking", "linear", "linear_variance"])
@pytest.mark.parametrize("kind", REPLICATES)
def test_recalibrated_replicate_weights_equal_r(kind, how):
    ref = ce_b()[2]
    d = recalibrated(kind, how)
    prefix = f"{kind}/{how}"
    close(d.replicate_weights().ravel(order="F"), ref[f"{prefix}/repweights"], prefix)
    compare_estimates(d, ref, prefix)


# -- the same through the kalib CLI -----------------------------------------------


@pytest.mark.parametrize(
    "case, calibration",
    [
        ("cli_raking", ["--calibration", "raking"]),
        (
            "cli_linear_variance_stage1",
            ["--calibration", "linear", "--calibration-variance", "v", "--aggregate-stage", "1"],
        ),
    ],
)
def test_cli_two_stage_calibrated_equals_r(tmp_path, case, calibration):
    """kalib estimate with --psu and --fpc repeated (two stages) and margin
    files of a and b: raking, and linear with --calibration-variance and
    --aggregate-stage 1 together (R: variance = and aggregate.stage = 1)."""
    spec, ref = ce_d()[1], ce_d()[2]
    margins = []
    for var in ("a", "b"):
        path = tmp_path / f"{var}.csv"
        pd.DataFrame({var: list(spec[var]), "total": list(spec[var].values())}).to_csv(
            path, index=False
        )
        margins += ["--margins", str(path)]
    out = tmp_path / "out.csv"
    argv = ["estimate", str(REF / "ce_d.csv"), "--weight", "d", "--strata", "stratum"]
    argv += ["--psu", "psu", "--psu", "ssu", "--fpc", "N1", "--fpc", "N2", *margins]
    argv += [*calibration, "--mean", "y", "--by", "all", "--by", "dom"]
    assert main([*argv, "--out", str(out), "--force", "--quiet"]) == 0
    f = pd.read_csv(out)
    close(f.loc[0, ["estimate", "se"]], ref[f"{case}/mean_y"], f"{case} CLI mean")
    expected = ref[f"{case}/by_dom_mean_y"]
    close(f.estimate[1:], expected[:3], f"{case} CLI by dom")
    close(f.se[1:], expected[3:], f"{case} CLI by dom SE")


def test_cli_replicate_file_poststratified_equals_r(tmp_path):
    """R's JKn replicate weights of ce_b as a replicate file from elsewhere
    (``--replicate-type other`` with R's scale and rscales), post-stratified
    by kalib estimate to the a x b cells (a margin file of the cross), equal
    R's postStratify of the replicate design (edge.R's ``ps_rep_jkn``); the
    one-respondent domain has no replicate SE (empty in some replicate)."""
    data, ref, _ = ce_b()
    spec = json.loads((REF / "ce_b_margins.json").read_text())
    cells = pd.DataFrame(
        [(*c.split("|"), v) for c, v in spec["ab"].items()], columns=["a", "b", "total"]
    )
    cells.to_csv(tmp_path / "ab.csv", index=False)
    W = pd.read_csv(REF / "ce_b_rep_jkn.csv")
    W.insert(1, "weight", data.d)
    W.to_csv(tmp_path / "reps.csv", index=False)
    out = tmp_path / "out.csv"
    argv = ["estimate", str(REF / "ce_b.csv"), "--replicate-weights", str(tmp_path / "reps.csv")]
    argv += ["--replicate-type", "other", "--scale", repr(float(ref["rep_jkn/scale"][0]))]
    argv += ["--rscales", ",".join(map(repr, ref["rep_jkn/rscales"].tolist()))]
    argv += ["--margins", str(tmp_path / "ab.csv"), "--calibration", "poststratify"]
    argv += ["--mean", "y", "--by", "all", "--by", "dom"]
    assert main([*argv, "--out", str(out), "--force", "--quiet"]) == 0
    f = pd.read_csv(out)
    close(f.loc[0, ["estimate", "se"]], ref["ps_rep_jkn/mean_y"], "CLI post-stratified mean")
    expected = ref["ps_rep_jkn/by_dom_mean_y"]
    close(f.estimate[1:], expected[:5], "CLI post-stratified by dom")
    assert f.domain.iloc[-1] == "solo" and np.isnan(f.se.iloc[-1])
    close(f.se[1:5], expected[5:9], "CLI post-stratified by dom SE")


@pytest.mark.parametrize("kind", REPLICATES)
def test_recalibrated_replicate_contrasts_and_glm_equal_r(kind):
    """On R's replicate weights raked replicate by replicate: domain means of
    two variables with their covariance, non-linear contrasts of them
    evaluated in every replicate, and a quasi-Poisson svyglm (refitted in
    every replicate). survey 4.1.1 mislabels svyby's replicate columns
    (documented in ``estimators.inference.contrast``): R's own contrast SEs
    (``contrasts_r_4.1.1``) are of other ratios; ``calib.R`` puts the
    columns in order, which is kalib's."""
    ref = ce_b()[2]
    prefix = f"{kind}/raking"
    d = recalibrated(kind, "raking")
    by = estimates(d, ["k", "x"], by="a")
    close(by.coef, ref[f"{prefix}/by_a_mean_kx"], f"{prefix} means by a")
    close(by.vcov.ravel(), ref[f"{prefix}/by_a_mean_kx/vcov"], f"{prefix} their covariance")
    c = svycontrast(by, {"ratio": "`a2:k` / `a1:k`", "log_ratio": "log(`a2:x`) - log(`a1:x`)"})
    close(np.r_[c.coef, c.vcov.ravel()], ref[f"{prefix}/contrasts"], f"{prefix} contrasts")
    r_own = ref[f"{prefix}/contrasts_r_4.1.1"]
    assert not np.allclose(np.sqrt(np.diag(c.vcov)), r_own[2:], rtol=1e-3), prefix
    compare_glm(d, ref, f"{prefix}/glm_poisson", "k ~ x + a", "poisson")
