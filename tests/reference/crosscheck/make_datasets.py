"""Seeded generator of the cross-check datasets (independent of every other fixture).

Writes ``<name>.csv`` (the sample) and ``<name>_margins.json`` (population
margins and bounds) for each dataset below; ``crosscheck.R`` reads them and
writes ``<name>_r.json`` with R ``survey``'s values. Run from anywhere:

    .venv/bin/python tests/reference/crosscheck/make_datasets.py
    Rscript tests/reference/crosscheck/crosscheck.R

Each sample is a stratified cluster sample with strata of unequal sizes (one
with 2 PSUs), clusters of unequal size, base weights that vary within strata,
a crossed sex x age margin, a region margin with a rare category, a numeric
total of ``x``, an outcome ``y`` with missing values, a 0/1 outcome ``z``, a
3-level ``opinion`` and a domain ``dom`` unrelated to the calibration. The
population PSU count per stratum is ``fpc`` (also as a sampling fraction,
``fpc_fraction``); ``cc_c`` adds a single-PSU stratum and a take-all stratum.
"""

import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent

# name -> (seed, PSUs per stratum, cluster size range, rare-region count,
#          bounds for raking, bounds for linear/logit[, take-all strata]), the
#          bounds chosen to bind
DATASETS = {
    "cc_a": (20261127, [2, 5, 9, 4, 12], (1, 9), 4, (0.9, 1.45), (0.8, 1.5)),
    "cc_b": (7340101, [6, 2, 3], (2, 14), 3, (0.9, 1.32), (0.8, 1.4)),
    # a single-PSU stratum (certainty) and a take-all stratum (fpc = n_h)
    "cc_c": (5550123, [1, 4, 3, 7], (1, 10), 3, (0.88, 1.67), (0.7, 1.7), (2,)),
}


def make(seed, psus_per_stratum, cluster_range, rare, raking_bounds, bounds, take_all=()):
    rng = np.random.default_rng(seed)
    rows = []
    for h, m in enumerate(psus_per_stratum):
        N_h = m * int(rng.integers(3, 9))  # population PSUs of the stratum
        if h in take_all:
            N_h = m
        for j in range(m):
            size = int(rng.integers(cluster_range[0], cluster_range[1] + 1))
            psu_w = N_h / m * rng.uniform(5, 15)  # PSU weight x within-PSU weight
            for _ in range(size):
                rows.append(
                    (f"s{h + 1}", f"s{h + 1}p{j + 1:02d}", N_h, psu_w * rng.uniform(0.6, 1.6))
                )
    n = len(rows)
    stratum = np.array([r[0] for r in rows])
    psu = np.array([r[1] for r in rows])
    fpc = np.array([r[2] for r in rows])
    d = np.round(np.array([r[3] for r in rows]), 6)
    h_num = np.array([int(s[1:]) for s in stratum])

    sex = rng.choice(["f", "m"], n)
    age = rng.choice(["a18", "a35", "a60"], n, p=[0.3, 0.45, 0.25])
    region = rng.choice(["east", "north", "west"], n, p=[0.45, 0.2, 0.35]).astype(object)
    region[rng.choice(n, rare, replace=False)] = "islands"  # the rare category
    dom = rng.choice(["d1", "d2", "d3"], n, p=[0.5, 0.3, 0.2])
    x = np.round(rng.gamma(3.0, 10.0, n) + 5 * h_num, 4)
    y = np.round(2 + 0.3 * x + 4 * (sex == "m") + rng.normal(0, 6, n) + 3 * (region == "north"), 4)
    y_missing = rng.random(n) < 0.12
    lin = -1.5 + 0.03 * x + 0.6 * (age == "a60") - 0.4 * (dom == "d2")
    z = (rng.random(n) < 1 / (1 + np.exp(-lin))).astype(int)
    opinion = np.where(
        rng.random(n) < 0.35 + 0.15 * (dom == "d1"),
        "agree",
        rng.choice(["neutral", "disagree"], n),
    )

    # Population margins: the base-weight totals moved by 0.75-1.3, so that
    # calibration moves weights and bounds bind.
    N = d.sum() * rng.uniform(1.05, 1.25)
    cross = {}
    for s in ("f", "m"):
        for a in ("a18", "a35", "a60"):
            cross[f"{s}|{a}"] = d[(sex == s) & (age == a)].sum() * rng.uniform(0.75, 1.3)
    scale = N / sum(cross.values())
    cross = {k: round(v * scale, 3) for k, v in cross.items()}
    N = sum(cross.values())
    reg = {
        r: d[region == r].sum() * rng.uniform(0.75, 1.3)
        for r in ("east", "islands", "north", "west")
    }
    scale = N / sum(reg.values())
    reg = {k: v * scale for k, v in reg.items()}
    reg["west"] = N - sum(v for k, v in reg.items() if k != "west")
    x_total = float(d @ x) * N / d.sum() * rng.uniform(0.95, 1.08)

    n_psu = {h: len(set(psu[stratum == h])) for h in set(stratum)}
    fraction = np.array([n_psu[h] for h in stratum]) / fpc  # fpc as a sampling fraction
    columns = {
        "id": np.arange(1, n + 1),
        "stratum": stratum,
        "psu": psu,
        "fpc": fpc,
        "fpc_fraction": fraction,
        "d": d,
        "sex": sex,
        "age": age,
        "region": region,
        "dom": dom,
        "x": x,
        "y": np.where(y_missing, np.nan, y),
        "z": z,
        "opinion": opinion,
    }
    margins = {
        "sex_age": cross,
        "region": reg,
        "x_total": round(x_total, 3),
        "raking_bounds": list(raking_bounds),
        "bounds": list(bounds),
    }
    return columns, margins


def write(name, columns, margins):
    names = list(columns)
    n = len(columns["id"])
    lines = [",".join(names)]
    for i in range(n):
        cells = []
        for k in names:
            v = columns[k][i]
            if isinstance(v, (float, np.floating)):
                cells.append("" if np.isnan(v) else repr(float(v)))
            else:
                cells.append(str(v))
        lines.append(",".join(cells))
    (HERE / f"{name}.csv").write_text("\n".join(lines) + "\n")
    (HERE / f"{name}_margins.json").write_text(json.dumps(margins, indent=1) + "\n")


if __name__ == "__main__":
    for name, spec in DATASETS.items():
        write(name, *make(*spec))
