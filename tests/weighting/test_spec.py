"""CalibrationSpec: validation in one place, normalised values, the keyword and
spec= forms of calibrate and Design.calibrate giving the same weights, the
replicates' spec, and errors that carry the option a caller can set."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weighting import Margin, calibrate
from weighting.design import Design
from weighting.errors import KalibError, MarginError
from weighting.spec import CalibrationSpec


def sample(n=300, seed=3):
    rng = np.random.default_rng(seed)
    data = {
        "a": rng.choice(["x", "y", "z"], n),
        "b": rng.choice([1, 2], n),
        "w": rng.uniform(5, 15, n),
    }
    margins = [Margin("a", {"x": 1200, "y": 1000, "z": 800}), Margin("b", {1: 1800, 2: 1200})]
    return data, margins


@pytest.mark.parametrize(
    "settings_, message",
    [
        ({"distance": "ranking"}, "unknown calibration distance 'ranking'"),
        ({"distance": "logit"}, "logit distance needs bounds"),
        ({"distance": "truncated", "bounds": (0.5, math.inf)}, "truncated distance needs finite"),
        ({"bounds": (1.2, 3)}, r"bounds \(1.2, 3\) must satisfy L < 1 < U"),
        ({"bounds": "wide"}, "bounds must be a pair"),
        ({"bounds": (-0.5, 2)}, "raking keeps g positive"),
        ({"tol": 0}, "tol must be > 0 and max_iter >= 1"),
        ({"max_iter": 0}, "tol must be > 0 and max_iter >= 1"),
        ({"max_iter": 10.5}, "tol must be > 0 and max_iter >= 1"),
        ({"trim": (2.0, 1.5)}, r"trimming caps must satisfy lower < upper, got \(2, 1.5\)"),
        ({"trim": 3}, "trim must be a pair lo,hi"),
    ],
)
def test_bad_settings_are_refused_by_name(settings_, message):
    with pytest.raises(KalibError, match=message):
        CalibrationSpec(**settings_)
    data, margins = sample()  # the same check, whichever way the settings come
    with pytest.raises(KalibError, match=message):
        calibrate(data, margins, **settings_)


def test_values_are_kept_normalised():
    spec = CalibrationSpec(
        "logit",
        bounds=[np.float32(0.5), 2],
        trim=(None, 1.8),
        tol=1e-9,
        max_iter=np.int64(50),
        allow_unconverged=1,
    )
    assert spec.bounds == (0.5, 2.0) and type(spec.bounds[0]) is float
    assert spec.trim == (-math.inf, 1.8)
    assert spec.max_iter == 50 and type(spec.max_iter) is int
    assert spec.allow_unconverged is True and spec.normalize_margins is False
    assert CalibrationSpec(**spec.as_dict()) == spec
    assert spec.as_dict()["bounds"] == [0.5, 2.0]
    with pytest.raises(AttributeError):
        spec.tol = 1.0  # frozen


def test_spec_or_keywords_not_both():
    spec = CalibrationSpec(tol=1e-9)
    assert CalibrationSpec.of(spec) is spec
    assert CalibrationSpec.of(None, tol=1e-9) == spec
    with pytest.raises(KalibError, match="not both"):
        CalibrationSpec.of(spec, tol=1e-8)
    with pytest.raises(KalibError, match="spec must be a CalibrationSpec, got dict"):
        CalibrationSpec.of({"tol": 1e-9})


@pytest.mark.parametrize(
    "settings_",
    [
        {},
        {"distance": "linear", "bounds": (0.6, 1.6)},
        {"distance": "logit", "bounds": (0.5, 2)},
        {"distance": "raking", "trim": (0.7, 1.4)},
    ],
)
def test_spec_and_keywords_calibrate_alike(settings_):
    data, margins = sample()
    by_keywords = calibrate(data, margins, base_weights=data["w"], **settings_)
    by_spec = calibrate(data, margins, base_weights=data["w"], spec=CalibrationSpec(**settings_))
    np.testing.assert_array_equal(by_keywords.weights, by_spec.weights)
    assert by_spec.spec == CalibrationSpec(**settings_)
    assert (by_spec.distance, by_spec.bounds, by_spec.trim, by_spec.tol) == (
        by_spec.spec.distance,
        by_spec.spec.bounds,
        by_spec.spec.trim,
        by_spec.spec.tol,
    )
    design = Design(data, weights="w")
    a = design.calibrate(margins, **settings_)
    b = design.calibrate(margins, spec=CalibrationSpec(**settings_))
    np.testing.assert_array_equal(a.weights, b.weights)
    assert a.calibration_spec == b.calibration_spec == CalibrationSpec(**settings_)
    assert list(b.calibration.margins) == margins


def test_design_keeps_refusing_base_weights():
    data, margins = sample()
    with pytest.raises(KalibError, match="uses the design's base weights"):
        Design(data, weights="w").calibrate(margins, base_weights=data["w"])


@settings(max_examples=60, deadline=None)
@given(
    distance=st.sampled_from(["raking", "linear", "truncated"]),
    bounds=st.one_of(st.none(), st.tuples(st.floats(0.1, 0.95), st.floats(1.05, 5))),
    lo=st.one_of(st.none(), st.floats(0.2, 0.99)),
    hi=st.one_of(st.none(), st.floats(1.01, 4)),
)
def test_replicates_solve_bounds_clipped_to_the_caps(distance, bounds, lo, hi):
    if distance == "truncated" and bounds is None:
        bounds = (0.5, 2.0)
    trim = None if lo is None and hi is None else (lo, hi)
    spec = CalibrationSpec(distance, bounds, trim)
    replicate = spec.for_replicates()
    if trim is None:
        assert replicate is spec
        return
    floor = bounds[0] if bounds else (0.0 if distance == "raking" else -math.inf)
    ceiling = bounds[1] if bounds else math.inf
    expected = (
        max(floor, -math.inf if lo is None else lo),
        min(ceiling, math.inf if hi is None else hi),
    )
    assert replicate.bounds == expected and replicate.trim is None
    assert (replicate.distance, replicate.tol, replicate.max_iter) == (
        distance,
        spec.tol,
        spec.max_iter,
    )


def test_logit_replicates_keep_their_trimming():
    spec = CalibrationSpec("logit", (0.5, 2.0), (0.6, 1.7))
    assert spec.for_replicates() is spec


def test_a_remedy_is_an_option_of_the_call_not_a_command_line_flag():
    data, margins = sample()
    margins[1] = margins[1].scaled(1.01)
    with pytest.raises(MarginError) as info:
        calibrate(data, margins)
    exc = info.value
    assert exc.option == "normalize_margins" and "--" not in str(exc)
    assert (
        str(exc) == f"{exc.message} (pass normalize_margins=True to rescale every margin "
        f"to the first)"
    )
    assert "grand totals disagree" in exc.message and "normalize" not in exc.message
