"""Two real ``kalib replicate`` processes writing the same ``--out`` (issue 17):
one wins, the other exits 2 naming the output, and the pair on disk is one
run's table with that run's sidecar — never a mix."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from repo_paths import REFERENCE, REPO

from estimators.io.replicate_file import file_sha256, read_replicate_weights

REF = REFERENCE / "variance"


def _replicate(out, seed, *extra):
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "estimators.cli",
            "replicate",
            str(REF / "business.csv"),
            "--weight",
            "w",
            "--strata",
            "stratum",
            "--margins",
            str(REF / "business_margin_sector_size.csv"),
            "--margins",
            str(REF / "business_margin_nace.csv"),
            "--replicates",
            "100",
            "--seed",
            str(seed),
            "--out",
            str(out),
            "--quiet",
            *extra,
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(runs):
    return [(run.wait(timeout=900), run.stderr.read()) for run in runs]


@pytest.mark.parametrize("gap", [0.0, 0.3])
def test_the_second_run_exits_2_naming_the_output(tmp_path, gap):
    out = tmp_path / "reps.csv"
    first = _replicate(out, 1)
    time.sleep(gap)
    results = _finish([first, _replicate(out, 2)])
    codes = [code for code, _ in results]
    assert sorted(codes) == [0, 2], results
    code, err = results[codes.index(2)]
    assert err.count("\n") == 1, err
    assert f"output {str(out)!r}" in err or f"output {str(out.with_suffix('.json'))!r}" in err
    assert "is being written by another kalib run" in err or "exists; use --force" in err, err
    winner = (1, 2)[codes.index(0)]
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["seed"] == winner and meta["weights_sha256"] == file_sha256(out)
    assert read_replicate_weights(out).repweights.shape == (910, 100)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reps.csv", "reps.json"]


def test_two_forced_runs_leave_one_runs_pair(tmp_path):
    out = tmp_path / "reps.csv"
    results = _finish([_replicate(out, 1, "--force"), _replicate(out, 2, "--force")])
    for code, err in results:  # both may finish in turn; a loser names the output
        assert code == 0 or (code == 2 and "being written by another kalib run" in err), err
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["weights_sha256"] == file_sha256(out)  # table and sidecar of one run
    assert meta["seed"] in (1, 2)
    read_replicate_weights(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reps.csv", "reps.json"]
