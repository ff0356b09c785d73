"""``kalib report [SAMPLE]``: calibrate, replicate, estimate every key rate and
write the report directory (index.html, keyrates.csv/.nc, weights, replicate
weights, figures, run.json). Options as in ``../shared/CLI.md``; without
SAMPLE and ``--margins``, the bundled employer survey and its SSB margins."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from estimators.ci import ALIASES, PROPORTION_METHODS
from estimators.cli.rake import add_calibration_arguments, calibration_options
from estimators.report.labels import LANGUAGES
from weighting.errors import KalibError

VARIANCES = ("bootstrap", "jkn", "jk1", "linearization")


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "report", help="the reweighted employer survey: key rates with CIs as HTML, CSV, xarray",
        description=__doc__)
    p.add_argument("sample", nargs="?", type=Path, metavar="SAMPLE",
                   help="CATI export, CSV or SPSS .sav (default: the bundled survey)")
    p.add_argument("--id", default="id", metavar="COL", help="unit identifier (default id)")
    p.add_argument("--weight", metavar="COL", help="base weight column (default N/n)")
    p.add_argument("--strata", metavar="COL", help="stratum column")
    p.add_argument("--psu", metavar="COL", help="primary sampling unit column")
    p.add_argument("--fpc", metavar="COL",
                   help="population count per stratum (or sampling fraction if <= 1)")
    add_calibration_arguments(p)
    # Margins default to the bundled SSB margins here (required in `kalib rake`).
    next(a for a in p._actions if a.dest == "margins").required = False
    p.add_argument("--variance", choices=VARIANCES, default="bootstrap",
                   help="variance method (default bootstrap: re-calibrated replicates)")
    p.add_argument("--replicates", type=_replicate_count, default=1000, metavar="B",
                   help="bootstrap replicates (default 1000)")
    p.add_argument("--seed", type=int, default=20170602, metavar="S", help="random seed")
    p.add_argument("--ci", default="logit", choices=PROPORTION_METHODS + tuple(ALIASES),
                   help="CI method for proportions (default logit)")
    p.add_argument("--level", type=_level, default=0.95, help="confidence level (default 0.95)")
    p.add_argument("--lang", choices=LANGUAGES, default="en", help="page language (en, no)")
    p.add_argument("--out", type=Path, default=Path("report"), metavar="PATH",
                   help="output directory (default report/)")
    p.add_argument("--force", action="store_true", help="replace an existing output directory")
    p.add_argument("--quiet", action="store_true", help="no progress bars or summary")
    p.set_defaults(run=run)
    return p


def run(args) -> int:
    from estimators.report import ReportSettings, build_report

    if args.sample is not None and not args.sample.is_file():
        raise KalibError(f"sample file {str(args.sample)!r} not found")
    options = calibration_options(args)
    settings = ReportSettings(
        sample=args.sample, margins=tuple(args.margins or ()), id=args.id,
        weight=args.weight, strata=args.strata, psu=args.psu, fpc=args.fpc,
        calibration=options.pop("distance"), **options, variance=args.variance,
        replicates=args.replicates, seed=args.seed, ci=args.ci, level=args.level,
        lang=args.lang, out=args.out, force=args.force, quiet=args.quiet)
    report = build_report(settings)
    if not args.quiet:
        print(f"kalib report: {report.keyrates['rate'].nunique()} key rates, "
              f"{len(report.keyrates)} estimates, written to {args.out}/index.html "
              f"in {sum(report.timings.values()):.1f} s", file=sys.stderr)
    return 0


def _replicate_count(text: str) -> int:
    value = int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"need at least 2 replicates (got {text})")
    return value


def _level(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"level must be between 0 and 1 (got {text})")
    return value
