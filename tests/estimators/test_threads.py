"""The native thread limits (``estimators._threads``): every loaded BLAS is
limited inside the block and restored after it, and a library loaded after
the first limit is limited too (the cached controller is made again once
modules were imported)."""

import sys
import types

import numpy  # noqa: F401  (loads the BLAS the limits apply to)
from threadpoolctl import threadpool_info

from estimators import _threads
from estimators._threads import thread_limits


def _blas_threads() -> list[int]:
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def test_every_blas_runs_on_one_thread_inside_and_as_before_after():
    before = _blas_threads()
    with thread_limits(blas=1):
        assert _blas_threads() and set(_blas_threads()) == {1}
    assert _blas_threads() == before


def test_the_controller_is_kept_until_a_module_is_imported():
    first = _threads._pools()
    assert _threads._pools() is first  # nothing imported: no new scan
    sys.modules["kalib_test_loaded_module"] = types.ModuleType("kalib_test_loaded_module")
    try:
        assert _threads._pools() is not first  # it may have loaded a library
    finally:
        del sys.modules["kalib_test_loaded_module"]
