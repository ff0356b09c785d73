"""Outputs (issue 17): write errors are named, targets are claimed, files
that belong together are published as one unit."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from estimators.io import files
from estimators.io.files import (
    OutputBusyError,
    OutputExistsError,
    OutputWriteError,
    claim_outputs,
    staged_directory,
    write_atomic,
    write_files,
)


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize(
    "target, message",
    [
        ("/proc/kalib-test.csv", "cannot write '/proc/kalib-test.csv'"),
        ("/sys/kernel/kalib-test.csv", "cannot write '/sys/kernel/kalib-test.csv'"),
    ],
)
def test_unwritable_places_are_named_errors(target, message):
    with pytest.raises(OutputWriteError) as info:
        write_atomic(target, "a,b\n")
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_directory_as_output_even_with_force(tmp_path):
    (tmp_path / "out.csv").mkdir()
    with pytest.raises(OutputWriteError, match="'.*out.csv' is a directory"):
        write_atomic(tmp_path / "out.csv", "x\n", force=True)


@pytest.mark.parametrize("directory", [False, True])
def test_a_loop_of_links_as_output_is_named(tmp_path, directory):
    # was: RuntimeError "Symlink loop from ..." from Path.resolve, a traceback
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(
        OutputWriteError, match=r"output '.*a' is a symbolic link that leads nowhere"
    ):
        if directory:
            with staged_directory(tmp_path / "a", force=True):
                pass
        else:
            write_atomic(tmp_path / "a", "x\n", force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]


def test_failed_rename_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "est.csv"
    target.write_text("old\n")

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(files.os, "replace", refuse)
    with pytest.raises(OutputWriteError, match=r"cannot write '.*est.csv': Permission denied"):
        write_atomic(target, "new\n", force=True)
    assert target.read_text() == "old\n" and _leftovers(tmp_path) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_read_only_directory(tmp_path):
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(OutputWriteError, match="Permission denied"):
            write_atomic(tmp_path / "x.csv", "x\n")
    finally:
        tmp_path.chmod(0o755)


def test_a_writer_error_leaves_nothing(tmp_path):
    def fail(tmp):
        Path(tmp).write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputWriteError, match="No space left on device"):
        write_files([(tmp_path / "a.csv", "a\n"), (tmp_path / "a.json", fail)])
    assert list(tmp_path.iterdir()) == []


def test_files_of_a_unit_are_written_first_and_renamed_last_first(tmp_path, monkeypatch):
    # the sidecar, written last (it describes the table), is in place first
    renamed = []
    real = os.replace
    monkeypatch.setattr(
        files.os, "replace", lambda src, dst: (renamed.append(Path(dst).name), real(src, dst))
    )
    write_files([(tmp_path / "r.csv", "t\n"), (tmp_path / "r.json", "{}\n")])
    assert renamed == ["r.json", "r.csv"]
    assert (tmp_path / "r.csv").read_text() == "t\n" and _leftovers(tmp_path) == []


HOLDER = textwrap.dedent("""
    import sys, time
    from estimators.io.files import claim_outputs
    with claim_outputs([sys.argv[1]]):
        print("claimed", flush=True)
        time.sleep(60)
""")


@contextmanager
def another_run_holding(target):
    """A process holding the claim on ``target``, killed on the way out."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(target)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "claimed"
        yield holder
    finally:
        holder.kill()
        holder.wait()


def test_a_claimed_target_is_refused_naming_it(tmp_path):
    target = tmp_path / "reps.csv"
    with another_run_holding(target) as holder:
        with pytest.raises(OutputBusyError) as info:
            write_atomic(target, "x\n")
        message = str(info.value)
        assert f"output {str(target)!r} is being written by another kalib run" in message
        assert f"(process {holder.pid})" in message
        assert not target.exists()
    # the kernel dropped the dead holder's lock: the target is free again
    write_atomic(target, "x\n")
    assert target.read_text() == "x\n" and _leftovers(tmp_path) == []


def test_a_lock_file_left_by_a_killed_run_does_not_block(tmp_path):
    (tmp_path / ".reps.csv.lock").write_text("12345\n")
    write_atomic(tmp_path / "reps.csv", "x\n")
    assert _leftovers(tmp_path) == []


def test_exists_is_checked_again_under_the_claim(tmp_path, monkeypatch):
    # a run that passed the early check while another was still computing
    target = tmp_path / "est.csv"
    real = files.claim_outputs

    def meanwhile_another_run_wrote(paths):
        target.write_text("the other run\n")
        return real(paths)

    monkeypatch.setattr(files, "claim_outputs", meanwhile_another_run_wrote)
    with pytest.raises(OutputExistsError, match="exists; use --force"):
        write_atomic(target, "this run\n")
    assert target.read_text() == "the other run\n"


def test_claims_are_exclusive_within_a_process_too(tmp_path):
    with claim_outputs([tmp_path / "a"]):
        with pytest.raises(OutputBusyError):
            with claim_outputs([tmp_path / "a"]):
                pass
    assert _leftovers(tmp_path) == []


def test_staged_directory_publishes_whole_or_not_at_all(tmp_path):
    out = tmp_path / "report"
    with staged_directory(out) as tmp:
        (tmp / "index.html").write_text("one")
    assert (out / "index.html").read_text() == "one"
    with pytest.raises(OutputExistsError):
        with staged_directory(out):
            pass
    with pytest.raises(RuntimeError):
        with staged_directory(out, force=True) as tmp:
            (tmp / "index.html").write_text("two")
            raise RuntimeError("interrupted")
    assert (out / "index.html").read_text() == "one" and _leftovers(tmp_path) == []
    with staged_directory(out, force=True) as tmp:
        (tmp / "index.html").write_text("two")
    assert (out / "index.html").read_text() == "two" and _leftovers(tmp_path) == []
    assert oct((out / "index.html").stat().st_mode & 0o777) == oct(0o666 & ~files.current_umask())


def test_staged_directory_checks_its_place(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputWriteError, match="exists and is not a directory"):
        with staged_directory(tmp_path / "file", force=True):
            pass
    with pytest.raises(OutputWriteError, match="output directory .* does not exist"):
        with staged_directory(tmp_path / "missing" / "report"):
            pass
    with pytest.raises(OutputWriteError, match="cannot write '/proc/kalib-report'"):
        with staged_directory("/proc/kalib-report"):
            pass


def test_staged_directory_is_claimed(tmp_path):
    out = tmp_path / "report"
    with another_run_holding(out):
        start = time.monotonic()
        with pytest.raises(OutputBusyError, match="being written by another kalib run"):
            with staged_directory(out) as tmp:
                (tmp / "index.html").write_text("x")
        assert time.monotonic() - start < 10 and not out.exists()
    assert _leftovers(tmp_path) == [".report.lock"]  # the killed holder's, harmless
