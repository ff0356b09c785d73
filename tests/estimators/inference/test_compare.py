"""Domain differences against R svycontrast(svyby(..., covmat = TRUE))."""
import numpy as np
import pytest

from estimators.inference import estimate as E
from estimators.inference.compare import domain_difference
from reference.estimators.apistrat_designs import DESIGNS, R
from weighting.errors import KalibError


@pytest.mark.parametrize("kind", ["lin", "jkn"])
def test_difference_keeps_the_covariance(kind):
    design = DESIGNS[kind]
    items = E.mean_items(design, ["api00"])
    out = domain_difference(design, items, "awards", "Yes", "No")
    np.testing.assert_allclose(out["estimate"], R[f"{kind}.diff_awards"], rtol=1e-8)
    np.testing.assert_allclose(out["se"], R[f"{kind}.diff_awards_se"], rtol=1e-8)
    assert out["ci_low"][0] < out["estimate"][0] < out["ci_high"][0]
    # the independent-domains shortcut would give a different SE
    by = E.svymean(design, "api00", by=["awards"]).frame
    naive = np.sqrt((by["se"] ** 2).sum())
    assert abs(naive - out["se"][0]) > 1e-6 * out["se"][0]


def test_unknown_domain_is_named():
    design = DESIGNS["lin"]
    with pytest.raises(KalibError, match="'Maybe' is not a category of 'awards'"):
        domain_difference(design, E.mean_items(design, ["api00"]), "awards", "Maybe", "No")
