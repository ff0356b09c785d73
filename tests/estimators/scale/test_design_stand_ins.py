"""Every stand-in for a design declares what it is by the protocols of
weighting.protocols (checked by isinstance, not hasattr)."""

import numpy as np
import pandas as pd
import pytest

from estimators.scale.inputs import StrataLayout
from estimators.scale.replicates import chunked
from weighting.design import Design
from weighting.protocols import PsuStructure, ReplicateDesign
from weighting.replicates import bootstrap_plan


@pytest.fixture(scope="module")
def design():
    rng = np.random.default_rng(2)
    data = pd.DataFrame(
        {
            "stratum": np.repeat(["a", "b", "c"], 10),
            "w": rng.uniform(1, 3, 30),
            "y": rng.normal(size=30),
        }
    )
    return Design(data, weights="w", strata="stratum").with_replicates(
        "bootstrap", replicates=6, seed=5
    )


def test_chunked_design_is_a_replicate_design(design):
    wrapped = chunked(design, n_chunks=3)
    assert isinstance(wrapped, ReplicateDesign)
    assert (wrapped.B, wrapped.scale, wrapped.degf, wrapped.method) == (
        design.B,
        design.scale,
        design.degf,
        design.method,
    )


def test_strata_layout_makes_the_plan_a_design_makes(design):
    layout = StrataLayout(design.n_psu, design.sampling_fraction, design.certainty)
    assert isinstance(layout, PsuStructure) and layout.n_strata == 3
    np.testing.assert_array_equal(layout.psu_stratum, design.psu_stratum)
    ours, theirs = bootstrap_plan(layout, 6, 5), bootstrap_plan(design, 6, 5)
    assert (ours[1], ours[3]) == (theirs[1], theirs[3])
    np.testing.assert_array_equal(ours[2], theirs[2])
    for b in range(6):
        np.testing.assert_array_equal(ours[0].multipliers(b), theirs[0].multipliers(b))


def test_model_replicate_weights_are_a_replicate_design(design):
    from estimators.model.glm import ReplicateWeights

    W = design.replicate_weights()
    stand_in = ReplicateWeights(
        design.data, design.weights, W, design.scale, design.rscales, design.mse, design.degf
    )
    assert isinstance(stand_in, ReplicateDesign)
    np.testing.assert_allclose(
        stand_in.replicate_totals(design.data["y"].to_numpy())[:, 0, 0],
        design.replicate_totals(design.data["y"].to_numpy())[:, 0, 0],
        rtol=1e-12,
    )
