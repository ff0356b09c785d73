"""The report's worker processes (``estimators.report.workers``): a worker
forked after this process ran an OpenMP parallel region runs the kernels
(libgomp's pool is not copied by fork: a worker on more than one thread
would hang), with the same numbers; without workers a job runs at once."""

import os

import numpy as np
import pytest

from estimators._threads import thread_limits
from estimators.report.workers import Workers
from estimators.surveys.employers import SURVEY
from weighting import _backend


def replicate_weights(data, seed: int) -> np.ndarray:
    """The employer survey's raked bootstrap replicate weights (the kernels'
    re-calibration, one replicate per OpenMP thread)."""
    design = SURVEY.design(data, SURVEY.central).calibrate(SURVEY.margins(SURVEY.central))
    return design.with_replicates("bootstrap", replicates=200, seed=seed).replicate_weights()


@pytest.mark.skipif(_backend.KERNELS is None, reason=str(_backend.REASON))
@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: no workers")
def test_a_worker_forked_after_a_parallel_region_runs_the_kernels():
    data = SURVEY.load()
    with thread_limits(openmp=2):  # a team of two: libgomp starts its pool here
        here = replicate_weights(data, 3)
    with Workers() as workers:
        assert workers.parallel
        there = workers.call(replicate_weights, data, 3).result(
            timeout=60
        )  # a hung worker fails here
    assert there.tobytes() == here.tobytes()


def test_without_workers_a_job_runs_when_it_is_called():
    calls = []
    with Workers(fork=False) as workers:
        assert not workers.parallel
        future = workers.call(calls.append, 1)
        assert calls == [1] and future.done()


def _imported(module: str) -> bool:
    import sys

    return module in sys.modules


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: no workers")
def test_start_forks_the_workers_which_import_matplotlib_as_they_start():
    with Workers() as workers:
        workers.start()
        processes = list(workers._pool._processes.values())  # forked before any job of ours
        assert len(processes) == os.cpu_count()
        # a job that imports nothing finds matplotlib already there, in every worker
        found = [workers.call(_imported, "matplotlib.pyplot") for _ in range(4 * len(processes))]
        assert all(f.result(timeout=60) for f in found)


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: no workers")
def test_an_analysis_a_worker_cannot_be_sent_is_fitted_in_the_main_process(tmp_path):
    """A survey whose analysis is a lambda (not picklable) still gets its
    regression section, the same as the module-level function's."""
    import dataclasses

    from estimators.report import ReportSettings, build_report

    settings = dict(replicates=20, seed=3, quiet=True)
    local = dataclasses.replace(SURVEY, analysis=lambda design: SURVEY.analysis(design))
    here = build_report(ReportSettings(out=tmp_path / "lambda", **settings), local)
    there = build_report(ReportSettings(out=tmp_path / "module", **settings), SURVEY)
    (part_here,), (part_there,) = here.parts, there.parts
    assert part_here.analysis is not None
    assert part_here.analysis.html == part_there.analysis.html
