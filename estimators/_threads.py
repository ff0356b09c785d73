"""Thread limits of the native libraries (BLAS, the kernels' OpenMP), one home.

The command line, the replicate estimates, the model fits and the report's
workers each run a block with fewer threads than the machine has:

* **one BLAS thread** where a matrix product's sums must come out in one
  order (a threaded product splits them between its threads, so the last
  bits of a variance would depend on the thread count; issue 17), and where
  many tiny products lose more to waking BLAS's threads than they gain;
* **one OpenMP thread** for a kernel too small to share (a replicate pass of
  a few ms: waking the second thread and waiting for it at the barrier
  costs more on a shared machine), and in a process forked after its parent
  ran a parallel region (libgomp's pool is not copied by fork; a team of one
  thread starts none).

The kernels give each replicate to one thread, so their results do not
depend on the OpenMP thread count; the limits change speed, never a number.

``threadpoolctl`` finds the loaded libraries by scanning the process (about
1 ms); the controller is kept and rebuilt when modules were imported since it
was made (a native library, e.g. scipy's own OpenBLAS, loads with a module),
so that a limit costs microseconds and still reaches every library.
"""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager
from typing import Any

_controller: Any = None
_modules_seen = -1  # len(sys.modules) when the controller was made


def thread_limits(
    blas: int | None = None, openmp: int | None = None
) -> AbstractContextManager[Any]:
    """A ``with`` context in which BLAS and/or OpenMP run on at most the given
    number of threads (``None``: unchanged); the previous limits come back
    on exit.

    numpy is imported first: only libraries already loaded can be limited,
    and BLAS is numpy's.
    """
    import numpy  # noqa: F401  (loads the BLAS that the limit applies to)

    limits = {api: n for api, n in (("blas", blas), ("openmp", openmp)) if n is not None}
    return _pools().limit(limits=limits)


def _pools() -> Any:
    global _controller, _modules_seen
    from threadpoolctl import ThreadpoolController

    if len(sys.modules) != _modules_seen:
        _controller = ThreadpoolController()
        _modules_seen = len(sys.modules)
    return _controller
