"""Where batch jobs execute: local processes (joblib's loky pool) or a Dask cluster.

Both backends expose the same four operations to the driver — ``submit``, ``wait``, ``cancel``,
``close`` — on ``concurrent.futures``-like futures, so the driver can keep a bounded window of
jobs in flight and reserve budget before each submission. One task is one simulation; Dask
tasks get unique keys and ``pure=False`` so no two jobs are ever merged.

- ``local``: joblib's loky process pool (the executor behind ``joblib.Parallel``), used directly
  so the driver decides when each job is submitted; each process runs ``threads_per_worker``
  jobs at once on threads, since jobs mostly wait for a model (:mod:`timepoint.batch.local`).
- ``dask`` with ``cluster=None``: a ``distributed.LocalCluster`` of ``workers`` processes on
  127.0.0.1, dashboard on a random local port (never 8787).
- ``dask`` with ``cluster="tcp://host:port"``: an existing scheduler; its workers' threads are
  the capacity, read again every few seconds, so workers that join while a batch runs (an
  autoscaled pool) get its jobs too. Workers must reach the run store (PostgreSQL, or a shared
  filesystem for SQLite) and the scenario files.

Local worker processes die with the driver (:func:`~timepoint.batch.lifeline.bind_to_parent`
is their initializer), so a driver killed with ``kill -9`` leaves no worker running its queued
jobs. Dask workers outlive a driver; there the jobs' leases (:mod:`timepoint.batch.lease`)
keep a job whose driver is gone from recording its result and from making further calls.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Collection
from typing import Any, Protocol

from timepoint.batch.local import LocalBackend  # joblib: the optional batch extra
from timepoint.errors import BatchError

BACKENDS = ("local", "dask")
#: seconds between two looks at a Dask cluster's threads
CAPACITY_REFRESH_S = 5.0


class Backend(Protocol):
    name: str

    @property
    def capacity(self) -> int:
        """Jobs the backend runs at once now."""
        ...

    def submit(self, fn: Callable[..., Any], *args: Any, key: str) -> Any: ...

    def wait(self, futures: Collection[Any], timeout: float) -> set[Any]: ...

    def cancel(self, future: Any) -> bool: ...

    def describe(self) -> str: ...

    def close(self, *, kill: bool = False) -> None: ...


class DaskBackend:
    """A ``distributed.Client`` on a new LocalCluster or an existing scheduler."""

    name = "dask"

    def __init__(
        self,
        workers: int,
        cluster: Any = None,
        threads_per_worker: int = 1,
        refresh_s: float = CAPACITY_REFRESH_S,
    ):
        from distributed import Client, LocalCluster

        self.refresh_s = refresh_s

        self._cluster = None
        if cluster is None:
            self._cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=threads_per_worker,
                processes=True,
                host="127.0.0.1",
                dashboard_address="127.0.0.1:0",
                silence_logs=logging.ERROR,
            )
            self.client = Client(self._cluster)
            self._own_client = True
        elif isinstance(cluster, str):
            try:
                self.client = Client(cluster, timeout="30s")
            except OSError as error:
                raise BatchError(
                    f"cannot reach the Dask scheduler at {cluster!r}: {error}; start one with "
                    "'dask scheduler' and pass its address as tcp://host:port"
                ) from None
            self._own_client = True
        else:
            self.client = cluster
            self._own_client = False
        self.client.wait_for_workers(1, timeout=60)
        self._capacity = max(1, sum(self.client.nthreads().values()))
        self._counted = time.monotonic()
        where = "LocalCluster" if self._cluster is not None else self.client.scheduler.address
        self._description = f"dask: {self.capacity} worker threads ({where})"

    @property
    def capacity(self) -> int:
        """The cluster's worker threads, counted again once ``refresh_s`` has passed (at
        least 1: jobs wait on the scheduler while no worker is there)."""
        if time.monotonic() - self._counted >= self.refresh_s:
            # a scheduler that does not answer leaves the last count
            with contextlib.suppress(OSError, TimeoutError):
                self._capacity = max(1, sum(self.client.nthreads().values()))
            self._counted = time.monotonic()
        return self._capacity

    def submit(self, fn: Callable[..., Any], *args: Any, key: str) -> Any:
        return self.client.submit(fn, *args, key=key, pure=False, retries=0)

    def wait(self, futures: Collection[Any], timeout: float) -> set[Any]:
        from distributed import wait

        try:
            done, _ = wait(list(futures), timeout=timeout, return_when="FIRST_COMPLETED")
        except TimeoutError:
            return set()
        return set(done)

    def cancel(self, future: Any) -> bool:
        future.cancel()
        return True

    def describe(self) -> str:
        return self._description

    def close(self, *, kill: bool = False) -> None:
        if self._own_client:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def open_backend(
    name: str, workers: int, cluster: Any = None, threads_per_worker: int = 1
) -> Backend:
    """The backend called ``name`` with ``workers`` workers.

    Raises:
        BatchError: an unknown backend, fewer than one worker, or ``cluster`` with ``local``.
    """
    if workers < 1:
        raise BatchError(f"parallel_workers={workers}: give at least 1 worker")
    if threads_per_worker < 1:
        raise BatchError(f"threads_per_worker={threads_per_worker}: give at least 1")
    if name == "local":
        if cluster is not None:
            raise BatchError(
                f"cluster={cluster!r} needs backend='dask'; the local backend runs processes "
                "on this machine"
            )

        return LocalBackend(workers, threads_per_worker)
    if name == "dask":
        return DaskBackend(workers, cluster, threads_per_worker)
    raise BatchError(f"unknown backend {name!r}; allowed: {', '.join(BACKENDS)}")
