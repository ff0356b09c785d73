"""Benchmark: the Dask scale-out at register scale (issue 9; plan in SCALE.md).

n = 1e7 rows read from parquet (10 files), raked to sector × size and NACE
margins, B = 200 re-raked bootstrap replicates, 5 domain means by sector and
by size class with replicate SEs, on a ``LocalCluster`` of 2 worker processes
(one thread each, 2 GB memory limit each). Reports the wall time (read +
encode + calibrate, replicates + estimates), each worker's peak resident
memory, the client's, and the per-core throughputs the projection in
``benchmarks/SCALE.md`` is built on (draws/s, row-replicates/s, rows/s
encoded) measured in the same run, with the projected time for this run.

    python benchmarks/bench_scale.py                  # n = 1e7, B = 200
    python benchmarks/bench_scale.py --n 1e6 --B 50   # quicker
    KALIB_SCALE_N=1e6 pytest benchmarks/bench_scale.py

The parquet sample is written once to ``KALIB_SCALE_DATA`` (default
``/tmp/kalib-scale-<n>``) by ``estimators.scale.synthetic``, part by part.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import dask
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from estimators.scale import dask_scheduler, domain_means, synthetic
from estimators.scale.chunks import chunk_kernel, make_chunk
from estimators.scale.inputs import read_parquet_sample

ROWS_PER_FILE = 1_000_000
WORKERS = 2
MEMORY_LIMIT = "2GB"
SPILL = {
    "distributed.worker.memory.target": False,
    "distributed.worker.memory.spill": 0.9,
    "distributed.worker.memory.pause": 0.95,
}


def peak_rss() -> int:
    """Peak resident memory of this process in bytes: its own high-water mark
    (VmHWM, KiB), as ru_maxrss carries the parent's over across fork and exec
    on Linux (a spawned worker would report at least the parent's)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def cpu_seconds() -> float:
    """User + system CPU time of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def data_dir(n: int) -> Path:
    path = Path(os.environ.get("KALIB_SCALE_DATA", f"/tmp/kalib-scale-{n}"))
    if not (path / "part-00000.parquet").exists():
        synthetic.write_parquet(path, n, seed=2017, rows_per_file=min(ROWS_PER_FILE, n))
    return path


def throughput(path: Path, n: int, rows: int = 1_000_000, B: int = 4) -> dict:
    """Per-core rates on one thread: bootstrap draws over the strata of an
    n-row sample (the counts of a replicate span n bytes, so cache misses
    grow with n), accumulation of a chunk of ``rows`` rows (row-replicates),
    and reading + encoding + calibrating one parquet file of the sample (rows)."""
    _chunked = chunk_kernel()  # cext._chunked, through weighting._backend's checks

    first = path / "part-00000.parquet"
    t = time.perf_counter()
    with dask.config.set(scheduler="synchronous"):
        lazy = read_parquet_sample(
            first,
            synthetic.margins(rows),
            strata="stratum",
            values=list(synthetic.OUTCOMES),
            by=["sector", "size_class"],
            tol=1e-10,
        )
    encode = lazy.n / (time.perf_counter() - t)

    n_psu = np.maximum(2, np.round(synthetic.SAMPLE_SHARE * n)).astype(np.int64)
    offset = np.concatenate([[0], np.cumsum(n_psu)[:-1]]).astype(np.int64)
    gens = [np.random.PCG64(c) for c in np.random.SeedSequence(1).spawn(B)]
    t = time.perf_counter()
    _chunked.draw_counts(gens, n_psu, offset, n_psu - 1, int(n_psu.sum()), 1)
    draws = B * int((n_psu - 1).sum()) / (time.perf_counter() - t)

    rng = np.random.default_rng(0)
    part = synthetic.sample_part(rows, 1, 0)
    chunk = make_chunk(
        np.arange(rows),
        np.zeros(rows, np.int64),
        rng.integers(0, 96, rows),
        rng.integers(0, 8, rows),
        8,
        np.ones(rows),
        np.column_stack([part[y] for y in synthetic.OUTCOMES]),
    )
    counts = rng.integers(0, 3, (B, rows), dtype=np.uint8)
    t = time.perf_counter()
    _chunked.accumulate_counts(
        counts, np.zeros(rows), np.ones(rows), chunk.row_psu, chunk.refined, chunk.dv, 96 * 8, 1
    )
    accumulate = B * rows / (time.perf_counter() - t)
    return {"draws_per_s": draws, "row_replicates_per_s": accumulate, "encode_rows_per_s": encode}


def projected_seconds(n, B, cores, rates) -> float:
    """Wall time: reading and encoding n rows, n B draws and n B accumulations,
    spread over the cores (the model of SCALE.md; reductions and
    re-calibration are O(B x cells) and negligible here)."""
    work = (
        n / rates["encode_rows_per_s"]
        + n * B / rates["draws_per_s"]
        + n * B / rates["row_replicates_per_s"]
    )
    return work / cores


# Scale-plan assumptions (SCALE.md): a distributed scheduler dispatches about
# this many tasks per second; the sample is read in partitions of ROWS_PER_FILE.
TASKS_PER_S = 5000
STATS = 6  # weight + 5 values
REFINED = 96 * 8  # NACE x sector x size cells x sector x size groups


def plan_row(n: int, B: int, cores: int, rates: dict) -> dict:
    """Projected wall time, memory and communication of one configuration."""
    from estimators.scale.engine import default_block_size

    b = default_block_size(B, n, REFINED, STATS)
    blocks, chunks = -(-B // b), max(1, n // ROWS_PER_FILE)
    tasks = blocks * (2 * chunks + 1) + 3 * chunks
    work = projected_seconds(n, B, cores, rates)
    # a block's draws are one task: with fewer blocks than cores they bound the time
    critical = b * n / rates["draws_per_s"] + ROWS_PER_FILE * b / rates["row_replicates_per_s"]
    seconds = max(work, critical) + tasks / TASKS_PER_S
    memory = (
        8 * (4 + STATS - 1) * n / cores
        + 2 * b * n
        + 200 * ROWS_PER_FILE
        + 3 * 8 * b * REFINED * STATS
        + 0.3e9
    )
    return {
        "n": n,
        "B": B,
        "cores": cores,
        "block": b,
        "tasks": tasks,
        "seconds": seconds,
        "worker_bytes": memory,
        "counts_bytes": B * n,
        "statistics_bytes": chunks * B * REFINED * STATS * 8,
    }


def plan_table(rates: dict) -> str:
    lines = [
        "| n | cores | block b | tasks | wall time | memory/worker | counts shipped "
        "| statistics reduced |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n in (10**7, 10**8):
        for cores in (8, 64, 512):
            r = plan_row(n, 1000, cores, rates)
            lines.append(
                f"| {n:.0e} | {cores} | {r['block']} | {r['tasks']} | "
                f"{r['seconds']:.0f} s | {r['worker_bytes'] / 1e9:.2f} GB | "
                f"{r['counts_bytes'] / 1e9:.0f} GB | "
                f"{r['statistics_bytes'] / 1e9:.2f} GB |"
            )
    return "\n".join(lines)


def run(n: int, B: int, seed: int = 20170602) -> dict:
    path = data_dir(n)
    margins = synthetic.margins(n)
    rates = throughput(path, n, rows=min(n, ROWS_PER_FILE))
    figures = {
        "n": n,
        "B": B,
        "workers": WORKERS,
        "memory_limit": MEMORY_LIMIT,
        **rates,
        "projected_s": projected_seconds(n, B, WORKERS, rates),
    }
    # The encoded chunks are read by every block: spill only near the limit.
    with (
        dask.config.set(SPILL),
        dask_scheduler("processes", n_workers=WORKERS, memory_limit=MEMORY_LIMIT) as client,
    ):
        cpu0 = sum(client.run(cpu_seconds).values())  # workers are up before timing
        load0 = os.getloadavg()[0]
        t0 = time.perf_counter()
        lazy = read_parquet_sample(
            path,
            margins,
            values=list(synthetic.OUTCOMES),
            by=["sector", "size_class"],
            strata="stratum",
            tol=1e-10,
        )
        t1 = time.perf_counter()
        ds = lazy.replicates("bootstrap", replicates=B, seed=seed)
        groups = list(ds.group.values)
        domains = {"all": groups}
        for label in synthetic.SECTORS + synthetic.SIZES:
            domains[label] = [g for g in groups if label in g.split("|")]
        # one compute: the means and the convergence record share every task
        means, status = dask.compute(domain_means(ds, domains), ds.status)
        t2 = time.perf_counter()
        figures["peak_worker_bytes"] = max(client.run(peak_rss).values())
        figures["worker_cpu_s"] = sum(client.run(cpu_seconds).values()) - cpu0
        figures["load_average"] = (load0 + os.getloadavg()[0]) / 2
    figures.update(
        read_encode_calibrate_s=t1 - t0,
        replicates_estimates_s=t2 - t1,
        total_s=t2 - t0,
        peak_client_bytes=peak_rss(),
        converged=int((status.values == 0).sum()),
        block_size=ds.attrs["block_size"],
        chunks=ds.attrs["chunks"],
        means=means,
    )
    return figures


def report(f: dict) -> str:
    gb = 1e9
    lines = [
        f"n = {f['n']:.0e}, B = {f['B']}, {f['chunks']} chunks, blocks of {f['block_size']} "
        f"replicates, LocalCluster {f['workers']} workers x 1 thread ({f['memory_limit']})",
        f"read + encode + calibrate: {f['read_encode_calibrate_s']:.1f} s; replicates + "
        f"5 domain means: {f['replicates_estimates_s']:.1f} s; total {f['total_s']:.1f} s",
        f"projected {f['projected_s']:.1f} s (ratio {f['total_s'] / f['projected_s']:.2f}); "
        f"worker CPU {f['worker_cpu_s']:.1f} s = {f['worker_cpu_s'] / f['workers']:.1f} s "
        f"per core (ratio {f['worker_cpu_s'] / f['workers'] / f['projected_s']:.2f}); "
        f"load average {f['load_average']:.1f} on {os.cpu_count()} cores",
        f"peak memory per worker {f['peak_worker_bytes'] / gb:.2f} GB, client "
        f"{f['peak_client_bytes'] / gb:.2f} GB; {f['converged']}/{f['B']} replicates converged",
        f"per core: {f['draws_per_s'] / 1e6:.0f} M draws/s, "
        f"{f['row_replicates_per_s'] / 1e6:.0f} M row-replicates/s accumulated, "
        f"{f['encode_rows_per_s'] / 1e6:.2f} M rows/s read+encoded",
    ]
    means = f["means"]
    lines.append("domain means (y1..y5) and SEs:")
    for domain in means.domain.values:
        m = means.sel(domain=domain)
        lines.append(
            f"  {domain:8s} "
            + " ".join(f"{a:.4f}({s:.4f})" for a, s in zip(m["mean"].values, m["se"].values))
        )
    return "\n".join(lines)


def test_scale(benchmark):
    n = int(float(os.environ.get("KALIB_SCALE_N", "1e6")))
    B = int(os.environ.get("KALIB_SCALE_B", "200"))
    figures = benchmark.pedantic(run, args=(n, B), rounds=1, iterations=1)
    print("\n" + report(figures))
    assert figures["converged"] == B
    assert figures["peak_worker_bytes"] < 2e9
    benchmark.extra_info.update({k: v for k, v in figures.items() if k != "means"})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=float, default=1e7)
    parser.add_argument("--B", type=int, default=200)
    parser.add_argument(
        "--plan",
        action="store_true",
        help="only measure the per-core rates and print the scale plan",
    )
    args = parser.parse_args(argv)
    if args.plan:
        rates = throughput(data_dir(10**7), 10**7)
        print(", ".join(f"{k} {v / 1e6:.2f} M" for k, v in rates.items()))
        print(plan_table(rates))
        return 0
    figures = run(int(args.n), args.B)
    print(report(figures))
    print(plan_table(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
