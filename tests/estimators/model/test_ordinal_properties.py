"""Invariants of design-based proportional-odds models (hypothesis) and
cross-checks against independent fits: statsmodels' ``OrderedModel`` (equal
weights), ``svyglm`` (two categories), one-at-a-time replicate fits, and
numerical derivatives of the predicted margins."""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.miscmodels.ordinal_model import OrderedModel

from estimators.inference.variance import linearization_covariance
from estimators.model import ModelError, ReplicateWeights, svyglm, svyolr
from estimators.model.ordinal import _Rows, get_link, newton, start_values
from weighting.design import Design

SETTINGS = settings(max_examples=15, deadline=None)


def _sample(seed, n=120, categories=4):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    group = np.array(["a", "b", "c"])[np.arange(n) % 3]
    latent = 0.7 * x + np.where(group == "b", 0.5, 0.0) + rng.logistic(size=n)
    cuts = np.quantile(latent, np.linspace(0, 1, categories + 1)[1:-1])
    return pd.DataFrame(
        {
            "x": x,
            "group": group,
            "stratum": np.repeat(["s1", "s2", "s3", "s4"], n // 4),
            "rating": np.digitize(latent, cuts) + 1,
            "w": rng.uniform(0.5, 4.0, n),
        }
    )


def _design(data, weights="w"):
    return Design(data, weights=weights, strata="stratum")


@SETTINGS
@given(
    seed=st.integers(0, 10_000),
    link=st.sampled_from(["logit", "probit"]),
    categories=st.integers(3, 6),
)
def test_thresholds_increase_and_probabilities_sum_to_one(seed, link, categories):
    data = _sample(seed, categories=categories)
    fit = svyolr("rating ~ x + group", _design(data), link)
    assert np.all(np.diff(fit.thresholds) > 0)
    assert len(fit.thresholds) == categories - 1
    probs = fit.predict_proba(data)
    assert np.all(probs.to_numpy() > 0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-12)


@SETTINGS
@given(seed=st.integers(0, 10_000), factor=st.floats(1e-3, 1e3))
def test_scaling_the_weights_changes_nothing(seed, factor):
    data = _sample(seed)
    fit = svyolr("rating ~ x + group", _design(data))
    scaled = svyolr("rating ~ x + group", _design(data.assign(w=data["w"] * factor)))
    np.testing.assert_allclose(scaled.params, fit.params, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(scaled.bse, fit.bse, rtol=1e-8)


@SETTINGS
@given(seed=st.integers(0, 10_000), link=st.sampled_from(["logit", "probit"]))
def test_reversing_the_scale_flips_every_sign(seed, link):
    # F(-x) = 1 - F(x): rating the other way round gives -beta and the
    # thresholds negated in reverse order, with the same standard errors.
    data = _sample(seed)
    fit = svyolr("rating ~ x + group", _design(data), link)
    flipped = svyolr("rating ~ x + group", _design(data.assign(rating=-data["rating"])), link)
    p = len(fit.coefficients)
    np.testing.assert_allclose(flipped.params[:p], -fit.params[:p], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(flipped.params[p:], -fit.params[p:][::-1], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(flipped.bse, np.r_[fit.bse[:p], fit.bse[p:][::-1]], rtol=1e-8)


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 10_000), link=st.sampled_from(["logit", "probit"]))
def test_equal_weights_give_ordered_model_mle(seed, link):
    data = _sample(seed)
    fit = svyolr("rating ~ x + group", _design(data.assign(w=2.5)), link)
    X = pd.get_dummies(data["group"], drop_first=True, dtype=float).assign(x=data["x"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = OrderedModel(
            data["rating"].to_numpy(),
            X[["x", "b", "c"]].to_numpy(),
            distr={"logit": "logit", "probit": "probit"}[link],
        ).fit(method="newton", disp=False, maxiter=200, gtol=1e-12)
    thresholds = ref.model.transform_threshold_params(ref.params)[1:-1]
    # OrderedModel's Newton uses a numerical Hessian: it ends ~3e-9 from the root.
    ours = fit.params
    np.testing.assert_allclose(ours[[2, 0, 1]], ref.params[:3], rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(ours[3:], thresholds, rtol=1e-7, atol=1e-8)


@SETTINGS
@given(seed=st.integers(0, 10_000), link=st.sampled_from(["logit", "probit"]))
def test_two_categories_is_the_binary_glm(seed, link):
    # P(Y <= 1) = F(zeta - x'beta): the binary model of Y = 2 with intercept
    # -zeta; the linearized covariances agree too (same influence functions).
    data = _sample(seed, categories=2)
    design = _design(data)
    fit = svyolr("rating ~ x + group", design, link)
    if link == "logit":
        glm = svyglm("I(rating == 2) ~ x + group", design, "binomial")
        np.testing.assert_allclose(fit.params[:3], glm.params[1:], rtol=1e-8)
        np.testing.assert_allclose(fit.params[3], -glm.params[0], rtol=1e-8)
        order, sign = [1, 2, 3, 0], np.array([1.0, 1.0, 1.0, -1.0])
        np.testing.assert_allclose(
            fit.cov, np.outer(sign, sign) * glm.cov[np.ix_(order, order)], rtol=1e-7, atol=1e-14
        )
        assert fit.df == glm.df
    assert fit.terms[-1] == "1|2"


@SETTINGS
@given(seed=st.integers(0, 10_000))
def test_batched_replicate_fits_equal_separate_fits(seed):
    """With a numeric predictor (every row distinct) and with factors only
    (the batched fits merge rows into their distinct (x, y))."""
    data = _sample(seed)
    rng = np.random.default_rng(seed)
    W = data["w"].to_numpy()[:, None] * rng.uniform(0.3, 2.0, (len(data), 6))
    W[:10, 0] = 0.0
    design = ReplicateWeights(data, data["w"].to_numpy(), W, 0.2, np.ones(6), False, 5)
    link = get_link("logit")
    for rhs in ("x + group", "group + stratum"):
        fit = svyolr(f"rating ~ {rhs}", design)
        rows = _Rows(fit.frame.X, fit.frame.y, len(fit.levels))
        for b in range(W.shape[1]):
            theta, converged = newton(
                rows, start_values(rows, W[:, b], link)[:, None], W[:, [b]], link
            )
            assert converged[0]
            np.testing.assert_allclose(
                fit.replicate_params[b], theta[:, 0], rtol=1e-9, atol=1e-12, err_msg=rhs
            )


def test_margin_gradient_matches_numerical_derivative():
    # the linearized margins' analytic d m / d theta against central differences
    data = _sample(7)
    fit = svyolr("rating ~ x + group", _design(data))
    margins = fit.predicted_margins("group")
    base = data.loc[fit.frame.used]
    w = data["w"].to_numpy()
    eps = 1e-6

    def margin(theta):
        out = []
        for level in ["a", "b", "c"]:
            X = fit.frame.design_matrix(base.assign(group=level))
            out.append(w @ fit._probabilities(X, theta[:, None])[:, :, 0] / w.sum())
        return np.concatenate(out)

    J = np.column_stack(
        [
            (margin(fit.params + eps * e) - margin(fit.params - eps * e)) / (2 * eps)
            for e in np.eye(len(fit.params))
        ]
    )
    m = margin(fit.params)
    np.testing.assert_allclose(margins["estimate"], m, rtol=1e-12)
    K = len(fit.levels)
    z = np.zeros((len(data), len(m)))
    for j, level in enumerate(["a", "b", "c"]):
        X = fit.frame.design_matrix(base.assign(group=level))
        probs = fit._probabilities(X, fit.params[:, None])[:, :, 0]
        z[:, K * j : K * (j + 1)] = (probs - m[K * j : K * (j + 1)]) / w.sum()
    z += fit.influence @ J.T
    se = np.sqrt(np.diag(linearization_covariance(fit.design, z)))
    np.testing.assert_allclose(margins["se"], se, rtol=1e-6)


def test_domain_probabilities_average_the_fitted_probabilities():
    data = _sample(11)
    design = _design(data).with_replicates("jkn")
    fit = svyolr("rating ~ x + group", design)
    table = fit.domain_probabilities("group")
    probs = fit.predict_proba(data)
    w = data["w"].to_numpy()
    for level in ["a", "b", "c"]:
        mask = (data["group"] == level).to_numpy()
        expected = w[mask] @ probs.to_numpy()[mask] / w[mask].sum()
        np.testing.assert_allclose(
            table.loc[table["level"] == level, "estimate"], expected, rtol=1e-12
        )
    # replicate SE: the same average with each replicate's weights and estimates
    W = design.replicate_weights()
    mask = (data["group"] == "b").to_numpy()
    reps = np.array(
        [
            W[mask, b]
            @ fit._probabilities(fit.frame.X[mask], fit.replicate_params[b][:, None])[:, :, 0]
            / W[mask, b].sum()
            for b in range(W.shape[1])
        ]
    )
    centre = reps.mean(axis=0)
    se = np.sqrt(design.scale * (design.rscales[:, None] * (reps - centre) ** 2).sum(axis=0))
    np.testing.assert_allclose(table.loc[table["level"] == "b", "se"], se, rtol=1e-10)


def test_average_marginal_effect_of_a_numeric_predictor():
    # d P_k / d x = beta_x (f(zeta_{k-1} - eta) - f(zeta_k - eta)), averaged with the weights
    data = _sample(13)
    fit = svyolr("rating ~ x + group", _design(data), "probit")
    ame = fit.average_marginal_effects()
    slope = ame[ame["contrast"] == "d/dx"]
    eta = fit.frame.X @ fit.params[:3]
    zeta = np.r_[-np.inf, fit.params[3:], np.inf]
    f = fit.family.pdf(zeta[None, :] - eta[:, None])
    w = data["w"].to_numpy()
    expected = fit.coefficients["x"] * (w @ (f[:, :-1] - f[:, 1:])) / w.sum()
    np.testing.assert_allclose(slope["estimate"], expected, rtol=1e-7)
    assert abs(slope["estimate"].sum()) < 1e-10
    assert list(ame["contrast"].unique()) == ["d/dx", "b - a", "c - a"]


def test_predict_for_an_unseen_level_is_a_model_error():
    data = _sample(1)
    fit = svyolr("rating ~ x + group", _design(data))
    with pytest.raises(ModelError, match="cannot code newdata .* 'zz' does not match"):
        fit.predict_proba(data.assign(group="zz"))


@pytest.mark.parametrize("dtype", ["string", "boolean"])
def test_predict_with_a_missing_nullable_predictor_names_the_missing_value(dtype):
    # was: "observation with value <NA> does not match any of the expected
    # levels": pandas' NA in an object column is no missing value to patsy
    data = _sample(2)
    data["group"] = data["group"].astype("string")
    if dtype == "boolean":
        data["group"] = (data["group"] == "a").astype("boolean")
    fit = svyolr("rating ~ x + group", _design(data))
    newdata = data.head(4).copy()
    newdata.loc[2, "group"] = pd.NA
    with pytest.raises(ModelError, match="cannot code newdata .*: factor contains missing values"):
        fit.predict_proba(newdata)
