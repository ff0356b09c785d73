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
Files are written atomically and never replace an existing file without
``force``.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from estimators.io.files import PARQUET_SUFFIXES, InputFileError, check_writable, write_atomic
from weighting.margins import Margin, NumericTotal

FORMAT = "kalib-replicate-weights"
VERSION = 1


def sidecar_path(path) -> Path:
    """The JSON sidecar of a replicate-weight file: same name, ``.json``."""
    return Path(path).with_suffix(".json")


def replicate_metadata(design) -> dict:
    """The sidecar content for a design with replicates (JSON-ready)."""
    reps = design.replicates
    return {
        "format": FORMAT,
        "version": VERSION,
        "method": reps.method,
        "replicates": int(reps.B),
        "seed": reps.seed,
        "scale": float(reps.scale),
        "rscales": [float(r) for r in reps.rscales],
        "mse": bool(reps.mse),
        "degf": int(reps.degf),
        "r_type": "other",
        "combined_weights": True,
        "design": {"n": int(design.n), "strata": int(design.n_strata),
                   "psus": int(design.n_psus), "fpc": design.fpc is not None,
                   "lonely_psu": design.lonely_psu},
        "calibration": calibration_spec(design),
        "convergence": _finite(reps.convergence.rows()),
    }


def calibration_spec(design) -> dict | None:
    """Margins (as tables), distance, bounds, trimming, tolerance and outcome."""
    result = design.calibration
    if result is None:
        return None
    spec = dict(design.calibration_spec)
    margins = []
    for m in spec.pop("margins"):
        if isinstance(m, NumericTotal):
            margins.append({"numeric": m.variable, "total": m.total})
        else:
            margins.append({"variables": list(m.variables),
                            "table": [list(key) + [total] for key, total in m.table.items()]})
    out = {"margins": margins, "distance": result.distance,
           "bounds": None if result.bounds is None else list(result.bounds),
           "trim": None if result.trim is None else list(result.trim),
           "tol": result.tol, "converged": bool(result.converged),
           "iterations": int(result.iterations), "error": float(result.error)}
    out.update({k: v for k, v in spec.items()
                if k not in out and isinstance(v, (bool, int, float, str, type(None)))})
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


def replicate_frame(design, ids=None) -> pd.DataFrame:
    """``id, weight, rep_1 … rep_B`` as a DataFrame (materialises n × B)."""
    W = design.replicate_weights()
    ids = np.arange(1, design.n + 1) if ids is None else np.asarray(ids)
    if ids.shape != (design.n,):
        raise InputFileError(f"ids have shape {ids.shape}, the design has {design.n} rows")
    columns = {"id": ids, "weight": np.asarray(design.weights)}
    frame = pd.DataFrame(columns)
    reps = pd.DataFrame(W, columns=[f"rep_{b + 1}" for b in range(W.shape[1])])
    return pd.concat([frame, reps], axis=1)


def write_replicate_weights(design, path, *, ids=None, force=False) -> Path:
    """Write ``id, weight, rep_1 … rep_B`` (CSV or parquet by suffix) and the sidecar.

    Both files are checked before anything is written, then written atomically.
    """
    path = Path(path)
    side = sidecar_path(path)
    if path.suffix.lower() == ".json":
        raise InputFileError(f"{str(path)!r}: the replicate table cannot be a .json file "
                             f"(that name is the sidecar's)")
    check_writable(path, force)
    check_writable(side, force)
    frame = replicate_frame(design, ids)
    meta = json.dumps(replicate_metadata(design), indent=1, allow_nan=False)
    if path.suffix.lower() in PARQUET_SUFFIXES:
        write_atomic(path, lambda tmp: frame.to_parquet(tmp, index=False, engine="pyarrow"),
                     force)
    else:
        write_atomic(path, lambda tmp: frame.to_csv(tmp, index=False), force)
    write_atomic(side, meta + "\n", force)
    return path


@dataclass(frozen=True)
class ReplicateFile:
    """A replicate-weight file read back: arrays and R's variance constants."""

    ids: np.ndarray
    weights: np.ndarray        # (n,)
    repweights: np.ndarray     # (n, B)
    scale: float
    rscales: np.ndarray        # (B,)
    mse: bool
    degf: int | None
    method: str
    metadata: dict

    def attach(self, design):
        """``design`` (rows in file order) with these replicate weights."""
        return design.with_replicate_weights(self.repweights, self.scale, self.rscales,
                                             mse=self.mse, method=self.method,
                                             degf=self.degf, weights=self.weights)


def read_replicate_weights(path, id_columns=("id",)) -> ReplicateFile:
    """Read a file written by :func:`write_replicate_weights` (or ``kalib replicate``).

    The unit identifier is the first of ``id_columns`` in the file (``id`` in
    kalib's files; a file written elsewhere, e.g. by R, may use the sample's).
    """
    path = Path(path)
    side = sidecar_path(path)
    if not path.is_file():
        raise InputFileError(f"replicate-weight file {str(path)!r} does not exist")
    if not side.is_file():
        raise InputFileError(f"replicate-weight file {str(path)!r} has no sidecar "
                             f"{str(side)!r} (method, scale, rscales, mse)")
    try:
        meta = json.loads(side.read_text())
    except (OSError, ValueError) as exc:
        raise InputFileError(f"cannot read {str(side)!r}: {exc}") from None
    for key in ("scale", "rscales", "mse", "method"):
        if key not in meta:
            raise InputFileError(f"{str(side)!r} has no {key!r}")
    frame = (pd.read_parquet(path) if path.suffix.lower() in PARQUET_SUFFIXES
             else pd.read_csv(path))
    rep_cols = [c for c in frame.columns if str(c).startswith("rep_")]
    rep_cols.sort(key=lambda c: int(str(c)[4:]) if str(c)[4:].isdigit() else -1)
    id_column = next((c for c in id_columns if c in frame.columns), id_columns[0])
    missing = [c for c in (id_column, "weight") if c not in frame.columns]
    if missing or not rep_cols:
        raise InputFileError(f"{str(path)!r} needs columns {id_column}, weight and rep_1 … "
                             f"rep_B (missing: {missing or 'rep_*'})")
    rscales = np.asarray(meta["rscales"], dtype=np.float64)
    if rscales.shape != (len(rep_cols),):
        raise InputFileError(f"{str(side)!r} has {rscales.size} rscales for "
                             f"{len(rep_cols)} replicate columns")
    W = frame[rep_cols].to_numpy(np.float64)
    if not np.isfinite(W).all():
        rows = np.flatnonzero(~np.isfinite(W).all(axis=1))
        raise InputFileError(f"{str(path)!r}: replicate weights missing or not finite in "
                             f"{rows.size} row(s) (first: row {rows[0] + 1})")
    return ReplicateFile(ids=frame[id_column].to_numpy(), weights=frame["weight"].to_numpy(float),
                         repweights=W, scale=float(meta["scale"]), rscales=rscales,
                         mse=bool(meta["mse"]), degf=meta.get("degf"),
                         method=str(meta["method"]), metadata=meta)


def margins_from_metadata(meta: dict) -> list:
    """The calibration margins stored in a sidecar (to re-run the calibration)."""
    out = []
    for m in (meta.get("calibration") or {}).get("margins", []):
        if "numeric" in m:
            out.append(NumericTotal(m["numeric"], m["total"]))
        else:
            out.append(Margin(tuple(m["variables"]),
                              {tuple(row[:-1]): row[-1] for row in m["table"]}))
    return out
