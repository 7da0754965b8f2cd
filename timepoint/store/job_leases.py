"""The leases of batch jobs and the attempts that hold them.

Each running job holds its own lease (``batch_jobs.lease_owner``, ``attempt``,
``lease_expires``) and one ``batch_attempts`` row, in which it writes what it has spent so far.
Every lease change is one transaction that first locks the batch row (see
:mod:`timepoint.store.batches`), so a job's result is written only by the attempt that still
holds the job, and at most once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update

from timepoint.errors import StoreError
from timepoint.store.base import Row, StoreConnection
from timepoint.store.batch_tables import BATCH_ATTEMPTS, BATCH_JOBS
from timepoint.store.batches import COMPLETED, RUNNING, BatchTables, lease_until, live

_jobs = BATCH_JOBS.sql
_attempts = BATCH_ATTEMPTS.sql


def _now() -> datetime:
    return datetime.now(UTC)


def _not_held_by(owner: str) -> Any:
    """Jobs whose lease is held by nobody or by another driver than ``owner``."""
    return or_(_jobs.c.lease_owner.is_(None), _jobs.c.lease_owner != owner)


class JobLeaseTables(BatchTables):
    """Job leases and ``batch_attempts`` rows, on top of the batch rows and driver lease."""

    def _job_lease(self, db: StoreConnection, batch_id: str, job_id: str) -> Row | None:
        rows = db.rows(
            select(
                _jobs.c.status, _jobs.c.attempt, _jobs.c.lease_owner, _jobs.c.lease_expires
            ).where(_jobs.c.batch_id == batch_id, _jobs.c.job_id == job_id)
        )
        return rows[0] if rows else None

    def claim_job(
        self,
        batch_id: str,
        job_id: str,
        owner: str,
        *,
        spec: dict[str, Any],
        lease_s: float,
        host: str,
        pid: int,
    ) -> tuple[int | None, str]:
        """Start a new attempt of a job for the driver ``owner``, in one transaction.

        Refused when ``owner`` does not hold a live batch lease, when the job is completed, or
        when another attempt holds a live lease on it.

        Returns:
            ``(attempt, "")`` with the new attempt's number, or ``(None, why)``.
        """
        with self._guard(f"claiming job {job_id!r} of batch {batch_id!r}") as db, db.write():
            now = _now()
            batch = self._lock_batch(db, batch_id)
            if batch["lease_owner"] != owner or not live(batch["lease_expires"], now):
                return None, "the batch is no longer held by the driver that started this job"
            job = self._job_lease(db, batch_id, job_id)
            if job is not None and job["status"] == COMPLETED:
                return None, "the job is already completed"
            if (
                job is not None
                and job["status"] == RUNNING
                and job["lease_owner"] not in (None, owner)
                and live(job["lease_expires"], now)
            ):
                return None, "another attempt holds the job"
            last = db.execute(
                select(func.max(_attempts.c.attempt)).where(
                    _attempts.c.batch_id == batch_id, _attempts.c.job_id == job_id
                )
            ).scalar()
            attempt = max(int(last or 0), int((job or {}).get("attempt") or 0)) + 1
            expires = now + timedelta(seconds=lease_s)
            db.upsert(
                BATCH_JOBS,
                {
                    "batch_id": batch_id,
                    "job_id": job_id,
                    "spec_json": spec,
                    "status": RUNNING,
                    "run_id": None,
                    "cost_usd": 0.0,
                    "tokens": 0,
                    "error_class": None,
                    "step": None,
                    "message": None,
                    "retries": 0,
                    "attempt": attempt,
                    "lease_owner": owner,
                    "lease_expires": expires,
                    "updated": now,
                },
            )
            db.upsert(
                BATCH_ATTEMPTS,
                {
                    "batch_id": batch_id,
                    "job_id": job_id,
                    "attempt": attempt,
                    "lease_owner": owner,
                    "host": host,
                    "pid": pid,
                    "status": RUNNING,
                    "cost_usd": 0.0,
                    "tokens": 0,
                    "started": now,
                    "updated": now,
                },
            )
        return attempt, ""

    def _spent(
        self,
        db: StoreConnection,
        batch_id: str,
        job_id: str,
        attempt: int,
        cost_usd: float,
        tokens: int,
    ) -> None:
        self._update_attempt(db, batch_id, job_id, attempt, cost_usd=cost_usd, tokens=tokens)

    @staticmethod
    def _update_attempt(
        db: StoreConnection, batch_id: str, job_id: str, attempt: int, **values: Any
    ) -> None:
        """Set ``values`` (and ``updated``) on one attempt's row."""
        db.execute(
            update(_attempts)
            .where(
                _attempts.c.batch_id == batch_id,
                _attempts.c.job_id == job_id,
                _attempts.c.attempt == attempt,
            )
            .values(**values, updated=_now())
        )

    def _holds(
        self, db: StoreConnection, batch_id: str, job_id: str, owner: str, attempt: int
    ) -> bool:
        """Whether attempt ``attempt`` of ``owner`` still holds the job and its driver the
        batch (call in a transaction)."""
        now = _now()
        batch = self._lock_batch(db, batch_id)
        if batch["lease_owner"] != owner or not live(batch["lease_expires"], now):
            return False
        job = self._job_lease(db, batch_id, job_id)
        return (
            job is not None
            and job["status"] == RUNNING
            and job["lease_owner"] == owner
            and job["attempt"] == attempt
        )

    def renew_job_lease(
        self,
        batch_id: str,
        job_id: str,
        owner: str,
        attempt: int,
        *,
        lease_s: float,
        cost_usd: float,
        tokens: int,
    ) -> bool:
        """Write what the attempt has spent so far and extend its lease.

        Returns:
            False when the lease is lost: the job or the batch is held by someone else now, or
            the driver's lease ran out. The spend is written either way.
        """
        with self._guard(f"renewing job {job_id!r} of batch {batch_id!r}") as db, db.write():
            self._spent(db, batch_id, job_id, attempt, cost_usd, tokens)
            if not self._holds(db, batch_id, job_id, owner, attempt):
                return False
            db.execute(
                update(_jobs)
                .where(_jobs.c.batch_id == batch_id, _jobs.c.job_id == job_id)
                .values(lease_expires=lease_until(lease_s))
            )
        return True

    def name_attempt_run(self, batch_id: str, job_id: str, attempt: int, run_id: str) -> None:
        """Write the id of the run an attempt is about to simulate, before it starts, so a resume
        can adopt that run if the attempt is killed after storing it but before recording."""
        doing = f"naming the run of job {job_id!r} of batch {batch_id!r}"
        with self._guard(doing) as db, db.write():
            self._update_attempt(db, batch_id, job_id, attempt, run_id=run_id)

    def finish_job(
        self, batch_id: str, job_id: str, owner: str, attempt: int, **fields: Any
    ) -> bool:
        """Record the result of an attempt if it still holds its lease, in one transaction.

        The attempt's row always gets its status and spend. The job's row gets ``fields`` (the
        ``batch_jobs`` columns of the result) only while the attempt holds the job and its
        driver holds the batch; otherwise the attempt is marked ``lost`` and, if the job is
        still marked as held by it, the job ``abandoned`` so that a waiting resume can go on.

        Returns:
            True when the result was recorded.
        """
        values = self._fields(BATCH_JOBS, fields, fixed=("batch_id", "job_id", "updated"))
        with self._guard(f"recording job {job_id!r} of batch {batch_id!r}") as db, db.write():
            now = _now()
            held = self._holds(db, batch_id, job_id, owner, attempt)
            state = db.execute(
                select(_attempts.c.status).where(
                    _attempts.c.batch_id == batch_id,
                    _attempts.c.job_id == job_id,
                    _attempts.c.attempt == attempt,
                )
            ).first()
            if state is not None and state[0] not in (RUNNING, "abandoned"):
                return False  # this attempt was recorded already
            db.upsert(
                BATCH_ATTEMPTS,
                {
                    "batch_id": batch_id,
                    "job_id": job_id,
                    "attempt": attempt,
                    "status": values.get("status") if held else "lost",
                    "run_id": values.get("run_id"),
                    "cost_usd": values.get("cost_usd") or 0.0,
                    "tokens": values.get("tokens") or 0,
                    "updated": now,
                },
            )
            if held:
                row = {**values, "lease_expires": None, "updated": now}
            else:
                job = self._job_lease(db, batch_id, job_id)
                if not (
                    job is not None
                    and job["status"] == RUNNING
                    and job["lease_owner"] == owner
                    and job["attempt"] == attempt
                ):
                    return False
                row = {
                    "status": "abandoned",
                    "message": "its lease was lost (the batch's driver stopped or another "
                    "took over); it runs again on resume",
                    "lease_expires": None,
                    "updated": now,
                }
            db.upsert(BATCH_JOBS, {"batch_id": batch_id, "job_id": job_id, **row})
        return held

    def close_job(self, batch_id: str, job_id: str, owner: str, **fields: Any) -> bool:
        """Write a result for a job of ``owner`` whose worker could not (it died, say).

        Written unless the job is completed or held by another driver; the attempts ``owner``
        left running on it are closed as ``failed``. Returns whether the row was written.
        """
        values = self._fields(BATCH_JOBS, fields, fixed=("batch_id", "job_id", "updated"))
        with self._guard(f"writing job {job_id!r} of batch {batch_id!r}") as db, db.write():
            self._lock_batch(db, batch_id)
            job = self._job_lease(db, batch_id, job_id)
            if job is not None and (
                job["status"] == COMPLETED or job["lease_owner"] not in (None, owner)
            ):
                return False
            now = _now()
            db.execute(
                update(_attempts)
                .where(
                    _attempts.c.batch_id == batch_id,
                    _attempts.c.job_id == job_id,
                    _attempts.c.lease_owner == owner,
                    _attempts.c.status == RUNNING,
                )
                .values(status="failed", updated=now)
            )
            row = {"batch_id": batch_id, "job_id": job_id, **values, "lease_expires": None}
            db.upsert(BATCH_JOBS, {**row, "updated": now})
        return True

    def held_jobs(self, batch_id: str, owner: str) -> list[Row]:
        """Running jobs of a batch held by another driver than ``owner``, each with its lease
        (``attempt``, ``lease_owner``, ``lease_expires``) and its worker (``host``, ``pid``)."""
        j, a = _jobs, _attempts
        return self._rows(
            select(j.c.job_id, j.c.attempt, j.c.lease_owner, j.c.lease_expires, a.c.host, a.c.pid)
            .select_from(
                j.outerjoin(
                    a,
                    and_(
                        a.c.batch_id == j.c.batch_id,
                        a.c.job_id == j.c.job_id,
                        a.c.attempt == j.c.attempt,
                    ),
                )
            )
            .where(j.c.batch_id == batch_id, j.c.status == RUNNING, _not_held_by(owner))
            .order_by(j.c.job_id),
            doing=f"reading the leases of batch {batch_id!r}",
        )

    def abandon_jobs(self, batch_id: str, owner: str, message: str) -> list[Row]:
        """Mark ``abandoned`` every running job not held by ``owner`` (who must hold the batch)
        with the attempts they had running; returns the job rows as they were."""
        with self._guard(f"abandoning jobs of batch {batch_id!r}") as db, db.write():
            if self._lock_batch(db, batch_id)["lease_owner"] != owner:
                raise StoreError(f"batch {batch_id!r} is not held by {owner!r}")
            found = db.rows(
                select(_jobs).where(
                    _jobs.c.batch_id == batch_id, _jobs.c.status == RUNNING, _not_held_by(owner)
                )
            )
            now = _now()
            for job in found:
                db.execute(
                    update(_attempts)
                    .where(
                        _attempts.c.batch_id == batch_id,
                        _attempts.c.job_id == job["job_id"],
                        _attempts.c.status == RUNNING,
                    )
                    .values(status="abandoned", updated=now)
                )
                db.execute(
                    update(_jobs)
                    .where(_jobs.c.batch_id == batch_id, _jobs.c.job_id == job["job_id"])
                    .values(status="abandoned", message=message, lease_expires=None, updated=now)
                )
        return found
