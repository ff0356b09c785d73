"""The report's ordinal model of a rating scale (recruitment need as a reason
to offer placements) on the bundled employer survey."""

import numpy as np
import pytest

from estimators.model import svyolr
from estimators.surveys.employers import load_cati, load_register_margins
from estimators.surveys.employers.rating_model import FORMULA, RATING, rating_model
from weighting.design import Design


@pytest.fixture(scope="module")
def design():
    return Design(load_cati(), weights="base_weight", strata="stratum").calibrate(
        load_register_margins("central")
    )


@pytest.fixture(scope="module")
def model(design):
    return rating_model(design)


def test_fits_the_rating_of_the_routed_respondents(model, design):
    fit = model.fit
    answered = int(design.data[RATING].notna().sum())
    assert fit.n_used == answered and fit.levels == ["1", "2", "3", "4", "5"]
    np.testing.assert_array_equal(fit.params, svyolr(FORMULA, design).params)
    assert list(model.tests["term"]) == ["sector", "size_class", "trainee_now"]


def test_figure_data_is_a_distribution_per_level(model):
    data = model.figure_data("no")
    assert list(data["level"].unique()) == ["private", "public", "1-4", "5-19", "20-49", "50+"]
    sums = data.groupby(["variable", "level"])["estimate"].sum()
    np.testing.assert_allclose(sums, 1.0, rtol=1e-12)
    assert (data["ci_low"] < data["estimate"]).all() and (data["estimate"] < data["ci_high"]).all()
    assert data.loc[data["category"] == "5", "label"].unique().tolist() == ["5 Svært viktig"]


def test_readings_one_per_coefficient(model):
    readings = model.readings("en")
    assert len(readings) == len(model.fit.coefficients) == 5
    # public employers rate the recruitment need clearly lower (OR ~ 0.45)
    assert (
        readings[0].startswith("Public-sector businesses: odds ratio of a higher rating 0.45")
        and "statistically clear" in readings[0]
    )
    assert "oddsratio for høyere vurdering 0,45" in model.readings("no")[0]
