"""What a user of the command line waits for: whole processes, start to exit.

* ``test_python_startup``: the bare interpreter (``python -c pass``), the
  floor of every other figure here;
* ``test_import_weighting``: ``python -c "import weighting"`` (target: the
  import under 50 ms, i.e. this minus the bare interpreter);
* ``test_kalib_help``: ``kalib --help`` (target < 0.25 s; it imports no
  subcommand, ``estimators.cli.SUBCOMMANDS``);
* ``test_kalib_rake``: ``kalib rake`` of the workload's CSV to its two margin
  files, CSV out (pandas reads and writes it: its import is most of the
  time at n = 1e3);
* ``test_kalib_estimate_bootstrap``: ``kalib estimate`` with B = 500 re-raked
  bootstrap replicates and the means of the 5 outcomes overall, by sector
  and by size class (issue 14: at n = 1e5 under 0.7 s and at least 20 times
  faster than ``svy`` in the same run of ``make bench-peers``);
* ``test_kalib_estimate_linearization``: ``kalib estimate`` with
  linearization after raking, 5 outcomes x 115 domains (total, sector, size
  class, NACE group, sector x size x NACE; target at n = 1e5: under 1 s).

The workload's files (``Workload.write``: ``data.csv``, ``margin_stratum.csv``,
``margin_nace.csv``) are written once per size, outside the timing. Each
process is timed in full (``subprocess.run``), 5 rounds (3 beyond 0.2 s)
after one untimed run; its CPU time (user + system, threads and worker
processes included) is kept in ``extra_info["cpu_seconds"]``. The processes
read compiled bytecode, as an installed kalib does: the untimed run writes
what is missing or stale (``peers.user_env``), so that no figure includes
compiling modules.
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import time

import pytest
from conftest import SLOW

# the commands as `make bench-peers` runs them, in its environment (one home for both)
from peers import kalib_command as kalib_argv
from peers import kalib_estimate_argv, user_env


def timed_process(benchmark, argv, **extra):
    """Benchmark the process ``argv`` (checked to succeed) run in
    ``peers.user_env`` (the untimed first run writes its bytecode);
    ``extra_info`` gets the median CPU seconds of its rounds
    (``cpu_seconds``: user + system of the process and its threads and
    workers), the figure a shared machine inflates least."""
    cpu = []

    def run():
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=user_env())
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)

    start = time.perf_counter()
    run()
    rounds = 3 if time.perf_counter() - start > SLOW else 5
    cpu.clear()
    benchmark.extra_info.update(extra)
    result = benchmark.pedantic(run, rounds=rounds, iterations=1, warmup_rounds=0)
    benchmark.extra_info["cpu_seconds"] = round(statistics.median(cpu), 4)
    return result


@pytest.fixture(scope="module")
def files(workload, tmp_path_factory):
    """The workload's CSV files, written once per size."""
    return workload.write(tmp_path_factory.mktemp(f"n{workload.n}"))


def test_python_startup(benchmark):
    timed_process(benchmark, [sys.executable, "-c", "pass"])


def test_import_weighting(benchmark):
    timed_process(benchmark, [sys.executable, "-c", "import weighting"])


def test_kalib_help(benchmark):
    timed_process(benchmark, kalib_argv() + ["--help"], target_seconds=0.25)


def test_kalib_rake(benchmark, workload, files, tmp_path):
    timed_process(
        benchmark,
        kalib_argv()
        + [
            "rake",
            str(files / "data.csv"),
            "--weight",
            "weight",
            "--margins",
            str(files / "margin_stratum.csv"),
            "--margins",
            str(files / "margin_nace.csv"),
            "--out",
            str(tmp_path / "raked.csv"),
            "--force",
            "--quiet",
        ],
        n=workload.n,
    )


def test_kalib_estimate_bootstrap(benchmark, workload, files, tmp_path):
    timed_process(
        benchmark,
        kalib_estimate_argv("bootstrap", files, tmp_path / "est.csv", replicates=500),
        n=workload.n,
        replicates=500,
    )


def test_kalib_estimate_linearization(benchmark, workload, files, tmp_path):
    timed_process(
        benchmark,
        kalib_estimate_argv("linearization", files, tmp_path / "est.csv"),
        n=workload.n,
        domains=115,
    )
