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

The edge-case samples ``ce_*`` (:func:`make_edge`; R's values from
``edge.R``, which also writes R's replicate weights ``ce_b_rep_*.csv``) have
several single-PSU strata, PSUs of one row, widely spread weights and
degenerate domains. ``ce_d`` (:func:`make_calib`, two stages with an fpc at
each) and ``ce_e`` (:func:`make_pps`, stratified PPS) are read by ``calib.R``.
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


# Edge-case designs (``edge.R`` reads them): name -> (seed, PSUs per stratum,
# cluster size range, fpc as a fraction). Several single-PSU strata, strata
# of 2 PSUs (BRR and Fay need exactly two everywhere: ce_b), PSUs of one
# row, weights spread over three orders of magnitude.
EDGE = {
    "ce_a": (9120431, [1, 2, 1, 5, 3, 8], (1, 6), False),
    "ce_b": (4410987, [2, 2, 2, 2, 2, 2, 2], (2, 7), True),
    "ce_c": (3017765, [6, 1, 25, 4, 1], (1, 1), True),
}


def make_edge(seed, psus_per_stratum, cluster_range, fraction):
    """A stratified cluster sample with the domains the edge cases need.

    ``dom`` has a level with a single respondent (``solo``) and one whose
    rows all lie in the first stratum with several PSUs (``one_stratum``);
    ``z`` is 0 throughout ``dom == "d2"`` and 1 throughout ``solo`` and
    ``one_stratum``; ``a`` x ``b`` is a crossed pair of factors (some cells
    rare); ``k`` a count, ``ord`` an ordered 1-4 rating, ``y`` a measure with
    missing values, ``sex`` a two-level group.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for h, m in enumerate(psus_per_stratum):
        N_h = m * int(rng.integers(2, 12))
        for j in range(m):
            size = int(rng.integers(cluster_range[0], cluster_range[1] + 1))
            psu_w = N_h / m * np.exp(rng.normal(1.5, 1.2))  # spread weights
            for _ in range(size):
                rows.append((h, f"s{h + 1}p{j + 1:02d}", N_h, psu_w * rng.uniform(0.5, 2.0)))
    n = len(rows)
    h_num = np.array([r[0] for r in rows])
    stratum = np.array([f"s{h + 1}" for h in h_num])
    psu = np.array([r[1] for r in rows])
    N_h = np.array([r[2] for r in rows], float)
    d = np.round(np.array([r[3] for r in rows]), 6)
    n_psu = {h: len(set(psu[h_num == h])) for h in set(h_num)}
    fpc = np.array([n_psu[h] for h in h_num]) / N_h if fraction else N_h

    dom = rng.choice(["d1", "d2", "d3"], n, p=[0.5, 0.3, 0.2]).astype(object)
    several = [h for h, m in enumerate(psus_per_stratum) if m > 1]
    first = np.flatnonzero(h_num == several[0])
    dom[first[: max(1, len(first) // 2)]] = "one_stratum"
    others = np.flatnonzero(dom != "one_stratum")
    dom[rng.choice(others)] = "solo"
    a = rng.choice(["a1", "a2"], n, p=[0.6, 0.4])
    b = rng.choice(["b1", "b2", "b3"], n, p=[0.5, 0.4, 0.1])
    sex = rng.choice(["f", "m"], n)
    x = np.round(rng.gamma(2.0, 8.0, n) + 3 * h_num, 4)
    y = np.round(5 + 0.4 * x + 3 * (sex == "m") + 2 * (a == "a2") + rng.normal(0, 5, n), 4)
    y_missing = rng.random(n) < 0.1
    lin = -1.0 + 0.04 * x - 0.5 * (a == "a2") + 0.3 * (sex == "m")
    z = (rng.random(n) < 1 / (1 + np.exp(-lin))).astype(int)
    z[dom == "d2"] = 0
    z[(dom == "solo") | (dom == "one_stratum")] = 1
    k = rng.poisson(np.exp(0.3 + 0.03 * x + 0.4 * (sex == "m")))
    latent = 0.05 * x + 0.6 * (a == "a2") + rng.logistic(0, 1, n)
    ord_ = 1 + np.searchsorted([0.5, 1.5, 2.5], latent)
    columns = {
        "id": np.arange(1, n + 1),
        "stratum": stratum,
        "psu": psu,
        "fpc": fpc,
        "d": d,
        "dom": dom,
        "a": a,
        "b": b,
        "sex": sex,
        "x": x,
        "y": np.where(y_missing, np.nan, y),
        "z": z,
        "k": k,
        "ord": ord_,
    }
    # post-stratification cells a x b: the base-weight totals moved by 0.8-1.25
    cells = {
        f"{i}|{j}": round(float(d[(a == i) & (b == j)].sum()) * rng.uniform(0.8, 1.25), 3)
        for i in ("a1", "a2")
        for j in ("b1", "b2", "b3")
    }
    return columns, {"ab": cells}


# Calibration and multistage samples (``calib.R`` reads them): name -> (seed,
# PSUs per stratum, SSUs per PSU range, take-all strata). Two stages, an fpc
# at each (counts), a take-all stratum (its variance is stage 2's only).
CALIB = {
    "ce_d": (6021127, [3, 2, 5, 4, 2], (2, 5), (1,)),
}


def make_calib(seed, psus_per_stratum, ssu_range, take_all):
    """A stratified two-stage sample (PSU, then SSUs of 1-4 rows) with
    population counts ``N1`` (PSUs of the stratum) and ``N2`` (SSUs of the
    PSU), base weights spread over two orders of magnitude, a row variable
    ``v`` for heteroskedastic calibration, and the margins of ``a``, ``b``
    and ``x`` to calibrate to (moved 0.8-1.25 from the base-weight totals).
    """
    rng = np.random.default_rng(seed)
    rows = []
    for h, m in enumerate(psus_per_stratum):
        N1 = m if h in take_all else m * int(rng.integers(2, 9))
        for j in range(m):
            k = int(rng.integers(ssu_range[0], ssu_range[1] + 1))
            N2 = k * int(rng.integers(1, 6))
            psu_w = N1 / m * N2 / k * np.exp(rng.normal(0, 0.8))
            for s in range(k):
                for _ in range(int(rng.integers(1, 5))):
                    psu = f"s{h + 1}p{j + 1}"
                    rows.append((h, psu, f"{psu}u{s + 1}", N1, N2, psu_w * rng.uniform(0.7, 1.4)))
    n = len(rows)
    h_num = np.array([r[0] for r in rows])
    d = np.round(np.array([r[5] for r in rows]), 6)
    a = rng.choice(["a1", "a2"], n, p=[0.55, 0.45])
    b = rng.choice(["b1", "b2", "b3"], n, p=[0.5, 0.35, 0.15])
    dom = rng.choice(["d1", "d2", "d3"], n, p=[0.5, 0.35, 0.15])
    sex = rng.choice(["f", "m"], n)
    x = np.round(rng.gamma(2.5, 6.0, n) + 2 * h_num, 4)
    y = np.round(3 + 0.5 * x + 2 * (a == "a2") - 1.5 * (b == "b3") + rng.normal(0, 4, n), 4)
    y_missing = rng.random(n) < 0.1
    k = rng.poisson(np.exp(0.2 + 0.03 * x + 0.3 * (a == "a2")))
    z = (rng.random(n) < 1 / (1 + np.exp(1.0 - 0.05 * x))).astype(int)
    latent = 0.06 * x + 0.5 * (a == "a2") + rng.logistic(0, 1, n)
    columns = {
        "id": np.arange(1, n + 1),
        "stratum": np.array([f"s{h + 1}" for h in h_num]),
        "psu": np.array([r[1] for r in rows]),
        "ssu": np.array([r[2] for r in rows]),
        "N1": np.array([r[3] for r in rows]),
        "N2": np.array([r[4] for r in rows]),
        "d": d,
        "a": a,
        "b": b,
        "dom": dom,
        "sex": sex,
        "x": x,
        "v": np.round(1 + x / 10, 4),
        "y": np.where(y_missing, np.nan, y),
        "z": z,
        "k": k,
        "ord": 1 + np.searchsorted([0.8, 1.8, 2.8], latent),
    }
    move = lambda: rng.uniform(0.8, 1.25)  # noqa: E731
    N = float(d.sum()) * move()
    a2 = float(d[a == "a2"].sum() / d.sum()) * N * move()
    b2 = float(d[b == "b2"].sum() / d.sum()) * N * move()
    b3 = float(d[b == "b3"].sum() / d.sum()) * N * move()
    N, a2, b2, b3 = (round(v, 3) for v in (N, a2, b2, b3))
    margins = {  # the first categories by subtraction: every margin sums to N
        "N": N,
        "a": {"a1": N - a2, "a2": a2},
        "b": {"b1": N - b2 - b3, "b2": b2, "b3": b3},
        "x_total": round(float(d @ x) / d.sum() * N * move(), 3),
        # g bounds for logit, absolute weight bounds (bounds.const), trimming
        "bounds": [0.6, 1.7],
        "weight_bounds": [
            round(float(np.quantile(d, 0.1)), 3),
            round(float(np.quantile(d, 0.9)) * 1.1, 3),
        ],
        "trim": [round(float(np.quantile(d, 0.05)), 3), round(float(np.quantile(d, 0.95)), 3)],
    }
    return columns, margins


# PPS samples without replacement (``calib.R``): name -> (seed, PSUs sampled
# per stratum, PSUs in the population per stratum, cluster size range).
PPS = {
    "ce_e": (7100413, [4, 6, 3], [15, 22, 9], (1, 4)),
}


def make_pps(seed, sampled, population, cluster_range):
    """A stratified sample of PSUs drawn with probability proportional to a
    size measure (the inclusion probabilities ``pi`` computed from the
    stratum's population sizes, below 1), clusters of 1-4 rows, the outcomes
    of :func:`make_calib` and margins of ``a`` for calibration."""
    rng = np.random.default_rng(seed)
    rows = []
    for h, (m, M) in enumerate(zip(sampled, population)):
        size = rng.gamma(4.0, 5.0, M) + 5
        pi = m * size / size.sum()
        assert pi.max() < 1
        for j in np.sort(rng.choice(M, m, replace=False, p=pi / pi.sum())):
            for _ in range(int(rng.integers(cluster_range[0], cluster_range[1] + 1))):
                rows.append((h, f"s{h + 1}p{j + 1:02d}", round(float(pi[j]), 8)))
    n = len(rows)
    h_num = np.array([r[0] for r in rows])
    pi = np.array([r[2] for r in rows])
    a = rng.choice(["a1", "a2"], n, p=[0.55, 0.45])
    dom = rng.choice(["d1", "d2", "d3"], n, p=[0.5, 0.35, 0.15])
    x = np.round(rng.gamma(2.5, 6.0, n) + 2 * h_num, 4)
    y = np.round(3 + 0.5 * x + 2 * (a == "a2") + rng.normal(0, 4, n), 4)
    y_missing = rng.random(n) < 0.1
    k = rng.poisson(np.exp(0.2 + 0.03 * x + 0.3 * (a == "a2")))
    columns = {
        "id": np.arange(1, n + 1),
        "stratum": np.array([f"s{h + 1}" for h in h_num]),
        "psu": np.array([r[1] for r in rows]),
        "pi": pi,
        "d": 1 / pi,
        "a": a,
        "dom": dom,
        "x": x,
        "y": np.where(y_missing, np.nan, y),
        "k": k,
    }
    N = float((1 / pi).sum()) * rng.uniform(0.9, 1.1)
    a2 = round(float((1 / pi)[a == "a2"].sum() / (1 / pi).sum()) * N * rng.uniform(0.85, 1.15), 3)
    N = round(N, 3)
    return columns, {"N": N, "a": {"a1": N - a2, "a2": a2}}


if __name__ == "__main__":
    for name, spec in DATASETS.items():
        write(name, *make(*spec))
    for name, spec in EDGE.items():
        write(name, *make_edge(*spec))
    for name, spec in CALIB.items():
        write(name, *make_calib(*spec))
    for name, spec in PPS.items():
        write(name, *make_pps(*spec))
