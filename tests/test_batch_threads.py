"""The local backend with several job threads per process."""

from __future__ import annotations

import os
import threading
import time
from functools import partial

import pytest

import timepoint as tp
from timepoint.batch.local import LocalBackend, run_group
from timepoint.batch.testing import PricedOfflineModel
from timepoint.errors import BatchError
from timepoint.store import open_store

from .test_batch_specs import write_scenario


def _spans(settings):
    runs = open_store(settings.db_url, home=settings.home).list_runs()
    return sorted((r.started.timestamp(), r.finished.timestamp()) for r in runs)


def _most_at_once(spans):
    return max(sum(s <= start < f for s, f in spans) for start, _ in spans)


def test_two_processes_run_four_jobs_each_at_once(tmp_path, settings):
    grid = tp.expand_grid(write_scenario(tmp_path), {"seed": range(8)})
    summary = tp.run_batch(
        grid,
        parallel_workers=2,
        threads_per_worker=4,
        model=partial(PricedOfflineModel, latency_ms=150),
        settings=settings,
        progress=False,
    )
    assert (summary.completed, summary.failed) == (8, 0), summary.describe()
    assert summary.backend == "local: 2 processes × 4 job threads (joblib/loky)"
    assert _most_at_once(_spans(settings)) > 2, "more jobs than processes run at once"


def test_threads_default_to_the_scenarios_in_run_concurrency(tmp_path, settings):
    scenario = write_scenario(tmp_path, models={"max_concurrency": 3})
    grid = tp.expand_grid(scenario, {"seed": range(6)})
    summary = tp.run_batch(
        grid,
        parallel_workers=1,
        model=partial(PricedOfflineModel, latency_ms=150),
        settings=settings,
        progress=False,
    )
    assert (summary.completed, summary.failed) == (6, 0), summary.describe()
    assert summary.backend == "local: 1 process × 3 job threads (joblib/loky)"
    assert _most_at_once(_spans(settings)) == 3


def test_threads_per_worker_must_be_positive(tmp_path, settings):
    grid = tp.expand_grid(write_scenario(tmp_path), {"seed": range(1)})
    with pytest.raises(BatchError, match="threads_per_worker=0: give at least 1"):
        tp.run_batch(grid, threads_per_worker=0, settings=settings, progress=False)


def _pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def _fail(message: str) -> None:
    raise BatchError(message)


class _Unpicklable(Exception):
    def __init__(self):
        super().__init__("holds a lock")
        self.lock = threading.Lock()


def _raise_unpicklable() -> None:
    raise _Unpicklable()


def test_a_group_runs_its_jobs_at_once_and_answers_each():
    started = time.monotonic()
    outcomes = run_group([(_pid_after, (0.3,)), (_pid_after, (0.3,)), (_fail, ("boom",))])
    assert time.monotonic() - started < 0.55, "the jobs of a group run at once"
    assert outcomes[0] == outcomes[1] == (True, os.getpid())
    ok, error = outcomes[2]
    assert not ok and isinstance(error, BatchError) and str(error) == "boom"
    ((ok, error),) = run_group([(_raise_unpicklable, ())])
    assert not ok and "cannot be sent back" in str(error) and "holds a lock" in str(error)


def _finish(backend, futures, timeout=60):
    deadline = time.monotonic() + timeout
    pending = set(futures)
    while pending and time.monotonic() < deadline:
        pending -= backend.wait(pending, timeout=0.5)
    assert not pending, "jobs did not finish"


def test_backend_returns_results_and_errors_and_cancels_jobs_not_started():
    backend = LocalBackend(workers=1, threads=2)
    try:
        first = backend.submit(_pid_after, 0.5, key="a")
        second = backend.submit(_pid_after, 0.5, key="b")  # fills a group: both start
        failing = backend.submit(_fail, "boom", key="c")
        waiting = backend.submit(_pid_after, 0, key="d")
        assert backend.cancel(waiting) is True and waiting.cancelled()
        assert backend.cancel(first) is False, "a started job runs on"
        _finish(backend, [first, second, failing])
        assert first.result() == second.result() != os.getpid()
        with pytest.raises(BatchError, match="boom"):
            failing.result()
    finally:
        backend.close()
