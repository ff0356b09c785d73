"""``kalib report [SAMPLE]``: calibrate, replicate, estimate every key rate and
write the report directory (index.html, keyrates.csv/.nc, weights, replicate
weights, figures, run.json). Options as in ``../shared/CLI.md``; without
SAMPLE, ``--margins`` or design options, both bundled surveys, one part of the
page each (``--survey`` chooses one): the employer survey raked to its SSB
margins, and the staff survey with its own design. A SAMPLE belongs to one
survey, the one ``--survey`` names or, by default, the one whose codebook
columns it holds (as ``kalib data validate`` tells).

The report needs the ``report`` extra (matplotlib, tqdm, xarray, netCDF4);
without it ``kalib report`` says so in one line and exits 1, and the other
subcommands, which never import it, run as usual."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from estimators.cli.options import (
    add_calibration_arguments,
    add_ci_argument,
    add_design_arguments,
    add_level_argument,
    add_variance_arguments,
    calibration_spec,
    stage_columns,
    trim_caps,
)
from estimators.report.labels import LANGUAGES, SURVEYS


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "report",
        help="the reweighted surveys: key rates with CIs as HTML, CSV, xarray",
        description=__doc__,
    )
    p.add_argument(
        "sample",
        nargs="?",
        type=Path,
        metavar="SAMPLE",
        help="CATI export, CSV or SPSS .sav (default: the bundled surveys)",
    )
    p.add_argument(
        "--survey",
        choices=("all", *SURVEYS),
        default="all",
        help="the survey(s) of the report (default all: both bundled surveys; "
        "with SAMPLE, --margins or design options, the one they belong to)",
    )
    add_design_arguments(p)
    # Without --margins: the bundled SSB margins.
    # one calibration of several margins: no --calibration poststratify
    add_calibration_arguments(p, margins_required=False, poststratify=False)
    add_variance_arguments(p, default="bootstrap")
    add_ci_argument(p)
    add_level_argument(p)
    p.add_argument("--lang", choices=LANGUAGES, default="en", help="page language (en, no)")
    p.add_argument(
        "--out",
        type=Path,
        default=Path("report"),
        metavar="PATH",
        help="output directory (default report/)",
    )
    p.add_argument("--force", action="store_true", help="replace an existing output directory")
    p.add_argument("--quiet", action="store_true", help="no progress bars or summary")
    p.set_defaults(run=run)
    return p


#: The import names of the ``report`` extra (pyproject.toml): the page's
#: figures, progress bars and keyrates.nc. The rest of the command line runs
#: without them, so they are looked for only when a report is asked for.
REPORT_EXTRA = ("matplotlib", "tqdm", "xarray", "netCDF4")


def missing_report_extra() -> str | None:
    """The first module of :data:`REPORT_EXTRA` that is not installed, or None.

    Looked up (``importlib.util.find_spec``), not imported: the check costs
    no start-up time, and xarray and netCDF4 are imported only when the
    files are written, after the whole run would have been spent."""
    for name in REPORT_EXTRA:
        try:
            if importlib.util.find_spec(name) is None:
                return name
        except (ImportError, ValueError):  # a broken or half-installed package
            return name
    return None


def run(args) -> int:
    missing = missing_report_extra()
    if missing is not None:
        # Not bad input (exit 2): the installation lacks an optional part.
        print(
            f"kalib report: error: the report needs the 'report' extra ({missing} is not "
            "installed): pip install 'kalib[report]'",
            file=sys.stderr,
        )
        return 1

    from estimators.io.text import check_input
    from estimators.report import ReportSettings, build_report

    if args.sample is not None:
        check_input(args.sample)  # a missing file, or a directory, named before any work
    survey = args.survey
    if survey == "all" and args.sample is not None:
        from estimators.cli.data import survey_of

        survey = survey_of(args.sample)
    spec = calibration_spec(args)
    settings = ReportSettings(
        sample=args.sample,
        margins=tuple(args.margins or ()),
        id=args.id,
        weight=args.weight,
        strata=args.strata,
        psu=stage_columns(args.psu),
        fpc=stage_columns(args.fpc),
        nest=args.nest,
        lonely_psu=args.lonely_psu,
        calibration=spec.distance,
        bounds=spec.bounds,
        trim=trim_caps(args),
        tol=spec.tol,
        max_iter=spec.max_iter,
        allow_unconverged=spec.allow_unconverged,
        normalize_margins=spec.normalize_margins,
        variance=args.variance,
        replicates=args.replicates,
        seed=args.seed,
        ci=args.ci,
        level=args.level,
        lang=args.lang,
        out=args.out,
        force=args.force,
        quiet=args.quiet,
        survey=survey,
    )
    report = build_report(settings)
    if not args.quiet:
        frame = report.keyrates
        parts = ", ".join(
            f"{sid} {part['rate'].nunique()}" for sid, part in frame.groupby("survey", sort=False)
        )
        print(
            f"kalib report: {frame['rate'].nunique()} key rates ({parts}), "
            f"{len(frame)} estimates, written to {args.out}/index.html "
            f"in {sum(report.timings.values()):.1f} s",
            file=sys.stderr,
        )
    return 0
