"""The report's worker processes: its figures, its regression analysis and
keyrates.nc are made by forked workers while the main process goes on.

No matplotlib, patsy or xarray here: a worker imports what its job
needs (matplotlib as it starts: most jobs are figures), so the main process
never loads them.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from concurrent.futures import Future, ProcessPoolExecutor

from estimators._threads import thread_limits


class Workers:
    """Jobs run by forked worker processes while the report goes on; the
    figures' PNG bytes are collected in the order they were submitted.

    Drawing and the regression analysis are most of the report's run time,
    so :meth:`submit` (a figure) and :meth:`call` (any function: the
    analysis, keyrates.nc) hand their job to forked workers (one per core,
    all forked by :meth:`start` or at the first job, each importing
    matplotlib as it starts) and return at once. Each job's result
    depends on its arguments only, not on which worker ran it nor on what
    ran beside it. Where the platform cannot fork, with one core or with
    ``fork=False``, :attr:`parallel` is False and each job runs when it is
    submitted. Use as a context manager: leaving the block by an exception
    (an interrupt, a failed job) drops the jobs not yet started and ends the
    workers, so that none outlives the run.
    """

    def __init__(self, fork: bool = True):
        self.parallel = fork and _can_fork_workers()
        self._pool: ProcessPoolExecutor | None = None
        self._pending: list[Future[bytes]] = []

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.stop()
        elif self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        return False

    def stop(self) -> None:
        """End the workers now, a job running cut short, and return once
        they have ended: after an error or an interrupt, so that no job
        goes on writing into a directory about to be removed, nor keeps the
        process from exiting until it is done."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        # ProcessPoolExecutor has no public way to end a running job before
        # Python 3.14 (terminate_workers).
        processes = list(pool._processes.values())
        for process in processes:
            process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.join()

    def call(self, function, *args, **kwargs) -> Future:
        """``function(*args, **kwargs)`` run by a worker, or here at once
        when there are none; its future."""
        if not self.parallel:
            done: Future = Future()
            done.set_result(function(*args, **kwargs))
            return done
        self.start()
        assert self._pool is not None
        return self._pool.submit(function, *args, **kwargs)

    def start(self) -> None:
        """Fork the workers now (else at the first job), so that they import
        matplotlib while the main process reads and weights the sample, on
        the core it leaves idle; nothing without workers."""
        if self.parallel and self._pool is None:
            self._pool = ProcessPoolExecutor(
                os.cpu_count(),
                mp_context=multiprocessing.get_context("fork"),
                initializer=_start_worker,
            )
            # A fork pool forks all its workers in its first submit (not
            # waiting for them: each then imports on its own).
            self._pool.submit(int)

    def submit(self, jobs) -> None:
        """Start drawing every ``(function name, args)`` figure job
        (:func:`estimators.report.figures.draw_png`)."""
        self._pending += [self.call(_draw_png, kind, args) for kind, args in jobs]

    def collect(self, progress=None) -> list[bytes]:
        """The PNG bytes of every figure submitted so far, in order (waiting
        for those not yet drawn); ``progress`` (a tqdm bar) is advanced once
        per figure."""
        out = []
        for future in self._pending:
            out.append(future.result())
            if progress is not None:
                progress.update()
        self._pending = []
        return out


def _can_fork_workers() -> bool:
    return (os.cpu_count() or 1) > 1 and "fork" in multiprocessing.get_all_start_methods()


def _start_worker() -> None:
    """A worker computes on one thread (:func:`_one_thread`) and does
    without dask, unless its parent had imported it: xarray, writing
    keyrates.nc, would import dask and distributed (about a second) only to
    ask which dask scheduler is active, and no job of a worker uses dask."""
    _one_thread()
    sys.modules.setdefault("dask", None)  # type: ignore[arg-type]  # None: "not importable"
    import estimators.report.figures  # noqa: F401  (matplotlib, before the first figure job)


def _one_thread() -> None:
    """A worker computes on one thread, its OpenMP kernels (the analysis
    re-calibrates the replicates) and its BLAS, for its whole life (the
    limit is never lifted: the worker ends with it).

    A process forked after its parent ran an OpenMP parallel region hangs in
    its own first region with more than one thread (libgomp's thread pool is
    not copied by fork); a team of one thread starts none
    (:mod:`estimators._threads`). The results are the same to the byte on
    any number of threads (``tests/test_reproducible.py``), and the main
    process and the other workers keep the other cores busy.
    """
    thread_limits(blas=1, openmp=1).__enter__()


def _draw_png(kind: str, args: tuple) -> bytes:
    from estimators.report.figures import draw_png

    return draw_png(kind, args)
