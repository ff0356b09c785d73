"""``estimators.cli.options.importing``: a module imported on a second thread
while the command's compiled work runs (``kalib estimate`` imports
scipy.special while its replicates are made)."""

from __future__ import annotations

import sys
import threading

import pytest

from estimators.cli.options import importing


def _module(tmp_path, monkeypatch, name, body):
    (tmp_path / f"{name}.py").write_text(body)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)


def test_the_module_is_imported_on_another_thread_by_the_end_of_the_block(tmp_path, monkeypatch):
    _module(
        tmp_path,
        monkeypatch,
        "kalib_probe_slow",
        "import threading, time\nTHREAD = threading.current_thread()\ntime.sleep(0.2)\nDONE = True\n",
    )
    with importing("kalib_probe_slow"):
        pass  # the block ends before the import does: the end waits for it
    probe = sys.modules["kalib_probe_slow"]
    assert probe.DONE and probe.THREAD is not threading.main_thread()


def test_a_failing_import_is_left_to_the_command_and_the_blocks_error_passes(
    tmp_path, monkeypatch, capfd
):
    _module(tmp_path, monkeypatch, "kalib_probe_broken", "raise RuntimeError('broken')\n")
    with pytest.raises(LookupError, match="the block's"), importing("kalib_probe_broken"):
        raise LookupError("the block's own error")
    assert capfd.readouterr().err == ""  # no traceback from the thread
    with pytest.raises(RuntimeError, match="broken"):
        import kalib_probe_broken  # noqa: F401
