"""Linear (GREG) and bounded logit calibration to the 8 + 12 cell margins.

Same workload and tolerance (1e-10) as the raking suite (bench_calibrate.py);
the logit bounds (0.3, 3) hold the g-factors this workload needs.
"""

import kalib_tasks
import pytest
from conftest import measure


@pytest.mark.parametrize(
    "distance, bounds", [("linear", None), ("logit", (0.3, 3.0))], ids=["linear", "logit"]
)
def test_calibrate(benchmark, workload, distance, bounds):
    columns = workload.columns()
    margins = kalib_tasks.margins(workload.margin_tables())
    result = measure(
        benchmark, workload, kalib_tasks.rake, columns, margins, distance=distance, bounds=bounds
    )
    assert result.converged and result.errors[-1] <= 1e-10
