"""The report's figures (matplotlib, Agg backend), returned as PNG bytes.

Each function takes plain arrays or a tidy frame of ``keyrates.csv`` columns
and the page's strings, so it can be drawn and tested without a design. The
report draws them in its worker processes (:mod:`estimators.report.workers`),
which alone import this module and matplotlib.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Callable
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, MaxNLocator
from PIL import Image

from estimators.report.labels import domain_label

WEIGHTED_COLOUR = "#1f5a96"
UNWEIGHTED_COLOUR = "#b24a1e"
REGISTER_COLOUR = "#6a6a6a"
SEPARATOR_COLOUR = "#cccccc"
# matplotlib keyword arguments (typed Any: each key takes its own type)
UNWEIGHTED_MARKER: dict[str, Any] = {
    "ms": 4.5,
    "mfc": "white",
    "mec": UNWEIGHTED_COLOUR,
    "mew": 1.3,
}

plt.rcParams.update(
    {
        "font.size": 9,
        "axes.titlesize": 9.5,
        "axes.spines.top": False,
        "axes.spines.right": False,
        # titles at the top of their Axes: placed by hand, not by measuring
        # the Axes' tick labels at every draw (there are none above them)
        "axes.titley": 1.0,
        "svg.hashsalt": "kalib",
    }
)


def to_png(fig) -> bytes:
    """Render ``fig`` to PNG bytes (no timestamp metadata) and close it.

    Encoded by Pillow itself rather than ``savefig``: as RGB (every figure
    is drawn on an opaque face, so the alpha channel is 255 throughout) and
    with zlib level 1, which together take half the time of matplotlib's
    RGBA at level 6 and give smaller files; the pixels are the same.
    """
    fig.canvas.draw()
    image = Image.frombuffer("RGBA", fig.canvas.get_width_height(), fig.canvas.buffer_rgba())
    plt.close(fig)
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="png", compress_level=1, dpi=(100, 100))
    return buf.getvalue()


def draw_png(kind: str, args: tuple) -> bytes:
    """Draw figure ``kind`` (a function of this module) and return its PNG."""
    return to_png(FIGURES[kind](*args))


def weight_distribution(weights, g, t: dict[str, str]):
    """Histograms of the calibrated weights and of the g-factors."""
    weights, g = np.asarray(weights, float), np.asarray(g, float)
    fig, (ax_w, ax_g) = plt.subplots(1, 2, figsize=(9.5, 3.0))
    ax_w.hist(weights, bins=40, color=WEIGHTED_COLOUR, alpha=0.85)
    ax_w.set_xlabel(t["weight"])
    ax_w.set_ylabel(t["count"])
    ax_g.hist(g, bins=40, color=UNWEIGHTED_COLOUR, alpha=0.85)
    ax_g.axvline(1.0, color="black", lw=0.8, ls=":")
    ax_g.set_xlabel(t["g_factor"])
    fig.tight_layout()
    return fig


def replicate_convergence(iterations, errors, t: dict[str, str]):
    """Iterations and final margin error of every replicate re-calibration."""
    iterations = np.asarray(iterations, int)
    errors = np.asarray(errors, float)
    fig, (ax_i, ax_e) = plt.subplots(1, 2, figsize=(9.5, 2.6))
    bins = np.arange(iterations.min(), iterations.max() + 2) - 0.5
    ax_i.hist(iterations, bins=bins, color=WEIGHTED_COLOUR, rwidth=0.8)
    ax_i.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_i.set_xlabel(t["iterations"])
    ax_i.set_ylabel(t["replicates"])
    # log10 of the error; a replicate that hit zero error sits at the floor.
    log_err = np.log10(np.maximum(errors, 1e-17))
    ax_e.hist(log_err, bins=30, color=REGISTER_COLOUR)
    ax_e.set_xlabel(t["max_error"])
    fig.tight_layout()
    return fig


def sample_vs_population(rows, t: dict[str, str]):
    """Sample, register and weighted shares of every margin category.

    ``rows`` is a frame with columns ``margin``, ``category``,
    ``sample_share``, ``register_share``, ``calibrated_share``; one panel per
    margin.
    """
    margins = list(dict.fromkeys(rows["margin"]))
    tallest = max(int((rows["margin"] == m).sum()) for m in margins)
    # one panel (a survey's design strata): wider, its legend beside it
    width = min(3.2 * len(margins) + 1, 11) if len(margins) > 1 else 7.5
    fig, axes = plt.subplots(1, len(margins), figsize=(width, 0.28 * tallest + 1.4), squeeze=False)
    for ax, margin in zip(axes[0], margins):
        part = rows[rows["margin"] == margin]
        # Top-aligned rows of the same height in every panel.
        y = tallest - 1 - np.arange(len(part), dtype=float)
        ax.barh(
            y + 0.2,
            100 * part["sample_share"],
            height=0.38,
            color=UNWEIGHTED_COLOUR,
            label=t["sample_share"],
        )
        ax.barh(
            y - 0.2,
            100 * part["register_share"],
            height=0.38,
            color=REGISTER_COLOUR,
            label=t["register_share"],
        )
        ax.set_yticks(y, [str(c) for c in part["category"]])
        ax.set_ylim(-0.6, tallest - 0.4)
        ax.set_title(t.get(margin, margin))
        ax.set_xlabel(t["percent"])
    if len(margins) > 1:
        axes[0][-1].legend(loc="lower right", fontsize=8, frameon=False)
    else:
        axes[0][0].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def forest(
    frame,
    rates,
    labels: dict[str, str],
    t: dict[str, str],
    level: float,
    domain_vars=("all",),
    scale: float = 100,
    axis: str | None = None,
):
    """One panel per rate: unweighted point beside weighted estimate and CI.

    Parameters
    ----------
    frame : pandas.DataFrame
        Tidy key-rate estimates (``keyrates.csv`` columns).
    rates : sequence of str
        The rate ids of the group, one panel each.
    labels : dict
        Rate id -> panel title.
    domain_vars : sequence of str
        The domain variables shown, blocks top to bottom (a survey's
        ``forest_domains``). A domain no rate of the group has a respondent
        in (a question not asked of a role) is left out of every panel.
    scale, axis : float, str
        100 and "percent" for proportions; 1 and the mean's unit for means.
    """
    answered = frame.loc[frame["rate"].isin(rates) & (frame["n"] > 0), ["domain_var", "domain"]]
    keep = set(zip(answered["domain_var"], answered["domain"].astype(str)))
    frame = frame[[(v, str(d)) in keep for v, d in zip(frame["domain_var"], frame["domain"])]]
    ncols = 2 if len(rates) == 4 else min(3, len(rates))
    nrows = math.ceil(len(rates) / ncols)
    panels = _forest_rows(frame, rates, domain_vars)
    n_rows_panel = len(panels[rates[0]])
    # Fixed margins in inches (no tight_layout: it draws the figure twice);
    # the left one wide enough for the longest domain label (9 pt text).
    first = panels[rates[0]]
    longest = max(
        (len(domain_label(v, str(d), t)) for v, d in zip(first["domain_var"], first["domain"])),
        default=0,
    )
    left, right, panel_w, gap_w = max(1.35, 0.07 * longest + 0.25), 0.15, 3.1, 0.2
    top, panel_h, title_h, gap_h, axis_h = 0.35, 0.24 * n_rows_panel + 0.1, 0.6, 0.12, 0.5
    width = left + right + ncols * panel_w + (ncols - 1) * gap_w
    height = top + nrows * (title_h + panel_h) + (nrows - 1) * gap_h + axis_h
    # Common limits set by hand: sharex/sharey make every tick a child of one
    # shared transform, which costs quadratic time in the number of panels.
    fig = plt.figure(figsize=(width, height))
    shown = frame[frame["rate"].isin(rates) & frame["domain_var"].isin(domain_vars)]
    xlim = _padded_limits(
        scale * shown[["ci_low", "ci_high", "unweighted"]].to_numpy(float),
        upper=100.0 if scale == 100 else None,
    )
    # The same x ticks in every panel: located once for all, and only those
    # within the limits (matplotlib makes a tick object for every location
    # but draws those inside, by this test with its tolerance).
    xticks = MaxNLocator(5).tick_values(*xlim)
    slack = 1e-10 * (xlim[1] - xlim[0])
    xticks = xticks[(xticks >= xlim[0] - slack) & (xticks <= xlim[1] + slack)]
    fig.subplots_adjust(
        left=left / width,
        right=1 - right / width,
        top=1 - (top + title_h) / height,
        bottom=axis_h / height,
        wspace=gap_w / panel_w,
        hspace=(title_h + gap_h) / panel_h,
    )
    # an Axes for each rate only (the grid's last row may have empty slots)
    grid = fig.add_gridspec(nrows, ncols)
    axes = [fig.add_subplot(grid[k // ncols, k % ncols]) for k in range(len(rates))]
    for k, (ax, rate) in enumerate(zip(axes, rates)):
        part = panels[rate]
        y = -np.arange(len(part), dtype=float)
        est, lo, hi = (scale * part[c].to_numpy(float) for c in ("estimate", "ci_low", "ci_high"))
        var = part["domain_var"].to_numpy()
        cuts = -(np.flatnonzero(var[1:] != var[:-1]) + 0.5)
        # hlines + plot rather than errorbar: far fewer artists to draw. One
        # collection (costlier to make than to draw) holds the intervals and
        # the thin separators between the all / sector / size blocks.
        ax.hlines(
            np.r_[y - 0.14, cuts],
            np.r_[lo, np.full(len(cuts), xlim[0])],
            np.r_[hi, np.full(len(cuts), xlim[1])],
            colors=[WEIGHTED_COLOUR] * len(y) + [SEPARATOR_COLOUR] * len(cuts),
            linewidths=[1.6] * len(y) + [0.7] * len(cuts),
        )
        # the points as lines of markers made directly (plot() parses a
        # format and a property cycle first)
        ax.add_line(Line2D(est, y - 0.14, ls="none", marker="s", ms=4, color=WEIGHTED_COLOUR))
        unweighted = scale * part["unweighted"].to_numpy(float)
        ax.add_line(Line2D(unweighted, y + 0.14, ls="none", marker="o", **UNWEIGHTED_MARKER))
        # Tick objects are the costliest part of a panel: labels in the first
        # column only, and few x ticks.
        if k % ncols == 0:
            ax.set_yticks(y, [domain_label(v, d, t) for v, d in zip(var, part["domain"])])
        else:
            ax.set_yticks([])
        ax.xaxis.set_major_locator(FixedLocator(xticks))
        ax.set_ylim(y[-1] - 0.6, 0.6)
        ax.set_xlim(xlim)
        ax.set_title(_wrap(labels.get(rate, rate), 46, 3), loc="left", fontsize=8.5)
        ax.grid(axis="x", color="#eeeeee")
        ax.set_axisbelow(True)
        ax.tick_params(axis="x", labelbottom=False)
    # x tick labels once per column: under the last panel drawn in it.
    for col in range(ncols):
        last = axes[col + (len(rates) - 1 - col) // ncols * ncols]
        last.xaxis.set_tick_params(labelbottom=True)
        last.set_xlabel(axis or t["percent"], labelpad=1)
    handles = [
        Line2D([], [], ls="none", marker="o", **UNWEIGHTED_MARKER),
        Line2D([], [], color=WEIGHTED_COLOUR, marker="s", ms=4, lw=1.6),
    ]
    names = [t["unweighted_point"], t["weighted_point"].format(level=100 * level)]
    fig.legend(
        handles, names, loc="upper center", ncol=2, frameon=False, bbox_to_anchor=(0.5, 1.0)
    )
    return fig


def _forest_rows(frame, rates, domain_vars) -> dict:
    """Rate -> its rows of ``domain_vars``, in their order (rows of one
    domain variable as in ``frame``): one stable sort for all panels."""
    order = {v: i for i, v in enumerate(domain_vars)}
    shown = frame[frame["rate"].isin(rates) & frame["domain_var"].isin(domain_vars)]
    shown = shown.iloc[np.argsort(shown["domain_var"].map(order).to_numpy(), kind="stable")]
    return {rate: shown[shown["rate"] == rate] for rate in rates}


def _wrap(label: str, width: int, lines: int) -> str:
    parts = textwrap.wrap(label, width)
    if len(parts) > lines:
        parts = parts[:lines]
        parts[-1] = parts[-1][: width - 1] + "…"
    return "\n".join(parts)


def _padded_limits(values, upper: float | None = 100.0):
    """Axis limits around ``values``, within 0 .. ``upper`` (no upper bound
    for a mean)."""
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 0.0, 100.0
    lo, hi = values.min(), values.max()
    pad = (
        max(2.0, 0.08 * (hi - lo)) if upper is not None else max(0.08 * (hi - lo), 0.05 * abs(hi))
    )
    return max(0.0, lo - pad), hi + pad if upper is None else min(upper, hi + pad)


# One colour per category of a rating scale, low to high (ColorBrewer RdBu,
# light in the middle so that the labels stay readable).
SCALE_COLOURS = ("#b2182b", "#ef8a62", "#e6e6e6", "#67a9cf", "#2166ac")


def category_distribution(frame, t: dict[str, str]):
    """Predicted distributions of an ordinal outcome: one stacked bar per
    level of each variable, a panel per variable.

    ``frame`` has ``variable, level, label, estimate`` (the category's
    predicted probability; a level's estimates sum to 1) in plotting order,
    categories low to high; the levels are labelled like domains
    (:func:`~estimators.report.labels.domain_label`), shares of 6 % or more
    are written in their segment.
    """
    variables = list(dict.fromkeys(frame["variable"]))
    levels = {
        v: list(dict.fromkeys(frame.loc[frame["variable"] == v, "level"])) for v in variables
    }
    labels = list(dict.fromkeys(frame["label"]))
    colours = _scale_colours(len(labels))
    heights = [len(levels[v]) for v in variables]
    fig, axes = plt.subplots(
        len(variables),
        1,
        figsize=(9.5, 0.42 * sum(heights) + 1.6),
        squeeze=False,
        gridspec_kw={"height_ratios": heights},
    )
    for ax, variable in zip(axes[:, 0], variables):
        part = frame[frame["variable"] == variable]
        names = levels[variable]
        y = -np.arange(len(names), dtype=float)
        left = np.zeros(len(names))
        for label, colour in zip(labels, colours):
            share = np.array(
                [
                    100
                    * part.loc[(part["level"] == lv) & (part["label"] == label), "estimate"].sum()
                    for lv in names
                ]
            )
            ax.barh(
                y,
                share,
                left=left,
                height=0.7,
                color=colour,
                label=label,
                edgecolor="white",
                linewidth=0.6,
            )
            for yi, x0, w in zip(y, left, share):
                if w >= 6:
                    dark = colour in (SCALE_COLOURS[0], SCALE_COLOURS[-1])
                    ax.text(
                        x0 + w / 2,
                        yi,
                        f"{w:.0f}",
                        ha="center",
                        va="center",
                        fontsize=8,
                        color="white" if dark else "black",
                    )
            left += share
        ax.set_yticks(y, [domain_label(variable, str(lv), t) for lv in names])
        ax.set_xlim(0, 100)
        ax.set_title(t.get(variable, variable), loc="left", fontsize=9)
        ax.spines["left"].set_visible(False)
        ax.tick_params(axis="y", length=0)
    axes[-1, 0].set_xlabel(t["percent"])
    handles, names = axes[0, 0].get_legend_handles_labels()
    fig.legend(
        handles,
        names,
        loc="upper center",
        ncol=len(labels),
        frameon=False,
        bbox_to_anchor=(0.5, 1.0),
        fontsize=8,
    )
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / (0.42 * sum(heights) + 1.6)))
    return fig


def _scale_colours(k: int) -> tuple:
    """``k`` colours from SCALE_COLOURS, spread from low to high."""
    if k == len(SCALE_COLOURS):
        return SCALE_COLOURS
    idx = np.round(np.linspace(0, len(SCALE_COLOURS) - 1, k)).astype(int)
    return tuple(SCALE_COLOURS[i] for i in idx)


FIGURES: dict[str, Callable[..., Figure]] = {
    "weight_distribution": weight_distribution,
    "replicate_convergence": replicate_convergence,
    "sample_vs_population": sample_vs_population,
    "forest": forest,
    "category_distribution": category_distribution,
}
