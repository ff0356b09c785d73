"""The Newton solver, the distances and the cell problem (weighting.solver,
weighting.distances, weighting.problem), on both kernel paths."""

import warnings

import numpy as np
import pytest

from weighting import _backend
from weighting.distances import LINEAR, LOGIT, RAKING, evaluate
from weighting.errors import EmptyCellError, MarginError, MissingValueError, WeightError
from weighting.margins import Margin, NumericTotal
from weighting.problem import CalibrationProblem
from weighting.solver import solve

needs_kernels = pytest.mark.skipif(_backend.KERNELS is None, reason="cext not built")

CASES = [
    ("raking", None),
    ("linear", None),
    ("logit", (0.5, 1.8)),
    ("truncated", (0.6, 1.6)),
    ("raking", (0.6, 1.6)),
]


def business(n=600, seed=3):
    rng = np.random.default_rng(seed)
    data = {
        "sector": rng.choice(["private", "public"], n, p=[0.8, 0.2]),
        "size": rng.choice([1, 2, 3, 4], n, p=[0.4, 0.27, 0.18, 0.15]),
        "nace": rng.choice(list("ABCDEF"), n),
    }
    counts = [8000, 5000, 3000, 2000, 2000, 1200, 800, 500]
    cross = dict(zip([(s, z) for s in ("private", "public") for z in range(1, 5)], counts))
    total = sum(cross.values())
    size = {z: cross[("private", z)] + cross[("public", z)] for z in range(1, 5)}
    nace = dict(zip("ABCDEF", total * np.array([0.22, 0.18, 0.17, 0.15, 0.14, 0.14])))
    margins = [Margin(("sector", "size"), cross), Margin("size", size), Margin("nace", nace)]
    return data, margins


@pytest.mark.parametrize(
    "code,bounds",
    [
        (LINEAR, (-np.inf, np.inf)),
        (LINEAR, (0.5, 1.5)),
        (RAKING, (0.0, np.inf)),
        (RAKING, (0.5, 1.5)),
        (LOGIT, (0.5, 1.5)),
        (LOGIT, (0.2, 3.0)),
    ],
)
def test_distance_derivatives_match_finite_differences(code, bounds):
    u = np.linspace(-1.3, 1.3, 41) + 0.0123  # avoid the kinks exactly
    g, dg, rho = evaluate(code, u, *bounds)
    h = 1e-6
    g_plus, _, rho_plus = evaluate(code, u + h, *bounds)
    g_minus, _, rho_minus = evaluate(code, u - h, *bounds)
    assert np.allclose((rho_plus - rho_minus) / (2 * h), g, rtol=1e-7, atol=1e-7)
    away = (
        np.abs(
            np.subtract.outer(
                u, [np.log(b) if code == RAKING and b > 0 else b - 1 for b in bounds]
            )
        ).min(axis=1)
        > 2 * h
    )
    assert np.allclose(((g_plus - g_minus) / (2 * h))[away], dg[away], rtol=1e-6, atol=1e-7)
    assert np.all((g >= bounds[0]) & (g <= bounds[1]))
    assert evaluate(code, np.zeros(1), *bounds)[0][0] == pytest.approx(1.0, abs=1e-15)


def test_problem_drops_implied_columns_and_keeps_their_targets():
    data, margins = business()
    problem = CalibrationProblem(data, margins)
    # sector*size (8) determines size (4) and the NACE intercept (1 of 6).
    assert problem.X.shape[1] == 8 + 5
    assert len(problem.tfull) == 8 + 4 + 6
    assert np.linalg.matrix_rank(problem.X) == problem.X.shape[1]
    assert problem.X.flags.c_contiguous
    dropped = {problem.labels[j][1] for j, _ in problem.dependent}
    assert dropped == {"size=1", "size=2", "size=3", "size=4", "nace=F"}
    for j, coef in problem.dependent:
        assert problem.tfull[j] == pytest.approx(problem.tfull[problem.kept] @ coef)
    # Cells are the observed joint categories; collapse/expand round-trip.
    assert problem.n_cells == len(set(zip(data["sector"], data["size"], data["nace"])))
    w = np.arange(problem.n, dtype=float)
    assert problem.collapse(w).sum() == pytest.approx(w.sum())
    g = np.arange(problem.n_cells, dtype=float)
    assert np.array_equal(problem.collapse(problem.expand(g)), g * problem.counts)


@pytest.mark.parametrize("distance,bounds", CASES)
def test_solution_meets_every_margin(distance, bounds):
    data, margins = business()
    problem = CalibrationProblem(data, margins)
    result = solve(
        problem.X,
        problem.d,
        problem.t,
        distance,
        bounds,
        tol=1e-12,
        Xfull=problem.Xfull,
        tfull=problem.tfull,
    )
    assert result.converged and result.status == 0
    achieved = problem.Xfull.T @ (problem.d * result.g)
    assert np.allclose(achieved, problem.tfull, rtol=1e-11)
    assert result.errors[-1] <= 1e-12 and len(result.errors) == result.iterations + 1
    if bounds:
        assert result.g.min() >= bounds[0] - 1e-12 and result.g.max() <= bounds[1] + 1e-12


@needs_kernels
@pytest.mark.parametrize("distance,bounds", CASES)
def test_cython_and_numpy_agree_at_the_same_iteration(distance, bounds):
    data, margins = business()
    problem = CalibrationProblem(data, margins)
    args = (problem.X, problem.d, problem.t, distance, bounds)
    compiled = solve(*args, Xfull=problem.Xfull, tfull=problem.tfull)
    with _backend.use_kernels(False):
        assert _backend.KERNELS is None
        numpy = solve(*args, Xfull=problem.Xfull, tfull=problem.tfull)
    assert compiled.iterations == numpy.iterations
    assert np.allclose(compiled.g, numpy.g, rtol=1e-12, atol=0)
    assert np.allclose(compiled.lam, numpy.lam, rtol=1e-10, atol=1e-12)


def test_warm_start_from_the_solution_takes_no_step():
    data, margins = business()
    problem = CalibrationProblem(data, margins)
    first = solve(problem.X, problem.d, problem.t, "raking", tol=1e-12)
    again = solve(problem.X, problem.d, problem.t, "raking", lam0=first.lam, tol=1e-10)
    assert again.iterations == 0 and again.converged


def test_a_trial_step_that_overflows_is_halved_without_a_warning():
    # The first Newton step of raking two units (d = 3) to 6 * 710.5 is
    # u = 709.5: exp(u) is finite, but the dual's sum d @ exp(u) overflows.
    d = np.array([3.0, 3.0])
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        d @ np.exp(np.full(2, 709.5))
    with _backend.use_kernels(False), warnings.catch_warnings():
        warnings.simplefilter("error")
        result = solve(np.ones((2, 1)), d, [6 * 710.5], "raking", tol=1e-12)
    assert result.converged and np.allclose(result.g, 710.5, rtol=1e-12, atol=0)


def test_infeasible_bounds_stop_unconverged():
    data, margins = business()
    problem = CalibrationProblem(data, margins)
    result = solve(problem.X, problem.d, problem.t, "truncated", (0.99, 1.01), max_iter=30)
    assert not result.converged and result.iterations <= 30 and result.errors[-1] > 1e-3


def test_numeric_total_makes_rows_the_units():
    data, margins = business(n=200)
    data["employees"] = np.arange(200) % 17 + 1.0
    problem = CalibrationProblem(data, [margins[0], NumericTotal("employees", 70000.0)])
    assert problem.rows_are_units and problem.n_cells == 200
    result = solve(problem.X, problem.d, problem.t, "linear", tol=1e-12)
    assert problem.X[:, -1] @ (problem.d * result.g) == pytest.approx(70000.0, rel=1e-12)


def test_problem_errors_name_the_offender():
    data, margins = business()
    with pytest.raises(MarginError, match="nace=F"):
        CalibrationProblem(data, [Margin("nace", {c: 1.0 for c in "ABCDE"})])
    with pytest.raises(EmptyCellError, match="nace=G"):
        CalibrationProblem(data, [Margin("nace", {c: 1.0 for c in "ABCDEFG"})])
    bad = dict(data, nace=np.where(np.arange(600) == 7, None, data["nace"]).astype(object))
    with pytest.raises(MissingValueError, match=r"'nace'.*1 missing.*row 8\)"):
        CalibrationProblem(bad, [margins[2]])
    d = np.ones(600)
    d[[3, 9]] = [0.0, np.nan]
    with pytest.raises(WeightError, match="base weights: 2 value.*row 4:"):
        CalibrationProblem(data, margins, base_weights=d)


def test_solve_refuses_mismatched_shapes_before_the_kernel_reads_them():
    from weighting.errors import KalibError

    X = np.ones((4, 2))
    with pytest.raises(KalibError, match=r"lam0 has shape \(3,\), expected \(2,\)"):
        solve(X, np.ones(4), np.ones(2), lam0=np.zeros(3))
    with pytest.raises(KalibError, match=r"d has shape \(5,\), expected \(4,\)"):
        solve(X, np.ones(5), np.ones(2))
    with pytest.raises(KalibError, match=r"tfull has shape \(2,\), expected \(3,\)"):
        solve(X, np.ones(4), np.ones(2), Xfull=np.ones((4, 3)), tfull=np.ones(2))
