"""SPSS ``.sav`` files, read after a probe in a child process.

pyreadstat's C library (ReadStat) trusts the lengths and offsets a ``.sav``
file declares: a file damaged in one byte can make it read out of bounds and
kill the process with a segmentation fault (found by the fuzz tests of
issue 17; ``tests/estimators/io/test_io_sav.py`` keeps such a file). So the
file is first read in a forked child that only reports whether it survived;
a crash (or a read that does not end) is an :class:`InputFileError` naming
the file, and only a file the child read is read here. The read is
deterministic, so the second read does what the first did; it costs a fork
and a second parse (``.sav`` exports are small), and keeps the frame out of
any pipe. Where ``os.fork`` does not exist the file is read directly.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import time

from estimators.io.text import InputFileError, check_input

#: Seconds a probe may take before the file is declared unreadable.
PROBE_TIMEOUT = 300.0


def read_sav(path, error=InputFileError, **options):
    """``pyreadstat.read_sav(path, **options)`` -> ``(frame, meta)``, isolated.

    Raises ``error`` (an :class:`InputFileError` subclass) naming the file
    when pyreadstat raises (its own error types) or when the probe process
    dies or hangs.
    """
    import pyreadstat

    path = check_input(path)
    if hasattr(os, "fork"):
        _probe(str(path), options, error)
    try:
        return pyreadstat.read_sav(str(path), **options)
    except Exception as exc:  # pyreadstat raises its own ReadstatError/PyreadstatError
        text = str(exc).strip()
        reason = text.splitlines()[0] if text else type(exc).__name__
        raise error(f"cannot read SPSS file {str(path)!r}: {reason}") from None


def _probe(path: str, options: dict, error) -> None:
    import pyreadstat

    pid = os.fork()
    if pid == 0:  # the child: read, and say only whether that went well
        # silently: a crash report (faulthandler's, or the C library's) on the
        # shared stderr would break the one-line error the parent gives
        faulthandler.disable()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        code = 0
        try:
            pyreadstat.read_sav(path, **options)
        except BaseException:  # the parent reads again and reports the error itself
            code = 3
        os._exit(code)
    status, waited, pause = None, 0.0, 0.001
    while status is None:
        done, raw = os.waitpid(pid, os.WNOHANG)
        if done:
            status = raw
        elif waited > PROBE_TIMEOUT:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise error(
                f"cannot read SPSS file {path!r}: the SPSS reader did not "
                f"finish in {PROBE_TIMEOUT:g} s (a damaged file)"
            )
        else:
            time.sleep(pause)
            waited += pause
            pause = min(pause * 2, 0.1)
    if os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        raise error(
            f"cannot read SPSS file {path!r}: the SPSS reader crashed ({name}; a damaged file)"
        )
