"""``domain_variances`` (variances of many domain estimates without their
n x k influence matrix) equals the diagonal of ``linearization_covariance`` of
that matrix: clustered or not (PSUs spanning calibration cells and domains),
with fpc and certainty strata, uncalibrated, raked on cells or calibrated on
units (a numeric total), one block of domains or many; and it stays exact
(no cancellation) where calibration explains the estimate."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from estimators.inference import variance
from estimators.inference.variance import domain_variances, linearization_covariance
from weighting.design import Design
from weighting.errors import MarginError
from weighting.margins import Margin, NumericTotal


def _dense(codes, G, e, scale):
    """The n x G m influence matrix that domain_variances avoids."""
    n, m = e.shape
    z = np.zeros((n, G, m))
    z[np.arange(n), codes] = e * scale[codes]
    return z.reshape(n, G * m)


@st.composite
def designs(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    H = draw(st.integers(1, 4))
    psus = rng.integers(3, 7, H)
    if H > 1 and draw(st.booleans()):  # a lonely PSU, a certainty stratum
        psus[0] = 1
    rows_per_psu = draw(st.sampled_from([1, 1, 3]))
    strata = np.repeat(np.arange(H), psus * rows_per_psu)
    psu = np.concatenate([np.repeat(np.arange(k), rows_per_psu) for k in psus])
    n = strata.size
    data = {"a": rng.integers(0, 3, n), "b": rng.integers(0, 2, n), "x": rng.uniform(1.0, 5.0, n)}
    data["a"][:3], data["b"][:2] = [0, 1, 2], [0, 1]  # every category present
    fpc = (psus + rng.integers(0, 20, H) * draw(st.integers(0, 1)))[strata]
    design = Design(
        data,
        weights=rng.uniform(1.0, 9.0, n),
        strata=strata,
        psu=psu,
        fpc=fpc,
        nest=True,
        lonely_psu="certainty",
    )
    calibration = draw(st.sampled_from(["none", "cells", "units"]))
    if calibration != "none":
        d = design.base_weights
        margins = [
            Margin(
                "a", {k: float(d[data["a"] == k].sum()) * rng.uniform(0.9, 1.1) for k in range(3)}
            )
        ]
        total = sum(margins[0].table.values())
        margins.append(
            Margin("b", {k: total * float(d[data["b"] == k].sum()) / d.sum() for k in range(2)})
        )
        if calibration == "units":
            margins.append(NumericTotal("x", float(d @ data["x"]) * total / d.sum()))
        try:
            design = design.calibrate(margins, distance="linear")
        except MarginError:  # a category of b is a set of a's: implied totals clash
            assume(False)
    G = draw(st.integers(1, 5))
    codes = rng.integers(0, G, n)
    m = draw(st.integers(1, 3))
    e = rng.normal(size=(n, m))
    scale = rng.uniform(0.5, 2.0, (G, m))
    return design, codes, G, e, scale


@settings(max_examples=150, deadline=None)
@given(designs(), st.sampled_from([None, 1, 7]))
def test_domain_variances_are_the_diagonal_of_the_covariance(case, block):
    design, codes, G, e, scale = case
    z = _dense(codes, G, e, scale)
    expected = np.diag(linearization_covariance(design, z))
    size = ((design.weights[:, None] * z) ** 2).sum(axis=0).max()  # rounding's scale
    saved = variance.BLOCK_DOUBLES
    if block is not None:  # a block of one domain, or a few
        variance.BLOCK_DOUBLES = block
    try:
        got = domain_variances(design, codes, G, e, scale).reshape(-1)
    finally:
        variance.BLOCK_DOUBLES = saved
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-13 * size)


def test_share_of_a_calibration_category_has_no_variance():
    """The share of a raked category in a domain crossing the margin: the
    calibration regression explains it, and the group sums, taken as sums of
    squares about group means, leave only rounding (the expanded
    ``sum a^2 - 2 b'a + b'Mb`` would leave cancellation of order eps n w^2)."""
    rng = np.random.default_rng(3)
    n = 4000
    data = {"a": rng.integers(0, 4, n), "b": rng.integers(0, 3, n)}
    design = Design(data, weights=rng.uniform(50.0, 60.0, n), strata=data["b"])
    d = design.base_weights
    margin = Margin("a", {k: 1.05 * float(d[data["a"] == k].sum()) for k in range(4)})
    design = design.calibrate([margin])
    codes = data["b"]  # domains: the strata
    y = (data["a"] == 1).astype(float)
    T = np.bincount(codes, design.weights, minlength=3)
    theta = np.bincount(codes, design.weights * y, minlength=3) / T
    e = (y - theta[codes])[:, None]
    var = domain_variances(design, codes, 3, e, 1.0 / T[:, None])
    assert np.all(var >= 0)
    # a domain's share of a calibration category still varies (the domain is
    # not a margin), but its total over all domains does not
    total = domain_variances(design, np.zeros(n, np.int64), 1, y[:, None], np.ones((1, 1)))
    assert total[0, 0] < 1e-16 * (design.weights.sum()) ** 2


def test_non_finite_residuals_name_the_rows():
    design = Design(weights=np.ones(4), strata=np.array([0, 0, 1, 1]))
    e = np.array([[1.0], [np.nan], [2.0], [3.0]])
    with pytest.raises(ValueError, match="not finite in 1 row"):
        domain_variances(design, np.zeros(4, np.int64), 1, e, np.ones((1, 1)))
