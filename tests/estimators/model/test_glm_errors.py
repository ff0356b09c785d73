"""Bad input to design-based GLMs: one-line named errors, never an infinite
coefficient or a silent NaN."""

import numpy as np
import pandas as pd
import pytest

from estimators.model import (
    CollinearityError,
    FormulaError,
    ModelError,
    ReplicateWeights,
    SeparationError,
    SingularCovarianceError,
    svyglm,
)
from weighting.design import Design
from weighting.errors import KalibError, ReplicateError


def _data(n=120, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    group = np.array(["a", "b", "c"])[rng.integers(0, 3, n)]
    stratum = np.repeat(["s1", "s2"], n // 2)
    y = (rng.random(n) < 1 / (1 + np.exp(-0.5 * x))).astype(float)
    return pd.DataFrame(
        {
            "x": x,
            "group": group,
            "stratum": stratum,
            "y": y,
            "w": rng.uniform(1, 3, n),
            "answer": np.where(y == 1, "yes", "no"),
        }
    )


def _design(data):
    return Design(data, weights="w", strata="stratum")


def _one_line(excinfo):
    message = str(excinfo.value)
    assert "\n" not in message and isinstance(excinfo.value, KalibError)
    return message


def _with(**columns):
    """The sample with columns replaced or added (callables get the frame)."""

    def make():
        data = _data()
        for name, value in columns.items():
            data[name] = value(data) if callable(value) else value
        return data

    return make


BAD_INPUT = {
    "unknown variable": ("y ~ x + nace_grp", _with(), "binomial", FormulaError, "'nace_grp'"),
    "text response": ("answer ~ x", _with(), "binomial", FormulaError, "I(VAR == 'code')"),
    "binomial response > 1": (
        "y ~ x",
        _with(y=lambda d: 2 * d["y"]),
        "binomial",
        FormulaError,
        "[0, 1]",
    ),
    "constant column": (
        "y ~ x + k",
        _with(k=5.0),
        "binomial",
        CollinearityError,
        "'k' is constant",
    ),
    "aliased column": (
        "y ~ x + x2",
        _with(x2=lambda d: 2 * d["x"] + 1),
        "gaussian",
        CollinearityError,
        "linear combination",
    ),
    "complete separation": (
        "y ~ x",
        _with(y=lambda d: (d["x"] > 0).astype(float)),
        "binomial",
        SeparationError,
        "separation",
    ),
    "quasi-separation by a level": (
        "y ~ x + group",
        _with(y=lambda d: d["y"].where(d["group"] != "b", 0.0)),
        "binomial",
        SeparationError,
        "group[T.b]",
    ),
    "Poisson response 0 in every row": (
        "count ~ x",
        _with(count=0.0),
        "poisson",
        FormulaError,
        "is 0 for all",
    ),
    "Poisson level with only zeros": (
        "count ~ group",
        _with(count=lambda d: np.where(d["group"] == "c", 0.0, 1.0 + (d["x"] > 0))),
        "poisson",
        SeparationError,
        "group[T.c]",
    ),
    "one outcome only": (
        "y ~ x",
        _with(y=1.0),
        "binomial",
        SeparationError,
        "needs both outcomes",
    ),
    "unknown family": ("y ~ x", _with(), "gamma", ModelError, "'gamma'"),
}


@pytest.mark.parametrize("case", BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_input_gets_a_named_one_line_error(case):
    formula, make, family, error, needle = case
    with pytest.raises(error) as exc:
        svyglm(formula, _design(make()), family)
    assert needle in _one_line(exc)


def test_indicator_response_of_a_missing_answer_is_missing_not_no():
    data = _data()
    data["answer"] = data["answer"].where(data.index >= 30, None)  # 30 not asked
    fit = svyglm("I(answer == 'yes') ~ x", _design(data), "binomial")
    assert (fit.n_used, fit.n_missing) == (90, 30)
    complete = svyglm("y ~ x", _design(data.iloc[30:].reset_index(drop=True)), "binomial")
    np.testing.assert_allclose(fit.params, complete.params, rtol=1e-10)


def test_rows_with_missing_values_are_left_out_of_the_fit():
    data = _data()
    data.loc[:9, "x"] = np.nan
    fit = svyglm("y ~ x + group", _design(data), "binomial")
    complete = svyglm("y ~ x + group", _design(data.iloc[10:].reset_index(drop=True)), "binomial")
    assert (fit.n_used, fit.n_missing) == (110, 10)
    np.testing.assert_allclose(fit.params, complete.params, rtol=1e-10)


def _replicates(data, W):
    B = W.shape[1]
    return ReplicateWeights(
        data, data["w"].to_numpy(), W, 1.0, np.full(B, 1.0), False, B - 1, "JK1"
    )


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


def test_replicate_variance_needs_replicates():
    with pytest.raises(ModelError):
        svyglm("y ~ x", _design(_data()), "binomial", variance="replicate")


def test_an_extreme_but_finite_fit_is_not_taken_for_separation():
    data = _data()
    data.loc[0, ["x", "y"]] = [80.0, 1.0]  # fitted probability 1 - 1e-17, yet no separation
    fit = svyglm("y ~ x", _design(data), "binomial")
    assert np.all(np.isfinite(fit.params)) and fit.params[1] * 80 > 25


def test_wald_test_with_fewer_replicates_than_coefficients_is_refused():
    design = _design(_data()).with_replicates("bootstrap", replicates=3, seed=1)
    fit = svyglm("y ~ x + group", design, "binomial")
    with pytest.raises(SingularCovarianceError) as excinfo:  # 3 replicates: rank <= 2 < 3
        fit.wald_test(["x", "group"])
    assert "rank 2" in _one_line(excinfo) and "x, group" in str(excinfo.value)
    assert np.isfinite(fit.wald_test("x").F)  # one coefficient: its variance is positive
