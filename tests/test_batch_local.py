"""Batches on the local backend (loky processes running jobs on threads) with the offline model."""

from __future__ import annotations

import itertools
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial

import pytest

import timepoint as tp
from timepoint.batch.ratelimit import FileRateLimiter, next_start
from timepoint.batch.testing import OutageModel, PricedOfflineModel
from timepoint.errors import BatchError, CreditExhausted
from timepoint.llm.testing import ScriptedModel
from timepoint.store import open_store

from .test_batch_specs import priced_settings, write_scenario


def _store(settings):
    return open_store(settings.db_url, home=settings.home)


def test_local_batch_streams_every_job_into_the_store(tmp_path, settings):
    grid = tp.expand_grid(write_scenario(tmp_path), {"seed": range(4)})
    summary = tp.run_batch(grid, parallel_workers=2, settings=settings, progress=False)
    assert (summary.status, summary.completed, summary.failed, summary.total) == (
        "completed",
        4,
        0,
        4,
    )
    assert summary.tokens > 0 and summary.cost_usd == 0
    store = _store(settings)
    rows = {r["job_id"]: r for r in store.jobs(summary.batch_id)}
    assert set(rows) == {s.job_id for s in grid}
    for spec in grid:
        row = rows[spec.job_id]
        assert row["status"] == "completed" and row["retries"] == 0 and row["duration_s"] > 0
        record = store.load_run(row["run_id"])
        assert record.status == "completed"
        assert (record.seed, record.config_hash) == (spec.seed, spec.config_hash)
        assert row["tokens"] == record.usage.prompt_tokens + record.usage.completion_tokens
        assert (settings.home / row["run_id"] / "run.json").is_file()
    jobs = summary.jobs
    assert len(jobs) == 4 and set(jobs["status"]) == {"completed"}
    assert sorted(jobs["seed"]) == [0, 1, 2, 3]
    assert store.batch(summary.batch_id)["status"] == "completed"


def test_same_batch_again_needs_resume_and_resume_recomputes_nothing(tmp_path, settings):
    grid = tp.expand_grid(write_scenario(tmp_path), {"seed": range(3)})
    first = tp.run_batch(grid, parallel_workers=2, settings=settings, progress=False)
    with pytest.raises(BatchError, match=f"pass resume='{first.batch_id}'"):
        tp.run_batch(grid, parallel_workers=2, settings=settings, progress=False)
    again = tp.run_batch(
        grid, parallel_workers=2, settings=settings, progress=False, resume=first.batch_id
    )
    assert (again.already_completed, again.executed, again.status) == (3, 0, "completed")
    assert list(again.jobs["run_id"]) == list(first.jobs["run_id"])
    other = tp.expand_grid(write_scenario(tmp_path), {"seed": range(4)})
    with pytest.raises(BatchError, match="different specs"):
        tp.run_batch(other, settings=settings, progress=False, resume=first.batch_id)


def test_a_failing_job_keeps_its_diagnostics_and_does_not_stop_the_batch(tmp_path, settings):
    grid = tp.expand_grid(write_scenario(tmp_path), {"seed": range(3)})
    outage = partial(OutageModel, state_dir=str(tmp_path / "outage"), failures=1)
    summary = tp.run_batch(
        grid,
        parallel_workers=2,
        settings=settings,
        progress=False,
        model=outage,
        attempts=1,
    )
    assert (summary.completed, summary.failed) == (2, 1)
    assert summary.failures_by_cause == {"LLMError": 1}
    failed = summary.jobs[summary.jobs["status"] == "failed"].iloc[0]
    assert failed["error_class"] == "LLMError"
    assert failed["step"] == "entities"
    assert "emulated outage" in failed["message"]
    assert failed["retries"] == 0
    record = _store(settings).load_run(failed["run_id"])
    assert record.status == "failed" and record.failed_step == "entities"
    assert "failed at step 'entities'" not in summary.describe()
    assert "LLMError ×1" in summary.describe()


def test_failed_attempts_are_retried_with_backoff(tmp_path, settings):
    grid = tp.expand_grid(write_scenario(tmp_path), {"seed": range(3)})
    outage = partial(OutageModel, state_dir=str(tmp_path / "outage"), failures=2)
    summary = tp.run_batch(
        grid,
        parallel_workers=1,
        threads_per_worker=1,  # one job at a time: the first one meets both failures
        settings=settings,
        progress=False,
        model=outage,
        attempts=3,
        backoff_s=0.05,
    )
    assert (summary.completed, summary.failed) == (3, 0)
    assert sorted(summary.jobs["retries"]) == [0, 0, 2]
    store = _store(settings)
    runs = store.list_runs(scenario="village_well")
    assert sorted(r.status for r in runs) == ["completed"] * 3 + ["failed"] * 2


def test_fail_fast_stops_starting_jobs(tmp_path, settings):
    grid = tp.expand_grid(write_scenario(tmp_path), {"seed": range(6)})
    outage = partial(OutageModel, state_dir=str(tmp_path / "outage"), failures=-1)
    summary = tp.run_batch(
        grid,
        parallel_workers=1,
        settings=settings,
        progress=False,
        model=outage,
        attempts=1,
        fail_fast=True,
        window=1,
    )
    assert summary.status == "stopped" and summary.failed == 1
    assert summary.cancelled == 5
    assert "fail_fast" in summary.stop_reason
    assert set(summary.jobs["status"]) == {"failed", "cancelled"}


def test_budget_cap_stops_new_jobs_before_it_would_be_passed(tmp_path):
    settings = priced_settings(tmp_path)
    path = write_scenario(tmp_path, models={"model": "test-priced"})
    grid = tp.expand_grid(path, {"seed": range(6)})
    summary = tp.run_batch(
        grid,
        parallel_workers=2,
        budget_cap=18.0,
        job_cap_usd=8.0,
        model=PricedOfflineModel,
        settings=settings,
        progress=False,
    )
    spent = sum(r.cost_usd for r in _store(settings).list_runs(scenario="village_well"))
    assert 0 < spent <= 18.0 and summary.batch_cost_usd == pytest.approx(spent)
    assert summary.skipped >= 1 and summary.completed + summary.skipped == 6
    assert summary.status == "stopped" and "raise the budget cap" in summary.skip_reason


@pytest.mark.slow
def test_budget_cap_holds_across_four_workers(tmp_path):
    settings = priced_settings(tmp_path)
    path = write_scenario(tmp_path, models={"model": "test-priced"})
    grid = tp.expand_grid(path, {"seed": range(12)})
    model = partial(PricedOfflineModel, latency_ms=150)
    summary = tp.run_batch(
        grid,
        parallel_workers=4,
        budget_cap=48.0,
        job_cap_usd=12.0,
        model=model,
        settings=settings,
        progress=False,
    )
    runs = _store(settings).list_runs(scenario="village_well")
    spent = sum(r.cost_usd for r in runs)
    assert summary.failed == 0, summary.describe()
    assert 0 < spent <= 48.0
    assert summary.batch_cost_usd == pytest.approx(spent)
    assert all(0 < r.cost_usd <= 12.0 for r in runs)
    assert summary.completed >= 4 and summary.skipped >= 1
    assert summary.completed + summary.skipped == 12
    assert "would pass the cap $48.0000" in summary.skip_reason
    skipped = summary.jobs[summary.jobs["status"] == "skipped"]
    assert len(skipped) == summary.skipped and skipped["run_id"].isna().all()
    spans = sorted((r.started.timestamp(), r.finished.timestamp()) for r in runs)
    overlap = max(sum(s <= start < f for s, f in spans) for start, _ in spans)
    assert 3 <= overlap <= 4, "up to four jobs (what the cap allows) run at once"


def _acquire_many(path: str, rpm: int, times: int) -> list[float]:
    limiter = FileRateLimiter(path, rpm, key="endpoint")
    stamps = []
    for _ in range(times):
        limiter.acquire()
        stamps.append(time.time())
    return stamps


def test_file_rate_limit_spaces_calls_across_processes(tmp_path):
    path = str(tmp_path / "rate.sqlite")
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(3, mp_context=context) as pool:
        futures = [pool.submit(_acquire_many, path, 600, 3) for _ in range(3)]
        stamps = sorted(t for f in futures for t in f.result())
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert len(stamps) == 9
    assert stamps[-1] - stamps[0] >= 8 * 0.1 * 0.98
    assert min(gaps) >= 0.1 - 0.03, gaps


def test_gcra_allows_a_burst_then_spaces():
    assert next_start(0.0, 100.0, 1.0, 1) == (0.0, 101.0)
    assert next_start(101.0, 100.0, 1.0, 1) == (1.0, 101.0)
    assert next_start(101.0, 100.0, 1.0, 2) == (0.0, 102.0)


def test_batch_rate_limit_applies_to_all_workers(tmp_path, settings):
    grid = tp.expand_grid(write_scenario(tmp_path), {"seed": range(2)})
    started = time.perf_counter()
    summary = tp.run_batch(grid, parallel_workers=2, settings=settings, progress=False, rpm=400)
    assert summary.completed == 2
    assert time.perf_counter() - started >= 9 * 60 / 400


def test_workers_use_the_store_given_to_the_batch(tmp_path, settings):
    store = open_store(tmp_path / "elsewhere.db")
    grid = tp.expand_grid(write_scenario(tmp_path), {"seed": range(2)})
    summary = tp.run_batch(grid, parallel_workers=2, settings=settings, store=store, progress=False)
    assert summary.completed == 2
    rows = store.jobs(summary.batch_id)
    assert [store.load_run(r["run_id"]).status for r in rows] == ["completed"] * 2
    assert not _store(settings).batches()
    with pytest.raises(BatchError, match="in-memory store"):
        tp.run_batch(grid, settings=settings, store=open_store(":memory:"), progress=False)


def test_credit_exhaustion_stops_the_batch_without_retrying(tmp_path, settings):
    grid = tp.expand_grid(write_scenario(tmp_path), {"seed": range(4)})
    broke = partial(
        ScriptedModel, [CreditExhausted("HTTP 402: add credit", status=402)], repeat_last=True
    )
    summary = tp.run_batch(
        grid,
        parallel_workers=1,
        window=1,
        attempts=3,
        model=broke,
        settings=settings,
        progress=False,
    )
    assert (summary.status, summary.failed, summary.cancelled) == ("stopped", 1, 3)
    assert summary.stop_reason.startswith("credit exhausted")
    failed = summary.jobs[summary.jobs["status"] == "failed"].iloc[0]
    assert (failed["error_class"], failed["retries"]) == ("CreditExhausted", 0)
