"""Shared plumbing of the Python peer runners: load a workload, time a task, report.

Runs inside each peer's own virtualenv, so it needs only numpy, pandas and
the standard library. A runner calls :func:`main` with its task functions:

* ``rake(frame, margins, args) -> weights`` rakes the base weights to the
  stratum (sector x size, 8 cells) and NACE (12 cells) margins;
* ``bootstrap(frame, margins, args) -> {"mean_y1": .., "se_y1": ..}`` makes
  ``args.replicates`` Rao-Wu-Yue bootstrap replicates within strata, re-rakes
  each to the same margins, and estimates the means of y1..y5 overall, by
  sector and by size class with replicate standard errors;
* ``linearization(frame, margins, args) -> {"mean_y1": .., "se_y1": ..}`` rakes
  to the same margins and estimates the means of y1..y5 in 115 domains
  (overall, sector, size class, NACE group, sector x size class x NACE
  group) with linearization standard errors that account for the raking
  (R's ``svyby(..., svymean)`` on a ``calibrate``d design).

The runner prints ``{"event": "start"}`` when the data are loaded (the time
cap starts there), then one JSON line: the median wall time of the task over a few
repeats (loading the data is not timed), the number of repeats, and checks
computed outside the timed region (the achieved margin error by kalib's
criterion, max |achieved - target| / (1 + |target|), and the estimate of y1)
so that the table can show that every tool solved the same problem. With
``--once`` the task runs once: ``peers.py`` then times the whole process
(start-up, reading the CSV, the task), what a user of the tool waits for.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

OUTCOMES = ["y1", "y2", "y3", "y4", "y5"]
MARGIN_VARIABLES = ("stratum", "nace")
START = '{"event": "start"}'


def load(directory: str) -> tuple[pd.DataFrame, dict[str, dict[int, float]]]:
    """The sample (integer codes) and ``{variable: {code: population total}}``."""
    root = Path(directory)
    frame = pd.read_csv(root / "data.csv")
    margins = {}
    for variable in MARGIN_VARIABLES:
        table = pd.read_csv(root / f"margin_{variable}.csv")
        margins[variable] = {
            int(code): float(total) for code, total in zip(table[variable], table["total"])
        }
    return frame, margins


def margin_error(weights, frame: pd.DataFrame, margins) -> float:
    """max over margin cells of |achieved - target| / (1 + |target|)."""
    weights = np.asarray(weights, dtype=float)
    worst = 0.0
    for variable, table in margins.items():
        codes = frame[variable].to_numpy()
        achieved = np.bincount(codes, weights, minlength=max(table) + 1)
        for code, target in table.items():
            worst = max(worst, abs(achieved[code] - target) / (1.0 + abs(target)))
    return worst


def peak_memory_mb() -> float | None:
    """This process's peak resident memory (VmHWM of /proc/self/status).

    Unlike ``getrusage``'s ``ru_maxrss``, which Linux carries over from the
    parent across fork and exec, VmHWM belongs to this program's own memory.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def timed(task, *task_args, budget: float = 1.0, max_repeats: int = 5):
    """Run ``task`` until ``budget`` seconds are used or ``max_repeats`` runs;
    return (median seconds, repeats, result of the last run)."""
    times, result = [], None
    while len(times) < max_repeats and sum(times) < budget:
        start = time.perf_counter()
        result = task(*task_args)
        times.append(time.perf_counter() - start)
    return statistics.median(times), len(times), result


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", required=True, choices=["rake", "bootstrap", "linearization"])
    parser.add_argument("--data", required=True, help="workload directory")
    parser.add_argument("--replicates", type=int, default=500)
    parser.add_argument("--seed", type=int, default=20170602)
    parser.add_argument("--tol", type=float, default=1e-10)
    parser.add_argument(
        "--once", action="store_true", help="run the task once (peers.py times the whole process)"
    )
    return parser.parse_args(argv)


def main(tasks: dict, argv=None) -> int:
    """Run the requested task with the runner's implementation; print JSON."""
    args = parse_args(argv)
    if args.task not in tasks:
        print(json.dumps({"unsupported": f"no {args.task} task"}))
        return 0
    task = tasks[args.task]
    if isinstance(task, str):  # a reason why the tool cannot do the task
        print(json.dumps({"unsupported": task}))
        return 0
    frame, margins = load(args.data)
    print(START, flush=True)  # peers.py starts the time cap here, after loading
    seconds, repeats, result = timed(task, frame, margins, args, max_repeats=1 if args.once else 5)
    report = {"seconds": seconds, "repeats": repeats}
    if args.task == "rake":
        weights = np.asarray(result, dtype=float)
        report["check"] = {
            "margin_error": margin_error(weights, frame, margins),
            "mean_y1": float(np.dot(weights, frame["y1"]) / weights.sum()),
        }
    else:
        report["check"] = {key: float(value) for key, value in result.items()}
    report["peak_mb"] = peak_memory_mb()
    print(json.dumps(report))
    sys.stdout.flush()
    return 0
