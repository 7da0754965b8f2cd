"""The batch driver: a bounded window of jobs in flight, budget reserved before each submission.

For each job the driver reserves the job's cap on the batch budget, submits it, and when it
finishes settles the reservation with the job's actual cost. A job whose cap does not fit
waits while other jobs are in flight (their settlements free money); when nothing is in flight
and it still does not fit, it is skipped and recorded with the reason. Because every job is
held to its cap inside the worker, the batch can never spend more than its cap, however many
workers run at once.

Memory stays flat: the driver holds at most ``window`` futures and a few counters; each job's
result goes to the store as it arrives and is then dropped.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from timepoint.batch.backends import Backend
from timepoint.batch.job import JobContext, JobResult
from timepoint.batch.job_budget import overspend_flag
from timepoint.batch.lease import BatchLease
from timepoint.batch.progress import BatchProgress, NoProgress
from timepoint.errors import BudgetExceeded
from timepoint.llm.budget import Budget, Reservation

#: seconds between checks of the futures in flight (also the progress refresh)
POLL_S = 0.5


@dataclass(frozen=True)
class Task:
    """One job as the driver sees it: id, what the worker gets, and its cap."""

    job_id: str
    payload: Any
    describe: dict[str, Any]
    cap_usd: float | None


@dataclass
class Tally:
    """Counters of one invocation of a batch (never per-job lists)."""

    completed: int = 0
    failed: int = 0
    skipped: int = 0
    cancelled: int = 0
    cost_usd: float = 0.0
    tokens: int = 0
    failures_by_cause: dict[str, int] = field(default_factory=dict)
    skip_reason: str | None = None
    stop_reason: str | None = None

    @property
    def finished(self) -> int:
        return self.completed + self.failed

    def add(self, result: JobResult) -> None:
        self.cost_usd += result.cost_usd
        self.tokens += result.tokens
        if result.status == "completed":
            self.completed += 1
        else:
            self.failed += 1
            cause = result.error_class or "unknown"
            self.failures_by_cause[cause] = self.failures_by_cause.get(cause, 0) + 1


@dataclass
class _Flight:
    task: Task
    reservation: Reservation


class Driver:
    """Runs tasks on a backend under a batch budget, streaming results into the store.

    Args:
        backend: where tasks run.
        store: the run store (rows the workers could not write are written here).
        ctx: the context sent with every task.
        fn: the top-level job function ``fn(payload, ctx, cap_usd) -> JobResult``.
        ledger: the batch budget (reserve before submit, settle after).
        window: most tasks in flight at once (default: twice the backend's capacity, which
            grows and shrinks with a Dask cluster's workers).
        fail_fast: stop submitting after the first failed job.
        progress: the progress display.
        lease: the driver's lease on the batch; once it is lost (another process took the
            batch over) the driver submits nothing more.
    """

    def __init__(
        self,
        backend: Backend,
        store: Any,
        ctx: JobContext,
        fn: Callable[[Any, JobContext, float | None], JobResult],
        ledger: Budget,
        *,
        window: int | None = None,
        fail_fast: bool = False,
        progress: BatchProgress | None = None,
        lease: BatchLease | None = None,
    ):
        self.backend = backend
        self.store = store
        self.ctx = ctx
        self.fn = fn
        self.ledger = ledger
        self._window = window
        self.fail_fast = fail_fast
        self.progress = progress or NoProgress()
        self.lease = lease
        self.tally = Tally()
        self._in_flight: dict[Any, _Flight] = {}

    @property
    def window(self) -> int:
        """Most tasks in flight at once, now."""
        return self._window or 2 * self.backend.capacity

    def execute(self, tasks: Iterator[Task]) -> Tally:
        """Run ``tasks`` to the end (or until a stop); returns the counters."""
        waiting: Task | None = None
        self._flag = overspend_flag(self.ctx.settings.home, self.ctx.batch_id, self.ctx.lease_owner)
        self._flag.unlink(missing_ok=True)
        while True:
            self._check_lease()
            self._check_overspent()
            while self.tally.stop_reason is None and len(self._in_flight) < self.window:
                task = waiting if waiting is not None else next(tasks, None)
                waiting = None
                if task is None:
                    break
                if not self._submit(task):
                    if self._in_flight:
                        waiting = task
                        break
                    self._skip(task)
            if not self._in_flight:
                break
            for future in self.backend.wait(self._in_flight, timeout=POLL_S):
                self._finish(future)
            self._show()
        if self.tally.stop_reason is not None:
            for task in [waiting, *tasks]:
                if task is not None:
                    self._write(task, status="cancelled", message=self.tally.stop_reason)
                    self.tally.cancelled += 1
        self._show()
        return self.tally

    def _check_lease(self) -> None:
        if self.lease is not None and self.lease.lost and self.tally.stop_reason is None:
            self.tally.stop_reason = (
                f"this process lost its lease on batch {self.ctx.batch_id} (another process "
                "resumed it, or this one could not renew it in time); resume the batch to "
                "finish it"
            )

    def _check_overspent(self) -> None:
        """Stop submitting once a job's endpoint charged more than a call reserved (the job
        wrote the batch's flag; the running jobs refuse their next call)."""
        if self.tally.stop_reason is not None or not self._flag.exists():
            return
        try:
            detail = self._flag.read_text(encoding="utf-8").strip()
        except OSError:
            detail = "a call cost more than it reserved"
        self.tally.stop_reason = (
            f"batch budget overspent: {detail}; every further call and job of the batch was "
            "refused. Check the model's prices in the registry (TIMEPOINT_LLM_REGISTRY) or raise "
            "TIMEPOINT_LLM_PRICE_MARGIN, then resume the batch"
        )

    def _submit(self, task: Task) -> bool:
        cap = task.cap_usd or 0.0
        try:
            reservation = self.ledger.reserve(cap, 0)
        except BudgetExceeded:
            return False
        key = f"timepoint-{self.ctx.batch_id}-{task.job_id}-{uuid.uuid4().hex[:8]}"
        try:
            future = self.backend.submit(self.fn, task.payload, self.ctx, task.cap_usd, key=key)
        except BaseException:
            self.ledger.release(reservation)
            raise
        self._in_flight[future] = _Flight(task, reservation)
        return True

    def _skip(self, task: Task) -> None:
        cap = task.cap_usd or 0.0
        reason = (
            f"batch budget: spent ${self.ledger.spent_usd:.4f} + reserved "
            f"${self.ledger.reserved_usd:.4f} + this job's cap ${cap:.4f} would pass the cap "
            f"${self.ledger.max_usd or 0:.4f}; raise the budget cap (or lower the per-job cap) "
            "and resume the batch"
        )
        self.tally.skipped += 1
        self.tally.skip_reason = reason
        self._write(task, status="skipped", message=reason)

    def _finish(self, future: Any) -> None:
        flight = self._in_flight.pop(future)
        try:
            result: JobResult = future.result()
        except Exception as error:
            result = JobResult(
                job_id=flight.task.job_id,
                status="failed",
                error_class=type(error).__name__,
                step="worker",
                message=f"the worker running the job failed: {error}"[:1000],
            )
            self.ledger.settle(flight.reservation, flight.reservation.usd, 0)
        else:
            self.ledger.settle(flight.reservation, result.cost_usd, result.tokens)
        self._check_overspent()
        if result.lost:
            self.tally.cost_usd += result.cost_usd
            self.tally.tokens += result.tokens
            self.tally.cancelled += 1
            self._check_lease()
            return
        if not result.recorded:
            self._close(flight.task, **result.row())
        self.tally.add(result)
        if result.stops_batch:
            self.tally.stop_reason = (
                f"credit exhausted (job {result.job_id}): {result.message}; add credit and "
                "resume the batch"
            )
        elif result.status == "failed" and self.fail_fast:
            self.tally.stop_reason = (
                f"fail_fast: job {result.job_id} failed at step {result.step!r} with "
                f"{result.error_class}: {result.message}"
            )

    def _close(self, task: Task, **fields: Any) -> None:
        """Write the result of a job whose worker could not (it died while running it)."""
        owner = self.ctx.lease_owner
        if owner is None:
            self._write(task, **fields)
        else:
            self.store.close_job(
                self.ctx.batch_id, task.job_id, owner, spec=task.describe, **fields
            )

    def _write(self, task: Task, **fields: Any) -> None:
        self.store.upsert_job(self.ctx.batch_id, task.job_id, spec=task.describe, **fields)

    def _show(self) -> None:
        self.progress.update(
            finished=self.tally.finished,
            completed=self.tally.completed,
            failed=self.tally.failed,
            running=len(self._in_flight),
            spent_usd=self.ledger.spent_usd,
        )

    def abandon(self) -> None:
        """Cancel what is still queued (after an interrupt); running jobs keep their rows."""
        for future, flight in list(self._in_flight.items()):
            self.backend.cancel(future)
            self.ledger.release(flight.reservation)
        self._in_flight.clear()
