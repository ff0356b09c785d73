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

Variants (R ``calibrate``'s ``variance``, ``aggregate.stage``,
``bounds.const``; :class:`~weighting.spec.CalibrationSpec`):

* ``variance`` :math:`v_k > 0` (Deville & Särndal's :math:`1/q_k`): the
  weights are :math:`w_k = d_k\, g(x_k'\lambda / v_k)` with
  :math:`\sum_k w_k x_k = t`, the minimum of
  :math:`\sum_k v_k d_k G(w_k/d_k)` (:math:`G' = g^{-1}`; linear:
  :math:`\sum_k v_k (w_k - d_k)^2 / (2 d_k)`). It is solved as the ordinary
  calibration of the columns :math:`x_k / v_k` with base totals
  :math:`d_k v_k` (the same constraints, the same dual). A per-row ``v`` makes
  the rows the units; coefficients :math:`c` (``v = x'c``, R's
  ``variance = 1`` for the ratio estimator) keep the cells.
  Linearization (:meth:`CalibrationResult.regression`): R solves a linear
  calibration without bounds directly (``regcalibrate``) and projects the
  influence on the calibration variables with weights :math:`d_k / v_k`;
  every other calibration goes through its Newton iteration (``grake``),
  whose projection uses :math:`d_k` alone. kalib does the same, so that its
  SEs are R's: ``ratio_rake_v1`` in tests/reference/calibration_variants has
  the weights of ``ratio_v1`` (with one calibration column g is constant for
  any distance) and another SE.
* ``aggregate_stage``: the calibration columns are averaged (unweighted)
  within the clusters of that stage and the problem is solved on the
  clusters, each with the total of its rows' base weights (R averages
  weights and columns, ``ave``): one g per cluster, the final weight
  :math:`d_k g_{c(k)}`. As R, when base weights vary within a cluster the
  final weights meet the margins of the averaged problem, not exactly their
  own. With per-row ``variance`` its cluster mean is used (R's direct path
  does so; its Newton path keeps per-row values, which lets g vary within a
  cluster).
* ``weight_bounds`` :math:`(L_k, U_k)`: bounds on the weights, turned into
  per-unit bounds :math:`L_k/d_k \le g_k \le U_k/d_k` (R's ``bounds.const``)
  and solved in numpy (the kernels take one pair). A category whose target
  lies outside :math:`[\sum L_k, \sum U_k]` over its units is
  ``InfeasibleBoundsError`` before solving.
* :func:`trim_weights`: R's ``trimWeights`` on a design (below).

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

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from weighting.columns import column, frozen, numeric
from weighting.contract import Status
from weighting.diagnostics import WeightDiagnostics, weight_diagnostics
from weighting.distances import LINEAR, LOGIT, RAKING
from weighting.errors import CalibrationError, InfeasibleBoundsError, KalibError, MarginError
from weighting.margins import Margin, NumericTotal
from weighting.problem import CalibrationProblem, CellTable, independent_columns
from weighting.solver import SolveResult, criterion, solve
from weighting.spec import CalibrationSpec, UnitValues

Arr = NDArray[np.float64]
MarginLike = Margin | NumericTotal
#: per-unit bounds on g (lower, upper)
UnitBounds = tuple[Arr, Arr]


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
    variance : ndarray (n_cells,) or None
        :math:`v_k` of every unit (``variance``; the cluster mean of the rows'
        values with ``aggregate_stage``).
    unit_bounds : (ndarray, ndarray) or None
        Per-unit bounds on g from ``weight_bounds``: :math:`L_k/d_k, U_k/d_k`.
    """

    weights: np.ndarray
    g: np.ndarray
    base_weights: np.ndarray
    iterations: int
    errors: np.ndarray
    converged: bool
    spec: CalibrationSpec
    margins: tuple[MarginLike, ...]
    problem: CalibrationProblem
    lam: np.ndarray
    trimmed: np.ndarray = field(default_factory=lambda: np.zeros(0, bool), repr=False)
    variance: Arr | None = field(default=None, repr=False)
    unit_bounds: UnitBounds | None = field(default=None, repr=False)

    @property
    def table(self) -> CellTable:
        """The system the solver sees, on the problem's units with base totals
        ``d``: the problem's table, with ``variance`` folded in (columns
        divided by :math:`v_k`, base totals multiplied: module docstring)."""
        return _system(self.problem.table, self.variance)

    def regression(self, weights: ArrayLike) -> tuple[NDArray[np.int64], Arr, Arr]:
        r"""The calibration regression of linearization: ``(cell, X, omega)``.

        R's ``svyrecvar`` replaces the weighted influence :math:`w_i z_i` by
        :math:`w_i z_i - c_i x_i'\beta`, :math:`\beta = (\sum_i \omega_i x_i
        x_i')^{-1} \sum_i \omega_i x_i (w_i/c_i) z_i`, with :math:`c` the
        weights the calibration gave (:attr:`weights`), :math:`w` the design's
        (``weights``: different after :func:`trim_weights`), :math:`x_i` the
        row of ``X`` of the row's unit ``cell[i]`` and regression weights
        :math:`\omega_i = d_i`, or :math:`d_i / v_i` for a linear calibration
        without bounds with ``variance`` (R solves that one directly and
        projects with the heteroskedastic weights; every other calibration
        goes through R's Newton iteration, whose projection leaves
        ``variance`` out: kalib does the same, so that its SEs are R's).
        With ``aggregate_stage``, R's ``ave`` puts the cluster's mean base
        weight :math:`\bar d` in place of :math:`d_i`, in :math:`\omega_i`
        and in :math:`c_i = g\,\bar d`: the cluster totals are the same
        (a one-stage design's SE too), the split within a cluster, and so a
        later stage's variance, differs where base weights vary within it.
        With :math:`w \ne c` the rows are the units and
        :math:`\tilde x_i = x_i c_i/w_i`, :math:`\tilde\omega_i = \omega_i
        (w_i/c_i)^2` make it the usual form :math:`w_i (z_i - \tilde x_i'\beta)`.
        """
        p = self.problem
        omega, c = p.base_weights, self.weights
        if self.spec.aggregate_stage is not None:
            omega = (p.d / p.counts)[p.cell]
            c = self.g * omega
        if self.variance is not None and self.spec.direct:
            omega = omega / self.variance[p.cell]
        if c is self.weights and (weights is c or np.array_equal(weights, c)):
            return p.cell, p.X, omega
        ratio = np.asarray(weights, dtype=np.float64) / c
        if np.all(ratio == 1.0):
            return p.cell, p.X, omega
        return np.arange(p.n, dtype=np.int64), p.X[p.cell] / ratio[:, None], omega * ratio**2

    @property
    def distance(self) -> str:
        return self.spec.distance

    @property
    def bounds(self) -> tuple[float, float] | None:
        return self.spec.bounds

    @property
    def trim(self) -> tuple[float, float] | None:
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
        spec = self.spec
        if spec.aggregate_stage is not None:
            units = f"{p.n_cells} clusters of stage {spec.aggregate_stage}"
        if spec.variance is not None:
            units += f"; variance {spec.variance if isinstance(spec.variance, str) else 'given'}"
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
            + ("; weight bounds" if spec.weight_bounds is not None else "")
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
    data: Any,
    margins: MarginLike | Sequence[MarginLike],
    *,
    base_weights: ArrayLike | None = None,
    clusters: ArrayLike | None = None,
    spec: CalibrationSpec | None = None,
    **settings: Any,
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
    clusters : array-like (n,), optional
        The clusters of ``aggregate_stage`` (``Design.calibrate`` passes
        those of that stage, ``stage_clusters``).
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
    variance, aggregate_stage, weight_bounds
        Heteroskedastic, cluster-constant and absolute-bound calibration
        (module docstring, :class:`~weighting.spec.CalibrationSpec`).

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
    given = cast(
        tuple[MarginLike, ...],
        tuple(margins) if isinstance(margins, (list, tuple)) else (margins,),
    )
    code = spec.code
    lower: float | Arr
    upper: float | Arr
    lower, upper = spec.limits
    categorical = [m for m in given if isinstance(m, Margin)]
    reconciled = _reconcile_grand_totals(given, categorical, spec.tol, spec.normalize_margins)
    if (spec.aggregate_stage is None) != (clusters is None):
        raise KalibError(
            "aggregate_stage needs the clusters of that stage: calibrate a Design "
            "(Design.calibrate passes them), or give clusters= with aggregate_stage"
        )
    if spec.trim is not None and spec.per_row:
        raise KalibError(
            "trim cannot be combined with variance or weight_bounds; "
            "trim afterwards with trim_weights"
        )
    problem = CalibrationProblem(data, reconciled, base_weights, clusters)
    if clusters is None and not problem.rows_are_units and _needs_rows(spec, problem.n):
        problem = CalibrationProblem(data, reconciled, base_weights, by_row=True)
    _check_implied_totals(problem, spec.tol)
    variance = _unit_variance(data, problem, spec.variance)
    unit_bounds = _unit_bounds(problem, spec)
    if unit_bounds is not None:
        lower, upper = unit_bounds
    _check_category_bounds(
        problem, code, lower, upper, "weight bounds" if unit_bounds is not None else "bounds"
    )

    table = _system(problem.table, variance)
    fit = solve(
        table.X,
        table.d,
        table.t,
        spec.distance,
        spec.bounds,
        tol=spec.tol,
        max_iter=spec.max_iter,
        Xfull=table.Xfull,
        tfull=table.tfull,
        unit_bounds=unit_bounds,
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
        margins=given,
        problem=problem,
        lam=fit.lam,
        trimmed=trimmed,
        variance=variance,
        unit_bounds=unit_bounds,
    )
    if not converged and not spec.allow_unconverged:
        exc = CalibrationError(_nonconvergence_message(problem, fit, spec))
        exc.result = result  # type: ignore[attr-defined]
        raise exc
    return result


def _system(table: CellTable, variance: Arr | None) -> CellTable:
    r"""``table`` with ``variance`` folded in: :math:`g(x_k'\lambda/v_k)`
    with base totals :math:`d_k` is the ordinary calibration of
    :math:`x_k/v_k` with base totals :math:`d_k v_k` (same constraints)."""
    if variance is None:
        return table
    v = variance[:, None]
    return replace(table, X=table.X / v, Xfull=table.Xfull / v, d=table.d * variance)


def _needs_rows(spec: CalibrationSpec, n: int) -> bool:
    """Per-row values (a variance column or array of n, weight bounds) make
    the rows the units."""
    per_row_variance = isinstance(spec.variance, str) or (
        isinstance(spec.variance, UnitValues) and len(spec.variance) == n
    )
    return per_row_variance or spec.weight_bounds is not None


def _unit_variance(
    data: Any, problem: CalibrationProblem, variance: str | UnitValues | None
) -> Arr | None:
    """:math:`v_k` per unit: a column or n values (R's rule: n values are per
    row), or coefficients of the calibration columns (``Xfull @ c``)."""
    if variance is None:
        return None
    q = problem.Xfull.shape[1]
    if isinstance(variance, str):
        rows = numeric(column(data, variance), f"variance column {variance!r}")
        what = f"variance column {variance!r}"
    elif len(variance) == problem.n:
        rows, what = variance.values, "variance"
    elif len(variance) == q:
        units = problem.Xfull @ variance.values
        _check_positive(units, "variance (calibration columns times its coefficients)", "unit")
        return units
    else:
        raise KalibError(
            f"variance has {len(variance)} values: give one per row ({problem.n}) or one "
            f"coefficient per calibration column ({q}: "
            f"{', '.join(label for _, label in problem.labels[:6])})"
        )
    _check_positive(rows, what, "row")
    return problem.collapse(rows) / problem.counts  # the cluster mean with clusters


def _check_positive(values: Arr, what: str, unit: str) -> None:
    bad = ~(np.isfinite(values) & (values > 0))
    if bad.any():
        i = int(np.argmax(bad))
        raise KalibError(
            f"{what} must be positive and finite: {int(bad.sum())} {unit}(s) are not "
            f"(first: {unit} {i + 1}, value {values[i]:g})",
            row=i if unit == "row" else None,
        )


def _unit_bounds(problem: CalibrationProblem, spec: CalibrationSpec) -> UnitBounds | None:
    """Per-unit g-bounds :math:`L_k/d_k, U_k/d_k` of ``weight_bounds`` (R's
    ``bounds.const = TRUE``), or None."""
    if spec.weight_bounds is None:
        return None
    d, rows = problem.base_weights, []
    for bound, name in zip(spec.weight_bounds, ("lower", "upper")):
        if isinstance(bound, UnitValues) and len(bound) != problem.n:
            raise KalibError(
                f"weight_bounds {name} has {len(bound)} values, the sample {problem.n} rows"
            )
        rows.append((bound.values if isinstance(bound, UnitValues) else bound) / d)
    lower, upper = (np.broadcast_to(r, d.shape) for r in rows)
    if problem.rows_are_units:
        units = lower, upper
    else:  # clusters: one g per cluster, so one pair of bounds
        first = np.zeros(problem.n_cells, np.int64)
        first[problem.cell[::-1]] = np.arange(problem.n)[::-1]
        units = lower[first], upper[first]
        varying = (lower != units[0][problem.cell]) | (upper != units[1][problem.cell])
        if varying.any():
            i = int(np.argmax(varying))
            raise KalibError(
                f"weight_bounds with aggregate_stage need the same g-bounds (bound / base "
                f"weight) in every row of a cluster; row {i + 1} differs from its cluster's first",
                row=i,
            )
    L, U = (np.ascontiguousarray(u, dtype=np.float64) for u in units)
    if spec.code == RAKING and (L < 0).any():
        raise KalibError("raking keeps the weights positive: weight_bounds lower must be >= 0")
    if spec.code == LOGIT:
        bad = ~((L < 1) & (U > 1) & np.isfinite(L) & np.isfinite(U))
        if bad.any():
            i = int(np.argmax(bad))
            raise KalibError(
                f"logit with weight_bounds needs finite bounds around every base weight: "
                f"unit {i + 1} has g-bounds ({L[i]:g}, {U[i]:g})"
            )
    return L, U


def _reconcile_grand_totals(
    margins: Sequence[MarginLike], categorical: list[Margin], tol: float, normalize: bool
) -> list[MarginLike]:
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


def _check_implied_totals(problem: CalibrationProblem, tol: float) -> None:
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


def _check_category_bounds(
    problem: CalibrationProblem,
    code: int,
    lower: float | Arr,
    upper: float | Arr,
    what: str = "bounds",
) -> None:
    """L * sum(d) <= T <= U * sum(d) in every category (strict for logit, and
    T > 0 for raking, whose g is positive); with per-unit bounds (arrays),
    sum(L_k d_k) <= T <= sum(U_k d_k) over the category's units."""
    n_cat = len(problem.tfull) - len(problem.numeric)
    X = problem.Xfull[:, :n_cat]
    base = X.T @ problem.d
    respondents = X.T @ problem.counts
    per_unit = np.ndim(lower) > 0
    if per_unit:
        lows, highs = (_category_sums(X, b * problem.d) for b in (lower, upper))
    for j in range(n_cat):
        if per_unit:
            target, low, high = problem.tfull[j], lows[j], highs[j]
            strict = code == LOGIT
            reach = f"the {what} allow {low:.10g} to {high:.10g}"
        else:
            target, low, high = problem.tfull[j], lower * base[j], upper * base[j]
            strict = code == LOGIT or (code == RAKING and lower == 0.0)
            reach = f"g = {target / base[j]:.6g} needed; {what} [{lower:g}, {upper:g}]"
        below = target <= low if strict else target < low - 1e-12 * abs(low)
        above = target >= high if code == LOGIT else target > high + 1e-12 * abs(high)
        if below or above:
            margin, category = problem.labels[j]
            raise InfeasibleBoundsError(
                f"{category}: target {target:.10g} is out of reach for its "
                f"{int(respondents[j])} respondents with base-weight total "
                f"{base[j]:.10g} ({reach})"
            )


def _category_sums(X: Arr, bound_weights: Arr) -> Arr:
    """``X' b`` where an infinite ``b_k`` of a unit in the category makes the
    sum infinite (no ``0 * inf``)."""
    finite = np.isfinite(bound_weights)
    sums: Arr = X.T @ np.where(finite, bound_weights, 0.0)
    for sign in (-1.0, 1.0):
        sums[(X.T @ (bound_weights == sign * math.inf)) > 0] = sign * math.inf
    return sums


def _trim_clipping(
    problem: CalibrationProblem, fit: SolveResult, spec: CalibrationSpec
) -> tuple[Arr, NDArray[np.bool_], list[SolveResult]]:
    """Re-calibrate with g clipped to caps ∩ bounds (raking, linear)."""
    assert spec.trim is not None  # called only when trimming
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


def _trim_fixing(
    table: CellTable, fit: SolveResult, spec: CalibrationSpec
) -> tuple[Arr, NDArray[np.bool_], list[SolveResult]]:
    """Fix units outside the caps at the cap and re-calibrate the rest, until
    every free unit is within the caps (logit; see the module docstring).
    ``table`` is the problem's (or a replicate's) cell table."""
    assert spec.trim is not None  # called only when trimming
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


def _worst(Xfull: Arr, w: Arr, tfull: Arr) -> int:
    return int(np.argmax(np.abs(Xfull.T @ w - tfull) / (1.0 + np.abs(tfull))))


def _nonconvergence_message(
    problem: CalibrationProblem, fit: SolveResult, spec: CalibrationSpec
) -> str:
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
    if spec.weight_bounds is not None:
        hint = "; the weight bounds may be jointly infeasible"
    return (
        f"{spec.distance} calibration failed ({reason}): worst margin {margin!r}, "
        f"category {category}: achieved {achieved:.10g}, target "
        f"{problem.tfull[j]:.10g} (relative error "
        f"{criterion(problem.Xfull[:, [j]], w, problem.tfull[[j]]):.3g} > tol {tol:g})"
        f"{hint}"
    )


def stage_clusters(design: Any, stage: int | None) -> NDArray[np.int64] | None:
    """The cluster of every row at sampling ``stage`` of ``design`` (stage 1:
    the PSUs), for ``aggregate_stage``; None for no stage."""
    if stage is None:
        return None
    stages = getattr(design, "stages", None)
    count = 1 if stages is None else len(stages)
    if stage > count:
        raise KalibError(f"aggregate_stage={stage}, but the design has {count} sampling stage(s)")
    clusters: NDArray[np.int64] = design.psu if stages is None else stages[stage - 1].cluster
    return clusters


def trim_weights(
    design: Any, lower: float = -math.inf, upper: float = math.inf, strict: bool = False
) -> Any:
    r"""Trim the weights of a design to [lower, upper], R's ``trimWeights``.

    Weights below ``lower`` or above ``upper`` are set to the bound and the
    total trimmed, :math:`\sum_k (w_k - \tilde w_k)`, is added in **equal
    shares** to every untrimmed unit (an additive amount, the same for each),
    so that the total weight is kept. An untrimmed unit can then pass a bound;
    ``strict=True`` repeats the step until none does (R's recursion; units
    at a bound are untrimmed in the next round and share in it).

    A calibrated design stays calibrated: its calibration is kept, so
    linearization uses the calibration residuals with the trimmed weights
    (``CalibrationResult.regression``), as R's ``svyrecvar`` does after
    ``trimWeights``. Replicates are trimmed the same way, replicate by
    replicate (rows whose replicate weight is 0, outside the replicate, are
    left at 0 and take no share), and kept as given replicate weights.

    Parameters
    ----------
    design : weighting.design.Design
    lower, upper : float
        Bounds on the weights (absolute; -inf / inf for none), lower < upper.
    strict : bool
        Repeat until every weight lies within the bounds.

    Returns
    -------
    weighting.design.Design
        A new design (``design`` itself when no weight is outside).

    Raises
    ------
    InfeasibleBoundsError
        ``strict`` bounds that the total weight cannot meet (``n * lower``
        above it or ``n * upper`` below it), or every weight outside.

    Notes
    -----
    Difference from ``calibrate(..., trim=)``: kalib's ``trim`` caps g and
    re-calibrates, so the margins still hold and the weights change in
    proportion (the module docstring); ``trim_weights`` keeps only the total
    weight, and the margins move. R's ``calibrate(trim = )`` spreads the
    trimmed amount in proportion to the weights, ``trimWeights`` additively.
    R's ``trimWeights`` for replicate designs does not trim the replicates
    consistently (survey 4.1.1 resets the sampling weights it trimmed); kalib
    applies the rule to each replicate.

    References
    ----------
    Lumley, T. (2010). Complex Surveys, §7.5; R ``survey::trimWeights``.
    """
    lower, upper = float(lower), float(upper)
    if not lower < upper:
        raise KalibError(f"trim_weights needs lower < upper, got ({lower:g}, {upper:g})")
    weights = trimmed_weights(design.weights, lower, upper, strict)
    if weights is design.weights:
        return design
    changes = {"weights": frozen(weights)}
    if design.calibration is None:  # the trimmed weights are the design weights
        changes["base_weights"] = changes["weights"]
    new = design._replace(**changes)
    if design.replicates is None:
        return new
    r = design.replicates
    W = np.array(design.replicate_weights(), dtype=np.float64)
    for b in range(W.shape[1]):
        inside = W[:, b] > 0
        W[inside, b] = trimmed_weights(W[inside, b], lower, upper, strict)
    return new.with_replicate_weights(W, r.scale, r.rscales, r.mse, r.method, r.degf)


#: rounds of ``trim_weights(strict=True)`` at most (each moves the weights
#: geometrically closer to a fixed point; in floats it is reached in a few)
_STRICT_ROUNDS = 10_000


def trimmed_weights(w: Arr, lower: float, upper: float, strict: bool = False) -> Arr:
    """R's ``trimWeights`` rule (:func:`trim_weights`) on one weight vector:
    a new array, or ``w`` itself if no weight is outside [lower, upper]."""
    n, total = len(w), float(np.sum(w))
    if strict and not n * lower <= total <= n * upper:
        raise InfeasibleBoundsError(
            f"strict trimming to [{lower:g}, {upper:g}] cannot keep the total weight "
            f"{total:.10g} of {n} units (it needs {n * lower:.10g} to {n * upper:.10g})"
        )
    for _ in range(_STRICT_ROUNDS):
        outside = (w < lower) | (w > upper)
        if not outside.any():
            return w
        if outside.all():
            raise InfeasibleBoundsError(
                f"every one of the {n} weights is outside [{lower:g}, {upper:g}]: "
                f"no untrimmed unit to take the trimmed amount"
            )
        new = np.clip(w, lower, upper)
        new[~outside] += np.sum(w - new) / np.count_nonzero(~outside)
        w = new
        if not strict:
            return w
    raise InfeasibleBoundsError(
        f"strict trimming to [{lower:g}, {upper:g}] did not settle in {_STRICT_ROUNDS} rounds"
    )
