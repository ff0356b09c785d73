"""Calibration variants of issue 19 against R ``survey`` 4.1.1
(tests/reference/calibration_variants/calibration_variants.R): heteroskedastic
calibration (``variance``), cluster-constant calibration (``aggregate_stage``),
absolute bounds on the weights (``weight_bounds``), ``trim_weights``; each
re-applied in every replicate (checked against calibrating each replicate's
weights by hand)."""

import numpy as np
import pytest
from variants_reference import (
    CASES,
    DATA,
    ENROLL,
    FIT,
    G3,
    JSON,
    N_CLUS1,
    OTHERS,
    POP_ENROLL,
    STYPE,
    TRIMS,
    WEIGHTS,
    by_hand,
    calibrated,
    design,
    pop,
    trimmed,
    variant,
)

from weighting import NumericTotal
from weighting._backend import use_kernels
from weighting.calibrate import calibrate, trim_weights
from weighting.design import Design
from weighting.errors import InfeasibleBoundsError, KalibError
from weighting.spec import CalibrationSpec


def test_every_design_of_the_reference_is_checked():
    assert set(CASES) | set(TRIMS) | OTHERS == set(JSON["designs"])
    assert not (set(CASES) & set(TRIMS)) and not ((set(CASES) | set(TRIMS)) & OTHERS)


@pytest.mark.parametrize("name", sorted(CASES) + sorted(TRIMS))
def test_weights_equal_r(name):
    d = variant(name)
    expected = WEIGHTS[name.split("_")[0]][name].astype(float)
    # R's direct (QR) solve and its Newton iteration both converge fully here
    np.testing.assert_allclose(d.weights, expected, rtol=1e-8 if name in TRIMS else 1e-7, atol=0)
    summary = JSON["weight_summary"][name]
    np.testing.assert_allclose(
        [d.weights.min(), d.weights.max(), d.weights.sum()],
        [summary["min"], summary["max"], summary["sum"]],
        rtol=1e-8,
    )


def test_the_cases_make_the_variants_bind():
    # Otherwise the reference would not test them.
    assert JSON["weight_summary"]["dclus1_g3_cb_rake"]["min"] == pytest.approx(18, abs=1e-9)
    assert JSON["weight_summary"]["dclus1_g3_cb_rake"]["max"] == pytest.approx(55, abs=1e-9)
    assert JSON["weight_summary"]["dclus1_g3_tw"]["max"] > 45  # additive spread passes the cap
    assert JSON["weight_summary"]["dclus1_g3_tw_strict"]["max"] <= 45 + 1e-9
    assert JSON["weight_summary"]["dclus1_g3_agg_lin"]["min"] < 0  # R's linear aggregated weights
    r = WEIGHTS["dclus1"]
    assert not np.allclose(
        r["dclus1_ratio_rake_v1"].astype(float), r["dclus1_noint_homosk"].astype(float)
    )


@pytest.mark.parametrize("name", sorted(JSON["aggregate_check"]))
def test_aggregated_weights_are_constant_within_districts(name):
    d = calibrated(name)
    dnum = DATA["dclus1"]["dnum"]
    spread = max(np.ptp(d.weights[dnum == k]) for k in np.unique(dnum))
    check = JSON["aggregate_check"][name]
    assert (spread == 0) == check["constant_within_dnum"]
    assert spread == pytest.approx(check["max_within_dnum_range"], rel=1e-8, abs=0)


def test_ratio_calibration_is_the_ratio_estimator():
    # R's variance = 1 on ~enroll - 1: g constant, weights d * T / t_hat(enroll)
    for base in DATA:
        d = calibrated(f"{base}_ratio_v1")
        g = d.weights / d.base_weights
        np.testing.assert_allclose(
            g, POP_ENROLL / (d.base_weights @ DATA[base]["enroll"]), rtol=1e-13
        )
        check = JSON["ratio_estimator_check"][base]
        assert d.weights @ DATA[base]["api_stu"] == pytest.approx(check["total"], rel=1e-12)


def test_a_variance_column_is_r_per_unit_vector_and_r_refuses_a_formula():
    # R: variance = ~enroll is an error (recorded); kalib takes the column name
    # where R takes apistrat$enroll.
    assert "error" in JSON["designs"]["dstrat_ratio_vformula"]
    by_name = design("dstrat").calibrate([ENROLL], distance="linear", variance="enroll", **FIT)
    np.testing.assert_array_equal(by_name.weights, calibrated("dstrat_ratio_vvec").weights)


def test_r_calibration_time_trim_is_its_proportional_spread():
    # R's calibrate(bounds = c(0.5, 2), trim = c(2/3, 3/2)) clips g and adds
    # sum(trimmings)/sum(w[!outside]) to the other g; kalib's trim= keeps the
    # margins instead (documented difference): the reference is R's rule
    # applied to kalib's bounded fit.
    fit = design("dclus1").calibrate(G3, distance="linear", bounds=(0.5, 2), **FIT)
    d, g = fit.base_weights, fit.weights / fit.base_weights
    clipped = np.clip(g, 2 / 3, 3 / 2)
    outside = clipped != g
    assert outside.any()
    clipped[~outside] += ((g - clipped) * d).sum() / d[~outside].sum()
    np.testing.assert_allclose(
        d * clipped, WEIGHTS["dclus1"]["dclus1_g3_trim"].astype(float), rtol=1e-8
    )
    # R's weights miss the high schools' margin; kalib's trim keeps margins and
    # finds that these caps cannot: high schools need g = 1.59 > 3/2.
    high = DATA["dclus1"]["stype"] == "H"
    assert WEIGHTS["dclus1"]["dclus1_g3_trim"].astype(float)[high].sum() < pop["stypeH"] - 1
    with pytest.raises(InfeasibleBoundsError, match=r"stype=H: .*g = 1\.5933 needed"):
        design("dclus1").calibrate(
            G3, distance="linear", bounds=(0.5, 2), trim=(2 / 3, 1.5), **FIT
        )


def test_infeasible_weight_bounds_name_the_category():
    assert JSON["designs"]["dclus1_g3_cb_lin_infeasible"]["error"] == "Calibration failed"
    with pytest.raises(
        InfeasibleBoundsError, match=r"stype=H: target 755 .* 14 respondents .* 280 to 700"
    ):
        design("dclus1").calibrate(G3, distance="linear", weight_bounds=(20, 50), **FIT)


@pytest.mark.parametrize(
    "settings, message",
    [
        (
            dict(variance=[1.0, 2.0, 3.0]),
            r"variance has 3 values: give one per row \(183\) or one",
        ),
        (dict(variance="api00", weight_bounds=(0, 100), bounds=(0.5, 2)), "not both"),
        (
            dict(variance=np.r_[0.0, np.ones(N_CLUS1 - 1)]),
            r"positive and finite: 1 row\(s\) .* row 1,",
        ),
        (dict(variance=1, trim=(0.5, 2)), "trim cannot be combined"),
        (dict(weight_bounds=(30, 20)), "lower < upper"),
        (dict(aggregate_stage=2), r"aggregate_stage=2, but the design has 1 sampling stage"),
        (dict(aggregate_stage=0), "aggregate_stage must be a sampling stage >= 1"),
        (
            dict(distance="logit", weight_bounds=(34, 60)),
            "logit with weight_bounds needs finite bounds",
        ),
        (dict(weight_bounds=(0, np.ones(5))), "weight_bounds upper has 5 values, the sample 183"),
    ],
)
def test_bad_settings_are_named(settings, message):
    margins = [ENROLL] if "variance" in settings and len(settings) == 1 else G3
    with pytest.raises(KalibError, match=message):
        design("dclus1").calibrate(margins, **settings)


def test_aggregate_stage_needs_the_clusters():
    with pytest.raises(KalibError, match="aggregate_stage needs the clusters"):
        calibrate(DATA["dclus1"], [STYPE], base_weights=DATA["dclus1"]["pw"], aggregate_stage=1)


def test_spec_records_the_variants_and_round_trips():
    spec = CalibrationSpec(
        "raking", variance=[0, 1], aggregate_stage=1, weight_bounds=(0.5, [1, 2])
    )
    out = spec.as_dict()
    assert out["variance"] == [0.0, 1.0] and out["weight_bounds"] == [0.5, [1.0, 2.0]]
    assert CalibrationSpec(**out) == spec and hash(CalibrationSpec(**out)) == hash(spec)
    assert "variance" not in CalibrationSpec().as_dict()  # earlier records unchanged
    assert spec.per_row and not CalibrationSpec("linear").per_row
    assert (
        CalibrationSpec("linear").direct and not CalibrationSpec("linear", bounds=(0.5, 2)).direct
    )


# -- trim_weights ---------------------------------------------------------------------


def test_strict_trimming_that_the_total_cannot_meet_is_an_error():
    with pytest.raises(InfeasibleBoundsError, match="cannot keep the total weight"):
        trim_weights(design("dstrat"), 40, 50, strict=True)


def test_trim_weights_without_a_weight_outside_is_the_design():
    d = design("dstrat")
    assert trim_weights(d, 0, 100) is d


def test_trim_weights_keeps_the_total_and_spreads_equally():
    d = trimmed("dclus1_g3_tw")
    before = calibrated("dclus1_g3").weights
    assert d.weights.sum() == pytest.approx(before.sum(), rel=1e-14)
    moved = d.weights - before
    untrimmed = (before >= 20) & (before <= 45)
    np.testing.assert_allclose(moved[untrimmed], moved[untrimmed][0], rtol=1e-9)
    assert d.calibration is not None  # calibration kept for linearization


# -- replicates: re-calibrated with every variant -------------------------------------


REPLICATED = [
    "dclus1_ratio_vvec",
    "dclus1_greg_v01",
    "dclus1_ratio_rake_v1",
    "dclus1_agg_rake",
    "dclus1_g3_agg_lin",
    "dclus1_g3_agg_rake",
    "dclus1_g3_cb_list",
]


@pytest.mark.parametrize("method", ["bootstrap", "jkn", "jk1"])
@pytest.mark.parametrize("name", REPLICATED)
def test_each_replicate_is_the_variant_calibrated_by_hand(name, method):
    margins, settings = CASES[name]
    cal, expected = by_hand("dclus1", margins, settings, method)
    np.testing.assert_allclose(cal.replicate_weights(), expected, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("distance", ["raking", "logit"])
def test_weight_bounds_hold_in_every_jackknife_replicate(distance):
    # (18, 55) leaves too few high schools once a district is deleted; (10, 90) binds
    settings = dict(distance=distance, weight_bounds=(10, 90))
    cal, expected = by_hand("dclus1", G3, settings, "jkn")
    W = cal.replicate_weights()
    np.testing.assert_allclose(W, expected, rtol=1e-9, atol=1e-9)


def test_brr_replicates_of_a_heteroskedastic_calibration():
    rng = np.random.default_rng(19)
    n = 80
    data = {
        "stratum": np.repeat(np.arange(10), 8),
        "psu": np.repeat(np.arange(20), 4),
        "x": rng.uniform(1, 5, n),
        "w": rng.uniform(5, 15, n),
    }
    plain = Design(data, weights="w", strata="stratum", psu="psu").with_replicates("brr")
    cal = plain.calibrate([NumericTotal("x", 2000.0)], distance="raking", variance="x", **FIT)
    W = plain.replicate_weights()
    for b in range(W.shape[1]):
        keep = W[:, b] > 0
        rows = {k: v[keep] for k, v in data.items()}
        fit = calibrate(
            rows,
            [NumericTotal("x", 2000.0)],
            base_weights=W[keep, b],
            distance="raking",
            variance="x",
            **FIT,
        )
        np.testing.assert_allclose(cal.replicate_weights()[keep, b], fit.weights, rtol=1e-10)


def test_aggregated_replicates_agree_in_kernels_and_numpy():
    margins, settings = CASES["dclus1_g3_agg_rake"]
    kernels = (
        design("dclus1").with_replicates("bootstrap", 30, 3).calibrate(margins, **settings, **FIT)
    )
    with use_kernels(False):
        plain = (
            design("dclus1")
            .with_replicates("bootstrap", 30, 3)
            .calibrate(margins, **settings, **FIT)
        )
    np.testing.assert_allclose(kernels.replicates.g, plain.replicates.g, rtol=1e-12)


def test_trim_weights_trims_every_replicate():
    cal = calibrated("dclus1_g3").with_replicates("jkn")
    d = trim_weights(cal, 20, 45, strict=True)
    W0, W = cal.replicate_weights(), d.replicate_weights()
    inside = W0 > 0
    assert np.all((W[inside] >= 20 - 1e-9) & (W[inside] <= 45 + 1e-9))
    np.testing.assert_array_equal(W[~inside], 0.0)
    np.testing.assert_allclose(W.sum(axis=0), W0.sum(axis=0), rtol=1e-13)


def test_aggregate_stage_takes_the_clusters_of_that_stage():
    two = Design(DATA["dclus1"], weights="pw", psu=["dnum", "snum"])
    one = design("dclus1")
    settings = dict(distance="raking", **FIT)
    np.testing.assert_array_equal(
        two.calibrate(G3, aggregate_stage=1, **settings).weights,
        one.calibrate(G3, aggregate_stage=1, **settings).weights,
    )
    # stage 2: every school is its own cluster, nothing is averaged
    np.testing.assert_allclose(
        two.calibrate(G3, aggregate_stage=2, **settings).weights,
        one.calibrate(G3, **settings).weights,
        rtol=1e-13,
    )
    with pytest.raises(KalibError, match="aggregate_stage=3, but the design has 2"):
        two.calibrate(G3, aggregate_stage=3, **settings)
