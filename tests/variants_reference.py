"""The designs of tests/reference/calibration_variants (R ``survey`` 4.1.1,
issue 19) as kalib builds them, shared by the weighting and the estimators
tests: ``variant(name)`` is the kalib design of the R design ``name``."""

import csv
import json
import math

import numpy as np
from repo_paths import REFERENCE

from weighting import Margin, NumericTotal
from weighting.calibrate import calibrate, trim_weights
from weighting.design import Design

REF = REFERENCE / "calibration_variants"
JSON = json.loads((REF / "calibration_variants.json").read_text())
#: R's epsilon and maxit (the JSON's constants)
FIT = dict(tol=JSON["constants"]["EPS"], max_iter=int(JSON["constants"]["MAXIT"]))
POP_ENROLL = JSON["constants"]["pop_enroll"]


def read(name):
    with open(REF / name, newline="") as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([r[k] for r in rows]) for k in rows[0]}


def sample(base):
    data = read("apistrat.csv" if base == "dstrat" else "apiclus1.csv")
    for name in ("api00", "api99", "enroll", "api_stu", "pw", "fpc", "dnum"):
        data[name] = data[name].astype(float)
    data["one"] = np.full(len(data["pw"]), "1")  # R's intercept column
    return data


DATA = {base: sample(base) for base in ("dstrat", "dclus1")}
WEIGHTS = {
    base: read(f"{'apistrat' if base == 'dstrat' else 'apiclus1'}_weights.csv") for base in DATA
}


def design(base):
    if base == "dstrat":  # svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc)
        return Design(DATA[base], weights="pw", strata="stype", fpc="fpc")
    return Design(DATA[base], weights="pw", psu="dnum", fpc="fpc")  # id = ~dnum


pop = JSON["constants"]["pop_stype_api99"]
STYPE = Margin(
    "stype",
    {
        "E": pop["(Intercept)"] - pop["stypeH"] - pop["stypeM"],
        "H": pop["stypeH"],
        "M": pop["stypeM"],
    },
)
API99 = NumericTotal("api99", pop["api99"])
ENROLL = NumericTotal("enroll", POP_ENROLL)
INTERCEPT = Margin("one", {"1": pop["(Intercept)"]})
G3 = [STYPE, API99]
N_CLUS1 = len(DATA["dclus1"]["pw"])


def ratio_cases(base):
    """Topic A: ``~enroll - 1`` (one calibration column) and ``~enroll``."""
    return {
        f"{base}_ratio_v1": ([ENROLL], dict(distance="linear", variance=1)),
        f"{base}_ratio_vvec": ([ENROLL], dict(distance="linear", variance=DATA[base]["enroll"])),
        f"{base}_noint_homosk": ([ENROLL], dict(distance="linear")),
        f"{base}_greg_v01": ([INTERCEPT, ENROLL], dict(distance="linear", variance=[0, 1])),
        f"{base}_ratio_rake_v1": ([ENROLL], dict(distance="raking", variance=1)),
        f"{base}_greg": ([INTERCEPT, ENROLL], dict(distance="linear")),
    }


#: every R design that is a calibration kalib reproduces: (margins, settings)
CASES = {
    **ratio_cases("dstrat"),
    **ratio_cases("dclus1"),
    "dclus1_lin": ([STYPE], dict(distance="linear")),
    "dclus1_agg_lin": ([STYPE], dict(distance="linear", aggregate_stage=1)),
    "dclus1_agg_rake": ([STYPE], dict(distance="raking", aggregate_stage=1)),
    "dclus1_g3": (G3, dict(distance="linear")),
    "dclus1_g3_agg_lin": (G3, dict(distance="linear", aggregate_stage=1)),
    "dclus1_g3_agg_rake": (G3, dict(distance="raking", aggregate_stage=1)),
    "dclus1_g3_cb_lin": (G3, dict(distance="linear", weight_bounds=(18, 55))),
    "dclus1_g3_cb_rake": (G3, dict(distance="raking", weight_bounds=(18, 55))),
    "dclus1_g3_cb_logit": (G3, dict(distance="logit", weight_bounds=(18, 55))),
    "dclus1_g3_cb_lin_wide": (G3, dict(distance="linear", weight_bounds=(15, 60))),
    "dclus1_g3_cb_rake_wide": (G3, dict(distance="raking", weight_bounds=(15, 60))),
    "dclus1_g3_cb_list": (
        G3,
        dict(
            distance="linear", weight_bounds=(-math.inf, np.r_[40.0, np.full(N_CLUS1 - 1, np.inf)])
        ),
    ),
    "dclus1_g3_mb_lin": (G3, dict(distance="linear", bounds=(0.6, 1.6))),
    "dclus1_g3_mb_rake": (G3, dict(distance="raking", bounds=(0.6, 1.6))),
    "dstrat_cb_rake": (G3, dict(distance="raking", weight_bounds=(15, 60))),
}
#: trimWeights(design, lower, upper, strict)
TRIMS = {
    "dclus1_g3_tw": ("dclus1_g3", 20, 45, False),
    "dclus1_g3_tw_strict": ("dclus1_g3", 20, 45, True),
    "dclus1_g3_tw_upper": ("dclus1_g3", -math.inf, 50, False),
    "dstrat_tw": ("dstrat", 20, 40, False),
    "dstrat_tw_strict": ("dstrat", 20, 40, True),
}
#: R errors, and R's calibration-time trim (a documented difference)
OTHERS = {
    "dstrat",
    "dclus1",
    "dstrat_ratio_vformula",
    "dclus1_ratio_vformula",
    "dclus1_g3_cb_lin_infeasible",
    "dclus1_g3_trim",
}


def calibrated(name):
    margins, settings = CASES[name]
    return design(name.split("_")[0]).calibrate(margins, **settings, **FIT)


def trimmed(name):
    source, lower, upper, strict = TRIMS[name]
    base = calibrated(source) if source in CASES else design(source)
    return trim_weights(base, lower, upper, strict)


def variant(name):
    """The kalib design of an R design name (the estimators' tests use it too)."""
    if name in TRIMS:
        return trimmed(name)
    if name in CASES:
        return calibrated(name)
    return design(name)


def by_hand(base, margins, settings, method, seed=7, **options):
    """The replicate weights of the calibrated design, and each replicate's
    weights calibrated by hand (rows outside the replicate left out)."""
    plain = design(base).with_replicates(method, replicates=12, seed=seed, **options)
    W = plain.replicate_weights()
    cal = plain.calibrate(margins, **settings, **FIT)
    expected = np.zeros_like(W)
    for b in range(W.shape[1]):
        keep = W[:, b] > 0
        rows = {k: v[keep] for k, v in DATA[base].items()}
        own = dict(settings)
        if "weight_bounds" in settings:  # the full sample's g-bounds, kept per replicate
            m = W[keep, b] / plain.base_weights[keep]
            own["weight_bounds"] = tuple(
                (np.asarray(x)[keep] if np.ndim(x) else x) * m for x in settings["weight_bounds"]
            )
        if np.ndim(settings.get("variance")) and len(settings["variance"]) == len(keep):
            own["variance"] = np.asarray(settings["variance"])[keep]
        clusters = plain.psu[keep] if "aggregate_stage" in settings else None
        fit = calibrate(rows, margins, base_weights=W[keep, b], clusters=clusters, **own, **FIT)
        expected[keep, b] = fit.weights
    return cal, expected
