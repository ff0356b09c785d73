"""``kalib estimate``: means, proportions or key rates with design-based CIs.

    kalib estimate SAMPLE.csv
        (--replicate-weights FILE
         | [--weight COL] [--strata COL] [--psu COL] [--fpc COL]
           [--margins FILE ... calibration options]
           [--variance bootstrap|jkn|jk1|linearization] [--replicates B] [--seed S] [--mse])
        (--mean VARS | --proportion VAR=VALUE ... | --rates all|ID,ID...)
        [--by VAR|A*B ...] [--where EXPR] [--ci METHOD] [--level 0.95]
        --out EST.csv [--force] [--quiet]

Output (CLI.md): ``variable, domain_var, domain, n, weighted_base, estimate,
se, ci_low, ci_high, deff, flag``; the whole sample (``all``) first, then
each ``--by`` set. With ``--rates`` the variable is the catalog id.

A replicate file (``kalib replicate``: ``id, weight, rep_1 ... rep_B`` plus a
JSON sidecar with ``method, scale, rscales, mse``) is used as it is: its
``weight`` column is the analysis weight and the replicate columns carry the
variance; the degrees of freedom are R's rule, the rank of the replicate
weights minus one.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from estimators import estimate as E
from estimators.catalog import KEY_RATES
from estimators.cli.options import (add_ci_argument, add_design_arguments,
                                    add_level_argument, add_scheduler_argument,
                                    add_variance_arguments, make_replicates,
                                    scheduler_context)
from estimators.cli.rake import add_calibration_arguments, calibration_options
from estimators.domains import ALL, parse_where
from estimators.io import check_writable, read_margins, read_table
from weighting.design import Design
from weighting.errors import KalibError

def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "estimate", help="means, proportions or key rates with confidence intervals",
        description="Design-based estimates by domain, with SEs, CIs, design effects "
                    "and a reliability flag.")
    p.add_argument("sample", type=Path, metavar="SAMPLE", help="sample CSV or parquet file")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--mean", metavar="VARS", help="comma-separated numeric variables")
    what.add_argument("--proportion", action="append", metavar="VAR=VALUE",
                      help="share of units with VAR equal to VALUE; repeatable")
    what.add_argument("--rates", metavar="CATALOG",
                      help="key rates of the catalog: 'all' or comma-separated ids "
                           "(an id without '.item' selects all its items)")
    add_domain_arguments(p)
    add_ci_argument(p)
    p.add_argument("--out", type=Path, required=True, metavar="PATH", help="output CSV")
    p.set_defaults(run=run)
    return p


def add_domain_arguments(p: argparse.ArgumentParser) -> None:
    """Design, replicate, calibration and domain options shared with crosstab."""
    add_design_arguments(p)
    add_calibration_arguments(p)
    # Calibration is optional here (required in `kalib rake`).
    next(a for a in p._actions if a.dest == "margins").required = False
    add_variance_arguments(p, default="linearization")
    add_scheduler_argument(p)
    p.add_argument("--mse", action="store_true",
                   help="centre replicate variance on the full-sample estimate")
    p.add_argument("--replicate-weights", type=Path, metavar="FILE",
                   help="replicate file from `kalib replicate` (with its .json sidecar)")
    p.add_argument("--by", action="append", default=[], metavar="VAR",
                   help="domains: a variable or a cross A*B; repeatable")
    p.add_argument("--where", metavar="EXPR",
                   help="subpopulation, e.g. \"sector == public\" (domain semantics)")
    add_level_argument(p)
    p.add_argument("--force", action="store_true", help="replace an existing output")
    p.add_argument("--quiet", action="store_true", help="print no summary")


def build_design(args, text_columns=()) -> Design:
    """The design described by the options: replicate file, or design options
    (+ calibration, + replicates made in this process, or on Dask with
    ``--scheduler``: then call it inside ``scheduler_context``)."""
    design_columns = [c for c in (args.strata, args.psu) if c]
    margins = [read_margins(m) for m in (args.margins or [])]
    margin_vars = [v for m in margins for v in m.variables]
    frame = read_table(args.sample, text_columns=list(dict.fromkeys(
        list(text_columns) + design_columns + margin_vars)))
    for name in [args.weight, args.strata, args.psu, args.fpc] + margin_vars:
        if name and name not in frame.columns:
            raise KalibError(f"{str(args.sample)!r} has no column {name!r}")
    if args.replicate_weights is not None:
        if margins or args.variance != "linearization":
            raise KalibError("--replicate-weights carries the weights and the variance: "
                             "do not combine it with --margins or --variance")
        return read_replicate_file(frame, args.replicate_weights, args.id, args.mse)
    design = Design(frame, weights=args.weight, strata=args.strata, psu=args.psu,
                    fpc=args.fpc)
    if margins:
        design = design.calibrate(margins, **calibration_options(args))
    if args.variance == "linearization":
        return design
    # Replicates of a calibrated design are each re-calibrated with its spec.
    design = make_replicates(design, args.scheduler, args.variance,
                             replicates=args.replicates, seed=args.seed, mse=args.mse)
    if args.scheduler is None:
        return design
    from estimators.scale import chunked

    return chunked(design)


def read_replicate_file(frame, path: Path, id_column: str, mse: bool = False) -> Design:
    """The design of a replicate file written by ``kalib replicate``.

    The file carries ``id``, ``weight`` and ``rep_1 ... rep_B``; its JSON
    sidecar the method, ``scale``, ``rscales``, ``mse`` and ``degf``. R's
    ``svrepdesign(type = "other", ...)`` reads the same file. Without a
    ``degf`` in the sidecar, R's rule (rank of the replicate weights minus one)
    applies.
    """
    sidecar = path.with_suffix(".json")
    if not sidecar.is_file():
        raise KalibError(f"replicate file {str(path)!r} has no sidecar {str(sidecar)!r}")
    meta = json.loads(sidecar.read_text())
    if "scale" not in meta:
        raise KalibError(f"sidecar {str(sidecar)!r} has no 'scale'")
    reps = read_table(path)
    for name, table in ((id_column, frame), (id_column, reps), ("weight", reps)):
        if name not in table.columns:
            raise KalibError(f"column {name!r} missing in "
                             f"{'the sample' if table is frame else str(path)!r}")
    if frame[id_column].duplicated().any():
        raise KalibError(f"id column {id_column!r} is not unique in the sample")
    order = reps.set_index(id_column).reindex(frame[id_column])
    if order["weight"].isna().any():
        first = frame[id_column][order["weight"].isna().to_numpy()].iloc[0]
        raise KalibError(f"unit {first!r} of the sample is not in {str(path)!r}")
    rep_cols = [c for c in reps.columns if str(c).startswith("rep_")]
    if not rep_cols:
        raise KalibError(f"{str(path)!r} has no rep_1 ... rep_B columns")
    design = Design(frame, weights=order["weight"].to_numpy(float))
    return design.with_replicate_weights(
        order[rep_cols].to_numpy(float), scale=float(meta["scale"]),
        rscales=meta.get("rscales", 1.0), mse=mse or bool(meta.get("mse", False)),
        method=meta.get("method", "other"), degf=meta.get("degf"))


def domain_specs(args) -> list[str]:
    return [ALL] + [b for b in args.by if b != ALL]


def _items(design, args):
    if args.mean:
        return E.mean_items(design, [v.strip() for v in args.mean.split(",") if v.strip()])
    if args.proportion:
        items = []
        for spec in args.proportion:
            if "=" not in spec:
                raise KalibError(f"--proportion expects VAR=VALUE, got {spec!r}")
            var, value = spec.split("=", 1)
            items.append(E.proportion_item(design, var.strip(), value.strip()))
        return items
    return E.rate_items(design, select_rates(args.rates))


def select_rates(text: str):
    if text.strip() in ("all", "catalog"):
        return list(KEY_RATES)
    chosen = []
    for wanted in (t.strip() for t in text.split(",") if t.strip()):
        found = [r for r in KEY_RATES if r.id == wanted or r.id.startswith(wanted + ".")]
        if not found:
            raise KalibError(f"--rates: no key rate {wanted!r} in the catalog")
        chosen += found
    return chosen


def run(args) -> int:
    check_writable(args.out, args.force)
    text = []
    if args.proportion:
        text = [p.split("=", 1)[0].strip() for p in args.proportion]
    where = parse_where(args.where) if args.where else None
    with scheduler_context(args.scheduler):
        design = build_design(args, text_columns=text)
        results = E.estimate_items(design, _items(design, args), domain_specs(args), where,
                                   ci=args.ci, level=args.level)
    if args.rates:
        results.frame["variable"] = results.frame["rate"]
    results.to_csv(args.out, force=args.force)
    if not args.quiet:
        print(results.summary(), file=sys.stdout)
    return 0
