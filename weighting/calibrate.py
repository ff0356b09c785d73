r"""Calibration of survey weights to population margins (the public entry point).

:func:`calibrate` finds weights :math:`w_k = d_k g_k` close to the base weights
:math:`d_k` in a Deville–Särndal distance (raking, linear/GREG, logit,
truncated linear; bounds :math:`L \le g \le U`) whose weighted totals equal
the margins. Post-stratification is the case of one (possibly crossed) margin.

Before solving, every way the problem can be seen to be impossible is named:
a sample category missing from a margin or the reverse, missing values,
non-positive base weights, margins whose grand totals (or implied totals)
disagree, and categories whose target cannot be reached within the bounds
(:math:`L \sum_{k \in c} d_k \le T_c \le U \sum_{k \in c} d_k`).

Trimming (``trim=(lo, hi)``, caps on g after calibration). If some g falls
outside the caps, the units at a cap are held there and the others
re-calibrated to the margins minus the held units' share, until caps and
margins hold together:

* raking and linear: this fixed point is exactly the calibration whose g is
  clipped to the caps (the bounded distance with bounds = caps ∩ bounds), a
  convex problem; it is solved from the untrimmed solution, and finds the
  trimmed weights whenever any exist;
* logit (whose g already lies in (L, U)): units outside the caps are fixed at
  the cap and the free units re-calibrated, repeatedly; each round fixes at
  least one more unit, so it ends.

If the caps and margins cannot hold together, ``InfeasibleBoundsError`` names
the category that fails.

Difference from R: this is not R ``survey``'s trimming. R's
``calibrate(..., trim = c(lo, hi))`` (like ``trimWeights``) clips g (the
weights) to the caps and spreads the clipped amount equally over the
untrimmed units: the total weight is kept, the margins are not (a trimmed
category's total moves). kalib keeps the margins: its trimmed raking or
linear calibration is R's ``calibrate(..., bounds = c(lo, hi))`` with the
caps as bounds (intersected with ``bounds``), and its trimmed logit holds the
capped units and re-calibrates the others. The two agree only when no g
leaves the caps.

Bounds and trimming caps are on g relative to the base weights as given. R
``survey``'s ``calibrate`` first rescales base weights that are more than 20
times too small for the margins and applies the bounds after rescaling; kalib
does not rescale, and uses N/n base weights when none are given, so that g and
its bounds keep their meaning. Weights without bounds are the same either way.

References
----------
Deville, J.-C. and Särndal, C.-E. (1992). Calibration estimators in survey
sampling. JASA 87, 376-382.
Lumley, T. (2010). Complex Surveys: A Guide to Analysis Using R, ch. 7.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from weighting.contract import Status
from weighting.diagnostics import WeightDiagnostics, weight_diagnostics
from weighting.distances import LINEAR, LOGIT, RAKING
from weighting.errors import CalibrationError, InfeasibleBoundsError, MarginError
from weighting.margins import Margin
from weighting.problem import CalibrationProblem, CellTable, independent_columns
from weighting.solver import SolveResult, criterion, solve
from weighting.spec import CalibrationSpec


@dataclass
class CalibrationResult:
    """Calibrated weights and how they were obtained.

    Attributes
    ----------
    weights, g, base_weights : ndarray (n,)
        Calibrated weights ``base_weights * g``.
    iterations : int
        Newton steps (summed over trimming rounds).
    errors : ndarray
        The convergence criterion at the start and after every step (trimming
        rounds concatenated).
    converged : bool
        False only with ``allow_unconverged=True``; then ``summary()`` says so.
    spec : CalibrationSpec
        The settings (``distance``, ``bounds``, ``trim``, ``tol`` read through).
    margins : tuple
        The margins as given (before any ``normalize_margins`` rescaling).
    problem : CalibrationProblem
    lam : ndarray (p,)
        Lagrange multipliers of the (untrimmed) calibration on ``problem.X``;
        the warm start for re-calibrating replicates.
    trimmed : ndarray (n_cells,) bool
        Units fixed at a trimming cap.
    """

    weights: np.ndarray
    g: np.ndarray
    base_weights: np.ndarray
    iterations: int
    errors: np.ndarray
    converged: bool
    spec: CalibrationSpec
    margins: tuple
    problem: CalibrationProblem
    lam: np.ndarray
    trimmed: np.ndarray = field(default=None, repr=False)

    @property
    def distance(self) -> str:
        return self.spec.distance

    @property
    def bounds(self) -> tuple | None:
        return self.spec.bounds

    @property
    def trim(self) -> tuple | None:
        return self.spec.trim

    @property
    def tol(self) -> float:
        return self.spec.tol

    @property
    def error(self) -> float:
        """Final value of the convergence criterion."""
        return float(self.errors[-1])

    def diagnostics(self) -> WeightDiagnostics:
        """Min, max, CV, Kish effective n and weighting deff of the weights."""
        return weight_diagnostics(self.weights)

    def summary(self) -> str:
        """A few lines describing the calibration and the weights."""
        p = self.problem
        diag = self.diagnostics()
        units = "rows" if p.rows_are_units else f"{p.n_cells} cells"
        status = (
            f"converged in {self.iterations} iterations"
            if self.converged
            else f"NOT CONVERGED after {self.iterations} iterations"
        )
        lines = [
            f"calibration: {self.distance}, n = {p.n} rows ({units}), "
            f"{len(p.t)} constraints from {len(p.tfull)} margin categories",
            f"{status}: max relative margin error {self.error:.3g} (tol {self.tol:g})",
            f"g: min {self.g.min():.6g}, max {self.g.max():.6g}"
            + (f"; bounds [{self.bounds[0]:g}, {self.bounds[1]:g}]" if self.bounds else "")
            + (
                f"; trim [{self.trim[0]:g}, {self.trim[1]:g}], "
                f"{int(self.trimmed.sum())} units capped"
                if self.trim
                else ""
            ),
            f"weights: total {diag.total:.10g}, min {diag.min:.6g}, max {diag.max:.6g}, "
            f"CV {diag.cv:.4f}, Kish n_eff {diag.n_eff:.1f}, weighting deff {diag.deff:.4f}",
        ]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """``summary()`` as an HTML table, for Jupyter."""
        from weighting._html import calibration_html

        return calibration_html(self)


def calibrate(
    data, margins, *, base_weights=None, spec: CalibrationSpec | None = None, **settings
) -> CalibrationResult:
    """Calibrate base weights to population margins.

    Parameters
    ----------
    data : mapping
        Column name -> 1-d array-like; a pandas DataFrame works (plain column
        access, pandas is not imported).
    margins : Margin, NumericTotal or a list of them
        Categorical margins (one variable or a cross) and numeric totals
        (any distance; the rows are then the solver's units).
    base_weights : array-like (n,), optional
        Design weights; default N/n with N the first margin's grand total.
    spec : CalibrationSpec, optional
        The settings; or give them as keyword arguments instead:
    distance : {"raking", "linear", "logit", "truncated"}
        Deville–Särndal distance; "truncated" is linear with bounds.
    bounds : (L, U), optional
        Bounds on g = weight / base weight (required by logit and truncated).
    trim : (lo, hi), optional
        Caps on g enforced by trimming and re-calibrating (module docstring);
        either may be None.
    tol : float
        Stop when max over margin categories of
        ``|achieved - target| / (1 + |target|)`` is at most ``tol`` (1e-10).
    max_iter : int
        1000 by default.
    allow_unconverged : bool
        Return an unconverged result (``converged=False``) instead of raising.
    normalize_margins : bool
        Rescale every margin to the first margin's grand total instead of
        raising when grand totals differ.

    Returns
    -------
    CalibrationResult

    Raises
    ------
    KalibError
        Settings out of range (see :class:`~weighting.spec.CalibrationSpec`).
    MarginError, EmptyCellError, MissingValueError, WeightError
        Margins and sample do not match (the message names the category).
    InfeasibleBoundsError
        A category's target is out of reach within the bounds, or trimming
        caps and margins cannot hold together.
    CalibrationError
        No convergence (names the worst margin category); the exception's
        ``result`` attribute holds the unconverged result.
    """
    spec = CalibrationSpec.of(spec, **settings)
    margins = tuple(margins) if isinstance(margins, (list, tuple)) else (margins,)
    code, lower, upper = spec.code, *spec.limits
    categorical = [m for m in margins if isinstance(m, Margin)]
    reconciled = _reconcile_grand_totals(margins, categorical, spec.tol, spec.normalize_margins)
    problem = CalibrationProblem(data, reconciled, base_weights)
    _check_implied_totals(problem, spec.tol)
    _check_category_bounds(problem, code, lower, upper)

    fit = solve(
        problem.X,
        problem.d,
        problem.t,
        spec.distance,
        spec.bounds,
        tol=spec.tol,
        max_iter=spec.max_iter,
        Xfull=problem.Xfull,
        tfull=problem.tfull,
    )
    g_units, trimmed = fit.g, np.zeros(problem.n_cells, bool)
    iterations, errors, converged = fit.iterations, [fit.errors], fit.converged
    if spec.trim is not None and converged:
        if code == LOGIT:
            g_units, trimmed, rounds = _trim_fixing(problem.table, fit, spec)
        else:
            g_units, trimmed, rounds = _trim_clipping(problem, fit, spec)
        iterations += sum(r.iterations for r in rounds)
        errors += [r.errors for r in rounds]
    g = problem.expand(g_units)
    result = CalibrationResult(
        weights=problem.base_weights * g,
        g=g,
        base_weights=problem.base_weights,
        iterations=iterations,
        errors=np.concatenate(errors),
        converged=converged,
        spec=spec,
        margins=margins,
        problem=problem,
        lam=fit.lam,
        trimmed=trimmed,
    )
    if not converged and not spec.allow_unconverged:
        exc = CalibrationError(_nonconvergence_message(problem, fit, spec))
        exc.result = result
        raise exc
    return result


def _reconcile_grand_totals(margins, categorical, tol, normalize):
    if len(categorical) < 2:
        return list(margins)
    first = categorical[0]
    reference = first.grand_total
    rescaled = {}
    for m in categorical[1:]:
        total = m.grand_total
        if abs(total - reference) > tol * (1.0 + abs(reference)):
            if not normalize:
                raise MarginError(
                    f"grand totals disagree: margin {m.name!r} sums to {total:.10g}, "
                    f"margin {first.name!r} to {reference:.10g}",
                    option="normalize_margins",
                    remedy="pass normalize_margins=True to rescale every margin to the first",
                )
            rescaled[id(m)] = m.scaled(reference / total)
    return [rescaled.get(id(m), m) for m in margins]


def _check_implied_totals(problem, tol):
    """Targets of constraints implied by others must equal what they imply."""
    t_kept = problem.tfull[problem.kept]
    for j, coef in problem.dependent:
        implied = float(t_kept @ coef)
        target = problem.tfull[j]
        rounding = 64 * np.finfo(float).eps * float(np.abs(coef) @ np.abs(t_kept))
        if abs(target - implied) > tol * (1.0 + abs(target)) + rounding:
            margin, category = problem.labels[j]
            raise MarginError(
                f"margins are inconsistent: {category} has total {target:.10g} but the "
                f"other margins imply {implied:.10g} for the respondents it covers"
            )


def _check_category_bounds(problem, code, lower, upper, what="bounds"):
    """L * sum(d) <= T <= U * sum(d) in every category (strict for logit, and
    T > 0 for raking, whose g is positive)."""
    n_cat = len(problem.tfull) - len(problem.numeric)
    X = problem.Xfull[:, :n_cat]
    base = X.T @ problem.d
    respondents = X.T @ problem.counts
    for j in range(n_cat):
        target, low, high = problem.tfull[j], lower * base[j], upper * base[j]
        strict = code == LOGIT or (code == RAKING and lower == 0.0)
        below = target <= low if strict else target < low - 1e-12 * abs(low)
        above = target >= high if code == LOGIT else target > high + 1e-12 * abs(high)
        if below or above:
            margin, category = problem.labels[j]
            raise InfeasibleBoundsError(
                f"{category}: target {target:.10g} is out of reach for its "
                f"{int(respondents[j])} respondents with base-weight total "
                f"{base[j]:.10g} (g = {target / base[j]:.6g} needed; {what} "
                f"[{lower:g}, {upper:g}])"
            )


def _trim_clipping(problem, fit, spec):
    """Re-calibrate with g clipped to caps ∩ bounds (raking, linear)."""
    lo, hi = spec.trim
    outside = (fit.g < lo) | (fit.g > hi)
    if not outside.any():
        return fit.g, outside, []
    # Without bounds the floor is the distance's own: raking keeps g positive.
    low, high = spec.clipping_bounds
    _check_category_bounds(
        problem,
        RAKING if spec.distance == "raking" else LINEAR,
        low,
        high,
        what="bounds and trimming caps",
    )
    refit = solve(
        problem.X,
        problem.d,
        problem.t,
        spec.distance,
        (low, high),
        lam0=fit.lam,
        tol=spec.tol,
        max_iter=spec.max_iter,
        Xfull=problem.Xfull,
        tfull=problem.tfull,
    )
    if not refit.converged:
        worst = _worst(problem.Xfull, problem.d * refit.g, problem.tfull)
        raise InfeasibleBoundsError(
            f"trimming to [{lo:g}, {hi:g}] and the margins cannot hold together: "
            f"the re-calibration with g capped fails, worst at {problem.labels[worst][1]}"
        )
    capped = (refit.g <= low * (1 + 1e-12)) | (refit.g >= high * (1 - 1e-12))
    return refit.g, capped, [refit]


def _trim_fixing(table: CellTable, fit, spec):
    """Fix units outside the caps at the cap and re-calibrate the rest, until
    every free unit is within the caps (logit; see the module docstring).
    ``table`` is the problem's (or a replicate's) cell table."""
    lo, hi = spec.trim
    tol = spec.tol
    g = fit.g.copy()
    free = np.ones(table.n_cells, bool)
    rounds: list[SolveResult] = []
    while True:
        outside = free & ((g < lo) | (g > hi))
        if not outside.any():
            return g, ~free, rounds
        g[outside] = np.clip(g[outside], lo, hi)
        free &= ~outside
        if not free.any():
            raise InfeasibleBoundsError(
                f"trimming to [{lo:g}, {hi:g}] caps every unit and the margins no longer hold"
            )
        fixed_share = table.Xfull[~free].T @ (table.d[~free] * g[~free])
        Xf, df, tf = table.Xfull[free], table.d[free], table.tfull - fixed_share
        kept, dependent = independent_columns(Xf)
        for j, coef in dependent:
            if abs(tf[j] - tf[kept] @ coef) > tol * (1.0 + abs(table.tfull[j])):
                raise InfeasibleBoundsError(
                    f"trimming to [{lo:g}, {hi:g}] and the margins cannot hold together: "
                    f"{table.labels[j][1]} would need {tf[j]:.10g} more weight from "
                    f"units that are all capped"
                )
        refit = solve(
            Xf[:, kept],
            df,
            tf[kept],
            spec.distance,
            spec.bounds,
            tol=tol,
            max_iter=spec.max_iter,
            Xfull=Xf,
            tfull=tf,
        )
        rounds.append(refit)
        if not refit.converged:
            worst = _worst(Xf, df * refit.g, tf)
            raise InfeasibleBoundsError(
                f"trimming to [{lo:g}, {hi:g}] and the margins cannot hold together: "
                f"re-calibrating the {int(free.sum())} uncapped units fails, worst at "
                f"{table.labels[worst][1]}"
            )
        g[free] = refit.g


def _worst(Xfull, w, tfull) -> int:
    return int(np.argmax(np.abs(Xfull.T @ w - tfull) / (1.0 + np.abs(tfull))))


def _nonconvergence_message(problem, fit, spec):
    w = problem.d * fit.g
    j = _worst(problem.Xfull, w, problem.tfull)
    achieved = float(problem.Xfull[:, j] @ w)
    margin, category = problem.labels[j]
    bounds, tol = spec.bounds, spec.tol
    reason = (
        "the step search stalled"
        if fit.status == Status.LINE_SEARCH_FAILED
        else f"not converged in {fit.iterations} iterations"
    )
    hint = (
        f"; the bounds [{bounds[0]:g}, {bounds[1]:g}] may be jointly infeasible" if bounds else ""
    )
    return (
        f"{spec.distance} calibration failed ({reason}): worst margin {margin!r}, "
        f"category {category}: achieved {achieved:.10g}, target "
        f"{problem.tfull[j]:.10g} (relative error "
        f"{criterion(problem.Xfull[:, [j]], w, problem.tfull[[j]]):.3g} > tol {tol:g})"
        f"{hint}"
    )
