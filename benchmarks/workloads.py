"""Deterministic benchmark workloads: a stratified business sample and its margins.

Every suite under ``benchmarks/`` and every peer runner (R ``survey``, ``svy``,
``samplics``, ``balance``, ``weightipy``) works on the data made here, so that
all timings are of the same problem. The design mirrors the SINTEF/NAV
employer survey at any size n:

* strata: sector (private, public) x size class (1-4, 5-19, 20-49, 50+), the
  8 quota cells; 20% of the sample public, the private part split 30/30/20/20
  over the size classes; base weight N_h / n_h;
* a NACE grouping with 12 categories whose mix depends on the stratum;
* 5 binary outcomes whose rates depend on sector, size and NACE group;
* two calibration margins: sector x size (8 cells) and NACE group (12 cells),
  perturbed away from the base-weighted sample totals so that raking has work
  to do, both summing to the same population total.

Inputs are integer codes (``int8``); :meth:`Workload.strings` gives the same
columns as text for timing the encoding step on its own. Everything follows
from ``(SEED, n)``: the same n gives the same bytes on every machine.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

SEED = 20170602
SIZES = {"1e3": 1_000, "1e5": 100_000, "1e6": 1_000_000}

SECTORS = ("private", "public")
SIZE_CLASSES = ("1-4", "5-19", "20-49", "50+")
NACE_GROUPS = ("A", "B-E", "F", "G", "H", "I", "J-K", "L-N", "O", "P", "Q", "R-S")
OUTCOMES = ("y1", "y2", "y3", "y4", "y5")

# Population share of each stratum (sector-major, size-minor order), roughly
# the Norwegian register: many small private firms, few large public units.
POPULATION_SHARE = np.array([0.55, 0.28, 0.08, 0.04, 0.01, 0.02, 0.012, 0.008])
# The survey's quota: 20% public spread evenly, 80% private at 30/30/20/20.
SAMPLE_SHARE = np.array([0.24, 0.24, 0.16, 0.16, 0.05, 0.05, 0.05, 0.05])
# Businesses in the population per sampled business.
POPULATION_PER_UNIT = 300
# PSUs for the jackknife suites: units are grouped into about this many
# clusters at every n, so that JKn has ~1000 replicates whatever the size.
CLUSTERS = 1000


@dataclass(frozen=True)
class Workload:
    """One benchmark problem of size n (all arrays have length n)."""

    n: int
    sector: np.ndarray  # int8 code into SECTORS
    size_class: np.ndarray  # int8 code into SIZE_CLASSES
    stratum: np.ndarray  # int8, sector * 4 + size_class
    cluster: np.ndarray  # int64 PSU within stratum, ~CLUSTERS PSUs in all
    nace: np.ndarray  # int8 code into NACE_GROUPS
    base_weight: np.ndarray  # float64, N_h / n_h
    outcomes: np.ndarray  # (n, 5) float64 of 0/1
    sector_size_totals: np.ndarray  # (8,) population, index = stratum code
    nace_totals: np.ndarray  # (12,) population, index = nace code

    def columns(self) -> dict[str, np.ndarray]:
        """The sample as a mapping of column name to array (integer codes)."""
        cols = {
            "id": np.arange(1, self.n + 1, dtype=np.int64),
            "sector": self.sector,
            "size_class": self.size_class,
            "stratum": self.stratum,
            "cluster": self.cluster,
            "nace": self.nace,
            "weight": self.base_weight,
        }
        cols.update({name: self.outcomes[:, j] for j, name in enumerate(OUTCOMES)})
        return cols

    def strings(self) -> dict[str, np.ndarray]:
        """The calibration variables as text labels (for timing encoding)."""
        return {
            "sector": np.asarray(SECTORS)[self.sector],
            "size_class": np.asarray(SIZE_CLASSES)[self.size_class],
            "nace": np.asarray(NACE_GROUPS)[self.nace],
        }

    def margin_tables(self, labels: bool = False) -> dict[str, dict]:
        """Population margins as ``{name: {category: total}}``.

        ``sector_size`` is keyed by ``(sector, size_class)`` tuples, ``nace``
        by category. Keys are integer codes, or text labels with ``labels``.
        """
        sec = SECTORS if labels else range(len(SECTORS))
        siz = SIZE_CLASSES if labels else range(len(SIZE_CLASSES))
        nac = NACE_GROUPS if labels else range(len(NACE_GROUPS))
        cross = [(a, b) for a in sec for b in siz]
        return {
            "sector_size": {key: float(t) for key, t in zip(cross, self.sector_size_totals)},
            "nace": {key: float(t) for key, t in zip(nac, self.nace_totals)},
        }

    def fingerprint(self) -> str:
        """SHA-256 of every array: changes whenever the generator does."""
        digest = hashlib.sha256()
        for array in (*self.columns().values(), self.sector_size_totals, self.nace_totals):
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()

    def write(self, directory: str | os.PathLike) -> Path:
        """Write the workload for the peer tools; return the directory.

        Files: ``data.parquet`` and ``data.csv`` (integer codes), the margins
        ``margin_stratum.csv`` (stratum code = sector * 4 + size class; the
        sector x size margin as one variable) and ``margin_nace.csv``, and
        ``meta.json``. Output already written from the same arrays (same
        fingerprint) is reused.
        """
        import pandas as pd  # only the writer needs pandas; the suites do not

        out = Path(directory)
        meta = out / "meta.json"
        fingerprint = self.fingerprint()
        if meta.exists() and json.loads(meta.read_text()).get("fingerprint") == fingerprint:
            return out
        out.mkdir(parents=True, exist_ok=True)
        frame = pd.DataFrame(self.columns())
        for name in OUTCOMES:
            frame[name] = frame[name].astype(np.int8)
        frame.to_parquet(out / "data.parquet", index=False)
        frame.to_csv(out / "data.csv", index=False)
        pd.DataFrame({"stratum": np.arange(8), "total": self.sector_size_totals}).to_csv(
            out / "margin_stratum.csv", index=False, float_format="%.17g"
        )
        pd.DataFrame({"nace": np.arange(len(NACE_GROUPS)), "total": self.nace_totals}).to_csv(
            out / "margin_nace.csv", index=False, float_format="%.17g"
        )
        # meta.json last: its presence marks the directory as complete.
        tmp = meta.with_suffix(".tmp")
        tmp.write_text(
            json.dumps(
                {"n": self.n, "seed": SEED, "outcomes": list(OUTCOMES), "fingerprint": fingerprint}
            )
        )
        tmp.replace(meta)
        return out


def _allocate(n: int, shares: np.ndarray) -> np.ndarray:
    """Integer sample sizes summing to n, proportional to shares (largest remainder)."""
    raw = shares * n
    counts = np.floor(raw).astype(np.int64)
    counts[np.argsort(counts - raw)[: n - counts.sum()]] += 1
    return np.maximum(counts, 2)  # two units per stratum: variance needs them


@lru_cache(maxsize=4)
def make_workload(n: int, seed: int = SEED) -> Workload:
    """Generate the workload of size n from ``SeedSequence([seed, n])``.

    Cached: the suites call it once per size and share the (read-only) arrays.
    """
    if n < 100:
        raise ValueError(f"workload size n={n} is too small: every NACE group needs respondents")
    rng = np.random.default_rng(np.random.SeedSequence([seed, n]))
    n_h = _allocate(n, SAMPLE_SHARE)
    n = int(n_h.sum())
    population = POPULATION_SHARE * POPULATION_PER_UNIT * n
    stratum = np.repeat(np.arange(8, dtype=np.int8), n_h)
    rng.shuffle(stratum)  # rows in no particular order, as in a survey file
    sector = (stratum // 4).astype(np.int8)
    size_class = (stratum % 4).astype(np.int8)
    base_weight = (population / n_h)[stratum]
    # Cluster = rank of the unit within its stratum // units per cluster.
    rank = np.empty(n, dtype=np.int64)
    order = np.argsort(stratum, kind="stable")
    rank[order] = np.arange(n) - np.repeat(np.cumsum(n_h) - n_h, n_h)
    cluster = rank // max(1, n // CLUSTERS)

    # NACE mix per stratum: a Dirichlet draw around a common profile, so that
    # the NACE margin is correlated with the strata and raking must iterate.
    profile = np.array([2, 10, 12, 16, 6, 7, 6, 12, 4, 6, 12, 7], dtype=float)
    mix = rng.dirichlet(profile * 3.0, size=8)
    cum = np.cumsum(mix, axis=1)
    cum[:, -1] = 1.0
    nace = (rng.random(n)[:, None] > cum[stratum]).sum(axis=1).astype(np.int8)

    # Outcome rates between ~10% and ~70%, driven by size, sector and NACE.
    effects_size = np.array([-0.8, -0.2, 0.3, 0.8])
    effects_nace = rng.normal(0.0, 0.4, size=len(NACE_GROUPS))
    intercepts = np.array([-1.0, -0.3, 0.0, 0.4, -1.5])
    eta = (
        intercepts[None, :]
        + effects_size[size_class][:, None]
        + 0.5 * sector[:, None]
        + effects_nace[nace][:, None]
    )
    outcomes = (rng.random((n, len(OUTCOMES))) < 1.0 / (1.0 + np.exp(-eta))).astype(np.float64)

    # Margins: the base-weighted totals, perturbed (non-response, register
    # updates), then scaled to one common population total.
    grand = population.sum()
    strat_tot = np.bincount(stratum, base_weight, minlength=8) * np.exp(rng.normal(0, 0.05, 8))
    nace_tot = np.bincount(nace, base_weight, minlength=len(NACE_GROUPS)) * np.exp(
        rng.normal(0, 0.15, len(NACE_GROUPS))
    )
    return Workload(
        n=n,
        sector=sector,
        size_class=size_class,
        stratum=stratum,
        cluster=cluster,
        nace=nace,
        base_weight=base_weight,
        outcomes=outcomes,
        sector_size_totals=strat_tot * grand / strat_tot.sum(),
        nace_totals=nace_tot * grand / nace_tot.sum(),
    )


def selected_sizes(default: str = "1e3,1e5") -> dict[str, int]:
    """Workload sizes chosen by ``KALIB_BENCH_SIZES`` (e.g. ``1e3,1e5,1e6``).

    Direct ``pytest benchmarks/`` runs stay quick with the default; ``make
    bench`` (run_bench.py) sets all three sizes for the nightly run.
    """
    names = os.environ.get("KALIB_BENCH_SIZES", default).replace(" ", "").split(",")
    unknown = [name for name in names if name not in SIZES]
    if unknown:
        raise ValueError(
            f"KALIB_BENCH_SIZES: unknown size(s) {unknown}; choose from {list(SIZES)}"
        )
    return {name: SIZES[name] for name in names}
