"""The codebook of the 2017 CATI employer survey.

A codebook lists every question of the questionnaire: its id, wording (no/en),
type (``single``, ``multi``, ``likert5``, ``count``, ``open``), categories with
codes and labels, grid items or multi-response options, and its routing as a
condition that can be evaluated on a data frame. Derived variables
(``trainee_ever``, ``nace_group``) are defined there too, so that the
validator and the loaders compute them the same way. An ``open`` question
keeps only whether it was answered (category ``answered``), not the text.

A web survey's break-offs are described by a paradata question flagged
``break_off``: its value names, for a respondent who left the questionnaire
early, the first question left unanswered; the validator checks that no
answer follows it (``estimators.io.validate``).

Column naming (see ``docs/data.md``): a single or count question is one column
named by its id; a multi-response or grid question is one column per option or
item, named ``<question_id>.<option>``. Valid answers are the category codes as
strings; multi-response option columns hold ``'yes'`` / ``'no'``.

Missing answers are stored in files as one of three codes that keep apart why
the answer is missing (:data:`MISSING_CODES`); in a loaded frame they are NA.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from weighting.errors import KalibError

#: Missing-value codes: file code -> (SPSS value, meaning).
MISSING_CODES = {
    "not_asked": (-1, "not asked (routing)"),
    "dont_know": (98, "don't know"),
    "no_answer": (99, "no answer / refused"),
}

#: Codes of a multi-response option column.
OPTION_CODES = ("yes", "no")


class CodebookError(KalibError):
    """A routing condition or codebook entry cannot be read."""


@dataclass(frozen=True)
class Category:
    """One answer category: ``code`` (string), labels and the SPSS value."""

    code: str
    label_no: str
    label_en: str
    value: int


@dataclass(frozen=True)
class Question:
    """One codebook entry (a question or a derived variable)."""

    id: str
    type: str
    text_no: str
    text_en: str
    categories: tuple[Category, ...]
    items: tuple[Category, ...] = ()
    routing: str = "ALL"
    routing_description: str = ""
    max_choices: int | None = None
    min_choices: int | None = None
    exclusive: tuple[str, ...] = ()
    derived: dict | None = None
    notes: str = ""
    break_off: bool = False

    @property
    def is_grid(self) -> bool:
        """Multi-response and grid questions have one column per option/item."""
        return self.type in ("multi", "likert5")

    @property
    def columns(self) -> list[str]:
        """Data columns of this question (see the module docstring)."""
        if self.is_grid:
            return [f"{self.id}.{item.code}" for item in self.items]
        return [self.id]

    def column_codes(self) -> tuple[str, ...]:
        """Valid codes of each of this question's columns (none for counts)."""
        if self.type == "multi":
            return OPTION_CODES
        return tuple(c.code for c in self.categories)


@dataclass
class Codebook:
    """All questions of a survey, in questionnaire order."""

    survey: str
    questions: dict[str, Question]
    notes: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, path: str | Path) -> Codebook:
        """Read a codebook file; anything malformed is a CodebookError naming it."""
        try:
            with open(path, encoding="utf-8") as fh:
                return cls.from_dict(json.load(fh))
        except CodebookError as exc:
            raise CodebookError(f"codebook {str(path)!r}: {exc}") from None
        except json.JSONDecodeError as exc:
            raise CodebookError(
                f"cannot read codebook {str(path)!r}: line {exc.lineno}, "
                f"column {exc.colno}: {exc.msg}"
            ) from None
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            raise CodebookError(
                f"codebook {str(path)!r} is malformed ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''})"
            ) from None

    @classmethod
    def from_dict(cls, raw: dict) -> Codebook:
        def cats(entries):
            return tuple(
                Category(
                    str(c["code"]), c.get("label_no", ""), c.get("label_en", ""), int(c["value"])
                )
                for c in entries
            )

        questions = {}
        for q in raw["questions"]:
            if q["id"] in questions or not isinstance(q.get("routing", "ALL"), str):
                raise CodebookError(
                    f"question {q['id']!r}: given twice, or its routing is not a condition"
                )
            questions[q["id"]] = Question(
                id=q["id"],
                type=q["type"],
                text_no=q.get("text_no", ""),
                text_en=q.get("text_en", ""),
                categories=cats(q.get("categories", [])),
                items=cats(q.get("items", [])),
                routing=q.get("routing", "ALL"),
                routing_description=q.get("routing_description", ""),
                max_choices=q.get("max_choices"),
                min_choices=q.get("min_choices"),
                exclusive=tuple(q.get("exclusive", ())),
                derived=q.get("derived"),
                notes=q.get("notes", ""),
                break_off=bool(q.get("break_off", False)),
            )
        return cls(raw["survey"], questions, list(raw.get("notes", [])))

    # ------------------------------------------------------------------ lookup
    def __getitem__(self, qid: str) -> Question:
        try:
            return self.questions[qid]
        except KeyError:
            raise CodebookError(f"unknown question id {qid!r}") from None

    def __iter__(self):
        return iter(self.questions.values())

    @property
    def asked(self) -> list[Question]:
        """Questions with answers in the data (not derived)."""
        return [q for q in self if q.derived is None]

    @property
    def derived(self) -> list[Question]:
        return [q for q in self if q.derived is not None]

    def columns(self) -> list[str]:
        """All data columns in questionnaire order (derived ones included)."""
        return [c for q in self for c in q.columns]

    def question_of(self, column: str) -> Question:
        """The question a data column belongs to."""
        qid = column.split(".", 1)[0]
        question = self[qid]
        if column not in question.columns:
            raise CodebookError(f"column {column!r} is not an option/item of {qid!r}")
        return question

    # --------------------------------------------------------------- routing
    def routed(self, frame: pd.DataFrame, qid: str) -> np.ndarray:
        """Boolean mask of the rows the routing of ``qid`` sends to the question.

        ``frame`` must hold NA for missing answers (not missing codes).
        """
        return evaluate(self[qid].routing, frame)

    # --------------------------------------------------------------- derived
    def derive(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return a copy of ``frame`` with every derived variable computed."""
        out = frame.copy()
        for q in self.derived:
            out[q.id] = derive_column(q, out)
        return out


def derive_column(question: Question, frame: pd.DataFrame) -> pd.Series:
    """Compute one derived variable.

    Two kinds: ``{"condition": EXPR, "true": code, "false": code}`` (missing in
    the condition's inputs counts as false, so the result is never missing) and
    ``{"source": COLUMN, "map": {source code: code}}``.
    """
    rule = question.derived
    if rule is None:
        raise CodebookError(f"{question.id} is not a derived variable (it has no 'derived' rule)")
    if "condition" in rule:
        mask = evaluate(rule["condition"], frame)
        return pd.Series(
            np.where(mask, rule["true"], rule["false"]), index=frame.index, dtype=object
        )
    source = frame[rule["source"]]
    mapped = source.map(rule["map"])
    unmapped = source.notna() & mapped.isna()
    if unmapped.any():
        bad = source[unmapped].iloc[0]
        raise CodebookError(f"{question.id}: no group for {rule['source']} = {bad!r}")
    return mapped.astype(object)


# ---------------------------------------------------------------------------
# Routing conditions: a small, safe expression language over question ids.
#   ALL | EXPR or EXPR | EXPR and EXPR | not EXPR | (EXPR)
#   col == 'code' | col != 'code' | col in ('a', 'b') | notna(col) | isna(col)
# where col is a column name, possibly dotted (``grid.item``). A missing
# value equals no code, so ``x == 'a'`` and ``x != 'a'`` are both false for NA.
# ---------------------------------------------------------------------------
def evaluate(condition: str, frame: pd.DataFrame) -> np.ndarray:
    """Evaluate a routing condition on ``frame``; returns a boolean array."""
    n = len(frame)
    if condition.strip() == "ALL":
        return np.ones(n, dtype=bool)
    try:
        tree = ast.parse(condition, mode="eval").body
    except SyntaxError as exc:
        raise CodebookError(f"cannot parse condition {condition!r}: {exc.msg}") from None
    return np.asarray(_eval(tree, frame, condition), dtype=bool)


def _column(node, frame, condition) -> pd.Series:
    name = _dotted(node, condition)
    if name not in frame.columns:
        raise CodebookError(
            f"condition {condition!r} uses column {name!r}, which is not in the data"
        )
    return frame[name]


def _dotted(node, condition) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value, condition)}.{node.attr}"
    raise CodebookError(f"condition {condition!r}: expected a column name")


def _as_text(values) -> np.ndarray:
    """Column values as canonical text (``1`` not ``1.0``), NA kept as None."""
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            out[i] = None
        elif isinstance(v, float) and v.is_integer():
            out[i] = str(int(v))
        else:
            out[i] = str(v)
    return out


def _literal(node, condition):
    try:
        value = ast.literal_eval(node)
    except ValueError:
        raise CodebookError(f"condition {condition!r}: expected a literal") from None
    if isinstance(value, (tuple, list, set)):
        return {str(v) for v in value}
    return {str(value)}


def _eval(node, frame, condition):
    if isinstance(node, ast.BoolOp):
        parts = [_eval(v, frame, condition) for v in node.values]
        op = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
        result = parts[0]
        for p in parts[1:]:
            result = op(result, p)
        return result
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return ~_eval(node.operand, frame, condition)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("notna", "isna")
        and len(node.args) == 1
    ):
        present = _column(node.args[0], frame, condition).notna().to_numpy()
        return present if node.func.id == "notna" else ~present
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        left, op, right = node.left, node.ops[0], node.comparators[0]
        values = _as_text(_column(left, frame, condition).to_numpy(dtype=object))
        codes = _literal(right, condition)
        present = values != None  # noqa: E711 (elementwise on an object array)
        member = np.isin(values, np.array(sorted(codes), dtype=object))
        if isinstance(op, (ast.Eq, ast.In)):
            return member
        if isinstance(op, (ast.NotEq, ast.NotIn)):
            return present & ~member
    raise CodebookError(f"condition {condition!r}: unsupported expression")
