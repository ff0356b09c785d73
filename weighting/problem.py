"""The calibration problem on a table of joint cells.

With categorical margins only, the calibrated weights depend on the data only
through the base-weight totals of the joint cells of the calibration variables
(every row of a cell has the same g). :class:`CalibrationProblem` encodes the
rows once into integer cell codes; the solver then works on the small
(cells × constraints) table, and :meth:`~CalibrationProblem.expand` maps the
cell g-factors back to rows. With a numeric total the units are the rows
themselves (nothing collapses), through the same interface.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from weighting import _backend
from weighting.columns import (
    category_values,
    column,
    dense_range,
    encode,
    n_rows,
    numeric,
    positive_weights,
)
from weighting.errors import EmptyCellError, KalibError, MarginError, MissingValueError
from weighting.margins import Margin, NumericTotal

Arr = NDArray[np.float64]
Codes = NDArray[np.int64]
#: (margin name, category label) of every column
Labels = list[tuple[str, str]]
#: (dropped column, its coefficients on the kept columns)
Dependent = list[tuple[int, Arr]]

# A column is linearly dependent on the earlier ones when its residual norm
# after projection is below this fraction of its own norm.
_DEPENDENCE_RTOL = 1e-9


@dataclass(frozen=True)
class CellTable:
    """A calibration problem collapsed to its units (joint cells): everything a
    solver reads, without the O(n) row arrays (replicates are re-calibrated,
    and Dask tasks shipped, on this alone).

    Attributes
    ----------
    X, t : ndarray (units, p), (p,)
        The solver's design matrix (independent columns) and targets.
    Xfull, tfull : ndarray (units, q), (q,)
        Every margin category's column and target (the criterion's).
    labels : list of (str, str)
        (margin name, category label) of every column of ``Xfull``.
    d : ndarray (units,)
        Base-weight total of every unit (a replicate's: :meth:`with_totals`).
    kept, dependent
        As in :class:`CalibrationProblem`.
    """

    X: Arr
    t: Arr
    Xfull: Arr
    tfull: Arr
    labels: Labels
    d: Arr
    kept: NDArray[np.intp]
    dependent: Dependent

    @property
    def n_cells(self) -> int:
        return int(self.X.shape[0])

    def with_totals(self, d: ArrayLike) -> CellTable:
        """The same table with unit base-weight totals ``d``."""
        return replace(self, d=np.asarray(d, dtype=np.float64))


class CalibrationProblem:
    """Rows encoded into joint cells, with the design matrix and targets.

    Parameters
    ----------
    data : mapping
        Column name -> 1-d array-like (a pandas DataFrame works).
    margins : sequence of Margin and NumericTotal
    base_weights : array-like or None
        Design weights d (positive, finite); None gives N/n, with N the grand
        total of the first categorical margin (1 without one).
    clusters : array-like (n,) of int, optional
        Cluster codes: the units are then the clusters, each with the
        unweighted mean of its rows' calibration columns and the total of
        their base weights (R ``calibrate(aggregate.stage = )``, which
        averages the model matrix and the weights within clusters;
        ``weighting.calibrate``).
    by_row : bool
        Make every row its own unit even with categorical margins only (per-row
        ``variance`` or ``weight_bounds``).

    Attributes
    ----------
    n : int
        Number of rows.
    cell : ndarray (n,) int64
        Unit (joint cell) code of every row; ``arange(n)`` when the units are
        the rows (numeric totals).
    n_cells : int
        Number of units the solver sees.
    base_weights : ndarray (n,)
    d : ndarray (n_cells,)
        Base-weight total of every unit.
    counts : ndarray (n_cells,) int64
        Rows per unit.
    Xfull, tfull : ndarray (n_cells, q), (q,)
        One column per margin category (and numeric total), with its target:
        the convergence criterion is evaluated on all of them.
    labels : list of (str, str)
        (margin name, category label) of every column of ``Xfull``.
    kept : ndarray (p,)
        Columns of ``Xfull`` forming a full-rank basis (chosen greedily in
        margin order, so that e.g. the implied intercept of a second margin is
        the one dropped).
    X, t : ndarray (n_cells, p) C-contiguous, (p,)
        The solver's design matrix and targets.
    dependent : list of (int, ndarray)
        For each dropped column j, coefficients c with
        ``Xfull[:, j] = Xfull[:, kept] @ c``; its target must equal
        ``tfull[kept] @ c`` for the margins to be consistent.
    rows_are_units : bool
    """

    def __init__(
        self,
        data: Any,
        margins: Sequence[Margin | NumericTotal],
        base_weights: ArrayLike | None = None,
        clusters: ArrayLike | None = None,
        by_row: bool = False,
    ) -> None:
        margins = list(margins)
        self.margins = [m for m in margins if isinstance(m, Margin)]
        self.numeric = [m for m in margins if isinstance(m, NumericTotal)]
        if len(self.margins) + len(self.numeric) != len(margins) or not margins:
            raise MarginError(
                "margins must be a non-empty list of Margin and NumericTotal objects"
            )
        self.variables = list(dict.fromkeys(v for m in self.margins for v in m.variables))
        names = self.variables + [m.variable for m in self.numeric]
        self.n = n_rows(data, names)
        if self.n == 0:
            raise KalibError("the sample has no rows")

        cell, cell_codes, self.categories = _joint_cells(data, self.variables, self.n)
        self.rows_are_units = bool(self.numeric)
        if self.rows_are_units:
            row_cells = cell
            self.cell = np.arange(self.n, dtype=np.int64)
        else:
            self.cell = cell
        self.n_cells = self.n if self.rows_are_units else len(cell_codes)
        cell_counts = np.bincount(cell, minlength=len(cell_codes))
        self.counts = np.ones(self.n, np.int64) if self.rows_are_units else cell_counts

        columns: list[Arr] = []
        targets: list[float] = []
        self.labels: Labels = []
        for margin in self.margins:
            for key, indicator in _margin_columns(
                margin, self.variables, self.categories, cell_codes, cell_counts
            ):
                columns.append(indicator)
                targets.append(margin.table[key])
                self.labels.append((margin.name, margin.label(key)))
        Xcells = np.array(columns, dtype=np.float64).T.reshape(len(cell_codes), len(columns))
        if self.rows_are_units:
            numeric = [_numeric_column(data, m.variable) for m in self.numeric]
            self.Xfull = np.column_stack([Xcells[row_cells]] + numeric)
            targets += [m.total for m in self.numeric]
            self.labels += [(m.variable, f"total of {m.variable}") for m in self.numeric]
        else:
            self.Xfull = Xcells
        if clusters is not None:
            self._aggregate(clusters)
        elif by_row and not self.rows_are_units:
            self.Xfull, self.cell = self.Xfull[self.cell], np.arange(self.n, dtype=np.int64)
            self.n_cells, self.counts, self.rows_are_units = (
                self.n,
                np.ones(self.n, np.int64),
                True,
            )
        self.Xfull = np.ascontiguousarray(self.Xfull, dtype=np.float64)
        self.tfull: Arr = np.asarray(targets, dtype=np.float64)

        self.kept, self.dependent = independent_columns(self.Xfull)
        self.X = np.ascontiguousarray(self.Xfull[:, self.kept])
        self.t = self.tfull[self.kept]

        self.base_weights = self._base_weights(base_weights)
        self.d = self.collapse(self.base_weights)

    def _aggregate(self, clusters: ArrayLike) -> None:
        """Units = clusters: the mean calibration row of each (R's ``ave``)."""
        clusters = np.asarray(clusters)
        if clusters.shape != (self.n,):
            raise KalibError(
                f"cluster codes have shape {clusters.shape}, the sample has {self.n} rows"
            )
        _, code = np.unique(clusters, return_inverse=True)
        code = code.reshape(-1).astype(np.int64)
        size = np.bincount(code)
        rows = self.Xfull[self.cell]
        self.Xfull = np.column_stack(
            [
                np.bincount(code, rows[:, j], minlength=len(size)) / size
                for j in range(rows.shape[1])
            ]
        ).reshape(len(size), rows.shape[1])
        self.cell, self.n_cells, self.counts = code, len(size), size
        self.rows_are_units = False

    def _base_weights(self, base_weights: ArrayLike | None) -> Arr:
        if base_weights is None:
            total = self.margins[0].grand_total if self.margins else float(self.n)
            return np.full(self.n, total / self.n)
        return positive_weights(base_weights, "base weights", self.n)

    @property
    def table(self) -> CellTable:
        """The problem on its units, without the row arrays (no copies)."""
        return CellTable(
            self.X, self.t, self.Xfull, self.tfull, self.labels, self.d, self.kept, self.dependent
        )

    def collapse(self, w: ArrayLike) -> Arr:
        """Unit totals of row values ``w``: ``out[c] = sum_{i: cell_i = c} w_i``."""
        rows: Arr = np.ascontiguousarray(w, dtype=np.float64)
        totals: Arr = (
            rows.copy()
            if self.rows_are_units
            else _backend.collapse(self.cell, rows, self.n_cells)
        )
        return totals

    def expand(self, g_cells: ArrayLike) -> Arr:
        """Row values from unit values: ``out[i] = g_cells[cell_i]``."""
        units: Arr = np.ascontiguousarray(g_cells, dtype=np.float64)
        rows: Arr = units.copy() if self.rows_are_units else _backend.expand(self.cell, units)
        return rows

    def __repr__(self) -> str:
        return (
            f"CalibrationProblem(n={self.n}, units={self.n_cells}, "
            f"constraints={len(self.t)} of {len(self.tfull)})"
        )


def independent_columns(X: Arr) -> tuple[NDArray[np.intp], Dependent]:
    """Greedy full-rank column basis of ``X`` and the dropped columns' coefficients.

    Column j is kept when its residual after projection on the kept columns
    (Gram-Schmidt, orthogonalised twice for stability) exceeds
    ``_DEPENDENCE_RTOL`` times its norm. Deterministic: earlier columns win.
    """
    basis = np.empty((X.shape[1], X.shape[0]))  # rows: the orthonormal basis so far
    chosen: list[int] = []
    dropped: list[int] = []
    for j in range(X.shape[1]):
        v = X[:, j].copy()
        norm = np.linalg.norm(v)
        Q = basis[: len(chosen)]
        for _ in range(2):  # projecting twice keeps the residual orthogonal in floats
            v -= (Q @ v) @ Q
        residual = np.linalg.norm(v)
        if norm > 0 and residual > _DEPENDENCE_RTOL * norm:
            basis[len(chosen)] = v / residual
            chosen.append(j)
        else:
            dropped.append(j)
    kept = np.array(chosen, dtype=np.intp)
    dependent: Dependent = []
    if dropped:
        # Unit-norm columns: a numeric column's scale must not blur the
        # (usually 0/±1) coefficients of the indicator columns.
        norms = np.linalg.norm(X[:, kept], axis=0)
        coef = np.linalg.lstsq(X[:, kept] / norms, X[:, dropped], rcond=None)[0]
        coef /= norms[:, None]
        dependent = [(j, coef[:, i]) for i, j in enumerate(dropped)]
    return kept, dependent


def _joint_cells(data: Any, variables: list[str], n: int) -> tuple[Codes, Codes, list[list[str]]]:
    """Encode rows into observed joint categories of ``variables``.

    Returns the cell code of every row, the (n_cells, n_vars) category codes
    of every cell (cells sorted by their mixed-radix code) and the category
    strings of every variable. Integer columns with a small range enter the
    mixed-radix code as they are (value - min), so that rows are read only to
    build one joint code and to look its cell up; other columns are encoded
    first (:func:`weighting.columns.encode`).
    """
    if not variables:
        return np.zeros(n, np.int64), np.zeros((1, 0), np.int64), []
    digits, spans, lows, categories = [], [], [], []
    for name in variables:
        values = category_values(data, name)
        low = _small_integer_range(values, n) if isinstance(values, np.ndarray) else None
        if low is None:
            codes, cats = encode(values, name)
            digits.append(codes)
            spans.append(len(cats))
        else:
            digits.append(values)
            spans.append(int(values.max()) - low + 1)
            cats = None  # the values present in the cells, found below
        lows.append(low or 0)
        categories.append(cats)
    if float(np.prod(spans, dtype=np.float64)) < 2**62:
        joint = np.subtract(digits[0], lows[0], dtype=np.int64)
        for digit, span, low in zip(digits[1:], spans[1:], lows[1:]):
            joint *= span
            joint += digit
            if low:
                joint -= low
        space = int(np.prod(spans, dtype=np.int64))
        if dense_range(space, n):
            present = np.bincount(joint, minlength=space) > 0
            observed = np.flatnonzero(present)
            lut = np.cumsum(present) - 1
            cell = lut[joint]
        else:
            observed, cell = np.unique(joint, return_inverse=True)
        cell_digits = np.array(np.unravel_index(observed, spans)).T
    else:  # too many combinations for one int64: unique rows instead
        stacked = np.column_stack(
            [np.subtract(d, low, dtype=np.int64) for d, low in zip(digits, lows)]
        )
        cell_digits, cell = np.unique(stacked, axis=0, return_inverse=True)
    cell_digits = np.asarray(cell_digits, np.int64).reshape(-1, len(variables))
    for v, cats in enumerate(categories):
        if cats is None:  # raw integers: keep the values present, in order
            present, cell_digits[:, v] = np.unique(cell_digits[:, v], return_inverse=True)
            categories[v] = [str(lows[v] + int(o)) for o in present]
    filled = cast(list[list[str]], categories)  # every None replaced above
    return np.ascontiguousarray(cell, dtype=np.int64).reshape(n), cell_digits, filled


def _small_integer_range(values: NDArray[Any], n: int) -> int | None:
    """min(values) if ``values`` are integers spanning a small range, else None."""
    if values.dtype.kind not in "iu" or values.size == 0:  # bools are "True"/"False"
        return None
    low, high = int(values.min()), int(values.max())
    return low if dense_range(high - low + 1, n) else None


def _margin_columns(
    margin: Margin,
    variables: list[str],
    categories: list[list[str]],
    cell_codes: Codes,
    cell_counts: Codes,
) -> Iterator[tuple[tuple[str, ...], Arr]]:
    """Yield (category key, cell indicator) for every category of a margin.

    Raises MarginError for a sample category without a margin entry and
    EmptyCellError for a margin category (with a positive total) without
    respondents; categories with total 0 and no respondents are left out.
    """
    index = [variables.index(v) for v in margin.variables]
    keys = [
        tuple(categories[v][c] for v, c in zip(index, row))
        for row in cell_codes[:, index].tolist()
    ]
    respondents: dict[tuple[str, ...], int] = {}
    for key, count in zip(keys, cell_counts.tolist()):
        respondents[key] = respondents.get(key, 0) + count
    unknown = [k for k in respondents if k not in margin.table]
    if unknown:
        shown = ", ".join(f"{margin.label(k)} ({respondents[k]} respondents)" for k in unknown[:5])
        raise MarginError(
            f"{len(unknown)} sample categor{'y' if len(unknown) == 1 else 'ies'}"
            f" missing from margin {margin.name!r}: {shown}"
        )
    empty = [k for k, total in margin.table.items() if k not in respondents and total > 0]
    if empty:
        shown = ", ".join(f"{margin.label(k)} (total {margin.table[k]:g})" for k in empty[:5])
        raise EmptyCellError(
            f"{len(empty)} categor{'y' if len(empty) == 1 else 'ies'} of "
            f"margin {margin.name!r} with no respondents: {shown}"
        )
    position = {k: i for i, k in enumerate(respondents)}
    cell_category = np.array([position[k] for k in keys], dtype=np.int64)
    for key in margin.table:
        if key in position:
            yield key, (cell_category == position[key]).astype(np.float64)


def _numeric_column(data: Any, name: str) -> Arr:
    values = numeric(column(data, name), f"numeric total variable {name!r}")
    bad = ~np.isfinite(values)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise MissingValueError(
            f"numeric variable {name!r} has {rows.size} missing or "
            f"non-finite value(s) (first at row {rows[0] + 1})",
            row=rows[0],
        )
    return values
