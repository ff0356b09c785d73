"""Read and write CATI exports (CSV, SPSS ``.sav``) through the codebook.

A CATI system exports either category codes, value labels (``Ja``/``Nei``)
or, in SPSS files, numeric values with value labels. The readers map all of
them to the codebook's category codes, keep the three missing kinds apart
(``not_asked`` / ``dont_know`` / ``no_answer``; a blank or system-missing cell
is ``not_asked``; numeric exports use -1 / 98 / 99, so a count of 98 or 99 is
read as a missing code), add derived variables the export lacks, validate the
result against the codebook and raise
:class:`~estimators.io.validate.ValidationError` (one line, names column and id)
when it does not conform. :func:`to_analysis_frame` then turns codes into the
analysis frame of ``docs/data.md`` (NA for every missing kind).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from estimators.io.codebook import MISSING_CODES, Codebook, derive_column
from estimators.io.files import write_atomic
from estimators.io.text import InputFileError, read_bytes, read_csv_table
from estimators.io.validate import ValidationError, canonical_text, canonical_texts, validate
from weighting.errors import KalibError

MISSING_LABELS = {  # label text (lower case) -> missing code
    "ikke spurt": "not_asked",
    "not asked": "not_asked",
    "not_asked": "not_asked",
    "vet ikke": "dont_know",
    "don't know": "dont_know",
    "dont_know": "dont_know",
    "ubesvart": "no_answer",
    "no answer": "no_answer",
    "no_answer": "no_answer",
    "vil ikke svare": "no_answer",
}
MISSING_VALUE_LABELS = {-1: "Ikke spurt", 98: "Vet ikke", 99: "Ubesvart"}


class CatiFileError(InputFileError):
    """A CATI export cannot be read (names the file and the cause)."""


def _code_lookup(codebook: Codebook, column: str) -> dict:
    """Every accepted spelling of a column's codes (code, labels, SPSS value)."""
    q = codebook.question_of(column)
    table = dict(MISSING_LABELS)
    for code, (value, _) in MISSING_CODES.items():
        table[str(value)] = code
    for cat in q.categories:
        for text in (cat.code, cat.label_no, cat.label_en):
            if text:
                table[text.strip().lower()] = cat.code
        if q.type != "likert5":
            table[str(cat.value)] = cat.code
    return table


def map_to_codes(raw: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """Map labels / numeric values / codes of every codebook column to codes.

    Values that match nothing are kept as they are, so the validator can report
    them as unknown codes with their row ids.
    """
    out = raw.copy()
    for col in codebook.columns():
        if col not in out.columns:
            continue
        if codebook.question_of(col).type == "count":
            lookup = {**MISSING_LABELS, **{str(v): c for c, (v, _) in MISSING_CODES.items()}}
        else:
            lookup = _code_lookup(codebook, col)
        out[col] = _mapped(out[col], lookup)
    return out


def _mapped(column: pd.Series, lookup: dict) -> pd.Series:
    """Each value's code in ``lookup`` (by its canonical text, any case), or
    that text when it has none; as objects (one look-up per distinct value,
    :func:`~estimators.io.validate.canonical_texts`)."""
    positions, texts = canonical_texts(column)
    codes = np.array([lookup.get(t.lower(), t) for t in texts], dtype=object)
    return pd.Series(codes[positions], index=column.index, dtype=object)


def add_derived(coded: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """Compute derived variables (``trainee_ever``, ``nace_group``) that a CATI
    export does not carry, from their inputs; present ones are left to the
    validator to check."""
    missing = [q for q in codebook.derived if q.id not in coded.columns]
    if not missing:
        return coded
    view = to_analysis_frame(coded, codebook)
    out = coded.copy()
    for q in missing:
        try:
            out[q.id] = derive_column(q, view).astype(object)
        except (KeyError, KalibError):
            continue  # inputs absent: the validator reports the missing columns
    return out


def _checked(coded: pd.DataFrame, codebook: Codebook, source: str) -> pd.DataFrame:
    report = validate(coded, codebook)
    if not report.ok:
        raise ValidationError(report, source)
    return coded


def read_cati_csv(
    path: str | Path, codebook: Codebook, check: bool = True, encoding: str | None = None
) -> pd.DataFrame:
    """Read a CSV export (codes or labels) into a coded frame, validated.

    Any dialect of :mod:`estimators.io.text` (``;``-separated, Windows-1252,
    a byte-order mark...), every cell as text; ``encoding`` overrides the
    detected one. A file without data rows is an error.
    """
    raw, _ = read_csv_table(path, read_bytes(path), all_text=True, encoding=encoding)
    coded = add_derived(map_to_codes(raw, codebook), codebook)
    return _checked(coded, codebook, str(path)) if check else coded


def read_cati_sav(path: str | Path, codebook: Codebook, check: bool = True) -> pd.DataFrame:
    """Read an SPSS export: numeric values -> value labels -> codebook codes."""
    from estimators.io.sav import read_sav

    raw, meta = read_sav(path, CatiFileError, apply_value_formats=False)
    if raw.empty:
        raise CatiFileError(f"SPSS file {str(path)!r} has no data rows")
    labelled = raw.astype(object)
    for col, labels in meta.variable_value_labels.items():
        if col in codebook.columns():
            labelled[col] = (
                raw[col]
                .map(lambda v, lab=labels: lab.get(v, v) if not pd.isna(v) else None)
                .astype(object)
            )
    coded = add_derived(map_to_codes(labelled, codebook), codebook)
    if "id" in coded:
        coded["id"] = coded["id"].map(canonical_text)
    return _checked(coded, codebook, str(path)) if check else coded


def read_cati(
    path: str | Path, codebook: Codebook, id_column: str = "id", encoding: str | None = None
) -> pd.DataFrame:
    """A CATI export (CSV, or SPSS ``.sav``) as an analysis frame: values mapped
    through the codebook, validated (``ValidationError`` naming the row and the
    question), derived variables added, missing codes as NA. ``encoding``:
    of a CSV export, instead of detecting it."""
    if Path(path).suffix.lower() == ".sav":
        coded = read_cati_sav(path, codebook, check=False)
    else:
        coded = read_cati_csv(path, codebook, check=False, encoding=encoding)
    report = validate(coded, codebook, id_column=id_column)
    if not report.ok:
        raise ValidationError(report, str(path))
    return to_analysis_frame(coded, codebook)


def write_cati_sav(
    coded: pd.DataFrame, path: str | Path, codebook: Codebook, force: bool = False
) -> None:
    """Write a coded frame as an SPSS file with numeric values and value labels.

    Values: the codebook's SPSS value per category (likert points are their
    own value; multi-response options 1 = mentioned, 0 = not), missing codes
    -1 / 98 / 99. Labels are the Norwegian category labels. Written
    atomically; an existing file is replaced only with ``force``.
    """
    import pyreadstat

    out = pd.DataFrame(index=coded.index)
    value_labels, var_labels = {}, {}
    for col in coded.columns:
        if col not in codebook.columns():
            out[col] = (
                pd.to_numeric(coded[col], errors="coerce")
                if col == "id" or col.endswith("weight")
                else coded[col].astype(str)
            )
            continue
        q = codebook.question_of(col)
        var_labels[col] = (q.text_no or col)[:250]
        codes = {code: value for code, (value, _) in MISSING_CODES.items()}
        labels = dict(MISSING_VALUE_LABELS)
        if q.type != "count":
            for cat in q.categories:
                codes[cat.code] = cat.value
                labels[cat.value] = cat.label_no or cat.code
        values = coded[col].map(lambda v: codes.get(v, v)).astype(object)
        out[col] = pd.to_numeric(values, errors="raise").astype(float)
        value_labels[col] = {float(k): v for k, v in labels.items()}
    write_atomic(
        path,
        lambda tmp: pyreadstat.write_sav(
            out,
            tmp,
            column_labels=[var_labels.get(c) for c in out.columns],
            variable_value_labels=value_labels,
        ),
        force=force,
    )


def to_analysis_frame(
    coded: pd.DataFrame, codebook: Codebook, missing: str = "na"
) -> pd.DataFrame:
    """Codes -> analysis frame: NA for missing (``missing="na"``) or the missing
    codes kept as strings (``missing="codes"``); counts become ``Int64``."""
    if missing not in ("na", "codes"):
        raise KalibError(f"missing must be 'na' or 'codes', got {missing!r}")
    out = coded.copy()
    if "id" in out and out["id"].astype(str).str.fullmatch(r"\d+").all():
        out["id"] = out["id"].astype("int64")
    for col in codebook.columns():
        if col not in out:
            continue
        s = out[col].astype(object)
        is_missing = s.isin(list(MISSING_CODES))
        if codebook.question_of(col).type == "count":
            out[col] = pd.to_numeric(s.where(~is_missing), errors="coerce").astype("Int64")
            continue
        out[col] = s if missing == "codes" else s.where(~is_missing, np.nan)
    return out
