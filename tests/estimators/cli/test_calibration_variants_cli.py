"""``--aggregate-stage``, ``--calibration-variance``, ``--weight-bounds`` and
``kalib rake --trim-weights [--strict]`` on the command line: against R
(tests/reference/calibration_variants) where its designs are categorical,
else against the library call they stand for; and the errors they name."""

import numpy as np
import pandas as pd
import pytest
from variants_reference import JSON, REF, STYPE, pop

from estimators.cli import main
from weighting.calibrate import calibrate, trimmed_weights

RESULTS = JSON["results"]
SAMPLE = str(REF / "apiclus1.csv")


@pytest.fixture
def margins(tmp_path):
    path = tmp_path / "stype.csv"
    rows = "".join(f"{stype},{total:g}\n" for (stype,), total in STYPE.table.items())
    path.write_text("stype,total\n" + rows)  # R's pop_stype
    return str(path)


def frame():
    return pd.read_csv(SAMPLE, dtype={"stype": str})


@pytest.mark.parametrize(
    ("distance", "design"), [("linear", "dclus1_agg_lin"), ("raking", "dclus1_agg_rake")]
)
def test_aggregate_stage_estimates_equal_r(tmp_path, margins, distance, design):
    out = tmp_path / "est.csv"
    code = main(
        ["estimate", SAMPLE, "--id", "snum", "--weight", "pw", "--psu", "dnum", "--fpc", "fpc"]
        + ["--margins", margins, "--calibration", distance, "--aggregate-stage", "1"]
        + ["--tol", "1e-14", "--mean", "api00", "--by", "all", "--by", "stype"]
        + ["--out", str(out), "--force", "--quiet"]
    )
    assert code == 0
    f = pd.read_csv(out)
    whole, by = RESULTS[design]["mean_api00"], RESULTS[design]["by_stype_mean_api00"]
    np.testing.assert_allclose(
        f["estimate"], [whole["estimate"]["api00"], *by["estimate"].values()], rtol=1e-10
    )
    np.testing.assert_allclose(f["se"], [whole["se"]["api00"], *by["se"].values()], rtol=1e-8)


def test_variance_column_and_weight_bounds_are_the_library_call(tmp_path, margins):
    out = tmp_path / "w.csv"
    options = ["--calibration", "raking", "--calibration-variance", "enroll"]
    options += ["--weight-bounds", "25,60", "--tol", "1e-12"]
    code = main(
        ["rake", SAMPLE, "--weight", "pw", "--margins", margins, *options]
        + ["--out", str(out), "--quiet"]
    )
    assert code == 0
    data = frame()
    expected = calibrate(
        data,
        [STYPE],
        base_weights=data["pw"].to_numpy(),
        distance="raking",
        variance="enroll",
        weight_bounds=(25, 60),
        tol=1e-12,
    ).weights
    weights = pd.read_csv(out)["weight"].to_numpy()
    np.testing.assert_array_equal(weights, expected)
    assert weights.min() >= 25 - 1e-9 and weights.max() <= 60 + 1e-9


def test_trim_weights_after_calibrating(tmp_path, margins, capsys):
    out = tmp_path / "w.csv"
    code = main(
        ["rake", SAMPLE, "--weight", "pw", "--margins", margins, "--calibration", "linear"]
        + ["--trim-weights", "28,40", "--strict", "--out", str(out)]
    )
    assert code == 0
    data = frame()
    calibrated = calibrate(
        data, [STYPE], base_weights=data["pw"].to_numpy(), distance="linear"
    ).weights
    weights = pd.read_csv(out)["weight"].to_numpy()
    np.testing.assert_array_equal(weights, trimmed_weights(calibrated, 28, 40, strict=True))
    assert weights.max() <= 40 and weights.sum() == pytest.approx(pop["(Intercept)"], rel=1e-12)
    assert "trim_weights [28, 40] strict:" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--weight-bounds", "20,50", "--calibration", "linear"], "stype=H: target 755"),
        (["--weight-bounds", "20,50", "--bounds", "0.5,2"], "not both"),
        (["--strict"], "--strict belongs to --trim-weights"),
        (["--aggregate-stage", "1"], "kalib rake has no design options"),
        (["--calibration", "poststratify", "--weight-bounds", "1,99"], "takes no --bounds"),
        (["--calibration-variance", "stype"], "variance column 'stype'"),
    ],
)
def test_errors_name_the_option(tmp_path, margins, capsys, options, message):
    code = main(
        ["rake", SAMPLE, "--weight", "pw", "--margins", margins, *options]
        + ["--out", str(tmp_path / "w.csv")]
    )
    assert code == 2
    assert message in capsys.readouterr().err
