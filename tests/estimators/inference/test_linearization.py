"""Linearization variance against R survey (tests/reference/variance/linearization.R)."""

import sys

import numpy as np
import pandas as pd
import pytest
from repo_paths import REFERENCE

from estimators.inference.variance import linearization_covariance, replicate_covariance
from weighting.design import Design

REF = REFERENCE / "variance"
sys.path.insert(0, str(REF))
from samples import API_MARGINS, business_margins  # noqa: E402

R = pd.read_csv(REF / "linearization.csv")


def reference(case, what, domain="all"):
    rows = R[(R.case == case) & (R.what == what) & (R.domain == domain)]
    assert len(rows), (case, what, domain)
    return rows.set_index("name")


def total_se(design, data, names):
    z = data[names].to_numpy(float)
    est = design.weights @ z
    return est, np.sqrt(np.diag(linearization_covariance(design, z)))


def mean_se(design, data, names):
    z = data[names].to_numpy(float)
    w = design.weights
    est = w @ z / w.sum()
    influence = (z - est) / w.sum()
    return est, np.sqrt(np.diag(linearization_covariance(design, influence)))


def domain_mean_se(design, data, y, by):
    labels = sorted(data[by].astype(str).unique())
    w, z = design.weights, data[y].to_numpy(float)
    est, infl = [], []
    for label in labels:
        ind = (data[by].astype(str) == label).to_numpy(float)
        nd = w @ ind
        m = w @ (ind * z) / nd
        est.append(m)
        infl.append(ind * (z - m) / nd)
    V = linearization_covariance(design, np.column_stack(infl))
    return labels, np.array(est), np.sqrt(np.diag(V))


@pytest.fixture(scope="module")
def apistrat():
    return pd.read_csv(REF / "apistrat.csv")


@pytest.fixture(scope="module")
def apiclus1():
    return pd.read_csv(REF / "apiclus1.csv")


@pytest.mark.parametrize("fpc", [True, False])
def test_stratified_totals_means_domains(apistrat, fpc):
    d = Design(apistrat, weights="pw", strata="stype", fpc="fpc" if fpc else None)
    case = "apistrat_" + ("fpc" if fpc else "nofpc")
    for fn, what in ((total_se, "total"), (mean_se, "mean")):
        est, se = fn(d, apistrat, ["api00", "enroll"])
        ref = reference(case, what)
        np.testing.assert_allclose(est, ref.loc[["api00", "enroll"], "estimate"], rtol=1e-12)
        np.testing.assert_allclose(se, ref.loc[["api00", "enroll"], "se"], rtol=1e-10)
    labels, est, se = domain_mean_se(d, apistrat, "api00", "sch.wide")
    ref = reference(case, "mean", "sch.wide").loc[labels]
    np.testing.assert_allclose(est, ref.estimate, rtol=1e-12)
    np.testing.assert_allclose(se, ref.se, rtol=1e-10)


@pytest.mark.parametrize("fpc", [True, False])
def test_cluster_sample(apiclus1, fpc):
    d = Design(apiclus1, weights="pw", psu="dnum", fpc="fpc" if fpc else None)
    case = "apiclus1_" + ("fpc" if fpc else "nofpc")
    assert d.degf == 14  # 15 districts, one stratum
    for fn, what in ((total_se, "total"), (mean_se, "mean")):
        est, se = fn(d, apiclus1, ["api00", "enroll"])
        ref = reference(case, what)
        np.testing.assert_allclose(se, ref.loc[["api00", "enroll"], "se"], rtol=1e-10)


def test_fpc_as_fraction_equals_counts(apistrat):
    counts = Design(apistrat, weights="pw", strata="stype", fpc="fpc")
    fraction = (apistrat.groupby("stype")["cds"].transform("size") / apistrat["fpc"]).to_numpy()
    fractions = Design(apistrat, weights="pw", strata="stype", fpc=fraction)
    z = apistrat[["api00"]].to_numpy(float)
    np.testing.assert_allclose(
        linearization_covariance(fractions, z), linearization_covariance(counts, z), rtol=1e-13
    )


def test_take_all_stratum_contributes_nothing():
    rng = np.random.default_rng(1)
    strata = np.repeat([0, 1], [10, 20])
    y = rng.normal(size=30)
    fpc = np.where(strata == 0, 10, 400)
    full = Design(weights=np.ones(30), strata=strata, fpc=fpc)
    only_b = Design(weights=np.ones(20), strata=strata[10:], fpc=fpc[10:])
    v = linearization_covariance(full, y)
    assert v[0, 0] == pytest.approx(linearization_covariance(only_b, y[10:])[0, 0], rel=1e-13)
    y2 = y.copy()
    y2[:10] += 100 * rng.normal(size=10)  # noise in the take-all stratum is not variance
    assert linearization_covariance(full, y2)[0, 0] == pytest.approx(v[0, 0], rel=1e-12)


def test_certainty_and_merge_of_lonely_psu():
    strata = np.array(["a", "a", "a", "b", "c", "c"])
    y = np.array([1.0, 2.0, 4.0, 7.0, 3.0, 5.0])
    w = np.full(6, 2.0)
    certain = Design(weights=w, strata=strata, lonely_psu="certainty")
    without_b = Design(weights=np.delete(w, 3), strata=np.delete(strata, 3))
    assert linearization_covariance(certain, y)[0, 0] == pytest.approx(
        linearization_covariance(without_b, np.delete(y, 3))[0, 0], rel=1e-14
    )
    merged = Design(weights=w, strata=strata, lonely_psu={"b": "a"})
    same = Design(weights=w, strata=np.array(["a", "a", "a", "a", "c", "c"]))
    assert merged.n_strata == 2 and merged.degf == 4
    assert linearization_covariance(merged, y)[0, 0] == pytest.approx(
        linearization_covariance(same, y)[0, 0], rel=1e-14
    )


def test_replicate_covariance_conventions():
    rng = np.random.default_rng(3)
    reps = rng.normal(size=(40, 2))
    full = np.array([0.3, -0.2])
    rscales = np.r_[np.zeros(5), np.full(35, 0.5)]
    v = replicate_covariance(full, reps, 0.1, rscales)
    centre = reps[5:].mean(axis=0)  # only replicates with rscales > 0 set the centre
    expected = 0.1 * 0.5 * (reps[5:] - centre).T @ (reps[5:] - centre)
    np.testing.assert_allclose(v, expected, rtol=1e-13)
    vm = replicate_covariance(full, reps, 0.1, rscales, mse=True)
    np.testing.assert_allclose(vm, 0.1 * 0.5 * (reps[5:] - full).T @ (reps[5:] - full), rtol=1e-13)
    assert np.all(np.diag(vm) >= np.diag(v))


@pytest.mark.parametrize("fpc", [True, False])
def test_raked_stratified_and_cluster_samples(apistrat, apiclus1, fpc):
    tag = "fpc" if fpc else "nofpc"
    strat = Design(apistrat, weights="pw", strata="stype", fpc="fpc" if fpc else None)
    strat = strat.calibrate(API_MARGINS, tol=1e-13)
    clus = Design(apiclus1, weights="pw", psu="dnum", fpc="fpc" if fpc else None)
    clus = clus.calibrate(API_MARGINS, tol=1e-13)
    for design, data, case, by in (
        (strat, apistrat, f"apistrat_rake_{tag}", "both"),
        (clus, apiclus1, f"apiclus1_rake_{tag}", "stype"),
    ):
        for fn, what in ((total_se, "total"), (mean_se, "mean")):
            est, se = fn(design, data, ["api00", "enroll"])
            ref = reference(case, what).loc[["api00", "enroll"]]
            np.testing.assert_allclose(est, ref.estimate, rtol=1e-10)
            np.testing.assert_allclose(se, ref.se, rtol=1e-8)
        labels, est, se = domain_mean_se(design, data, "api00", by)
        ref = reference(case, "mean", by).loc[labels]
        np.testing.assert_allclose(est, ref.estimate, rtol=1e-10)
        np.testing.assert_allclose(se, ref.se, rtol=1e-8)


@pytest.mark.parametrize("fpc", [True, False])
def test_raked_business_sample(fpc):
    data = pd.read_csv(REF / "business.csv")
    design = Design(data, weights="w", strata="stratum", fpc="N_h" if fpc else None)
    design = design.calibrate(business_margins(), tol=1e-13)
    case = "business_rake_" + ("fpc" if fpc else "nofpc")
    names = ["y1", "y2", "y3", "y4", "y5", "x"]
    est, se = mean_se(design, data, names)
    ref = reference(case, "mean").loc[names]
    np.testing.assert_allclose(est, ref.estimate, rtol=1e-10)
    np.testing.assert_allclose(se, ref.se, rtol=1e-8)
    est, se = total_se(design, data, ["y1", "x"])
    np.testing.assert_allclose(se, reference(case, "total").loc[["y1", "x"], "se"], rtol=1e-8)
    for by in ("sector", "size_class"):
        labels, est, se = domain_mean_se(design, data, "y1", by)
        np.testing.assert_allclose(se, reference(case, "mean", by).loc[labels, "se"], rtol=1e-8)


def test_calibration_removes_variance_of_calibrated_totals(apistrat):
    """A margin total is reproduced exactly in every sample: its variance is 0."""
    design = Design(apistrat, weights="pw", strata="stype", fpc="fpc").calibrate(API_MARGINS)
    indicator = (apistrat["sch.wide"] == "Yes").to_numpy(float)
    assert linearization_covariance(design, indicator)[0, 0] < 1e-16 * 5122**2
    uncal = Design(apistrat, weights="pw", strata="stype", fpc="fpc")
    assert linearization_covariance(uncal, indicator)[0, 0] > 1e3
