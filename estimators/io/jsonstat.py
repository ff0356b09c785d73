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
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from estimators.io.text import read_json
from weighting.errors import KalibError

STATUS_SYMBOLS = {
    ".": "cannot occur",
    "..": "not available",
    "...": "not yet published",
    ":": "confidential",
    "-": "nil",
}

# 2-digit NACE division -> section (SN2007 = NACE Rev. 2).
_DIVISIONS = [
    ("A", 1, 3),
    ("B", 5, 9),
    ("C", 10, 33),
    ("D", 35, 35),
    ("E", 36, 39),
    ("F", 41, 43),
    ("G", 45, 47),
    ("H", 49, 53),
    ("I", 55, 56),
    ("J", 58, 63),
    ("K", 64, 66),
    ("L", 68, 68),
    ("M", 69, 75),
    ("N", 77, 82),
    ("O", 84, 84),
    ("P", 85, 85),
    ("Q", 86, 88),
    ("R", 90, 93),
    ("S", 94, 96),
    ("T", 97, 98),
    ("U", 99, 99),
]
SIZE_CLASSES = ["1-4", "5-19", "20-49", "50+"]


#: The most cells a JSON-stat file may declare (the product of its sizes):
#: StatBank limits a download to 800,000 cells; a damaged ``size`` must not
#: make the reader allocate terabytes.
MAX_CELLS = 10_000_000


class JsonStatError(KalibError):
    """A JSON-stat file is malformed or not the expected table (names file and cause)."""


def read_jsonstat(path: str | Path) -> pd.DataFrame:
    """A JSON-stat 2.0 dataset as a long table.

    Returns one row per cell with, for every dimension ``d``, the columns ``d``
    (category code) and ``d_label``, then ``value`` (float, NaN when missing)
    and ``status`` (the status symbol or None). Anything that is not a
    well-formed dataset — dimension sizes that disagree with the categories
    or the values, a category position out of range or given twice, a value
    that is not a number or null — is a :class:`JsonStatError` naming the file
    and what is wrong.
    """
    doc = read_json(path, "JSON-stat file", JsonStatError)
    try:
        return _parse(doc)
    except JsonStatError as exc:
        raise JsonStatError(f"{str(path)!r}: {exc}") from None
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError) as exc:
        raise JsonStatError(
            f"{str(path)!r}: not a JSON-stat 2.0 dataset ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''})"
        ) from None


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
            if not _is_int(pos) or not 0 <= pos < len(index) or codes[pos] is not None:
                raise JsonStatError(
                    f"dimension {dim_id!r}: category {code!r} has position "
                    f"{json.dumps(pos)} (positions are 0 to {len(index) - 1}, "
                    "each once)"
                )
            codes[pos] = code
    if len(codes) != size or len(set(codes)) != len(codes):
        raise JsonStatError(
            f"dimension {dim_id!r} has {len(set(codes))} distinct categories but size {size}"
        )
    labels = cat.get("label", {})
    if not isinstance(labels, dict):
        raise JsonStatError(f"dimension {dim_id!r}: category labels are not an object")
    return [str(c) for c in codes], [str(labels.get(c, c)) for c in codes]


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_value(value) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def _parse(doc: dict) -> pd.DataFrame:
    if (
        not isinstance(doc, dict)
        or doc.get("class") != "dataset"
        or not str(doc.get("version", "")).startswith("2")
    ):
        raise JsonStatError("not a JSON-stat 2.0 dataset (class/version)")
    ids, sizes = list(doc["id"]), list(doc["size"])
    if len(ids) != len(sizes):
        raise JsonStatError(f"{len(ids)} dimension ids but {len(sizes)} sizes")
    if not all(_is_int(s) and s >= 0 for s in sizes) or len(set(ids)) != len(ids):
        raise JsonStatError(
            f"dimension ids {ids} and sizes {sizes}: ids must differ and sizes be whole numbers"
        )
    total = math.prod(sizes)
    if total > MAX_CELLS:
        raise JsonStatError(f"the dimension sizes give {total} cells (more than {MAX_CELLS})")
    values = doc["value"]
    if isinstance(values, dict):
        flat = [None] * total
        for k, v in values.items():
            flat[_cell(k, total)] = v
        values = flat
    if not isinstance(values, list) or len(values) != total:
        raise JsonStatError(f"{len(values)} values but the dimension sizes give {total}")
    bad = next((k for k, v in enumerate(values) if not _is_value(v)), None)
    if bad is not None:
        raise JsonStatError(f"value {bad} is {json.dumps(values[bad])[:40]}, not a number or null")
    status = doc.get("status") or {}
    if isinstance(status, str):
        status = [status]
    if isinstance(status, list):
        if len(status) not in (1, total):
            raise JsonStatError(f"{len(status)} status symbols for {total} values")
        status = {i: status[0 if len(status) == 1 else i] for i in range(total)}
    status = {_cell(k, total): v for k, v in status.items()}
    columns = {}
    for k, (dim_id, size) in enumerate(zip(ids, sizes)):
        codes, labels = _categories(dim_id, doc["dimension"][dim_id], size)
        repeat = math.prod(sizes[k + 1 :])
        tile = math.prod(sizes[:k])
        pos = np.tile(np.repeat(np.arange(size), repeat), tile)
        columns[dim_id] = np.asarray(codes, dtype=object)[pos]
        columns[f"{dim_id}_label"] = np.asarray(labels, dtype=object)[pos]
    out = pd.DataFrame(columns, index=pd.RangeIndex(total))
    out["value"] = np.array([np.nan if v is None else float(v) for v in values], dtype=float)
    out["status"] = [status.get(i) for i in range(total)]
    unexplained = out["value"].isna() & out["status"].isna()
    if unexplained.any():
        # a null without a status symbol is still missing; mark it so callers see why
        out.loc[unexplained, "status"] = ".."
    return out


def _cell(key, total: int) -> int:
    """A flat cell index given as a JSON object key (``"12"``), checked."""
    index = int(key)
    if not 0 <= index < total:
        raise JsonStatError(f"cell index {key!r} is outside 0 to {total - 1}")
    return index


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
        raise JsonStatError(
            f"NACE code {code!r} spans several sections: {', '.join(sorted(found))}"
        )
    return found.pop() if found else None


def size_class_of(label: str) -> str | None:
    """Map an AntAnsatte label to a survey size class by its text.

    ``"1-4 ansatte"`` -> ``"1-4"``, ``"5-9 ansatte"`` -> ``"5-19"``,
    ``"250 ansatte og over"`` / ``"250+"`` -> ``"50+"``; ``"Ingen ansatte"`` / ``0``
    and totals (``"I alt"``, ``"Total"``) give None.
    """
    bounds = employee_bounds(label)
    if bounds is None:
        return None
    lo, upper = bounds
    for name, a, b in (("1-4", 1, 4), ("5-19", 5, 19), ("20-49", 20, 49), ("50+", 50, 10**9)):
        if a <= lo and upper <= b:
            return name
    raise JsonStatError(f"size class {label!r} straddles the survey's classes")


def employee_bounds(label: str) -> tuple[int, int] | None:
    """The employee counts an AntAnsatte label covers, ``(low, high)`` with
    ``high`` = 10**9 for an open class; None for totals, unknown, and 0."""
    text = str(label).lower().replace("\u2013", "-").replace(" ", "")
    if any(w in text for w in ("ingen", "none", "alt", "total", "uoppgitt", "unknown")):
        return None
    m = re.search(r"(\d+)(?:-(\d+))?", text)
    if not m:
        return None
    lo = int(m.group(1))
    open_ended = re.search(r"\+|over|ellerfler|ormore", text[m.end() :])
    upper = int(m.group(2)) if m.group(2) else (10**9 if open_ended else lo)
    return None if upper == 0 else (lo, upper)


def _find_dimension(path, wanted: str, ids: list[str]) -> str:
    for d in ids:
        if d.lower() == wanted.lower():
            return d
    raise JsonStatError(
        f"{str(path)!r}: not a 07091 table: no dimension {wanted!r} (dimensions: {', '.join(ids)})"
    )


#: NACE Rev. 2 (SN2007) divisions that exist (04, 34, 40, 44, 48, 54, 57, 67,
#: 76, 83 and 89 are not used): a complete 07091 download covers each once.
DIVISIONS = sorted(
    {d for _, lo, hi in _DIVISIONS for d in range(lo, hi + 1)}
    - {4, 34, 40, 44, 48, 54, 57, 67, 76, 83, 89}
)


def read_07091(
    path: str | Path,
    year: str | None = None,
    region: str = "0",
    contents: str | None = None,
    complete: bool = True,
) -> pd.DataFrame:
    """Establishment counts by NACE section x size class from a 07091 export.

    Returns a DataFrame indexed by section (A..U, X for unknown industry),
    columns 1-4, 5-19, 20-49, 50+ (establishments with >= 1 employee).

    Nothing is summed that should not be, and nothing missing becomes 0;
    each of these is a :class:`JsonStatError` naming the file and the cell or
    categories:

    * a ``ContentsCode`` (or any other dimension besides region, NACE, size
      and year) with several categories, unless ``contents`` chooses one
      (summing two contents, e.g. establishments and employees, would double
      the margins);
    * several years without ``year``, or no data for the region or year;
    * a cell whose status says not available (a margin cannot be built from it);
    * a count that is negative or not a whole number;
    * with ``complete`` (the default), a download that does not cover every
      NACE division (01 … 99) exactly once and every employee count from 1 up
      exactly once (a partial download, or aggregates beside their parts).
    """
    long = read_jsonstat(path)
    name = str(path)
    ids = [c for c in long.columns if not c.endswith("_label") and c not in ("value", "status")]
    nace = _find_dimension(path, "NACE2007", ids)
    size = _find_dimension(path, "AntAnsatte", ids)
    time = _find_dimension(path, "Tid", ids)
    region_dim = next((d for d in ids if d.lower() == "region"), None)
    if region_dim is not None:
        regions = sorted(long[region_dim].unique())
        long = long[long[region_dim].astype(str) == region]
        if long.empty:
            raise JsonStatError(
                f"{name!r}: no data for region {region!r} (regions: {', '.join(regions)})"
            )
    long = _one_category(
        long, name, [d for d in ids if d not in (nace, size, time, region_dim)], contents
    )
    years = sorted(long[time].unique())
    if year is None:
        if len(years) != 1:
            raise JsonStatError(f"{name!r}: several years ({', '.join(years)}); choose one")
        year = years[0]
    long = long[long[time].astype(str) == str(year)]
    if long.empty:
        raise JsonStatError(f"{name!r}: no data for year {year} (years: {', '.join(years)})")
    # Every count of the table, used or not (a negative count of units with
    # no employees still says the download is damaged).
    counts = long["value"].to_numpy()
    # Above 2**53 a float count is no longer exact, and the sums of the table
    # would wrap around in int64 (1e20 became a negative margin); JSON's
    # Infinity (which Python's json reads) is no count either.
    huge = ~np.isnan(counts) & ~(np.abs(counts) <= 2.0**53)
    wrong = ~np.isnan(counts) & ((counts < 0) | (counts != np.floor(counts)))  # gaps: below
    for bad, why in ((wrong, "not"), (huge, "too large to be")):
        if bad.any():
            row = long.iloc[int(np.flatnonzero(bad)[0])]
            raise JsonStatError(
                f"{name!r}: NACE {row[nace]}, size {row[f'{size}_label']!r}: "
                f"count {row['value']:g} is {why} a whole number of "
                "establishments >= 0"
            )
    try:
        long = long.assign(
            section=long[nace].map(nace_to_section),
            size_class=long[f"{size}_label"].map(size_class_of),
        )
    except JsonStatError as exc:
        raise JsonStatError(f"{name!r}: {exc}") from None
    if complete:
        _check_coverage(name, long, nace, size)
    long = long[long["section"].notna() & long["size_class"].notna()]
    gaps = long[long["value"].isna()]
    if not gaps.empty:
        row = gaps.iloc[0]
        raise JsonStatError(
            f"{name!r}: no value for NACE {row[nace]} ({row['section']}), size "
            f"{row[f'{size}_label']!r}: status {row['status']!r} "
            f"({STATUS_SYMBOLS.get(row['status'], 'unknown symbol')})"
        )
    table = (
        long.pivot_table(index="section", columns="size_class", values="value", aggfunc="sum")
        .reindex(columns=SIZE_CLASSES)
        .fillna(0)
    )
    return table.astype("int64")


def _one_category(
    long: pd.DataFrame, name: str, dims: list[str], contents: str | None
) -> pd.DataFrame:
    """Keep one category of every dimension that is not summed over."""
    for dim in dims:
        codes = list(dict.fromkeys(long[dim].astype(str)))
        chosen = contents if dim.lower() == "contentscode" else None
        if chosen is not None:
            if chosen not in codes:
                raise JsonStatError(f"{name!r}: no {dim} {chosen!r} (values: {', '.join(codes)})")
            long = long[long[dim].astype(str) == chosen]
        elif len(codes) > 1:
            labels = dict(zip(long[dim].astype(str), long[f"{dim}_label"]))
            shown = ", ".join(f"{c} ({labels[c]})" if labels[c] != c else c for c in codes)
            hint = "; choose one with --contents" if dim.lower() == "contentscode" else ""
            raise JsonStatError(
                f"{name!r}: {dim} has {len(codes)} values ({shown}), which "
                f"cannot be added up{hint}"
            )
    return long


def _check_coverage(name: str, long: pd.DataFrame, nace: str, size: str) -> None:
    """Every NACE division and every employee count (1 up) exactly once."""
    covered: dict[int, str] = {}
    for code in long[nace].astype(str).unique():
        span = _division_span(code)
        for division in span:
            if division in covered:
                raise JsonStatError(
                    f"{name!r}: NACE {covered[division]} and {code} both "
                    f"cover division {division:02d} (an aggregate beside "
                    "its parts would be counted twice)"
                )
            covered[division] = code
    missing = [f"{d:02d}" for d in DIVISIONS if d not in covered]
    if missing:
        # every division has a section (None is for totals and unknown codes)
        sections = sorted({s for d in missing if (s := nace_to_section(d)) is not None})
        raise JsonStatError(
            f"{name!r}: a partial download: NACE division(s) "
            f"{', '.join(missing[:8])}{' ...' if len(missing) > 8 else ''} "
            f"(section(s) {', '.join(sections)}) are missing; download "
            "every NACE2007 group"
        )
    labels = long[f"{size}_label"].astype(str).unique()
    ranges = sorted((*bounds, lab) for lab in labels if (bounds := employee_bounds(lab)))
    reach = 0
    for low, high, label in ranges:
        if low != reach + 1:
            what = "overlap" if low <= reach else "leave out employee counts between"
            raise JsonStatError(
                f"{name!r}: the size classes {what} {reach} and {low} "
                f"(at {label!r}); download every AntAnsatte group"
            )
        reach = high
    if reach < 10**9:
        raise JsonStatError(
            f"{name!r}: no size class covers more than {reach} employees; "
            "download every AntAnsatte group"
        )


def _division_span(code: str) -> range:
    """The divisions a NACE code covers (``"47"``, ``"10-33"``, ``"84.1"``)."""
    code = code.strip()
    section = next(((lo, hi) for s, lo, hi in _DIVISIONS if s == code), None)
    if section is not None:
        return range(section[0], section[1] + 1)
    m = re.match(r"^(\d{2})", code)
    if not m or code == "00":
        return range(0)
    last = re.search(r"-(\d{2})[\d.]*$", code)
    return range(int(m.group(1)), int(last.group(1) if last else m.group(1)) + 1)
