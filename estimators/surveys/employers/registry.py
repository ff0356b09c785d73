"""SSB register margins for the employer survey, the NACE collapsing rule and
the design (strata and base weights).

Population: establishments ("virksomheter") with at least one employee in the
Central Register of Establishments and Enterprises, 1 January 2018 (SSB table
07091; the register state closest after the June-August 2017 fieldwork).
See ``docs/data.md`` (Register margins) for the provenance of every cell.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from estimators.io.files import write_atomic

REGISTER_FILE = "ssb_establishments_2018-01-01.csv"
REFERENCE_DATE = "2018-01-01"
SOURCE = "SSB StatBank 07091 / release 'Virksomheter' 2018-01-26 (ssb.no), via shared/register"
SIZES = ["1-4", "5-19", "20-49", "50+"]
SECTIONS = list("ABCDEFGHIJKLMNOPQRST")
MIN_RESPONDENTS = 20
VARIANTS = {"central": 0.13, "low_public": 0.11, "high_public": 0.16}

#: Respondents per NACE section (Tabell 5.2).
SAMPLE_NACE_COUNTS = dict(
    zip(SECTIONS, [19, 6, 106, 8, 12, 71, 237, 39, 45, 31, 14, 27, 81, 32, 29, 75, 99, 24, 44, 1])
)

# Register size classes -> the survey's four classes.
_SIZE_MAP = {
    "1-4": "1-4",
    "5-9": "5-19",
    "10-19": "5-19",
    "20-49": "20-49",
    "50-99": "50+",
    "100-249": "50+",
    "250+": "50+",
}


# =========================================================================== collapsing
def collapse_adjacent(
    counts: dict[str, int], min_n: int = MIN_RESPONDENTS
) -> dict[str, list[str]]:
    """Merge categories in their listed order until every group holds ``min_n``.

    Rule: while some group has fewer than ``min_n`` respondents, take the
    smallest such group (first in order on ties) and merge it with the smaller
    of its two neighbours in the list order (NACE sections are ordered so that
    neighbours are related industries: A+B primary, D+E utilities, K+L finance
    and real estate, S+T other services). Groups are named ``first-last``.

    Returns an ordered mapping group name -> member categories. With the
    employer survey's Tabell 5.2 this gives A-B (25), D-E (20), K-L (41) and
    S-T (45); every other section stays alone.
    """
    if sum(counts.values()) < min_n:
        raise ValueError(f"only {sum(counts.values())} respondents in all; cannot reach {min_n}")
    groups = [[c] for c in counts]
    size = [counts[c] for c in counts]
    while min(size) < min_n:
        i = min(range(len(size)), key=lambda k: (size[k], k))
        left = size[i - 1] if i > 0 else None
        right = size[i + 1] if i + 1 < len(size) else None
        j = i - 1 if right is None or (left is not None and left <= right) else i + 1
        lo, hi = sorted((i, j))
        groups[lo : hi + 1] = [groups[lo] + groups[hi]]
        size[lo : hi + 1] = [size[lo] + size[hi]]
    return {(g[0] if len(g) == 1 else f"{g[0]}-{g[-1]}"): g for g in groups}


NACE_GROUPS = collapse_adjacent(SAMPLE_NACE_COUNTS)


# =========================================================================== register
def read_register(path: str | Path) -> pd.DataFrame:
    """The section x size-class table (columns section, size_class, sector, count, basis)."""
    return pd.read_csv(
        path,
        dtype={"section": str, "size_class": str, "sector": str, "count": "int64", "basis": str},
        keep_default_na=False,
    )


def section_size_counts(register: pd.DataFrame) -> pd.DataFrame:
    """Establishments with >= 1 employee: sections A..U, X by the four size classes."""
    rows = register[register["section"].ne("all") & register["size_class"].isin(_SIZE_MAP)]
    rows = rows.assign(size=rows["size_class"].map(_SIZE_MAP))
    table = rows.pivot_table(index="section", columns="size", values="count", aggfunc="sum")
    return table[SIZES].astype("int64")


def _largest_remainder(shares: np.ndarray, total: int) -> np.ndarray:
    raw = shares / shares.sum() * total
    out = np.floor(raw).astype("int64")
    out[np.argsort(-(raw - out), kind="stable")[: total - out.sum()]] += 1
    return out


def population_by_section(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Section A..T x size counts with X (unknown industry) allocated and U added to T.

    ``table``: sections (A..U, X; absent rows count as 0) x the four size classes,
    as from :func:`section_size_counts` or :func:`estimators.io.jsonstat.read_07091`.

    The survey frame has no unit without an industry, so the 534 establishments
    with unknown NACE (X) are allocated to A..T proportionally within each size
    class (largest remainder); the 10 in international organisations (U) join
    T, which is collapsed into S-T anyway. Returns (counts, estimated part).
    """
    table = table.reindex(index=SECTIONS + ["U", "X"], columns=SIZES, fill_value=0)
    known = table.loc[SECTIONS].copy()
    added = pd.DataFrame(0, index=SECTIONS, columns=SIZES, dtype="int64")
    for size in SIZES:
        added[size] = _largest_remainder(known[size].to_numpy(float), int(table.at["X", size]))
    added.loc["T"] += table.loc["U"]
    return known + added, added


# Sections whose >= 1-employee total is exact although some size cells are not:
# O's total and its 0-19 cells are verbatim, only the split of O 20+ is estimated.
_EXACT_TOTALS = {"O"}


def basis_of(register: pd.DataFrame) -> pd.Series:
    """'verbatim' or 'estimated' for each section's >= 1-employee total."""
    rows = register[register["section"].isin(SECTIONS) & register["size_class"].isin(_SIZE_MAP)]
    est = rows.groupby("section")["basis"].agg(lambda b: (b == "estimated").any())
    est[list(_EXACT_TOTALS)] = False
    return est.map({True: "estimated", False: "verbatim"})


def public_size_profile(register: pd.DataFrame) -> pd.Series:
    """Assumed size profile of public establishments (>= 1 employee).

    No public x size table is published. Profile = the mean of the profiles of
    section O (public administration; verbatim-derived) and of P+Q (education,
    health and care; estimated cells), because public units are O-like offices
    plus P/Q schools and care units, which are larger.
    """
    table = section_size_counts(register)
    o = table.loc["O"] / table.loc["O"].sum()
    pq = table.loc[["P", "Q"]].sum() / table.loc[["P", "Q"]].sum().sum()
    return (o + pq) / 2


def sector_by_size(register: pd.DataFrame, public_share: float) -> pd.DataFrame:
    """Estimated sector x size counts: public total = share x all, spread by the
    assumed public size profile; private = size total - public."""
    size_total = section_size_counts(register).reindex(SECTIONS + ["U", "X"]).fillna(0).sum()
    total = int(size_total.sum())
    public = _largest_remainder(
        public_size_profile(register).to_numpy(), int(round(public_share * total))
    )
    out = pd.DataFrame(
        {"public": public, "private": size_total.to_numpy() - public}, index=SIZES
    ).T
    return out


def margins_from_sections(table: pd.DataFrame, public_share: float) -> dict:
    """Calibration margins (size_class, nace_group, sector) from a section x size
    table, e.g. a fresh 07091 download: ``{margin: {category: total}}``.

    Sector is not in 07091: the public total is ``public_share`` of all units.
    """
    counts, _ = population_by_section(table)
    total = int(counts.to_numpy().sum())
    public = int(round(public_share * total))
    return {
        "size_class": {s: int(counts[s].sum()) for s in SIZES},
        "nace_group": {
            g: int(counts.loc[secs].to_numpy().sum()) for g, secs in NACE_GROUPS.items()
        },
        "sector": {"public": public, "private": total - public},
    }


def margin_rows(register: pd.DataFrame) -> list[dict]:
    """Every margin cell of every variant with its provenance."""
    counts, added = population_by_section(section_size_counts(register))
    basis = basis_of(register)
    size_total = counts.sum()
    rows = []
    for variant, share in VARIANTS.items():
        for size in SIZES:
            rows.append(
                dict(
                    variant=variant,
                    margin="size_class",
                    category=size,
                    total=int(size_total[size]),
                    basis="verbatim",
                    method="sum of verbatim register cells (5-9 + 10-19; 50-99 + 100-249 + 250+)",
                )
            )
        for group, secs in NACE_GROUPS.items():
            est = any(basis[s] == "estimated" for s in secs)
            n_added = int(added.loc[secs].to_numpy().sum())
            method = (
                "sum of register cells"
                + (
                    " (P-T cells estimated by the register note: 2018 residual split by 2022 shares)"
                    if est
                    else ""
                )
                + f"; {n_added} unknown-industry (X/U) units allocated"
            )
            rows.append(
                dict(
                    variant=variant,
                    margin="nace_group",
                    category=group,
                    total=int(counts.loc[secs].to_numpy().sum()),
                    basis="estimated" if est else "verbatim+allocated",
                    method=method,
                )
            )
        sectors = sector_by_size(register, share)
        for sector in ("public", "private"):
            rows.append(
                dict(
                    variant=variant,
                    margin="sector",
                    category=sector,
                    total=int(sectors.loc[sector].sum()),
                    basis="estimated",
                    method=f"public share {share:.0%} of establishments with >= 1 "
                    "employee (about 5 % of all units are general government, "
                    "7.5 % of those without employees; plausible range 11-16 %)",
                )
            )
            for size in SIZES:
                rows.append(
                    dict(
                        variant=variant,
                        margin="sector*size_class",
                        category=f"{sector}:{size}",
                        total=int(sectors.at[sector, size]),
                        basis="estimated",
                        method="public total spread by the mean size profile of "
                        "section O and sections P+Q; "
                        "private = size total - public",
                    )
                )
    for r in rows:
        r.update(source=SOURCE, reference_date=REFERENCE_DATE)
    return rows


def write_margins(register: pd.DataFrame, coded: pd.DataFrame, out: Path) -> None:
    """Write ``register_margins.csv`` (with provenance) and ``design_strata.csv``."""
    rows = pd.DataFrame(margin_rows(register))
    cols = [
        "variant",
        "margin",
        "category",
        "total",
        "basis",
        "method",
        "source",
        "reference_date",
    ]
    write_csv_atomic(rows[cols], out / "register_margins.csv")
    strata = rows[(rows["margin"] == "sector*size_class")]
    n = coded.groupby("stratum").size()
    design = pd.DataFrame(
        {
            "variant": strata["variant"].to_numpy(),
            "stratum": strata["category"].to_numpy(),
            "register_count": strata["total"].to_numpy(),
            "sample_n": n.reindex(strata["category"]).to_numpy(),
        }
    )
    design["base_weight"] = design["register_count"] / design["sample_n"]
    write_csv_atomic(design, out / "design_strata.csv")


def write_csv_atomic(frame: pd.DataFrame, path: Path) -> None:
    """Package data are rebuilt in place, so an existing file is replaced."""
    write_atomic(path, frame.to_csv(index=False, lineterminator="\n"), force=True)
