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
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

# The estimation, the catalog and the readers (pandas, scipy) are imported
# where they are used: the parser of `kalib estimate`, and that of crosstab and
# model which share its options, needs none of them.
from estimators.cli.inputs import (
    add_encoding_argument,
    check_margin_variables,
    read_margin_files,
    read_sample,
)
from estimators.cli.options import (
    add_calibration_arguments,
    add_ci_argument,
    add_design_arguments,
    add_level_argument,
    add_replicate_file_arguments,
    add_scheduler_argument,
    add_variance_arguments,
    calibrate_design,
    calibration_spec,
    design_columns,
    design_of_args,
    importing,
    make_replicates,
    replicate_file_options,
    scheduler_context,
)
from weighting.design import Design
from weighting.errors import KalibError

if TYPE_CHECKING:
    from estimators.scale.replicates import ChunkedDesign

# --deff -> estimate_items(deff=...)
DEFF = {"wor": True, "replace": "replace"}


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "estimate",
        help="means, proportions or key rates with confidence intervals",
        description="Design-based estimates by domain, with SEs, CIs, design effects "
        "and a reliability flag.",
    )
    p.add_argument("sample", type=Path, metavar="SAMPLE", help="sample CSV or parquet file")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--mean", metavar="VARS", help="comma-separated numeric variables")
    what.add_argument(
        "--proportion",
        action="append",
        metavar="VAR=VALUE",
        help="share of units with VAR equal to VALUE; repeatable",
    )
    what.add_argument(
        "--rates",
        metavar="CATALOG",
        help="key rates of the catalog: 'all' or comma-separated ids "
        "(an id without '.item' selects all its items)",
    )
    add_domain_arguments(p)
    add_ci_argument(p)
    p.add_argument(
        "--deff",
        choices=tuple(DEFF),
        default="wor",
        help="design effect against simple random sampling without "
        "replacement (wor, default; R deff = TRUE) or with replacement "
        '(replace; R deff = "replace")',
    )
    p.add_argument(
        "--out", type=Path, required=True, metavar="PATH", help="output CSV (or .parquet)"
    )
    p.set_defaults(run=run)
    return p


def add_domain_arguments(p: argparse.ArgumentParser) -> None:
    """Design, replicate, calibration and domain options shared with crosstab."""
    add_design_arguments(p, pps=True)
    add_calibration_arguments(p, margins_required=False)  # no margins: no calibration
    add_variance_arguments(p, default="linearization")
    add_scheduler_argument(p)
    add_encoding_argument(p)
    p.add_argument(
        "--mse", action="store_true", help="centre replicate variance on the full-sample estimate"
    )
    p.add_argument(
        "--replicate-weights",
        type=Path,
        metavar="FILE",
        help="replicate file from `kalib replicate` (with its .json sidecar)",
    )
    add_replicate_file_arguments(p)
    p.add_argument(
        "--by",
        action="append",
        default=[],
        metavar="VAR",
        help="domains: a variable or a cross A*B; repeatable",
    )
    p.add_argument(
        "--where", metavar="EXPR", help='subpopulation, e.g. "sector == public" (domain semantics)'
    )
    add_level_argument(p)
    p.add_argument("--force", action="store_true", help="replace an existing output")
    p.add_argument("--quiet", action="store_true", help="print no summary")


def build_design(args, text_columns=()) -> Design | ChunkedDesign:
    """The design described by the options: replicate file, or design options
    (+ calibration, + replicates made in this process, or on Dask with
    ``--scheduler``: then call it inside ``scheduler_context``)."""
    spec = calibration_spec(args)
    file_options = replicate_file_options(args)
    text_design = [c for c in (args.strata, *(args.psu or ())) if c]
    margins = read_margin_files(args)
    margin_vars = [v for m in margins for v in m.variables]
    if getattr(args, "rates", None):
        # Key rates are defined on the codebook: read the sample as a CATI
        # export, so that don't-know/no-answer codes are missing, not answers.
        from estimators.io.cati import read_cati
        from estimators.surveys.employers import codebook

        frame = read_cati(args.sample, codebook(), id_column=args.id, encoding=args.encoding)
    else:
        frame = read_sample(
            args,
            text_columns=list(dict.fromkeys(list(text_columns) + text_design + margin_vars)),
        )
    check_margin_variables(args, frame, margins)
    for name in [args.weight, *design_columns(args)]:
        if name and name not in frame.columns:
            raise KalibError(f"{str(args.sample)!r} has no column {name!r}")
    if args.replicate_weights is not None:
        # R's postStratify of a replicate design: the only calibration of a file's
        # weights, every replicate post-stratified too
        poststratify = args.calibration == "poststratify"
        if (margins and not poststratify) or args.variance != "linearization":
            raise KalibError(
                "--replicate-weights carries the weights and the variance: "
                "do not combine it with --margins (but for --calibration "
                "poststratify) or --variance"
            )
        design = read_replicate_file(
            frame, args.replicate_weights, args.id, args.mse, **file_options
        )
        return calibrate_design(design, margins, spec, args) if margins else design
    design = design_of_args(frame, args)
    if margins:
        design = calibrate_design(design, margins, spec, args)
    if args.variance == "linearization":
        return design
    # Replicates of a calibrated design are each re-calibrated with its spec.
    # In this process the kernels release the GIL: meanwhile another thread
    # imports the library that the intervals and tests of every command on
    # this design load (scipy.special: estimators.inference.ci, the model's).
    with importing("scipy.special") if args.scheduler is None else nullcontext():
        design = make_replicates(
            design,
            args.scheduler,
            args.variance,
            replicates=args.replicates,
            seed=args.seed,
            mse=args.mse,
        )
    if args.scheduler is None:
        return design
    from estimators.scale import chunked

    return chunked(design)


def read_replicate_file(
    frame, path: Path, id_column: str, mse: bool = False, **file_options
) -> Design:
    """The sample's design from a replicate file written by ``kalib replicate``
    (``estimators.io.replicate_file``: ``id, weight, rep_1 ... rep_B`` plus the JSON
    sidecar with method, scale, rscales, mse and degf), or from elsewhere
    without sidecar (``file_options``: ``replicate_type``, ``scale``,
    ``rscales``, ``fay_rho``). The file's ``id`` column (or, in a file
    written elsewhere, the ``--id`` column) is matched to the sample's
    ``--id`` column, compared as text."""
    import pandas as pd

    from estimators.io.replicate_file import read_replicate_weights

    if id_column not in frame.columns:
        raise KalibError(f"the sample has no id column {id_column!r}")
    ids = frame[id_column].astype(str)
    if ids.duplicated().any():
        raise KalibError(
            f"id column {id_column!r} is not unique in the sample "
            f"(first repeat: {ids[ids.duplicated()].iloc[0]!r})"
        )
    reps = read_replicate_weights(path, id_columns=("id", id_column), **file_options)
    file_ids = pd.Index(pd.Series(reps.ids).astype(str))
    if file_ids.has_duplicates:
        raise KalibError(f"{str(path)!r}: column id is not unique")
    rows = file_ids.get_indexer(ids)
    if (rows < 0).any():
        raise KalibError(
            f"unit {ids[rows < 0].iloc[0]!r} of the sample is not in "
            f"{str(path)!r} ({int((rows < 0).sum())} unit(s) missing)"
        )
    design = Design(frame, weights=reps.weights[rows])
    return design.with_replicate_weights(
        reps.repweights[rows],
        reps.scale,
        reps.rscales,
        mse=mse or reps.mse,
        method=reps.method,
        degf=reps.degf,
    )


def domain_specs(args) -> list[str]:
    from estimators.inference.domains import ALL

    return [ALL] + [b for b in args.by if b != ALL]


def compared_columns(args, where) -> list[str]:
    """The columns whose values ``--where`` and ``--by`` compare as
    categories: read as text, so that codes keep their leading zeros (``01``
    is not ``1``) as in calibration variables."""
    names = [] if where is None else sorted(where.variables())
    return names + [part.strip() for spec in domain_specs(args)[1:] for part in spec.split("*")]


def _items(design, args):
    from estimators.inference import estimate as E

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
    from estimators.surveys.employers.catalog import KEY_RATES

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
    from estimators.inference import estimate as E
    from estimators.inference.domains import parse_where
    from estimators.inference.results import ESTIMATE_COLUMNS
    from estimators.io.files import PARQUET_SUFFIXES, check_writable, csv_compression, write_table

    check_writable(args.out, args.force)
    csv_compression(args.out)  # a name of another format: refused before the work
    where = parse_where(args.where) if args.where else None
    text = compared_columns(args, where)
    if args.proportion:
        text += [p.split("=", 1)[0].strip() for p in args.proportion]
    if args.rates:
        select_rates(args.rates)  # an unknown rate fails before any work
    with scheduler_context(args.scheduler):
        design = build_design(args, text_columns=text)
        results = E.estimate_items(
            design,
            _items(design, args),
            domain_specs(args),
            where,
            ci=args.ci,
            level=args.level,
            deff=DEFF[args.deff],
        )
    if args.rates:
        results.frame["variable"] = results.frame["rate"]
    if args.out.suffix.lower() in PARQUET_SUFFIXES:
        write_table(results.tidy(ESTIMATE_COLUMNS), args.out, force=args.force)
    else:
        results.to_csv(args.out, force=args.force)
    if not args.quiet:
        print(results.summary(), file=sys.stdout)
    return 0
