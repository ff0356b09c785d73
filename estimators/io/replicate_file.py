"""Replicate weights to files and back: CSV or parquet plus a JSON sidecar.

The table has the columns ``id``, ``weight`` (the full-sample, calibrated
weight) and ``rep_1 … rep_B`` (the re-calibrated replicate weights, combined:
base weight × multiplier × replicate g). The sidecar ``<name>.json`` holds
what R needs to reproduce the variances and what reproduces the file: method,
seed, B, ``scale``, ``rscales``, ``mse``, ``degf``, the calibration spec
(margins, distance, bounds, trimming, tolerance) and the per-replicate
convergence record. In R::

    reps <- read.csv("REPS.csv"); meta <- jsonlite::fromJSON("REPS.json")
    d <- svrepdesign(data = merge(sample, reps), weights = ~weight,
                     repweights = "rep_[0-9]+", type = "other",
                     scale = meta$scale, rscales = meta$rscales, mse = meta$mse,
                     combined.weights = TRUE)

gives the same standard errors (``V = scale * sum_b rscales_b (theta_b - c)^2``).
The pair is written as one unit under an exclusive claim and never replaces
existing files without ``force``; the sidecar carries the table's SHA-256
(``weights_sha256``, from format version 2), checked on every read, so a
table and a sidecar of different runs are an error, never a silent mix.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from estimators.io.files import (
    PARQUET_SUFFIXES,
    InputFileError,
    OutputWriteError,
    check_ids,
    check_input,
    check_writable,
    csv_compression,
    read_table_info,
    shown,
    write_files,
)
from estimators.io.text import StrPath, read_json
from weighting.margins import Margin, NumericTotal
from weighting.replicates import METHODS, REPLICATE_TYPES, svrep_constants

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from weighting.design import Design

FORMAT = "kalib-replicate-weights"
#: Methods a sidecar may name: kalib's, and R's ``svrepdesign`` types (a
#: sidecar written beside R's replicate weights).
SIDECAR_METHODS = tuple(
    dict.fromkeys(
        METHODS
        + REPLICATE_TYPES
        + (
            "JK1",
            "JKn",
            "JK2",
            "BRR",
            "Fay",
            "bootstrap",
            "subbootstrap",
            "mrbbootstrap",
            "ACS",
            "successive-difference",
            "other",
        )
    )
)
#: Version 2 adds ``weights_sha256``; version-1 sidecars (no checksum) are
#: still read, unverified.
VERSION = 2


def sidecar_path(path: StrPath) -> Path:
    """The JSON sidecar of a replicate-weight file: same name, ``.json``."""
    return Path(path).with_suffix(".json")


def replicate_metadata(design: Design) -> dict[str, Any]:
    """The sidecar content for a design with replicates (JSON-ready)."""
    reps = design.replicates
    return {
        "format": FORMAT,
        "version": VERSION,
        "weights_sha256": None,  # the table's, filled in when it is written
        "method": reps.method,
        "replicates": int(reps.B),
        "seed": reps.seed,
        "scale": float(reps.scale),
        "rscales": [float(r) for r in reps.rscales],
        "mse": bool(reps.mse),
        "degf": int(reps.degf),
        # BRR and Fay: rho and whether one-PSU strata were paired (null otherwise)
        "fay_rho": reps.options.get("fay_rho") if hasattr(reps, "options") else None,
        "collapse_strata": (
            reps.options.get("collapse_strata") if hasattr(reps, "options") else None
        ),
        "r_type": "other",
        "combined_weights": True,
        "design": {
            "n": int(design.n),
            "strata": int(design.n_strata),
            "psus": int(design.n_psus),
            "fpc": design.fpc is not None,
            "lonely_psu": design.lonely_psu,
        },
        "calibration": calibration_spec(design),
        # replicate weights given through the API (with_replicate_weights) were
        # not re-calibrated here: no record
        "convergence": None if reps.convergence is None else _finite(reps.convergence.rows()),
    }


def calibration_spec(design: Design) -> dict[str, Any] | None:
    """Margins (as tables), distance, bounds, trimming, tolerance and outcome."""
    result = design.calibration
    if result is None:
        return None
    margins = []
    for m in result.margins:
        if isinstance(m, NumericTotal):
            margins.append({"numeric": m.variable, "total": m.total})
        else:
            margins.append(
                {
                    "variables": list(m.variables),
                    "table": [list(key) + [total] for key, total in m.table.items()],
                }
            )
    out = {
        "margins": margins,
        "distance": result.distance,
        "bounds": None if result.bounds is None else list(result.bounds),
        "trim": None if result.trim is None else list(result.trim),
        "tol": result.tol,
        "converged": bool(result.converged),
        "iterations": int(result.iterations),
        "error": float(result.error),
    }
    out.update({k: v for k, v in result.spec.as_dict().items() if k not in out})
    return _finite(out)


def _finite(value):
    """JSON has no infinity: unbounded caps and the error of a replicate that
    could not be solved at all are written as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def replicate_frame(design: Design, ids: ArrayLike | None = None) -> pd.DataFrame:
    """``id, weight, rep_1 … rep_B`` as a DataFrame (materialises n × B)."""
    W = design.replicate_weights()
    ids = np.arange(1, design.n + 1) if ids is None else np.asarray(ids)
    if ids.shape != (design.n,):
        raise InputFileError(f"ids have shape {ids.shape}, the design has {design.n} rows")
    columns = {"id": ids, "weight": np.asarray(design.weights)}
    frame = pd.DataFrame(columns)
    reps = pd.DataFrame(W, columns=[f"rep_{b + 1}" for b in range(W.shape[1])])
    return pd.concat([frame, reps], axis=1)


def write_replicate_weights(
    design: Design, path: StrPath, *, ids: ArrayLike | None = None, force: bool = False
) -> Path:
    """Write ``id, weight, rep_1 … rep_B`` (CSV or parquet by suffix) and the sidecar.

    The pair is written as one unit (:func:`estimators.io.files.write_files`):
    both targets are claimed, so a second run writing the same ``path`` fails
    (exit 2) instead of mixing its files with this run's; the sidecar records
    the SHA-256 of the table it describes (``weights_sha256``), which
    :func:`read_replicate_weights` verifies.
    """
    path = Path(path)
    side = sidecar_path(path)
    check_table_name(path)
    check_writable(path, force)
    check_writable(side, force)
    frame = replicate_frame(design, ids)
    meta = replicate_metadata(design)
    parquet = path.suffix.lower() in PARQUET_SUFFIXES

    def write_table(tmp):
        if parquet:
            frame.to_parquet(tmp, index=False, engine="pyarrow")
        else:
            frame.to_csv(tmp, index=False)
        meta["weights_sha256"] = file_sha256(tmp)

    def write_sidecar(tmp):
        Path(tmp).write_text(json.dumps(meta, indent=1, allow_nan=False) + "\n")

    write_files([(path, write_table), (side, write_sidecar)], force)
    return path


def check_table_name(path: StrPath) -> None:
    """Refuse a replicate table name that is not plain CSV or parquet (call it
    before any work): ``.json`` is the sidecar's; a compressed or other
    format's name (``r.csv.gz``, ``r.xlsx``) is no table kalib reads back."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        raise InputFileError(
            f"{str(path)!r}: the replicate table cannot be a .json file "
            f"(that name is the sidecar's)"
        )
    if path.suffix.lower() not in PARQUET_SUFFIXES and csv_compression(path) is not None:
        raise OutputWriteError(
            f"{str(path)!r}: a replicate table is written as plain CSV or parquet, "
            "as kalib estimate reads it back; name it .csv (or .parquet)"
        )


def file_sha256(path: StrPath) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ReplicateFileError(InputFileError):
    """A replicate-weight file or its sidecar is malformed, or they do not
    belong together (names the file, and the column or line)."""


@dataclass(frozen=True)
class ReplicateFile:
    """A replicate-weight file read back: arrays and R's variance constants."""

    ids: np.ndarray
    weights: np.ndarray  # (n,)
    repweights: np.ndarray  # (n, B)
    scale: float
    rscales: np.ndarray  # (B,)
    mse: bool
    degf: int | None
    method: str
    metadata: dict

    def attach(self, design: Design) -> Design:
        """``design`` (rows in file order) with these replicate weights."""
        return design.with_replicate_weights(
            self.repweights,
            self.scale,
            self.rscales,
            mse=self.mse,
            method=self.method,
            degf=self.degf,
            weights=self.weights,
        )


def read_replicate_weights(
    path: StrPath,
    id_columns: Sequence[str] = ("id",),
    *,
    replicate_type: str | None = None,
    scale: float | None = None,
    rscales: ArrayLike | None = None,
    fay_rho: float | None = None,
) -> ReplicateFile:
    """Read a file written by :func:`write_replicate_weights` (or ``kalib replicate``),
    or replicate weights from elsewhere without a sidecar.

    The unit identifier is the first of ``id_columns`` in the file (``id`` in
    kalib's files; a file written elsewhere, e.g. by R, may use the sample's).
    A file without a sidecar (``id, weight, rep_1 … rep_B`` from another
    producer: ACS-style successive-difference weights, a public-use file's
    BRR or Fay weights) needs ``replicate_type``, an R ``svrepdesign`` type,
    whose rules give ``scale`` and ``rscales`` unless given (and ``fay_rho``
    for fay): ``weighting.replicates.svrep_constants``; its ``mse`` is false
    (the caller's choice) and ``degf`` R's rank rule. With a sidecar those
    four are its own, and giving any of them is an error.
    Everything is checked before use, each failure a
    :class:`ReplicateFileError` naming the file and the field, column or line:
    the sidecar (``method`` kalib's or an R type, ``scale`` positive, one finite
    non-negative ``rscales`` per replicate column, ``replicates`` equal to
    the number of ``rep_*`` columns, ``mse`` true or false, ``degf`` a
    positive integer or null, and from version 2 on ``weights_sha256`` equal
    to the table's SHA-256: a table replaced or edited after it was written
    does not pass), the table (columns ``rep_1 … rep_B`` in order, finite
    numbers, ids present and unique).
    """
    path = Path(path)
    side = sidecar_path(path)
    check_input(path)
    given = [
        name
        for name, value in (
            ("replicate_type", replicate_type),
            ("scale", scale),
            ("rscales", rscales),
            ("fay_rho", fay_rho),
        )
        if value is not None
    ]
    if not side.is_file():
        if replicate_type is None:
            raise ReplicateFileError(
                f"replicate-weight file {str(path)!r} has no sidecar {str(side)!r} (method, "
                f"scale, rscales, mse)",
                option="replicate_type",
                remedy="for a file written elsewhere give replicate_type= (R's svrepdesign "
                "type) and, as it needs, scale=, rscales=, fay_rho=",
            )
        return _read_without_sidecar(path, id_columns, replicate_type, scale, rscales, fay_rho)
    if given:
        raise ReplicateFileError(
            f"{str(path)!r} has a sidecar {str(side)!r} that gives its "
            f"method, scale and rscales: {', '.join(given)} are for a "
            f"file without one"
        )
    meta = _read_sidecar(side)
    if meta.get("version", 1) >= 2 and meta.get("weights_sha256") != file_sha256(path):
        raise ReplicateFileError(
            f"{str(path)!r} does not match its sidecar {str(side)!r} (SHA-256 differs): "
            "the table was replaced or edited after it was written; write both again "
            "with kalib replicate"
        )
    frame, info, id_column, rep_cols = _read_table(path, id_columns)
    if "replicates" in meta and meta["replicates"] != len(rep_cols):
        raise ReplicateFileError(
            f"{str(side)!r} says {shown(meta['replicates'])} replicates, "
            f"{str(path)!r} has {len(rep_cols)} rep_* columns"
        )
    rscales = np.asarray(meta["rscales"], dtype=np.float64)
    if rscales.shape != (len(rep_cols),):
        raise ReplicateFileError(
            f"{str(side)!r} has {rscales.size} rscales for {len(rep_cols)} replicate columns"
        )
    weights, W = _weight_columns(frame, info, rep_cols)
    return ReplicateFile(
        ids=frame[id_column].to_numpy(),
        weights=weights,
        repweights=W,
        scale=float(meta["scale"]),
        rscales=rscales,
        mse=meta["mse"],
        degf=meta.get("degf"),
        method=meta["method"],
        metadata=meta,
    )


def _read_table(path: Path, id_columns):
    """The table of a replicate file: (frame, info, id column, rep columns),
    its columns and ids checked."""
    frame, info = read_table_info(path)
    rep_cols = _replicate_columns(frame, path)
    id_column = next((c for c in id_columns if c in frame.columns), id_columns[0])
    missing = [c for c in (id_column, "weight") if c not in frame.columns]
    if missing:
        raise ReplicateFileError(
            f"{str(path)!r} needs columns {id_column}, weight and "
            f"rep_1 … rep_B (missing: {', '.join(missing)})"
        )
    check_ids(frame, id_column, info)
    return frame, info, id_column, rep_cols


def _weight_columns(frame: pd.DataFrame, info, rep_cols):
    """The full-sample weights (n,) and the replicate weights (n, B)."""
    return (
        _finite_column(frame, "weight", info),
        np.column_stack([_finite_column(frame, c, info) for c in rep_cols]),
    )


def _read_without_sidecar(
    path: Path, id_columns, replicate_type, scale, rscales, fay_rho
) -> ReplicateFile:
    """A replicate file from elsewhere: its constants from R's rules for
    ``replicate_type`` (``weighting.replicates.svrep_constants``)."""
    frame, info, id_column, rep_cols = _read_table(path, id_columns)
    weights, W = _weight_columns(frame, info, rep_cols)
    method, scale, rscales = svrep_constants(replicate_type, W.shape[1], scale, rscales, fay_rho)
    meta = {
        "method": method,
        "replicates": W.shape[1],
        "scale": scale,
        "rscales": rscales.tolist(),
        "mse": False,
        "degf": None,
        "sidecar": None,
        "fay_rho": (0.5 if fay_rho is None else fay_rho) if method == "fay" else None,
    }
    return ReplicateFile(
        ids=frame[id_column].to_numpy(),
        weights=weights,
        repweights=W,
        scale=scale,
        rscales=rscales,
        mse=False,
        degf=None,
        method=method,
        metadata=meta,
    )


def _read_sidecar(side: Path) -> dict:
    """The sidecar's JSON, every field the reader uses checked."""
    name = str(side)
    meta = read_json(side, "sidecar", ReplicateFileError)

    def bad(key, why):
        value = meta.get(key) if isinstance(meta, dict) else None
        return ReplicateFileError(
            f"sidecar {name!r}: {key!r} {why} (it is {json.dumps(value)[:60]})"
        )

    if not isinstance(meta, dict):
        raise ReplicateFileError(f"sidecar {name!r} is not a JSON object")
    for key in ("scale", "rscales", "mse", "method"):
        if key not in meta:
            raise ReplicateFileError(f"sidecar {name!r} has no {key!r}")
    if meta.get("format", FORMAT) != FORMAT:
        raise bad("format", f"must be {FORMAT!r}")
    version = meta.get("version", 1)
    if not _is_int(version) or not 1 <= version <= VERSION:
        raise bad("version", f"must be 1 to {VERSION} (a newer kalib wrote it?)")
    if not isinstance(meta["method"], str) or meta["method"] not in SIDECAR_METHODS:
        raise bad("method", f"must be one of {', '.join(SIDECAR_METHODS)}")
    if not _is_number(meta["scale"]) or not meta["scale"] > 0:
        raise bad("scale", "must be a positive number")
    if not isinstance(meta["rscales"], list) or not all(
        _is_number(r) and r >= 0 for r in meta["rscales"]
    ):
        raise bad("rscales", "must be a list of non-negative numbers")
    if not isinstance(meta["mse"], bool):
        raise bad("mse", "must be true or false")
    if "replicates" in meta and not (_is_int(meta["replicates"]) and meta["replicates"] >= 2):
        raise bad("replicates", "must be a whole number of at least 2")
    if meta.get("degf") is not None and not (_is_int(meta["degf"]) and meta["degf"] >= 1):
        raise bad("degf", "must be a positive whole number or null")
    if version >= 2 and not (
        isinstance(meta.get("weights_sha256"), str) and len(meta["weights_sha256"]) == 64
    ):
        raise bad("weights_sha256", "must be the table's SHA-256 (64 hex digits)")
    return meta


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _replicate_columns(frame: pd.DataFrame, path: Path) -> list[str]:
    """``rep_1 … rep_B`` in order; anything else named ``rep_*`` is an error."""
    reps = [str(c) for c in frame.columns if str(c).startswith("rep_")]
    expected = [f"rep_{b}" for b in range(1, len(reps) + 1)]
    if not reps:
        raise ReplicateFileError(f"{str(path)!r} has no replicate columns rep_1 … rep_B")
    if reps != expected:
        wrong = next(r for r, e in zip(reps, expected) if r != e)
        raise ReplicateFileError(
            f"{str(path)!r}: replicate columns must be rep_1 … "
            f"rep_{len(reps)} in order; found {wrong!r} where "
            f"{expected[reps.index(wrong)]!r} belongs"
        )
    return reps


def _finite_column(frame: pd.DataFrame, column: str, info) -> np.ndarray:
    """A weight column as float64; the first non-number or non-finite cell is
    an error naming the column and line."""
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        cell = raw.iloc[row]
        what = "missing" if pd.isna(cell) else f"{shown(cell)} is not a finite number"
        raise ReplicateFileError(
            f"{info.path!r}, {info.where(row)}, column {column!r}: "
            f"{what} ({int(bad.sum())} such cell(s) in the column)"
        )
    return values


def margins_from_metadata(meta: dict) -> list[Margin | NumericTotal]:
    """The calibration margins stored in a sidecar (to re-run the calibration)."""
    out: list[Margin | NumericTotal] = []
    for m in (meta.get("calibration") or {}).get("margins", []):
        if "numeric" in m:
            out.append(NumericTotal(m["numeric"], m["total"]))
        else:
            out.append(
                Margin(tuple(m["variables"]), {tuple(row[:-1]): row[-1] for row in m["table"]})
            )
    return out
