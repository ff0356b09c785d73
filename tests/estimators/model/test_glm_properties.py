"""Invariants of design-based GLMs (hypothesis); the full-sample fit and the
batched replicate re-fit (kalib's own Newton iteration) against statsmodels'
GLM, fitted one weighting at a time."""

import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

from estimators.model import ReplicateWeights, svyglm
from estimators.model.families import get_family
from estimators.model.fitting import collapse_rows, refit_replicates
from weighting.design import Design

SETTINGS = settings(max_examples=15, deadline=None)
STATSMODELS = {
    "binomial": sm.families.Binomial,
    "poisson": sm.families.Poisson,
    "gaussian": sm.families.Gaussian,
}
RESPONSE = {"binomial": "y", "poisson": "count", "gaussian": "z"}


def _sample(seed, n=80):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    group = np.array(["a", "b", "c"])[np.arange(n) % 3]
    eta = -0.3 + 0.8 * x + np.where(group == "b", 0.5, 0.0)
    return pd.DataFrame(
        {
            "x": x,
            "group": group,
            "stratum": np.repeat(["s1", "s2", "s3", "s4"], n // 4),
            "y": (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float),
            "count": rng.poisson(np.exp(0.2 + 0.3 * x)).astype(float),
            "z": 2.0 + x + rng.normal(size=n),
            "w": rng.uniform(0.5, 4.0, n),
        }
    )


def _statsmodels_fit(X, y, w, family) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = sm.GLM(y, X, family=STATSMODELS[family](), var_weights=w)
        return model.fit(tol=1e-14, maxiter=200).params


@SETTINGS
@given(seed=st.integers(0, 10_000), family=st.sampled_from(["binomial", "poisson", "gaussian"]))
def test_full_sample_fit_equals_statsmodels(seed, family):
    data = _sample(seed)
    fit = svyglm(f"{RESPONSE[family]} ~ x + group", Design(data, weights="w"), family)
    one = _statsmodels_fit(fit.frame.X, fit.frame.y, data["w"].to_numpy(), family)
    np.testing.assert_allclose(fit.params, one, rtol=1e-9, atol=1e-11)


@SETTINGS
@given(seed=st.integers(0, 10_000), family=st.sampled_from(["binomial", "poisson", "gaussian"]))
def test_batched_refit_equals_statsmodels_per_replicate(seed, family):
    """With a numeric predictor (every row distinct) and with factors only
    (rows merged into their distinct (x, y) with summed weights)."""
    data = _sample(seed)
    rng = np.random.default_rng(seed + 1)
    W = data["w"].to_numpy()[:, None] * rng.uniform(0.3, 1.7, size=(len(data), 5))
    for rhs in ("x + group", "group + stratum"):
        fit = svyglm(f"{RESPONSE[family]} ~ {rhs}", Design(data, weights="w"), family)
        X, y = fit.frame.X, fit.frame.y
        reps = refit_replicates(X, y, W, get_family(family), fit.params, fit.terms)
        for b in range(W.shape[1]):
            one = _statsmodels_fit(X, y, W[:, b], family)
            np.testing.assert_allclose(reps[b], one, rtol=1e-8, atol=1e-10, err_msg=rhs)


def test_collapsed_rows_carry_the_summed_weights_of_their_group():
    X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0], [1.0, 1.0], [1.0, 0.0]])
    y = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
    W = np.arange(10.0).reshape(5, 2)
    Xd, Wd, yd = collapse_rows(X, W, y)
    groups = {(tuple(x), v): w for x, v, w in zip(Xd.tolist(), yd, Wd.tolist())}
    assert groups == {
        ((1.0, 0.0), 0.0): [8.0, 9.0],
        ((1.0, 0.0), 1.0): [0.0 + 4.0, 1.0 + 5.0],
        ((1.0, 1.0), 0.0): [2.0, 3.0],
        ((1.0, 1.0), 1.0): [6.0, 7.0],
    }
    Xd, Wd = collapse_rows(X, W)
    assert Xd.tolist() == [[1.0, 0.0], [1.0, 1.0]] and Wd.tolist() == [[12.0, 15.0], [8.0, 10.0]]


def test_rows_that_are_nearly_all_distinct_are_not_merged():
    """A continuous predictor: merging would sort n rows to save almost none,
    so the inputs come back as they are; with a few repeats among many
    distinct rows too (above COLLAPSE_SHARE distinct)."""
    rng = np.random.default_rng(3)
    X = np.column_stack([np.ones(50), rng.normal(size=50)])
    X[45:] = X[:5]  # 45 distinct rows of 50
    y, W = rng.integers(0, 2, 50).astype(float), rng.uniform(1, 2, (50, 3))
    out = collapse_rows(X, W, y)
    assert out[0] is X and out[1] is W and out[2] is y
    X[25:] = X[:25]  # 25 distinct (x, y) pairs at most: merged
    y[25:] = y[:25]
    assert len(collapse_rows(X, W, y)[0]) == 25


@SETTINGS
@given(seed=st.integers(0, 10_000), factor=st.floats(1e-3, 1e3))
def test_scaling_the_weights_changes_neither_estimates_nor_standard_errors(seed, factor):
    data = _sample(seed)
    fit = svyglm("y ~ x + group", Design(data, weights="w", strata="stratum"), "binomial")
    scaled = svyglm(
        "y ~ x + group",
        Design(data.assign(w=data["w"] * factor), weights="w", strata="stratum"),
        "binomial",
    )
    np.testing.assert_allclose(scaled.params, fit.params, rtol=1e-9)
    np.testing.assert_allclose(scaled.bse, fit.bse, rtol=1e-9)


@SETTINGS
@given(seed=st.integers(0, 10_000))
def test_single_coefficient_wald_test_is_the_squared_t(seed):
    fit = svyglm(
        "count ~ x + group", Design(_sample(seed), weights="w", strata="stratum"), "poisson"
    )
    test = fit.wald_test("x")
    j = fit.terms.index("x")
    np.testing.assert_allclose(test.F, fit.tvalues[j] ** 2, rtol=1e-12)
    np.testing.assert_allclose(test.p, fit.pvalues[j], rtol=1e-9)


@SETTINGS
@given(seed=st.integers(0, 10_000))
def test_margins_of_a_saturated_linear_model_are_weighted_group_means(seed):
    data = _sample(seed)
    fit = svyglm("z ~ group", Design(data, weights="w", strata="stratum"), "gaussian")
    margins = fit.predicted_margins("group").set_index("level")
    means = data.groupby("group").apply(
        lambda g: np.average(g["z"], weights=g["w"]), include_groups=False
    )
    np.testing.assert_allclose(margins.loc[means.index, "estimate"], means, rtol=1e-10)
    assert margins["contrast"].iloc[0] == 0.0


@SETTINGS
@given(seed=st.integers(0, 10_000))
def test_replicate_margins_recompute_each_replicate(seed):
    data = _sample(seed)
    rng = np.random.default_rng(seed)
    W = data["w"].to_numpy()[:, None] * rng.uniform(0.5, 1.5, size=(len(data), 6))
    design = ReplicateWeights(data, data["w"].to_numpy(), W, 0.2, np.ones(6), True, 5)
    fit = svyglm("y ~ x + group", design, "binomial")
    margins = fit.predicted_margins("group")
    # Margin of level "a" in replicate b, recomputed by hand (mse: centred on the full estimate).
    X = fit.frame.X.copy()
    X[:, [fit.terms.index("group[T.b]"), fit.terms.index("group[T.c]")]] = 0.0
    mu = 1 / (1 + np.exp(-X @ fit.replicate_params.T))
    reps = (W * mu).sum(axis=0) / W.sum(axis=0)
    se = np.sqrt(0.2 * np.sum((reps - margins["estimate"].iloc[0]) ** 2))
    np.testing.assert_allclose(margins["se"].iloc[0], se, rtol=1e-10)


def test_tidy_xarray_and_summary_agree():
    data = _sample(5)
    fit = svyglm("y ~ x + group", Design(data, weights="w", strata="stratum"), "binomial")
    table = fit.tidy()
    assert list(table.columns) == [
        "term",
        "estimate",
        "se",
        "t",
        "df",
        "p",
        "ci_low",
        "ci_high",
        "odds_ratio",
        "or_ci_low",
        "or_ci_high",
    ]
    assert table["term"].tolist() == ["Intercept", "group[T.b]", "group[T.c]", "x"]
    ds = fit.to_xarray()
    np.testing.assert_array_equal(ds["estimate"].values, table["estimate"].to_numpy())
    np.testing.assert_array_equal(ds["cov"].values, fit.cov)
    text = fit.summary()
    assert "group[T.b]" in text and "residual design df: " + str(fit.df) in text
    assert fit.df == len(data) - 4 + 1 - 4  # (n - H) + 1 - p, as R


@SETTINGS
@given(seed=st.integers(0, 10_000), replicate=st.booleans())
def test_average_marginal_effects_of_a_linear_model_are_its_coefficients(seed, replicate):
    data = _sample(seed)
    if replicate:
        rng = np.random.default_rng(seed)
        W = data["w"].to_numpy()[:, None] * rng.uniform(0.5, 1.5, size=(len(data), 8))
        design = ReplicateWeights(data, data["w"].to_numpy(), W, 1 / 7, np.ones(8), False, 7)
    else:
        design = Design(data, weights="w", strata="stratum")
    fit = svyglm("z ~ x + group", design, "gaussian")
    ame = fit.average_marginal_effects().set_index("contrast")
    coef = fit.tidy().set_index("term")
    for contrast, term in [("d/dx", "x"), ("b - a", "group[T.b]"), ("c - a", "group[T.c]")]:
        np.testing.assert_allclose(
            ame.loc[contrast, "estimate"], coef.loc[term, "estimate"], rtol=1e-7
        )
        np.testing.assert_allclose(ame.loc[contrast, "se"], coef.loc[term, "se"], rtol=1e-6)


def test_logistic_average_marginal_effect_is_the_mean_slope():
    data = _sample(11)
    design = Design(data, weights="w", strata="stratum")
    fit = svyglm("y ~ x + group", design, "binomial")
    mu = 1 / (1 + np.exp(-fit.frame.X @ fit.params))
    slope = fit.params[fit.terms.index("x")] * np.average(mu * (1 - mu), weights=data["w"])
    ame = fit.average_marginal_effects().set_index("contrast")
    np.testing.assert_allclose(ame.loc["d/dx", "estimate"], slope, rtol=1e-7)


@SETTINGS
@given(st.integers(0, 2**31 - 1), st.integers(1, 6))
def test_given_replicate_weights_are_a_replicate_design(seed, n_groups):
    """``ReplicateWeights`` is a ``weighting.protocols.ReplicateDesign`` whose
    replicate totals equal those of a ``Design`` given the same weights."""
    from weighting.protocols import ReplicateDesign

    rng = np.random.default_rng(seed)
    data = _sample(seed, n=24)
    W = data["w"].to_numpy()[:, None] * rng.uniform(0.0, 2.0, (24, 5))
    given_weights = ReplicateWeights(data, data["w"].to_numpy(), W, 0.25, np.ones(5), False, 4)
    assert isinstance(given_weights, ReplicateDesign)
    assert (given_weights.n, given_weights.B) == (24, 5)
    design = Design(data, weights="w").with_replicate_weights(W, 0.25, np.ones(5))
    values = rng.normal(size=(24, 2))
    groups = rng.integers(0, n_groups, 24)
    np.testing.assert_allclose(
        given_weights.replicate_totals(values, groups, n_groups),
        design.replicate_totals(values, groups, n_groups),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        given_weights.replicate_totals(values[:, 0]),
        (W * values[:, :1]).sum(axis=0)[:, None, None],
        rtol=1e-12,
    )


@SETTINGS
@given(seed=st.integers(0, 10_000))
def test_counterfactual_matrices_are_patsys_matrices_of_the_modified_rows(seed):
    """Column substitution (a main effect) and patsy (an interaction with
    another variable) give the matrices patsy builds on the fitted rows with
    the variable set to each level."""
    data = _sample(seed).assign(
        h=lambda d: np.where(d["x"] > 0, "hi", "lo"), z=lambda d: d["z"].where(d["x"] < 1.5)
    )
    for formula in ("z ~ C(group) + x + h", "z ~ group * h + x"):
        frame = svyglm(formula, Design(data, weights="w"), "gaussian").frame
        fitted = data.loc[frame.used]
        levels = ["c", "a", "b"]
        for X, level in zip(frame.counterfactual_matrices(data, "group", levels), levels):
            np.testing.assert_array_equal(
                X, frame.design_matrix(fitted.assign(group=level)), err_msg=formula
            )
