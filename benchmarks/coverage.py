"""Coverage study of kalib's confidence intervals on the CATI design.

A synthetic finite population is built on the SSB register margins: the
sector x size strata counts of ``estimators.surveys.employers.design_strata()``, split
over the collapsed NACE groups by raking the bundled sample's stratum x group
table to the register's group margin (integer cells by largest remainder).
Five binary key-rate outcomes are drawn once for every population unit from
main-effects logistic models (sector + size class + NACE group) fitted to the
bundled survey, so the population has the survey's heterogeneity.

Each replication draws a stratified simple random sample shaped like the CATI
design (the survey's allocation over the 8 sector x size strata, n = 1000),
rakes the N_h/n_h base weights to the population's size-class, NACE-group and
sector counts, and estimates the five rates for the whole population, by
sector and by size class (35 estimands), with each variance method
(linearization; rescaling bootstrap and JKn, both re-calibrated per replicate)
and each CI method (logit, beta, xlogit, Wilson, Wald; percentile for the
bootstrap). Coverage is the share of (replication, estimand) pairs whose
interval contains the population value; its Monte Carlo interval is Wilson's
95% interval taking the number of replications as the sample size
(``mc_interval``; the estimands of one replication are correlated, so this is
the conservative choice).

Run (not part of the test suite)::

    python benchmarks/coverage.py --samples 2000 --replicates 200 --workers 2

or on Dask (``--scheduler threads|processes|ADDRESS``: the replications as
futures or a bag through ``estimators.scale.run_study``, gathered into one
xarray Dataset along ``sample``).

and it writes ``benchmarks/COVERAGE.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from estimators.inference import ci as cimod
from estimators.inference.estimate import Item, domain_covariance
from estimators.inference.variance import replicate_covariance
from weighting.design import Design
from weighting.margins import Margin

OUTCOMES = {  # key rate -> (column, value) in the bundled survey
    "trainee_now_rate": ("trainee_now", "yes"),
    "trainee_ever_rate": ("trainee_ever", "yes"),
    "accommodation_experience_rate": ("accommodation_experience", "yes"),
    "competence_need_distribution.higher_education": ("competence_need", "higher_education"),
    "alternative_tasks_rates.part_time": ("alternative_tasks.part_time", "yes"),
}
DOMAINS = ("all", "sector", "size_class")
VARIANCES = ("linearization", "bootstrap", "jkn")
METHODS = ("logit", "beta", "xlogit", "wilson", "wald", "percentile")
LEVEL = 0.95
SEED = 20170602


# -- population -------------------------------------------------------------------


def build_population(seed: int = SEED) -> pd.DataFrame:
    """The synthetic population (one row per establishment)."""
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    from estimators.surveys.employers import design_strata, load_cati, load_register_margins

    survey = load_cati()
    strata = design_strata().set_index("stratum")["register_count"]
    groups = next(m for m in load_register_margins() if m.variables == ("nace_group",))
    group_total = pd.Series({k[0]: v for k, v in groups.table.items()})
    seed_table = (
        pd.crosstab(survey["stratum"], survey["nace_group"]).reindex(
            index=strata.index, columns=group_total.index, fill_value=0
        )
        + 0.5
    )
    cells = seed_table.to_numpy(float).copy()
    for _ in range(200):  # raking the seed table to both margins
        cells *= (strata.to_numpy() / cells.sum(axis=1))[:, None]
        cells *= group_total.to_numpy() / cells.sum(axis=0)
    counts = np.vstack([_round_row(row, total) for row, total in zip(cells, strata.to_numpy())])
    h, g = np.nonzero(counts)
    pop = pd.DataFrame(
        {
            "stratum": np.repeat(strata.index.to_numpy()[h], counts[h, g]),
            "nace_group": np.repeat(group_total.index.to_numpy()[g], counts[h, g]),
        }
    )
    pop[["sector", "size_class"]] = pop["stratum"].str.split(":", expand=True)
    rng = np.random.default_rng(seed)
    for rate, (column, value) in OUTCOMES.items():
        frame = survey[["sector", "size_class", "nace_group"]].copy()
        frame["y"] = (survey[column] == value).astype(float)
        fit = smf.glm(
            "y ~ sector + size_class + nace_group",
            frame[survey[column].notna()],
            family=sm.families.Binomial(),
        ).fit()
        p = fit.predict(pop[["sector", "size_class", "nace_group"]]).to_numpy()
        pop[rate] = (rng.random(len(pop)) < p).astype(float)
    return pop


def _round_row(row, total):
    """Integers summing to ``total`` (largest remainder)."""
    floor = np.floor(row).astype(np.int64)
    short = int(total - floor.sum())
    floor[np.argsort(floor - row)[:short]] += 1
    return floor


def population_margins(pop):
    return [
        Margin(v, pop[v].value_counts().to_dict()) for v in ("size_class", "nace_group", "sector")
    ]


def truth(pop) -> dict:
    """Population value of every (rate, domain spec, label)."""
    out = {}
    for spec in DOMAINS:
        keys = pop[spec] if spec != "all" else pd.Series("all", index=pop.index)
        for rate in OUTCOMES:
            for label, value in pop.groupby(keys)[rate].mean().items():
                out[(rate, spec, label)] = value
    return out


# -- one replication --------------------------------------------------------------

_STATE = {}


def _init(pop, allocation, margins, targets, B):
    """Worker set-up: the population and settings are sent once per process."""
    _STATE.update(
        pop=pop,
        allocation=allocation,
        margins=margins,
        targets=targets,
        B=B,
        stratum_rows={h: np.flatnonzero(pop["stratum"].to_numpy() == h) for h in allocation},
        N_h=pop["stratum"].value_counts(),
    )


def one_sample(s):
    """Coverage indicators (variance, method, estimand) and interval widths."""
    pop, allocation, margins, targets, B = (
        _STATE[k] for k in ("pop", "allocation", "margins", "targets", "B")
    )
    rng = np.random.default_rng([SEED, s])
    rows = np.concatenate(
        [rng.choice(_STATE["stratum_rows"][h], n, replace=False) for h, n in allocation.items()]
    )
    sample = pop.iloc[rows].reset_index(drop=True)
    sample["N_h"] = sample["stratum"].map(_STATE["N_h"])
    base = Design(sample, strata="stratum", fpc="N_h")
    designs = {
        "linearization": base,
        "bootstrap": base.with_replicates("bootstrap", replicates=B, seed=s),
        "jkn": base.with_replicates("jkn"),
    }
    items = [
        Item(
            rate,
            sample[rate].to_numpy(),
            np.ones(len(sample)),
            np.ones(len(sample), bool),
            "proportion",
        )
        for rate in OUTCOMES
    ]
    covered = {}
    width = {}
    for variance, design in designs.items():
        design = design.calibrate(margins, distance="raking", tol=1e-10)
        for spec in DOMAINS:
            theta, cov, labels, reps = domain_covariance(design, items, spec)
            G, m = theta.shape
            var = np.diag(cov).reshape(G, m)
            se = np.sqrt(var)
            labels_col = sample[spec] if spec != "all" else pd.Series("all", index=sample.index)
            n = np.array([[np.sum(labels_col == lab)] * m for lab in labels], float)
            if reps is None:
                strata = sample["stratum"]
                df = np.array(
                    [
                        [len(labels_col[labels_col == lab]) - strata[labels_col == lab].nunique()]
                        * m
                        for lab in labels
                    ],
                    float,
                )
                se_logit = None
            else:
                df = np.full((G, m), float(design.degf))
                logit = np.log(reps / (1 - reps)).reshape(reps.shape[0], -1)
                full = np.log(theta / (1 - theta)).reshape(-1)
                se_logit = np.sqrt(
                    np.diag(
                        replicate_covariance(full, logit, design.scale, design.rscales, design.mse)
                    )
                ).reshape(G, m)
            true = np.array([[targets[(rate, spec, lab)] for rate in OUTCOMES] for lab in labels])
            for method in METHODS:
                if method == "percentile" and variance != "bootstrap":
                    continue
                low, high = cimod.proportion_ci(
                    theta,
                    se,
                    method=method,
                    df=df,
                    n=n,
                    level=LEVEL,
                    se_logit=se_logit,
                    replicates=reps,
                )
                for g, lab in enumerate(labels):
                    for j, rate in enumerate(OUTCOMES):
                        key = (variance, method, rate, spec, lab)
                        covered[key] = bool(low[g, j] <= true[g, j] <= high[g, j])
                        width[key] = float(high[g, j] - low[g, j])
    return covered, width


# -- summary ----------------------------------------------------------------------


def mc_interval(hits: int, total: int, level=0.95):
    """Wilson interval for a coverage proportion estimated from ``total``
    independent replications (Monte Carlo uncertainty)."""
    low, high = cimod.wilson_ci(hits / total, total, level)
    return float(low), float(high)


def summarise(records, samples, n_by_domain, elapsed, B) -> str:
    cov = pd.DataFrame(
        [(k[0], k[1], k[2], k[3], k[4], v) for k, v in records["covered"]],
        columns=["variance", "method", "rate", "spec", "domain", "covered"],
    )
    wid = pd.DataFrame(
        [(k[0], k[1], v) for k, v in records["width"]], columns=["variance", "method", "width"]
    )
    lines = [
        "# Coverage of kalib's 95% confidence intervals (CATI design)",
        "",
        f"`python benchmarks/coverage.py --samples {samples} --replicates {B}` "
        f"({elapsed / 60:.1f} min). Synthetic population of "
        f"{records['N']} establishments on the SSB register margins; {samples} stratified "
        "samples with the CATI allocation (n = 1000, 8 sector x size strata); raking to "
        "size class, NACE group and sector; five key rates (trainee now, trainee ever, "
        "accommodation experience, higher education most needed, part-time alternative "
        "tasks) for the whole population, by sector and by size class: 35 estimands, "
        f"every domain with base >= {min(n_by_domain.values())}. Bootstrap: Rao-Wu-Yue "
        f"rescaling, B = {B}, re-calibrated per replicate; JKn: one replicate per PSU, "
        "re-calibrated.",
        "",
        "Coverage = share of (sample, estimand) pairs whose interval holds the population "
        "value. MC interval: Wilson 95% interval with the number of samples as the "
        "sample size (pairs within a sample are correlated, so this is the honest, "
        "wider choice).",
        "",
        "## All 35 estimands",
        "",
        "| variance | CI | coverage % | MC interval % | meets 94-96 | mean width |",
        "|---|---|---|---|---|---|",
    ]
    for (variance, method), grp in cov.groupby(["variance", "method"], sort=False):
        rate = grp["covered"].mean()
        low, high = mc_interval(rate * samples, samples)
        meets = "yes" if low <= 0.96 and high >= 0.94 else "no"
        w = wid[(wid.variance == variance) & (wid.method == method)]["width"].mean()
        lines.append(
            f"| {variance} | {method} | {100 * rate:.2f} | "
            f"{100 * low:.2f}-{100 * high:.2f} | {meets} | {w:.4f} |"
        )
    lines += [
        "",
        "## By domain (coverage %, MC interval)",
        "",
        "| variance | CI | " + " | ".join(f"{s}={d}" for s, d in n_by_domain) + " |",
        "|---|---|" + "---|" * len(n_by_domain),
    ]
    for (variance, method), grp in cov.groupby(["variance", "method"], sort=False):
        cells = []
        for spec, dom in n_by_domain:
            c = grp[(grp.spec == spec) & (grp.domain == dom)]["covered"].mean()
            low, high = mc_interval(c * samples, samples)
            cells.append(f"{100 * c:.1f} ({100 * low:.1f}-{100 * high:.1f})")
        lines.append(f"| {variance} | {method} | " + " | ".join(cells) + " |")
    lines += ["", "## Reading", ""] + findings(cov, wid, samples)
    lines += [
        "",
        "Domain base sizes (n): "
        + ", ".join(f"{s}={d}: {n}" for (s, d), n in n_by_domain.items()),
        "",
    ]
    return "\n".join(lines)


def findings(cov, wid, samples) -> list[str]:
    """Sentences computed from the table: the target, and beta / Wald /
    percentile against logit on the same samples."""
    rate = cov.groupby(["variance", "method"])["covered"].mean()
    width = wid.groupby(["variance", "method"])["width"].mean()
    out = []
    for variance in ("bootstrap", "jkn"):
        parts = []
        for method in ("logit", "wilson"):
            low, high = mc_interval(rate[variance, method] * samples, samples)
            ok = "meets" if low <= 0.96 and high >= 0.94 else "misses"
            parts.append(
                f"{method} {100 * rate[variance, method]:.2f}% "
                f"(MC {100 * low:.2f}-{100 * high:.2f}, {ok} the 94-96% band)"
            )
        out.append(f"- Target, {variance} replicate variance: " + "; ".join(parts) + ".")
    for variance in VARIANCES:
        beta = rate[variance, "beta"] - rate[variance, "logit"]
        wald = rate[variance, "wald"] - rate[variance, "logit"]
        wider = 100 * (width[variance, "beta"] / width[variance, "logit"] - 1)
        beta_note = (
            "over-coverage, as expected of Korn-Graubard" if beta > 0 else "no over-coverage here"
        )
        wald_note = "under-coverage, as expected" if wald < 0 else "no under-coverage here"
        out.append(
            f"- {variance}: beta {100 * beta:+.2f} points against logit with {wider:+.1f}% "
            f"wider intervals ({beta_note}); Wald {100 * wald:+.2f} points ({wald_note}; "
            "every domain has n >= 200 and no rate is near 0 or 1, so the "
            "differences are small)."
        )
    pct = rate["bootstrap", "percentile"]
    out.append(
        f"- Bootstrap percentile: {100 * pct:.2f}%"
        + (
            " (below nominal: with B replicates the tail quantiles are noisy and "
            "the interval ignores the t correction)."
            if pct < 0.95
            else "."
        )
    )
    return out


SEP = "|"


def study_sample(s, shared):
    """``one_sample`` as a task of ``estimators.scale.run_study``: the shared
    inputs set up once per worker, the result flattened to named scalars."""
    if not _STATE:
        _init(*shared)
    covered, width = one_sample(s)
    return {
        **{SEP.join(("covered",) + k): v for k, v in covered.items()},
        **{SEP.join(("width",) + k): v for k, v in width.items()},
    }


def run_on_dask(args, shared):
    """Every replication on ``args.scheduler``; (covered, width) pairs as from
    the process pool."""
    from estimators.scale.studies import run_study

    ds = run_study(
        study_sample, range(args.samples), shared=shared, scheduler=args.scheduler, dim="sample"
    )
    out = {"covered": [], "width": []}
    for name in ds.data_vars:
        kind, *key = name.split(SEP)
        out[kind] += [(tuple(key), value) for value in ds[name].values.tolist()]
    return out["covered"], out["width"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--replicates", type=int, default=200)
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument(
        "--scheduler",
        metavar="threads|processes|ADDRESS",
        help="run the replications on Dask instead of a process pool",
    )
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "COVERAGE.md")
    args = ap.parse_args(argv)
    start = time.time()
    pop = build_population()
    from estimators.surveys.employers import design_strata

    allocation = design_strata().set_index("stratum")["sample_n"].to_dict()
    margins = population_margins(pop)
    targets = truth(pop)
    covered, width = [], []
    shared = (pop, allocation, margins, targets, args.replicates)
    if args.scheduler:
        covered, width = run_on_dask(args, shared)
    else:
        with ProcessPoolExecutor(args.workers, initializer=_init, initargs=shared) as pool:
            replications = pool.map(one_sample, range(args.samples), chunksize=10)
            for i, (c, w) in enumerate(replications):
                covered += c.items()
                width += w.items()
                if (i + 1) % 100 == 0:
                    print(
                        f"{i + 1}/{args.samples} samples, {time.time() - start:.0f} s",
                        file=sys.stderr,
                    )
    sample_n = {("all", "all"): 1000}
    for spec in ("sector", "size_class"):
        for stratum, n in allocation.items():
            sector, size = stratum.split(":")
            key = (spec, sector if spec == "sector" else size)
            sample_n[key] = sample_n.get(key, 0) + n
    text = summarise(
        {"covered": covered, "width": width, "N": len(pop)},
        args.samples,
        sample_n,
        time.time() - start,
        args.replicates,
    )
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
