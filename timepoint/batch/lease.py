"""Leases: one driver per batch, one attempt per job, and no result recorded twice.

- The driver holds the batch's lease and renews it on a thread (:class:`BatchLease`). A resume
  takes it only once the previous driver is gone: its lease ran out, or it ran on this host and
  its process no longer exists. It then waits for the jobs the previous driver's workers still
  hold (:func:`wait_for_workers`), saying what it waits for.
- Each job claims its own lease as it starts (a new row in ``batch_attempts``) and renews it on
  a heartbeat thread that also writes what the attempt has spent so far, calls in flight at
  their worst case; before each model call that worst case is written too, so a worker killed
  mid-call leaves its spend behind (:class:`JobLease`).
  Renewal fails once the driver no longer holds the batch (it died, or a resume took over);
  the job's budget then refuses every further model call
  (:class:`~timepoint.batch.job_budget.LeasedBudget`), so the run stops at its next call, and
  its result is not recorded.
- Recording is one conditional transaction (:meth:`JobLeaseTables.finish_job`): only the attempt
  that still holds the job writes its row. Every attempt's spend stays in ``batch_attempts``,
  and the batch totals add those up.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from timepoint.batch.lifeline import pid_alive
from timepoint.engine.persist import recover_run
from timepoint.errors import BatchError, BudgetExceeded, StoreError, TimepointError
from timepoint.llm.budget import Budget
from timepoint.world.record import RunRecord

#: seconds a lease lasts unless renewed (renewed every quarter of that)
LEASE_S = 30.0
#: most seconds between two writes of a running job's spend
SPEND_FLUSH_S = 1.0
#: seconds between two looks at the leases a resume waits for
POLL_S = 0.5

log = logging.getLogger(__name__)


def this_host() -> str:
    return socket.gethostname()


def new_owner() -> str:
    """A token naming one driver invocation: host, process id and a random part."""
    return f"{this_host()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "now"
    left = max(0.0, (moment - datetime.now(UTC)).total_seconds())
    return f"{moment:%H:%M:%S} UTC (in {left:.0f} s)"


class LeaseLost(BudgetExceeded):
    """The job's lease was lost: its driver stopped or another driver took the batch over."""

    def __init__(self, job_id: str):
        TimepointError.__init__(
            self,
            f"job {job_id}: its lease was lost (the batch's driver stopped, or another took "
            "the batch over); the call was not made and the result will not be recorded",
        )
        self.budget, self.spent, self.reserved, self.limit, self.unit = "lease", 0, 0, 0, "USD"


class BatchLease:
    """The driver's lease on a batch, renewed on a daemon thread until :meth:`close`.

    Args:
        store: the run store (shared with the driver; the store is thread-safe).
        batch_id: the batch.
        lease_s: how long the lease lasts unless renewed.
        say: where waiting messages go (the command line prints them).
    """

    def __init__(
        self,
        store: Any,
        batch_id: str,
        lease_s: float = LEASE_S,
        say: Callable[[str], None] | None = None,
    ):
        self.store = store
        self.batch_id = batch_id
        self.lease_s = lease_s
        self.owner = new_owner()
        self.say = say or (lambda message: None)
        self._lost = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def lost(self) -> bool:
        """True once another driver holds the batch, or renewing failed past the expiry."""
        return self._lost.is_set()

    def acquire(self, poll_s: float = POLL_S) -> BatchLease:
        """Take the batch's lease, waiting for a previous driver's to run out; then renew it.

        Raises:
            BatchError: another live driver runs the batch.
        """
        host, pid = this_host(), os.getpid()
        announced: datetime | None = None
        while True:
            holder = self.store.claim_batch(
                self.batch_id, self.owner, host=host, pid=pid, lease_s=self.lease_s
            )
            if holder is None:
                break
            where = f"pid {holder['lease_pid']} on {holder['lease_host']}"
            if holder["lease_host"] == host:
                if pid_alive(holder["lease_pid"] or 0):
                    raise BatchError(
                        f"batch {self.batch_id!r} is being run by another process ({where}); "
                        "wait for it to finish or stop it, then resume"
                    )
                self.say(f"batch {self.batch_id}: its previous driver ({where}) is gone")
                taken = self.store.claim_batch(
                    self.batch_id,
                    self.owner,
                    host=host,
                    pid=pid,
                    lease_s=self.lease_s,
                    takeover=holder["lease_owner"],
                )
                if taken is None:
                    break
                continue
            expires = holder["lease_expires"]
            if announced is not None and expires > announced:
                raise BatchError(
                    f"batch {self.batch_id!r} is being run by another process ({where}), which "
                    "keeps renewing its lease; wait for it to finish or stop it, then resume"
                )
            if announced is None:
                self.say(
                    f"waiting for batch {self.batch_id}: the driver that ran it ({where}) may "
                    f"still be running; its lease runs out at {_when(expires)}"
                )
            announced = expires
            time.sleep(poll_s)
        self._thread = threading.Thread(
            target=self._renew, name="timepoint-batch-lease", daemon=True
        )
        self._thread.start()
        return self

    def _renew(self) -> None:
        last_ok = time.monotonic()
        while not self._stop.wait(self.lease_s / 4):
            try:
                held = self.store.renew_batch_lease(self.batch_id, self.owner, self.lease_s)
            except StoreError as error:
                log.warning("renewing the lease of batch %s failed: %s", self.batch_id, error)
                if time.monotonic() - last_ok > self.lease_s:
                    self._lost.set()
                continue
            if not held:
                self._lost.set()
                return
            last_ok = time.monotonic()

    def wait_for_workers(self, poll_s: float = POLL_S) -> None:
        """Return once no job of the batch is held by another driver's live worker.

        Those workers can no longer renew (this driver holds the batch), so each lease either
        runs out or is given up when the worker notices; a worker on this host whose process
        is gone is not waited for.
        """
        host = this_host()
        announced = False
        while True:
            now = datetime.now(UTC)
            held = [
                row
                for row in self.store.held_jobs(self.batch_id, self.owner)
                if row["lease_expires"] is not None
                and row["lease_expires"] > now
                and not (row["host"] == host and not pid_alive(row["pid"] or 0))
            ]
            if not held:
                return
            if not announced:
                pids = sorted({f"pid {r['pid']} on {r['host']}" for r in held})
                latest = max(r["lease_expires"] for r in held)
                self.say(
                    f"waiting for {len(held)} job(s) of batch {self.batch_id} still held by the "
                    f"previous driver's workers ({', '.join(pids)}); they stop at their next "
                    f"model call, and their leases run out by {_when(latest)}"
                )
                announced = True
            time.sleep(poll_s)

    def close(self) -> None:
        """Stop renewing and give the lease up."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self.store.release_batch_lease(self.batch_id, self.owner)
        except StoreError as error:
            log.warning("releasing the lease of batch %s failed: %s", self.batch_id, error)


class JobLease:
    """One attempt's lease on a job, claimed as the job starts.

    Args:
        store: the worker's run store.
        batch_id, job_id: the job.
        owner: the token of the driver the job runs for.
        lease_s: how long the lease lasts unless renewed.
    """

    def __init__(self, store: Any, batch_id: str, job_id: str, owner: str, lease_s: float):
        self.store = store
        self.batch_id = batch_id
        self.job_id = job_id
        self.owner = owner
        self.lease_s = lease_s
        self.attempt: int | None = None
        self._lost = threading.Event()

    @property
    def lost(self) -> bool:
        return self._lost.is_set()

    def claim(self, spec: dict[str, Any]) -> str:
        """Start the attempt; returns ``""``, or why the job may not run."""
        attempt, why = self.store.claim_job(
            self.batch_id,
            self.job_id,
            self.owner,
            spec=spec,
            lease_s=self.lease_s,
            host=this_host(),
            pid=os.getpid(),
        )
        self.attempt = attempt
        return why

    @contextmanager
    def heartbeat(self, budget: Budget) -> Iterator[None]:
        """Renew the lease and write ``budget``'s spend while the block runs."""
        stop = threading.Event()
        thread = threading.Thread(
            target=self._beat, args=(budget, stop), name="timepoint-job-lease", daemon=True
        )
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=30)

    def _beat(self, budget: Budget, stop: threading.Event) -> None:
        assert self.attempt is not None
        written: tuple[float, int] = (0.0, 0)
        renewed = last_ok = time.monotonic()
        interval = min(SPEND_FLUSH_S, self.lease_s / 4)
        while not stop.wait(interval):
            # calls in flight count at their worst case until they settle, so an attempt
            # killed mid-call is not counted below what it may have cost
            spent = (
                budget.spent_usd + budget.reserved_usd,
                budget.spent_tokens + budget.reserved_tokens,
            )
            now = time.monotonic()
            if spent == written and now - renewed < self.lease_s / 4:
                continue
            try:
                held = self.store.renew_job_lease(
                    self.batch_id,
                    self.job_id,
                    self.owner,
                    self.attempt,
                    lease_s=self.lease_s,
                    cost_usd=spent[0],
                    tokens=spent[1],
                )
            except StoreError as error:
                log.warning("renewing the lease of job %s failed: %s", self.job_id, error)
                if now - last_ok > self.lease_s:
                    self._lost.set()
                continue
            written, renewed = spent, now
            if held:
                last_ok = now
            else:
                self._lost.set()

    def before_call(self, usd: float, tokens: int) -> None:
        """Write the spend including a call about to be made (at its worst case) and renew.

        Written before the call, so a worker killed while the call is in flight has it in the
        batch totals. Raises LeaseLost when the lease turns out to be lost.
        """
        assert self.attempt is not None
        try:
            held = self.store.renew_job_lease(
                self.batch_id,
                self.job_id,
                self.owner,
                self.attempt,
                lease_s=self.lease_s,
                cost_usd=usd,
                tokens=tokens,
            )
        except StoreError as error:
            log.warning("writing the spend of job %s failed: %s", self.job_id, error)
            return
        if not held:
            self._lost.set()
            raise LeaseLost(self.job_id)

    def name_run(self, run_id: str) -> None:
        """Write the id of the run this attempt is about to simulate."""
        if self.attempt is None:
            raise BatchError(f"job {self.job_id}: name_run() before claim()")
        self.store.name_attempt_run(self.batch_id, self.job_id, self.attempt, run_id)

    def orphaned_run(self, home: Path) -> RunRecord | None:
        """A completed run an earlier attempt of this job stored but never recorded (it was
        killed in between), or ``None``.

        The attempt's status does not decide: a driver that saw the worker die closes its
        attempts as ``failed`` although the run may have been stored complete just before. A
        run killed between writing its folder and its final store row (still ``running``) is
        first finished from its folder under ``home``.
        """
        earlier = [
            row
            for row in self.store.attempts(self.batch_id)
            if row["job_id"] == self.job_id and row["attempt"] != self.attempt and row["run_id"]
        ]
        for row in reversed(earlier):
            try:
                record: RunRecord = self.store.load_run(row["run_id"])
                if record.status == "running":  # another job may be recovering it: wait
                    recover_run(home, self.store, record.run_id, wait=True)
                    record = self.store.load_run(record.run_id)
            except StoreError:
                continue
            if record.status == "completed":
                return record
        return None

    def finish(self, **fields: Any) -> bool:
        """Record the result (the ``batch_jobs`` fields) if the lease still holds."""
        assert self.attempt is not None
        recorded = bool(
            self.store.finish_job(self.batch_id, self.job_id, self.owner, self.attempt, **fields)
        )
        if not recorded:
            self._lost.set()
        return recorded
