"""Which Dask scheduler runs the chunked computations (``--scheduler``).

``threads``
    dask's threaded scheduler in this process (kernels release the GIL);
``processes``
    a ``distributed.LocalCluster`` of worker processes (one thread each, as
    many as cores unless told), started for the block and closed after it;
``synchronous``
    one thread, for debugging;
an address (``tcp://host:8786`` or ``host:8786``)
    an existing ``dask-scheduler`` (see ``docs/scale.md``);
``None``
    whatever scheduler is active (a registered ``Client``, else threads).
"""

from __future__ import annotations

import os
from contextlib import contextmanager, suppress

import dask

from weighting.errors import KalibError

LOCAL = ("threads", "synchronous")


@contextmanager
def dask_scheduler(scheduler, *, n_workers=None, memory_limit="auto", progress=False):
    """Run the ``with`` block on ``scheduler``; yields the ``Client`` or None.

    Parameters
    ----------
    scheduler : {"threads", "processes", "synchronous"}, address or None
    n_workers : int, optional
        Worker processes of the LocalCluster (default: CPU count).
    memory_limit : str or int
        Per-worker memory limit of the LocalCluster (dask's format, e.g. "2GB").
    progress : bool
        Show dask's progress bar for local schedulers (distributed ones show
        theirs through :func:`estimators.scale.studies.run_study`).
    """
    if scheduler is None:
        yield None
        return
    if not isinstance(scheduler, str) or not scheduler:
        raise KalibError(
            f"--scheduler must be threads, processes or a scheduler address, got {scheduler!r}"
        )
    if scheduler in LOCAL:
        with dask.config.set(scheduler=scheduler), _local_progress(progress):
            yield None
        return
    from distributed import Client, LocalCluster
    from distributed.comm.addressing import get_address_host_port

    if scheduler == "processes":
        workers = n_workers or os.cpu_count() or 1
        with (
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                memory_limit=memory_limit,
                dashboard_address=":0",
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client
        return
    address = scheduler if "://" in scheduler else f"tcp://{scheduler}"
    try:
        # the address's syntax (no port, a bad port, an unknown scheme) checked
        # without the network: a Client that fails on it inside its event loop
        # can leave the loop's thread waiting
        host, _ = get_address_host_port(address)
        if not host:
            raise ValueError("no host")
    except ValueError as exc:
        raise KalibError(
            f"--scheduler must be threads, processes or a scheduler address "
            f"(HOST:PORT, tcp://HOST:PORT), got {scheduler!r}: {exc}"
        ) from None
    with _connect(address) as client:
        yield client


def _connect(address, timeout="10s"):
    """A ``Client`` of the scheduler at ``address``; a failure leaves nothing.

    ``Client.__init__`` sets dask's scheduler to ``"dask.distributed"`` and
    starts an event-loop thread before it connects, and a constructor that
    raises hands back nothing to close. So the client is made in two steps:
    on any failure the half-made one is closed, its loop stopped and the
    scheduler setting put back.

    Raises
    ------
    KalibError
        The scheduler cannot be reached (OSError) or the address is refused
        by distributed (ValueError, TypeError: e.g. ``tls://`` without TLS
        settings); it names the address.
    """
    from distributed import Client

    previous = dask.config.get("scheduler", None)
    client = object.__new__(Client)
    try:
        Client.__init__(client, address, timeout=timeout)
    except BaseException as exc:
        _discard(client)
        if dask.config.get("scheduler", None) != previous:
            dask.config.set(scheduler=previous)
        if isinstance(exc, OSError):
            raise KalibError(f"cannot reach the dask scheduler at {address}: {exc}") from None
        if isinstance(exc, (ValueError, TypeError)):
            raise KalibError(f"cannot use the dask scheduler at {address}: {exc}") from None
        raise
    return client


def _discard(client):
    # a constructor that failed early leaves attributes unset, so close() may
    # itself fail; what it did start is still stopped below
    with suppress(Exception):
        client.close()
    # close() returns at once on a client already "closed" (one whose
    # connection failed) without stopping its event-loop thread
    loop_runner = getattr(client, "_loop_runner", None)
    if loop_runner is not None:
        loop_runner.stop()


@contextmanager
def _local_progress(enabled):
    if not enabled:
        yield
        return
    from dask.diagnostics import ProgressBar

    with ProgressBar():
        yield


def run_with_scheduler(scheduler, function, *args, **kwargs):
    """``function(*args, **kwargs)`` with ``scheduler`` active (see
    :func:`dask_scheduler`); the CLI's entry point for ``--scheduler``."""
    with dask_scheduler(scheduler):
        return function(*args, **kwargs)
