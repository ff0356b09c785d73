"""``kalib data``: check CATI exports and write the register margins.

``kalib data validate FILE`` reads a CSV (codes or value labels) or SPSS
``.sav`` export, maps it through the employer-survey codebook and prints the
validation report: unknown codes, answers where the routing says not asked,
missing answers where it says asked, duplicate ids, bad multi-response
choices, derived variables that disagree with their definition. Exit code 0
when the file conforms, 2 when it does not (or cannot be read).

``kalib data margins --out DIR [--variant V] [--from-07091 FILE --year Y
[--contents CODE]]`` writes the default calibration margins (size_class,
nace_group, sector) as ``--margins`` CSV files (one column per variable plus
``total``): the bundled 1 January 2018 margins, or margins refreshed from an
SSB 07091 JSON-stat download (sector from the variant's public share). The
download must be complete (every NACE division and size class, whole
non-negative counts, one ContentsCode or ``--contents``); the three files are
written as one unit.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from estimators.io.cati import read_cati_csv, read_cati_sav
from estimators.surveys.employers import DEFAULT_MARGINS, codebook, register_margin_table
from estimators.surveys.employers.registry import VARIANTS, margins_from_sections
from estimators.cli.inputs import add_encoding_argument
from estimators.io.files import check_writable, write_files
from estimators.io.validate import validate


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("data", help="bundled data and CATI file checks")
    sub = parser.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    check = sub.add_parser("validate", help="validate a CATI export (CSV or .sav) "
                                            "against the codebook")
    check.add_argument("file", type=Path, help="CSV or SPSS .sav file")
    check.add_argument("--id", default="id", help="unit identifier column (default id)")
    add_encoding_argument(check)
    check.set_defaults(run=run_validate)
    margins = sub.add_parser("margins", help="write the register margins as --margins CSVs")
    margins.add_argument("--out", type=Path, required=True, help="output directory")
    margins.add_argument("--variant", default="central", choices=sorted(VARIANTS),
                         help="public share of establishments (default central, 13 %%)")
    margins.add_argument("--from-07091", type=Path, dest="from_07091",
                         help="SSB StatBank 07091 JSON-stat 2.0 download to refresh from")
    margins.add_argument("--year", help="year (Tid) of the download to use")
    margins.add_argument("--contents", metavar="CODE",
                         help="ContentsCode of the download to use, when it has several")
    margins.add_argument("--force", action="store_true", help="replace existing files")
    margins.set_defaults(run=run_margins)


def run_validate(args) -> int:
    cb = codebook()
    if args.file.suffix.lower() == ".sav":
        coded = read_cati_sav(args.file, cb, check=False)
    else:
        coded = read_cati_csv(args.file, cb, check=False, encoding=args.encoding)
    report = validate(coded, cb, id_column=args.id)
    if report.ok:
        print(f"{args.file}: {report.format()}")
        return 0
    print(f"{args.file}: {report.format()}")
    first = report.issues[0]
    print(f"kalib data: error: {args.file}: {first.message}", file=sys.stderr)
    return 2


def run_margins(args) -> int:
    if args.from_07091 is not None:
        from estimators.io.jsonstat import read_07091
        cells = margins_from_sections(read_07091(args.from_07091, year=args.year,
                                                 contents=args.contents),
                                      VARIANTS[args.variant])
    else:
        table = register_margin_table(args.variant)
        cells = {name: dict(zip(part["category"], part["total"]))
                 for name, part in table.groupby("margin", sort=False)}
    paths = [check_writable(args.out / f"{name}.csv", args.force) for name in DEFAULT_MARGINS]
    frames = [pd.DataFrame({name: list(cells[name]), "total": list(cells[name].values())})
              for name in DEFAULT_MARGINS]
    write_files([(path, lambda tmp, f=frame: f.to_csv(tmp, index=False))
                 for path, frame in zip(paths, frames)], force=args.force)
    for path in paths:
        print(f"wrote {path}")
    return 0
