"""The bundled regression analysis of the employer survey (report section)."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estimators.surveys.employers import default_margins, load_cati
from estimators.surveys.employers.analysis import (
    CLAIMS,
    OTHER,
    bundled_analysis,
    merge_small_groups,
)
from weighting.design import Design


@pytest.fixture(scope="module")
def analysis():
    design = Design(load_cati(), weights="base_weight", strata="stratum")
    return bundled_analysis(design.calibrate(default_margins()))


def test_three_models_with_their_claims(analysis):
    assert [m.outcome for m in analysis.models] == [
        "trainee_now",
        "trainee_ever",
        "hired_after_trainee",
    ]
    data = load_cati()
    for model in analysis.models:
        assert model.fit is not None and model.error is None
        # Rows not asked (hired_after_trainee) or unanswered are out of the fit.
        complete = (
            data[[model.outcome, "sector", "size_class", "nace_group", "accommodation_experience"]]
            .notna()
            .all(axis=1)
        )
        assert model.fit.n_used == complete.sum()
        assert {v.claim.id for v in model.verdicts} == {
            c.id for c in CLAIMS if model.outcome in c.outcomes
        }
        for v in model.verdicts:
            row = model.fit.tidy().set_index("term").loc[v.claim.term]
            assert v.odds_ratio == pytest.approx(np.exp(row["estimate"]), rel=1e-12)
            expected = (
                "confirms"
                if v.p < 0.05 and np.sign(row["estimate"]) == v.claim.direction
                else "contradicts"
                if v.p < 0.05
                else "qualifies"
            )
            assert v.verdict == expected


def test_every_level_of_the_merged_industry_has_both_answers(analysis):
    data = load_cati()
    for model in analysis.models:
        used = model.fit.frame.used
        merged = data["nace_group"].where(~data["nace_group"].isin(model.merged), OTHER)[used]
        yes = (data[model.outcome] == "yes")[used]
        counts = pd.crosstab(merged, yes)
        assert (counts.to_numpy() >= model.min_per_outcome).all()


def test_text_and_html_in_both_languages(analysis):
    en, no = analysis.to_text("en"), analysis.to_text("no")
    for claim in CLAIMS:
        assert f"line {claim.line}" in en and f"linje {claim.line}" in no
    html = analysis.to_html("no")
    # three logistic models and the ordinal model of the recruitment-need rating
    assert html.count('<section class="model">') == 4 and "oddsratio" in html
    assert "proporsjonale odds" in html
    # One reading per coefficient but the intercept.
    model = analysis.models[0]
    assert len(model.readings("en")) == len(model.fit.params) - 1


@settings(max_examples=30, deadline=None)
@given(
    counts=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), min_size=2, max_size=8),
    k=st.integers(1, 15),
)
def test_merge_small_groups_leaves_only_groups_with_k_of_each_answer(counts, k):
    labels, answers = [], []
    for g, (yes, no) in enumerate(counts):
        labels += [f"g{g}"] * (yes + no)
        answers += [True] * yes + [False] * no
    groups = pd.Series(labels, dtype=object)
    answer = np.array(answers, dtype=bool)
    merged_values, merged = merge_small_groups(groups, answer, np.ones(len(answer), bool), k)
    table = pd.crosstab(merged_values, answer).reindex(columns=[False, True], fill_value=0)
    if len(merged) < groups.nunique():  # unless everything had to be pooled
        assert (table.to_numpy() >= k).all()
    kept = set(groups.unique()) - set(merged)
    assert all((table.loc[g] >= k).all() for g in kept)
    assert merged_values.isin(kept | {OTHER}).all()


def test_a_model_that_cannot_be_fitted_is_flagged_not_raised():
    rng = np.random.default_rng(1)
    n = 200
    data = pd.DataFrame(
        {
            "sector": np.where(np.arange(n) < 40, "public", "private"),
            "size_class": np.array(["1-4", "5-19", "20-49", "50+"])[np.arange(n) % 4],
            "nace_group": np.array(["C", "G", "Q"])[np.arange(n) % 3],
            "accommodation_experience": np.where(rng.random(n) < 0.5, "yes", "no"),
            "w": rng.uniform(1, 5, n),
        }
    )
    yes_no = np.where(rng.random(n) < 0.4, "yes", "no")
    data["trainee_now"] = data["trainee_ever"] = data["hired_after_trainee"] = yes_no
    data.loc[data["sector"] == "public", "trainee_now"] = "yes"  # separated by sector
    result = bundled_analysis(Design(data, weights="w"))
    flagged = result.models[0]
    assert flagged.fit is None and "separation" in flagged.error
    assert "not estimable" in result.to_text("en")
    assert all(m.fit is not None for m in result.models[1:])


def test_the_rating_model_gives_the_section_its_figure(analysis):
    """The ordinal model's predicted distributions, by sector and size class
    (small to large), each level's categories summing to one."""
    ((name, caption, frame),) = analysis.figures("en")
    assert name == "model_rating" and "predicted distribution" in caption
    assert list(dict.fromkeys(frame["variable"])) == ["sector", "size_class"]
    sizes = frame.loc[frame["variable"] == "size_class", "level"]
    assert list(dict.fromkeys(sizes)) == ["1-4", "5-19", "20-49", "50+"]
    totals = frame.groupby(["variable", "level"])["estimate"].sum()
    np.testing.assert_allclose(totals, 1, rtol=1e-12)
    assert analysis.rating.fit is analysis.results[-1]
    # readings and coefficient rows in the order of the predictors, sizes small to large
    terms = list(analysis.rating.coefficients()["term"])
    assert terms == [
        "sector[T.public]",
        "size_class[T.5-19]",
        "size_class[T.20-49]",
        "size_class[T.50+]",
        "trainee_now[T.yes]",
    ]
