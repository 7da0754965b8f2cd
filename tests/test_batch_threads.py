"""The local backend with several job threads per process."""

from __future__ import annotations

import os
from functools import partial

import pytest

import timepoint as tp
from timepoint.batch.pool import ThreadedProcessPool
from timepoint.batch.testing import PricedOfflineModel
from timepoint.errors import BatchError
from timepoint.store import open_store

from .test_batch_specs import write_scenario


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
    runs = open_store(settings.db_url, home=settings.home).list_runs()
    spans = sorted((r.started.timestamp(), r.finished.timestamp()) for r in runs)
    overlap = max(sum(s <= start < f for s, f in spans) for start, _ in spans)
    assert overlap > 2, "more jobs than processes run at once"


def _pid(_: int) -> int:
    return os.getpid()


def _fail(message: str) -> None:
    raise BatchError(message)


def test_pool_returns_results_errors_and_cancels_waiting_jobs():
    pool = ThreadedProcessPool(processes=1, threads=1)
    try:
        first = pool.submit(_pid, 0)
        waiting = pool.submit(_pid, 1)
        failing = pool.submit(_fail, "boom")
        assert pool.cancel(waiting) is True and waiting.cancelled()
        assert first.result(timeout=30) != os.getpid()
        with pytest.raises(BatchError, match="boom"):
            failing.result(timeout=30)
        assert pool.cancel(first) is False
    finally:
        pool.shutdown()
