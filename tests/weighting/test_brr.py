"""BRR and Fay's BRR against R survey 4.1.1 (tests/reference/brr, brr.R).

``as.svrepdesign(d, type = "BRR" | "Fay")`` on 10 strata x 2 PSUs: the
replicate weights, scale, rscales, degf and the estimates (means, totals,
shares, a ratio; mse FALSE and TRUE), and the same after ``calibrate`` of
every replicate (linear and raking); the kernel and numpy paths; collapsed
strata; bad input.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estimators.inference import estimate as E
from estimators.inference.contrast import estimates
from weighting import Margin
from weighting._backend import use_kernels
from weighting.design import Design
from weighting.errors import DesignError, KalibError
from weighting.hadamard import hadamard

REF_DIR = Path(__file__).parents[1] / "reference" / "brr"
REF = json.loads((REF_DIR / "brr_reference.json").read_text())
DATA = pd.read_csv(REF_DIR / "brr_data.csv")
TOTALS = json.loads((REF_DIR / "brr_calibration_totals.json").read_text())["margin"]
MARGIN = Margin("x", dict(zip(TOTALS["x"], TOTALS["total"])))
RTOL = 1e-8
REPS = [f"rep_{b}" for b in range(1, 13)]


def design():
    return Design(DATA, weights="w", strata="stratum", psu="psu")


def replicated(kind, mse=False, calibration=None):
    d = design().with_replicates(kind.lower(), fay_rho=0.5 if kind == "Fay" else None, mse=mse)
    if calibration is not None:
        d = d.calibrate([MARGIN], distance=calibration, tol=1e-13)
    return d


def blocks(d):
    """R's five calls of brr.R's ``estimates(D)``, as kalib Estimates."""
    return {
        "svymean_y_z": estimates(d, ["y", "z"]),
        "svytotal_y_z": estimates(d, ["y", "z"], statistic="total"),
        "svymean_x": estimates(d, E.distribution_items(d, "x")),
        "svytotal_x": estimates(
            d,
            [
                E.Item(
                    f"x{c}", (DATA["x"] == c).to_numpy(float), None, np.ones(d.n, bool), "total"
                )
                for c in "abc"
            ],
        ),
        "svyratio_y_z": estimates(d, [E.ratio_item(d, "y", "z")]),
    }


def assert_block(est, ref):
    names = list(ref["coef"])
    coef = np.array(list(ref["coef"].values()))
    np.testing.assert_allclose(est.coef, coef, rtol=RTOL)
    # SEs that are 0 in exact arithmetic (totals of a calibration variable)
    # are rounding noise in both: compared at 1e-8 of the estimate
    noise = RTOL * np.abs(coef).max()
    np.testing.assert_allclose(est.se, list(ref["se"].values()), rtol=RTOL, atol=noise)
    V = np.atleast_2d(np.array(ref["vcov"]["matrix"], dtype=float))
    assert V.shape == (len(names), len(names))
    np.testing.assert_allclose(est.vcov, V, rtol=RTOL, atol=max(RTOL * np.abs(V).max(), noise**2))


def assert_weights(d, file):
    ref = pd.read_csv(REF_DIR / file)
    W = d.replicate_weights()
    R = ref[REPS].to_numpy()
    np.testing.assert_allclose(W, R, rtol=1e-12, atol=1e-12 * R.max())
    np.testing.assert_allclose(d.weights, ref["weight"], rtol=1e-12)


@pytest.mark.parametrize("kind", ["BRR", "Fay"])
@pytest.mark.parametrize("mse", [False, True])
def test_replicates_and_estimates_equal_rs(kind, mse):
    d = replicated(kind, mse)
    ref = REF[kind + ("_mse" if mse else "")]
    info = ref["design"]
    assert (d.B, d.degf, d.mse) == (info["n_replicates"], info["degf"], info["mse"])
    np.testing.assert_allclose(d.scale, info["scale"], rtol=1e-15)
    np.testing.assert_array_equal(d.rscales, info["rscales"])
    assert_weights(d, f"{kind.lower()}_repweights.csv")
    for name, est in blocks(d).items():
        assert_block(est, ref[name])


@pytest.mark.parametrize("kind", ["BRR", "Fay"])
@pytest.mark.parametrize("distance", ["linear", "raking"])
def test_every_replicate_recalibrated_as_rs_calibrate(kind, distance):
    d = replicated(kind, calibration=distance)
    ref = REF[f"{kind}_calibrated_{distance}"]
    assert_weights(d, ref["weights_file"])
    X = np.column_stack([np.ones(d.n)] + [(DATA["x"] == c).to_numpy(float) for c in "bc"])
    achieved = d.replicate_weights().T @ X
    target = np.array(
        list(json.loads((REF_DIR / "brr_calibration_totals.json").read_text())["totals"].values())
    )
    assert np.abs(achieved - target).max() < 1e-8
    for name, est in blocks(d).items():
        assert_block(est, ref[name])
    # kalib keeps the replicate design's degf after calibrate (weighting.design);
    # R recomputes the rank after a linear calibration only
    assert d.degf == REF[kind]["design"]["degf"]


def test_totals_of_a_two_psu_design_have_the_linearization_se():
    """Full orthogonal balance: BRR reproduces the linearization variance of
    totals exactly (README of the reference)."""
    lin = estimates(design(), ["y", "z"], statistic="total")
    brr = estimates(replicated("BRR"), ["y", "z"], statistic="total")
    np.testing.assert_allclose(brr.vcov, lin.vcov, rtol=1e-10)
    assert_block(lin, REF["linearization"]["svytotal_y_z"])


@pytest.mark.parametrize("kind", ["BRR", "Fay"])
@pytest.mark.parametrize("distance", [None, "linear", "raking"])
def test_kernel_and_numpy_paths_agree(kind, distance):
    values = np.column_stack([DATA["y"], DATA["z"]])
    groups = pd.factorize(DATA["x"], sort=True)[0]
    out = {}
    for kernels in (True, False):
        with use_kernels(kernels):
            d = replicated(kind, calibration=distance)
            out[kernels] = (
                d.replicate_totals(values, groups, 3),
                d.replicate_weights(),
                None if d.replicates.g is None else d.replicates.g,
            )
    for a, b in zip(out[True], out[False]):
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=0)


def test_hadamard_rows_follow_the_text_order_of_stratum_labels():
    """Stratum 10 gets Hadamard row 3 (labels "1", "10", "2", ...), and in every
    replicate the PSU appearing first in the data gets 2 - rho where the row
    has a 1 (brr_hadamard.json's psu_table)."""
    ref = json.loads((REF_DIR / "brr_hadamard.json").read_text())["psu_table"]
    d = replicated("Fay")
    H = hadamard(10)
    mult = d.replicates.plan.table  # (B, P), PSUs in design order
    labels = [d.strata_labels[h] for h in d.psu_stratum]
    psu_label = {}
    for i, p in enumerate(d.psu):
        psu_label.setdefault(int(p), int(DATA["psu"][i]))
    for stratum, psu, row, first in zip(
        ref["stratum"], ref["psu"], ref["hadamard_row"], ref["first_in_stratum"]
    ):
        p = next(q for q, lab in psu_label.items() if lab == psu)
        assert labels[p] == str(stratum)
        high = np.where(H[row - 1] == 1, 1.5, 0.5)
        np.testing.assert_array_equal(mult[:, p], high if first else 2 - high)


def test_first_psu_is_the_one_first_in_the_data():
    """Reversing the rows swaps which PSU of each stratum is first: every
    replicate's multipliers of the two PSUs swap."""
    d = replicated("BRR")
    r = Design(
        DATA.iloc[::-1].reset_index(drop=True), weights="w", strata="stratum", psu="psu"
    ).with_replicates("brr")
    np.testing.assert_array_equal(r.replicates.plan.table, 2 - d.replicates.plan.table)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 40), st.floats(0.0, 0.95), st.integers(0, 2**31))
def test_balance_for_any_number_of_strata(H, rho, seed):
    """Every PSU's multipliers average 1 over the replicates; the replicate
    weights have rank H + 1 (degf = H) and R's scale."""
    rng = np.random.default_rng(seed)
    n_units = rng.integers(1, 4, size=2 * H)
    stratum = np.repeat(np.repeat(np.arange(H), 2), n_units)
    psu = np.repeat(np.arange(2 * H), n_units)
    perm = rng.permutation(len(psu))
    w = rng.uniform(1, 5, len(psu))
    d = Design(
        {"s": stratum[perm], "p": psu[perm], "w": w}, weights="w", strata="s", psu="p"
    ).with_replicates("fay", fay_rho=rho)
    table = d.replicates.plan.table
    assert d.B == hadamard(H).shape[0] and d.degf == H
    np.testing.assert_allclose(table.mean(axis=0), 1.0, rtol=1e-13)
    np.testing.assert_allclose(d.scale, 1 / (d.B * (1 - rho) ** 2), rtol=1e-15)
    assert np.linalg.matrix_rank(d.replicate_weights()) == H + 1


def test_collapse_strata_pairs_adjacent_one_psu_strata():
    data = pd.DataFrame(
        {
            "s": ["a", "a", "b", "c", "d", "d", "e"],
            "p": [1, 2, 3, 4, 5, 6, 7],
            "w": [1.0, 2, 3, 4, 5, 6, 7],
        }
    )
    d = Design(data, weights="w", strata="s", psu="p", lonely_psu="certainty")
    with pytest.raises(DesignError, match=r"3 stratum/strata with one PSU: b, c, e(?![,\w])"):
        d.with_replicates("brr")
    with pytest.raises(DesignError, match="odd number of them \\(3\\): stratum 'e'"):
        d.with_replicates("brr", collapse_strata=True)
    data.loc[len(data)] = ["g", 9, 9.0]
    d = Design(data, weights="w", strata="s", psu="p", lonely_psu="certainty")
    r = d.with_replicates("brr", collapse_strata=True)
    assert r.degf == 4 and r.B == 8  # pairs a, d and the pseudo-strata (b, c), (e, g)
    table = r.replicates.plan.table
    psu = {int(data["p"][i]): int(r.psu[i]) for i in range(len(data))}
    for one, other in ((3, 4), (7, 9), (1, 2), (5, 6)):
        np.testing.assert_array_equal(table[:, psu[one]] + table[:, psu[other]], 2.0)
    assert set(np.unique(table)) == {0.0, 2.0}


def test_a_stratum_of_three_psus_is_named():
    data = DATA.copy()
    data.loc[data["psu"] == 1002, "psu"] = 1003
    data.loc[data.index[-1], "psu"] = 1004
    d = Design(data, weights="w", strata="stratum", psu="psu")
    with pytest.raises(DesignError, match="stratum '10' has 3 PSUs"):
        d.with_replicates("brr")


@pytest.mark.parametrize("rho", [-0.1, 1.0, 1.5, float("nan"), "0.5", True])
def test_fay_rho_outside_0_1_is_named(rho):
    with pytest.raises(KalibError, match="fay_rho must be a number in \\[0, 1\\)"):
        design().with_replicates("fay", fay_rho=rho)


def test_options_belong_to_their_methods():
    with pytest.raises(KalibError, match="use method 'fay'"):
        design().with_replicates("brr", fay_rho=0.5)
    with pytest.raises(KalibError, match="not of 'jkn'"):
        design().with_replicates("jkn", fay_rho=0.5)
    with pytest.raises(KalibError, match="not of 'bootstrap'"):
        design().with_replicates("bootstrap", replicates=10, collapse_strata=True)


def test_fpc_is_refused():
    data = DATA.assign(N=100)
    d = Design(data, weights="w", strata="stratum", psu="psu", fpc="N")
    with pytest.raises(DesignError, match="no finite-population correction"):
        d.with_replicates("fay")


def test_calibrate_remakes_fay_with_its_rho():
    d = design().with_replicates("fay", fay_rho=0.3).calibrate([MARGIN], distance="linear")
    assert d.replicates.plan.fay_rho == 0.3
    np.testing.assert_allclose(d.scale, 1 / (12 * 0.7**2))
