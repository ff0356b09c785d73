"""A file of joint inclusion probabilities for a PPS design (``--pps FILE``).

The file is a table (CSV, parquet or ``.sav``, read by
:func:`estimators.io.files.read_table`) with a header row of any names and
one row and one column per PSU, in the order of the PSUs' first rows in the
sample: :math:`\\pi_{ij}` with the inclusion probabilities on the diagonal,
as R's ``write.csv(jointprob)`` writes R's ``ppsmat`` argument (its first
column, the row names under an empty header, is left out; ``row.names =
FALSE`` writes none). Its size, symmetry and bounds are checked with the
design (``weighting.pps``).
"""

from __future__ import annotations

import numpy as np

from estimators.io.files import InputFileError, read_table
from weighting.columns import numeric


def read_joint_inclusion(path) -> np.ndarray:
    """The (P, P) matrix of joint inclusion probabilities in ``path``.

    Raises
    ------
    InputFileError
        A column that is not numeric (naming it and its first bad row) or a
        table that is not square.
    """
    frame = read_table(path)
    # R's write.csv(P, file) puts the row names first, under an empty header
    # (which the CSV reader names as pandas does)
    if frame.shape[1] == frame.shape[0] + 1 and frame.columns[0] == "Unnamed: 0":
        frame = frame.iloc[:, 1:]
    columns = [
        numeric(frame[name].to_numpy(), f"{str(path)!r}: column {name!r}", error=InputFileError)
        for name in frame.columns
    ]
    matrix = np.column_stack(columns)
    if matrix.shape[0] != matrix.shape[1]:
        raise InputFileError(
            f"{str(path)!r}: a joint-inclusion matrix has one row and one column per PSU, "
            f"this table has {matrix.shape[0]} rows and {matrix.shape[1]} columns "
            "(a header row of column names is expected)"
        )
    return matrix
