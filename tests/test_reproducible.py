"""Byte-reproducible outputs (issue 17, item 3): the real command line, in
subprocesses, under 1, 2 and 4 threads (slow), and the kernels in process
under 1, 2 and 4 OpenMP threads (quick).

``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` and ``MKL_NUM_THREADS`` are
all set for each run, so the thread count is the one named here whatever the
caller's environment (OpenBLAS reads its own variable before OpenMP's). Two
things use threads: the Cython kernels (OpenMP, one replicate per thread,
each summed in a fixed order: thread-count independent by construction) and
the BLAS behind numpy's matrix products, which splits a product's sums
between its threads. Before the command line pinned the BLAS to one thread
(``estimators._threads.thread_limits``) the report's keyrates.csv differed
between 1 and 2 threads in 951 cells of 552 rows (se, deff and CI bounds,
last bits).

Where two paths cannot give the same bits, the tolerance is the one
docs/scale.md states ("Reproducibility"): the numpy fallback and the
kernels, and ``--scheduler`` against the in-process path, agree to 1e-12
relative (measured: at most 6.3e-15 and 9.1e-14), p-values to 1e-12 times
max(1, t**2) (a far-tail p magnifies its t's difference by about t**2).
"""

import hashlib
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from repo_paths import REFERENCE, REPO
from threadpoolctl import threadpool_limits

from weighting import _backend
from weighting.design import Design

THREADS = (1, 2, 4)
VARIANCE = REFERENCE / "variance"
sys.path.insert(0, str(VARIANCE))
from samples import business_margins  # noqa: E402

ORDINAL = REFERENCE / "ordinal"
BUSINESS = [
    str(VARIANCE / "business.csv"),
    "--weight",
    "w",
    "--strata",
    "stratum",
    "--margins",
    str(VARIANCE / "business_margin_sector_size.csv"),
    "--margins",
    str(VARIANCE / "business_margin_nace.csv"),
    "--tol",
    "1e-12",
]
ESTABLISHMENTS = [
    str(ORDINAL / "ordinal_establishments.csv"),
    "--weight",
    "basew",
    "--strata",
    "stratum",
    "--fpc",
    "N_h",
]

# The command line run with the kernels on or off (``weighting._backend``
# is the one switch: the numpy fallback is what runs where cext is not built).
RUN = """
import sys
from weighting import _backend
from estimators.cli import main
with _backend.use_kernels(sys.argv[1] == "kernels"):
    code = main(sys.argv[2:])
sys.exit(code)
"""


def kalib(*argv, threads=2, kernels=True):
    """Run ``kalib *argv`` in a fresh interpreter on ``threads`` threads."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    mode = "kernels" if kernels else "numpy"
    done = subprocess.run(
        [sys.executable, "-c", RUN, mode, *map(str, argv), "--quiet"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr


def digests(folder, names):
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in names}


def same_bytes_on_every_thread_count(tmp_path, argv, outputs, **options):
    """Run ``argv`` (its output in ``{out}``) on 1, 2 and 4 threads; the
    ``outputs`` of the runs must be byte-identical. Returns the folders."""
    runs = {}
    for threads in THREADS:
        folder = tmp_path / f"threads{threads}"
        folder.mkdir(parents=True)
        kalib(*[a.format(out=folder) for a in argv], threads=threads, **options)
        runs[threads] = digests(folder, outputs)
    assert runs[2] == runs[1] and runs[4] == runs[1]


@pytest.mark.slow
def test_report_is_the_same_to_the_byte_on_1_2_4_threads(tmp_path):
    # Both bundled surveys: calibration, 1000 bootstrap replicates re-raked,
    # every key rate's estimate, SE, CI and deff, the replicate weights file.
    same_bytes_on_every_thread_count(
        tmp_path,
        ["report", "--out", "{out}/report", "--force"],
        ["report/keyrates.csv", "report/weights.csv", "report/replicate_weights.parquet"],
    )


@pytest.mark.slow
@pytest.mark.parametrize(("method", "extension"), [("bootstrap", "csv"), ("jkn", "parquet")])
def test_replicate_files_are_the_same_to_the_byte(tmp_path, method, extension):
    out = f"reps.{extension}"
    same_bytes_on_every_thread_count(
        tmp_path,
        ["replicate", *BUSINESS, "--method", method, "--replicates", "60", "--seed", "7"]
        + ["--out", "{out}/" + out],
        [out, "reps.json"],
    )


@pytest.mark.slow
def test_glm_and_ordinal_outputs_are_the_same_to_the_byte(tmp_path):
    glm = ["model", *BUSINESS, "--formula", "y1 ~ sector + size_class + x"]
    glm += ["--family", "binomial", "--variance", "bootstrap", "--replicates", "40"]
    glm += ["--predict", "sector", "--predict-out", "{out}/glm_margins.csv"]
    same_bytes_on_every_thread_count(
        tmp_path / "glm",
        [*glm, "--out", "{out}/glm.csv"],
        ["glm.csv", "glm_margins.csv"],
    )
    olr = ["model", *ESTABLISHMENTS, "--formula", "z ~ sector + size + trainee"]
    olr += ["--family", "ordinal", "--variance", "bootstrap", "--replicates", "30"]
    same_bytes_on_every_thread_count(
        tmp_path / "olr",
        [*olr, "--out", "{out}/olr.csv"],
        ["olr.csv"],
    )


def numbers(path):
    table = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    return table.select_dtypes("number").to_numpy(float)


@pytest.mark.slow
def test_numpy_path_agrees_with_the_kernels(tmp_path):
    # The kernels' Newton solver and their sums run in C in another order than
    # numpy's (BLAS-blocked) reductions: the last bits differ, 1e-12 is the bar.
    argv = ["replicate", *BUSINESS, "--method", "bootstrap", "--replicates", "40"]
    for kernels in (True, False):
        kalib(*argv, "--out", tmp_path / f"{kernels}.csv", kernels=kernels)
    np.testing.assert_allclose(
        numbers(tmp_path / "False.csv"), numbers(tmp_path / "True.csv"), rtol=1e-12
    )


@pytest.mark.slow
def test_scheduler_is_the_same_to_the_byte_on_threads_and_processes(tmp_path):
    # The Dask path sums fixed chunks (8, whatever the workers) in a fixed
    # tree: its bytes depend neither on the scheduler nor on thread counts,
    # and it agrees with the in-process path to 1e-12 (its sums run over
    # chunks, the fused kernel's over all rows: other rounding).
    argv = ["replicate", *BUSINESS, "--method", "bootstrap", "--replicates", "40"]
    runs = {}
    for scheduler, threads in [("threads", 1), ("threads", 4), ("processes", 2), (None, 2)]:
        out = tmp_path / f"{scheduler}{threads}.csv"
        extra = ["--scheduler", scheduler] if scheduler else []
        kalib(*argv, *extra, "--out", out, threads=threads)
        runs[scheduler, threads] = out
    dask = [digests(tmp_path, [runs[key].name]).popitem()[1] for key in list(runs)[:3]]
    assert dask[0] == dask[1] == dask[2]
    np.testing.assert_allclose(numbers(runs["threads", 1]), numbers(runs[None, 2]), rtol=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize(
    "model",
    [
        [*BUSINESS, "--formula", "y1 ~ sector + x", "--family", "binomial"]
        + ["--variance", "bootstrap", "--replicates", "40"],
        [*ESTABLISHMENTS, "--formula", "z ~ sector + size + trainee", "--family", "ordinal"]
        + ["--variance", "jkn"],
    ],
    ids=["glm", "ordinal"],
)
def test_scheduler_models_agree_with_in_process(tmp_path, model):
    for name, extra in [("here", []), ("dask", ["--scheduler", "threads"])]:
        kalib("model", *model, *extra, "--out", tmp_path / f"{name}.csv")
    here, dask = (pd.read_csv(tmp_path / f"{name}.csv") for name in ("here", "dask"))
    assert list(dask["term"]) == list(here["term"])
    columns = [c for c in here.select_dtypes("number").columns if c != "p"]
    np.testing.assert_allclose(dask[columns], here[columns], rtol=1e-12)
    # a far-tail p-value magnifies its t's relative difference by about t**2
    rtol = 1e-12 * np.maximum(1.0, here["t"].to_numpy() ** 2)
    assert np.all(np.abs(dask["p"] - here["p"]) <= rtol * here["p"])


@pytest.mark.skipif(_backend.KERNELS is None, reason=str(_backend.REASON))
@pytest.mark.parametrize("method", ["bootstrap", "jkn"])
def test_kernels_in_process_are_the_same_to_the_byte_on_1_2_4_threads(method):
    # The kernels' default team (num_threads=0) is OpenMP's, set here as
    # OMP_NUM_THREADS would: the fused re-calibration, replicate totals and
    # replicate weights, and the chunk kernels of BRR.
    data = pd.read_csv(VARIANCE / "business.csv")
    values = data[["y1", "x"]].to_numpy(float)
    groups = pd.factorize(data["sector"], sort=True)[0]
    runs = []
    for threads in THREADS:
        with threadpool_limits(limits=threads, user_api="openmp"):
            design = Design(data, weights="w", strata="stratum").calibrate(
                business_margins(), tol=1e-12
            )
            design = design.with_replicates(method, replicates=64, seed=5)
            runs.append(
                [design.replicates.g, design.replicate_totals(values, groups, 2)]
                + [design.replicate_weights()]
            )
    for run in runs[1:]:
        for array, first in zip(run, runs[0]):
            assert array.tobytes() == first.tobytes()
