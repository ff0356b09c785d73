"""Stratified delete-one-PSU jackknife (JKn), every replicate re-raked.

PSUs are the workload's clusters (about 1000 at every n, so JKn has ~1000
replicates whatever the size); each replicate drops one PSU, rescales its
stratum by n_h / (n_h - 1) and is re-raked to the 8 + 12 cell margins, warm
started from the full-sample solution. Timed: making the replicates plus the
replicate totals of the 5 outcomes (fused, no n x B weight matrix).
"""

import kalib_tasks
import numpy as np
import pandas as pd
from conftest import measure
from workloads import OUTCOMES


def jkn_totals(frame, margin_list, values):
    design = kalib_tasks.replicate_design(frame, margin_list, "jkn", psu="cluster")
    return design.replicate_totals(values)


def test_jkn_reraked(benchmark, workload):
    frame = pd.DataFrame(workload.columns())
    margins = kalib_tasks.margins(workload.margin_tables())
    totals = measure(benchmark, workload, jkn_totals, frame, margins, workload.outcomes)
    n_psus = len(np.unique(workload.stratum.astype(np.int64) * 10**6 + workload.cluster))
    benchmark.extra_info["replicates"] = n_psus
    assert totals.shape == (n_psus, 1, len(OUTCOMES))
    assert np.isfinite(totals).all()
