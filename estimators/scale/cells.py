r"""Re-calibration of replicates from their reduced cell base totals.

With categorical margins a replicate's calibration depends on the rows only
through its cell base totals :math:`D_{bc}` (Deville & Särndal 1992: the
calibration equations :math:`\sum_c D_{bc}\, F(x_c^\top\lambda_b)\, x_c = t`
involve nothing else). :class:`CellCalibration` holds the full-sample
calibration on the cell table (design matrix, targets, distance, bounds,
trimming, tolerance and the full-sample solution used as the warm start) and
re-calibrates blocks of replicates from their D, exactly as
``weighting.replicates.recalibrate`` does from rows: the compiled Newton
solver of ``cext/newton.pxd`` when available, else ``weighting``'s numpy
path (which also runs logit trimming).
"""
from __future__ import annotations

import types
from dataclasses import dataclass

import numpy as np

from estimators.scale.chunks import chunk_kernel
from weighting.distances import parse
from weighting.errors import KalibError, ReplicateError
from weighting.ipf import IpfStart
from weighting.replicates import (CONVERGED, EMPTY_CATEGORY, TRIM_INFEASIBLE,
                                  _solver_spec, ipf_kernel_args, ipf_start,
                                  recalibrate_cells)


@dataclass(frozen=True)
class CellCalibration:
    """The calibration spec on the cell table, in the scale-out's cell order.

    Attributes
    ----------
    problem : namespace or None
        The cell table of the ``weighting.problem.CalibrationProblem`` (X, t,
        Xfull, tfull, labels, n_cells); None for an uncalibrated design
        (every g is 1, one cell).
    order : ndarray (cells,) int64
        Problem cell of each scale-out cell (identity when the cells are the
        problem's own; -1 for a cell of the encoding space without rows,
        whose totals are always 0 and whose g is reported as 1).
    lam : ndarray (p,)
        Full-sample solution (warm start).
    g : ndarray (cells,)
        Full-sample g-factors, in scale-out order.
    distance, bounds, tol, max_iter, trim
        The solver spec of the full-sample calibration (trimming by clipping
        already folded into the bounds, as ``weighting.replicates`` does).
    accept_failures : bool
    """

    problem: object
    order: np.ndarray
    lam: np.ndarray
    g: np.ndarray
    distance: str
    bounds: tuple | None
    tol: float
    max_iter: int
    trim: tuple | None
    accept_failures: bool = False
    ipf: IpfStart | None = None

    @classmethod
    def from_design(cls, design, order=None, accept_failures=False) -> "CellCalibration":
        """From a calibrated design (``design.calibration``/``calibration_spec``;
        any object with those two attributes works)."""
        result = design.calibration
        if result is None:
            return cls(None, np.zeros(1, np.int64), np.zeros(0), np.ones(1), "linear", None,
                       0.0, 0, None, accept_failures)
        problem = result.problem
        if problem.rows_are_units:
            raise KalibError("the chunked path needs categorical margins only: a numeric "
                             "total makes every row its own calibration unit")
        order = np.arange(problem.n_cells) if order is None else np.asarray(order, np.int64)
        distance, bounds, tol, max_iter, trim = _solver_spec(design)
        g_cells = np.empty(problem.n_cells)
        g_cells[problem.cell] = result.g
        lam = np.ascontiguousarray(result.lam, dtype=np.float64)
        g = np.where(order >= 0, g_cells[order], 1.0)
        ipf = ipf_start(design, *parse(distance, bounds), trim)
        return cls(_cell_table(problem), order, lam, g, distance, bounds, float(tol),
                   int(max_iter), trim, accept_failures, ipf)

    @property
    def n_cells(self) -> int:
        return len(self.order)

    def solve(self, D: np.ndarray, first: int = 0) -> tuple[np.ndarray, dict]:
        """g (b, cells) and the convergence record of replicates with cell totals
        ``D`` (b, cells); ``first`` is the index of the first (for messages)."""
        b = D.shape[0]
        if self.problem is None:
            zeros = np.zeros(b, np.int64)
            return np.ones((b, 1)), {"iterations": zeros, "error": np.zeros(b),
                                     "status": zeros}
        problem = self.problem
        present = self.order >= 0
        D_problem = np.empty((b, problem.n_cells))
        D_problem[:, self.order[present]] = D[:, present]
        kernel = chunk_kernel()
        if kernel is not None and self.trim is None:
            code, lower, upper = parse(self.distance, self.bounds)
            g, iterations, error, status = kernel.solve_cell_tables(
                np.ascontiguousarray(D_problem), problem.X, problem.t, problem.Xfull,
                problem.tfull, code, lower, upper, self.lam, *ipf_kernel_args(self.ipf),
                self.tol, self.max_iter, 1)
        else:
            g, iterations, error, status = recalibrate_cells(
                problem, D_problem.__getitem__, b, self.distance, self.bounds, self.tol,
                self.max_iter, self.trim, self.lam, self.ipf)
        record = {"iterations": np.asarray(iterations, np.int64),
                  "error": np.asarray(error, np.float64),
                  "status": np.asarray(status, np.int64)}
        self._check(D_problem, record, first)
        g_out = np.ones((b, self.n_cells))
        g_out[:, present] = np.asarray(g)[:, self.order[present]]
        return g_out, record

    def _check(self, D_problem, record, first):
        failed = np.flatnonzero(record["status"] != CONVERGED)
        if not failed.size or self.accept_failures:
            return
        b = int(failed[0])
        status = int(record["status"][b])
        if status == EMPTY_CATEGORY:
            totals = self.problem.Xfull.T @ D_problem[b]
            j = int(np.flatnonzero((totals <= 0) & (self.problem.tfull > 0))[0])
            margin, category = self.problem.labels[j]
            cause = (f"margin {margin!r} category {category} has no sample weight in this "
                     "replicate (all its PSUs were left out)")
        elif status == TRIM_INFEASIBLE:
            cause = f"the trimming caps {self.trim} and the margins cannot hold together"
        else:
            cause = (f"not converged in {int(record['iterations'][b])} iterations: max "
                     f"relative margin error {record['error'][b]:.3g} > tol {self.tol:g}")
        raise ReplicateError(
            f"replicate {first + b + 1} (index {first + b}) failed to re-calibrate: "
            f"{cause} (pass accept_failures=True to keep failed replicates, flagged)")


def _cell_table(problem):
    """What re-calibration reads of a CalibrationProblem, without its O(n) row
    arrays (the calibration is shipped to every block task)."""
    return types.SimpleNamespace(X=problem.X, t=problem.t, Xfull=problem.Xfull,
                                 tfull=problem.tfull, labels=problem.labels,
                                 n_cells=problem.n_cells)
