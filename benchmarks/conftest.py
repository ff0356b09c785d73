"""Fixtures shared by the pytest-benchmark suites (``benchmarks/bench_*.py``).

Sizes: ``KALIB_BENCH_SIZES`` (default ``1e3,1e5``, so that a direct
``pytest benchmarks/`` stays quick); ``make bench`` (run_bench.py) runs the
nightly set ``1e3,1e5,1e6``. The ``workload`` fixture is parametrized over
them, so test ids end in ``[1e3]``, ``[1e5]``, ``[1e6]``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # workloads, kalib_tasks; the repository

from workloads import make_workload, selected_sizes  # noqa: E402

SIZES = selected_sizes()
SLOW = 0.2  # seconds per call above which a benchmark gets 3 plain rounds


@pytest.fixture(scope="session", params=list(SIZES.values()), ids=list(SIZES))
def workload(request):
    """The seeded workload of each selected size (shared, read-only)."""
    return make_workload(request.param)


@pytest.fixture(scope="session")
def workload_1e3():
    """The n = 1e3 workload, for suites that only make sense at survey size."""
    return make_workload(1_000)


def measure(benchmark, workload, function, *args, **kwargs):
    """Benchmark ``function(*args, **kwargs)``, tagging the result with n.

    One untimed call first: when it takes more than ``SLOW`` seconds (n = 1e6,
    replicate suites), 3 rounds of one call replace pytest-benchmark's own
    calibration, which would otherwise spend minutes on such calls.
    """
    benchmark.extra_info["n"] = workload.n
    start = time.perf_counter()
    function(*args, **kwargs)
    if time.perf_counter() - start > SLOW:
        return benchmark.pedantic(
            function, args=args, kwargs=kwargs, rounds=3, iterations=1, warmup_rounds=0
        )
    return benchmark(function, *args, **kwargs)


# The child reports its own high-water mark (VmHWM): getrusage's ru_maxrss
# carries the parent's over on Linux across fork and exec, which after the
# 1e6 suites of the same pytest run reported the parent's 1.3 GB.
_CHILD = """
import sys
from pathlib import Path
sys.path[:0] = [{here!r}, {root!r}]
from workloads import make_workload
w = make_workload({n})
{task}
status = Path("/proc/self/status").read_text().splitlines()
print(next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")))
"""


def peak_memory(benchmark, task: str, what: str) -> float:
    """Run ``task`` (Python source using the workload ``w``) at the largest
    selected size in a fresh process, once; record and print its peak
    resident memory in MiB (the whole process: interpreter and workload
    included; target under 1024 MiB at n = 1e6)."""
    n = max(SIZES.values())
    code = _CHILD.format(here=str(HERE), root=str(HERE.parent), n=n, task=task)

    def child():
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        return int(out.stdout.split()[-1]) / 1024  # VmHWM is in KiB

    peak_mib = benchmark.pedantic(child, rounds=1, iterations=1)
    benchmark.extra_info.update(n=n, peak_mib=peak_mib)
    print(
        f"\npeak resident memory, {what}, n = {n:.0e} (whole process, incl. Python and "
        f"workload): {peak_mib:.0f} MiB (target < 1024 MiB at n = 1e6)"
    )
    return peak_mib
