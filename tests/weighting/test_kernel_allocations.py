"""Out of memory in the compiled kernels is a ``MemoryError`` naming the step
and the buffer, never a crash (issue 17, item 7; ``cext/alloc.pxd``).

Each case runs in a fresh interpreter whose address space is capped
(``RLIMIT_AS``, the soft limit, just above what the process already maps
once the case's inputs are made), so an allocation the kernel asks for fails
whatever the machine's memory and overcommit policy, and a crash would show
as the subprocess dying rather than as a failed assertion in this process.
The sizes asked for follow from the kernels' scratch formulas: the
per-combination sums of ``replicate_totals`` are ``K * 8 * k + 1`` doubles
(8 replicates a pass), the convergence history ``max_iter + 2`` doubles, the
PSU counts of ``replicate_weights`` ``P + 1`` ints.
"""

import json
import subprocess
import sys

import pytest
from repo_paths import REFERENCE, REPO

from estimators.cli import main
from weighting import _backend

pytestmark = [
    pytest.mark.skipif(_backend.KERNELS is None, reason=str(_backend.REASON)),
    pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS and /proc/self/status"),
]

CASES = r"""
import json, resource, sys
import numpy as np
from weighting import _backend

K = _backend.KERNELS
HARD = resource.getrlimit(resource.RLIMIT_AS)[1]


def mapped():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024


def capped(call, headroom):
    # soft limit only: raised again after the call (the hard one is untouched)
    resource.setrlimit(resource.RLIMIT_AS, (mapped() + headroom, HARD))
    try:
        call()
        return "no error"
    except MemoryError as exc:
        return str(exc)
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (HARD, HARD))


def jackknife_plan(P, B=1):
    # one stratum of P PSUs, replicate b deleting PSU b; row p is PSU p
    i64 = lambda *v: np.array(v, np.int64)
    return K.args.ReplicatePlan(
        1, np.zeros((0, 4), np.uint64), i64(P), i64(0), i64(P - 1), np.ones(P),
        np.zeros(P), np.arange(B, dtype=np.int64), np.full(B, (P - 1) / P),
        np.zeros(P, np.int64), B, np.zeros(0, np.int64),
    )


def system(max_iter):
    # two cells, one margin of two categories; raking
    X = np.eye(2)
    return K.args.CellSystem(X, np.ones(2), X, np.ones(2), 1, 0.0, np.inf, np.zeros(2),
                             1e-10, max_iter)


def totals():
    Kc, k = 10_000, 100_000  # combinations, value columns: 64 GB of sums
    args = (np.zeros(1, np.int32), np.zeros(Kc, np.int32), np.zeros(Kc, np.int32),
            np.ones((1, 1)), np.ones((1, k)), 1, 1)
    return capped(lambda: K.replicate.replicate_totals(jackknife_plan(2), *args), 1 << 30)


HUGE = 2**31 - 2  # max_iter: a convergence history of 2**31 doubles


def solve():
    args = (np.zeros(2, np.int32), np.ones(2), system(HUGE), 1)
    return capped(lambda: K.replicate.solve_replicates(jackknife_plan(2), *args), 1 << 30)


def cells():
    return capped(lambda: K.chunked.solve_cell_tables(np.ones((1, 2)), system(HUGE), 1),
                  1 << 30)


def weights():
    big = jackknife_plan(4_000_000)  # 16 MB of counts, under a cap 8 MB above the inputs
    args = (np.zeros(1, np.int64), np.zeros(1, np.int64), np.ones((1, 1)), np.ones(1), 1)
    message = capped(lambda: K.replicate.replicate_weights(big, *args), 8 << 20)
    # and with the memory back, the same kernel runs: replicate 0 deletes PSU 0
    return message, K.replicate.replicate_weights(jackknife_plan(2), *args).tolist()


print(json.dumps(globals()[sys.argv[1]]()))
"""


def run(case):
    """The case's result, from a fresh interpreter (a fresh allocator: memory
    an earlier case freed is not lying in the heap, under the cap)."""
    done = subprocess.run(
        [sys.executable, "-c", CASES, case], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr  # a crash would be a signal's code
    return json.loads(done.stdout)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("totals", "replicate totals: cannot allocate 64.0 GB for the per-combination sums"),
        ("solve", "replicate re-calibration: cannot allocate 17.2 GB for the convergence history"),
        (
            "cells",
            "re-calibration of the cell tables: cannot allocate 17.2 GB "
            "for the convergence history",
        ),
    ],
)
def test_a_failed_allocation_names_step_size_and_buffer(case, message):
    assert run(case) == message


def test_the_kernel_runs_again_once_memory_is_back():
    message, weights = run("weights")
    assert message == "replicate weights: cannot allocate 16.0 MB for the bootstrap counts"
    assert weights == [[0.0]]


def test_the_command_line_says_it_in_one_line(tmp_path, monkeypatch, capsys):
    # the kernel's error as test_the_kernel_runs_again_once_memory_is_back gets it
    message = "replicate weights: cannot allocate 16.0 MB for the bootstrap counts"

    def out_of_memory(*args):
        raise MemoryError(message)

    monkeypatch.setattr(_backend.KERNELS.replicate, "replicate_weights", out_of_memory)
    ref = REFERENCE / "variance"
    out = tmp_path / "reps.csv"
    argv = ["replicate", str(ref / "business.csv"), "--weight", "w", "--strata", "stratum"]
    assert main([*argv, "--replicates", "5", "--out", str(out), "--quiet"]) == 1
    assert capsys.readouterr().err == f"kalib replicate: error: out of memory: {message}\n"
    assert list(tmp_path.iterdir()) == []  # nothing half-written
