"""Bad input to design-based proportional-odds models: one-line errors that
name the response, category, term or replicate."""

import numpy as np
import pandas as pd
import pytest

from estimators.model import (
    CollinearityError,
    FormulaError,
    ModelError,
    ReplicateWeights,
    SeparationError,
    svyolr,
)
from weighting.design import Design
from weighting.errors import KalibError, ReplicateError


def _data(n=150, seed=5):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    group = np.array(["a", "b", "c"])[np.arange(n) % 3]
    latent = 0.8 * x + np.where(group == "b", 0.6, 0.0) + rng.logistic(size=n)
    return pd.DataFrame(
        {
            "x": x,
            "group": group,
            "stratum": np.repeat(["s1", "s2"], n // 2),
            "rating": np.digitize(latent, [-1.0, 0.0, 1.0]) + 1,
            "w": rng.uniform(1, 3, n),
        }
    )


def _fit(data, formula="rating ~ x + group", **kwargs):
    return svyolr(formula, Design(data, weights="w", strata="stratum"), **kwargs)


def _message(excinfo):
    message = str(excinfo.value)
    assert "\n" not in message and isinstance(excinfo.value, KalibError)
    return message


def test_response_with_one_category():
    data = _data().assign(rating=3)
    with pytest.raises(FormulaError) as e:
        _fit(data)
    assert "response 'rating' has one category ('3')" in _message(e)


def test_declared_category_without_respondents():
    data = _data()
    data["rating"] = pd.Categorical(
        data["rating"].map({1: "low", 2: "mid", 3: "mid", 4: "high"}),
        ["low", "mid", "high", "top"],
        ordered=True,
    )
    with pytest.raises(FormulaError) as e:
        _fit(data)
    assert "category 'top' of response 'rating' has no respondents" in _message(e)


def test_text_response_has_no_order():
    data = _data()
    data["rating"] = data["rating"].map({1: "low", 2: "mid", 3: "high", 4: "top"})
    with pytest.raises(FormulaError) as e:
        _fit(data)
    assert "response 'rating' has the text value" in _message(e)


def test_text_codes_outside_the_subset_are_not_looked_at():
    # a raw export's 'dont_know' among numeric codes: fitted once left out
    data = _data()
    data["rating"] = data["rating"].astype(object)
    data.loc[:9, "rating"] = "dont_know"
    with pytest.raises(FormulaError) as e:
        _fit(data)
    assert "text value 'dont_know' (10 rows)" in _message(e)
    kept = (data["rating"] != "dont_know").to_numpy()
    fit = _fit(data, subset=kept)
    expected = _fit(_data().assign(rating=lambda d: d["rating"].where(kept)))
    np.testing.assert_allclose(fit.params, expected.params, rtol=1e-12)
    np.testing.assert_allclose(fit.bse, expected.bse, rtol=1e-12)


def test_levels_order_a_text_response():
    labels = {1: "low", 2: "mid", 3: "high", 4: "top"}
    data = _data()
    text = data.assign(rating=data["rating"].map(labels))
    fit = _fit(text, levels=list(labels.values()))
    assert fit.terms[-3:] == ["low|mid", "mid|high", "high|top"]
    np.testing.assert_allclose(fit.params, _fit(data).params, rtol=1e-12)
    with pytest.raises(FormulaError) as e:
        _fit(text, levels=["low", "mid", "high"])
    assert "has the value 'top'" in _message(e) and "not one of its levels" in _message(e)
    with pytest.raises(FormulaError) as e:
        _fit(data, levels=[1, 2, 3, 4, 5])
    assert "category '5' of response 'rating' has no respondents" in _message(e)
    with pytest.raises(FormulaError) as e:
        _fit(data, levels=[1, 2, 2.0, 3, 4])
    assert "repeat '2'" in _message(e)


def test_unordered_categorical_response():
    data = _data()
    data["rating"] = pd.Categorical(data["rating"])
    with pytest.raises(FormulaError) as e:
        _fit(data)
    assert "'rating' is an unordered categorical" in _message(e)


def test_ordered_categorical_keeps_its_order():
    # the categories' order, not their sorted text, defines the thresholds
    data = _data()
    labels = {1: "low", 2: "mid", 3: "high", 4: "top"}
    data["rating"] = pd.Categorical(
        data["rating"].map(labels), list(labels.values()), ordered=True
    )
    fit = _fit(data)
    assert fit.terms[-3:] == ["low|mid", "mid|high", "high|top"]
    np.testing.assert_allclose(fit.params, _fit(_data()).params, rtol=1e-12)


@pytest.mark.parametrize(
    "formula, error, message",
    [
        ("rating ~ x + x2 + group", CollinearityError, "'x2' is a linear combination"),
        ("rating ~ x + one + group", CollinearityError, "'one' is constant"),
        ("rating ~ x + group - 1", FormulaError, "removes the intercept"),
        ("I(rating > 2) ~ x", FormulaError, "must be one variable"),
        ("rating ~ x + nothere", FormulaError, "unknown variable 'nothere'"),
    ],
)
def test_formula_errors(formula, error, message):
    data = _data().assign(x2=lambda d: 2 * d["x"], one=1.0)
    with pytest.raises(error) as e:
        _fit(data, formula)
    assert message in _message(e)


def test_unknown_link():
    with pytest.raises(ModelError) as e:
        _fit(_data(), link="cloglog")
    assert "unknown link 'cloglog'" in _message(e)


def test_separation_names_the_runaway_term():
    data = _data()
    data.loc[data["group"] == "c", "rating"] = 4  # every "c" gives the top rating
    with pytest.raises(SeparationError) as e:
        _fit(data)
    assert "coefficient 'group[T.c]' runs away" in _message(e)


def test_replicate_without_a_category_names_it():
    data = _data()
    weights = np.repeat(data["w"].to_numpy()[:, None], 3, axis=1)
    weights[data["rating"] == 4, 1] = 0.0  # replicate 2 drops every top rating
    design = ReplicateWeights(data, data["w"].to_numpy(), weights, 1.0, np.ones(3), False, 2)
    with pytest.raises(ReplicateError) as e:
        svyolr("rating ~ x + group", design)
    assert "replicate 2: category '4' has no respondent" in _message(e)
