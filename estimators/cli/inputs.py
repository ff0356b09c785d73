"""Reading a subcommand's input files: the sample and the margin files.

One place for what every subcommand does with them: read (any CSV dialect,
parquet, ``.sav``: :mod:`estimators.io.files`), check the ``--id`` column
(present, no missing value, no repeat: :func:`estimators.io.files.check_ids`),
and say what was detected when it is worth saying (a ``;``-separated file
with decimal commas in Windows-1252, say) unless ``--quiet``.
"""

from __future__ import annotations

import argparse

from weighting.errors import KalibError


def add_encoding_argument(p: argparse.ArgumentParser) -> None:
    """``--encoding``: the codec of the CSV inputs instead of detecting it."""
    p.add_argument(
        "--encoding",
        metavar="CODEC",
        help="encoding of the CSV inputs (sample and margins), e.g. cp1252; "
        "default: detected (UTF-8, UTF-16 with a byte-order mark, "
        "else Windows-1252)",
    )


def read_sample(args, text_columns=()):
    """The sample of ``args.sample`` as a DataFrame, its ``--id`` checked.

    Without an ``--id`` option (``kalib rake``) the ``id`` column is checked
    when the sample has one.
    """
    from estimators.io.files import check_ids, read_table_info

    frame, info = read_table_info(
        args.sample, text_columns, encoding=getattr(args, "encoding", None)
    )
    check_ids(frame, getattr(args, "id", "id"), info)
    _announce(info, args)
    args.sample_info = info  # for sample_position: the lines of the rows errors name
    return frame


def sample_position(exc, args) -> str:
    """Where the first row named by ``exc`` is in the sample file, as the
    file's readers say it: `` (row 3 is line 4 of 's.csv')`` for a CSV (line
    1 the header; blank lines and fields spanning lines counted as an editor
    counts them), `` (row 3 of 's.parquet')`` otherwise; empty when ``exc``
    names no row or no sample was read.

    The library counts the rows of the table it was given from 1 (``first at
    row 3``) and keeps the position in ``exc.row``; the commands build their
    designs on the sample's rows in file order, so that position is the
    file's data row.
    """
    info = getattr(args, "sample_info", None)
    row = getattr(exc, "row", None)
    if info is None or row is None or not 0 <= row < info.rows:
        return ""
    if info.lines is None:
        return f" ({info.where(row)} of {info.path!r})"
    return f" (row {row + 1} is {info.where(row)} of {info.path!r})"


def read_margin_files(args) -> list:
    """The ``--margins`` files of ``args`` as Margins (none without the option)."""
    from estimators.io.files import read_margins_info

    margins = []
    for path in args.margins or []:
        margin, info = read_margins_info(path, encoding=getattr(args, "encoding", None))
        _announce(info, args)
        margins.append(margin)
    return margins


def check_margin_variables(args, frame, margins) -> None:
    """KalibError naming the margin file (of ``args.margins``, read into
    ``margins`` in that order) one of whose variables is not a column of the
    sample ``frame``: a stray column (``note``) or a name spelt otherwise
    (``Sector``) is the margin file's fault, not the sample's."""
    for margin, path in zip(margins, args.margins or []):
        for name in margin.variables:
            if name not in frame.columns:
                raise KalibError(
                    f"margin file {str(path)!r} has a column {name!r} that "
                    f"{str(args.sample)!r} does not have (its columns: "
                    f"{', '.join(map(str, frame.columns))}); a margin file holds "
                    "calibration variables and 'total'"
                )


def _announce(info, args) -> None:
    # Only what differs from a plain UTF-8, comma-separated file is worth a
    # line; it goes to stdout with the run's summary (stderr is kept to the
    # one-line error of a failed run).
    if not info.plain and not getattr(args, "quiet", False):
        print(info.describe())
