"""The kernels' constants equal weighting.contract's (checked at import by
weighting._backend, and here); a kernel that differs, or has another API
version, is not used, and _backend.REASON says why; kernels take their
structured arguments (cext._args) checked, and those pickle."""

import pickle

import numpy as np
import pytest

from weighting import _backend, contract
from weighting.contract import Distance, Status
from weighting.distances import CODES

needs_kernels = pytest.mark.skipif(_backend.KERNELS is None, reason=str(_backend.REASON))


@needs_kernels
def test_kernel_constants_equal_pythons():
    published = _backend.KERNELS.calibrate.CONTRACT
    assert contract.differences(published) == []
    assert published["EMPTY_CATEGORY"] == Status.EMPTY_CATEGORY == 3
    assert published["LINE_SEARCH_FAILED"] == Status.LINE_SEARCH_FAILED
    assert {name: published[name] for name in ("LINEAR", "RAKING", "LOGIT")} == {
        d.name: int(d) for d in Distance
    }
    assert published["ARMIJO"] == contract.ARMIJO and published["RIDGE"] == contract.RIDGE
    assert _backend.REASON is None


def test_every_distance_name_has_a_contract_code():
    assert set(CODES.values()) == set(Distance)
    assert CODES["truncated"] is Distance.LINEAR


def test_differences_name_the_constant_that_differs():
    ours = contract.values()
    assert contract.differences(ours) == []
    assert contract.differences({k: v for k, v in ours.items() if k != "TRIM_INFEASIBLE"}) == []
    doctored = dict(ours, EMPTY_CATEGORY=5, ARMIJO=1e-3, SPARE=1)
    assert contract.differences(doctored) == [
        "ARMIJO: kernel 0.001, weighting 0.0001",
        "EMPTY_CATEGORY: kernel 5, weighting 3",
        "SPARE: kernel 1, weighting 'undefined'",
    ]
    missing = {k: v for k, v in ours.items() if k != "RIDGE"}
    assert contract.differences(missing) == ["RIDGE: kernel undefined, weighting 1e-10"]


@needs_kernels
def test_a_kernel_with_other_constants_or_version_is_not_used(monkeypatch):
    import cext
    from cext import _calibrate

    monkeypatch.setattr(_calibrate, "CONTRACT", dict(_calibrate.CONTRACT, MAX_ITER=7))
    kernels, reason = _backend._load()
    assert kernels is None and "MAX_ITER: kernel 7, weighting 1" in reason
    monkeypatch.undo()
    monkeypatch.setattr(cext, "API_VERSION", _backend.API_VERSION - 1)
    kernels, reason = _backend._load()
    assert kernels is None and f"weighting needs {_backend.API_VERSION}" in reason
    monkeypatch.undo()
    kernels, reason = _backend._load()
    assert kernels is not None and reason is None


def test_solver_status_is_the_enum():
    from weighting.solver import solve

    X = np.array([[1.0], [1.0]])
    fit = solve(X, np.array([1.0, 1.0]), np.array([4.0]), max_iter=1)
    assert fit.status is Status.MAX_ITER and not fit.converged
    fit = solve(X, np.array([1.0, 1.0]), np.array([4.0]))
    assert fit.status is Status.CONVERGED


def _system(kernels, sparse=None):
    X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0]])
    t = np.array([12.0, 5.0])
    return kernels.args.CellSystem(
        X, t, X, t, int(Distance.RAKING), 0.0, np.inf, np.zeros(2), 1e-12, 50, sparse=sparse
    )


@needs_kernels
def test_cell_system_refuses_what_does_not_fit():
    kernels = _backend.KERNELS
    X = np.ones((3, 2))
    with pytest.raises(ValueError, match="t and lam0"):
        kernels.args.CellSystem(
            X, np.ones(3), X, np.ones(2), 1, 0.0, np.inf, np.zeros(2), 1e-10, 10
        )
    with pytest.raises(ValueError, match="unknown distance code 7"):
        kernels.args.CellSystem(
            X, np.ones(2), X, np.ones(2), 7, 0.0, np.inf, np.zeros(2), 1e-10, 10
        )
    with pytest.raises(ValueError):  # a Fortran-ordered X is not what the kernel reads
        kernels.args.CellSystem(
            np.asfortranarray(np.ones((3, 2))),
            np.ones(2),
            X,
            np.ones(2),
            1,
            0.0,
            np.inf,
            np.zeros(2),
            1e-10,
            10,
        )
    with pytest.raises(ValueError, match="sparse pointers"):
        _system(kernels, sparse=(np.zeros(2, np.int64),) * 4)
    with pytest.raises(ValueError, match="cext: d has 2 entries for 3 units"):
        kernels.calibrate.solve(_system(kernels), np.ones(2))


@needs_kernels
def test_structured_arguments_pickle_to_the_same_results():
    """Dask ships them to other processes: a pickled system solves alike."""
    kernels = _backend.KERNELS
    system = _system(kernels)
    again = pickle.loads(pickle.dumps(system))
    d = np.array([3.0, 2.0, 4.0])
    first, second = kernels.calibrate.solve(system, d), kernels.calibrate.solve(again, d)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert first[4] == Status.CONVERGED
    D = np.array([[3.0, 2.0, 4.0], [2.0, 3.0, 5.0]])
    np.testing.assert_array_equal(
        kernels.chunked.solve_cell_tables(D, system, 1)[0],
        kernels.chunked.solve_cell_tables(D, again, 2)[0],
    )


@needs_kernels
def test_replicate_plan_pickles_and_draws_the_contract():
    from weighting.design import Design
    from weighting.replicates import PsuRows

    design = Design(
        weights=np.ones(12),
        strata=np.repeat(["a", "b"], 6),
        psu=np.tile([1, 1, 2, 3, 3, 4], 2),
        nest=True,
    )
    plan = design.with_replicates("bootstrap", replicates=9, seed=4).replicates.plan
    kernels = _backend.KERNELS
    built = plan.for_kernels(kernels, PsuRows(design.psu, len(plan.psu_stratum)))
    again = pickle.loads(pickle.dumps(built))
    assert again.B == built.B == 9
    expected = [plan.multipliers(b) for b in range(9)]
    np.testing.assert_array_equal(kernels.replicate.draw_multipliers(again), expected)
    with pytest.raises(ValueError, match="seeds must be"):
        kernels.args.ReplicatePlan(*built.args[:10], 10, built.args[11])
