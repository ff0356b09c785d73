"""Ctrl-C and SIGTERM: one line on stderr, exit 130 / 143, no temporary file
left, an existing output untouched (issue 17, item 2).

Real signals go to a real ``kalib`` process. Ctrl-C is sent as a terminal
sends it, to the whole process group (the report's figure workers get it
too); SIGTERM to the process alone, as ``kill`` sends it. The moments are
made certain rather than timed: the process is signalled once it has
installed its handler (``SigCgt`` in ``/proc``), or frozen (SIGSTOP) the
moment its temporary output directory exists and signalled there.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from estimators.io.files import signals_held

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="reads /proc to see the handler installed"
)

KALIB = [sys.executable, "-m", "estimators.cli"]
REPORT = ["report", "--replicates", "20", "--quiet", "--force"]


def _catches(pid: int, signum: int) -> bool:
    """Whether process ``pid`` has a handler for ``signum`` (SigCgt mask)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signum - 1) & 1)
    return False


def _start(args, cwd):
    # a session of its own: os.killpg reaches it and its workers, as Ctrl-C does
    return subprocess.Popen(
        KALIB + args,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _wait_for(condition, proc, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, f"kalib ended first: {proc.communicate()}"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


def _existing_output(root: Path) -> tuple[Path, dict]:
    """An output directory from an earlier run, and its files' contents."""
    out = root / "out"
    (out / "figures").mkdir(parents=True)
    (out / "index.html").write_text("the earlier report\n")
    (out / "figures" / "old.png").write_bytes(b"\x89PNG earlier")
    return out, _contents(out)


def _contents(directory: Path) -> dict:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def _assert_clean_interrupt(proc, code, root, out, before, command="report"):
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == code, stderr
    assert stderr == f"kalib {command}: interrupted\n"
    # no temporary directory or file, no lock file, no old output set aside
    assert sorted(p.name for p in root.iterdir()) == ["out"]
    assert _contents(out) == before


@pytest.mark.slow
def test_ctrl_c_while_the_report_is_computing(tmp_path):
    out, before = _existing_output(tmp_path)
    proc = _start(REPORT + ["--out", str(out)], tmp_path)
    _wait_for(lambda: _catches(proc.pid, signal.SIGTERM), proc)
    time.sleep(1.0)  # into the work (loading, calibrating, estimating)
    os.killpg(proc.pid, signal.SIGINT)
    _assert_clean_interrupt(proc, 130, tmp_path, out, before)


@pytest.mark.slow
def test_sigterm_while_the_report_is_being_written(tmp_path):
    out, before = _existing_output(tmp_path)
    for _ in range(3):
        proc = _start(REPORT + ["--out", str(out)], tmp_path)
        staged = []

        def writing():
            staged[:] = [
                p
                for p in tmp_path.iterdir()
                if p.name.startswith(".out.") and p.name.endswith(".tmp")
            ]
            return bool(staged)

        _wait_for(writing, proc)
        os.kill(proc.pid, signal.SIGSTOP)
        # run.json is the last file written before the directory is published
        if staged[0].is_dir() and not (staged[0] / "run.json").exists():
            break
        os.kill(proc.pid, signal.SIGCONT)  # too late to land inside: again
        assert proc.wait(timeout=120) == 0
        out, before = _existing_output(_fresh(tmp_path))
    else:
        pytest.fail("never caught the report while it was writing")
    os.kill(proc.pid, signal.SIGTERM)
    os.kill(proc.pid, signal.SIGCONT)
    _assert_clean_interrupt(proc, 143, tmp_path, out, before)


def _fresh(root: Path) -> Path:
    import shutil

    shutil.rmtree(root / "out")
    return root


def test_sigterm_in_another_subcommand(tmp_path):
    """``kalib replicate`` (a table and its sidecar): exit 143, the earlier pair kept."""
    out = tmp_path / "out"
    out.mkdir()
    reps, sidecar = out / "reps.csv", out / "reps.json"
    reps.write_text("id,weight\n1,1\n")
    sidecar.write_text("{}\n")
    before = _contents(out)
    sample = Path(__file__).parents[2] / "reference" / "tests_intervals" / "apistrat.csv"
    proc = _start(
        [
            "replicate",
            str(sample),
            "--id",
            "snum",
            "--weight",
            "pw",
            "--strata",
            "stype",
            "--method",
            "bootstrap",
            "--replicates",
            "100000",
            "--out",
            str(reps),
            "--force",
            "--quiet",
        ],
        tmp_path,
    )
    _wait_for(lambda: _catches(proc.pid, signal.SIGTERM), proc)
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGTERM)
    _assert_clean_interrupt(proc, 143, tmp_path, out, before, command="replicate")


def _children(pid: int) -> list[int]:
    """Child processes of ``pid``, whichever of its threads started them."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except FileNotFoundError:  # a thread that just ended
            pass
    return found


@pytest.mark.slow
def test_sigterm_with_a_cluster_of_worker_processes(tmp_path):
    """``--scheduler processes``: the workers of the LocalCluster end with the
    run, and neither they nor distributed add a word to the one line."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "est.csv").write_text("earlier\n")
    before = _contents(out)
    sample = Path(__file__).parents[2] / "reference" / "tests_intervals" / "apistrat.csv"
    proc = _start(
        [
            "estimate",
            str(sample),
            "--id",
            "snum",
            "--weight",
            "pw",
            "--strata",
            "stype",
            "--variance",
            "bootstrap",
            "--replicates",
            "200000",
            "--scheduler",
            "processes",
            "--mean",
            "api00",
            "--out",
            str(out / "est.csv"),
            "--force",
            "--quiet",
        ],
        tmp_path,
    )
    _wait_for(lambda: _catches(proc.pid, signal.SIGTERM) and len(_children(proc.pid)) >= 2, proc)
    time.sleep(2.0)  # the cluster at work
    workers = _children(proc.pid)
    os.kill(proc.pid, signal.SIGTERM)
    _assert_clean_interrupt(proc, 143, tmp_path, out, before, command="estimate")
    deadline = time.monotonic() + 10
    while (left := [w for w in workers if _alive(w)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, [Path(f"/proc/{w}/cmdline").read_bytes()[:200] for w in left]


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def test_a_signal_inside_held_renames_is_acted_on_after_them(tmp_path):
    """``signals_held`` (around the renames that publish an output) defers a
    signal to the end of the block instead of landing between two renames."""
    seen = []

    def handler(signum, frame):
        seen.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            with signals_held():
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.05)  # Python would run a handler here
                (tmp_path / "a").write_text("renamed")
                assert seen == []
        assert seen == [signal.SIGTERM]
        assert (tmp_path / "a").read_text() == "renamed"
        assert signal.getsignal(signal.SIGTERM) is handler
    finally:
        signal.signal(signal.SIGTERM, previous)
