"""peers.py's whole-process and linearization tasks (issue 14): kalib's
command line for them parses, the tables come in order, and the targets are
judged from a run's numbers (met and not met)."""

import sys

import pytest
from repo_paths import REPO

sys.path.insert(0, str(REPO / "benchmarks"))

import peers


def test_kalibs_whole_process_commands_are_valid_kalib_estimate_command_lines(tmp_path):
    from estimators.cli import build_parser

    kalib = next(t for t in peers.TOOLS if t.name == "kalib")
    for task in peers.PROCESS_TASKS:
        argv = kalib.process_command(task, tmp_path, tmp_path / "out.csv", 500, 7)
        start = argv.index("estimate")
        args = build_parser(["estimate"]).parse_args(argv[start:])
        assert args.variance == task and args.replicates == 500 and args.seed == 7
        assert args.mean == "y1,y2,y3,y4,y5" and args.strata == "stratum"
        expected = (
            ["sector", "size_class"]
            if task == "bootstrap"
            else ["sector", "size_class", "nace", "sector*size_class*nace"]
        )
        assert args.by == expected


def test_a_peers_whole_process_runs_its_runner_once():
    r_survey = next(t for t in peers.TOOLS if t.name == "R survey")
    svy = next(t for t in peers.TOOLS if t.name == "svy")
    assert r_survey.process_command("linearization", REPO, REPO, 500, 1)[-2:] == ["--once", "true"]
    assert svy.process_command("bootstrap", REPO, REPO, 500, 1)[-1] == "--once"
    assert "linearization" not in svy.tasks + svy.process_tasks


def test_tables_list_in_process_tasks_then_whole_processes():
    results = {
        "linearization_process": {},
        "rake": {},
        "bootstrap_process": {},
        "linearization": {},
    }
    assert peers.task_keys(results) == [
        "rake",
        "linearization",
        "bootstrap_process",
        "linearization_process",
    ]


def test_issue_14_targets_from_a_run():
    def row(kalib, **others):
        return {"kalib": kalib, **others}

    results = {
        "bootstrap_process": {
            "1e5": row(
                {"seconds": 0.6, "peak_mb": 300.0}, svy={"seconds": 13.0, "peak_mb": 1400.0}
            )
        },
        "linearization": {
            "1e5": row({"seconds": 0.2, "peak_mb": 250.0}),
            "1e6": row({"seconds": 2.5, "peak_mb": 1100.0}),
        },
        "linearization_process": {"1e5": row({"seconds": 1.2, "peak_mb": 300.0})},
    }
    text = peers.targets_text(results, cap=120.0)
    assert "bootstrap_process at n = 1e5, kalib >= 20x svy: 21.7x — met" in text
    assert "bootstrap_process at n = 1e5, kalib under 0.7 s: 600 ms — met" in text
    assert "linearization at n = 1e5, kalib under 0.3 s: 200 ms — met" in text
    assert "linearization_process at n = 1e5, kalib under 1 s: 1.2 s — NOT met" in text
    assert "linearization at n = 1e6, kalib under 3 s and 1 GB: 2.5 s, 1100 MB — NOT met" in text


def test_an_update_replaces_the_rows_it_measured_and_keeps_the_others():
    def run(stamp, commit, results, tools, sizes, load):
        machine = {"description": "m", "cores": 2, "load_max": load}
        return {
            "datetime": stamp,
            "commit": commit,
            "machine": machine,
            "versions": {"kalib": commit, "svy": "0.35.0"},
            "cap_seconds": 120.0,
            "replicates": 500,
            "tol": 1e-10,
            "sizes": sizes,
            "tools": tools,
            "results": results,
        }

    base = run(
        "20261204T170423",
        "c16bcb7",
        {
            "rake": {"1e6": {"kalib": {"seconds": 0.01}}},
            "bootstrap_process": {
                "1e5": {"kalib": {"seconds": 1.22}, "svy": {"seconds": 8.0}},
                "1e6": {"kalib": {"seconds": 8.7}},
            },
        },
        ["kalib", "R survey", "svy"],
        ["1e3", "1e5", "1e6"],
        3.35,
    )
    new = run(
        "20261204T190000",
        "abc1234",
        {"bootstrap_process": {"1e5": {"kalib": {"seconds": 0.9}}}},
        ["kalib"],
        ["1e5"],
        1.5,
    )
    merged = peers.merge_runs(base, new)
    assert merged["results"]["bootstrap_process"]["1e5"] == {
        "kalib": {"seconds": 0.9},
        "svy": {"seconds": 8.0},
    }
    assert merged["results"]["bootstrap_process"]["1e6"] == {"kalib": {"seconds": 8.7}}
    assert merged["results"]["rake"] == base["results"]["rake"]
    assert merged["sizes"] == ["1e3", "1e5", "1e6"] and merged["tools"] == base["tools"]
    assert merged["commit"] == "abc1234" and merged["versions"]["svy"] == "0.35.0"
    assert base["results"]["bootstrap_process"]["1e5"]["kalib"] == {"seconds": 1.22}
    note = peers.update_text(merged)
    assert "Re-measured in this run (2026-12-04): bootstrap_process kalib at n = 1e5." in note
    assert "`results/peers-20261204T170423-c16bcb7.json`" in note and "up to 3.35" in note
    assert peers.update_text(base) == ""
    with pytest.raises(ValueError, match="replicates"):
        peers.merge_runs(base, {**new, "replicates": 100})
    # an update of the update: the rows of both, the first base, the higher load
    again = peers.merge_runs(
        merged,
        {
            **new,
            "datetime": "20261204T191000",
            "machine": {"description": "m", "cores": 2, "load_max": 2.5},
            "results": {"bootstrap_process": {"1e5": {"svy": {"seconds": 5.6}}}},
        },
    )
    assert again["results"]["bootstrap_process"]["1e5"] == {
        "kalib": {"seconds": 0.9},
        "svy": {"seconds": 5.6},
    }
    assert again["updated"]["base_commit"] == "c16bcb7" and again["machine"]["load_max"] == 2.5
    note = peers.update_text(again)
    assert "this run and the 1 update(s) before it" in note
    assert "bootstrap_process kalib at n = 1e5; bootstrap_process svy at n = 1e5" in note
