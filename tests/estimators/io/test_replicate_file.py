"""Exported replicate weights: R's svrepdesign(type = "other") on our files gives
our standard errors (tests/reference/variance/export.R, export_r.csv)."""

import importlib.util
import json

import numpy as np
import pandas as pd
import pytest
from repo_paths import REFERENCE

from estimators.inference.variance import replicate_covariance
from estimators.io.files import OutputExistsError
from estimators.io.replicate_file import (
    margins_from_metadata,
    read_replicate_weights,
    write_replicate_weights,
)
from weighting.design import Design
from weighting.margins import Margin

REF = REFERENCE / "variance"
R = pd.read_csv(REF / "export_r.csv")
_spec = importlib.util.spec_from_file_location("make_exports", REF / "make_exports.py")
make_exports = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_exports)

CASES = {
    "export_boot": (["y1", "y2", "y3", "y4", "y5", "x"], ["sector", "size_class"]),
    "export_boot_mse": (["y1", "x"], ["sector", "size_class"]),
    "export_jkn_fpc": (["api00", "enroll"], ["both"]),
    "export_jk1": (["api00", "enroll"], ["stype"]),
}


@pytest.fixture(scope="module")
def designs():
    return make_exports.designs()


def mean_se(design, data, y, by=None):
    """Replicate SEs of (domain) means of ``y``: ratio of replicate totals."""
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
    theta, theta_reps = full[:, 0] / full[:, 1], reps[:, :, 0] / reps[:, :, 1]
    cov = replicate_covariance(theta, theta_reps, design.scale, design.rscales, design.mse)
    return labels, theta, np.sqrt(np.diag(cov))


@pytest.mark.parametrize("case", list(CASES))
def test_r_reproduces_our_standard_errors(designs, case):
    data, design = designs[case]
    ys, bys = CASES[case]
    ref = R[R.case == case].set_index(["domain", "name"])
    for y in ys:
        _, est, se = mean_se(design, data, y)
        assert est[0] == pytest.approx(ref.loc[("all", y), "estimate"], rel=1e-12)
        assert se[0] == pytest.approx(ref.loc[("all", y), "se"], rel=1e-10)
    for by in bys:
        labels, est, se = mean_se(design, data, ys[0], by)
        keys = [(by, f"{ys[0]}|{label}") for label in labels]
        np.testing.assert_allclose(se, ref.loc[keys, "se"], rtol=1e-10)


@pytest.mark.parametrize("case", ["export_boot_mse", "export_jk1"])
def test_file_read_back_gives_the_same_standard_errors(designs, case):
    data, design = designs[case]
    stored = read_replicate_weights(REF / f"{case}.csv")
    given = stored.attach(Design(data))
    assert given.method == design.method and given.mse == design.mse
    assert given.degf == design.degf
    y = CASES[case][0][0]
    np.testing.assert_allclose(mean_se(given, data, y)[2], mean_se(design, data, y)[2], rtol=1e-12)
    np.testing.assert_allclose(stored.repweights, design.replicate_weights(), rtol=1e-15)


def test_sidecar_records_the_run(designs):
    data, design = designs["export_boot_mse"]
    meta = json.loads((REF / "export_boot_mse.json").read_text())
    assert (meta["method"], meta["seed"], meta["replicates"], meta["mse"]) == (
        "bootstrap",
        7,
        20,
        True,
    )
    assert meta["scale"] == pytest.approx(1 / 19) and meta["rscales"] == [1.0] * 20
    assert [row["replicate"] for row in meta["convergence"]] == list(range(1, 21))
    assert all(row["converged"] and row["error"] <= 1e-13 for row in meta["convergence"])
    cal = meta["calibration"]
    assert cal["distance"] == "raking" and cal["tol"] == 1e-13 and cal["bounds"] is None
    margins = margins_from_metadata(meta)
    assert [m.variables for m in margins] == [("sector", "size_class"), ("nace",)]
    again = Design(data, weights="w", strata="stratum", fpc="N_h").calibrate(margins, tol=1e-13)
    np.testing.assert_allclose(again.weights, design.weights, rtol=1e-12)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_round_trip_and_no_silent_overwrite(designs, tmp_path, suffix):
    data, design = designs["export_jk1"]
    path = tmp_path / f"reps{suffix}"
    write_replicate_weights(design, path, ids=data["cds"].to_numpy())
    back = read_replicate_weights(path)
    np.testing.assert_array_equal(back.repweights, design.replicate_weights())
    np.testing.assert_array_equal(back.weights, design.weights)
    np.testing.assert_array_equal(back.rscales, design.rscales)
    assert back.scale == design.scale and list(back.ids) == list(data["cds"])
    with pytest.raises(OutputExistsError, match="--force"):
        write_replicate_weights(design, path)
    write_replicate_weights(design, path, force=True)


def test_failed_replicates_are_flagged_in_the_sidecar(tmp_path):
    data = {
        "id": np.arange(8),
        "s": np.array(["a"] * 6 + ["b"] * 2),
        "nace": np.array(list("XYXYXY") + ["Z", "X"]),
        "w": np.full(8, 10.0),
    }
    margin = Margin("nace", {"X": 40, "Y": 30, "Z": 10})
    design = (
        Design(data, weights="w", strata="s")
        .calibrate([margin])
        .with_replicates("jkn", accept_failures=True)
    )
    write_replicate_weights(design, tmp_path / "r.csv", ids=data["id"])
    rows = json.loads((tmp_path / "r.json").read_text())["convergence"]
    assert [r["replicate"] for r in rows if not r["converged"]] == [7]
    assert rows[6]["error"] is None and rows[0]["error"] <= 1e-10
