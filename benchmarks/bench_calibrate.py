"""Benchmark: raking n = 1e3, 1e5, 1e6 rows to an 8-cell (sector x size) and a
12-cell (NACE group) margin, tol 1e-10 (``benchmarks.workloads``).

Inputs are integer codes; encoding the same columns from text is timed on its
own (``test_encode_strings``). The raking path is: encode the int codes and
collapse the base weights over the joint cells (one pass each), solve on the
cell table (96 cells), expand the cell g-factors (one pass). Target on the
2-core reference machine: n = 1e6 under 0.1 s. ``test_rake_numpy`` times the
numpy fallback (no compiled kernels) for comparison.

    pytest benchmarks/bench_calibrate.py            # sizes from KALIB_BENCH_SIZES
    KALIB_BENCH_SIZES=1e6 pytest benchmarks/bench_calibrate.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kalib_tasks import margins
from workloads import make_workload, selected_sizes

from weighting import _backend, calibrate
from weighting.columns import encode

SIZES = selected_sizes("1e3,1e5,1e6")
TOL = 1e-10


@pytest.fixture(scope="module", params=list(SIZES), ids=list(SIZES))
def workload(request):
    w = make_workload(SIZES[request.param])
    columns = {"sector": w.sector, "size_class": w.size_class, "nace": w.nace}
    return w, columns, margins(w.margin_tables())


def _check(result, n):
    assert result.converged and result.error <= TOL
    assert result.weights.shape == (n,)


def test_rake(benchmark, workload):
    w, columns, margin_list = workload
    benchmark.group = "rake (int codes)"
    result = benchmark(calibrate, columns, margin_list, base_weights=w.base_weight, tol=TOL)
    _check(result, w.n)
    benchmark.extra_info.update(
        n=w.n,
        iterations=result.iterations,
        cells=result.problem.n_cells,
        kernels=_backend.KERNELS is not None,
    )
    print(
        f"\nrake n={w.n}: median {benchmark.stats.stats.median * 1e3:.2f} ms, "
        f"{result.iterations} Newton steps on {result.problem.n_cells} cells"
    )


def test_rake_numpy(benchmark, workload):
    w, columns, margin_list = workload
    benchmark.group = "rake (int codes, numpy fallback)"
    with _backend.use_kernels(False):
        result = benchmark(calibrate, columns, margin_list, base_weights=w.base_weight, tol=TOL)
    _check(result, w.n)
    print(f"\nrake numpy n={w.n}: median {benchmark.stats.stats.median * 1e3:.2f} ms")


def test_encode_strings(benchmark, workload):
    w, _, _ = workload
    text = w.strings()
    benchmark.group = "encode text columns to codes"

    def encode_all():
        return {name: encode(values, name) for name, values in text.items()}

    codes = benchmark(encode_all)
    assert np.array_equal(codes["nace"][0], w.nace)  # labels sort like their codes here
    print(f"\nencode n={w.n}: median {benchmark.stats.stats.median * 1e3:.2f} ms")
