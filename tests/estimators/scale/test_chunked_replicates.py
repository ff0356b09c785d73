"""Chunked replicate variance on Dask equals the in-process path (1e-12).

n = 1e5 rows in 8 chunks, raked to sector × size and NACE margins; bootstrap
and JKn; the threaded scheduler and a LocalCluster of 2 worker processes,
one of which is killed mid-run.
"""

import os
import signal
import time

import numpy as np
import pytest

from estimators.inference.estimate import svymean
from estimators.scale import (
    chunked,
    dask_scheduler,
    design_replicate_dataset,
    domain_means,
    replicate_totals_chunked,
    synthetic,
)
from weighting import _backend
from weighting.design import Design
from weighting.errors import ReplicateError
from weighting.margins import Margin

N_ROWS = 100_000
RTOL = 1e-12


@pytest.fixture(scope="module")
def sample():
    return synthetic.sample(N_ROWS, seed=2)


@pytest.fixture(scope="module")
def values(sample):
    return np.column_stack([sample[y] for y in synthetic.OUTCOMES])


@pytest.fixture(scope="module")
def groups(sample):
    return np.unique(sample["size_class"], return_inverse=True)[1].astype(np.int64)


@pytest.fixture(scope="module")
def designs(sample):
    """Raked designs with in-process replicates: bootstrap (units as PSUs) and
    JKn (six clusters per stratum, so 48 replicates)."""
    margins = synthetic.margins(N_ROWS)
    boot = Design(sample, strata="stratum").calibrate(margins, tol=1e-12)
    clustered = dict(sample, psu=np.arange(N_ROWS) % 6)
    jkn = Design(clustered, strata="stratum", psu="psu", nest=True).calibrate(margins, tol=1e-12)
    return {
        "bootstrap": boot.with_replicates("bootstrap", replicates=24, seed=7),
        "jkn": jkn.with_replicates("jkn"),
    }


@pytest.fixture(scope="module")
def cluster():
    with dask_scheduler("processes", n_workers=2) as client:
        yield client


def _assert_same(chunked_totals, design, values, groups):
    expected = design.replicate_totals(values, groups, 4)
    assert chunked_totals.shape == expected.shape
    np.testing.assert_allclose(chunked_totals, expected, rtol=RTOL, atol=0)


@pytest.mark.parametrize("method", ["bootstrap", "jkn"])
def test_threads_equal_in_process(designs, values, groups, method):
    totals = replicate_totals_chunked(
        designs[method], values, groups, 4, scheduler="threads", n_chunks=8, block_size=10
    )
    _assert_same(totals, designs[method], values, groups)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["bootstrap", "jkn"])
def test_local_cluster_equal_in_process(cluster, designs, values, groups, method):
    assert len(cluster.scheduler_info()["workers"]) == 2
    totals = replicate_totals_chunked(
        designs[method], values, groups, 4, n_chunks=8, block_size=10
    )
    _assert_same(totals, designs[method], values, groups)


def _tasks_in_memory(dask_scheduler=None):
    return sum(ts.state == "memory" for ts in dask_scheduler.tasks.values())


@pytest.mark.slow
def test_killed_worker_is_retried_and_result_unchanged(cluster, designs, values, groups):
    design = designs["bootstrap"]
    ds = design_replicate_dataset(
        design,
        values,
        groups,
        4,
        method="bootstrap",
        replicates=60,
        seed=7,
        n_chunks=8,
        block_size=2,
    )
    future = cluster.compute(ds.replicate_total.data)
    deadline = time.time() + 60
    while cluster.run_on_scheduler(_tasks_in_memory) < 8 and time.time() < deadline:
        time.sleep(0.02)
    assert not future.done(), "the run finished before a worker could be killed"
    pids = cluster.run(os.getpid)
    victim = sorted(pids)[0]
    os.kill(pids[victim], signal.SIGKILL)
    totals = future.result(timeout=120)
    assert pids[victim] not in cluster.run(os.getpid).values()
    expected = design.with_replicates("bootstrap", replicates=60, seed=7)
    np.testing.assert_allclose(
        totals[:, :, 1:], expected.replicate_totals(values, groups, 4), rtol=RTOL, atol=0
    )


def test_numpy_fallback_equals_kernels(designs, values, groups):
    design = designs["bootstrap"]
    fast = replicate_totals_chunked(
        design, values, groups, 4, scheduler="synchronous", n_chunks=3, block_size=8
    )
    with _backend.use_kernels(False):
        slow = replicate_totals_chunked(
            design, values, groups, 4, scheduler="synchronous", n_chunks=3, block_size=8
        )
    np.testing.assert_allclose(fast, slow, rtol=RTOL, atol=0)


def test_uncalibrated_design_and_full_sample_totals(sample, values, groups):
    design = Design(sample, strata="stratum").with_replicates("bootstrap", replicates=12, seed=1)
    ds = design_replicate_dataset(design, values, groups, 4, n_chunks=5)
    with dask_scheduler("threads"):
        ds = ds.compute()
    _assert_same(ds.replicate_total.values[:, :, 1:], design, values, groups)
    full = np.stack(
        [
            np.bincount(groups, design.weights * v, minlength=4)
            for v in np.column_stack([np.ones(N_ROWS), values]).T
        ],
        axis=1,
    )
    np.testing.assert_allclose(ds.total.values, full, rtol=RTOL)
    assert (ds.status.values == 0).all() and ds.attrs["method"] == "bootstrap"


def test_chunked_design_gives_the_same_estimates_and_ses():
    data = synthetic.sample(3000, seed=5)
    design = (
        Design(data, strata="stratum")
        .calibrate(synthetic.margins(3000), tol=1e-12)
        .with_replicates("bootstrap", replicates=30, seed=3)
    )
    plain = svymean(design, ["y1", "y2"], by=["sector"]).frame
    with dask_scheduler("threads"):
        scaled = svymean(chunked(design, n_chunks=4), ["y1", "y2"], by=["sector"]).frame
    np.testing.assert_allclose(scaled.se, plain.se, rtol=1e-10)
    np.testing.assert_allclose(scaled.estimate, plain.estimate, rtol=1e-12)


def test_domain_means_match_in_process_estimates():
    data = synthetic.sample(3000, seed=5)
    design = (
        Design(data, strata="stratum")
        .calibrate(synthetic.margins(3000), tol=1e-12)
        .with_replicates("bootstrap", replicates=30, seed=3)
    )
    groups = np.unique(data["sector"], return_inverse=True)[1].astype(np.int64)
    ds = design_replicate_dataset(
        design, np.column_stack([data["y1"]]), groups, 2, n_chunks=4, value_names=["y1"]
    )
    means = domain_means(
        ds.assign_coords(group=["private", "public"]),
        {"private": ["private"], "public": ["public"]},
    )
    with dask_scheduler("threads"):
        means = means.compute()
    plain = svymean(design, ["y1"], by=["sector"]).frame.set_index("domain")
    for sector in ("private", "public"):
        got = means.sel(domain=sector, variable="y1")
        assert float(got["mean"]) == pytest.approx(plain.estimate[sector], rel=1e-12)
        assert float(got["se"]) == pytest.approx(plain.se[sector], rel=1e-10)


def test_failed_replicate_is_named():
    # NACE "Z" exists only in PSU 0 of its stratum: deleting that PSU empties it.
    data = {
        "stratum": np.repeat(["a", "b"], 4),
        "psu": np.tile([0, 0, 1, 1], 2),
        "nace": np.array(["Z", "X", "X", "X", "X", "X", "X", "X"]),
    }
    design = Design(data, strata="stratum", psu="psu", nest=True).calibrate(
        [Margin("nace", {"X": 70, "Z": 10})]
    )
    with pytest.raises(ReplicateError, match=r"replicate 1 \(index 0\).*'nace'.*Z"):
        design_replicate_dataset(
            design, np.ones((8, 1)), method="jkn", n_chunks=2
        ).replicate_total.compute(scheduler="sync")


@pytest.mark.parametrize("method", ["bootstrap", "jkn"])
def test_replicate_weight_matrix_equals_in_process(method):
    data = synthetic.sample(2000, seed=8, clusters=4)
    design = Design(data, strata="stratum", psu="psu", nest=True).calibrate(
        synthetic.margins(2000), tol=1e-12
    )
    design = design.with_replicates(method, replicates=15, seed=2)
    ds = design_replicate_dataset(
        design, np.ones((2000, 1)), n_chunks=3, block_size=4, weights=True
    )
    assert ds.replicate_weight.shape == (2000, design.B)
    weights = ds.replicate_weight.compute(scheduler="threads").values
    np.testing.assert_allclose(weights, design.replicate_weights(), rtol=RTOL)


def test_with_replicates_chunked_gives_the_in_process_structure(sample, values, groups):
    from estimators.scale import with_replicates_chunked

    design = Design(sample, strata="stratum").calibrate(synthetic.margins(N_ROWS), tol=1e-12)
    expected = design.with_replicates("bootstrap", replicates=10, seed=4)
    with dask_scheduler("threads"):
        got = with_replicates_chunked(design, "bootstrap", replicates=10, seed=4, n_chunks=4)
    assert (got.B, got.scale, got.degf, got.method) == (
        10,
        expected.scale,
        expected.degf,
        "bootstrap",
    )
    np.testing.assert_array_equal(got.convergence.iterations, expected.convergence.iterations)
    np.testing.assert_allclose(
        got.replicate_totals(values, groups, 4),
        expected.replicate_totals(values, groups, 4),
        rtol=RTOL,
    )


@pytest.mark.parametrize("method", ["bootstrap", "jkn", "jk1"])
def test_fpc_take_all_stratum_and_jk1(method):
    data = synthetic.sample(3000, seed=6, clusters=5)  # 5 PSUs per stratum
    population = np.where(data["stratum"] == "public:50+", 5.0, 50.0)  # one take-all
    if method == "jk1":
        design = Design(data, psu="psu")
    else:
        design = Design(data, strata="stratum", psu="psu", fpc=population, nest=True)
    design = design.calibrate(synthetic.margins(3000), tol=1e-12).with_replicates(
        method, replicates=12, seed=5
    )
    values = np.column_stack([data["y1"], data["y4"]])
    groups = np.unique(data["sector"], return_inverse=True)[1].astype(np.int64)
    totals = replicate_totals_chunked(
        design, values, groups, 2, scheduler="threads", n_chunks=5, block_size=5
    )
    np.testing.assert_allclose(totals, design.replicate_totals(values, groups, 2), rtol=RTOL)
