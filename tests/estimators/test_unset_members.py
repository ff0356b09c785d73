"""Members that are None until something sets them (a question's derivation
rule, a model that could not be fitted) are read through a check that names
what is missing, not an ``AttributeError``/``TypeError`` on None."""

import pandas as pd
import pytest

from estimators.io.codebook import CodebookError, Question, derive_column
from estimators.model.errors import ModelError
from estimators.surveys.employers.rating_model import FORMULA, RatingModel


def test_deriving_a_question_without_a_rule_names_it():
    question = Question("q1", "single", "Spørsmål", "Question", ())
    with pytest.raises(CodebookError, match="q1 is not a derived variable"):
        derive_column(question, pd.DataFrame({"q1": ["1"]}))


def test_a_derived_question_still_derives():
    question = Question(
        "big", "single", "Stor", "Big", (), derived={"source": "size", "map": {"1": "no"}}
    )
    out = derive_column(question, pd.DataFrame({"size": ["1", None]}))
    assert out.tolist()[0] == "no" and pd.isna(out.tolist()[1])


def test_coefficients_of_an_unestimable_rating_model_say_why():
    model = RatingModel(FORMULA, None, error="complete separation in size_class")
    with pytest.raises(ModelError, match="not estimable: complete separation"):
        model.coefficients()
    assert model.figure_data().empty  # the figure's frame is empty, not an error
