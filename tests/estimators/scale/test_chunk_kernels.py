"""Chunk kernels: draws follow the RNG contract, chunk statistics add up to the
sample's whatever the chunking, kernel = numpy."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estimators.scale.chunks import Chunk, accumulate, accumulate_bootstrap, make_chunk
from estimators.scale.draws import ReplicateSpec, bootstrap_count_block, draw_block
from weighting import _backend
from weighting.replicates import BOOTSTRAP, bootstrap_counts

pytest.importorskip("cext._chunked")


def _spec(n_psu, n_draws, B, seed):
    n_psu = np.asarray(n_psu, np.int64)
    H = len(n_psu)
    offset = np.concatenate([[0], np.cumsum(n_psu)[:-1]]).astype(np.int64)
    return ReplicateSpec(
        BOOTSTRAP,
        B,
        seed,
        n_psu,
        offset,
        np.asarray(n_draws, np.int64),
        np.zeros(H),
        np.ones(H),
        np.zeros(0, np.int64),
        np.zeros(0),
        np.zeros(0, np.int64),
    )


@settings(max_examples=30, deadline=None)
@given(
    n_psu=st.lists(st.integers(1, 40), min_size=1, max_size=6),
    B=st.integers(1, 12),
    seed=st.integers(0, 2**63),
    data=st.data(),
)
def test_block_draws_equal_the_contract(n_psu, B, seed, data):
    b0 = data.draw(st.integers(0, B - 1))
    b1 = data.draw(st.integers(b0 + 1, B))
    spec = _spec(n_psu, [n - 1 for n in n_psu], B, seed)
    expected = bootstrap_counts(seed, B, n_psu, spec.n_draws)[b0:b1]
    np.testing.assert_array_equal(bootstrap_count_block(spec, b0, b1), expected)


def test_counts_above_255_fall_back_to_numpy():
    spec = _spec([1, 3], [300, 2], 3, 5)  # every draw of stratum 0 hits its one PSU
    counts = bootstrap_count_block(spec, 0, 3)
    assert counts[:, 0].tolist() == [300, 300, 300]
    np.testing.assert_array_equal(counts, bootstrap_counts(5, 3, [1, 3], [300, 2]))


def test_each_chunk_gets_the_columns_of_its_psus():
    spec = _spec([5, 7], [4, 6], 4, 1)
    chunks = [
        make_chunk(
            [0, 1, 6, 7, 11],
            [0, 0, 1, 1, 1],
            np.zeros(5),
            np.zeros(5),
            1,
            np.ones(5),
            np.ones((5, 1)),
        ),
        make_chunk(
            [4, 2, 2, 8], [0, 0, 0, 1], np.zeros(4), np.zeros(4), 1, np.ones(4), np.ones((4, 1))
        ),
    ]
    slices = draw_block(spec, 1, 3, [c.runs for c in chunks])
    block = bootstrap_counts(1, 4, [5, 7], [4, 6])[1:3]
    for chunk, piece in zip(chunks, slices):
        np.testing.assert_array_equal(piece, block[:, chunk.psus])


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 60),
    cuts=st.lists(st.integers(0, 60), max_size=4),
    seed=st.integers(0, 2**32 - 1),
)
def test_chunk_statistics_add_up_to_the_sample(n, cuts, seed):
    rng = np.random.default_rng(seed)
    psu, cell, group = rng.integers(0, 9, n), rng.integers(0, 3, n), rng.integers(0, 2, n)
    d, values = rng.random(n) + 0.5, rng.normal(size=(n, 2))
    counts = rng.integers(0, 4, (3, 9)).astype(np.uint8)
    base, step = rng.random(9), rng.random(9)
    edges = [0, *sorted(min(c, n) for c in cuts), n]

    def stats(rows):
        chunk = make_chunk(
            psu[rows],
            np.zeros(len(rows), np.int64),
            cell[rows],
            group[rows],
            2,
            d[rows],
            values[rows],
        )
        return accumulate_bootstrap(
            chunk, counts[:, chunk.psus], base[chunk.psus], step[chunk.psus], 6
        )

    total = sum(stats(np.arange(a, b)) for a, b in zip(edges[:-1], edges[1:]))
    mult = base + step * counts
    expected = np.zeros((3, 6, 3))
    for i in range(n):
        expected[:, cell[i] * 2 + group[i]] += mult[:, psu[i], None] * d[i] * np.r_[1, values[i]]
    np.testing.assert_allclose(total, expected, rtol=1e-12, atol=1e-12)


def test_kernel_accumulation_equals_numpy():
    rng = np.random.default_rng(3)
    n = 500
    chunk = make_chunk(
        rng.integers(0, 50, n),
        np.zeros(n, np.int64),
        rng.integers(0, 4, n),
        rng.integers(0, 3, n),
        3,
        rng.random(n),
        rng.normal(size=(n, 3)),
    )
    assert isinstance(chunk, Chunk) and np.all(np.diff(chunk.psus) > 0)
    mult = rng.random((5, len(chunk.psus)))
    fast = accumulate(chunk, mult, 12)
    with _backend.use_kernels(False):
        slow = accumulate(chunk, mult, 12)
    np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-13)
