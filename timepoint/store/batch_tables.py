"""The tables of batches: ``batches``, their jobs and every attempt to run a job, with leases.

Job ids are deterministic, so a batch can resume; the ``lease_*`` columns say which driver and
which attempt hold a batch or a job (see :mod:`timepoint.store.batches` and
:mod:`timepoint.store.job_leases`).
"""

from __future__ import annotations

from timepoint.store.table_spec import Column, Table

C = Column

BATCHES = Table(
    "batches",
    "One row per batch.",
    (
        C("batch_id", "text", "Batch id.", key=True),
        C("spec_json", "json", "The batch definition (grid, backend, budget...)."),
        C("status", "text", "running, completed, failed or cancelled."),
        C("created", "time", "When the batch was created (UTC)."),
        C("updated", "time", "Last change (UTC)."),
        C("lease_owner", "text", "Token of the driver running the batch; empty if none.", since=2),
        C("lease_host", "text", "Host name of that driver.", since=2),
        C("lease_pid", "int", "Process id of that driver.", since=2),
        C("lease_expires", "time", "When the driver's lease runs out unless renewed.", since=2),
    ),
)

BATCH_JOBS = Table(
    "batch_jobs",
    "One row per job of a batch; job ids are deterministic so a batch can resume.",
    (
        C("batch_id", "text", "Batch the job belongs to.", key=True),
        C("job_id", "text", "Deterministic job id (config hash, seed, replicate).", key=True),
        C("spec_json", "json", "The job's spec (scenario, overrides, seed, replicate)."),
        C(
            "status",
            "text",
            "pending, running, completed, failed, skipped, cancelled or abandoned.",
        ),
        C("run_id", "text", "Run produced by the job."),
        C("cost_usd", "float", "Cost of the job in USD."),
        C("tokens", "int", "Tokens used by the job."),
        C("duration_s", "float", "Duration of the job in seconds."),
        C("error_class", "text", "Class of the error of a failed job."),
        C("step", "text", "Step at which a failed job stopped."),
        C("message", "text", "Error message of a failed job.", pii="text"),
        C("retries", "int", "Retries made."),
        C("updated", "time", "Last change (UTC)."),
        C("attempt", "int", "Number of the attempt that holds or last held the job.", since=2),
        C("lease_owner", "text", "Driver token of the attempt holding the job.", since=2),
        C("lease_expires", "time", "When that attempt's lease runs out unless renewed.", since=2),
    ),
    indexes=(("run_id",),),
)

BATCH_ATTEMPTS = Table(
    "batch_attempts",
    "Every attempt to run a batch job, with what it spent; batch totals add these up.",
    (
        C("batch_id", "text", "Batch of the job.", key=True),
        C("job_id", "text", "The job (`batch_jobs.job_id`).", key=True),
        C("attempt", "int", "Attempt number of the job, from 1, over every invocation.", key=True),
        C("lease_owner", "text", "Token of the driver the attempt ran for."),
        C("host", "text", "Host name of the worker process."),
        C("pid", "int", "Process id of the worker process."),
        C("status", "text", "running, completed, failed, lost or abandoned."),
        C("run_id", "text", "Run produced by the attempt's last simulation."),
        C(
            "cost_usd",
            "float",
            "USD spent: so far, calls in flight at worst case, while running; then in all.",
        ),
        C("tokens", "int", "Tokens used so far, then in all."),
        C("started", "time", "When the attempt started (UTC)."),
        C("updated", "time", "Last change (UTC)."),
    ),
    since=2,
)
