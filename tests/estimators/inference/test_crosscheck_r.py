"""Independent cross-check of kalib's public API against R survey 4.1.1.

The datasets (``tests/reference/crosscheck/make_datasets.py``, seeded) were made
for this check only: stratified cluster samples with strata of unequal size
(one with 2 PSUs), unequal clusters, base weights varying within strata, a
crossed sex x age margin, a region margin with a rare category, a numeric
total, missing outcome values and a domain unrelated to the calibration. R's
values come from ``crosscheck.R`` beside them. Everything must agree to 1e-8
relative (svyglm 1e-7), except where kalib documents a deliberate deviation
(the Korn–Graubard interval of a domain of a calibrated linearization design,
and the degrees of freedom of a domain of a replicate design, also in
``svyquantile(na.rm = TRUE)``; see ``estimators/inference/estimate.py``), where the
documented value is asserted, computed by R with the documented n or df. R
also resets a replicate design's degf to the rank rule after unbounded linear
calibration only; kalib keeps the design's degf for every distance, and
``crosscheck.R`` restores it before estimating. cc_c has a single-PSU
(certainty) stratum and a take-all stratum: R's replicate estimators leave
their rows out unless ``survey.drop.replicates = FALSE``, wrong once
re-calibration has moved their replicate weights; kalib keeps them (as R with
the option, which crosscheck.R sets).
"""

import json
from functools import cache

import numpy as np
import pandas as pd
import pytest
from repo_paths import REFERENCE

from estimators.inference.chisq import rao_scott
from estimators.inference.contrast import domain_difference
from estimators.inference.estimate import (
    distribution_items,
    estimate_items,
    mean_items,
    svymean,
    svyprop,
    svyquantile,
    svyratio,
    svytotal,
)
from estimators.model import svyglm
from weighting import Margin, NumericTotal, calibrate
from weighting.design import Design

REF = REFERENCE / "crosscheck"
DATASETS = ["cc_a", "cc_b", "cc_c"]
RTOL = 1e-8
GLM_RTOL = 1e-7
CIPROP = {"logit": "logit", "beta": "beta", "mean": "wald", "xlogit": "xlogit"}


@cache
def load(name):
    data = pd.read_csv(REF / f"{name}.csv")
    spec = json.loads((REF / f"{name}_margins.json").read_text())
    ref = json.loads((REF / f"{name}_r.json").read_text())
    return data, spec, ref


def margins(spec, numeric=False):
    cross = Margin(("sex", "age"), {tuple(k.split("|")): v for k, v in spec["sex_age"].items()})
    found = [cross, Margin("region", spec["region"])]
    return found + [NumericTotal("x", spec["x_total"])] if numeric else found


DESIGNS = {
    "clus_fpc": dict(strata="stratum", psu="psu", fpc="fpc"),
    "clus": dict(strata="stratum", psu="psu"),
    "strat": dict(strata="stratum"),
    "clus_fraction": dict(strata="stratum", psu="psu", fpc="fpc_fraction"),
    "unstrat": dict(psu="psu"),
    "noweights": dict(strata="stratum", psu="psu", fpc="fpc", weights=None),
}


def base_design(name, key):
    # cc_c has a single-PSU stratum: no variance from it (R's "certainty")
    lonely = "certainty" if name == "cc_c" else "error"
    return Design(load(name)[0], lonely_psu=lonely, **{"weights": "d", **DESIGNS[key]})


@cache
def design(name, key, distance="raking", replicates=None):
    """The design of an R case, calibrated with ``distance`` (None: not)."""
    base = base_design(name, key)
    if distance is None:
        return base
    spec = load(name)[1]
    bounds = tuple(spec["bounds"]) if distance == "logit" else None
    calibrated = base.calibrate(
        margins(spec, distance != "raking"), distance=distance, bounds=bounds, tol=1e-12
    )
    return calibrated if replicates is None else calibrated.with_replicates(replicates)


# R case -> (design, calibration distance, replicate method)
LINEARIZATION = {
    "lin_clus_fpc": ("clus_fpc", "raking", None),
    "lin_clus": ("clus", "raking", None),
    "lin_strat": ("strat", "raking", None),
    "lin_clus_fraction": ("clus_fraction", "raking", None),
    "lin_noweights": ("noweights", "raking", None),
    "lin_logit_clus_fpc": ("clus_fpc", "logit", None),
    "lin_uncal_clus_fpc": ("clus_fpc", None, None),
    "lin_uncal_strat": ("strat", None, None),
}
REPLICATE = {
    "rep_jkn_fpc": ("clus_fpc", "raking", "jkn"),
    "rep_jkn": ("clus", "raking", "jkn"),
    "rep_jkn_fraction": ("clus_fraction", "raking", "jkn"),
    "rep_jk1": ("unstrat", "raking", "jk1"),
    "rep_jkn_fpc_linear": ("clus_fpc", "linear", "jkn"),
}
CASES = {**LINEARIZATION, **REPLICATE}
# The interval tests (one estimate per method and quantile) run on these; the
# other cases differ only in how the design is given, checked by the means.
CORE = [
    "lin_clus_fpc",
    "lin_strat",
    "lin_logit_clus_fpc",
    "lin_uncal_clus_fpc",
    "rep_jkn_fpc",
    "rep_jk1",
    "rep_jkn_fpc_linear",
]


def close(actual, expected, what, rtol=RTOL):
    np.testing.assert_allclose(
        np.asarray(actual, float), np.asarray(expected, float), rtol=rtol, atol=0, err_msg=what
    )


# -- calibration -------------------------------------------------------------------

# R case -> (distance, key of the bounds in the margins file, numeric total of x)
CALIBRATIONS = {
    "raking": ("raking", None, False),
    "raking_bounded": ("raking", "raking_bounds", False),
    "raking_x": ("raking", None, True),
    "linear": ("linear", None, True),
    "truncated": ("truncated", "bounds", True),
    "logit": ("logit", "bounds", True),
}


@pytest.mark.parametrize("case", CALIBRATIONS)
@pytest.mark.parametrize("name", DATASETS)
def test_calibrated_weights_equal_r(name, case):
    data, spec, ref = load(name)
    distance, bounds, numeric = CALIBRATIONS[case]
    result = calibrate(
        data,
        margins(spec, numeric),
        base_weights=data.d.to_numpy(),
        distance=distance,
        bounds=None if bounds is None else spec[bounds],
        tol=1e-12,
    )
    close(result.weights, ref[f"weights/{case}"], f"{name} {case} weights")
    g = result.weights / data.d.to_numpy()
    close([g.min(), g.max()], ref[f"grange/{case}"], f"{name} {case} g range")
    if bounds is not None and case != "logit":  # the fixture's bounds bind
        assert np.isclose(g.max(), spec[bounds][1]) or np.isclose(g.min(), spec[bounds][0])


@pytest.mark.parametrize("case", CALIBRATIONS)
@pytest.mark.parametrize("name", DATASETS)
def test_linearized_mean_after_each_distance_equals_r(name, case):
    _, spec, ref = load(name)
    distance, bounds, numeric = CALIBRATIONS[case]
    kwargs = {"distance": distance, "tol": 1e-12}
    if bounds is not None:
        kwargs["bounds"] = tuple(spec[bounds])
    d = base_design(name, "clus_fpc").calibrate(margins(spec, numeric), **kwargs)
    f = svymean(d, "y").frame
    close([f.estimate[0], f.se[0]], ref[f"mean_y/{case}"], f"{name} {case} mean(y)")


# -- estimates on calibrated designs -----------------------------------------------


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("name", DATASETS)
def test_means_totals_ratios_equal_r(name, case):
    _, _, ref = load(name)
    d = design(name, *CASES[case])
    means = svymean(d, "y", by=("all", "dom")).frame
    totals = svytotal(d, ["y", "x"], by=("all", "dom")).frame
    assert list(means.domain) == ["all", "d1", "d2", "d3"]
    whole = totals.domain == "all"
    is_y = totals.variable == "y"
    for key, f in (
        ("mean_y", means.iloc[:1]),
        ("total_y", totals[whole & is_y]),
        ("total_x", totals[whole & ~is_y]),
        ("ratio_y_x", svyratio(d, "y", "x").frame),
    ):
        f = f.reset_index(drop=True)
        r = ref[f"{case}/{key}"]
        if key == "total_x" and CASES[case][1] not in ("raking", None):
            # x is calibrated: its total is the target and both SEs are rounding noise
            close(f.estimate[0], r[0], f"{name} {case} {key}")
            assert f.se[0] < 1e-12 * r[0] and r[1] < 1e-12 * r[0]
            continue
        close([f.estimate[0], f.se[0]], r, f"{name} {case} {key}")
    for key, f in (("by_mean_y", means.iloc[1:]), ("by_total_y", totals[~whole & is_y])):
        assert list(f.domain) == ["d1", "d2", "d3"]
        close(np.r_[f.estimate, f.se], ref[f"{case}/{key}"], f"{name} {case} {key}")
    f = svyratio(d, "y", "x", by=("dom",)).frame
    close(np.r_[f.estimate, f.se], ref[f"{case}/by_ratio_y_x"], f"{name} {case} ratio by dom")
    close(means.deff[0], ref[f"{case}/deff_mean_y"], f"{name} {case} deff")
    shares = estimate_items(d, distribution_items(d, "opinion")).frame
    assert list(shares.variable) == ["opinion=agree", "opinion=disagree", "opinion=neutral"]
    close(
        np.r_[shares.estimate, shares.se],
        ref[f"{case}/share_opinion"],
        f"{name} {case} opinion shares",
    )
    diff = domain_difference(d, mean_items(d, ["x"]), "dom", "d1", "d2")
    close(
        [diff.estimate[0], diff.se[0]], ref[f"{case}/diff_mean_x_d1_d2"], f"{name} {case} d1 - d2"
    )
    assert d.degf == ref[f"{case}/degf"][0]


@pytest.mark.parametrize("method", CIPROP)
@pytest.mark.parametrize("case", CORE)
@pytest.mark.parametrize("name", DATASETS)
def test_svyciprop_equals_r(name, case, method):
    _, _, ref = load(name)
    d = design(name, *CASES[case])
    f = svyprop(d, "z", 1, by=("all", "dom"), ci=CIPROP[method]).frame
    assert list(f.domain) == ["all", "d1", "d2", "d3"]
    close(
        f.loc[0, ["estimate", "se", "ci_low", "ci_high"]],
        ref[f"{case}/ciprop_{method}"],
        f"{name} {case} {method}",
    )
    for g, row in zip(["d1", "d2", "d3"], f.iloc[1:].itertuples()):
        r = ref[f"{case}/ciprop_{method}/{g}"]
        what = f"{name} {case} {method} dom={g}"
        close([row.estimate, row.se], r[:2], what)
        # R's degf(subset(design, dom == g)) for linearization; documented
        # deviation for replicates: the design's degf in every domain, where
        # R's subset() takes the rank of the domain's replicate weights minus 1
        assert row.df == (d.degf if case in REPLICATE else r[4]), what
        if method == "beta":
            # documented deviation: also the domain's own size in t_{n-1}
            expected = ref[f"{case}/ciprop_beta_documented/{g}"]
            if CASES[case][1] is None:  # R's subset drops the rows: the same n
                close([row.ci_low, row.ci_high], r[2:4], what)
        elif case in REPLICATE:
            expected = ref[f"{case}/ciprop_{method}_design_df/{g}"]
        else:
            expected = r[2:4]
        close([row.ci_low, row.ci_high], expected, what)


@pytest.mark.parametrize("case", CORE)
@pytest.mark.parametrize("name", DATASETS)
def test_svychisq_equals_r(name, case):
    _, _, ref = load(name)
    test = rao_scott(design(name, *CASES[case]), "dom", "opinion")
    f_stat, ndf, ddf, f_p = ref[f"{case}/chisq_F"]
    close([test.f, test.f_ndf, test.f_ddf, test.f_p], [f_stat, ndf, ddf, f_p], f"{name} {case} F")
    _, df, chisq_p = ref[f"{case}/chisq_Chisq"]
    assert test.chisq_df == df
    close(test.chisq_p, chisq_p, f"{name} {case} Chisq")


@pytest.mark.parametrize("case", ["lin_uncal_clus_fpc", "lin_uncal_strat"])
@pytest.mark.parametrize("name", DATASETS)
def test_svychisq_in_a_domain_equals_r(name, case):
    """R's svychisq on subset(design, sex == "f") of an uncalibrated design."""
    data, _, ref = load(name)
    test = rao_scott(
        design(name, *CASES[case]), "dom", "opinion", domain=(data.sex == "f").to_numpy()
    )
    assert test.n == (data.sex == "f").sum()
    close(
        [test.f, test.f_ndf, test.f_ddf, test.f_p],
        ref[f"{case}/chisq_F/sex_f"],
        f"{name} {case} F in domain",
    )
    close(test.chisq_p, ref[f"{case}/chisq_Chisq/sex_f"][2], f"{name} {case} Chisq in domain")


@pytest.mark.parametrize("case", CORE)
@pytest.mark.parametrize("name", DATASETS)
def test_svyquantile_math_rule_equals_r(name, case):
    _, _, ref = load(name)
    q = svyquantile(design(name, *CASES[case]), "y", [0.1, 0.5, 0.9])
    expected = np.reshape(ref[f"{case}/quantile_y"], (3, 4))  # estimate, low, high, se
    close(
        q[["estimate", "ci_low", "ci_high", "se"]].to_numpy(), expected, f"{name} {case} quantiles"
    )
    q = svyquantile(design(name, *CASES[case]), "y", [0.5], by=("dom",))
    expected = [ref[f"{case}/median_y/{g}"] for g in ("d1", "d2", "d3")]
    close(
        q[["estimate", "ci_low", "ci_high", "se"]].to_numpy(),
        expected,
        f"{name} {case} medians by dom",
    )


# -- svyglm ------------------------------------------------------------------------

GLMS = {
    "gaussian": ("y ~ x + sex + region", "gaussian"),
    "quasibinomial": ("z ~ x + age", "quasibinomial"),
}
GLMS["subset"] = ("y ~ x + age", "gaussian")
GLM_DESIGNS = {
    "lin": ("clus_fpc", "raking", None),
    "jkn": ("clus_fpc", "raking", "jkn"),
    "jk1": ("unstrat", "raking", "jk1"),
    "strat": ("strat", "raking", None),
}


def r_term(term):
    """patsy's ``sex[T.m]`` is R's ``sexm``."""
    return term.replace("[T.", "").replace("]", "").replace("Intercept", "(Intercept)")


@pytest.mark.parametrize("family", GLMS)
@pytest.mark.parametrize("kind", GLM_DESIGNS)
@pytest.mark.parametrize("name", DATASETS)
def test_svyglm_equals_r(name, kind, family):
    _, _, ref = load(name)
    formula, fam = GLMS[family]
    d = design(name, *GLM_DESIGNS[kind])
    subset = (d.data.dom == "d1").to_numpy() if family == "subset" else None
    fit = svyglm(formula, d, fam, subset=subset)
    table = fit.tidy()
    key = f"glm_{kind}/{family}"
    table = table.set_index(table.term.map(r_term)).loc[ref[f"{key}/terms"]]
    assert len(table) == len(fit.terms)  # the same columns as R's, in R's order
    close(table.estimate, ref[f"{key}/coef"], f"{name} {key} coef", GLM_RTOL)
    close(table.se, ref[f"{key}/se"], f"{name} {key} se", GLM_RTOL)
