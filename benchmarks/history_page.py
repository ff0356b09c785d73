"""The trend page ``benchmarks/history.html``: a small plot per benchmark.

Rendered from ``results/history.csv`` and the latest peer runs
(``results/peers-*.json``) by ``make bench`` after every run, or alone
(``make bench-history``, no benchmark is run). One self-contained file: inline
SVG drawn here (no plotting library, no script, nothing fetched), so that it
is small, opens anywhere and is the same bytes for the same history.

Each plot: one benchmark's median time per call over the runs (oldest left,
the same run positions in every plot; log scale, so that a 20% change has
the same height at any speed), a bar for the IQR of the run's rounds, a
colour per series (machine fingerprint and workload sizes), the verdicts of
``regression.judge_series`` marked (red triangle: SLOWER or DRIFT; green:
faster), an open marker for a run on a shared machine (load average above
its cores). Hovering a point shows its commit and numbers. Beside the
raking and bootstrap benchmarks: the peers' times relative to kalib from the
latest peer run that measured that task and n.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from html import escape
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import history  # noqa: E402
import regression  # noqa: E402
from history import Record  # noqa: E402

PAGE = HERE / "history.html"
RUNS = 100  # the page shows the latest runs; history.csv keeps them all
# Colour-blind-safe (Okabe & Ito 2008), one per series.
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442")
ALARM_COLOUR, FASTER_COLOUR = "#D00000", "#008000"
# The make-bench benchmarks that time a peer task: (task, kalib variant) in
# peers.py's results. test_rake is kalib's "rake"; test_bootstrap_domain_means
# times the engine path (replicate totals and svrVar), the "kalib engine" variant;
# test_linearization_many_domains is the linearization task after the raking; the
# two whole-process kalib estimate runs are peers.py's "*_process" tasks.
PEER_TASKS = {
    "bench_calibrate.py::test_rake": ("rake", "kalib"),
    "bench_replicate.py::test_bootstrap_domain_means": ("bootstrap", "kalib engine"),
    "bench_domains.py::test_linearization_many_domains": ("linearization", "kalib"),
    "bench_startup.py::test_kalib_estimate_bootstrap": ("bootstrap_process", "kalib"),
    "bench_startup.py::test_kalib_estimate_linearization": ("linearization_process", "kalib"),
}
# Plot geometry (px).
WIDTH, HEIGHT = 370, 200
LEFT, RIGHT, TOP, BOTTOM = 50, 10, 8, 44
_PARAM = re.compile(r"^(?P<test>[^\[]*)(?:\[(?P<param>.*)\])?$")


def _unit(seconds: float) -> tuple[str, float]:
    for unit, factor in (("s", 1.0), ("ms", 1e3), ("µs", 1e6)):
        if seconds * factor >= 1.0:
            return unit, factor
    return "µs", 1e6


def log_ticks(lo: float, hi: float) -> list[float]:
    """Tick values in [lo, hi]: 1, 2, 5 (or 1, 1.5, 2, 3, 5, 7) times powers of
    ten, the first set that gives at least three; else evenly spaced ticks at
    the smallest 1, 2, 2.5 or 5 step of at least a fifth of the range (2 to 6
    ticks: consecutive steps differ by at most 2x)."""
    exponents = range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
    for mantissas in ((1,), (1, 2, 5), (1, 1.5, 2, 3, 5, 7)):
        ticks = [m * 10.0**e for e in exponents for m in mantissas if lo <= m * 10.0**e <= hi]
        if len(ticks) >= 3:
            return ticks
    fifth = (hi - lo) / 5
    power = 10.0 ** math.floor(math.log10(fifth))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= fifth)
    return [k * step for k in range(math.ceil(lo / step), math.floor(hi / step) + 1)]


def _cores(machine: str) -> int | None:
    found = re.search(r"; (\d+) cores;", machine)
    return int(found.group(1)) if found else None


def _shared(record: Record) -> bool:
    cores = _cores(record.machine)
    return record.load is not None and cores is not None and record.load > cores


def _tooltip(record: Record, verdict: regression.Verdict) -> str:
    fmt = regression.format_seconds
    text = (
        f"{record.commit} {record.date[:16].replace('T', ' ')} — median {fmt(record.median)}, "
        f"IQR {fmt(record.iqr)}, {record.rounds} rounds"
    )
    if record.load is not None:
        text += f", load {record.load:g}"
    if verdict.baseline is not None:
        text += f"; {verdict.status} vs baseline {fmt(verdict.baseline)} ({verdict.ratio:.2f}x)"
    else:
        text += f"; {verdict.status}"
    if not record.complete:
        text += "; a benchmark of this run failed: not a baseline"
    return text


def plot(
    points: dict[tuple, list[Record]],
    verdicts: dict[Record, regression.Verdict],
    runs: list[tuple[str, str]],
    colours: dict[tuple, str],
) -> str:
    """One benchmark's SVG: ``points`` maps a series colour key to its records."""
    index = {run: i for i, run in enumerate(runs)}
    shown = [r for records in points.values() for r in records if r.run in index]
    lows = [max(r.median - r.iqr / 2, r.median / 4) for r in shown]
    highs = [r.median + r.iqr / 2 for r in shown]
    lo, hi = min(lows), max(highs)
    centre, half = math.sqrt(lo * hi), max(math.sqrt(hi / lo), 1.3) * 1.1
    lo, hi = centre / half, centre * half  # at least a 1.7x range, padded
    unit, factor = _unit(max(r.median for r in shown))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(run) -> float:
        return LEFT + (index[run] + 0.5) * plot_w / len(runs)

    def y(seconds: float) -> float:
        return TOP + plot_h * (1 - math.log(seconds / lo) / math.log(hi / lo))

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img">',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" class="frame"/>',
    ]
    for tick in log_ticks(lo, hi):
        ty = y(tick)
        out.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{ty:.1f}" y2="{ty:.1f}" '
            f'class="grid"/><text x="{LEFT - 4}" y="{ty + 3:.1f}" class="yt">'
            f"{tick * factor:.3g}</text>"
        )
    out.append(
        f'<text transform="translate(11 {TOP + plot_h / 2:.0f}) rotate(-90)" '
        f'class="axis">median ({unit}, log)</text>'
    )
    step = max(1, math.ceil(len(runs) / 6))
    for i in list(range(0, len(runs), step))[:6]:
        date, commit = runs[i]
        tx = x(runs[i])
        out.append(
            f'<text x="{tx:.1f}" y="{TOP + plot_h + 12}" class="xt">'
            f"{escape(commit[:7])}{'*' if 'dirty' in commit else ''}</text>"
            f'<text x="{tx:.1f}" y="{TOP + plot_h + 22}" class="xt">{date[5:10]}</text>'
        )
    out.append(
        f'<text x="{LEFT + plot_w / 2:.0f}" y="{HEIGHT - 6}" class="axis">'
        f"run: commit, date (oldest left)</text>"
    )
    for key, records in points.items():
        records = [r for r in records if r.run in index]
        colour = colours[key]
        line = " ".join(f"{x(r.run):.1f},{y(r.median):.1f}" for r in records)
        out.append(f'<polyline points="{line}" stroke="{colour}" class="series"/>')
        for r in records:
            px, verdict = x(r.run), verdicts[r]
            top, bottom = y(r.median + r.iqr / 2), y(max(r.median - r.iqr / 2, lo))
            fill = "#fff" if _shared(r) else colour
            out.append(
                f"<g><title>{escape(_tooltip(r, verdict))}</title>"
                f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{top:.1f}" y2="{bottom:.1f}" '
                f'stroke="{colour}" class="iqr"/>'
                f'<circle cx="{px:.1f}" cy="{y(r.median):.1f}" r="3" fill="{fill}" '
                f'stroke="{colour}"/>{_flag(verdict, px, y(r.median))}</g>'
            )
    out.append("</svg>")
    return "".join(out)


def _flag(verdict: regression.Verdict, px: float, py: float) -> str:
    if verdict.alarm:  # a red triangle above the point
        return f'<path d="M{px - 5:.1f},{py - 6:.1f} h10 l-5,-8 z" fill="{ALARM_COLOUR}"/>'
    if verdict.status == "faster":  # a green triangle below it
        return f'<path d="M{px - 5:.1f},{py + 6:.1f} h10 l-5,8 z" fill="{FASTER_COLOUR}"/>'
    return ""


def latest_peers(results_dir: Path) -> dict[tuple[str, str], dict]:
    """``{(task, n): peer run}``: for each task and size, the latest peer run
    that measured it (a peer run may cover a few sizes only)."""
    latest: dict[tuple[str, str], dict] = {}
    for path in sorted(Path(results_dir).glob("peers-*.json")):
        run = json.loads(path.read_text())
        for task, sizes in run.get("results", {}).items():
            for size in sizes:
                latest[task, size] = run
    return latest


def peer_text(benchmark: str, peers: dict[tuple[str, str], dict]) -> str:
    """The peers' time relative to kalib for a benchmark that times a peer
    task (``PEER_TASKS``), from the latest peer run at its n; else ""."""
    from peers import format_seconds, speedup_text

    test, param = _split(benchmark)
    if test not in PEER_TASKS:
        return ""
    task, variant = PEER_TASKS[test]
    run = peers.get((task, param))
    if run is None:
        return ""
    row = run["results"][task][param]
    kalib = row.get(variant)
    if not kalib or "seconds" not in kalib:
        return ""
    others = []
    for tool, result in row.items():
        if tool.startswith("kalib"):
            continue
        ratio = speedup_text(result, kalib, run["cap_seconds"])
        if not ratio:
            ratio = "cannot" if "unsupported" in result else "failed"
        others.append(escape(f"{tool} {ratio}"))
    return (
        f"Peers at n = {param}, their time ÷ {variant}'s "
        f"{format_seconds(kalib['seconds'])} (peer run of "
        f"{history.stamp_date(run['datetime'])[:10]} at {escape(run['commit'])}): "
        + ", ".join(others)
    )


def _param_label(benchmark: str) -> str:
    param = _split(benchmark)[1]
    return f"<b>[{escape(param)}]</b> " if param else ""


def _split(benchmark: str) -> tuple[str, str]:
    """``bench_x.py::test_y[1e3-a]`` -> (``bench_x.py::test_y``, ``1e3-a``)."""
    found = _PARAM.match(benchmark)
    return found["test"], found["param"] or ""


def render(
    records: list[Record],
    peers: dict[tuple[str, str], dict],
    rule: regression.Rule = regression.Rule(),
    last: int = RUNS,
) -> str:
    """The whole page (HTML) for a history and the latest peer runs."""
    runs = history.runs(records)[-last:]
    verdicts = {}
    for series in regression.by_series(records).values():
        verdicts.update(zip(series, regression.judge_series(series, rule)))
    keys = sorted({(r.machine, r.sizes) for r in records})
    colours = {key: COLOURS[i % len(COLOURS)] for i, key in enumerate(keys)}
    shown = [r for r in records if r.run in set(runs)]
    groups: dict[str, dict[str, dict[tuple, list[Record]]]] = {}
    for r in sorted(shown, key=lambda r: (r.benchmark, r.date)):
        groups.setdefault(_split(r.benchmark)[0], {}).setdefault(r.benchmark, {}).setdefault(
            (r.machine, r.sizes), []
        ).append(r)

    body = [_header(records, runs, verdicts, colours, rule)]
    suite = None
    for test, benchmarks in groups.items():
        file, _, name = test.partition("::")
        if file != suite:
            suite = file
            body.append(f"<h2>{escape(file)}</h2>")
        body.append(f'<h3>{escape(name)}</h3><div class="row">')
        for benchmark, points in benchmarks.items():
            latest = max((r for rs in points.values() for r in rs), key=lambda r: r.date)
            verdict = verdicts[latest]
            status = verdict.status + (
                f" ({verdict.ratio:.2f}x baseline)" if verdict.ratio is not None else ""
            )
            css = "alarm" if verdict.alarm else "ok"
            peers_line = peer_text(benchmark, peers)
            body.append(
                f"<figure><figcaption>{_param_label(benchmark)}latest "
                f"{regression.format_seconds(latest.median)} at {escape(latest.commit)}: "
                f'<span class="{css}">{escape(status)}</span></figcaption>'
                f"{plot(points, verdicts, runs, colours)}"
                + (f'<p class="peers">{peers_line}</p>' if peers_line else "")
                + "</figure>"
            )
        body.append("</div>")
    return PAGE_TEMPLATE.format(body="\n".join(body))


def _header(records, runs, verdicts, colours, rule) -> str:
    fmt = regression.format_seconds
    latest = [r for r in records if r.run == runs[-1]]
    alarms = [verdicts[r] for r in latest if verdicts[r].alarm]
    legend = "".join(
        f'<li><span class="swatch" style="background:{colour}"></span>'
        f"{escape(machine)} — sizes {escape(sizes)}</li>"
        for (machine, sizes), colour in colours.items()
    )
    alarm_text = (
        "none"
        if not alarms
        else ", ".join(f"{escape(v.name)} ({v.status}, {v.ratio:.2f}x)" for v in alarms)
    )
    return f"""<h1>kalib benchmark history</h1>
<p>{len(history.runs(records))} runs of <code>make bench</code> from
{history.runs(records)[0][0][:10]} to {runs[-1][0][:10]} ({len(runs)} shown), {
        len({r.benchmark for r in records})
    } benchmarks; the data: <code>benchmarks/results/history.csv</code>. Latest run:
<code>{escape(runs[-1][1])}</code> on {runs[-1][0].replace("T", " ")[:16]} UTC — alarms:
{alarm_text}.</p>
<p>Each plot is one benchmark: its median time per call in each run (log scale: a 20%
change has the same height at any speed), the bar the IQR of the run's rounds. Colour: the
series (runs are compared only within one machine fingerprint and set of workload sizes).
Open marker: the machine was shared (load average above its cores).
<span class="alarm">▲</span> the alarm (SLOWER or DRIFT),
<span class="faster">▼</span> faster. Hover over a point for its numbers.</p>
<p>The alarm: a median is SLOWER when it exceeds the median of the last {rule.window} runs
of its series by more than the largest of {rule.threshold:.0%} and {rule.spread_factor:g} ×
the relative spread (IQR / median of its rounds, of the baseline runs' rounds, or of the
baseline medians), and by {fmt(rule.floor)} at least; DRIFT the same against the level of up to {
        rule.drift_window
    }
runs back (restarted after each flagged run); a suspect is re-run once and keeps the faster
median. See <code>benchmarks/README.md</code>.</p>
<ul class="legend">{legend}</ul>"""


PAGE_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>kalib benchmark history</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; max-width: 1250px; }}
h2 {{ margin-top: 1.6em; border-bottom: 1px solid #ccc; }}
h3 {{ margin: 0.8em 0 0.2em; font-size: 15px; font-family: monospace; }}
.row {{ display: flex; flex-wrap: wrap; gap: 10px; }}
figure {{ margin: 0; width: 370px; }}
figcaption {{ font-size: 12px; }}
.peers {{ font-size: 11px; margin: 0; color: #444; }}
.alarm {{ color: #D00000; font-weight: bold; }}
.faster {{ color: #008000; }}
.ok {{ color: #444; }}
.legend {{ list-style: none; padding: 0; font-size: 12px; }}
.swatch {{ display: inline-block; width: 12px; height: 12px; margin-right: 6px;
  vertical-align: middle; }}
svg .frame {{ fill: none; stroke: #999; }}
svg .grid {{ stroke: #e4e4e4; }}
svg .series {{ fill: none; stroke-width: 1.2; }}
svg .iqr {{ stroke-width: 1; opacity: 0.6; }}
svg text {{ font: 9px system-ui, sans-serif; fill: #333; }}
svg .yt {{ text-anchor: end; }}
svg .xt {{ text-anchor: middle; }}
svg .axis {{ text-anchor: middle; font-size: 10px; }}
</style></head><body>
{body}
</body></html>
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="render benchmarks/history.html")
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=history.RESULTS,
        help="history.csv and the peer runs (default: %(default)s)",
    )
    parser.add_argument("--page", type=Path, default=PAGE)
    parser.add_argument("--runs", type=int, default=RUNS, help="latest runs shown")
    args = parser.parse_args(argv)
    write(args.results_dir, args.page, last=args.runs)
    print(f"wrote {args.page}")
    return 0


def write(
    results_dir: Path, page: Path, rule: regression.Rule = regression.Rule(), last: int = RUNS
) -> None:
    """Render the page from ``results_dir`` (atomically: temp + rename)."""
    records = history.read(Path(results_dir) / history.HISTORY)
    if not records:
        raise SystemExit(f"history_page: no history in {results_dir}")
    tmp = page.with_name(page.name + ".tmp")
    tmp.write_text(render(records, latest_peers(results_dir), rule, last))
    tmp.replace(page)


if __name__ == "__main__":
    raise SystemExit(main())
