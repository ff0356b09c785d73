"""``kalib rake``: calibrate a sample to population margins.

    kalib rake SAMPLE.csv --margins M1.csv [--margins M2.csv ...] [--weight COL]
               [--calibration raking|linear|logit|truncated|poststratify [--partial]]
               [--bounds L,U | --weight-bounds L,U] [--calibration-variance COL]
               [--trim-lower X] [--trim-upper X] [--trim-weights L,U [--strict]]
               [--tol T] [--max-iter N]
               [--allow-unconverged] [--normalize-margins]
               --out OUT.csv [--force] [--quiet]

Writes the input rows plus a ``weight`` column (replacing one of that name),
atomically; prints the calibration summary unless ``--quiet``.
``--trim-weights L,U`` then trims the calibrated weights as R's
``trimWeights`` does (``weighting.calibrate.trim_weights``: clipped, the
trimmed amount spread equally over the others, ``--strict`` repeating);
``--trim-lower/--trim-upper`` instead cap g and re-calibrate.

The calibration options are those of every subcommand that calibrates
(:func:`estimators.cli.options.add_calibration_arguments`, read back into one
``CalibrationSpec`` by :func:`estimators.cli.options.calibration_spec`);
calibrate through :func:`estimators.diagnose.calibrate_explained` to have
infeasible bounds named.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from estimators.cli.inputs import (
    add_encoding_argument,
    check_margin_variables,
    read_margin_files,
    read_sample,
)
from estimators.cli.options import (
    add_calibration_arguments,
    calibrate_design,
    calibration_spec,
    number_pair,
)
from weighting.calibrate import trimmed_weights
from weighting.columns import numeric
from weighting.design import Design
from weighting.errors import KalibError, WeightError


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "rake",
        help="calibrate a sample to population margins",
        description="Calibrate base weights to population margins and write the "
        "input rows plus a 'weight' column.",
    )
    p.add_argument("sample", type=Path, metavar="SAMPLE", help="sample CSV or parquet file")
    p.add_argument(
        "--weight", metavar="COL", help="base weight column (default: N/n for every row)"
    )
    add_calibration_arguments(p)
    p.add_argument(
        "--trim-weights",
        type=number_pair,
        metavar="L,U",
        help="after calibrating, clip the weights to [L, U] and spread the trimmed "
        "amount equally over the other units (R's trimWeights; the margins move, "
        "the total stays)",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="with --trim-weights: repeat until no weight is outside [L, U]",
    )
    add_encoding_argument(p)
    p.add_argument(
        "--out", type=Path, required=True, metavar="PATH", help="output CSV (or .parquet)"
    )
    p.add_argument("--force", action="store_true", help="replace an existing output")
    p.add_argument("--quiet", action="store_true", help="print no summary")
    p.set_defaults(run=run)
    return p


def run(args) -> int:
    from estimators.diagnose import calibrate_explained
    from estimators.io.files import check_writable, csv_compression, write_table

    spec = calibration_spec(args)
    if spec.aggregate_stage is not None:
        raise KalibError(
            "kalib rake has no design options: --aggregate-stage needs the PSUs "
            "(--psu) of kalib estimate or kalib replicate"
        )
    if args.strict and args.trim_weights is None:
        raise KalibError("--strict belongs to --trim-weights")
    check_writable(args.out, args.force)
    csv_compression(args.out)  # a name of another format: refused before the work
    margins = read_margin_files(args)
    variables = list(dict.fromkeys(v for m in margins for v in m.variables))
    frame = read_sample(args, text_columns=variables)
    check_margin_variables(args, frame, margins)
    if args.weight is not None and args.weight not in frame.columns:
        raise KalibError(
            f"{str(args.sample)!r} has no column {args.weight!r} "
            f"(columns: {', '.join(map(str, frame.columns))})"
        )
    base = None if args.weight is None else numeric_column(frame, args.weight)
    if args.calibration == "poststratify":  # one margin, no bounds: nothing to explain
        result = calibrate_design(Design(frame, weights=base), margins, spec, args).calibration
    else:
        result = calibrate_explained(frame, margins, base_weights=base, spec=spec)
    weights = result.weights
    if args.trim_weights is not None:
        low, high = args.trim_weights
        weights = trimmed_weights(weights, low, high, strict=args.strict)
    out = frame.copy()
    out["weight"] = weights
    write_table(out, args.out, force=args.force)
    if not result.converged:
        print(
            f"kalib rake: warning: calibration NOT converged (max relative margin "
            f"error {result.error:.3g} > tol {result.tol:g}); weights written to "
            f"{str(args.out)!r} anyway (--allow-unconverged)",
            file=sys.stderr,
        )
    if not args.quiet:
        print(result.summary())
        if args.trim_weights is not None:
            moved = int((weights != result.weights).sum())
            print(
                f"trim_weights [{low:g}, {high:g}]{' strict' if args.strict else ''}: "
                f"{moved} weights changed, total {weights.sum():.10g}, min "
                f"{weights.min():.6g}, max {weights.max():.6g}"
            )
    return 0


def numeric_column(frame, name: str):
    """Column ``name`` as float64 (missing: NaN); WeightError naming the count
    and first row of the values that are not numbers."""
    return numeric(frame[name].to_numpy(), f"base weight column {name!r}", error=WeightError)
