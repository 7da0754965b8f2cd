"""The summary a batch returns: counts, cost, duration, failures by cause, and the jobs table.

The per-job table (``summary.jobs``, a pandas DataFrame) is read from the store when first
asked for, so running a batch never holds every job's result in memory.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

#: columns of ``BatchSummary.jobs``
JOB_COLUMNS = [
    "job_id",
    "status",
    "run_id",
    "cost_usd",
    "tokens",
    "duration_s",
    "error_class",
    "step",
    "message",
    "retries",
    "scenario",
    "seed",
    "replicate",
    "overrides",
    "updated",
]


class BatchSummary(BaseModel):
    """What a batch did.

    Attributes:
        batch_id: the batch (pass it as ``resume=`` to finish a stopped batch).
        status: ``completed`` (every job was attempted), ``stopped`` (budget, credit or
            fail_fast stopped it; see ``stop_reason``/``skip_reason``).
        backend: where the jobs ran.
        total: jobs in the batch definition.
        already_completed: jobs completed by earlier invocations (skipped on resume).
        completed / failed: jobs that finished in this invocation.
        skipped: jobs not started because the budget cap would have been passed.
        cancelled: jobs not started because the batch stopped.
        cost_usd / tokens: spent by this invocation's jobs (failed attempts included).
        batch_cost_usd: spent by every invocation of the batch.
        budget_cap_usd: the batch cap (``None``: no cap).
        duration_s: wall time of this invocation.
        failures_by_cause: failed jobs per error class.
        skip_reason / stop_reason: why jobs were skipped or the batch stopped.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    batch_id: str
    status: str
    backend: str
    total: int
    already_completed: int = 0
    completed: int = 0
    failed: int = 0
    skipped: int = 0
    cancelled: int = 0
    cost_usd: float = 0.0
    tokens: int = 0
    batch_cost_usd: float = 0.0
    budget_cap_usd: float | None = None
    duration_s: float = 0.0
    failures_by_cause: dict[str, int] = Field(default_factory=dict)
    skip_reason: str | None = None
    stop_reason: str | None = None
    _store: Any = PrivateAttr(default=None)
    _jobs: Any = PrivateAttr(default=None)

    def attach(self, store: Any) -> BatchSummary:
        """Remember the store the jobs table is read from."""
        self._store = store
        return self

    @property
    def executed(self) -> int:
        """Jobs that ran in this invocation (completed or failed)."""
        return self.completed + self.failed

    @property
    def jobs(self) -> Any:
        """Every job of the batch as a pandas DataFrame (one row per job, see JOB_COLUMNS)."""
        if self._jobs is None:
            import pandas as pd

            rows = []
            for row in self._store.jobs(self.batch_id) if self._store is not None else []:
                spec = row.get("spec_json") or {}
                rows.append(
                    {
                        **{k: row.get(k) for k in JOB_COLUMNS if k in row},
                        "scenario": spec.get("scenario"),
                        "seed": spec.get("seed"),
                        "replicate": spec.get("replicate"),
                        "overrides": spec.get("overrides") or spec.get("parameters"),
                    }
                )
            self._jobs = pd.DataFrame(rows, columns=JOB_COLUMNS)
        return self._jobs

    def describe(self) -> str:
        """A few lines for the command line and notebooks."""
        lines = [
            f"batch {self.batch_id} {self.status} ({self.backend}): {self.completed} completed, "
            f"{self.failed} failed, {self.skipped} skipped, {self.cancelled} cancelled"
            + (f", {self.already_completed} already completed" if self.already_completed else "")
            + f" of {self.total} jobs in {self.duration_s:.1f} s",
            f"cost ${self.cost_usd:.4f} this run, ${self.batch_cost_usd:.4f} for the batch"
            + (f" (cap ${self.budget_cap_usd:.2f})" if self.budget_cap_usd is not None else "")
            + f", {self.tokens:,} tokens",
        ]
        if self.failures_by_cause:
            causes = ", ".join(f"{k} ×{v}" for k, v in sorted(self.failures_by_cause.items()))
            lines.append(f"failures by cause: {causes}")
        if self.skip_reason:
            lines.append(f"skipped: {self.skip_reason}")
        if self.stop_reason:
            lines.append(f"stopped: {self.stop_reason}")
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        return "\n\n".join(self.describe().splitlines())
