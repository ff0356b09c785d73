"""The staff survey's codebook, loader, break-off validation, ``kalib data
validate`` on either survey, and the reconstruction's determinism."""

from __future__ import annotations

import filecmp
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estimators.cli import main
from estimators.io.cati import read_cati_csv
from estimators.io.validate import ValidationError, validate
from estimators.surveys.ai_staff import DATA, DATA_FILE, build, codebook, load_ai_staff, published
from estimators.surveys.employers import CATI_FILE


@pytest.fixture(scope="module")
def coded():
    return read_cati_csv(DATA_FILE, codebook())


def test_codebook_covers_every_published_question():
    cb = codebook()
    for q in published()["questions"]:
        entry = cb[q["id"]]
        assert entry.type == q["type"]
        if q["type"] == "likert5":
            assert [c.code for c in entry.categories] == [str(c["code"]) for c in q["categories"]]
            assert [i.code for i in entry.items] == [
                i["code"] for i in q["items"] if i["code"] != "other_items_unknown"
            ]
        if q["type"] == "multi":
            assert [i.code for i in entry.items] == [
                c["code"] for c in q["categories"] if c["code"] != "unnamed"
            ]
        if q["id"] != "competition_by_actor":  # A-7.7-base: asked of all
            assert entry.routing == q["routing"]["condition"]
    assert cb["competition_by_actor"].routing == "ALL"
    assert [q.id for q in cb][:3] == ["completion", "break_off", "role"]
    assert cb["break_off"].break_off and cb["break_off"].routing == "completion == 'partial'"
    assert [c.code for c in cb["break_off"].categories] == [
        q["id"] for q in published()["questions"]
    ][1:]


def test_loaded_frame_follows_the_column_contract():
    df = load_ai_staff()
    assert len(df) == 752 and df["id"].is_unique
    assert list(df.columns) == ["id"] + codebook().columns() + ["N_role", "base_weight"]
    assert str(df["caseload"].dtype) == "Int64"
    assert set(df["own_competence.labour_market"].dropna()) <= set("12345")
    codes = load_ai_staff(missing="codes")
    assert set(codes["caseload"].dropna()) != set()
    assert codes["active_employer_recruitment"].isin(["yes", "no", "dont_know", "no_answer"]).all()
    assert load_ai_staff(variant="high_response")["base_weight"].max() == pytest.approx(1 / 0.45)


def test_bundled_data_validates(coded):
    assert validate(coded, codebook()).ok


def _partials(coded):
    return coded.index[coded["completion"].eq("partial") & coded["break_off"].eq("own_competence")]


def test_an_answer_after_the_break_off_is_reported(coded):
    bad = coded.copy()
    row = _partials(bad)[0]
    bad.loc[row, "statements_inclusion.goodwill_hiring"] = "2"
    report = validate(bad, codebook())
    assert report.kinds() == {"break_off"}
    issue = report.issues[0]
    assert issue.rows == (bad.loc[row, "id"],) and "statements_inclusion" in issue.message
    # don't know is an answer too; no answer is what a break-off leaves
    bad.loc[row, "statements_inclusion.goodwill_hiring"] = "dont_know"
    assert validate(bad, codebook()).kinds() == {"break_off"}
    bad.loc[row, "statements_inclusion.goodwill_hiring"] = "no_answer"
    assert validate(bad, codebook()).ok


def test_a_break_off_at_an_unrouted_question_is_reported(coded):
    bad = coded.copy()
    row = _partials(bad)[0]
    assert bad.loc[row, "role"] != "job_consultant"
    bad.loc[row, "break_off"] = "work_methods"  # asked of job consultants only
    report = validate(bad, codebook())
    assert any("does not ask" in i.message for i in report.issues)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10**6))
def test_any_answer_after_a_break_off_is_caught(coded, seed):
    """Property: moving a partial's break-off one routed question earlier
    makes the answer it gave there an error."""
    rng = np.random.default_rng(seed)
    cb = codebook()
    order = [q.id for q in cb.asked]
    partial = coded.index[coded["completion"].eq("partial")]
    row = partial[rng.integers(len(partial))]
    stop = order.index(coded.loc[row, "break_off"])
    answered = [
        q
        for q in order[3:stop]  # after the paradata and the role
        if not coded.loc[row, cb[q].columns].isin(["not_asked", "no_answer"]).all()
    ]
    if not answered:
        return
    bad = coded.copy()
    bad.loc[row, "break_off"] = answered[-1]
    assert "break_off" in validate(bad, cb).kinds()


def test_loader_refuses_a_broken_file(tmp_path, coded, monkeypatch):
    bad = coded.copy()
    bad.loc[0, "role"] = "janitor"
    path = tmp_path / "staff.csv"
    bad.to_csv(path, index=False)
    with pytest.raises(ValidationError, match="janitor"):
        read_cati_csv(path, codebook())


def test_cli_validates_either_survey(tmp_path, coded, capsys):
    staff = tmp_path / "staff.csv"
    coded.to_csv(staff, index=False)
    assert main(["data", "validate", str(staff)]) == 0
    assert "752 rows conform" in capsys.readouterr().out
    assert main(["data", "validate", str(CATI_FILE)]) == 0
    assert "1000 rows conform" in capsys.readouterr().out
    assert main(["data", "validate", str(staff), "--survey", "ai_staff_2017"]) == 0
    capsys.readouterr()
    # the wrong codebook: every employer column is missing
    assert main(["data", "validate", str(staff), "--survey", "employers_2017"]) == 2
    assert "'sector' is not in the data" in capsys.readouterr().err
    bad = coded.copy()
    bad.loc[_partials(bad)[0], "factors_hire.csr"] = "1"
    bad.to_csv(staff, index=False)
    assert main(["data", "validate", str(staff)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "break-off" in err[0] and "factors_hire.csr" in err[0]
    other = tmp_path / "other.csv"
    pd.DataFrame({"id": [1], "x": [2]}).to_csv(other, index=False)
    assert main(["data", "validate", str(other)]) == 2
    assert "give --survey" in capsys.readouterr().err


@pytest.mark.slow
def test_reconstruction_is_deterministic(tmp_path):
    if not (build.SHARED / "survey" / "published_tables.json").exists():
        pytest.skip("shared/survey/published_tables.json is not beside the repository")
    build.build(build.SHARED, tmp_path)
    for name in ("codebook.json", "ai_staff_2017.csv", "published_ai_staff_2017.json"):
        assert filecmp.cmp(tmp_path / name, DATA / name, shallow=False), name


def test_response_plan_gives_every_printed_base():
    cb = codebook()
    frame, answering, skipped = build.response_plan(cb, np.random.default_rng(0))
    assert frame["completion"].value_counts().to_dict() == {"complete": 592, "partial": 160}
    roles = frame["role"].to_numpy()
    assert int(answering["own_competence"].sum()) == 698
    assert int((answering["caseload"] & (roles == "job_consultant")).sum()) == 434
    assert (
        int((answering["employer_followup_organisation"] & (roles == "general_manager")).sum())
        == 52
    )
    assert int(answering["what_needed_open"].sum()) == 592  # all completes reach it
    assert (skipped["active_employer_recruitment"] <= skipped["competition_by_actor"]).all()
    totals = json.loads((DATA / "codebook.json").read_text())["questions"]
    assert {q["id"] for q in totals} >= set(build.BREAK_OFFS)
