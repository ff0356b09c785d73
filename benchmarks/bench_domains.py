"""Domain estimation: means of the 5 outcomes by domain, with standard errors.

On the raked design, with linearization (residuals of the calibration
regression, Deville & Särndal 1992) and with B = 500 re-raked bootstrap
replicates made beforehand (their totals are regenerated, fused, inside
the estimate). The timed calls are ``estimators.inference.estimate.svymean``:

* ``test_domain_means_linearization`` / ``_bootstrap``: the three domain
  specifications (total, sector, size class), 5 x (1 + 2 + 4) = 35 estimates
  with SEs, CIs, design effects and flags;
* ``test_linearization_many_domains``: 5 x 115 domains (total, sector, size
  class, NACE group, sector x size x NACE) by linearization, the variances
  without an n x k influence matrix (``inference.variance.domain_variances``;
  targets, issue 14: n = 1e5 under 0.3 s, 1e6 under 3 s);
  ``test_linearization_many_domains_peak_memory`` runs it at the largest
  selected size in a fresh process and reports its peak resident memory
  (target at 1e6: under 1 GB, process, data and interpreter included);
* ``test_analyst_path`` (n = 1e3 only): the analyst's call on a survey-sized
  design with B = 500 bootstrap replicates, 5 means x 15 domains (total,
  sector, size class, sector x size class) with CIs and flags (target: under
  10 ms; the fused replicate totals take under 1, on one thread: see
  ``estimators.inference.estimate.SERIAL_TOTALS``).
"""

import kalib_tasks
import numpy as np
import pandas as pd
import pytest
from conftest import measure, peak_memory
from workloads import OUTCOMES

ESTIMATES = len(OUTCOMES) * (1 + 2 + 4)
MANY = len(OUTCOMES) * (1 + 2 + 4 + 12 + 96)  # fewer at n = 1e3: cells of the cross absent


@pytest.fixture(scope="module")
def raked(workload):
    frame = pd.DataFrame(workload.columns())
    margins = kalib_tasks.margins(workload.margin_tables())
    return frame, margins, kalib_tasks.raked_design(frame, margins)


def test_domain_means_linearization(benchmark, workload, raked):
    _, _, design = raked
    result = measure(benchmark, workload, kalib_tasks.domain_means, design)
    assert len(result.frame) == ESTIMATES and np.isfinite(result.frame["se"]).all()


def test_domain_means_bootstrap(benchmark, workload, raked):
    frame, margins, _ = raked
    design = kalib_tasks.replicate_design(frame, margins, "bootstrap", replicates=500)
    result = measure(benchmark, workload, kalib_tasks.domain_means, design)
    assert len(result.frame) == ESTIMATES and np.isfinite(result.frame["se"]).all()


def test_linearization_many_domains(benchmark, workload, raked):
    _, _, design = raked
    result = measure(benchmark, workload, kalib_tasks.linearized_domain_means, design)
    frame = result.frame
    assert len(frame) == MANY or (workload.n < 1e5 and len(frame) > len(OUTCOMES) * 19)
    assert np.isfinite(frame["se"][frame["n"] > 1]).all()


def test_linearization_many_domains_peak_memory(benchmark):
    task = (
        "import pandas as pd, kalib_tasks\n"
        "design = kalib_tasks.raked_design(pd.DataFrame(w.columns()), "
        "kalib_tasks.margins(w.margin_tables()))\n"
        "kalib_tasks.linearized_domain_means(design)"
    )
    assert peak_memory(benchmark, task, "linearized means 5 x 115 domains") > 0


def test_analyst_path(benchmark, workload_1e3):
    frame = pd.DataFrame(workload_1e3.columns())
    margins = kalib_tasks.margins(workload_1e3.margin_tables())
    design = kalib_tasks.replicate_design(frame, margins, "bootstrap", replicates=500)
    result = measure(benchmark, workload_1e3, kalib_tasks.analyst_domain_means, design)
    assert len(result.frame) == len(OUTCOMES) * 15
    assert result.frame["flag"].isin(["ok", "review", "suppress"]).all()
