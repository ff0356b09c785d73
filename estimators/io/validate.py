"""Check a coded CATI dataset against its codebook.

The validator works on the *coded* form of the data, where every cell is a
category code or one of the missing codes ``not_asked`` / ``dont_know`` /
``no_answer`` (see :data:`estimators.io.codebook.MISSING_CODES`); a blank cell
counts as ``not_asked``. It reports, with row ids and column names:

* ``duplicate_id`` — an id used more than once (or a missing id);
* ``missing_column`` — a codebook column absent from the data;
* ``unknown_code`` — a value that is neither a category code nor a missing code;
* ``not_routed`` — an answer (or don't know / no answer) where the routing
  says the question was not asked;
* ``missing_routed`` — ``not_asked`` (or blank) where the routing says asked;
* ``choices`` — a multi-response question with fewer or more mentions than
  allowed, or an exclusive option mentioned together with another;
* ``derived_mismatch`` — a derived variable that disagrees with its definition;
* ``break_off`` — for a respondent who broke off (a paradata question flagged
  ``break_off`` names the first question left unanswered), an answer or
  don't know at or after that question, or a break-off at a question the
  routing does not ask.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from estimators.io.codebook import MISSING_CODES, Codebook, derive_column
from weighting.errors import KalibError


class ValidationError(KalibError):
    """A dataset does not conform to its codebook (first problems in the message)."""

    def __init__(self, report: ValidationReport, source: str = "data"):
        self.report = report
        first = report.issues[0]
        more = f" (and {len(report.issues) - 1} more problems)" if len(report.issues) > 1 else ""
        super().__init__(f"{source}: {first.message}{more}")


@dataclass(frozen=True)
class Issue:
    kind: str
    column: str
    rows: tuple
    message: str


@dataclass
class ValidationReport:
    """All problems found; ``ok`` when there are none."""

    n_rows: int
    issues: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.issues

    def kinds(self) -> set[str]:
        return {i.kind for i in self.issues}

    def format(self) -> str:
        if self.ok:
            return f"OK: {self.n_rows} rows conform to the codebook"
        lines = [f"{len(self.issues)} problem(s) in {self.n_rows} rows:"]
        lines += [f"  [{i.kind}] {i.message}" for i in self.issues]
        return "\n".join(lines)


def _rows(ids: np.ndarray, mask: np.ndarray, limit: int = 5) -> tuple:
    return tuple(ids[mask][:limit].tolist())


def _describe(column: str, ids: tuple, count: int) -> str:
    shown = ", ".join(str(i) for i in ids)
    more = f" and {count - len(ids)} more" if count > len(ids) else ""
    return f"column {column!r}, id {shown}{more}"


def validate(coded: pd.DataFrame, codebook: Codebook, id_column: str = "id") -> ValidationReport:
    """Validate a coded frame (strings; blanks/NA read as ``not_asked``)."""
    report = ValidationReport(len(coded))
    add = report.issues.append
    if id_column not in coded.columns:
        add(Issue("missing_column", id_column, (), f"no id column {id_column!r}"))
        ids = np.arange(1, len(coded) + 1)
    else:
        ids = coded[id_column].to_numpy()
        id_values = coded[id_column]
        dup = (id_values.duplicated(keep=False) | id_values.isna()).to_numpy()
        if dup.any():
            shown = _rows(ids, dup)
            add(
                Issue(
                    "duplicate_id",
                    id_column,
                    shown,
                    f"duplicate or missing id: {_describe(id_column, shown, dup.sum())}",
                )
            )

    missing_codes = np.array(list(MISSING_CODES), dtype=object)
    # None as a 0-d object array: numpy's stubs leave None out of ArrayLike
    none = np.array(None, dtype=object)
    cells = {}
    for col in codebook.columns():
        if col not in coded.columns:
            add(Issue("missing_column", col, (), f"codebook column {col!r} is not in the data"))
            continue
        cells[col] = _canonical_codes(coded[col])
    if not cells:
        return report
    view = pd.DataFrame(
        {c: np.where(np.isin(v, missing_codes), none, v) for c, v in cells.items()},
        index=coded.index,
    )

    for q in codebook:
        cols = [c for c in q.columns if c in cells]
        if not cols:
            continue
        valid = set(q.column_codes())
        try:
            routed = codebook.routed(view, q.id)
        except KalibError:
            routed = None  # routing inputs missing: reported as missing columns above
        for col in cols:
            v = cells[col]
            bad = ~np.isin(v, missing_codes)
            if q.type == "count":
                bad &= ~np.array([x.isdigit() for x in v], dtype=bool)
            else:
                bad &= ~np.isin(v, np.array(sorted(valid), dtype=object))
            if bad.any():
                first = v[bad][0]
                add(
                    Issue(
                        "unknown_code",
                        col,
                        _rows(ids, bad),
                        f"unknown code {first!r} in {_describe(col, _rows(ids, bad), bad.sum())}"
                        f" (valid: {', '.join(sorted(valid)) or 'a count'})",
                    )
                )
            if routed is None or q.derived is not None:
                continue
            not_asked = v == "not_asked"
            extra = ~routed & ~not_asked
            if extra.any():
                add(
                    Issue(
                        "not_routed",
                        col,
                        _rows(ids, extra),
                        f"answer where routing ({q.routing}) says not asked: "
                        f"{_describe(col, _rows(ids, extra), extra.sum())}",
                    )
                )
            gap = routed & not_asked
            if gap.any():
                add(
                    Issue(
                        "missing_routed",
                        col,
                        _rows(ids, gap),
                        f"no answer code where routing ({q.routing}) says asked: "
                        f"{_describe(col, _rows(ids, gap), gap.sum())} "
                        "(use dont_know or no_answer)",
                    )
                )
        if q.type == "multi" and len(cols) == len(q.columns):
            _check_choices(q, cells, ids, add)
        if q.derived is not None and all(c in view for c in _inputs(q)):
            try:
                expected = derive_column(q, view).astype(str).to_numpy()
            except KalibError:  # an input code it cannot map: an unknown_code above
                expected = cells[q.id]
            wrong = cells[q.id] != expected
            if wrong.any():
                add(
                    Issue(
                        "derived_mismatch",
                        q.id,
                        _rows(ids, wrong),
                        f"derived variable disagrees with its definition: "
                        f"{_describe(q.id, _rows(ids, wrong), wrong.sum())}",
                    )
                )
        if q.break_off and q.id in cells:
            _check_break_off(q, codebook, cells, view, ids, add)
    return report


def _canonical_codes(column: pd.Series) -> np.ndarray:
    """Cells as code strings: NA and blanks become ``not_asked``, ``1.0`` -> ``1``."""
    positions, texts = canonical_texts(column)
    return np.array(texts, dtype=object)[positions]


def canonical_text(value) -> str:
    """A cell's code text: NA and blanks are ``not_asked``, ``1.0`` is ``1``."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "not_asked"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text if text else "not_asked"


def canonical_texts(column: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Every cell's :func:`canonical_text`, as the positions of the cells in
    a list of distinct texts (``texts[positions]`` are the cells').

    Mapped once per distinct value (a column has a few, a sample thousands
    of rows): values that compare equal (``1`` and ``1.0``, every kind of
    NA) have one canonical text anyway. Booleans are the exception
    (``True == 1`` but their texts differ, and factorizing keeps whichever
    came first): a column where a value equal to 0 or 1 is a number is
    looked through for booleans, and one holding any is mapped value by
    value. Only a column of Python objects can mix them: an int, float or
    bool column is never looked through cell by cell.
    """
    positions, distinct = pd.factorize(column, use_na_sentinel=False)
    if (
        column.dtype == object
        and any(_is_number(v) and v in (0, 1) for v in distinct)
        and any(map(_is_bool, column))
    ):
        positions, distinct = np.arange(len(column)), column.to_numpy()
    return positions, [canonical_text(v) for v in distinct]


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float, np.number, np.bool_))


def _is_bool(value: object) -> bool:
    return isinstance(value, (bool, np.bool_))


def _inputs(question) -> list[str]:
    rule = question.derived
    if "source" in rule:
        return [rule["source"]]
    return [c for c in ("trainee_now", "trainee_before") if c in rule["condition"]]


def _check_choices(q, cells, ids, add) -> None:
    yes = np.column_stack([cells[c] == "yes" for c in q.columns])
    answered = np.column_stack([np.isin(cells[c], ["yes", "no"]) for c in q.columns]).all(axis=1)
    n_yes = yes.sum(axis=1)
    lo, hi = q.min_choices or 0, q.max_choices or len(q.columns)
    bad = answered & ((n_yes < lo) | (n_yes > hi))
    for option in q.exclusive:
        bad |= yes[:, q.columns.index(f"{q.id}.{option}")] & (n_yes > 1)
    if bad.any():
        add(
            Issue(
                "choices",
                q.id,
                _rows(ids, bad),
                f"{q.id}: between {lo} and {hi} mentions allowed"
                + (f", {', '.join(q.exclusive)} exclusive" if q.exclusive else "")
                + f"; violated at id {', '.join(str(i) for i in _rows(ids, bad))}",
            )
        )


def _check_break_off(q, codebook, cells, view, ids, add) -> None:
    """Nothing is answered from a row's break-off question on (questionnaire
    order), and the break-off question is one the routing asks that row."""
    order = [x.id for x in codebook.asked]
    stop = cells[q.id]
    position = np.full(len(stop), len(order))
    for k, qid in enumerate(order):
        position[stop == qid] = k
    silent = np.array(["not_asked", "no_answer"], dtype=object)
    for k, question in enumerate(codebook.asked):
        if question.id == q.id:
            continue
        bad, offending = np.zeros(len(stop), dtype=bool), []
        for col in (c for c in question.columns if c in cells):
            wrong = (position <= k) & ~np.isin(cells[col], silent)
            if wrong.any():
                offending.append(col)
            bad |= wrong
        if offending:  # one issue per question, naming its first offending column
            first = offending[0]
            add(
                Issue(
                    "break_off",
                    first,
                    _rows(ids, bad),
                    f"answer at or after the break-off ({q.id}): "
                    f"{_describe(first, _rows(ids, bad), bad.sum())}",
                )
            )
        at = stop == question.id
        if at.any():
            try:
                unasked = at & ~codebook.routed(view, question.id)
            except KalibError:
                continue  # routing inputs missing: reported as missing columns
            if unasked.any():
                add(
                    Issue(
                        "break_off",
                        q.id,
                        _rows(ids, unasked),
                        f"break-off at {question.id!r}, which the routing "
                        f"({question.routing}) does not ask: "
                        f"{_describe(q.id, _rows(ids, unasked), unasked.sum())}",
                    )
                )
