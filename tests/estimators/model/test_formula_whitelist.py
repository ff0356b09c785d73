"""Formulas are checked against a whitelist before patsy evaluates any term
with Python's ``eval`` (issue 17, item 6): a formula that would run code is
refused, naming the term, and runs nothing; the allowed functions give the
fit of the same model on precomputed columns."""

import numpy as np
import pandas as pd
import pytest

from estimators.cli import main
from estimators.model import FormulaError, svyglm, svyolr
from estimators.model.formula import formula_variables
from weighting.design import Design


def _data(n=150, seed=11):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.5, 4, n)
    group = np.array(["a", "b", "c"])[rng.integers(0, 3, n)]
    y = 1 + 0.5 * np.log(x) + (group == "b") + rng.normal(size=n)
    return pd.DataFrame(
        {
            "id": range(n),
            "y": y,
            "x": x,
            "group": group,
            "answer": np.where(y > 1.5, "yes", "no"),
            "rating": rng.integers(1, 4, n),
            "w": rng.uniform(1, 3, n),
            "stratum": np.repeat(["s1", "s2", "s3"], n // 3),
        }
    )


DATA = _data()
DESIGN = Design(DATA, weights="w", strata="stratum")


def _attacks(target):
    touch = f"__import__('os').system('touch {target}')"
    return [
        f"y ~ I({touch})",
        f"y ~ x + {touch}",
        f"I({touch}) ~ x",
        f"y ~ C(group, {touch})",
        f"y ~ np.log(x + {touch})",
        f"y ~ Q('x') + np.log(open('{target}', 'w').write('x') + x)",
        f"y ~ x + (lambda: {touch})()",
        f"y ~ x + [{touch} for _ in 'a'][0]",
        "y ~ x + getattr(np, 'log')(x)",
        f"y ~ x + np.lib.format.open_memmap('{target}')",
        "y ~ x + np.log.__call__(x)",
        "y ~ x + x.__class__",
        "y ~ x + np.log(**{'x': x})",
    ]


@pytest.mark.parametrize("index", range(13))
def test_a_formula_that_would_run_code_is_refused_and_runs_nothing(tmp_path, index):
    target = tmp_path / "ran"
    formula = _attacks(target)[index]
    with pytest.raises(FormulaError) as caught:
        svyglm(formula, DESIGN)
    message = str(caught.value)
    # refused by the whitelist, naming the term, or already by patsy's parser
    assert "\n" not in message and ("the term" in message or "cannot parse" in message)
    assert not target.exists()


def test_refused_on_the_command_line_before_any_output(tmp_path, capsys):
    target, out = tmp_path / "ran", tmp_path / "coef.csv"
    sample = tmp_path / "s.csv"
    DATA.to_csv(sample, index=False)
    code = main(
        [
            "model",
            str(sample),
            "--weight",
            "w",
            "--formula",
            f"y ~ I(__import__('os').system('touch {target}'))",
            "--out",
            str(out),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "the term \"I(__import__('os').system(" in err and "calls" in err
    assert not target.exists() and not out.exists()


def test_refused_in_ordinal_models_too(tmp_path):
    target = tmp_path / "ran"
    with pytest.raises(FormulaError):
        svyolr(f"rating ~ x + I(__import__('os').system('touch {target}'))", DESIGN)
    assert not target.exists()


X = DATA["x"]
DISTANCE = np.abs(X - 2)


@pytest.mark.parametrize(
    "formula, plain, columns",
    [
        ("y ~ np.log(x) + C(group)", "y ~ lx + group", {"lx": np.log(X)}),
        (
            "y ~ log(x) + C(group, Treatment('b'))",
            "y ~ lx + b + c",
            {"lx": np.log(X), "b": DATA["group"].eq("a") * 1.0, "c": DATA["group"].eq("c") * 1.0},
        ),
        (
            "y ~ numpy.sqrt(x) + exp(x / 4) + group",
            "y ~ sx + ex + group",
            {"sx": np.sqrt(X), "ex": np.exp(X / 4)},
        ),
        (
            "y ~ I(x ** 2 - 1) + I((x > 1) & (group == 'a')) + Q('group')",
            "y ~ x2 + xa + group",
            {"x2": X**2 - 1, "xa": ((X > 1) & DATA["group"].eq("a")) * 1.0},
        ),
        (
            "y ~ center(x) + standardize(np.abs(x - 2))",
            "y ~ cx + sd",
            {"cx": X - X.mean(), "sd": (DISTANCE - DISTANCE.mean()) / DISTANCE.std(ddof=0)},
        ),
    ],
)
def test_the_allowed_functions_give_the_fit_on_precomputed_columns(formula, plain, columns):
    fit = svyglm(formula, DESIGN)
    reference = svyglm(plain, Design(DATA.assign(**columns), weights="w", strata="stratum"))
    # the same coefficients, perhaps in another order (patsy orders the terms)
    order, reference_order = np.argsort(fit.params), np.argsort(reference.params)
    np.testing.assert_allclose(fit.params[order], reference.params[reference_order], rtol=1e-9)
    np.testing.assert_allclose(fit.bse[order], reference.bse[reference_order], rtol=1e-8)


def test_the_variables_a_formula_names():
    assert formula_variables(
        "I(answer == 'yes') ~ np.log(x) + C(group, Treatment('b')) + Q('id')"
    ) == ["answer", "x", "group", "id"]
    assert formula_variables("y ~ log(x) + center(rating)", rhs_only=True) == ["x", "rating"]
