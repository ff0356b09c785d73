"""Re-calibrated replicate variance against R survey (tests/reference/variance/replicates.R):
JKn and JK1 re-raked to 1e-8; the bootstrap within Monte Carlo error of R's subbootstrap."""

import sys

import numpy as np
import pandas as pd
import pytest
from repo_paths import REFERENCE

from estimators.inference.variance import replicate_covariance
from weighting.design import Design

REF = REFERENCE / "variance"
sys.path.insert(0, str(REF))
from samples import API_MARGINS, business_margins  # noqa: E402

R = pd.concat([pd.read_csv(REF / "replicates.csv"), pd.read_csv(REF / "bootstrap.csv")]).set_index(
    ["case", "domain", "name"]
)


def estimates(design, data, y, by=None, total=False):
    """(labels, estimates, SEs) of the (domain) mean or total of ``y``."""
    labels = ["all"] if by is None else sorted(data[by].astype(str).unique())
    groups = (
        np.zeros(design.n, np.int64)
        if by is None
        else pd.Categorical(data[by].astype(str), categories=labels).codes.astype(np.int64)
    )
    values = np.column_stack([data[y].to_numpy(float), np.ones(design.n)])
    reps = design.replicate_totals(values, groups, len(labels))
    full = np.array(
        [design.weights[groups == g] @ values[groups == g] for g in range(len(labels))]
    )
    if total:
        theta, theta_reps = full[:, 0], reps[:, :, 0]
    else:
        theta, theta_reps = full[:, 0] / full[:, 1], reps[:, :, 0] / reps[:, :, 1]
    cov = replicate_covariance(theta, theta_reps, design.scale, design.rscales, design.mse)
    return labels, theta, np.sqrt(np.diag(cov))


def compare(
    design,
    data,
    case,
    rtol,
    means=("y1", "y2", "y3", "y4", "y5", "x"),
    domains=(("sector", "y1"), ("sector", "x"), ("size_class", "y1"), ("size_class", "x")),
):
    for y in means:
        _, est, se = estimates(design, data, y)
        assert est[0] == pytest.approx(R.loc[(case, "all", y), "estimate"], rel=1e-9)
        assert se[0] == pytest.approx(R.loc[(case, "all", y), "se"], rel=rtol), y
    for by, y in domains:
        labels, est, se = estimates(design, data, y, by)
        ref = R.loc[[(case, by, f"{y}|{label}") for label in labels]]
        np.testing.assert_allclose(est, ref.estimate, rtol=1e-9)
        np.testing.assert_allclose(se, ref.se, rtol=rtol, err_msg=f"{y} by {by}")


@pytest.fixture(scope="module")
def business():
    return pd.read_csv(REF / "business.csv")


@pytest.mark.parametrize("fpc", [False, True])
def test_jkn_reraked_equals_r(business, fpc):
    design = Design(business, weights="w", strata="stratum", fpc="N_h" if fpc else None)
    design = design.calibrate(business_margins(), tol=1e-13).with_replicates("jkn")
    assert design.B == 910 and design.convergence.converged.all()
    compare(design, business, "business_jkn_" + ("fpc" if fpc else "nofpc"), rtol=1e-8)


@pytest.mark.parametrize("fpc", [True, False])
def test_jk1_reraked_apiclus1_equals_r(fpc):
    api = pd.read_csv(REF / "apiclus1.csv")
    design = Design(api, weights="pw", psu="dnum", fpc="fpc" if fpc else None)
    design = design.calibrate(API_MARGINS, tol=1e-13).with_replicates("jk1")
    case = "apiclus1_jk1_" + ("fpc" if fpc else "nofpc")
    compare(design, api, case, rtol=1e-8, means=("api00", "enroll"), domains=(("stype", "api00"),))
    for y in ("api00", "enroll"):
        _, _, se = estimates(design, api, y, total=True)
        assert se[0] == pytest.approx(R.loc[(case, "all_total", y), "se"], rel=1e-8)


def test_bootstrap_reraked_within_monte_carlo_error_of_r(business):
    """B = 5000 both; every domain here has n >= 50: relative difference < 5%."""
    design = Design(business, weights="w", strata="stratum").calibrate(
        business_margins(), tol=1e-12
    )
    design = design.with_replicates("bootstrap", replicates=5000, seed=20170602)
    assert design.convergence.converged.all()
    assert (
        min(business.groupby("sector").size().min(), business.groupby("size_class").size().min())
        >= 50
    )
    compare(design, business, "business_subboot_5000", rtol=0.05)
