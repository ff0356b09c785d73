"""Register-scale synthetic business samples (tests and the scale benchmark).

Rows are shaped like the employer survey: sector × size-class strata, twelve
NACE sections, five 0/1 outcomes whose rates depend on sector and size. Each
part is generated from its own ``SeedSequence(seed).spawn`` child, so a
sample of any size can be written part by part without holding it in memory,
and the same parts come out whoever writes them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from weighting.margins import Margin

SECTORS = ("private", "public")
SIZES = ("1-4", "5-19", "20-49", "50+")
NACE = tuple("CFGHIJMNOPQS")
OUTCOMES = tuple(f"y{j}" for j in range(1, 6))
# Population share of each sector × size stratum, and the sample's (quotas).
POPULATION_SHARE = np.array([0.55, 0.22, 0.07, 0.03, 0.03, 0.04, 0.03, 0.03])
SAMPLE_SHARE = np.array([0.24, 0.24, 0.16, 0.16, 0.05, 0.05, 0.05, 0.05])
POPULATION_PER_RESPONDENT = 3.0


def sample_part(
    n: int, seed: int, part: int, clusters: int | None = None, first_id: int = 0
) -> dict:
    """Rows ``first_id`` to ``first_id + n - 1`` of a sample, as a dict of arrays.

    Stratum, NACE section and outcomes are drawn from part ``part``'s own
    stream; ``psu`` is ``id mod clusters`` (so at most ``clusters`` PSUs per
    stratum), or the id itself.
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(part + 1)[part])
    stratum = rng.choice(8, n, p=SAMPLE_SHARE)
    sector = np.array(SECTORS)[stratum // 4]
    size = np.array(SIZES)[stratum % 4]
    nace = np.array(NACE)[(rng.integers(0, 12, n) + 5 * (stratum // 4)) % 12]
    # rates rise with size class, outcome index and the public sector
    rate = (
        0.15 + 0.1 * (stratum % 4)[:, None] + 0.05 * np.arange(5) + 0.1 * (stratum // 4)[:, None]
    )
    y = (rng.random((n, 5)) < rate).astype(np.float64)
    ids = first_id + np.arange(n, dtype=np.int64)
    out = {
        "id": ids,
        "sector": sector,
        "size_class": size,
        "nace": nace,
        "stratum": np.char.add(np.char.add(sector, ":"), size),
        "psu": ids if clusters is None else ids % clusters,
    }
    out.update({name: y[:, j] for j, name in enumerate(OUTCOMES)})
    return out


def sample(n: int, seed: int = 1, clusters: int | None = None) -> dict:
    """A whole sample of n rows in memory (one part)."""
    return sample_part(n, seed, 0, clusters)


def margins(n: int) -> list:
    """Sector × size and NACE margins of a population of about 3 n businesses."""
    N = POPULATION_PER_RESPONDENT * n
    cross = {
        (SECTORS[s // 4], SIZES[s % 4]): N * share for s, share in enumerate(POPULATION_SHARE)
    }
    weights = 1.0 + 0.05 * np.arange(12)
    nace = dict(zip(NACE, N * weights / weights.sum()))
    return [Margin(("sector", "size_class"), cross), Margin("nace", nace)]


def write_parquet(
    path, n: int, seed: int = 1, rows_per_file: int = 1_000_000, clusters: int | None = None
) -> Path:
    """Write an n-row sample as a directory of parquet files, part by part."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    for part, first in enumerate(range(0, n, rows_per_file)):
        rows = sample_part(min(rows_per_file, n - first), seed, part, clusters, first)
        pq.write_table(pa.table(rows), path / f"part-{part:05d}.parquet")
    return path
