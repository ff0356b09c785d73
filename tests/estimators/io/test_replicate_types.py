"""Replicate weights of every ``svrepdesign`` type, given as a matrix or read from a
file without a sidecar, against R survey 4.1.1 (tests/reference/brr, brr.R's
``svrepdesign`` blocks): scale and rscales by R's rules, mse, degf, and the
means and totals with their covariance."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from estimators.inference.contrast import estimates
from estimators.io.replicate_file import (
    ReplicateFileError,
    read_replicate_weights,
    sidecar_path,
    write_replicate_weights,
)
from weighting.design import Design
from weighting.errors import KalibError
from weighting.replicates import svrep_constants

REF_DIR = Path(__file__).parents[2] / "reference" / "brr"
REF = json.loads((REF_DIR / "brr_reference.json").read_text())["svrepdesign"]
DATA = pd.read_csv(REF_DIR / "brr_data.csv")
RTOL = 1e-8

# reference variant: (replicate weight set, type, keywords as R's call gave them)
OTHER_RSCALES = 0.5 + np.arange(1, 51) / 100
VARIANTS = {
    "BRR": ("BRR", "brr", {}),
    "Fay": ("Fay", "fay", {"fay_rho": 0.5}),
    "successive_difference": ("sdr", "successive-difference", {}),
    "ACS": ("sdr", "ACS", {}),
    "JK1_scale_given": ("JK1", "jk1", {"scale": 19 / 20}),
    "JK1_scale_guessed": ("JK1", "jk1", {}),
    "JKn_rscales_given": ("JKn", "jkn", {"rscales": 0.5}),
    "bootstrap_default_scale": ("bootstrap", "bootstrap", {}),
    "bootstrap_scale_as_R_bootweights": ("bootstrap", "bootstrap", {"scale": 2 / 49}),
    "other": ("bootstrap", "other", {"scale": 0.04, "rscales": OTHER_RSCALES}),
    "other_defaults": ("bootstrap", "other", {}),
}


def weight_set(name):
    return pd.read_csv(REF_DIR / f"svrep_{name}_repweights.csv")


def assert_block(est, ref):
    coef = np.array(list(ref["coef"].values()))
    np.testing.assert_allclose(est.coef, coef, rtol=RTOL)
    np.testing.assert_allclose(est.se, list(ref["se"].values()), rtol=RTOL)
    V = np.array(ref["vcov"]["matrix"], dtype=float)
    np.testing.assert_allclose(est.vcov, V, rtol=RTOL, atol=RTOL * np.abs(V).max())


def assert_matches_r(d, ref, mse):
    info = ref["design"]
    assert (d.B, d.degf, d.mse) == (info["n_replicates"], info["degf"], mse)
    np.testing.assert_allclose(d.scale, info["scale"], rtol=1e-15)
    np.testing.assert_allclose(d.rscales, info["rscales"], rtol=1e-15)
    assert_block(estimates(d, ["y", "z"]), ref["svymean_y_z"])
    assert_block(estimates(d, ["y", "z"], statistic="total"), ref["svytotal_y_z"])


@pytest.mark.parametrize("mse", [False, True])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_matrix_of_every_type_equals_rs_svrepdesign(variant, mse):
    name, kind, keywords = VARIANTS[variant]
    reps = weight_set(name)
    d = Design(DATA, weights="w").with_replicate_weights(
        reps.filter(like="rep_").to_numpy(), mse=mse, replicate_type=kind, **keywords
    )
    assert d.method == {"ACS": "successive-difference"}.get(kind, kind)
    assert_matches_r(d, REF[f"mse_{str(mse).upper()}"][variant], mse)


@pytest.mark.parametrize("variant", ["successive_difference", "JKn_rscales_given", "other"])
def test_file_without_sidecar_reads_by_type(tmp_path, variant):
    """A file from another producer (no sidecar): R's rules for its type."""
    name, kind, keywords = VARIANTS[variant]
    path = tmp_path / "reps.csv"
    weight_set(name).to_csv(path, index=False)
    reps = read_replicate_weights(path, replicate_type=kind, **keywords)
    assert reps.metadata["sidecar"] is None and not reps.mse
    d = reps.attach(Design(DATA, weights="w"))
    assert_matches_r(d, REF["mse_FALSE"][variant], False)
    d = Design(DATA, weights="w").with_replicate_weights(
        reps.repweights, reps.scale, reps.rscales, mse=True, method=reps.method
    )
    assert_matches_r(d, REF["mse_TRUE"][variant], True)


def test_jkn_without_rscales_is_rs_error():
    assert (
        REF["mse_FALSE"]["JKn_rscales_missing"]["error"]
        == "Must provide rscales for combined JKn weights"
    )
    W = weight_set("JKn").filter(like="rep_").to_numpy()
    with pytest.raises(KalibError, match="Must provide rscales for combined JKn weights"):
        Design(DATA, weights="w").with_replicate_weights(W, replicate_type="jkn")


@pytest.mark.parametrize("rscales", [[0.5, 0.5, 0.5], np.ones((20, 2))])
def test_rscales_of_the_wrong_length_are_named(rscales):
    W = weight_set("JKn").filter(like="rep_").to_numpy()
    with pytest.raises(KalibError, match="rscales has .* values for 20 replicates"):
        Design(DATA, weights="w").with_replicate_weights(W, replicate_type="jkn", rscales=rscales)
    with pytest.raises(KalibError, match="rscales has .* values for 20 replicates"):
        Design(DATA, weights="w").with_replicate_weights(W, 1.0, rscales)


@pytest.mark.parametrize(
    "kind, keywords, message",
    [
        ("brr", {"scale": 0.5}, "type 'brr' has scale 0.08333333333"),
        ("successive-difference", {"rscales": 0.9}, "has rscales 1 for 80 replicates"),
        ("fay", {"fay_rho": 1.0}, r"fay_rho must be a number in \[0, 1\)"),
        ("jk1", {"fay_rho": 0.5}, "fay_rho belongs to the replicate type 'fay'"),
        ("jk2", {}, "unknown replicate type 'jk2'"),
        ("other", {"scale": -1.0}, "scale must be one positive number"),
    ],
)
def test_constants_contradicting_the_type_are_named(kind, keywords, message):
    B = 12 if kind in ("brr", "fay", "jk1", "jk2", "other") else 80
    with pytest.raises(KalibError, match=message):
        svrep_constants(kind, B, **keywords)


def test_fixed_constants_given_as_the_type_has_them_are_accepted():
    assert svrep_constants("SDR", 80, scale=0.05, rscales=1)[:2] == ("successive-difference", 0.05)


def test_file_without_sidecar_needs_a_type(tmp_path):
    path = tmp_path / "reps.csv"
    weight_set("BRR").to_csv(path, index=False)
    with pytest.raises(ReplicateFileError, match="has no sidecar") as info:
        read_replicate_weights(path)
    assert info.value.option == "replicate_type"


def test_a_sidecar_and_a_type_are_not_both_taken(tmp_path):
    d = Design(DATA, weights="w", strata="stratum", psu="psu").with_replicates("brr")
    path = write_replicate_weights(d, tmp_path / "reps.csv", ids=DATA["id"].to_numpy())
    assert sidecar_path(path).is_file()
    with pytest.raises(
        ReplicateFileError, match="replicate_type, scale are for a file without one"
    ):
        read_replicate_weights(path, replicate_type="brr", scale=1 / 12)
    reps = read_replicate_weights(path)  # the sidecar's own: kalib's BRR
    assert reps.method == "brr" and reps.scale == 1 / 12
    assert_matches_r(reps.attach(Design(DATA, weights="w")), REF["mse_FALSE"]["BRR"], False)
