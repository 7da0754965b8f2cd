"""Batch bookkeeping, questions and forecasts: small keyed rows written as work progresses.

Job rows are upserted as jobs start, finish or fail, so a crashed batch can resume by skipping
:meth:`BatchTables.completed_job_ids`. Job statuses: ``pending``, ``running``, ``completed``,
``failed``, ``skipped``, ``cancelled``, ``abandoned``.

Leases keep two processes from working on one batch or one job at once. The driver running a
batch holds the batch's lease (``batches.lease_*``); each running job holds its own
(``batch_jobs.lease_owner``, ``attempt``, ``lease_expires``) and one ``batch_attempts`` row, in
which it writes what it has spent so far. Every lease change is one transaction that first
locks the batch row (``with_for_update()``: ``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite,
where it is a no-op, the ``BEGIN IMMEDIATE`` of every write transaction already serializes
writers), so a job's result is written only by the attempt that still holds
the job, and at most once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, update

from timepoint.errors import StoreError
from timepoint.store.base import Row, StoreBase, StoreConnection
from timepoint.store.schema import BATCH_ATTEMPTS, BATCH_JOBS, BATCHES, FORECASTS, QUESTIONS

_batches = BATCHES.sql
_jobs = BATCH_JOBS.sql
_attempts = BATCH_ATTEMPTS.sql

COMPLETED = "completed"
RUNNING = "running"


def _now() -> datetime:
    return datetime.now(UTC)


def _later(seconds: float) -> datetime:
    return _now() + timedelta(seconds=seconds)


def _live(expires: datetime | None, now: datetime) -> bool:
    return expires is not None and expires > now


def _not_held_by(owner: str) -> Any:
    """Jobs whose lease is held by nobody or by another driver than ``owner``."""
    return or_(_jobs.c.lease_owner.is_(None), _jobs.c.lease_owner != owner)


class BatchTables(StoreBase):
    """Rows of ``batches``, ``batch_jobs``, ``questions`` and ``forecasts``."""

    def create_batch(self, batch_id: str, spec: dict[str, Any], *, status: str = "running") -> None:
        """Record a batch. Creating an existing batch again (a resume) updates its spec and
        status and keeps its jobs and creation time."""
        now = datetime.now(UTC)
        with self._guard(f"creating batch {batch_id!r}") as db, db.write():
            row = {"batch_id": batch_id, "spec_json": spec, "status": status}
            db.upsert(BATCHES, {**row, "created": now, "updated": now}, keep=("created",))

    def update_batch(self, batch_id: str, *, status: str) -> None:
        """Set the status of an existing batch (``completed``, ``failed``, ``cancelled``...)."""
        self.batch(batch_id)
        with self._guard(f"updating batch {batch_id!r}") as db, db.write():
            db.upsert(
                BATCHES, {"batch_id": batch_id, "status": status, "updated": datetime.now(UTC)}
            )

    def batch(self, batch_id: str) -> Row:
        """The batch row (``spec_json`` decoded), or StoreError naming the known batches."""
        rows = self._rows(
            select(_batches).where(_batches.c.batch_id == batch_id),
            doing=f"reading batch {batch_id!r}",
        )
        if not rows:
            known = [r["batch_id"] for r in self.batches()][:10]
            listed = f"; known batches: {', '.join(known)}" if known else "; no batches yet"
            raise StoreError(f"no batch {batch_id!r}{listed}; create it with create_batch()")
        return rows[0]

    def batches(self) -> list[Row]:
        """Every batch, newest first."""
        return self._rows(
            select(_batches).order_by(_batches.c.created.desc()), doing="listing batches"
        )

    def upsert_job(self, batch_id: str, job_id: str, **fields: Any) -> None:
        """Insert or update one job of a batch; only the given fields change.

        Fields are the ``batch_jobs`` columns (``spec`` or ``spec_json``, ``status``,
        ``run_id``, ``cost_usd``, ``tokens``, ``duration_s``, ``error_class``, ``step``,
        ``message``, ``retries``); ``updated`` is set to now.

        Raises:
            StoreError: an unknown field, or a batch that was never created.
        """
        values = self._fields(BATCH_JOBS, fields, fixed=("batch_id", "job_id", "updated"))
        with self._guard(f"writing job {job_id!r} of batch {batch_id!r}") as db, db.write():
            found = db.execute(select(_batches.c.batch_id).where(_batches.c.batch_id == batch_id))
            if found.first() is None:
                raise StoreError(
                    f"no batch {batch_id!r} for job {job_id!r}; call create_batch() first"
                )
            row = {"batch_id": batch_id, "job_id": job_id, **values}
            db.upsert(BATCH_JOBS, {**row, "updated": datetime.now(UTC)})

    def jobs(self, batch_id: str) -> list[Row]:
        """Every job of a batch as a dict (``spec_json`` decoded), ordered by job id."""
        return self._rows(
            select(_jobs).where(_jobs.c.batch_id == batch_id).order_by(_jobs.c.job_id),
            doing=f"reading jobs of batch {batch_id!r}",
        )

    def jobs_of_runs(self, run_ids: Sequence[str]) -> list[Row]:
        """The jobs (of any batch) that made the runs ``run_ids``, oldest change first, so a
        run made again by a later job is described by the later one."""
        ids = list(dict.fromkeys(run_ids))
        rows: list[Row] = []
        for start in range(0, len(ids), 500):
            rows += self._rows(
                select(_jobs).where(_jobs.c.run_id.in_(ids[start : start + 500])),
                doing="reading the jobs of runs",
            )
        return sorted(rows, key=lambda r: r["updated"])

    def completed_job_ids(self, batch_id: str) -> set[str]:
        """Ids of the jobs of a batch whose status is ``completed`` (skipped on resume)."""
        rows = self._rows(
            select(_jobs.c.job_id).where(_jobs.c.batch_id == batch_id, _jobs.c.status == COMPLETED),
            doing=f"reading jobs of batch {batch_id!r}",
        )
        return {r["job_id"] for r in rows}

    # -- leases -----------------------------------------------------------------------------

    def _lock_batch(self, db: StoreConnection, batch_id: str) -> Row:
        """The batch row's lease fields, locked until the transaction ends."""
        rows = db.rows(
            select(
                _batches.c.lease_owner,
                _batches.c.lease_host,
                _batches.c.lease_pid,
                _batches.c.lease_expires,
            )
            .where(_batches.c.batch_id == batch_id)
            .with_for_update()
        )
        if not rows:
            raise StoreError(f"no batch {batch_id!r}; call create_batch() first")
        return rows[0]

    def _job_lease(self, db: StoreConnection, batch_id: str, job_id: str) -> Row | None:
        rows = db.rows(
            select(
                _jobs.c.status, _jobs.c.attempt, _jobs.c.lease_owner, _jobs.c.lease_expires
            ).where(_jobs.c.batch_id == batch_id, _jobs.c.job_id == job_id)
        )
        return rows[0] if rows else None

    def claim_batch(
        self,
        batch_id: str,
        owner: str,
        *,
        host: str,
        pid: int,
        lease_s: float,
        takeover: str | None = None,
    ) -> Row | None:
        """Take the driver lease of a batch for ``owner``.

        The lease is taken when it is free, expired, already ``owner``'s, or held by
        ``takeover`` (a driver the caller knows is gone).

        Returns:
            ``None`` when ``owner`` holds the lease now, else the holder's lease fields
            (``lease_owner``, ``lease_host``, ``lease_pid``, ``lease_expires``).
        """
        with self._guard(f"taking the lease of batch {batch_id!r}") as db, db.write():
            held = self._lock_batch(db, batch_id)
            holder = held["lease_owner"]
            if holder not in (None, owner, takeover) and _live(held["lease_expires"], _now()):
                return held
            db.execute(
                update(_batches)
                .where(_batches.c.batch_id == batch_id)
                .values(
                    lease_owner=owner, lease_host=host, lease_pid=pid, lease_expires=_later(lease_s)
                )
            )
        return None

    def renew_batch_lease(self, batch_id: str, owner: str, lease_s: float) -> bool:
        """Extend ``owner``'s driver lease; False when another driver holds the batch now."""
        with self._guard(f"renewing the lease of batch {batch_id!r}") as db, db.write():
            if self._lock_batch(db, batch_id)["lease_owner"] != owner:
                return False
            db.execute(
                update(_batches)
                .where(_batches.c.batch_id == batch_id)
                .values(lease_expires=_later(lease_s))
            )
        return True

    def release_batch_lease(self, batch_id: str, owner: str) -> None:
        """Give up ``owner``'s driver lease (nothing happens if another driver holds it)."""
        with self._guard(f"releasing the lease of batch {batch_id!r}") as db, db.write():
            if self._lock_batch(db, batch_id)["lease_owner"] == owner:
                db.execute(
                    update(_batches)
                    .where(_batches.c.batch_id == batch_id)
                    .values(lease_owner=None, lease_host=None, lease_pid=None, lease_expires=None)
                )

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
            if batch["lease_owner"] != owner or not _live(batch["lease_expires"], now):
                return None, "the batch is no longer held by the driver that started this job"
            job = self._job_lease(db, batch_id, job_id)
            if job is not None and job["status"] == COMPLETED:
                return None, "the job is already completed"
            if (
                job is not None
                and job["status"] == RUNNING
                and job["lease_owner"] not in (None, owner)
                and _live(job["lease_expires"], now)
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
        if batch["lease_owner"] != owner or not _live(batch["lease_expires"], now):
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
                .values(lease_expires=_later(lease_s))
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

    def attempts(self, batch_id: str) -> list[Row]:
        """Every attempt of every job of a batch, by job and attempt number."""
        return self._rows(
            select(_attempts)
            .where(_attempts.c.batch_id == batch_id)
            .order_by(_attempts.c.job_id, _attempts.c.attempt),
            doing=f"reading attempts of batch {batch_id!r}",
        )

    def batch_spend(self, batch_id: str) -> tuple[float, int]:
        """USD and tokens spent by a batch: every attempt that ran (killed and lost ones with
        what they had written), plus the job rows of batches older than attempts."""
        j, a = _jobs, _attempts
        attempted = exists().where(a.c.batch_id == j.c.batch_id, a.c.job_id == j.c.job_id)
        with self._guard(f"adding up the spend of batch {batch_id!r}") as db:
            spent: Sequence[Any] = db.execute(
                select(
                    func.coalesce(func.sum(a.c.cost_usd), 0.0),
                    func.coalesce(func.sum(a.c.tokens), 0),
                ).where(a.c.batch_id == batch_id)
            ).one()
            legacy: Sequence[Any] = db.execute(
                select(
                    func.coalesce(func.sum(j.c.cost_usd), 0.0),
                    func.coalesce(func.sum(j.c.tokens), 0),
                ).where(j.c.batch_id == batch_id, ~attempted)
            ).one()
        return float(spent[0]) + float(legacy[0]), int(spent[1]) + int(legacy[1])

    def save_question(self, question_id: str, **fields: Any) -> None:
        """Insert or update a question; fields are ``questions`` columns (``extractor`` may
        stand for ``extractor_json``)."""
        values = self._fields(QUESTIONS, fields, fixed=("question_id", "updated"))
        with self._guard(f"saving question {question_id!r}") as db, db.write():
            db.upsert(
                QUESTIONS, {"question_id": question_id, **values, "updated": datetime.now(UTC)}
            )

    def questions(self, question_set: str | None = None) -> list[Row]:
        """Every question, or those of one question set, ordered by id."""
        table = QUESTIONS.sql
        statement = select(table).order_by(table.c.question_id)
        if question_set:
            statement = statement.where(table.c.question_set == question_set)
        return self._rows(statement, doing="reading questions")

    def save_forecast(self, forecast_id: str, **fields: Any) -> None:
        """Insert or update a forecast; fields are ``forecasts`` columns (``run_ids`` may stand
        for ``run_ids_json``)."""
        values = self._fields(FORECASTS, fields, fixed=("forecast_id", "updated"))
        with self._guard(f"saving forecast {forecast_id!r}") as db, db.write():
            db.upsert(
                FORECASTS, {"forecast_id": forecast_id, **values, "updated": datetime.now(UTC)}
            )

    def forecasts(self, question_id: str | None = None) -> list[Row]:
        """Every forecast, or those of one question, oldest first."""
        table = FORECASTS.sql
        statement = select(table).order_by(table.c.made, table.c.forecast_id)
        if question_id:
            statement = statement.where(table.c.question_id == question_id)
        return self._rows(statement, doing="reading forecasts")
