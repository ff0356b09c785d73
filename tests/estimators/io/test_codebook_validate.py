"""Codebook, validator, CATI readers and ``kalib data validate``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from estimators.cli import main
from estimators.io.cati import (
    CatiFileError,
    read_cati_csv,
    read_cati_sav,
    to_analysis_frame,
    write_cati_sav,
)
from estimators.io.codebook import CodebookError, evaluate
from estimators.io.validate import ValidationError, validate
from estimators.surveys.employers import CATI_FILE, codebook, load_cati


@pytest.fixture(scope="module")
def coded():
    return read_cati_csv(CATI_FILE, codebook())


def test_codebook_covers_every_published_question_and_code():
    from estimators.surveys.employers import published

    cb = codebook()
    for q in published()["questions"]:
        entry = cb[q["id"]]
        assert entry.type == q["type"]
        published = [str(c["code"]) for c in q["categories"]]
        if q["type"] == "multi":
            assert [i.code for i in entry.items] == published
        else:
            assert [c.code for c in entry.categories] == published


def test_loaded_frame_follows_the_column_contract():
    df = load_cati()
    assert len(df) == 1000 and df["id"].is_unique
    assert list(df.columns) == ["id", "stratum"] + codebook().columns() + ["base_weight"]
    assert df["trainee_count"].dtype == "Int64"
    assert set(df["hired_position_type.permanent"].dropna()) == {"yes", "no"}
    assert set(df["disability_compatibility.stability"]) <= {"1", "2", "3", "4", "5"}
    # missing kinds stay distinguishable with missing="codes"
    codes = load_cati(missing="codes")
    assert codes["trainee_now"].eq("no_answer").sum() == 7
    assert codes["trainee_before"].eq("not_asked").sum() == 302
    assert codes["reasons_offer_trainee.training_for_hiring"].eq("dont_know").sum() == 5
    assert df["trainee_now"].isna().sum() == 7


def test_derived_trainee_ever_counts_missing_as_no():
    df = load_cati()
    assert df["trainee_ever"].notna().all()
    assert df["trainee_ever"].eq("yes").sum() == 679
    missing_now = df["trainee_now"].isna()
    assert df.loc[missing_now, "trainee_ever"].eq("no").all()


def test_routing_evaluator_semantics():
    frame = pd.DataFrame({"a": ["yes", "no", np.nan], "g.x": ["1", "5", "4"]})
    assert evaluate("a == 'yes'", frame).tolist() == [True, False, False]
    assert evaluate("a != 'yes'", frame).tolist() == [False, True, False]  # NA is no code
    assert evaluate("notna(a) and g.x in ('4', '5')", frame).tolist() == [False, True, False]
    assert evaluate("ALL", frame).all()
    with pytest.raises(CodebookError, match="unknown_col"):
        evaluate("unknown_col == 'x'", frame)
    with pytest.raises(CodebookError, match="unsupported"):
        evaluate("a < 3", frame)


def test_bundled_data_validates(coded):
    assert validate(coded, codebook()).ok


# One fixture per kind of error: (mutation, expected kind, column named in the message)
def _set(frame, row_id, column, value):
    frame.loc[frame["id"] == str(row_id), column] = value
    return frame


def _first_id(frame, mask):
    return frame.loc[mask, "id"].iloc[0]


ERRORS = {
    "unknown_code": lambda f: _set(f, 5, "competence_need", "plumber"),
    "not_routed": lambda f: _set(f, _first_id(f, f["trainee_now"] == "no"), "trainee_count", "2"),
    "missing_routed": lambda f: _set(
        f, _first_id(f, f["trainee_now"] == "yes"), "trainee_task_type", "not_asked"
    ),
    "duplicate_id": lambda f: _set(f, 7, "id", "8"),
    "missing_column": lambda f: f.drop(columns=["accommodation_experience"]),
    "choices": lambda f: _set(
        f, _first_id(f, f["alternative_tasks.no"] == "yes"), "alternative_tasks.part_time", "yes"
    ),
    "derived_mismatch": lambda f: _set(
        f, _first_id(f, f["trainee_now"] == "yes"), "trainee_ever", "no"
    ),
}


@pytest.mark.parametrize("kind", sorted(ERRORS))
def test_validator_catches_each_kind_of_error(coded, kind):
    broken = ERRORS[kind](coded.copy())
    report = validate(broken, codebook())
    assert kind in report.kinds()
    issue = next(i for i in report.issues if i.kind == kind)
    if kind != "missing_column":
        assert issue.rows, issue
        assert str(issue.rows[0]) in issue.message


def test_unknown_code_reports_row_and_column(coded):
    broken = ERRORS["unknown_code"](coded.copy())
    report = validate(broken, codebook())
    assert [i.kind for i in report.issues] == ["unknown_code"]
    assert report.issues[0].rows == ("5",)
    message = report.issues[0].message
    assert "'competence_need'" in message and "'plumber'" in message


def test_csv_reader_maps_labels_to_codes(tmp_path, coded):
    labelled = coded.copy()
    labelled["trainee_now"] = labelled["trainee_now"].map(
        {"yes": "Ja", "no": "Nei", "no_answer": "Ubesvart"}
    )
    labelled.loc[labelled["trainee_before"] == "not_asked", "trainee_before"] = ""
    path = tmp_path / "export.csv"
    labelled.to_csv(path, index=False)
    back = read_cati_csv(path, codebook())
    pd.testing.assert_frame_equal(
        back.reset_index(drop=True), coded.reset_index(drop=True), check_dtype=False
    )


def test_readers_derive_variables_an_export_lacks(tmp_path, coded):
    path = tmp_path / "export.csv"
    coded.drop(columns=["trainee_ever", "nace_group"]).to_csv(path, index=False)
    back = read_cati_csv(path, codebook())
    assert back["trainee_ever"].tolist() == coded["trainee_ever"].tolist()
    assert back["nace_group"].tolist() == coded["nace_group"].tolist()


def test_csv_reader_rejects_invalid_file_in_one_line(tmp_path, coded):
    path = tmp_path / "bad.csv"
    ERRORS["not_routed"](coded.copy()).to_csv(path, index=False)
    with pytest.raises(ValidationError) as info:
        read_cati_csv(path, codebook())
    assert "\n" not in str(info.value) and "trainee_count" in str(info.value)


def test_sav_round_trip(tmp_path, coded):
    path = tmp_path / "cati.sav"
    write_cati_sav(coded, path, codebook())
    raw, meta = pyreadstat.read_sav(str(path), apply_value_formats=False)
    assert meta.variable_value_labels["trainee_now"][1.0] == "Ja"
    assert raw["trainee_now"].isin([1, 2, 99]).all()  # numeric codes on disk
    back = read_cati_sav(path, codebook())
    pd.testing.assert_frame_equal(
        back.reset_index(drop=True), coded.reset_index(drop=True), check_dtype=False
    )
    frame = to_analysis_frame(back, codebook())
    assert frame["trainee_count"].dtype == "Int64"


def test_sav_from_another_system_with_label_only_mapping(tmp_path):
    # A CATI system's own numbering: 2 = "Ja", 1 = "Nei" - mapped by label text
    frame = pd.DataFrame({"id": [1.0, 2.0], "trainee_now": [2.0, 1.0]})
    path = tmp_path / "other.sav"
    pyreadstat.write_sav(
        frame, str(path), variable_value_labels={"trainee_now": {2: "Ja", 1: "Nei"}}
    )
    back = read_cati_sav(path, codebook(), check=False)
    assert back["trainee_now"].tolist() == ["yes", "no"]


@pytest.mark.parametrize("content", [b"not an spss file", b"$FL2@(#) truncated"])
def test_malformed_sav_gives_one_line_error(tmp_path, content):
    path = tmp_path / "broken.sav"
    path.write_bytes(content)
    with pytest.raises(CatiFileError) as info:
        read_cati_sav(path, codebook())
    assert "broken.sav" in str(info.value) and "\n" not in str(info.value)


def test_cli_validate_exit_codes(tmp_path, coded, capsys):
    good = tmp_path / "good.csv"
    coded.to_csv(good, index=False)
    assert main(["data", "validate", str(good)]) == 0
    bad = tmp_path / "bad.csv"
    ERRORS["missing_routed"](coded.copy()).to_csv(bad, index=False)
    assert main(["data", "validate", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "trainee_task_type" in err[0]
    broken = tmp_path / "broken.sav"
    broken.write_bytes(b"nonsense")
    assert main(["data", "validate", str(broken)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "broken.sav" in err[0]
