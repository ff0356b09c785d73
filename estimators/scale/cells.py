r"""Re-calibration of replicates from their reduced cell base totals.

With categorical margins a replicate's calibration depends on the rows only
through its cell base totals :math:`D_{bc}` (Deville & Särndal 1992: the
calibration equations :math:`\sum_c D_{bc}\, F(x_c^\top\lambda_b)\, x_c = t`
involve nothing else). :class:`CellCalibration` holds the full-sample
calibration on the cell table (a ``weighting.problem.CellTable``, the
``weighting.spec.CalibrationSpec`` replicates solve and the full-sample
solution used as the warm start) and re-calibrates blocks of replicates from
their D, exactly as ``weighting.replicates.recalibrate`` does from rows: the
compiled Newton solver of ``cext/newton.pxd`` when available, else
``weighting``'s numpy path (which also runs logit trimming).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from estimators.scale.chunks import chunk_kernel
from weighting import _backend
from weighting.contract import Status
from weighting.errors import KalibError, ReplicateError
from weighting.ipf import IpfStart
from weighting.problem import CellTable
from weighting.replicates import ipf_start, kernel_system, recalibrate_cells
from weighting.spec import CalibrationSpec

if TYPE_CHECKING:
    from weighting.calibrate import CalibrationResult


@dataclass(frozen=True)
class CellCalibration:
    """The calibration on the cell table, in the scale-out's cell order.

    Attributes
    ----------
    table : CellTable or None
        The calibration problem's cell table (without its O(n) row arrays:
        the calibration is shipped to every block task); None for an
        uncalibrated design (every g is 1, one cell).
    order : ndarray (cells,) int64
        Problem cell of each scale-out cell (identity when the cells are the
        problem's own; -1 for a cell of the encoding space without rows,
        whose totals are always 0 and whose g is reported as 1).
    lam : ndarray (p,)
        Full-sample solution (warm start).
    g : ndarray (cells,)
        Full-sample g-factors, in scale-out order.
    spec : CalibrationSpec or None
        What a replicate solves (``CalibrationSpec.for_replicates``: trimming
        by clipping folded into the bounds).
    accept_failures : bool
    ipf : IpfStart or None
        Replicates raked by IPF first (``weighting.ipf``).
    """

    table: CellTable | None
    order: np.ndarray
    lam: np.ndarray
    g: np.ndarray
    spec: CalibrationSpec | None
    accept_failures: bool = False
    ipf: IpfStart | None = None

    @classmethod
    def from_result(
        cls,
        result: CalibrationResult | None,
        order: np.ndarray | None = None,
        accept_failures: bool = False,
    ) -> CellCalibration:
        """From a full-sample ``weighting.calibrate.CalibrationResult`` (None:
        an uncalibrated design)."""
        if result is None:
            return cls(None, np.zeros(1, np.int64), np.zeros(0), np.ones(1), None, accept_failures)
        problem = result.problem
        if result.spec.per_row:
            raise KalibError(
                "the chunked path re-calibrates on cell totals alone: a calibration "
                "with variance or weight_bounds needs the in-memory design"
            )
        if problem.rows_are_units:
            raise KalibError(
                "the chunked path needs categorical margins only: a numeric "
                "total makes every row its own calibration unit"
            )
        order = np.arange(problem.n_cells) if order is None else np.asarray(order, np.int64)
        spec = result.spec.for_replicates()
        g_cells = np.empty(problem.n_cells)
        g_cells[problem.cell] = result.g
        lam = np.ascontiguousarray(result.lam, dtype=np.float64)
        g = np.where(order >= 0, g_cells[order], 1.0)
        return cls(problem.table, order, lam, g, spec, accept_failures, ipf_start(result, spec))

    @property
    def n_cells(self) -> int:
        return len(self.order)

    def solve(self, D: np.ndarray, first: int = 0) -> tuple[np.ndarray, dict]:
        """g (b, cells) and the convergence record of replicates with cell totals
        ``D`` (b, cells); ``first`` is the index of the first (for messages)."""
        b = D.shape[0]
        table, spec = self.table, self.spec
        if table is None or spec is None:  # an uncalibrated design: both are None
            zeros = np.zeros(b, np.int64)
            return np.ones((b, 1)), {"iterations": zeros, "error": np.zeros(b), "status": zeros}
        present = self.order >= 0
        D_problem = np.empty((b, table.n_cells))
        D_problem[:, self.order[present]] = D[:, present]
        kernel = chunk_kernel()
        if kernel is not None and spec.trim is None:
            system = kernel_system(_backend.KERNELS, table, spec, self.lam, self.ipf)
            g, iterations, error, status = kernel.solve_cell_tables(
                np.ascontiguousarray(D_problem), system, 1
            )
        else:
            g, iterations, error, status = recalibrate_cells(
                table, D_problem.__getitem__, b, spec, self.lam, self.ipf
            )
        record = {
            "iterations": np.asarray(iterations, np.int64),
            "error": np.asarray(error, np.float64),
            "status": np.asarray(status, np.int64),
        }
        self._check(D_problem, record, first)
        g_out = np.ones((b, self.n_cells))
        g_out[:, present] = np.asarray(g)[:, self.order[present]]
        return g_out, record

    def _check(self, D_problem, record, first):
        failed = np.flatnonzero(record["status"] != Status.CONVERGED)
        if not failed.size or self.accept_failures:
            return
        b = int(failed[0])
        status = int(record["status"][b])
        if status == Status.EMPTY_CATEGORY:
            totals = self.table.Xfull.T @ D_problem[b]
            j = int(np.flatnonzero((totals <= 0) & (self.table.tfull > 0))[0])
            margin, category = self.table.labels[j]
            cause = (
                f"margin {margin!r} category {category} has no sample weight in this "
                "replicate (all its PSUs were left out)"
            )
        elif status == Status.TRIM_INFEASIBLE:
            cause = f"the trimming caps {self.spec.trim} and the margins cannot hold together"
        else:
            cause = (
                f"not converged in {int(record['iterations'][b])} iterations: max "
                f"relative margin error {record['error'][b]:.3g} > tol {self.spec.tol:g}"
            )
        raise ReplicateError(
            f"replicate {first + b + 1} (index {first + b}) failed to re-calibrate: {cause}",
            option="accept_failures",
            remedy="pass accept_failures=True to keep failed replicates, flagged",
        )
