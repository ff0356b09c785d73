"""Domain estimation: means of the 5 outcomes x (total, sector, size class).

On the raked design, with linearization (residuals of the calibration
regression, Deville & Särndal 1992) and with B = 500 re-raked bootstrap
replicates made beforehand (their totals are regenerated, fused, inside
the estimate). The timed call is ``estimators.inference.estimate.svymean`` with the
three domain specifications: 5 x (1 + 2 + 4) = 35 estimates with SEs, CIs
and design effects.
"""
import numpy as np
import pandas as pd
import pytest

import kalib_tasks
from conftest import measure
from workloads import OUTCOMES

ESTIMATES = len(OUTCOMES) * (1 + 2 + 4)


@pytest.fixture(scope="module")
def raked(workload):
    frame = pd.DataFrame(workload.columns())
    margins = kalib_tasks.margins(workload.margin_tables())
    from weighting.design import Design

    design = Design(frame, weights="weight", strata="stratum").calibrate(margins, tol=1e-10)
    return frame, margins, design


def test_domain_means_linearization(benchmark, workload, raked):
    _, _, design = raked
    result = measure(benchmark, workload, kalib_tasks.domain_means, design)
    assert len(result.frame) == ESTIMATES and np.isfinite(result.frame["se"]).all()


def test_domain_means_bootstrap(benchmark, workload, raked):
    frame, margins, _ = raked
    design = kalib_tasks.replicate_design(frame, margins, "bootstrap", replicates=500)
    result = measure(benchmark, workload, kalib_tasks.domain_means, design)
    assert len(result.frame) == ESTIMATES and np.isfinite(result.frame["se"]).all()
