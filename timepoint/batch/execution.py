"""Executing a planned batch: the backend, the driver and the progress bar, then the summary.

Shared by :func:`~timepoint.batch.runner.run_batch` and notebook sweeps
(:mod:`timepoint.batch.sweep`); the batch row's status follows the outcome (``completed``,
``stopped``, or ``cancelled`` when the driver is interrupted).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from timepoint.batch.backends import open_backend
from timepoint.batch.driver import Driver, Task
from timepoint.batch.job import JobContext, JobResult
from timepoint.batch.lease import BatchLease
from timepoint.batch.progress import BarProgress, NoProgress
from timepoint.batch.resume import History
from timepoint.batch.summary import BatchSummary
from timepoint.llm.budget import Budget


@dataclass
class Execution:
    """Everything :func:`execute` needs besides the tasks."""

    store: Any
    batch_id: str
    backend: str
    workers: int
    cluster: Any
    threads_per_worker: int
    ctx: JobContext
    fn: Callable[[Any, JobContext, float | None], JobResult]
    ledger: Budget
    total: int
    history: History
    fail_fast: bool = False
    progress: bool = True
    window: int | None = None
    lease: BatchLease | None = None


def execute(plan: Execution, tasks: Iterator[Task]) -> BatchSummary:
    """Run ``tasks`` on the chosen backend and summarize; the batch row tracks the status."""
    started = time.perf_counter()
    to_run = plan.total - len(plan.history.completed)
    backend = open_backend(plan.backend, plan.workers, plan.cluster, plan.threads_per_worker)
    bar = (
        BarProgress(to_run, plan.batch_id, plan.ledger.max_usd, slots=backend.capacity)
        if plan.progress
        else NoProgress()
    )
    driver = Driver(
        backend,
        plan.store,
        plan.ctx,
        plan.fn,
        plan.ledger,
        window=plan.window,
        fail_fast=plan.fail_fast,
        progress=bar,
        lease=plan.lease,
    )
    try:
        tally = driver.execute(tasks)
    except BaseException:
        driver.abandon()
        backend.close(kill=True)
        plan.store.update_batch(plan.batch_id, status="cancelled")
        raise
    finally:
        bar.close()
    backend.close()
    status = "stopped" if tally.stop_reason or tally.skipped else "completed"
    plan.store.update_batch(plan.batch_id, status=status)
    return BatchSummary(
        batch_id=plan.batch_id,
        status=status,
        backend=backend.describe(),
        total=plan.total,
        already_completed=len(plan.history.completed),
        completed=tally.completed,
        failed=tally.failed,
        skipped=tally.skipped,
        cancelled=tally.cancelled,
        cost_usd=tally.cost_usd,
        tokens=tally.tokens,
        batch_cost_usd=plan.store.batch_spend(plan.batch_id)[0]
        if plan.lease is not None
        else plan.history.cost_usd + tally.cost_usd,
        budget_cap_usd=plan.ledger.max_usd,
        duration_s=time.perf_counter() - started,
        failures_by_cause=tally.failures_by_cause,
        skip_reason=tally.skip_reason,
        stop_reason=tally.stop_reason,
    ).attach(plan.store)
