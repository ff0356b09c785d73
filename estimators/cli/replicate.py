"""``kalib replicate``: replicate weights, each replicate re-calibrated.

    kalib replicate SAMPLE.csv [--id COL] [--weight COL] [--strata COL] [--psu COL]
                    [--fpc COL] [--lonely-psu error|certainty|A=B,...]
                    --method bootstrap|jkn|jk1|brr|fay [--replicates B] [--seed S]
                    [--fay-rho RHO] [--collapse-strata] [--mse]
                    [--accept-failures] [--margins FILE ... calibration options]
                    --out REPS.csv|REPS.parquet [--force] [--quiet]

Writes ``id, weight, rep_1 … rep_B`` and the sidecar ``REPS.json`` (method,
seed, scale, rscales, mse, calibration spec, convergence record per
replicate); see :mod:`estimators.io.replicate_file`. Without ``--margins`` the
replicates are not calibrated. ``--lonely-psu`` extends the contract: strata
with one PSU are an error unless declared certainty strata or merged into a
named neighbour (``A=B`` merges stratum A into B). ``--method brr`` and
``fay`` (two PSUs per stratum; ``weighting.replicates``) make one replicate
per column of the Hadamard matrix R would use; ``--fay-rho`` (default 0.5)
is Fay's factor, ``--collapse-strata`` pairs one-PSU strata (declared with
``--lonely-psu certainty``) into pseudo-strata. ``--calibration
poststratify`` post-stratifies the sample and every replicate to one
(crossed) margin (R's ``postStratify``; ``--partial``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from estimators.cli.inputs import (
    add_encoding_argument,
    check_margin_variables,
    read_margin_files,
    read_sample,
)
from estimators.cli.options import (
    add_calibration_arguments,
    add_design_arguments,
    add_replicate_arguments,
    add_scheduler_argument,
    calibrate_design,
    calibration_spec,
    design_columns,
    design_of_args,
    fay_rho,
    make_replicates,
    scheduler_context,
)
from weighting.design import Design
from weighting.errors import KalibError
from weighting.replicates import METHODS


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "replicate",
        help="replicate weights, each replicate re-calibrated",
        description="Make bootstrap, jackknife, BRR or Fay replicate weights (each "
        "replicate re-calibrated with the full-sample calibration) and write "
        "id, weight, rep_1 ... rep_B plus a JSON sidecar.",
    )
    p.add_argument("sample", type=Path, metavar="SAMPLE", help="sample CSV or parquet file")
    add_design_arguments(p)
    p.add_argument(
        "--method",
        choices=METHODS,
        default="bootstrap",
        help="replicate method (default bootstrap)",
    )
    add_replicate_arguments(p)
    p.add_argument(
        "--fay-rho",
        type=fay_rho,
        metavar="RHO",
        help="Fay's rho for --method fay (default 0.5): a stratum's PSUs get "
        "2 - rho and rho instead of BRR's 2 and 0",
    )
    p.add_argument(
        "--collapse-strata",
        action="store_true",
        help="--method brr or fay: pair one-PSU strata, adjacent in stratum "
        "order, into pseudo-strata of two PSUs (overstates the variance)",
    )
    p.add_argument(
        "--mse", action="store_true", help="centre replicate variance on the full-sample estimate"
    )
    p.add_argument(
        "--accept-failures",
        action="store_true",
        help="keep replicates whose re-calibration fails (flagged in the "
        "sidecar) instead of an error",
    )
    add_scheduler_argument(p)
    add_calibration_arguments(p, margins_required=False)  # no margins: no calibration
    add_encoding_argument(p)
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="PATH",
        help="output CSV (or .parquet); the sidecar is PATH with .json",
    )
    p.add_argument("--force", action="store_true", help="replace existing outputs")
    p.add_argument("--quiet", action="store_true", help="print no summary")
    p.set_defaults(run=run)
    return p


def design_from_args(frame, args) -> Design:
    """The Design of the parsed design options (columns checked; the ids were
    checked by ``read_sample``)."""
    names = [args.id, args.weight, *design_columns(args)]
    missing = [c for c in names if c is not None and c not in frame.columns]
    if missing:
        raise KalibError(
            f"{str(args.sample)!r} has no column {missing[0]!r} "
            f"(columns: {', '.join(map(str, frame.columns))})"
        )
    return design_of_args(frame, args)


def run(args) -> int:
    from estimators.io.files import check_writable
    from estimators.io.replicate_file import (
        check_table_name,
        sidecar_path,
        write_replicate_weights,
    )

    spec = calibration_spec(args)
    balanced = balanced_options(args)
    check_table_name(args.out)
    check_writable(args.out, args.force)
    check_writable(sidecar_path(args.out), args.force)
    margins = read_margin_files(args)
    variables = list(dict.fromkeys(v for m in margins for v in m.variables))
    text = variables + [c for c in (args.strata, *(args.psu or ())) if c]
    frame = read_sample(args, text_columns=text)
    check_margin_variables(args, frame, margins)
    design = design_from_args(frame, args)
    if margins:
        design = calibrate_design(design, margins, spec, args)
    with scheduler_context(args.scheduler):
        design = make_replicates(
            design,
            args.scheduler,
            args.method,
            replicates=args.replicates,
            seed=args.seed,
            accept_failures=args.accept_failures,
            mse=args.mse,
            **balanced,
        )
    write_replicate_weights(design, args.out, ids=frame[args.id].to_numpy(), force=args.force)
    if not args.quiet:
        print(summary(design, args.out))
    return 0


def balanced_options(args) -> dict:
    """``--fay-rho`` and ``--collapse-strata`` as ``with_replicates`` keywords
    (checked against ``--method`` and ``--scheduler`` before any file is read)."""
    if args.fay_rho is not None and args.method != "fay":
        raise KalibError(f"--fay-rho is Fay's factor: it needs --method fay, not {args.method}")
    if args.collapse_strata and args.method not in ("brr", "fay"):
        raise KalibError(f"--collapse-strata is for --method brr or fay, not {args.method}")
    if args.method in ("brr", "fay") and args.scheduler is not None:
        raise KalibError(
            "--scheduler runs the bootstrap and the jackknives on Dask; BRR "
            "and Fay replicates (one per Hadamard column) are made in process: "
            "leave --scheduler out"
        )
    options = {"fay_rho": args.fay_rho} if args.fay_rho is not None else {}
    return options | ({"collapse_strata": True} if args.collapse_strata else {})


def summary(design, out) -> str:
    """Lines describing the replicates written."""
    from estimators.io.replicate_file import sidecar_path

    conv = design.convergence
    lines = [
        f"{design.method}: {design.B} replicates"
        + (f" (seed {design.seed})" if design.seed is not None else "")
        + f", scale {design.scale:.6g}, degf {design.degf}, mse {design.mse}"
    ]
    if design.calibration is not None:
        line = (
            f"re-calibrated ({design.calibration.distance}): median "
            f"{np.median(conv.iterations):g} iterations, max {conv.iterations.max()}, "
            f"max error {np.max(conv.error):.3g}"
        )
        if conv.failed.size:
            line += f"; {conv.failed.size} failed (kept, flagged in the sidecar)"
        lines.append(line)
    lines.append(f"wrote {out} and {sidecar_path(out)}")
    return "\n".join(lines)
