"""The design protocols (weighting.protocols) hold for weighting's own designs
and replicate structures, and fail for objects that lack a member."""

import numpy as np
import pytest

from weighting.design import Design
from weighting.protocols import PsuStructure, ReplicateDesign, ReplicateStructure
from weighting.replicates import GivenReplicates, Replicates


@pytest.fixture(scope="module")
def designs():
    rng = np.random.default_rng(8)
    n = 40
    data = {"stratum": np.repeat(["a", "b"], n // 2), "w": rng.uniform(1, 3, n)}
    design = Design(data, weights="w", strata="stratum")
    return {
        "plain": design,
        "bootstrap": design.with_replicates("bootstrap", replicates=5, seed=1),
        "given": design.with_replicate_weights(
            rng.uniform(0.5, 2, (n, 4)), scale=0.25, rscales=1.0
        ),
    }


def test_replicated_designs_are_replicate_designs(designs):
    for name in ("bootstrap", "given"):
        design = designs[name]
        assert isinstance(design, ReplicateDesign) and design.replicates is not None
        assert isinstance(design.replicates, ReplicateStructure)
        R = design.replicate_totals(np.ones(design.n))
        np.testing.assert_allclose(R[:, 0, 0], design.replicate_weights().sum(axis=0), rtol=1e-12)
    assert isinstance(designs["bootstrap"].replicates, Replicates)
    assert isinstance(designs["given"].replicates, GivenReplicates)
    # the members are there without replicates too: what tells them apart is
    # ``replicates``, never a hasattr
    assert designs["plain"].replicates is None


def test_a_design_gives_its_strata_and_psus(designs):
    design = designs["plain"]
    assert isinstance(design, PsuStructure)
    assert design.n_strata == 2 and design.psu_stratum.tolist() == [0] * 20 + [1] * 20


def test_an_object_lacking_a_member_is_not_conforming():
    class Half:
        n, data, weights, replicates, method, B = 1, None, np.ones(1), "r", "m", 2
        scale, rscales, mse = 1.0, np.ones(2), False

        def replicate_totals(self, values, groups=None, n_groups=None):
            return np.zeros((2, 1, 1))

    assert not isinstance(Half(), ReplicateDesign)  # no degf, no replicate_weights
    Half.degf = 1
    Half.replicate_weights = lambda self: np.ones((1, 2))
    assert isinstance(Half(), ReplicateDesign)
    assert not isinstance(Half(), PsuStructure) and not isinstance(Half(), ReplicateStructure)


def test_a_structure_made_elsewhere_is_attached_only_if_it_is_one(designs):
    structure = designs["bootstrap"].replicates
    moved = designs["plain"].with_replicate_structure(structure)
    assert moved.replicates is structure and designs["plain"].replicates is None
    from weighting.errors import KalibError

    with pytest.raises(KalibError, match="dict is not a replicate structure"):
        designs["plain"].with_replicate_structure({"B": 3})
