"""What the REST API and the MCP server share: who may see what, and how work is queued.

:class:`Service` checks keys (and counts them against their rate limits), finds the runs and
work a key owns — anything else is "not found", as if it did not exist — and queues work in
the store for a service worker, after the key's monthly quota allows it.
"""

from __future__ import annotations

import secrets
from typing import Any

from timepoint.errors import RunNotFound, ServiceError
from timepoint.service.keys import ApiKey, check_key
from timepoint.service.limits import RateLimiter, check_quota
from timepoint.service.requests import Progress, RunView, ScenarioLibrary, WorkView
from timepoint.store import RunSummary, Store
from timepoint.store.base import Row


def new_work_id(kind: str) -> str:
    """A fresh work id: ``w-<kind>-<random>``."""
    return f"w-{kind}-{secrets.token_hex(8)}"


def work_view(store: Store, row: Row) -> WorkView:
    """The API's view of a work row, with batch progress when the work runs a batch."""
    progress = None
    if row["kind"] in ("run", "batch"):
        jobs = store.jobs(row["work_id"]) if row["status"] != "queued" else []
        done = sum(1 for j in jobs if j["status"] in ("completed", "failed", "skipped"))
        progress = Progress(done=done, total=int(row["jobs"] or 0))
    return WorkView(
        id=row["work_id"],
        kind=row["kind"],
        status=row["status"],
        run_id=row["run_id"],
        progress=progress,
        cost_usd=float(row["cost_usd"] or 0.0),
        error=row["error"],
        result=row["result_json"],
        created=row["created"],
        updated=row["updated"],
    )


def run_view(run: RunSummary) -> RunView:
    return RunView(
        id=run.run_id,
        status=run.status,
        run_id=run.run_id,
        scenario_id=run.scenario_id,
        title=run.title,
        mode=run.mode,
        seed=run.seed,
        started=run.started,
        finished=run.finished,
        cost_usd=run.cost_usd,
        entities=run.entities,
        timepoints=run.timepoints,
        error=run.error,
    )


class Service:
    """What the routes share: the store, the scenario library and the rate limiter."""

    def __init__(self, store: Store, library: ScenarioLibrary, limiter: RateLimiter):
        self.store = store
        self.library = library
        self.limiter = limiter

    def authenticate(self, authorization: str | None) -> ApiKey:
        key = check_key(self.store, authorization)
        self.limiter.check(key)
        return key

    def owned_work(self, key: ApiKey, work_id: str) -> Row | None:
        row = self.store.work(work_id)
        return row if row is not None and row["key_id"] == key.key_id else None

    def owned_run_id(self, key: ApiKey, ident: str) -> str:
        """The full id of a run of ``key`` that ``ident`` names (run id, prefix or work id)."""
        work = self.owned_work(key, ident)
        if work is not None:
            if work["run_id"] is None or work["kind"] == "batch":
                raise ServiceError(
                    f"work {ident} has no run yet (status {work['status']})",
                    status=409,
                    title="No run yet",
                )
            return str(work["run_id"])
        matches = [r for r in self.store.owned_run_ids(key.key_id) if r.startswith(ident)]
        if ident in matches:
            return ident
        if len(matches) == 1 and ident:
            return matches[0]
        if matches:
            raise ServiceError(f"run id prefix {ident!r} matches several runs; give more")
        raise RunNotFound(f"no run or work {ident!r} for this key; list yours with GET /runs")

    def queue(self, key: ApiKey, kind: str, request: dict[str, Any], jobs: int) -> WorkView:
        cap = check_quota(self.store, key, jobs)
        work_id = new_work_id(kind)
        if cap is not None:
            asked = request.get("budget_usd")
            request = {**request, "budget_usd": cap if asked is None else min(asked, cap)}
        self.store.add_work(
            work_id, key.key_id, kind, request, jobs=jobs, run_id=request.get("parent")
        )
        row = self.store.work(work_id)
        assert row is not None
        return work_view(self.store, row)
