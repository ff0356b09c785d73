"""``kalib data``: check CATI exports and write the register margins.

``kalib data validate FILE [--survey S]`` reads a CSV (codes or value labels)
or SPSS ``.sav`` export, maps it through the codebook of its survey (the
employer survey ``employers_2017`` or the staff survey ``ai_staff_2017``;
``auto``, the default, picks the codebook whose columns the file's header
holds most of) and prints the validation report: unknown codes, answers
where the routing says not asked, missing answers where it says asked,
duplicate ids, bad multi-response choices, derived variables that disagree
with their definition, answers after a break-off. Exit code 0 when the file
conforms, 2 when it does not (or cannot be read).

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

from estimators.cli.inputs import add_encoding_argument
from estimators.io.cati import read_cati_csv, read_cati_sav
from estimators.io.files import OutputWriteError, check_writable, write_files
from estimators.io.sav import read_sav
from estimators.io.text import read_csv_header
from estimators.io.validate import validate
from estimators.surveys import ai_staff, employers
from estimators.surveys.employers import DEFAULT_MARGINS, register_margin_table
from estimators.surveys.employers.registry import VARIANTS, margins_from_sections
from weighting.errors import KalibError

#: The bundled surveys whose codebook ``validate`` can check a file against.
CODEBOOKS = {"employers_2017": employers.codebook, "ai_staff_2017": ai_staff.codebook}


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("data", help="bundled data and CATI file checks")
    sub = parser.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    check = sub.add_parser(
        "validate", help="validate a CATI export (CSV or .sav) against the codebook"
    )
    check.add_argument("file", type=Path, help="CSV or SPSS .sav file")
    check.add_argument("--id", default="id", help="unit identifier column (default id)")
    check.add_argument(
        "--survey",
        default="auto",
        choices=["auto", *CODEBOOKS],
        help="codebook to check against (default auto: the survey whose "
        "columns the file holds most of)",
    )
    add_encoding_argument(check)
    check.set_defaults(run=run_validate)
    margins = sub.add_parser("margins", help="write the register margins as --margins CSVs")
    margins.add_argument("--out", type=Path, required=True, help="output directory")
    margins.add_argument(
        "--variant",
        default="central",
        choices=sorted(VARIANTS),
        help="public share of establishments (default central, 13 %%)",
    )
    margins.add_argument(
        "--from-07091",
        type=Path,
        dest="from_07091",
        help="SSB StatBank 07091 JSON-stat 2.0 download to refresh from",
    )
    margins.add_argument("--year", help="year (Tid) of the download to use")
    margins.add_argument(
        "--contents",
        metavar="CODE",
        help="ContentsCode of the download to use, when it has several",
    )
    margins.add_argument("--force", action="store_true", help="replace existing files")
    margins.set_defaults(run=run_margins)


def header(path: Path, encoding: str | None = None) -> list[str]:
    """Column names of a CSV (any dialect the readers take) or SPSS file (its
    metadata only, read as safely as the data: ``estimators.io.sav``)."""
    if path.suffix.lower() == ".sav":
        return list(read_sav(path, metadataonly=True)[1].column_names)
    return read_csv_header(path, encoding)


def survey_of(path: Path, encoding: str | None = None) -> str:
    """The bundled survey whose codebook columns the file's header holds most of."""
    columns = set(header(path, encoding))
    held = {name: len(columns & set(cb().columns())) for name, cb in CODEBOOKS.items()}
    best = max(held.values())
    found = [name for name, n in held.items() if n == best]
    if best == 0 or len(found) > 1:
        raise KalibError(
            f"{path}: cannot tell the survey from its columns "
            f"({', '.join(f'{k}: {v}' for k, v in held.items())} codebook "
            "columns); give --survey"
        )
    return found[0]


def run_validate(args) -> int:
    survey = survey_of(args.file, args.encoding) if args.survey == "auto" else args.survey
    cb = CODEBOOKS[survey]()
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
    if args.out.exists() and not args.out.is_dir():
        # (else the files' own check says "output directory 's.csv' does not exist")
        raise OutputWriteError(
            f"output {str(args.out)!r} is a file; --out names the directory of the margin files"
        )
    if args.from_07091 is not None:
        from estimators.io.jsonstat import read_07091

        cells = margins_from_sections(
            read_07091(args.from_07091, year=args.year, contents=args.contents),
            VARIANTS[args.variant],
        )
    else:
        table = register_margin_table(args.variant)
        cells = {
            name: dict(zip(part["category"], part["total"]))
            for name, part in table.groupby("margin", sort=False)
        }
    paths = [check_writable(args.out / f"{name}.csv", args.force) for name in DEFAULT_MARGINS]
    frames = [
        pd.DataFrame({name: list(cells[name]), "total": list(cells[name].values())})
        for name in DEFAULT_MARGINS
    ]
    write_files(
        [
            (path, lambda tmp, f=frame: f.to_csv(tmp, index=False))
            for path, frame in zip(paths, frames)
        ],
        force=args.force,
    )
    for path in paths:
        print(f"wrote {path}")
    return 0
