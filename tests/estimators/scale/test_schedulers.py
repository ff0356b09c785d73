"""``--scheduler ADDRESS`` refused: an error naming it, and nothing left behind."""

import threading

import dask
import pytest

from estimators.scale.schedulers import _connect, dask_scheduler
from weighting.errors import KalibError


@pytest.mark.parametrize(
    ("address", "message"),
    [
        # distributed's ValueError (no port), TypeError (TLS without its
        # settings) and OSError (nothing listens on port 1)
        ("tcp://banana", "cannot use the dask scheduler at tcp://banana"),
        ("tls://127.0.0.1:1", "cannot use the dask scheduler at tls://127.0.0.1:1"),
        ("tcp://127.0.0.1:1", "cannot reach the dask scheduler at tcp://127.0.0.1:1"),
    ],
)
def test_failed_client_restores_scheduler_and_stops_its_loop(address, message):
    assert dask.config.get("scheduler", None) is None
    threads = set(threading.enumerate())
    with pytest.raises(KalibError, match=message):
        _connect(address, timeout="1s")
    assert dask.config.get("scheduler", None) is None
    # no thread started (the Client's event loop) is left; others may end
    assert set(threading.enumerate()) <= threads


def test_failed_client_keeps_a_scheduler_set_before():
    with dask.config.set(scheduler="synchronous"):
        with pytest.raises(KalibError):
            _connect("tls://127.0.0.1:1")
        assert dask.config.get("scheduler") == "synchronous"


@pytest.mark.parametrize("scheduler", ["tcp://:1", ":1", "banana", "tcp://banana"])
def test_address_without_host_or_port_is_refused_before_connecting(scheduler):
    with pytest.raises(KalibError, match="HOST:PORT"), dask_scheduler(scheduler):
        pass
    assert dask.config.get("scheduler", None) is None


def test_tls_address_without_settings_is_a_kalib_error():
    with pytest.raises(KalibError, match="tls://127.0.0.1:1"), dask_scheduler("tls://127.0.0.1:1"):
        pass
    assert dask.config.get("scheduler", None) is None
