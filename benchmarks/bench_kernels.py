"""The one-pass kernels under every calibration: encoding, collapse, expand.

Raking depends on the rows only through the base-weight totals of the joint
cells of the calibration variables: rows are encoded to cell codes once,
collapsed to cell totals, and the cell factors are expanded back. These are
the only O(n) steps; the solver works on the cell table (8 x 12 cells here).
Encoding text labels is timed on its own, apart from integer codes.
"""

import kalib_tasks
import numpy as np
import pytest
from conftest import measure

from weighting.columns import encode
from weighting.problem import CalibrationProblem


def _observed_cells(workload):
    return len(np.unique(workload.stratum * 12 + workload.nace))


def _problem(workload):
    return CalibrationProblem(
        workload.columns(),
        kalib_tasks.margins(workload.margin_tables()),
        base_weights=workload.base_weight,
    )


def test_encode_codes(benchmark, workload):
    """Integer codes of sector x size x NACE into joint cells (CalibrationProblem)."""
    columns = workload.columns()
    margins = kalib_tasks.margins(workload.margin_tables())
    problem = measure(
        benchmark,
        workload,
        CalibrationProblem,
        columns,
        margins,
        base_weights=workload.base_weight,
    )
    assert problem.n_cells == _observed_cells(workload)


def test_encode_text(benchmark, workload):
    """The same from text labels ('private', '5-19', 'G', ...)."""
    columns = {**workload.columns(), **workload.strings()}
    margins = kalib_tasks.margins(workload.margin_tables(labels=True))
    problem = measure(
        benchmark,
        workload,
        CalibrationProblem,
        columns,
        margins,
        base_weights=workload.base_weight,
    )
    assert problem.n_cells == _observed_cells(workload)


@pytest.mark.parametrize("variable", ["nace"])
def test_encode_text_column(benchmark, workload, variable):
    """One text column to codes (weighting.columns.encode) -- the encoding step alone."""
    text = workload.strings()[variable]
    codes, categories = measure(benchmark, workload, encode, text, variable)
    assert len(categories) == 12 and codes.shape == (workload.n,)


def test_collapse(benchmark, workload):
    problem = _problem(workload)
    totals = measure(benchmark, workload, problem.collapse, workload.base_weight)
    assert totals.sum() == pytest.approx(workload.base_weight.sum(), rel=1e-12)


def test_expand(benchmark, workload):
    problem = _problem(workload)
    factors = np.linspace(0.5, 1.5, problem.n_cells)
    rows = measure(benchmark, workload, problem.expand, factors)
    assert rows.shape == (workload.n,)
