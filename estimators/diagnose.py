r"""Diagnosis of bounds that cannot hold together with the margins.

Per-category checks (:math:`L \sum_{c} d \le T_c \le U \sum_c d`) catch
a category out of reach on its own; bounds can still be jointly infeasible
when margins overlap. Feasibility of the bounds is a linear program in the
unit g-factors:

.. math:: \exists\, g:\; \sum_k X_{kj} d_k g_k = T_j \;\forall j, \qquad L \le g_k \le U.

When it has no solution, :func:`conflicting_constraints` finds an
irreducible infeasible subset of the margin constraints (deletion filter:
drop each constraint in turn and keep it dropped if the rest is still
infeasible), so the message names a small set of categories that cannot all
be met within the bounds, while dropping any one of them makes the rest feasible.

References
----------
Chinneck, J. W. (2008). Feasibility and Infeasibility in Optimization,
ch. 6 (the deletion filter). Springer.
"""

from __future__ import annotations

import numpy as np

from weighting import calibrate
from weighting.errors import CalibrationError, InfeasibleBoundsError


def _feasible(A, b, bounds) -> bool:
    # scipy.optimize only when a calibration has failed: `kalib rake` and every
    # calibration that succeeds do without it
    from scipy.optimize import linprog

    if len(b) == 0:
        return True
    result = linprog(np.zeros(A.shape[1]), A_eq=A, b_eq=b, bounds=bounds, method="highs")
    return result.status == 0


def conflicting_constraints(problem, bounds) -> list[int]:
    """Indices (into ``problem.labels``) of an irreducible infeasible set of
    margin constraints under bounds (L, U) on g; empty if feasible."""
    lower, upper = bounds
    scale = 1.0 + np.abs(problem.tfull)  # rows on the criterion's scale
    A = (problem.Xfull * problem.d[:, None]).T / scale[:, None]
    b = problem.tfull / scale
    box = [
        (None if not np.isfinite(lower) else lower, None if not np.isfinite(upper) else upper)
    ] * problem.n_cells
    active = list(range(len(b)))
    if _feasible(A, b, box):
        return []
    for j in list(active):
        trial = [i for i in active if i != j]
        if not _feasible(A[trial], b[trial], box):
            active = trial
    return active


def explain_infeasible_bounds(problem, bounds) -> str | None:
    """One line naming the categories that cannot hold together within the
    bounds, or None if the bounds are feasible."""
    conflict = conflicting_constraints(problem, bounds)
    if not conflict:
        return None
    base = problem.Xfull.T @ problem.d
    parts = [
        f"{problem.labels[j][1]} (target {problem.tfull[j]:.10g}, base-weight "
        f"total {base[j]:.10g})"
        for j in conflict
    ]
    return (
        f"bounds [{bounds[0]:g}, {bounds[1]:g}] cannot hold together with these "
        f"{len(conflict)} margin categories: " + "; ".join(parts)
    )


def calibrate_explained(data, margins, **options):
    """:func:`weighting.calibrate`, but when it fails with bounds and the bounds
    are jointly infeasible, raise InfeasibleBoundsError naming the conflict."""
    try:
        return calibrate(data, margins, **options)
    except CalibrationError as exc:
        result = getattr(exc, "result", None)
        if result is None or result.bounds is None:
            raise
        explanation = explain_infeasible_bounds(result.problem, result.bounds)
        if explanation is None:
            raise
        raise InfeasibleBoundsError(explanation) from None
