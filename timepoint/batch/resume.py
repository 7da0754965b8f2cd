"""What the store knows about a batch before it runs: whether it may start or resume, and
what an earlier invocation left behind.

A new batch must not exist yet; a resumed one must have been made from the same specs. On
resume, the jobs an earlier driver left running are marked ``abandoned`` (they run again), and
:class:`History` adds up what was already spent and the caps of abandoned jobs that never wrote
their spend, with which the batch's budget starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from timepoint.batch.lease import BatchLease
from timepoint.errors import BatchError

#: statuses of job rows that an earlier invocation left unfinished
UNFINISHED = ("running",)


@dataclass(frozen=True)
class History:
    """What the store knows about a batch being resumed."""

    completed: frozenset[str] = frozenset()
    cost_usd: float = 0.0
    abandoned_caps_usd: float = 0.0


def check_batch(store: Any, batch_id: str, specs_hash: str, resume: bool) -> None:
    """Check the batch against the store.

    Raises:
        BatchError: resuming a batch with a different definition, or starting a batch that
            already exists without ``resume``.
        StoreError: resuming a batch the store does not know.
    """
    if not resume:
        known = {row["batch_id"] for row in store.batches()}
        if batch_id in known:
            done = len(store.completed_job_ids(batch_id))
            raise BatchError(
                f"batch {batch_id!r} already exists in the store ({done} jobs completed); "
                f"pass resume={batch_id!r} (--resume {batch_id}) to finish it, or give another "
                "batch id to run it again"
            )
        return
    stored = store.batch(batch_id).get("spec_json") or {}
    if stored.get("specs_hash") not in (None, specs_hash):
        raise BatchError(
            f"batch {batch_id!r} was created from different specs than the ones given; resume "
            "with the same batch definition (scenario, grid, overrides, replicates)"
        )


ABANDONED = "was running when the batch process stopped; it runs again on resume"


def load_history(
    store: Any, batch_id: str, specs_hash: str, resume: bool, lease: BatchLease | None = None
) -> History:
    """Check the batch against the store; on resume, mark unfinished jobs abandoned.

    With the driver's ``lease`` (held), the jobs other drivers' workers left running are
    abandoned once their leases are gone (:meth:`BatchLease.wait_for_workers` first), and the
    cost is every attempt's spend (``batch_attempts``).

    Raises:
        BatchError: resuming a batch with a different definition, or starting a batch that
            already exists without ``resume``.
        StoreError: resuming a batch the store does not know.
    """
    if lease is None:
        check_batch(store, batch_id, specs_hash, resume)
    if not resume:
        return History()
    if lease is not None:
        attempted = {row["job_id"] for row in store.attempts(batch_id)}
        abandoned = 0.0
        for row in store.abandon_jobs(batch_id, lease.owner, ABANDONED):
            if row["job_id"] not in attempted:
                abandoned += (row.get("spec_json") or {}).get("cap_usd") or 0.0
        return History(
            frozenset(store.completed_job_ids(batch_id)), store.batch_spend(batch_id)[0], abandoned
        )
    completed: set[str] = set()
    cost = 0.0
    abandoned = 0.0
    for row in store.jobs(batch_id):
        cost += row.get("cost_usd") or 0.0
        if row["status"] == "completed":
            completed.add(row["job_id"])
        elif row["status"] in UNFINISHED:
            spec = row.get("spec_json") or {}
            abandoned += spec.get("cap_usd") or 0.0
            store.upsert_job(batch_id, row["job_id"], status="abandoned", message=ABANDONED)
    return History(frozenset(completed), cost, abandoned)
