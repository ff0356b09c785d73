"""Soak (issue 17, item 9): 200 random designs, each calibrated, replicated and
estimated on the compiled kernels and on the numpy reference path
(``weighting._backend.use_kernels``), in one process.

Every design (hypothesis, derandomized so the 200 cases are the same on
every run): 1-4 strata of 2-6 PSUs (two for BRR, one stratum of 3-6 for
JK1) of 12 or 24 units, base weights in [1, 5], 1-3 categorical margins of
2-4 categories each equally present in every PSU (so that no replicate
loses a category or needs g-factors beyond the bounds),
targets the base-weighted sample totals moved by up to 5 % (all margins on
the first one's grand total), distance linear, raking (with or without
bounds) or logit, bounds wide enough to be feasible in the replicates
((0.2, 5)), replicates bootstrap / JKn / JK1 / BRR. Checked each time:

* the calibrated weights, the replicate weights and the means and totals by
  domain are the same on both paths to 1e-12 relative (the project's bar
  for the kernels against numpy), and so are the SEs, relative to the larger
  of SE and estimate (an SE is a difference of replicate estimates: it
  inherits their rounding, relative to the estimate: one case's SE of
  0.0012 differed by 1.5e-12 of itself, 1.8e-15 absolute); a replicate that
  cannot be re-calibrated (kept with ``accept_failures``) is flagged on
  both paths alike, and its design's estimates are not compared (at least
  90 % of the cases have no such replicate);
* the calibrated weights meet every margin, and every converged replicate's
  weights too, to the criterion ``|achieved - target| / (1 + |target|) <= tol``;
* memory does not grow from case to case, measured two ways between the
  mean of cases 41-60 (after imports, caches and hypothesis's warm-up) and
  the mean of the last 20: the resident set size (``/proc/self/statm``) by
  at most ``RSS_ALLOWANCE`` (8 MiB; measured 1.3 MiB), and the bytes malloc
  has handed out and not had back (glibc's ``mallinfo2``: numpy's arrays
  and the kernels' scratch, without the allocator's own slack) by at most
  ``MALLOC_ALLOWANCE`` (1 MiB; measured 0.11 MiB, hypothesis's own record
  of the cases). A leak of 8 kB or more per case (a kernel's per-thread
  scratch, a replicate weight matrix) exceeds the second.

Run time on the project's 2-core machine: 5 s quiet, 35 s under a load of 6.
"""

import ctypes
import ctypes.util
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from estimators.inference.estimate import svymean, svytotal
from weighting import _backend
from weighting.design import Design
from weighting.margins import Margin

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(_backend.KERNELS is None, reason=str(_backend.REASON)),
    pytest.mark.skipif(sys.platform != "linux", reason="RSS from /proc/self/statm"),
]

CASES = 200
TOL = 1e-10
RTOL = 1e-12
RSS_ALLOWANCE = 8 * 2**20  # bytes of growth between the warm-up and the end
MALLOC_ALLOWANCE = 2**20
BOUNDS = (0.2, 5.0)


@st.composite
def designs(draw):
    method = draw(st.sampled_from(["bootstrap", "jkn", "jk1", "brr"]))
    n_strata = 1 if method == "jk1" else draw(st.integers(1, 4))
    fewest = 3 if method == "jk1" else 2
    psus = [2 if method == "brr" else draw(st.integers(fewest, 6)) for _ in range(n_strata)]
    levels = draw(st.lists(st.integers(2, 4), min_size=1, max_size=3))
    distance = draw(st.sampled_from(["linear", "raking", "bounded raking", "logit"]))
    seed = draw(st.integers(0, 2**32 - 1))
    return method, psus, levels, distance, seed


def sample(psus, levels, rng):
    """Rows of every PSU, each margin's categories all present in every PSU."""
    rows = []
    psu = 0
    for h, n_psu in enumerate(psus):
        for _ in range(n_psu):
            size = 12 * int(rng.integers(1, 3))  # 12: every category count divides it
            row = {"stratum": np.full(size, h), "psu": np.full(size, psu)}
            for j, k in enumerate(levels):
                row[f"x{j}"] = rng.permutation(np.arange(size) % k).astype(str)
            rows.append(pd.DataFrame(row))
            psu += 1
    data = pd.concat(rows, ignore_index=True)
    n = len(data)
    data["w"] = rng.uniform(1, 5, n)
    data["y1"] = rng.normal(10, 3, n)
    data["y2"] = (rng.random(n) < 0.3).astype(float)
    return data


def margins(data, levels, rng):
    grand = data["w"].sum()
    out = []
    for j in range(len(levels)):
        totals = data.groupby(f"x{j}")["w"].sum() * rng.uniform(0.95, 1.05, levels[j])
        totals *= grand * rng.uniform(0.97, 1.03) / totals.sum() if j == 0 else 1.0
        out.append(totals)
    first = out[0].sum()
    return [Margin(f"x{j}", dict(t * first / t.sum())) for j, t in enumerate(out)]


def settings_of(distance):
    if distance == "bounded raking":
        return {"distance": "raking", "bounds": BOUNDS}
    if distance == "logit":
        return {"distance": "logit", "bounds": BOUNDS}
    return {"distance": distance}


def run(case, data, margin_list):
    """Weights, replicate weights, which replicates converged, and the
    estimates (None if a replicate failed) on the current path."""
    method, _, levels, distance, seed = case
    design = Design(data, weights="w", strata="stratum", psu="psu")
    design = design.calibrate(margin_list, tol=TOL, **settings_of(distance))
    # a replicate can be infeasible (one BRR half-sample's PSU whose
    # categories happen to be collinear): kept, flagged, and then both paths
    # must flag the same replicates
    design = design.with_replicates(method, replicates=20, seed=seed, accept_failures=True)
    converged = design.convergence.converged
    estimates = None
    if converged.all():
        frames = [svymean(design, ["y1", "y2"], by=["x0"]).frame, svytotal(design, "y1").frame]
        estimates = np.concatenate([f[["estimate", "se"]].to_numpy(float) for f in frames])
    return design.weights, design.replicate_weights()[:, converged], converged, estimates


def meets_margins(weights, data, margin_list):
    """Largest margin criterion of each weight column (n, m) -> (m,)."""
    worst = np.zeros(weights.shape[1])
    for margin in margin_list:
        (variable,) = margin.variables
        for (category,), target in margin.table.items():
            achieved = weights[(data[variable] == category).to_numpy()].sum(axis=0)
            worst = np.maximum(worst, np.abs(achieved - target) / (1 + abs(target)))
    return worst


def resident():
    """Resident set size in bytes (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


class _Mallinfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks")
        + ("uordblks", "fordblks", "keepcost")
    ]


def malloc_in_use():
    """Bytes malloc has handed out and not had back (heap and mmapped
    blocks), or None where glibc has no ``mallinfo2`` (before 2.33, musl)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    if not hasattr(libc, "mallinfo2"):
        return None
    libc.mallinfo2.restype = _Mallinfo2
    info = libc.mallinfo2()
    return info.uordblks + info.hblkhd


def test_two_hundred_random_designs_on_both_paths():
    rss, heap, complete = [], [], []

    @settings(
        max_examples=CASES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(designs())
    def one(case):
        _, psus, levels, _, seed = case
        rng = np.random.default_rng(seed)
        data = sample(psus, levels, rng)
        margin_list = margins(data, levels, rng)
        out = {}
        for kernels in (True, False):
            with _backend.use_kernels(kernels):
                out[kernels] = run(case, data, margin_list)
        weights, replicates, converged, estimates = out[True]
        np.testing.assert_array_equal(converged, out[False][2])
        for fast, reference in zip(out[True][:3], out[False][:3]):
            np.testing.assert_allclose(fast, reference, rtol=RTOL, atol=0)
        if estimates is not None:
            (estimate, se), (estimate_np, se_np) = estimates.T, out[False][3].T
            np.testing.assert_allclose(estimate, estimate_np, rtol=RTOL, atol=0)
            # an SE is a spread of replicate estimates: it inherits their
            # rounding, which is relative to the estimate, not to the SE
            scale = np.maximum(np.abs(se_np), np.abs(estimate_np))
            assert np.all(np.abs(se - se_np) <= RTOL * scale)
        assert (
            meets_margins(np.column_stack([weights, replicates]), data, margin_list).max() <= TOL
        )
        complete.append(estimates is not None)
        rss.append(resident())
        heap.append(malloc_in_use())

    one()
    assert len(rss) == CASES
    assert sum(complete) >= 0.9 * CASES  # most cases check their estimates too
    growth = np.mean(rss[-20:]) - np.mean(rss[40:60])
    assert growth <= RSS_ALLOWANCE, f"RSS grew by {growth / 2**20:.1f} MiB over {CASES} designs"
    if heap[0] is not None:
        growth = np.mean(heap[-20:]) - np.mean(heap[40:60])
        assert growth <= MALLOC_ALLOWANCE, f"malloc'd bytes grew by {growth / 2**20:.2f} MiB"
