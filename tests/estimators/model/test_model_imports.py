"""What a model fit loads (issue 14): the report's analysis fits logistic and
ordinal models with replicate variance, predictive margins and Wald tests of
terms, and needs neither statsmodels (its GLM and families, which bring
``scipy.stats`` and formulaic along) nor ``scipy.stats`` (the tests' tail
probabilities come from ``scipy.special``). Run in a fresh interpreter by
``tests/test_startup_imports.py``'s ``loaded_by``, so that a module-level
import of either fails here."""

from test_startup_imports import loaded_by

FIT = """
    import numpy as np
    import pandas as pd
    from estimators.model import ReplicateWeights, svyglm, svyolr
    rng = np.random.default_rng(3)
    n, B = 200, 20
    x = rng.normal(size=n)
    data = pd.DataFrame({
        "g": np.array(["a", "b", "c"])[np.arange(n) % 3],
        "x": x,
        "y": (rng.random(n) < 1 / (1 + np.exp(-x))).astype(float),
        "r": np.digitize(x + rng.normal(size=n), [-1.0, 0.0, 1.0]) + 1.0,
    })
    w = rng.uniform(1, 3, n)
    design = ReplicateWeights(data, w, w[:, None] * rng.uniform(0.5, 1.5, (n, B)),
                              1 / B, np.ones(B), False, B - 1)
    fit = svyglm("y ~ g + x", design, "binomial")
    assert fit.predicted_margins("g")["estimate"].between(0, 1).all()
    assert 0 <= fit.term_tests()["p"].min() <= 1 and (fit.tidy()["p"] > 0).all()
    ordinal = svyolr("r ~ g + x", design)
    assert len(ordinal.predicted_margins("g")) == 3 * 4
    assert (ordinal.term_tests()["p"] >= 0).all()
"""


def test_model_fits_margins_and_wald_tests_load_neither_statsmodels_nor_scipy_stats():
    loaded = loaded_by(FIT, watched=("statsmodels", "scipy.stats", "formulaic", "patsy"))
    assert "patsy" in loaded  # the fits ran
    assert not loaded & {"statsmodels", "scipy.stats", "formulaic"}, loaded
