"""Rows of issue 17's table that an earlier pass left open, re-run as a new
user would (docs/robustness.md lists every row and the test that covers it)."""

import numpy as np
import pandas as pd
import pytest

from estimators.scale.replicates import design_replicate_dataset
from weighting.design import Design
from weighting.errors import KalibError


def _design():
    rng = np.random.default_rng(17)
    data = pd.DataFrame(
        {"s": np.repeat(["a", "b"], 20), "y": rng.normal(size=40), "w": np.full(40, 2.0)}
    )
    return Design(data, weights="w", strata="s")


# -- seed: a non-negative integer, never truncated or parsed -------------------------


@pytest.mark.parametrize(
    "seed, shown",
    [(1.5, "1.5"), (np.float64(2.0), "2.0"), ("1", "'1'"), (-1, "-1"), (True, "True")],
)
def test_a_seed_that_is_not_a_non_negative_integer_is_named(seed, shown):
    """seed=1.5 used to be seed 1 (int() truncated it), "1" and True seed 1."""
    message = f"seed must be a non-negative integer, got {shown}$"
    with pytest.raises(KalibError, match=message):
        _design().with_replicates("bootstrap", replicates=4, seed=seed)
    with pytest.raises(KalibError, match=message):  # the Dask path's own plan
        design_replicate_dataset(_design(), np.ones((40, 1)), method="bootstrap", seed=seed)


def test_a_numpy_integer_seed_is_the_same_seed():
    ours = _design().with_replicates("bootstrap", replicates=4, seed=np.int64(7))
    plain = _design().with_replicates("bootstrap", replicates=4, seed=7)
    assert ours.seed == 7 and type(ours.seed) is int
    np.testing.assert_array_equal(ours.replicate_weights(), plain.replicate_weights())
