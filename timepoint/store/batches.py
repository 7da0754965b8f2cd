"""Batches and their jobs: small keyed rows written as work progresses.

Job rows are upserted as jobs start, finish or fail, so a crashed batch can resume by skipping
:meth:`BatchTables.completed_job_ids`. Job statuses: ``pending``, ``running``, ``completed``,
``failed``, ``skipped``, ``cancelled``, ``abandoned``.

The driver running a batch holds the batch's lease (``batches.lease_*``), so two processes never
drive one batch at once; every lease change is one transaction that first locks the batch row
(``with_for_update()``: ``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite, where it is a no-op,
the ``BEGIN IMMEDIATE`` of every write transaction already serializes writers). The leases of
single jobs and their attempts are in :mod:`timepoint.store.job_leases`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, select, update

from timepoint.errors import StoreError
from timepoint.store.base import Row, StoreBase, StoreConnection
from timepoint.store.batch_tables import BATCH_ATTEMPTS, BATCH_JOBS, BATCHES

_batches = BATCHES.sql
_jobs = BATCH_JOBS.sql
_attempts = BATCH_ATTEMPTS.sql

COMPLETED = "completed"
RUNNING = "running"


def lease_until(seconds: float) -> datetime:
    """When a lease taken now for ``seconds`` expires."""
    return datetime.now(UTC) + timedelta(seconds=seconds)


def live(expires: datetime | None, now: datetime) -> bool:
    """Whether a lease expiring at ``expires`` still holds at ``now``."""
    return expires is not None and expires > now


class BatchTables(StoreBase):
    """Rows of ``batches`` and ``batch_jobs``, and the driver lease of a batch."""

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

    # -- the driver lease -------------------------------------------------------------------

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
            holder, expires = held["lease_owner"], held["lease_expires"]
            if holder not in (None, owner, takeover) and live(expires, datetime.now(UTC)):
                return held
            db.execute(
                update(_batches)
                .where(_batches.c.batch_id == batch_id)
                .values(
                    lease_owner=owner,
                    lease_host=host,
                    lease_pid=pid,
                    lease_expires=lease_until(lease_s),
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
                .values(lease_expires=lease_until(lease_s))
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
