"""Samples too large for memory: parquet read lazily, encoded per chunk.

:func:`read_parquet_sample` makes three passes over a parquet dataset with
``dask.dataframe``, one partition per task, never the whole sample in one
process:

1. per partition: the distinct values of every categorical column with
   their counts (margin, domain and stratum variables) and the distinct
   (stratum, PSU) pairs; reduced on the client into *shared dictionaries* —
   category codes in the order ``weighting.columns.encode`` gives the whole
   column, so every chunk encodes the same way and the codes equal the
   in-memory ``Design``'s;
2. per partition: the chunk (global PSU codes, refined cell codes against
   the margins' variables, base weight times values), kept in worker memory
   (``persist``), and its full-sample statistics, reduced to the cell table
   on which the full sample is calibrated (``weighting.calibrate`` on one
   row per cell, with the cell base totals as weights);
3. per replicate block: the replicate statistics (``estimators.scale.engine``).

Global PSU codes follow ``weighting.design``: PSUs in sorted label order
within strata in sorted order; without a PSU column each row is its own PSU,
numbered in row order within its stratum, which needs only each partition's
stratum counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import dask
import numpy as np
import pandas as pd

from estimators.scale.cells import CellCalibration
from estimators.scale.chunks import full_sample, make_chunk
from estimators.scale.engine import replicate_dataset
from weighting.calibrate import calibrate
from weighting.columns import encode, numeric, positive_weights
from weighting.errors import DesignError, KalibError, MarginError, MissingValueError
from weighting.replicates import bootstrap_plan, jackknife_plan
from weighting.spec import CalibrationSpec

if TYPE_CHECKING:
    import xarray as xr
    from numpy.typing import ArrayLike

    from estimators.io.text import StrPath
    from weighting.margins import Margin

# Largest joint space of the margin variables' categories the chunks encode into.
MAX_CELL_SPACE = 1_000_000


@dataclass(frozen=True)
class StrataLayout:
    """The strata and PSUs of a sample held in chunks, as replicate plans read
    them (a ``weighting.protocols.PsuStructure``, like a ``Design``)."""

    n_psu: np.ndarray  # (H,) PSUs per stratum
    sampling_fraction: np.ndarray  # (H,)
    certainty: np.ndarray  # (H,) bool

    @property
    def n_strata(self) -> int:
        return len(self.n_psu)

    @property
    def psu_stratum(self) -> np.ndarray:
        """(P,) stratum of every PSU (PSUs numbered stratum by stratum)."""
        return np.repeat(np.arange(self.n_strata), self.n_psu)


@dataclass(frozen=True)
class Dictionary:
    """Shared encoding of one column: distinct raw values -> codes."""

    name: str
    values: np.ndarray  # distinct raw values (any order)
    codes: np.ndarray  # code of each, in encode's order of the whole column
    categories: list  # canonical strings, by code

    @classmethod
    def from_counts(cls, name: str, counts: pd.Series) -> Dictionary:
        values = counts.index.to_numpy()
        codes, categories = encode(values, name)
        return cls(name, values, codes, categories)

    def encode(self, column: ArrayLike) -> np.ndarray:
        """Codes of a column whose values are all in the dictionary."""
        # Categorize first (Arrow dictionary-encodes strings natively), then map
        # the few categories: no per-row Python objects.
        categorical = pd.Series(column).astype("category").cat
        lookup = self.codes[pd.Index(self.values).get_indexer(categorical.categories)]
        return lookup[categorical.codes.to_numpy()]


def _partition_summary(part: pd.DataFrame, categorical, strata, psu) -> dict:
    counts = {c: part[c].value_counts(dropna=False) for c in categorical}
    pairs = None
    if psu is not None:
        keys = [strata, psu] if strata else [psu]
        pairs = part[keys].drop_duplicates()
    return {"counts": counts, "pairs": pairs, "rows": len(part)}


def _merge_counts(summaries, column) -> pd.Series:
    merged = pd.concat([s["counts"][column] for s in summaries])
    return merged.groupby(level=0, dropna=False, sort=False).sum()


def _refuse_missing(counts: pd.Series, name: str) -> None:
    missing = counts[counts.index.isna()]
    if len(missing):
        raise MissingValueError(f"variable {name!r} has {int(missing.sum())} missing value(s)")


def _check_against_margins(dictionaries, counts, margins):
    """Every sample category of a margin variable must be in the margin."""
    for margin in margins:
        for position, name in enumerate(margin.variables):
            known = {key[position] for key in margin.table}
            d = dictionaries[name]
            for value, category in zip(d.values, (d.categories[c] for c in d.codes)):
                if category not in known:
                    raise MarginError(
                        f"sample category {name}={category} ({int(counts[name][value])} "
                        f"respondents) is missing from margin {margin.name!r}"
                    )


@dataclass
class _Encoding:
    """Everything a partition needs to encode itself (shipped once per task)."""

    cell_vars: list
    cell_dicts: list
    cell_sizes: list
    group_vars: list
    group_dicts: list
    group_sizes: list
    strata: str | None
    strata_dict: Dictionary | None
    psu: str | None
    psu_dict: Dictionary | None
    psu_keys: np.ndarray | None  # sorted (stratum * K + psu code) of every PSU
    n_psu: np.ndarray
    offset: np.ndarray
    weight: str | None
    base_weight: float
    values: list

    @property
    def n_groups(self) -> int:
        return int(np.prod(self.group_sizes, dtype=np.int64))


def _mixed_radix(columns, dicts, sizes, part) -> np.ndarray:
    code = np.zeros(len(part), np.int64)
    for name, d, size in zip(columns, dicts, sizes):
        code = code * size + d.encode(part[name])
    return code


def _encode_partition(part: pd.DataFrame, enc: _Encoding, strata_before: np.ndarray):
    """The chunk of one partition (``strata_before``: rows of each stratum in
    earlier partitions, for row-order PSU codes)."""
    n = len(part)
    strata_dict, psu_dict, psu_keys = enc.strata_dict, enc.psu_dict, enc.psu_keys
    # the dictionaries (and PSU keys) are None exactly when there is no such column
    stratum = (
        strata_dict.encode(part[enc.strata]) if strata_dict is not None else np.zeros(n, np.int64)
    )
    if psu_dict is None or psu_keys is None:
        order = np.argsort(stratum, kind="stable")
        rank = np.empty(n, np.int64)
        counts = np.bincount(stratum, minlength=len(enc.n_psu))
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        rank[order] = np.arange(n) - np.repeat(starts, counts)
        psu = enc.offset[stratum] + strata_before[stratum] + rank
    else:
        key = stratum * len(psu_dict.categories) + psu_dict.encode(part[enc.psu])
        psu = np.searchsorted(psu_keys, key)
    cell = _mixed_radix(enc.cell_vars, enc.cell_dicts, enc.cell_sizes, part)
    group = _mixed_radix(enc.group_vars, enc.group_dicts, enc.group_sizes, part)
    if enc.weight:
        d = positive_weights(part[enc.weight].to_numpy(), f"weights {enc.weight!r}", n)
    else:
        d = np.full(n, enc.base_weight)
    values = (
        np.column_stack([numeric(part[name], f"variable {name!r}") for name in enc.values])
        if enc.values
        else np.zeros((n, 0))
    )
    bad = ~np.isfinite(values)
    if bad.any():
        j = int(np.flatnonzero(bad.any(axis=0))[0])
        raise MissingValueError(
            f"variable {enc.values[j]!r} has {int(bad[:, j].sum())} "
            f"missing or non-finite value(s) in a chunk of "
            f"{n} rows"
        )
    return make_chunk(psu, stratum, cell, group, enc.n_groups, d, values)


class LazySample:
    """An encoded, calibrated sample held in chunks on the Dask workers.

    Attributes
    ----------
    n : int
    chunks : list of dask.delayed Chunk (persisted)
    calibration : CellCalibration
    groups : list of tuple
        Domain group labels (the by-variables' categories, crossed).
    stat_names : list of str
    strata : StrataLayout
        Strata and PSUs, for ``weighting.replicates`` plans.
    """

    def __init__(self, n, chunks, calibration, groups, stat_names, strata):
        self.n = n
        self.chunks = chunks
        self.calibration = calibration
        self.groups = groups
        self.stat_names = stat_names
        self.strata = strata

    def replicates(
        self,
        method: str = "bootstrap",
        replicates: int = 1000,
        seed: int = 20170602,
        mse: bool = False,
        block_size: int | None = None,
        split_every: int = 4,
    ) -> xr.Dataset:
        """Lazy Dataset of replicate totals (``estimators.scale.engine``)."""
        if method == "bootstrap":
            plan, scale, rscales, degf = bootstrap_plan(self.strata, int(replicates), seed)
        elif method in ("jkn", "jk1"):
            plan, scale, rscales, degf = jackknife_plan(self.strata, method == "jkn")
        else:
            raise KalibError(f"unknown replicate method {method!r}")
        return replicate_dataset(
            self.chunks,
            self.calibration,
            plan,
            len(self.groups),
            scale=scale,
            rscales=rscales,
            mse=mse,
            degf=degf,
            method=method,
            stat_names=self.stat_names,
            group_labels=["|".join(g) for g in self.groups],
            block_size=block_size,
            split_every=split_every,
        )


def read_parquet_sample(
    path: StrPath,
    margins: Sequence[Margin],
    *,
    values: Sequence[str] = (),
    by: Sequence[str] = (),
    strata: str | None = None,
    psu: str | None = None,
    weight: str | None = None,
    lonely_psu: str = "error",
    spec: CalibrationSpec | None = None,
    **settings: Any,
) -> LazySample:
    """Read, encode and calibrate a parquet sample chunk by chunk.

    Parameters
    ----------
    path : str or path
        A parquet file or directory (one dask partition per row group/file).
    margins : list of weighting.margins.Margin
        Categorical margins (numeric totals make every row a calibration unit
        and are refused here).
    values : sequence of str
        Numeric columns whose totals are wanted.
    by : sequence of str
        Domain variables; their crossed categories are the groups.
    strata, psu, weight : str, optional
        Design columns (``--strata``, ``--psu``, ``--weight``); without
        weights the base weight is N/n (N the first margin's total).
    lonely_psu : "error" or "certainty"
    spec : CalibrationSpec, optional
        The calibration settings; or as keyword arguments (``settings``: those
        of ``weighting.calibrate.calibrate``, distance, bounds, trim, tol, ...).
    """
    import dask.dataframe as dd

    spec = CalibrationSpec.of(spec, **settings)

    cell_vars = list(dict.fromkeys(v for m in margins for v in m.variables))
    group_vars = list(by)
    categorical = list(dict.fromkeys(cell_vars + group_vars + ([strata] if strata else [])))
    columns = list(dict.fromkeys(categorical + list(values) + [c for c in (psu, weight) if c]))
    parts = dd.read_parquet(path, columns=columns).to_delayed()
    keys = list(dict.fromkeys(categorical + ([psu] if psu else [])))
    summaries = dask.compute(
        *[
            dask.delayed(_partition_summary)(p, categorical, strata, psu)
            for p in dd.read_parquet(path, columns=keys).to_delayed()
        ]
    )
    n = sum(s["rows"] for s in summaries)
    if n == 0:
        raise KalibError(f"the sample {path} has no rows")
    counts = {c: _merge_counts(summaries, c) for c in categorical}
    for name in categorical:
        _refuse_missing(counts[name], name)
    # looked up by strata too, which is None without a strata column
    dicts: dict[str | None, Dictionary] = {
        c: Dictionary.from_counts(c, counts[c]) for c in categorical
    }
    _check_against_margins(dicts, counts, margins)

    n_strata = len(dicts[strata].categories) if strata else 1
    if psu is None:
        per_part = np.array(
            [_stratum_counts(s, strata, dicts.get(strata), n_strata) for s in summaries],
            dtype=np.int64,
        )
        n_psu = per_part.sum(axis=0)
        psu_dict = psu_keys = None
    else:
        pairs = pd.concat([s["pairs"] for s in summaries]).drop_duplicates()
        if pairs[psu].isna().any():
            raise MissingValueError(f"design variable {psu!r} (psu) has missing values")
        psu_dict = Dictionary.from_counts(psu, pairs[psu].value_counts())
        h = dicts[strata].encode(pairs[strata]) if strata else np.zeros(len(pairs), np.int64)
        psu_keys = np.unique(h * len(psu_dict.categories) + psu_dict.encode(pairs[psu]))
        n_psu = np.bincount(psu_keys // len(psu_dict.categories), minlength=n_strata)
        per_part = np.zeros((len(summaries), n_strata), np.int64)
    offset = np.concatenate([[0], np.cumsum(n_psu)[:-1]]).astype(np.int64)
    lonely = n_psu == 1
    if lonely.any() and lonely_psu != "certainty":
        names = (
            [dicts[strata].categories[h] for h in np.flatnonzero(lonely)[:5]]
            if strata
            else ["all"]
        )
        raise DesignError(
            f"{int(lonely.sum())} stratum/strata with a single PSU: {', '.join(map(str, names))}",
            option="lonely_psu",
            remedy="choose lonely_psu='certainty'",
        )

    grand_total = margins[0].grand_total
    enc = _Encoding(
        cell_vars,
        [dicts[v] for v in cell_vars],
        [len(dicts[v].categories) for v in cell_vars],
        group_vars,
        [dicts[v] for v in group_vars],
        [len(dicts[v].categories) for v in group_vars],
        strata,
        dicts.get(strata),
        psu,
        psu_dict,
        psu_keys,
        n_psu.astype(np.int64),
        offset,
        weight,
        grand_total / n,
        list(values),
    )
    space = int(np.prod(enc.cell_sizes, dtype=np.int64))
    if space * enc.n_groups > MAX_CELL_SPACE:
        raise KalibError(
            f"{space} margin cells x {enc.n_groups} domain groups exceed "
            f"{MAX_CELL_SPACE} refined cells; use fewer or coarser variables"
        )
    before = np.cumsum(per_part, axis=0) - per_part
    enc_key = dask.delayed(enc, pure=True)
    chunks = dask.persist(
        *[dask.delayed(_encode_partition)(p, enc_key, before[k]) for k, p in enumerate(parts)]
    )
    R = space * enc.n_groups
    F = sum(dask.compute(*[dask.delayed(full_sample)(c, R) for c in chunks]))
    D = F[:, 0].reshape(space, enc.n_groups).sum(axis=1)
    calibration = _calibrate_cells(D, enc, margins, spec)

    layout = StrataLayout(enc.n_psu, np.zeros(n_strata), lonely & (lonely_psu == "certainty"))
    groups = (
        [
            tuple(
                d.categories[c]
                for d, c in zip(enc.group_dicts, np.unravel_index(g, enc.group_sizes))
            )
            for g in range(enc.n_groups)
        ]
        if group_vars
        else [("all",)]
    )
    return LazySample(n, list(chunks), calibration, groups, ["weight", *values], layout)


def _stratum_counts(summary, strata, dictionary, n_strata):
    if not strata:
        return [summary["rows"]]
    counts = summary["counts"][strata]
    return np.bincount(dictionary.encode(counts.index), counts.to_numpy(), minlength=n_strata)


def _calibrate_cells(D, enc, margins, spec):
    """Full-sample calibration on one row per observed cell, weighted by its base total."""
    observed = np.flatnonzero(D > 0)
    codes = np.unravel_index(observed, enc.cell_sizes)
    frame = {
        name: np.array([d.categories[c] for c in code], dtype=object)
        for name, d, code in zip(enc.cell_vars, enc.cell_dicts, codes)
    }
    result = calibrate(frame, margins, base_weights=D[observed], spec=spec)
    order = np.full(len(D), -1, np.int64)
    order[observed] = result.problem.cell
    return CellCalibration.from_result(result, order=order)
