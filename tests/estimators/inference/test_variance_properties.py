"""Invariants: for a linear estimator (a total), the JKn and JK1 replicate
variances equal the linearization variance exactly, with or without fpc; R's
``svrVar`` rule gives the same numbers on plain and on labelled (lazy) arrays."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from estimators.inference.variance import (
    linearization_covariance,
    replicate_covariance,
    replicate_variance,
)
from weighting.design import Design


@st.composite
def stratified_samples(draw):
    sizes = draw(st.lists(st.integers(2, 7), min_size=1, max_size=5))
    seed = draw(st.integers(0, 2**32 - 1))
    with_fpc = draw(st.booleans())
    rng = np.random.default_rng(seed)
    strata = np.repeat(np.arange(len(sizes)), sizes)
    weights = rng.uniform(1.0, 20.0, strata.size)
    y = rng.normal(size=(strata.size, 2))
    fpc = None
    if with_fpc:  # population counts, some strata taken completely
        extra = rng.integers(0, 30, len(sizes)) * rng.integers(0, 2, len(sizes))
        fpc = (np.asarray(sizes) + extra)[strata]
    return strata, weights, y, fpc


@settings(max_examples=40, deadline=None)
@given(stratified_samples())
def test_jkn_variance_of_a_total_is_the_linearization_variance(sample):
    strata, weights, y, fpc = sample
    design = Design(weights=weights, strata=strata, fpc=fpc)
    linear = linearization_covariance(design, y)
    if not np.any(design.sampling_fraction < 1):
        return  # the whole population: no replicates to make
    jkn = design.with_replicates("jkn")
    reps = jkn.replicate_totals(y)[:, 0, :]
    V = replicate_covariance(weights @ y, reps, jkn.scale, jkn.rscales, mse=False)
    np.testing.assert_allclose(V, linear, rtol=1e-9, atol=1e-9 * np.abs(linear).max())
    # mse centres on the full-sample total, which JKn replicates average to anyway
    Vm = replicate_covariance(weights @ y, reps, jkn.scale, jkn.rscales, mse=True)
    np.testing.assert_allclose(Vm, linear, rtol=1e-9, atol=1e-9 * np.abs(linear).max())


@settings(max_examples=25, deadline=None)
@given(stratified_samples())
def test_jk1_variance_of_a_total_is_the_unstratified_linearization_variance(sample):
    _, weights, y, fpc = sample
    n = weights.size
    fpc = None if fpc is None else np.full(n, n + 5)
    design = Design(weights=weights, fpc=fpc)
    jk1 = design.with_replicates("jk1")
    reps = jk1.replicate_totals(y)[:, 0, :]
    V = replicate_covariance(weights @ y, reps, jk1.scale, jk1.rscales)
    linear = linearization_covariance(design, y)
    np.testing.assert_allclose(V, linear, rtol=1e-9, atol=1e-9 * np.abs(linear).max())


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 40), st.integers(1, 4), st.booleans(), st.integers(0, 2**32 - 1))
def test_labelled_replicate_variance_is_the_diagonal_of_the_covariance(B, m, mse, seed):
    import dask.array as da
    import xarray as xr

    rng = np.random.default_rng(seed)
    full = rng.normal(size=m)
    reps = full + rng.normal(scale=0.1, size=(B, m))
    rscales = rng.uniform(0.5, 2.0, B) * (rng.uniform(size=B) > 0.2)  # some zero
    rscales[0] = 1.0
    scale = float(rng.uniform(0.1, 2.0))
    cov = replicate_covariance(full, reps, scale, rscales, mse)
    labelled = replicate_variance(
        xr.DataArray(full, dims="stat"),
        xr.DataArray(da.from_array(reps, chunks=(max(B // 3, 1), m)), dims=("replicate", "stat")),
        scale,
        xr.DataArray(rscales, dims="replicate"),
        mse,
    )
    assert labelled.chunks is not None  # still lazy
    np.testing.assert_allclose(labelled.values, np.diag(cov), rtol=1e-12, atol=0)
    # the centre: the mean of replicates with positive rscales, or the estimate
    centre = full if mse else reps[rscales > 0].mean(axis=0)
    np.testing.assert_allclose(
        np.diag(cov), scale * (rscales[:, None] * (reps - centre) ** 2).sum(axis=0), rtol=1e-12
    )
