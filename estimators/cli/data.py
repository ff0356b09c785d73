"""``kalib data validate FILE``: check a CATI export against the codebook.

Reads a CSV (codes or value labels) or SPSS ``.sav`` export, maps it through
the employer-survey codebook and prints the validation report: unknown codes,
answers where the routing says not asked, missing answers where it says
asked, duplicate ids, bad multi-response choices, derived variables that
disagree with their definition. Exit code 0 when the file conforms, 2 when it
does not (or cannot be read).
"""
from __future__ import annotations

import sys
from pathlib import Path

from estimators.cati_io import read_cati_csv, read_cati_sav
from estimators.datasets import codebook
from estimators.validate import validate


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("data", help="bundled data and CATI file checks")
    sub = parser.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    check = sub.add_parser("validate", help="validate a CATI export (CSV or .sav) "
                                            "against the codebook")
    check.add_argument("file", type=Path, help="CSV or SPSS .sav file")
    check.add_argument("--id", default="id", help="unit identifier column (default id)")
    check.set_defaults(run=run_validate)


def run_validate(args) -> int:
    cb = codebook()
    reader = read_cati_sav if args.file.suffix.lower() == ".sav" else read_cati_csv
    coded = reader(args.file, cb, check=False)
    report = validate(coded, cb, id_column=args.id)
    if report.ok:
        print(f"{args.file}: {report.format()}")
        return 0
    print(f"{args.file}: {report.format()}")
    first = report.issues[0]
    print(f"kalib data: error: {args.file}: {first.message}", file=sys.stderr)
    return 2
