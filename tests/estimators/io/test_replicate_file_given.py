"""Replicate weights given through the API (``Design.with_replicate_weights``,
R's weights attached as they are) written and read back: they were never
re-calibrated here, so the sidecar has no convergence record."""

import json

import numpy as np
import pandas as pd

from estimators.io.replicate_file import read_replicate_weights, write_replicate_weights
from weighting.design import Design


def test_given_replicate_weights_are_written_and_read_back(tmp_path):
    # was: AttributeError: 'NoneType' object has no attribute 'rows'
    frame = pd.DataFrame({"id": range(1, 9), "s": list("aabbccdd"), "w": np.linspace(1, 2, 8)})
    W = frame["w"].to_numpy()[:, None] * np.random.default_rng(1).uniform(0.5, 1.5, (8, 3))
    design = Design(frame, weights="w", strata="s").with_replicate_weights(
        W, scale=0.5, rscales=[1.0, 1.0, 2.0]
    )
    path = tmp_path / "r.csv"
    write_replicate_weights(design, path, ids=frame["id"])
    assert json.loads(path.with_suffix(".json").read_text())["convergence"] is None
    back = read_replicate_weights(path)
    np.testing.assert_array_equal(back.repweights, W)
    np.testing.assert_array_equal(back.weights, frame["w"])
    assert back.scale == 0.5 and back.rscales.tolist() == [1.0, 1.0, 2.0]
