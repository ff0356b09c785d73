"""Replicate-weight files and their sidecar (issue 17): the pair belongs
together (SHA-256), and every field the reader uses is checked."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from repo_paths import REFERENCE

from estimators.io.files import InputFileError
from estimators.io.replicate_file import (
    ReplicateFileError,
    file_sha256,
    read_replicate_weights,
    write_replicate_weights,
)
from weighting.design import Design


@pytest.fixture()
def pair(tmp_path):
    data = {"id": np.arange(1, 13), "s": np.repeat(["a", "b", "c"], 4), "w": np.linspace(1, 3, 12)}
    design = Design(data, weights="w", strata="s").with_replicates("jkn")
    path = tmp_path / "reps.csv"
    write_replicate_weights(design, path, ids=data["id"])
    return design, path


def _edit_sidecar(path, **changes):
    side = path.with_suffix(".json")
    meta = json.loads(side.read_text())
    meta.update(changes)
    side.write_text(json.dumps(meta))


def test_sidecar_records_the_checksum_of_its_table(pair):
    design, path = pair
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["version"] == 2 and meta["weights_sha256"] == file_sha256(path)
    back = read_replicate_weights(path)
    np.testing.assert_array_equal(back.repweights, design.replicate_weights())
    assert back.ids.tolist() == list(range(1, 13))  # ids stay integers


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"scale": -1}, "'scale' must be a positive number (it is -1)"),
        ({"scale": None}, "'scale' must be a positive number"),
        ({"method": "banana"}, "'method' must be one of bootstrap, jkn, jk1"),
        ({"replicates": 5}, "says 5 replicates"),
        ({"rscales": [1.0, 1.0]}, "2 rscales for 12 replicate columns"),
        ({"rscales": [1.0] * 11 + ["x"]}, "'rscales' must be a list of non-negative numbers"),
        ({"mse": "no"}, "'mse' must be true or false"),
        ({"degf": 1.5}, "'degf' must be a positive whole number or null"),
        ({"version": 3}, "'version' must be 1 to 2"),
        ({"weights_sha256": None}, "'weights_sha256' must be the table's SHA-256"),
    ],
)
def test_sidecar_fields_are_checked(pair, changes, message):
    _, path = pair
    _edit_sidecar(path, **changes)
    with pytest.raises(ReplicateFileError) as info:
        read_replicate_weights(path)
    assert message in str(info.value) and "reps.json" in str(info.value)


def test_a_table_from_another_run_is_refused(pair, tmp_path):
    design, path = pair
    other = design.with_replicates("bootstrap", replicates=12, seed=3)
    write_replicate_weights(other, tmp_path / "other.csv", ids=np.arange(1, 13))
    (tmp_path / "other.csv").replace(path)  # same shape, another run's numbers
    with pytest.raises(
        ReplicateFileError,
        match=r"'.*reps.csv' does not match its sidecar "
        r"'.*reps.json' \(SHA-256 differs\)",
    ):
        read_replicate_weights(path)


def _rewrite_table(path, frame):
    """Edit the table and re-sign it, as a user editing both by hand would."""
    frame.to_csv(path, index=False)
    _edit_sidecar(path, weights_sha256=file_sha256(path))


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda f: f.assign(rep_3=f["rep_3"].astype(object).where(f.index != 4, "abc")),
            "line 6, column 'rep_3': 'abc' is not a finite number",
        ),
        (
            lambda f: f.assign(weight=f["weight"].where(f.index != 0, np.nan)),
            "line 2, column 'weight': missing",
        ),
        (lambda f: f.rename(columns={"rep_2": "rep_x"}), "found 'rep_x' where 'rep_2' belongs"),
        (
            lambda f: f.assign(id=f["id"].where(f.index != 3, 2)),
            "id 2 appears 2 times (lines 3, 5)",
        ),
        (
            lambda f: f.assign(id=f["id"].astype(float).where(f.index != 3, np.nan)),
            "id column 'id' has 1 missing value(s) (line 5)",
        ),
        (lambda f: f.drop(columns="weight"), "(missing: weight)"),
    ],
)
def test_table_contents_are_checked(pair, edit, message):
    _, path = pair
    _rewrite_table(path, edit(pd.read_csv(path)))
    with pytest.raises(InputFileError) as info:
        read_replicate_weights(path)
    assert message in str(info.value) and "reps.csv" in str(info.value)


def test_version_1_sidecars_are_read_unverified():
    # written before checksums (tests/reference/variance/make_exports.py)
    back = read_replicate_weights(REFERENCE / "variance" / "export_jk1.csv")
    assert back.metadata["version"] == 1 and back.repweights.shape == (183, 15)


def test_a_sidecar_written_beside_r_replicates():
    back = read_replicate_weights(
        REFERENCE / "model" / "jkn_calibrated_weights.csv", id_columns=("id", "snum")
    )
    assert back.method == "JKn"
