"""Bad input to design-based GLMs: one-line named errors, never an infinite
coefficient or a silent NaN."""
import numpy as np
import pandas as pd
import pytest

from estimators.model import (CollinearityError, FormulaError, ModelError,
                              ReplicateWeights, SeparationError, svyglm)
from weighting.design import Design
from weighting.errors import KalibError, ReplicateError


def _data(n=120, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    group = np.array(["a", "b", "c"])[rng.integers(0, 3, n)]
    stratum = np.repeat(["s1", "s2"], n // 2)
    y = (rng.random(n) < 1 / (1 + np.exp(-0.5 * x))).astype(float)
    return pd.DataFrame({"x": x, "group": group, "stratum": stratum, "y": y,
                         "w": rng.uniform(1, 3, n), "answer": np.where(y == 1, "yes", "no")})


def _design(data):
    return Design(data, weights="w", strata="stratum")


def _one_line(excinfo):
    message = str(excinfo.value)
    assert "\n" not in message and isinstance(excinfo.value, KalibError)
    return message


def test_unknown_variable_is_named():
    with pytest.raises(FormulaError) as exc:
        svyglm("y ~ x + nace_grp", _design(_data()), "binomial")
    assert "'nace_grp'" in _one_line(exc)


def test_text_response_asks_for_an_indicator():
    with pytest.raises(FormulaError) as exc:
        svyglm("answer ~ x", _design(_data()), "binomial")
    assert "I(VAR == 'code')" in _one_line(exc)


def test_binomial_response_outside_unit_interval():
    data = _data()
    data["y"] = data["y"] * 2
    with pytest.raises(FormulaError) as exc:
        svyglm("y ~ x", _design(data), "binomial")
    assert "[0, 1]" in _one_line(exc)


def test_constant_column_is_named():
    data = _data().assign(k=5.0)
    with pytest.raises(CollinearityError) as exc:
        svyglm("y ~ x + k", _design(data), "binomial")
    assert "'k' is constant" in _one_line(exc)


def test_aliased_column_is_named():
    data = _data()
    data["x2"] = 2 * data["x"] + 1
    with pytest.raises(CollinearityError) as exc:
        svyglm("y ~ x + x2", _design(data), "gaussian")
    assert "linear combination" in _one_line(exc)


def test_level_left_without_respondents_by_missing_values():
    data = _data()
    data.loc[data["group"] == "c", "x"] = np.nan  # level c only in dropped rows
    data.loc[0, "group"] = "c"
    data.loc[0, "x"] = np.nan
    with pytest.raises(CollinearityError) as exc:
        svyglm("y ~ x + group", _design(data), "binomial")
    message = _one_line(exc)
    assert "'group[T.c]' has no respondents" in message


def test_rows_with_missing_values_are_left_out_of_the_fit():
    data = _data()
    data.loc[:9, "x"] = np.nan
    fit = svyglm("y ~ x + group", _design(data), "binomial")
    complete = svyglm("y ~ x + group", _design(data.iloc[10:].reset_index(drop=True)),
                      "binomial")
    assert (fit.n_used, fit.n_missing) == (110, 10)
    np.testing.assert_allclose(fit.params, complete.params, rtol=1e-10)


def test_complete_separation_raises_instead_of_an_infinite_coefficient():
    data = _data()
    data["y"] = (data["x"] > 0).astype(float)
    with pytest.raises(SeparationError) as exc:
        svyglm("y ~ x", _design(data), "binomial")
    assert "separation" in _one_line(exc)


def test_quasi_separation_names_the_level():
    data = _data()
    data.loc[data["group"] == "b", "y"] = 0.0
    with pytest.raises(SeparationError) as exc:
        svyglm("y ~ x + group", _design(data), "binomial")
    assert "group[T.b]" in _one_line(exc)


def test_poisson_level_with_only_zero_counts():
    data = _data()
    data["count"] = np.where(data["group"] == "c", 0.0, 1.0 + (data["x"] > 0))
    with pytest.raises(SeparationError) as exc:
        svyglm("count ~ group", _design(data), "poisson")
    assert "group[T.c]" in _one_line(exc)


def test_response_with_one_outcome():
    data = _data().assign(y=1.0)
    with pytest.raises(SeparationError) as exc:
        svyglm("y ~ x", _design(data), "binomial")
    assert "needs both outcomes" in _one_line(exc)


def _replicates(data, W):
    B = W.shape[1]
    return ReplicateWeights(data, data["w"].to_numpy(), W, 1.0, np.full(B, 1.0),
                            False, B - 1, "JK1")


def test_replicate_where_a_level_has_no_respondents():
    data = _data()
    W = np.repeat(data["w"].to_numpy()[:, None], 4, axis=1)
    W[data["group"] == "b", 2] = 0.0  # replicate 3 deletes every unit of level b
    with pytest.raises(ReplicateError) as exc:
        svyglm("y ~ x + group", _replicates(data, W), "binomial")
    message = _one_line(exc)
    assert "replicate 3" in message and "group[T.b]" in message


def test_replicate_with_separation_is_reported():
    data = _data()
    W = np.repeat(data["w"].to_numpy()[:, None], 3, axis=1)
    # Replicate 2 keeps only the units of level b with y = 0: separated there.
    W[(data["group"] == "b") & (data["y"] == 1), 1] = 0.0
    with pytest.raises(ReplicateError) as exc:
        svyglm("y ~ x + group", _replicates(data, W), "binomial")
    assert "replicate 2" in _one_line(exc)


def test_unknown_term_in_a_wald_test():
    fit = svyglm("y ~ x + group", _design(_data()), "binomial")
    with pytest.raises(ModelError) as exc:
        fit.wald_test("sector")
    assert "'sector'" in _one_line(exc)


def test_unknown_family():
    with pytest.raises(ModelError) as exc:
        svyglm("y ~ x", _design(_data()), "gamma")
    assert "'gamma'" in _one_line(exc)


def test_replicate_variance_needs_replicates():
    with pytest.raises(ModelError):
        svyglm("y ~ x", _design(_data()), "binomial", variance="replicate")
