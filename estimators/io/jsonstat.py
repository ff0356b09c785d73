"""Read SSB StatBank JSON-stat 2.0 exports, and register margins from table 07091.

JSON-stat 2.0 (https://json-stat.org/format/): ``id`` lists the dimensions,
``size`` their lengths, ``dimension[d].category.index`` maps category code to
position (a dict, or a list in code order) and ``.label`` code to text.
``value`` is the flat row-major array (the last dimension varies fastest, so
the flat index is sum_d pos_d * prod_{e > d} size_e), possibly sparse as a dict
``{"flat index": value}``. Missing cells are ``null`` with a status symbol in
``status`` (a list, or a dict keyed by flat index): SSB uses ``"."`` (cannot
occur), ``".."`` (not available), ``"..."`` (not yet published) and ``":"``
(confidential).

Table 07091 (establishments by region, NACE2007, number of employees,
contents, year) is turned into section x size-class counts: 2-digit NACE
codes (and ranges such as ``"10-33"``) are aggregated to sections A..U, size
classes are matched by their label text (the AntAnsatte codes are not
reliable across table versions) and aggregated to 1-4 / 5-19 / 20-49 / 50+.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from weighting.errors import KalibError

STATUS_SYMBOLS = {".": "cannot occur", "..": "not available", "...": "not yet published",
                  ":": "confidential", "-": "nil"}

# 2-digit NACE division -> section (SN2007 = NACE Rev. 2).
_DIVISIONS = [("A", 1, 3), ("B", 5, 9), ("C", 10, 33), ("D", 35, 35), ("E", 36, 39),
              ("F", 41, 43), ("G", 45, 47), ("H", 49, 53), ("I", 55, 56), ("J", 58, 63),
              ("K", 64, 66), ("L", 68, 68), ("M", 69, 75), ("N", 77, 82), ("O", 84, 84),
              ("P", 85, 85), ("Q", 86, 88), ("R", 90, 93), ("S", 94, 96), ("T", 97, 98),
              ("U", 99, 99)]
SIZE_CLASSES = ["1-4", "5-19", "20-49", "50+"]


class JsonStatError(KalibError):
    """A JSON-stat file is malformed or not the expected table (names file and cause)."""


def read_jsonstat(path: str | Path) -> pd.DataFrame:
    """A JSON-stat 2.0 dataset as a long table.

    Returns one row per cell with, for every dimension ``d``, the columns ``d``
    (category code) and ``d_label``, then ``value`` (float, NaN when missing)
    and ``status`` (the status symbol or None).
    """
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise JsonStatError(f"cannot read JSON-stat file {path}: {exc}".splitlines()[0]) from None
    try:
        return _parse(doc)
    except JsonStatError as exc:
        raise JsonStatError(f"{path}: {exc}") from None
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise JsonStatError(f"{path}: not a JSON-stat 2.0 dataset ({type(exc).__name__}: "
                            f"{exc})") from None


def _categories(dim_id: str, dim: dict, size: int) -> tuple[list[str], list[str]]:
    cat = dim["category"]
    index = cat.get("index")
    if index is None:
        codes = list(cat["label"])
    elif isinstance(index, list):
        codes = list(index)
    else:
        codes = [None] * len(index)
        for code, pos in index.items():
            codes[int(pos)] = code
    if len(codes) != size or any(c is None for c in codes):
        raise JsonStatError(f"dimension {dim_id!r} has {len(codes)} categories but size {size}")
    labels = [cat.get("label", {}).get(c, c) for c in codes]
    return codes, labels


def _parse(doc: dict) -> pd.DataFrame:
    if doc.get("class") != "dataset" or not str(doc.get("version", "")).startswith("2"):
        raise JsonStatError("not a JSON-stat 2.0 dataset (class/version)")
    ids, sizes = list(doc["id"]), [int(s) for s in doc["size"]]
    if len(ids) != len(sizes):
        raise JsonStatError(f"{len(ids)} dimension ids but {len(sizes)} sizes")
    total = int(np.prod(sizes)) if sizes else 1
    values = doc["value"]
    if isinstance(values, dict):
        flat = [None] * total
        for k, v in values.items():
            flat[int(k)] = v
        values = flat
    if len(values) != total:
        raise JsonStatError(f"{len(values)} values but the dimension sizes give {total}")
    status = doc.get("status") or {}
    if isinstance(status, list):
        status = {i: s for i, s in enumerate(status)} if len(status) == total \
            else {i: status[0] for i in range(total)}
    status = {int(k): v for k, v in status.items()}
    columns = {}
    for k, (dim_id, size) in enumerate(zip(ids, sizes)):
        codes, labels = _categories(dim_id, doc["dimension"][dim_id], size)
        repeat = int(np.prod(sizes[k + 1:]))
        tile = int(np.prod(sizes[:k]))
        pos = np.tile(np.repeat(np.arange(size), repeat), tile)
        columns[dim_id] = np.asarray(codes, dtype=object)[pos]
        columns[f"{dim_id}_label"] = np.asarray(labels, dtype=object)[pos]
    out = pd.DataFrame(columns)
    out["value"] = np.array([np.nan if v is None else float(v) for v in values])
    out["status"] = [status.get(i) for i in range(total)]
    unexplained = out["value"].isna() & out["status"].isna()
    if unexplained.any():
        # a null without a status symbol is still missing; mark it so callers see why
        out.loc[unexplained, "status"] = ".."
    return out


# --------------------------------------------------------------------------- 07091
def nace_to_section(code: str) -> str | None:
    """``"47"`` -> ``"G"``; ``"10-33"`` -> ``"C"``; ``"84.100-84.399"`` -> ``"O"``;
    a section letter passes through; ``"00"`` (unknown industry) gives ``"X"``;
    totals and anything else give None."""
    code = str(code).strip()
    if re.fullmatch(r"[A-UX]", code):
        return code
    if code == "00":
        return "X"
    m = re.match(r"^(\d{2})", code)
    if not m:
        return None
    first = int(m.group(1))
    last_match = re.search(r"-(\d{2})[\d.]*$", code)
    last = int(last_match.group(1)) if last_match else first
    found = {s for s, lo, hi in _DIVISIONS for d in range(first, last + 1) if lo <= d <= hi}
    if len(found) > 1:
        raise JsonStatError(f"NACE code {code!r} spans several sections: {sorted(found)}")
    return found.pop() if found else None


def size_class_of(label: str) -> str | None:
    """Map an AntAnsatte label to a survey size class by its text.

    ``"1-4 ansatte"`` -> ``"1-4"``, ``"5-9 ansatte"`` -> ``"5-19"``,
    ``"250 ansatte og over"`` / ``"250+"`` -> ``"50+"``; ``"Ingen ansatte"`` / ``0``
    and totals (``"I alt"``, ``"Total"``) give None.
    """
    text = str(label).lower().replace("\u2013", "-").replace(" ", "")
    if any(w in text for w in ("ingen", "none", "alt", "total", "uoppgitt", "unknown")):
        return None
    m = re.search(r"(\d+)(?:-(\d+)|(\+|ogover|andover|ellerfler|ormore))?", text)
    if not m:
        return None
    lo = int(m.group(1))
    upper = int(m.group(2)) if m.group(2) else (10 ** 9 if m.group(3) else lo)
    if upper == 0:
        return None
    for name, a, b in (("1-4", 1, 4), ("5-19", 5, 19), ("20-49", 20, 49), ("50+", 50, 10 ** 9)):
        if a <= lo and upper <= b:
            return name
    raise JsonStatError(f"size class {label!r} straddles the survey's classes")


def _find_dimension(path, wanted: str, ids: list[str]) -> str:
    for d in ids:
        if d.lower() == wanted.lower():
            return d
    raise JsonStatError(f"{path}: not a 07091 table: no dimension {wanted!r} "
                        f"(dimensions: {', '.join(ids)})")


def read_07091(path: str | Path, year: str | None = None, region: str = "0") -> pd.DataFrame:
    """Establishment counts by NACE section x size class from a 07091 export.

    Returns a DataFrame indexed by section (A..U), columns 1-4, 5-19, 20-49,
    50+ (establishments with >= 1 employee). Cells whose status says not
    available are an error naming section and size class, since a margin
    cannot be built from them.
    """
    long = read_jsonstat(path)
    ids = [c for c in long.columns if not c.endswith("_label") and c not in ("value", "status")]
    nace = _find_dimension(path, "NACE2007", ids)
    size = _find_dimension(path, "AntAnsatte", ids)
    time = _find_dimension(path, "Tid", ids)
    region_dim = next((d for d in ids if d.lower() == "region"), None)
    if region_dim is not None:
        long = long[long[region_dim].astype(str) == region]
    years = sorted(long[time].unique())
    if year is None:
        if len(years) != 1:
            raise JsonStatError(f"{path}: several years ({', '.join(years)}); choose one")
        year = years[0]
    long = long[long[time].astype(str) == str(year)]
    if long.empty:
        raise JsonStatError(f"{path}: no data for year {year} (years: {', '.join(years)})")
    long = long.assign(section=long[nace].map(nace_to_section),
                       size_class=long[f"{size}_label"].map(size_class_of))
    long = long[long["section"].notna() & long["size_class"].notna()]
    gaps = long[long["value"].isna()]
    if not gaps.empty:
        row = gaps.iloc[0]
        raise JsonStatError(
            f"{path}: no value for NACE {row[nace]} ({row['section']}), size "
            f"{row[f'{size}_label']!r}: status {row['status']!r} "
            f"({STATUS_SYMBOLS.get(row['status'], 'unknown symbol')})")
    table = long.pivot_table(index="section", columns="size_class", values="value",
                             aggfunc="sum").reindex(columns=SIZE_CLASSES).fillna(0)
    return table.astype("int64")
