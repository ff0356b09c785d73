"""kalib beside the tools an analyst would otherwise use, in one run (``make bench-peers``).

Tasks (the workloads of ``workloads.py``, inputs as integer codes):

* ``rake``: raking to the sector x size (8 cells) and NACE (12 cells)
  margins to tol 1e-10;
* ``bootstrap``: B = 500 Rao-Wu-Yue bootstrap replicates within the 8 strata,
  each re-raked to the same margins, then the means of 5 binary outcomes
  overall, by sector and by size class with replicate standard errors;
* ``linearization``: raking, then the means of the 5 outcomes in 115 domains
  (overall, sector, size class, NACE group, sector x size x NACE) with
  linearization standard errors through the raking (R: ``svyby(...,
  svymean)`` on the ``calibrate``d design);

at n = 1e3, 1e5 and 1e6, through kalib, R ``survey``, ``svy``, ``samplics``,
``balance`` and ``weightipy``. Every tool/task/n runs in a fresh process (its
own virtualenv under ``benchmarks/.peers/``, created here when missing); the
task's wall time is the median over up to 5 repeats within 1 s (loading the
data is not timed), the peak memory is the process's maximum resident set
(data and interpreter included). A run that passes the cap is stopped and
shown as "> cap"; larger n of the same tool and task is then not tried.

The same run also times the *whole process* of the bootstrap and
linearization tasks (``PROCESS_TASKS``), what a user waits for: start-up,
reading the CSV, the task, writing the estimates (kalib: the ``kalib
estimate`` command line; the peers: their runner with ``--once``); the
median of up to 5 processes within ``PROCESS_BUDGET`` seconds.

Writes ``benchmarks/results/peers-<date>-<commit>.json``, the scaling figure
``benchmarks/scaling.png`` and the table in ``benchmarks/README.md``.

``--update`` re-measures only the tasks, sizes and tools asked for and merges
them into the latest saved run (:func:`merge_runs`): the saved record and the
table are the whole comparison, the rows measured now replacing the earlier
ones, and the README names the rows re-measured and the run the others come
from (e.g. the issue-14 rows after a change to start-up, without the hours
R takes at n = 1e6).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUNNERS = HERE / "peer_runners"
PEERS_DIR = HERE / ".peers"
RESULTS = HERE / "results"
README = HERE / "README.md"
FIGURE = HERE / "scaling.png"
TASKS = ("rake", "bootstrap", "linearization")
# Tasks also timed as a whole process; their results are under "<task>_process".
PROCESS_TASKS = ("bootstrap", "linearization")
PROCESS_BUDGET = 3.0  # seconds of whole-process repeats (up to 5)
LOAD_ALLOWANCE = 300.0  # seconds to start a runner and load the data
START = '{"event": "start"}'  # printed by every runner once the data are loaded
TASK_TITLES = {
    "rake": "Raking, 8 + 12 cells, tol 1e-10",
    "bootstrap": "B = 500 re-raked bootstrap + 5 means x (total, sector, size)",
    "linearization": "Raking + linearized means, 5 outcomes x 115 domains "
    "(total, sector, size, NACE, sector x size x NACE)",
    "bootstrap_process": "Whole process (start, read CSV, task, write): "
    "B = 500 re-raked bootstrap + 5 means x "
    "(total, sector, size)",
    "linearization_process": "Whole process (start, read CSV, task, write): "
    "raking + linearized means, 5 x 115 domains",
}
# kalib's command line for the whole-process tasks (the workload's files)
KALIB_ESTIMATE = {
    "bootstrap": ["--variance", "bootstrap", "--by", "sector", "--by", "size_class"],
    "linearization": [
        "--variance",
        "linearization",
        "--by",
        "sector",
        "--by",
        "size_class",
        "--by",
        "nace",
        "--by",
        "sector*size_class*nace",
    ],
}

sys.path.insert(0, str(HERE))
from regression import git_commit, machine_summary  # noqa: E402
from workloads import SIZES, make_workload  # noqa: E402


@dataclass
class Tool:
    """A tool: how to run its runner, and (Python peers) what to install."""

    name: str
    runner: str
    packages: list[str] = field(default_factory=list)  # empty: no own virtualenv
    args: list[str] = field(default_factory=list)
    tasks: tuple[str, ...] = ("rake", "bootstrap")
    process_tasks: tuple[str, ...] = ()  # timed as a whole process too

    @property
    def venv(self) -> Path:
        return PEERS_DIR / self.name

    def command(self) -> list[str]:
        if self.runner.endswith(".R"):
            return ["Rscript", str(RUNNERS / self.runner)]
        python = sys.executable if not self.packages else str(self.venv / "bin" / "python")
        return [python, str(RUNNERS / self.runner), *self.args]

    def process_command(
        self, task: str, data_dir: Path, out: Path, replicates: int, seed: int
    ) -> list[str]:
        """The whole-process run of ``task``: kalib's command line, or the
        peer's runner run once."""
        if self.name == "kalib":
            return kalib_estimate_argv(task, data_dir, out, replicates, seed)
        once = ["--once", "true"] if self.runner.endswith(".R") else ["--once"]
        return self.command() + [
            "--task",
            task,
            "--data",
            str(data_dir),
            "--replicates",
            str(replicates),
            "--seed",
            str(seed),
            *once,
        ]


def kalib_command() -> list[str]:
    """The ``kalib`` script beside this interpreter (as a user runs it)."""
    script = Path(sys.executable).with_name("kalib")
    return [str(script)] if script.exists() else [sys.executable, "-m", "estimators.cli"]


def kalib_estimate_argv(
    task: str, data_dir: Path, out: Path, replicates: int = 500, seed: int | None = None
) -> list[str]:
    """kalib's whole-process ``task`` (``PROCESS_TASKS``) on the workload's
    files in ``data_dir``: the ``kalib estimate`` command this comparison and
    ``bench_startup.py`` time (without ``seed``, kalib's default seed;
    ``replicates`` given to both tasks, as the peers' runners get it)."""
    seeded = [] if seed is None else ["--seed", str(seed)]
    return [
        *kalib_command(),
        "estimate",
        str(data_dir / "data.csv"),
        "--strata",
        "stratum",
        "--weight",
        "weight",
        "--margins",
        str(data_dir / "margin_stratum.csv"),
        "--margins",
        str(data_dir / "margin_nace.csv"),
        "--mean",
        ",".join(f"y{j}" for j in range(1, 6)),
        *KALIB_ESTIMATE[task],
        "--replicates",
        str(replicates),
        *seeded,
        "--out",
        str(out),
        "--force",
        "--quiet",
    ]


# Peer versions are pinned so that nightly numbers stay comparable; raise a pin
# deliberately (and note it in the README) to measure a newer release.
# "kalib" is the analyst's API (estimators.inference.estimate for the domain means);
# "kalib engine" takes the means straight from the design's fused replicate
# totals, to show what the estimation layer costs on top of the engine.
TOOLS = [
    Tool("kalib", "run_kalib.py", tasks=TASKS, process_tasks=PROCESS_TASKS),
    Tool("kalib engine", "run_kalib.py", args=["--engine"], tasks=("bootstrap",)),
    Tool("R survey", "run_survey.R", tasks=TASKS, process_tasks=PROCESS_TASKS),
    Tool("svy", "run_svy.py", ["svy==0.35.0"], process_tasks=("bootstrap",)),
    Tool("samplics", "run_samplics.py", ["samplics==0.6.1"]),
    Tool("balance", "run_balance.py", ["balance==0.23.0"]),
    Tool("weightipy", "run_weightipy.py", ["weightipy==0.4.2"]),
]
PEER_BASE_PACKAGES = ["numpy", "pandas"]


def ensure_tool(tool: Tool, log) -> str | None:
    """Make the tool runnable; return None, or why it cannot run here."""
    if tool.runner.endswith(".R"):
        if shutil.which("Rscript") is None:
            return "Rscript not found (apt-get install r-cran-survey)"
        probe = subprocess.run(["Rscript", "-e", "library(survey)"], capture_output=True)
        return (
            None
            if probe.returncode == 0
            else "R package survey missing (apt-get install r-cran-survey)"
        )
    if not tool.packages:
        return None
    python = tool.venv / "bin" / "python"
    marker = tool.venv / ".installed"
    wanted = " ".join(tool.packages + PEER_BASE_PACKAGES)
    if marker.exists() and marker.read_text() == wanted:
        return None
    log(f"installing {wanted} into {tool.venv} ...")
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(tool.venv)],
        [str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"],
        [str(python), "-m", "pip", "install", "--quiet", *tool.packages, *PEER_BASE_PACKAGES],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            return f"install failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}"
    marker.write_text(wanted)
    return None


def tool_version(tool: Tool) -> str:
    if tool.name.startswith("kalib"):
        return git_commit()
    if tool.runner.endswith(".R"):
        out = subprocess.run(
            [
                "Rscript",
                "-e",
                'cat(R.version$major, R.version$minor, as.character(packageVersion("survey")))',
            ],
            capture_output=True,
            text=True,
        ).stdout.split()
        return f"R {out[0]}.{out[1]}, survey {out[2]}" if len(out) == 3 else "?"
    return tool.packages[0].split("==")[1]


def run_one(
    tool: Tool, task: str, data_dir: Path, cap: float, replicates: int, seed: int, tol: float
) -> dict:
    """Run one tool on one task in a fresh process; the runner's JSON plus
    ``peak_mb``, or ``capped`` / ``error``."""
    cmd = tool.command() + [
        "--task",
        task,
        "--data",
        str(data_dir),
        "--replicates",
        str(replicates),
        "--seed",
        str(seed),
        "--tol",
        repr(tol),
    ]
    run = _spawn(cmd, cap, LOAD_ALLOWANCE)
    if run["capped"]:
        return {"capped": True, "peak_mb": run["peak_mb"]}
    result = next(
        (
            json.loads(line)
            for line in reversed(run["stdout"])
            if line.startswith("{") and line.strip() != START
        ),
        None,
    )
    if run["returncode"] != 0 or result is None:
        return {"error": run["error"], "peak_mb": run["peak_mb"]}
    if result.get("seconds", 0.0) > cap:  # finished, but past the cap
        result["capped"] = True
    result["peak_mb"] = result.get("peak_mb") or run["peak_mb"]
    return result


def run_process(
    tool: Tool, task: str, data_dir: Path, cap: float, replicates: int, seed: int
) -> dict:
    """Time ``task`` as a whole process (``Tool.process_command``): the median
    wall time of up to 5 processes within ``PROCESS_BUDGET`` seconds, the
    largest peak memory, and the y1 check (from the runner's JSON line, or
    kalib's estimates file)."""
    out = PEERS_DIR / "out" / f"{tool.name.replace(' ', '_')}-{task}.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = tool.process_command(task, data_dir, out, replicates, seed)
    times, peaks = [], []
    while len(times) < 5 and sum(times) < PROCESS_BUDGET:
        run = _spawn(cmd, cap, None)
        peaks.append(run["peak_mb"] or 0.0)
        if run["capped"]:
            return {"capped": True, "peak_mb": max(peaks)}
        if run["returncode"] != 0:
            return {"error": run["error"], "peak_mb": max(peaks)}
        times.append(run["seconds"])
    result = {"seconds": statistics.median(times), "repeats": len(times), "peak_mb": max(peaks)}
    if tool.name == "kalib":
        import pandas as pd

        frame = pd.read_csv(out)
        y1 = frame[(frame["variable"] == "y1") & (frame["domain_var"] == "all")].iloc[0]
        result["check"] = {"mean_y1": float(y1["estimate"]), "se_y1": float(y1["se"])}
    else:
        line = next(
            (
                line
                for line in reversed(run["stdout"])
                if line.startswith("{") and line.strip() != START
            ),
            "{}",
        )
        result["check"] = json.loads(line).get("check", {})
    return result


def user_env() -> dict[str, str]:
    """This process's environment, but that Python writes the bytecode it
    compiles (``PYTHONDONTWRITEBYTECODE`` unset). With it set and modules
    edited since their ``__pycache__`` was written, every timed kalib process
    would compile them again (0.1-0.2 s of ``kalib estimate``), which no
    installed kalib does; the first of the repeated runs writes them once."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _spawn(cmd: list[str], cap: float, allowance: float | None) -> dict:
    """Run ``cmd`` in a fresh process group. The cap counts from the
    runner's START line, with ``allowance`` seconds to reach it (loading the
    data is not timed), or from the start when ``allowance`` is None (a
    whole-process run). Returns its wall time, stdout lines, return code,
    last stderr line, whether it was stopped at the cap, and its peak
    memory (VmHWM, sampled from outside: a stopped run cannot report it)."""
    env = dict(user_env(), PYTHONPATH=str(RUNNERS), OMP_NUM_THREADS="2")
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=RUNNERS,
        start_new_session=True,
    )
    capped = threading.Event()

    def stop():
        capped.set()
        try:
            os.killpg(proc.pid, 9)
        except ProcessLookupError:  # it ended just now
            pass

    timers = [threading.Timer(cap + (allowance or 0.0), stop)]
    stdout_lines: list[str] = []
    stderr_chunks: list[str] = []

    def read_stdout():
        for line in proc.stdout:
            if allowance is not None and line.strip() == START and not capped.is_set():
                timers[0].cancel()
                timers[0] = threading.Timer(cap, stop)
                timers[0].start()
            stdout_lines.append(line)

    timers[0].start()
    readers = [
        threading.Thread(target=read_stdout),
        threading.Thread(target=lambda: stderr_chunks.append(proc.stderr.read())),
    ]
    for reader in readers:
        reader.start()
    polled = [0.0]

    def poll_memory():
        while proc.poll() is None:
            polled[0] = max(polled[0], _vmhwm_mb(proc.pid))
            time.sleep(0.25)

    readers.append(threading.Thread(target=poll_memory))
    readers[-1].start()
    try:
        proc.wait()
    except BaseException:  # interrupted: do not leave the runner behind
        timers[0].cancel()
        stop()
        raise
    seconds = time.perf_counter() - started
    for reader in readers:
        reader.join()
    timers[0].cancel()
    tail = "".join(stderr_chunks).strip().splitlines() or [f"exit code {proc.returncode}"]
    return {
        "seconds": seconds,
        "stdout": stdout_lines,
        "returncode": proc.returncode,
        "error": tail[-1][:200],
        "capped": capped.is_set(),
        "peak_mb": polled[0] or None,
    }


def _vmhwm_mb(pid: int) -> float:
    """Peak resident memory of a running process (VmHWM), 0 when unreadable."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def cell_text(result: dict | None, cap: float) -> str:
    if result is None:
        return "not run"
    if "unsupported" in result:
        return "cannot"
    if "error" in result:
        return "error"
    if result.get("capped"):
        return f"> {cap:g} s"
    return format_seconds(result["seconds"])


def format_seconds(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"


def speedup_text(result: dict | None, kalib: dict | None, cap: float) -> str:
    if not result or not kalib or "seconds" not in kalib or kalib.get("capped"):
        return ""
    if result.get("capped"):
        return f"> {cap / kalib['seconds']:.0f}x"
    if "seconds" not in result:
        return ""
    return f"{result['seconds'] / kalib['seconds']:.3g}x"


def kalib_variants(rows: dict) -> list[str]:
    """The kalib tools measured in a task's rows (speed-ups are against each)."""
    present = {tool for row in rows.values() for tool in row}
    return [t.name for t in TOOLS if t.name.startswith("kalib") and t.name in present]


def task_keys(results: dict) -> list[str]:
    """The tasks of a run's results in table order: in-process, then whole-process."""
    order = list(TASKS) + [f"{task}_process" for task in PROCESS_TASKS]
    return [key for key in order if key in results]


def markdown_table(results: dict, tools: list[str], sizes: list[str], cap: float) -> str:
    """One table per task: rows n x tool; time, peak memory, kalib's speed-up."""
    parts = []
    for task in task_keys(results):
        variants = kalib_variants(results[task])
        heads = [f"{v}'s speed-up" for v in variants]
        parts.append(f"**{TASK_TITLES[task]}**\n")
        parts.append("| n | tool | time | peak memory | " + " | ".join(heads) + " | check |")
        parts.append("|---|---|---:|---:|" + "---:|" * len(heads) + "---|")
        for size in sizes:
            row = results[task].get(size, {})
            for tool in tools:
                result = row.get(tool)
                if result is None:
                    continue
                memory = (
                    f"{result['peak_mb']:.0f} MB"
                    if result.get("peak_mb") and "unsupported" not in result
                    else ""
                )
                if memory and result.get("capped"):
                    memory = "≥ " + memory  # sampled until it was stopped
                speedups = [
                    "" if tool.startswith("kalib") else speedup_text(result, row.get(v), cap)
                    for v in variants
                ]
                parts.append(
                    f"| {size} | {tool} | {cell_text(result, cap)} | {memory} | "
                    + " | ".join(speedups)
                    + f" | {check_text(result)} |"
                )
        parts.append("")
    return "\n".join(parts)


def check_text(result: dict) -> str:
    if "unsupported" in result:
        return result["unsupported"]
    if "error" in result:
        return "error: " + result["error"]
    check = result.get("check", {})
    if "se_y1" in check:
        return f"y1: {check['mean_y1']:.6f} (SE {check['se_y1']:.5f})"
    if "margin_error" in check:
        return f"margin error {check['margin_error']:.1e}"
    return ""


def targets_text(results: dict, cap: float) -> str:
    """The issue's speed targets, met or not, from this run (per kalib variant)."""

    def seconds(task, size, tool):
        r = results.get(task, {}).get(size, {}).get(tool)
        if not r or ("seconds" not in r and not r.get("capped")):
            return None
        return float("inf") if r.get("capped") else r["seconds"]

    lines = []
    for task, peer, factor in (
        ("rake", "R survey", 100),
        ("rake", "svy", 10),
        ("bootstrap", "R survey", 300),
        ("bootstrap", "svy", 20),
        ("bootstrap_process", "svy", 20),
    ):
        for variant in kalib_variants(results.get(task, {})):
            k, p = seconds(task, "1e5", variant), seconds(task, "1e5", peer)
            what = f"- {task} at n = 1e5, {variant} >= {factor}x {peer}"
            if k is None or p is None or k == float("inf"):
                lines.append(f"{what}: not measured")
                continue
            if p == float("inf"):  # only a lower bound: the peer was stopped at the cap
                bound = cap / k
                verdict = "met" if bound >= factor else "undecided (raise --cap)"
                lines.append(f"{what}: > {bound:.0f}x (peer capped) — {verdict}")
                continue
            ratio = p / k
            lines.append(f"{what}: {ratio:.3g}x — {'met' if ratio >= factor else 'NOT met'}")
    # (task, n, seconds, peak MB or None): issues 2 and 4, then issue 14
    for task, size, limit, memory in (
        ("rake", "1e6", 0.1, 1024),
        ("bootstrap", "1e6", 10.0, 1024),
        ("bootstrap_process", "1e5", 0.7, None),
        ("linearization", "1e5", 0.3, None),
        ("linearization_process", "1e5", 1.0, None),
        ("linearization", "1e6", 3.0, 1024),
    ):
        for variant in kalib_variants(results.get(task, {})):
            r = results.get(task, {}).get(size, {}).get(variant)
            what = f"- {task} at n = {size}, {variant} under {limit:g} s" + (
                " and 1 GB" if memory else ""
            )
            if not r or "seconds" not in r:
                lines.append(f"{what}: not measured")
                continue
            ok = r["seconds"] < limit and (memory is None or r["peak_mb"] < memory)
            found = format_seconds(r["seconds"]) + (f", {r['peak_mb']:.0f} MB" if memory else "")
            lines.append(f"{what}: {found} — {'met' if ok else 'NOT met'}")
    return "\n".join(lines)


def plot_scaling(results: dict, sizes: list[str], path: Path, cap: float) -> None:
    """Time vs n (log-log): one panel per peer task (a line per tool, capped
    runs drawn at the cap with an open marker), and one with kalib's kernel
    suites from the latest ``make bench`` run (a line per kernel)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from regression import kernel_scaling

    kernels = kernel_scaling(RESULTS)
    panels = task_keys(results) + (["kernels"] if kernels else [])
    columns = min(3, len(panels))  # rows of three panels
    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(
        rows,
        columns,
        figsize=(5.6 * columns + (2.6 if kernels else 0.0), 4.4 * rows),
        squeeze=False,
    )
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    for ax, panel in zip(axes.flat, panels):
        if panel == "kernels":
            colours = plt.get_cmap("tab20").colors
            for i, (name, points) in enumerate(sorted(kernels.items())):
                ns = sorted(points)
                ax.plot(
                    ns,
                    [points[n] for n in ns],
                    marker=".",
                    label=name,
                    color=colours[i % len(colours)],
                    linestyle=("-", "--")[i // 20 % 2],
                )
            ax.set_title("kalib kernels (make bench medians)", fontsize=10)
        else:
            tools = {tool for row in results[panel].values() for tool in row}
            for tool in [t.name for t in TOOLS if t.name in tools]:
                xs, ys, cx, cy = [], [], [], []
                for size in sizes:
                    r = results[panel].get(size, {}).get(tool)
                    if not r or "unsupported" in r or "error" in r:
                        continue
                    if r.get("capped"):
                        cx.append(SIZES[size])
                        cy.append(cap)
                    else:
                        xs.append(SIZES[size])
                        ys.append(r["seconds"])
                if not xs and not cx:
                    continue
                color = f"C{[t.name for t in TOOLS].index(tool)}"  # same colour in every panel
                ax.plot(
                    xs,
                    ys,
                    marker="o",
                    label=tool,
                    color=color,
                    linewidth=2.5 if tool.startswith("kalib") else 1.2,
                )
                if cx:
                    ax.plot(
                        cx,
                        cy,
                        marker="^",
                        linestyle="none",
                        markerfacecolor="none",
                        color=color,
                        markersize=9,
                    )
            ax.axhline(cap, color="grey", linestyle=":", linewidth=0.8)
            ax.set_title(textwrap.fill(TASK_TITLES[panel], 60), fontsize=9)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("n (rows)")
        ax.set_ylabel("seconds")
        ax.grid(True, which="both", alpha=0.3)
        if panel == "kernels":  # many lines: the legend goes beside the panel
            ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        else:
            ax.legend(fontsize=8)
    fig.suptitle("Time vs n (open triangles: stopped at the cap)", fontsize=10)
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)


BEGIN, END = "<!-- peers-table:begin -->", "<!-- peers-table:end -->"


def update_readme(section: str) -> None:
    """Replace the generated section of benchmarks/README.md (between markers)."""
    text = README.read_text() if README.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text:
        text += f"\n{BEGIN}\n{END}\n"
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    text = pattern.sub(lambda _: f"{BEGIN}\n{section}\n{END}", text)
    tmp = README.with_suffix(".md.tmp")
    tmp.write_text(text)
    tmp.replace(README)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default="1e3,1e5,1e6",
        help="comma-separated workload sizes (default: %(default)s)",
    )
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument(
        "--tools",
        default=",".join(t.name for t in TOOLS),
        help="comma-separated tools (default: all)",
    )
    parser.add_argument(
        "--cap",
        type=float,
        default=120.0,
        help="seconds per tool, task and n (default: %(default)s)",
    )
    parser.add_argument("--replicates", type=int, default=500)
    parser.add_argument("--seed", type=int, default=20170602)
    parser.add_argument("--tol", type=float, default=1e-10)
    parser.add_argument(
        "--no-readme", action="store_true", help="do not rewrite the table in benchmarks/README.md"
    )
    parser.add_argument(
        "--update",
        action="store_true",
        help="merge this run's rows into the latest saved run (the others kept from it)",
    )
    parser.add_argument(
        "--redraw",
        action="store_true",
        help="measure nothing: table, figure and README from the latest "
        "saved run (e.g. after make bench, for the kernel panel)",
    )
    return parser.parse_args(argv)


def _shared(machine) -> bool:
    """Whether other work loaded the machine: a load average above its cores
    (a multi-threaded tool alone brings the load up to the core count)."""
    return bool(machine.get("load_max") and machine["load_max"] > machine.get("cores", 1))


def measure(args, tools: list[Tool], sizes: list[str], tasks: list[str], log) -> dict:
    """Run every tool on every task and size; the record saved as JSON."""
    machine = machine_summary()
    log(f"machine: {machine['description']}; load average at start {machine['load']}")
    unavailable, versions = {}, {}
    for tool in tools:
        reason = ensure_tool(tool, log)
        if reason:
            unavailable[tool.name] = reason
            log(f"{tool.name}: {reason}")
        else:
            versions[tool.name] = tool_version(tool)

    results: dict = {}
    loads = [machine["load"]]
    # the in-process tasks, then the same tasks as whole processes
    runs = [(task, task, False) for task in tasks]
    runs += [(f"{task}_process", task, True) for task in PROCESS_TASKS if task in tasks]
    for key, task, process in runs:
        results[key] = {}
        for size in sizes:
            data_dir = make_workload(SIZES[size]).write(PEERS_DIR / "data" / f"n{size}")
            row = results[key][size] = {}
            for tool in tools:
                if task not in (tool.process_tasks if process else tool.tasks):
                    continue
                if tool.name in unavailable:
                    row[tool.name] = {"unsupported": unavailable[tool.name]}
                    continue
                smaller = [results[key][s].get(tool.name) for s in sizes[: sizes.index(size)]]
                if any(r and r.get("capped") for r in smaller):
                    row[tool.name] = {"capped": True, "skipped": "capped at a smaller n"}
                    log(f"{key:21s} n={size:4s} {tool.name:12s} > cap (capped at a smaller n)")
                    continue
                start = time.perf_counter()
                row[tool.name] = (
                    run_process(tool, task, data_dir, args.cap, args.replicates, args.seed)
                    if process
                    else run_one(
                        tool, task, data_dir, args.cap, args.replicates, args.seed, args.tol
                    )
                )
                loads.append(machine_summary()["load"])
                log(
                    f"{key:21s} n={size:4s} {tool.name:12s} "
                    f"{cell_text(row[tool.name], args.cap):>10s}"
                    f"  (process {time.perf_counter() - start:.1f} s, load {loads[-1]})"
                )
    machine["load_max"] = max(x for x in loads if x is not None) if any(loads) else None
    machine["shared"] = _shared(machine)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    return {
        "datetime": stamp,
        "commit": git_commit(),
        "machine": machine,
        "versions": versions,
        "cap_seconds": args.cap,
        "replicates": args.replicates,
        "tol": args.tol,
        "sizes": sizes,
        "tools": [t.name for t in tools],
        "results": results,
    }


def merge_runs(base: dict, new: dict) -> dict:
    """``new`` (a run of some tasks, sizes and tools) merged into ``base``
    (an earlier run): every (task, n, tool) of ``new`` replaces that of
    ``base``; the machine, date and commit are ``new``'s, and ``updated``
    records ``base`` (file name, date, commit, machine) and the rows
    re-measured, as ``"<task> <n> <tool>"``. ``base`` must have the same
    cap, B and tol (else the rows would not be comparable)."""
    for key in ("cap_seconds", "replicates", "tol"):
        if base[key] != new[key]:
            raise ValueError(f"cannot merge runs with different {key}: {base[key]} and {new[key]}")
    results = {
        task: {n: dict(row) for n, row in rows.items()} for task, rows in base["results"].items()
    }
    remeasured = []
    for task, rows in new["results"].items():
        for n, row in rows.items():
            results.setdefault(task, {}).setdefault(n, {}).update(row)
            remeasured += [f"{task} {n} {tool}" for tool in row]
    # An update of an update: the rows not re-measured in either are still
    # those of the first base; the updates' rows are listed together, and
    # the load is the highest of the updates'.
    earlier = base.get("updated")
    origin = (
        {k: earlier[k] for k in ("base", "base_datetime", "base_commit", "base_machine")}
        if earlier
        else {
            "base": f"peers-{base['datetime']}-{base['commit']}.json",
            "base_datetime": base["datetime"],
            "base_commit": base["commit"],
            "base_machine": base["machine"],
        }
    )
    machine = dict(new["machine"])
    if earlier:
        remeasured = list(dict.fromkeys(earlier["remeasured"] + remeasured))
        loads = [m.get("load_max") for m in (base["machine"], new["machine"])]
        machine["load_max"] = max((x for x in loads if x is not None), default=None)
        machine["shared"] = _shared(machine)
    return {
        **new,
        "machine": machine,
        "versions": {**base["versions"], **new["versions"]},
        "sizes": sorted(set(base["sizes"]) | set(new["sizes"]), key=list(SIZES).index),
        "tools": [t.name for t in TOOLS if t.name in set(base["tools"]) | set(new["tools"])],
        "results": results,
        "updated": {
            **origin,
            "remeasured": remeasured,
            "runs": earlier.get("runs", 1) + 1 if earlier else 1,
        },
    }


def _date(stamp: str) -> str:
    return f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}"


def _load_text(machine: dict) -> str:
    if _shared(machine):
        return (
            f"shared with other work (load average up to {machine['load_max']} on its "
            f"{machine['cores']} cores), so absolute times are inflated and noisy; tools ran "
            "one after another within each task and n, so the ratios are the fairer reading"
        )
    return f"load average at most {machine['load_max']} on its {machine['cores']} cores"


def update_text(record: dict) -> str:
    """The README's note on an updated run: which rows were re-measured, and
    where the others come from."""
    up = record.get("updated")
    if not up:
        return ""
    rows: dict[tuple, list] = {}
    for item in up["remeasured"]:
        task, n, tool = item.split(" ", 2)
        rows.setdefault((task, tool), []).append(n)
    listed = "; ".join(
        f"{task} {tool} at n = {', '.join(ns)}" for (task, tool), ns in rows.items()
    )
    machine = up["base_machine"]
    count = up.get("runs", 1)
    runs = "this run" if count == 1 else f"this run and the {count - 1} update(s) before it"
    return (
        f" Re-measured in {runs} ({_date(record['datetime'])}): {listed}. The other rows "
        f"are those of `results/{up['base']}` (measured {_date(up['base_datetime'])} at "
        f"commit `{up['base_commit']}`, machine {_load_text(machine)})."
    )


def publish(record: dict, write_readme: bool, log) -> None:
    """Print the table and targets, draw the figure, rewrite the README section."""
    cap, results, sizes = record["cap_seconds"], record["results"], record["sizes"]
    table = markdown_table(results, record["tools"], sizes, cap)
    targets = targets_text(results, cap)
    print(table)
    print("Targets:\n" + targets)
    plot_scaling(results, sizes, FIGURE, cap)
    log(f"wrote {FIGURE.relative_to(HERE.parent)}")
    if not write_readme:
        return
    machine, stamp = record["machine"], record["datetime"]
    version_text = ", ".join(f"{name} {v}" for name, v in record["versions"].items())
    shared = (
        " The machine was shared with other work during the run (load average up to "
        f"{machine['load_max']} on its {machine['cores']} cores), so absolute times "
        "are inflated and noisy; tools ran one after another within each task and n, "
        "so the ratios are the fairer reading."
        if _shared(machine)
        else f" Load average at most {machine['load_max']} on its {machine['cores']} cores "
        "during the run."
    )
    update_readme(
        f"Measured {stamp[:4]}-{stamp[4:6]}-{stamp[6:8]} at commit `{record['commit']}` on "
        f"{machine['description']}.{shared}{update_text(record)} Versions: {version_text}. "
        f"Cap: {cap:g} s per "
        f"tool, task and n; B = {record['replicates']}; tol = {record['tol']:g}. Raw "
        f"numbers: `results/peers-{stamp}-{record['commit']}.json`."
        f"\n\n{table}\nTargets (issues 2, 4 and 14):\n\n{targets}\n\n"
        f"![time vs n](scaling.png)\n"
    )


def main(argv=None) -> int:
    args = parse_args(argv)

    def log(message):
        print(message, file=sys.stderr, flush=True)

    if args.redraw:
        runs = sorted(RESULTS.glob("peers-*.json"))
        if not runs:
            log("peers.py: no saved run to redraw")
            return 2
        publish(json.loads(runs[-1].read_text()), not args.no_readme, log)
        return 0
    sizes = [s for s in args.sizes.split(",") if s]
    tasks = [t for t in args.tasks.split(",") if t]
    wanted = args.tools.split(",")
    unknown = (
        set(sizes) - set(SIZES) | set(tasks) - set(TASKS) | set(wanted) - {t.name for t in TOOLS}
    )
    if unknown:
        log(f"peers.py: unknown size/task/tool {sorted(unknown)}")
        return 2
    record = measure(args, [t for t in TOOLS if t.name in wanted], sizes, tasks, log)
    if args.update:
        runs = sorted(RESULTS.glob("peers-*.json"))
        if runs:
            record = merge_runs(json.loads(runs[-1].read_text()), record)
            log(f"merged into {runs[-1].name}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"peers-{record['datetime']}-{record['commit']}.json"
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(record, indent=1))
    tmp.replace(out)
    log(f"wrote {out.relative_to(HERE.parent)}")
    publish(record, not args.no_readme, log)
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up as on Ctrl-C
    raise SystemExit(main())
