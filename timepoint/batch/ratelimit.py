"""A requests-per-minute limit shared by every worker of a batch.

Each run already limits its own calls (:class:`~timepoint.llm.limiter.LimitedModel`), but a batch
of many runs on many workers needs one limit for the endpoint they all call. The limit is a
*generic cell rate* schedule (a token bucket kept as one number): the next call may start at the
"theoretical arrival time" ``tat`` minus the burst allowance; each start moves ``tat`` on by
``60 / rpm`` seconds. The one number lives where every worker can see it:

- local backend (processes on one machine): a small SQLite file beside the run store, updated
  in an ``IMMEDIATE`` transaction so processes take turns (:class:`FileRateLimiter`);
- Dask backend (workers possibly on several machines): a value in the scheduler's metadata
  guarded by a ``distributed.Lock`` (:class:`DaskRateLimiter`); clocks of the machines are
  assumed to agree to well under ``60 / rpm`` seconds (NTP).

A batch applies the limit when ``rpm`` is given to :func:`~timepoint.batch.run_batch` or
``TIMEPOINT_LLM_RPM`` is set; every job then wraps its provider in :class:`RateLimitedModel`.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from timepoint.llm.base import Completion, LanguageModel, Request

_MAX_NAP_S = 1.0


class RateLimiter(Protocol):
    def acquire(self) -> float:
        """Block until a call may start; returns the seconds waited."""
        ...


def next_start(tat: float, now: float, interval: float, burst: int) -> tuple[float, float]:
    """(seconds to wait, new ``tat``) for a call wanting to start at ``now``.

    A wait of 0 means the call may start and ``tat`` becomes the returned value; otherwise the
    caller waits and asks again (``tat`` unchanged).
    """
    allowed_at = tat - (burst - 1) * interval
    if now < allowed_at:
        return allowed_at - now, tat
    return 0.0, max(tat, now) + interval


class FileRateLimiter:
    """The shared schedule in an SQLite file; safe across processes and threads.

    Args:
        path: the SQLite file (created when missing).
        rpm: requests per minute allowed for ``key``.
        key: the endpoint the limit applies to.
        burst: calls that may start back to back after a quiet spell.
        clock: wall-clock seconds (the same clock in every process).
        sleep: how to wait.
    """

    def __init__(
        self,
        path: Path | str,
        rpm: int,
        key: str = "default",
        burst: int = 1,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if rpm < 1 or burst < 1:
            raise ValueError(f"rpm and burst must be at least 1, got rpm={rpm}, burst={burst}")
        self.path = Path(path)
        self.interval = 60.0 / rpm
        self.key = key
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                str(self.path), timeout=30.0, isolation_level=None, check_same_thread=False
            )
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS rate_schedule (key TEXT PRIMARY KEY, tat REAL)"
            )
        return self._db

    def _try(self) -> float:
        with self._lock:
            db = self._connection()
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute(
                    "SELECT tat FROM rate_schedule WHERE key = ?", (self.key,)
                ).fetchone()
                tat = row[0] if row else 0.0
                wait, new_tat = next_start(tat, self._clock(), self.interval, self.burst)
                if wait == 0.0:
                    db.execute(
                        "INSERT INTO rate_schedule (key, tat) VALUES (?, ?) "
                        "ON CONFLICT (key) DO UPDATE SET tat = excluded.tat",
                        (self.key, new_tat),
                    )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return wait

    def acquire(self) -> float:
        waited = 0.0
        while (wait := self._try()) > 0:
            nap = min(wait, _MAX_NAP_S)
            self._sleep(nap)
            waited += nap
        return waited

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


class DaskRateLimiter:
    """The shared schedule in the Dask scheduler's metadata, guarded by a Dask ``Lock``.

    Build it in a task (or the driver): it keeps that thread's client, so the run's own
    threads (calls fanned out within a run) can use it too.

    Args:
        name: names the lock and the variable on the scheduler (one per endpoint).
        rpm: requests per minute.
        burst: calls that may start back to back after a quiet spell.
        client: the ``distributed.Client``; default the worker's (``get_client()``).
    """

    def __init__(self, name: str, rpm: int, burst: int = 1, client: Any = None):
        if rpm < 1 or burst < 1:
            raise ValueError(f"rpm and burst must be at least 1, got rpm={rpm}, burst={burst}")
        from distributed import Lock, get_client

        self.name = name
        self.interval = 60.0 / rpm
        self.burst = burst
        self._client = client if client is not None else get_client()
        self._key = ["timepoint", "rate", name]
        self._lock = Lock(
            f"{name}-lock", scheduler_rpc=self._client.scheduler, loop=self._client.loop
        )

    def _try(self) -> float:
        with self._lock:
            tat = float(self._client.get_metadata(self._key, default=0.0))
            wait, new_tat = next_start(tat, time.time(), self.interval, self.burst)
            if wait == 0.0:
                self._client.set_metadata(self._key, new_tat)
        return wait

    def acquire(self) -> float:
        waited = 0.0
        while (wait := self._try()) > 0:
            nap = min(wait, _MAX_NAP_S)
            time.sleep(nap)
            waited += nap
        return waited


@dataclass(frozen=True)
class RateLimitSpec:
    """How a job finds the batch's shared limiter (picklable; built inside the worker).

    Attributes:
        kind: ``file`` (local backend) or ``dask``.
        rpm: requests per minute for the whole batch.
        name: the endpoint key (file) or the Dask lock/variable name.
        path: the SQLite file of a ``file`` limiter.
        burst: calls that may start back to back.
    """

    kind: str
    rpm: int
    name: str
    path: str | None = None
    burst: int = 1

    def build(self) -> RateLimiter:
        if self.kind == "dask":
            return DaskRateLimiter(self.name, self.rpm, self.burst)
        if self.path is None:
            raise ValueError("a file rate limit needs a path")
        return FileRateLimiter(self.path, self.rpm, key=self.name, burst=self.burst)


class RateLimitedModel:
    """Wraps a provider; every call first waits for the shared limiter.

    Args:
        inner: the provider.
        limiter: the batch's shared limiter.
    """

    def __init__(self, inner: LanguageModel, limiter: RateLimiter):
        self.inner = inner
        self.limiter = limiter

    @property
    def provider(self) -> str:
        return self.inner.provider

    @property
    def cache_identity(self) -> str:
        """The wrapped provider's identity, so the cache keys stay the same with the limit."""
        identity = getattr(self.inner, "cache_identity", None)
        if isinstance(identity, str):
            return identity
        return str(getattr(self.inner, "base_url", self.inner.provider))

    def complete(self, request: Request) -> Completion:
        self.limiter.acquire()
        return self.inner.complete(request)

    def __repr__(self) -> str:
        return f"RateLimitedModel({self.inner!r})"
