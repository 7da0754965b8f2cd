"""Rows of the service tables: API keys, queued work, run ownership, webhooks and deliveries.

The REST API and the MCP server write work here and a service worker (another process) claims
it; everything a restarted server or worker needs is in these rows. A worker holds a work item
under a lease it renews; a lease that runs out lets another worker take the item over.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import func, insert, or_, select, update

from timepoint.errors import StoreError
from timepoint.store.base import Row, StoreBase
from timepoint.store.run_tables import RUNS
from timepoint.store.service_tables import (
    API_KEYS,
    RATE_BUCKETS,
    SERVICE_RUNS,
    SERVICE_WORK,
    WEBHOOK_DELIVERIES,
    WEBHOOKS,
)

_keys = API_KEYS.sql
_work = SERVICE_WORK.sql
_owned = SERVICE_RUNS.sql
_hooks = WEBHOOKS.sql
_deliveries = WEBHOOK_DELIVERIES.sql
_buckets = RATE_BUCKETS.sql

#: A rate bucket: the requests a key may still make at once, and when it was last refilled
#: (seconds since the epoch).
Bucket = tuple[float, float]
T = TypeVar("T")

#: Work statuses that will not change again.
FINAL = ("completed", "failed", "cancelled")


def _now() -> datetime:
    return datetime.now(UTC)


def month_start(now: datetime) -> datetime:
    """The first moment of ``now``'s calendar month (UTC)."""
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


class ServiceTables(StoreBase):
    """Rows of ``api_keys``, ``rate_buckets``, ``service_work``, ``service_runs``,
    ``webhooks`` and ``webhook_deliveries``."""

    # -- keys -------------------------------------------------------------------------------

    def add_api_key(self, key_id: str, name: str, secret_hash: str, **limits: Any) -> None:
        """Store a new key: its id, name and the hash of its secret (never the secret)."""
        values = self._fields(API_KEYS, limits, fixed=("key_id", "name", "secret_hash"))
        row = {"key_id": key_id, "name": name, "secret_hash": secret_hash, "created": _now()}
        with self._guard(f"adding API key {name!r}") as db, db.write():
            db.execute(insert(_keys).values(**row, **values))

    def api_key(self, key_id: str) -> Row | None:
        """The row of key ``key_id``, or None."""
        rows = self._rows(select(_keys).where(_keys.c.key_id == key_id), doing="reading a key")
        return rows[0] if rows else None

    def api_keys(self) -> list[Row]:
        """Every key, oldest first (hashes included; never print them)."""
        return self._rows(select(_keys).order_by(_keys.c.created), doing="listing API keys")

    def revoke_api_key(self, key: str) -> Row:
        """Revoke the key whose id or name is ``key``; returns its row.

        Raises:
            StoreError: no such key, or a name shared by several keys.
        """
        rows = [r for r in self.api_keys() if key in (r["key_id"], r["name"])]
        if len(rows) != 1:
            known = ", ".join(f"{r['name']} ({r['key_id']})" for r in self.api_keys()) or "none"
            what = "no API key" if not rows else "several API keys"
            raise StoreError(f"{what} with id or name {key!r}; keys: {known}")
        with self._guard("revoking an API key") as db, db.write():
            db.execute(
                update(_keys).where(_keys.c.key_id == rows[0]["key_id"]).values(revoked=_now())
            )
        return rows[0]

    def update_rate_bucket(
        self, key_id: str, step: Callable[[Bucket | None], tuple[Bucket, T]]
    ) -> T:
        """Replace the rate bucket of ``key_id`` by what ``step`` makes of it (``None`` when the
        key has none yet), in one transaction that holds the row, so servers sharing the store
        take turns; returns the second item ``step`` returned."""
        with self._guard(f"updating the rate limit of key {key_id!r}") as db, db.write():
            rows = db.rows(
                select(_buckets.c.tokens, _buckets.c.updated)
                .where(_buckets.c.key_id == key_id)
                .with_for_update()
            )
            old = (float(rows[0]["tokens"]), float(rows[0]["updated"])) if rows else None
            (tokens, updated), result = step(old)
            db.upsert(RATE_BUCKETS, {"key_id": key_id, "tokens": tokens, "updated": updated})
        return result

    # -- work -------------------------------------------------------------------------------

    def add_work(
        self, work_id: str, key_id: str, kind: str, request: dict[str, Any], **fields: Any
    ) -> None:
        """Queue a piece of work."""
        values = self._fields(SERVICE_WORK, fields, fixed=("work_id", "key_id", "kind"))
        now = _now()
        row = {
            "work_id": work_id,
            "key_id": key_id,
            "kind": kind,
            "request_json": request,
            "status": "queued",
            "cancel": False,
            "cost_usd": 0.0,
            "created": now,
            "updated": now,
            **values,
        }
        with self._guard(f"queueing work {work_id!r}") as db, db.write():
            db.execute(insert(_work).values(**row))

    def work(self, work_id: str) -> Row | None:
        """The work row ``work_id``, or None."""
        rows = self._rows(select(_work).where(_work.c.work_id == work_id), doing="reading work")
        return rows[0] if rows else None

    def claim_work(
        self, worker: str, lease_s: float, kinds: Sequence[str] | None = None
    ) -> Row | None:
        """Take the oldest queued work, or running work whose worker's lease ran out, for
        ``worker``; None when there is none."""
        now = _now()
        free = or_(
            _work.c.status == "queued",
            (_work.c.status == "running") & (_work.c.lease_expires < now),
        )
        condition = free if kinds is None else free & _work.c.kind.in_(list(kinds))
        with self._guard("claiming work") as db, db.write():
            # FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite's BEGIN IMMEDIATE already serializes
            oldest = select(_work).where(condition).order_by(_work.c.created).limit(1)
            rows = db.rows(oldest.with_for_update(skip_locked=True))
            if not rows:
                return None
            row = rows[0]
            changes = {
                "status": "running",
                "worker": worker,
                "lease_expires": now + timedelta(seconds=lease_s),
                "updated": now,
            }
            db.execute(update(_work).where(_work.c.work_id == row["work_id"]).values(**changes))
        return {**row, **changes, "resumed": row["status"] == "running"}

    def renew_work(self, work_id: str, worker: str, lease_s: float) -> bool:
        """Extend ``worker``'s hold on ``work_id``; False when it no longer holds it."""
        expires = _now() + timedelta(seconds=lease_s)
        with self._guard("renewing work") as db, db.write():
            result = db.execute(
                update(_work)
                .where(_work.c.work_id == work_id, _work.c.worker == worker)
                .where(_work.c.status == "running")
                .values(lease_expires=expires)
            )
            return bool(result.rowcount)

    def update_work(self, work_id: str, **fields: Any) -> None:
        """Change fields of a work row (``status``, ``run_id``, ``result``, ``error``...)."""
        values = self._fields(SERVICE_WORK, fields, fixed=("work_id", "key_id", "kind"))
        with self._guard(f"updating work {work_id!r}") as db, db.write():
            db.execute(
                update(_work).where(_work.c.work_id == work_id).values(**values, updated=_now())
            )

    def request_cancel(self, work_id: str) -> Row:
        """Ask for work to stop: queued work is cancelled at once, running work by its worker."""
        with self._guard(f"cancelling work {work_id!r}") as db, db.write():
            rows = db.rows(select(_work).where(_work.c.work_id == work_id))
            if not rows:
                raise StoreError(f"no work {work_id!r}")
            changes: dict[str, Any] = {"cancel": True, "updated": _now()}
            if rows[0]["status"] == "queued":
                changes["status"] = "cancelled"
            db.execute(update(_work).where(_work.c.work_id == work_id).values(**changes))
        return {**rows[0], **changes}

    def month_usage(self, key_id: str, now: datetime | None = None) -> tuple[int, float]:
        """Simulations asked for (cancelled ones too) and USD spent by ``key_id`` this
        calendar month (UTC)."""
        since = month_start(now or _now())
        statement = select(
            func.coalesce(func.sum(_work.c.jobs), 0), func.coalesce(func.sum(_work.c.cost_usd), 0.0)
        ).where(_work.c.key_id == key_id, _work.c.created >= since)
        with self._guard("reading monthly usage") as db:
            jobs, usd = db.query(statement)[1][0]
        return int(jobs), float(usd)

    # -- ownership --------------------------------------------------------------------------

    def own_run(self, run_id: str, key_id: str, work_id: str) -> None:
        """Record that ``key_id`` owns ``run_id``."""
        row = {"run_id": run_id, "key_id": key_id, "work_id": work_id, "created": _now()}
        with self._guard(f"recording the owner of run {run_id!r}") as db, db.write():
            db.upsert(SERVICE_RUNS, row, keep=("key_id", "created"))

    def run_owner(self, run_id: str) -> str | None:
        """The key owning ``run_id`` (a full id), or None."""
        rows = self._rows(
            select(_owned.c.key_id).where(_owned.c.run_id == run_id), doing="reading a run owner"
        )
        return rows[0]["key_id"] if rows else None

    def owned_run_ids(self, key_id: str) -> list[str]:
        """Ids of the stored runs ``key_id`` owns, newest first."""
        runs = RUNS.sql
        statement = (
            select(_owned.c.run_id)
            .join(runs, runs.c.run_id == _owned.c.run_id)
            .where(_owned.c.key_id == key_id)
            .order_by(runs.c.started.desc())
        )
        return [r["run_id"] for r in self._rows(statement, doing="listing owned runs")]

    # -- webhooks ---------------------------------------------------------------------------

    def add_webhook(self, webhook_id: str, key_id: str, **fields: Any) -> None:
        """Register a webhook (``url``, ``events``, ``style``, ``secret``)."""
        values = self._fields(WEBHOOKS, fields, fixed=("webhook_id", "key_id", "created"))
        row = {"webhook_id": webhook_id, "key_id": key_id, "created": _now(), **values}
        with self._guard("registering a webhook") as db, db.write():
            db.execute(insert(_hooks).values(**row))

    def webhooks(self, key_id: str | None = None) -> list[Row]:
        """Active webhooks, of one key or of all."""
        statement = select(_hooks).where(_hooks.c.disabled.is_(None)).order_by(_hooks.c.created)
        if key_id is not None:
            statement = statement.where(_hooks.c.key_id == key_id)
        return self._rows(statement, doing="listing webhooks")

    def disable_webhook(self, webhook_id: str, key_id: str) -> bool:
        """Delete (disable) a webhook of ``key_id``; False when it has none by that id."""
        with self._guard("deleting a webhook") as db, db.write():
            result = db.execute(
                update(_hooks)
                .where(_hooks.c.webhook_id == webhook_id, _hooks.c.key_id == key_id)
                .where(_hooks.c.disabled.is_(None))
                .values(disabled=_now())
            )
            return bool(result.rowcount)

    def log_delivery(self, **fields: Any) -> None:
        """Record one delivery attempt (a ``webhook_deliveries`` row)."""
        values = self._fields(WEBHOOK_DELIVERIES, fields, fixed=("created",))
        with self._guard("logging a webhook delivery") as db, db.write():
            db.execute(insert(_deliveries).values(**values, created=_now()))

    def deliveries(self, webhook_id: str | None = None) -> list[Row]:
        """Delivery attempts, oldest first, of one webhook or of all."""
        statement = select(_deliveries).order_by(_deliveries.c.created, _deliveries.c.attempt)
        if webhook_id is not None:
            statement = statement.where(_deliveries.c.webhook_id == webhook_id)
        return self._rows(statement, doing="reading webhook deliveries")
