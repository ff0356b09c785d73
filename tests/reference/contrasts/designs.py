"""The three designs of ``contrasts_reference.json`` rebuilt in kalib, and the
stored R values (see README.md beside this file).

``apistrat``: stratified by stype with fpc (linearization); ``apiclus1_calibrated``:
one-stage cluster sample of districts with fpc, calibrated (linear, GREG) to the
stype counts of apipop; ``apistrat_jkn``: apistrat with R's own JKn replicate
weights, so that the estimators are checked against R independently of kalib's
replicate generator.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from weighting.design import Design
from weighting.margins import Margin

HERE = Path(__file__).resolve().parent
REF = json.loads((HERE / "contrasts_reference.json").read_text())
STRAT = pd.read_csv(HERE / "apistrat.csv")
CLUS = pd.read_csv(HERE / "apiclus1.csv")
# R's pop.totals: (Intercept) = 6194, stypeH = 755, stypeM = 1018
STYPE_TOTALS = {"E": 6194 - 755 - 1018, "H": 755, "M": 1018}


def _designs() -> dict:
    lin = Design(STRAT, weights="pw", strata="stype", fpc="fpc")
    cal = Design(CLUS, weights="pw", psu="dnum", fpc="fpc").calibrate(
        [Margin("stype", STYPE_TOTALS)], distance="linear"
    )
    reps = pd.read_csv(HERE / "apistrat_jkn_repweights.csv.gz")
    jd = REF["jkn_design"]
    jkn = lin.with_replicate_weights(
        reps.filter(like="rep_").to_numpy(),
        jd["scale"],
        jd["rscales"],
        jd["mse"],
        method="jkn",
        degf=REF["apistrat_jkn"]["degf"],
    )
    return {"apistrat": lin, "apiclus1_calibrated": cal, "apistrat_jkn": jkn}


DESIGNS = _designs()
#: The designs whose variance comes from replicates.
REPLICATE = {"apistrat_jkn"}
