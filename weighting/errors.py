"""Exceptions raised by kalib.

Every exception names what is wrong in its message: the variable, the
category, the count (or row, or replicate index). They all derive from
``KalibError`` (itself a ``ValueError``) so that the command line can turn any
of them into a one-line message with exit code 2.
"""

import numpy as np


def shown(value: object) -> str:
    """A value as a message shows it: numbers plain (``nan``, ``2``, ``1.5``,
    never ``np.float64(nan)``), booleans ``True``/``False``, None
    ``missing``, anything else as quoted text (``'1'``)."""
    if value is None:
        return "missing"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    return repr(str(value))


class KalibError(ValueError):
    """Base class: bad input or a result that cannot be had.

    Parameters
    ----------
    message : str
        What is wrong, naming the offender.
    option : str, optional
        The keyword argument that would accept the input (e.g.
        ``normalize_margins``), when there is one; ``remedy`` says how, in the
        words of the Python API, and is appended to the message in
        parentheses. An interface that spells the option differently (the
        command line's ``--normalize-margins``) reads ``message`` and
        ``option`` and writes its own remedy.
    remedy : str, optional
    row : int, optional
        Position (0-based) of the first offending row of the table the
        library was given, when the message names one; the message itself
        counts rows from 1 (``first at row 3`` for position 2). An interface
        that read the table from a file says where that row is in it (the
        command line: its line of a CSV file).
    """

    def __init__(
        self,
        message: str = "",
        *,
        option: str | None = None,
        remedy: str = "",
        row: int | None = None,
    ):
        super().__init__(f"{message} ({remedy})" if remedy else message)
        self.message = message
        self.option = option
        self.remedy = remedy
        self.row = None if row is None else int(row)


class MarginError(KalibError):
    """A margin is malformed or does not match the sample: a category in the
    sample without a margin entry, a margin category with no respondents,
    grand totals that disagree between margins, a negative target."""


class EmptyCellError(MarginError):
    """A margin category (or joint cell) has no respondents."""


class MissingValueError(KalibError):
    """A calibration, design or estimation variable has missing values."""


class WeightError(KalibError):
    """Base weights are non-positive, non-finite, or of the wrong length."""


class InfeasibleBoundsError(KalibError):
    """The bounds on g cannot be met together with the margins."""


class CalibrationError(KalibError):
    """The solver did not converge (names the worst margin and category)."""


class DesignError(KalibError):
    """The design is malformed: lonely PSU, inconsistent fpc, bad strata."""


class ReplicateError(KalibError):
    """A replicate could not be re-calibrated (names its index and cause)."""
