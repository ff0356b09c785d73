"""Replicate raking by IPF (weighting/ipf.py, cext/ipf.pxd): the raking solution,
the compiled sweeps equal numpy's, and the Newton fallback."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weighting import _backend, ipf, replicates
from weighting.design import Design
from weighting.distances import parse
from weighting.margins import Margin, NumericTotal
from weighting.problem import CalibrationProblem
from weighting.solver import solve


def _sample(seed, n, levels):
    rng = np.random.default_rng(seed)
    data = {f"v{k}": rng.integers(0, m, n) for k, m in enumerate(levels)}
    data["stratum"] = rng.integers(0, 3, n)
    data["w"] = rng.uniform(1, 4, n)
    return data


def _margins(data, levels, seed):
    """Margins near the base-weighted totals, all summing to the same total."""
    rng = np.random.default_rng(seed + 1)
    total = data["w"].sum()
    margins = []
    for k, m in enumerate(levels):
        share = np.bincount(data[f"v{k}"], data["w"], minlength=m) * rng.uniform(0.8, 1.25, m)
        margins.append(Margin(f"v{k}", dict(enumerate(total * share / share.sum()))))
    return margins


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), levels=st.lists(st.integers(2, 5), min_size=2, max_size=3))
def test_ipf_reaches_the_newton_raking_solution(seed, levels):
    data = _sample(seed, 400, levels)
    problem = CalibrationProblem(data, _margins(data, levels, seed), data["w"])
    cat, first = ipf.ipf_layout(problem.Xfull, problem.labels, *parse("raking", None))
    g, sweeps, errors, converged, _ = ipf.ipf_solve(
        cat, first, problem.d, problem.tfull, np.ones(problem.n_cells), 1e-12, 10_000
    )
    newton = solve(
        problem.X,
        problem.d,
        problem.t,
        "raking",
        tol=1e-12,
        Xfull=problem.Xfull,
        tfull=problem.tfull,
    )
    assert converged and errors[-1] <= 1e-12 and len(errors) == sweeps + 1
    np.testing.assert_allclose(g, newton.g, rtol=1e-9)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), sweeps=st.integers(0, 4))
def test_newton_goes_on_from_the_ipf_iterate(seed, sweeps):
    """The multipliers ``ipf_lambda`` gives an unfinished IPF iterate reproduce
    its g-factors, so that Newton continues from where IPF stopped."""
    levels = [3, 4, 2]
    data = _sample(seed, 300, levels)
    problem = CalibrationProblem(data, _margins(data, levels, seed), data["w"])
    cat, first = ipf.ipf_layout(problem.Xfull, problem.labels, *parse("raking", None))
    lam0 = np.random.default_rng(seed).normal(0, 0.1, problem.X.shape[1])
    g, done, _, _, scaled = ipf.ipf_solve(
        cat, first, problem.d, problem.tfull, np.exp(problem.X @ lam0), 0.0, sweeps
    )
    A = ipf.lambda_map(problem.kept, problem.dependent, len(problem.tfull))
    assert done == min(sweeps, 2)  # tol 0 is never foreseen: IPF gives up at sweep 2
    np.testing.assert_allclose(np.exp(problem.X @ ipf.ipf_lambda(lam0, A, scaled)), g, rtol=1e-12)


def test_ipf_applies_to_unbounded_raking_on_categories_only():
    data = _sample(1, 300, [3, 4])
    data["x"] = data["w"] * 2
    margins = _margins(data, [3, 4], 1)
    problem = CalibrationProblem(data, margins, data["w"])
    assert ipf.ipf_layout(problem.Xfull, problem.labels, *parse("raking", None)) is not None
    for distance, bounds in [("raking", (0.5, 2.0)), ("linear", None), ("logit", (0.5, 2))]:
        assert ipf.ipf_layout(problem.Xfull, problem.labels, *parse(distance, bounds)) is None
    numeric = CalibrationProblem(data, margins + [NumericTotal("x", data["x"].sum())], data["w"])
    assert ipf.ipf_layout(numeric.Xfull, numeric.labels, *parse("raking", None)) is None


@pytest.fixture
def raked():
    data = _sample(7, 600, [4, 5])
    return Design(data, weights="w", strata="stratum").calibrate(
        _margins(data, [4, 5], 7), tol=1e-11
    )


@pytest.mark.parametrize("kernels", [True, False])
def test_replicates_fall_back_to_newton_when_ipf_is_slow(raked, monkeypatch, kernels):
    with _backend.use_kernels(kernels):
        swept = raked.with_replicates("bootstrap", replicates=16, seed=3)
        monkeypatch.setattr(replicates, "IPF_SWEEPS", 1)  # then Newton finishes each one
        fallback = raked.with_replicates("bootstrap", replicates=16, seed=3)
    assert swept.convergence.converged.all() and fallback.convergence.converged.all()
    assert (swept.convergence.iterations > 1).all()
    # one sweep, then Newton steps from its iterate; both solve the same raking to tol 1e-11
    assert (fallback.convergence.iterations >= 2).all()
    np.testing.assert_allclose(fallback.replicates.g, swept.replicates.g, rtol=1e-9)
    assert not np.array_equal(fallback.replicates.g, swept.replicates.g)


def test_compiled_sweeps_equal_numpy_bit_for_bit(raked):
    fast = raked.with_replicates("bootstrap", replicates=24, seed=5)
    with _backend.use_kernels(False):
        slow = raked.with_replicates("bootstrap", replicates=24, seed=5)
    np.testing.assert_array_equal(fast.convergence.iterations, slow.convergence.iterations)
    np.testing.assert_array_equal(fast.replicates.g, slow.replicates.g)
