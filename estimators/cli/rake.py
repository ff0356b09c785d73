"""``kalib rake``: calibrate a sample to population margins.

    kalib rake SAMPLE.csv --margins M1.csv [--margins M2.csv ...] [--weight COL]
               [--calibration raking|linear|logit|truncated] [--bounds L,U]
               [--trim-lower X] [--trim-upper X] [--tol T] [--max-iter N]
               [--allow-unconverged] [--normalize-margins]
               --out OUT.csv [--force] [--quiet]

Writes the input rows plus a ``weight`` column (replacing one of that name),
atomically; prints the calibration summary unless ``--quiet``.

The calibration options are added by :func:`add_calibration_arguments` and
read back by :func:`calibration_options`, so that every subcommand that
calibrates spells and interprets them the same way; calibrate through
:func:`estimators.diagnose.calibrate_explained` to have infeasible bounds named.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from estimators.diagnose import calibrate_explained
from estimators.cli.inputs import add_encoding_argument, read_margin_files, read_sample
from estimators.io.files import check_writable, write_table
from weighting.errors import KalibError, WeightError

CALIBRATIONS = ("raking", "linear", "logit", "truncated")


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "rake", help="calibrate a sample to population margins",
        description="Calibrate base weights to population margins and write the "
                    "input rows plus a 'weight' column.")
    p.add_argument("sample", type=Path, metavar="SAMPLE", help="sample CSV or parquet file")
    p.add_argument("--weight", metavar="COL",
                   help="base weight column (default: N/n for every row)")
    add_calibration_arguments(p)
    add_encoding_argument(p)
    p.add_argument("--out", type=Path, required=True, metavar="PATH",
                   help="output CSV (or .parquet)")
    p.add_argument("--force", action="store_true", help="replace an existing output")
    p.add_argument("--quiet", action="store_true", help="print no summary")
    p.set_defaults(run=run)
    return p


def add_calibration_arguments(p: argparse.ArgumentParser, margins_required=True) -> None:
    """The calibration options of ``../shared/CLI.md``."""
    p.add_argument("--margins", action="append", type=Path, required=margins_required,
                   metavar="FILE",
                   help="population margin CSV (variables..., total); repeatable")
    p.add_argument("--calibration", choices=CALIBRATIONS, default="raking",
                   help="calibration distance (default raking); truncated = linear "
                        "with bounds")
    p.add_argument("--bounds", type=_pair, metavar="L,U",
                   help="bounds on g = calibrated / base weight")
    p.add_argument("--trim-lower", type=float, metavar="X", help="lower cap on g")
    p.add_argument("--trim-upper", type=float, metavar="X", help="upper cap on g")
    p.add_argument("--tol", type=float, default=1e-10, metavar="T",
                   help="max relative margin error |achieved-target|/(1+|target|) "
                        "(default 1e-10)")
    p.add_argument("--max-iter", type=int, default=1000, metavar="N",
                   help="iteration cap (default 1000)")
    p.add_argument("--allow-unconverged", action="store_true",
                   help="keep an unconverged result (flagged) instead of an error")
    p.add_argument("--normalize-margins", action="store_true",
                   help="rescale margins to the first margin's grand total")


def calibration_options(args) -> dict:
    """Keyword arguments for :func:`weighting.calibrate` from parsed options
    (everything except data, margins and base weights)."""
    trim = None
    if args.trim_lower is not None or args.trim_upper is not None:
        trim = (args.trim_lower, args.trim_upper)
    return dict(distance=args.calibration, bounds=args.bounds, trim=trim, tol=args.tol,
                max_iter=args.max_iter, allow_unconverged=args.allow_unconverged,
                normalize_margins=args.normalize_margins)


def run(args) -> int:
    check_writable(args.out, args.force)
    margins = read_margin_files(args)
    variables = list(dict.fromkeys(v for m in margins for v in m.variables))
    frame = read_sample(args, text_columns=variables)
    missing = [v for v in variables + ([args.weight] if args.weight else [])
               if v not in frame.columns]
    if missing:
        raise KalibError(f"{str(args.sample)!r} has no column {missing[0]!r} "
                         f"(columns: {', '.join(map(str, frame.columns))})")
    base = None if args.weight is None else numeric_column(frame, args.weight)
    result = calibrate_explained(frame, margins, base_weights=base,
                                 **calibration_options(args))
    out = frame.copy()
    out["weight"] = result.weights
    write_table(out, args.out, force=args.force)
    if not result.converged:
        print(f"kalib rake: warning: calibration NOT converged (max relative margin "
              f"error {result.error:.3g} > tol {result.tol:g}); weights written to "
              f"{str(args.out)!r} anyway (--allow-unconverged)", file=sys.stderr)
    if not args.quiet:
        print(result.summary())
    return 0


def numeric_column(frame, name: str):
    """Column ``name`` as float64; WeightError naming the first non-number."""
    import pandas as pd

    values = pd.to_numeric(frame[name], errors="coerce")
    bad = values.isna() & frame[name].notna()
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise WeightError(f"base weight column {name!r}: {int(bad.sum())} value(s) are "
                          f"not numbers (first at row {row}: {frame[name].iloc[row]!r})")
    return values.to_numpy(dtype=float)


def _pair(text: str) -> tuple[float, float]:
    try:
        low, high = (float(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected L,U (two numbers), got {text!r}") from None
    return low, high
