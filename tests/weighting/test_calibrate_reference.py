"""Calibrated weights equal R survey's calibrate(..., epsilon = 1e-12) to
1e-8 relative (tests/reference/calibrate/calibrate_reference.R)."""

import csv

import numpy as np
import pytest
from repo_paths import REFERENCE

from weighting import Margin, NumericTotal, calibrate

REF = REFERENCE / "calibrate"
DISTANCES = ["raking", "linear", "logit", "truncated", "raking_bounded"]


def read(name):
    with open(REF / name, newline="") as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([r[k] for r in rows]) for k in rows[0]}


def apiclus1():
    data = read("apiclus1.csv")
    margins = [
        Margin("stype", {"E": 4421, "H": 755, "M": 1018}),
        Margin("sch.wide", {"No": 1072, "Yes": 5122}),
    ]
    return data, margins, data["pw"].astype(float), (0.5, 1.8), read("apiclus1_weights.csv")


def business():
    data = read("business_sample.csv")
    cross = read("business_sector_size.csv")
    nace = read("business_nace.csv")
    margins = [
        Margin(
            ("sector", "size_class"),
            dict(zip(zip(cross["sector"], cross["size_class"]), cross["total"].astype(float))),
        ),
        Margin("nace", dict(zip(nace["nace"], nace["total"].astype(float)))),
    ]
    return data, margins, data["w"].astype(float), (0.8, 1.2), read("business_weights.csv")


def options(name, bounds):
    return {
        "raking": dict(distance="raking"),
        "linear": dict(distance="linear"),
        "logit": dict(distance="logit", bounds=bounds),
        "truncated": dict(distance="truncated", bounds=bounds),
        "raking_bounded": dict(distance="raking", bounds=bounds),
    }[name]


@pytest.mark.parametrize("dataset", [apiclus1, business])
@pytest.mark.parametrize("name", DISTANCES)
def test_weights_equal_r_calibrate(dataset, name):
    data, margins, base, bounds, reference = dataset()
    result = calibrate(data, margins, base_weights=base, tol=1e-12, **options(name, bounds))
    expected = reference[name].astype(float)
    assert result.converged
    np.testing.assert_allclose(result.weights, expected, rtol=1e-8, atol=0)


def test_bounds_bind_in_the_business_reference():
    # Otherwise the bounded cases would not test the bounds.
    _, _, base, bounds, reference = business()
    for name in ("truncated", "raking_bounded"):
        g = reference[name].astype(float) / base
        assert np.isclose(g.max(), bounds[1]) or np.isclose(g.min(), bounds[0])


@pytest.mark.parametrize("name", DISTANCES)
def test_numeric_total_beside_categorical_margins_equals_r(name):
    data, margins, base, bounds, _ = apiclus1()
    data["enroll"] = data["enroll"].astype(float)
    reference = read("apiclus1_numeric_weights.csv")[name].astype(float)
    result = calibrate(
        data,
        margins + [NumericTotal("enroll", 3575000)],
        base_weights=base,
        tol=1e-12,
        **options(name, bounds),
    )
    assert result.problem.rows_are_units
    np.testing.assert_allclose(result.weights, reference, rtol=1e-8, atol=0)
