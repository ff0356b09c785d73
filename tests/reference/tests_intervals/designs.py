"""The designs of ``tests_intervals.R`` rebuilt in kalib, and its values.

``dstrat`` (stratified, fpc) and ``dclus1`` (one-stage cluster, fpc) by
linearization; ``rclus1`` and ``bclus1``: ``dclus1`` with R's own JK1 and
bootstrap replicate weights (read from the CSVs R wrote), so the estimators
are checked against R independently of kalib's replicate generators.
``dclus2`` (two stages, an fpc per stage) needs multistage designs, which
``Design`` does not have yet: its reference values are not used.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd

from weighting.design import Design

HERE = Path(__file__).resolve().parent
R = json.loads((HERE / "tests_intervals.json").read_text())


def _data(name):
    return pd.read_csv(HERE / f"{name}.csv", dtype={"cds": str})


def _replicated(base, name):
    info = R["replicate_designs"][name]
    reps = pd.read_csv(HERE / info["weights_file"])
    assert (reps["snum"].to_numpy() == base.data["snum"].to_numpy()).all()
    W = reps.drop(columns="snum").to_numpy(float)
    return base.with_replicate_weights(
        W,
        info["scale"],
        np.asarray(info["rscales"], float),
        mse=info["mse"],
        method=info["type"].lower(),
        degf=info["degf"],
    )


DSTRAT = Design(_data("apistrat"), weights="pw", strata="stype", fpc="fpc")
DCLUS1 = Design(_data("apiclus1"), weights="pw", psu="dnum", fpc="fpc")
DESIGNS = {
    "dstrat": DSTRAT,
    "dclus1": DCLUS1,
    "rclus1": _replicated(DCLUS1, "rclus1"),
    "bclus1": _replicated(DCLUS1, "bclus1"),
}
LINEARIZED = ("dstrat", "dclus1")
