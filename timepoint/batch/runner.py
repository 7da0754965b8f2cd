"""``tp.run_batch``: plan a batch, check it against the store, run it, summarize it.

Planning walks the specs once: job ids (deterministic), duplicates, the batch id (a hash of the
job ids unless one is given) and the cost estimate. Execution walks them again lazily, skipping
jobs the store already has as completed, so a resumed batch never recomputes a result.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from timepoint.batch.backends import BACKENDS
from timepoint.batch.driver import Task
from timepoint.batch.estimate import BatchEstimate, Estimator, provider_label
from timepoint.batch.execution import Execution, execute
from timepoint.batch.job import JobContext, run_job
from timepoint.batch.lease import LEASE_S, BatchLease
from timepoint.batch.ratelimit import RateLimitSpec
from timepoint.batch.resume import check_batch, load_history
from timepoint.batch.spec import Grid, ScenarioLoader, iter_specs, resolved_scenario
from timepoint.batch.summary import BatchSummary
from timepoint.engine.session import environment
from timepoint.errors import BatchError
from timepoint.llm.base import LanguageModel
from timepoint.llm.budget import Budget
from timepoint.scenario.schema import Scenario
from timepoint.settings import Settings
from timepoint.store import open_store


@dataclass(frozen=True)
class Plan:
    """What the first pass over the specs found."""

    total: int
    specs_hash: str
    estimate: BatchEstimate | None = None
    concurrency: int = 1

    @property
    def default_batch_id(self) -> str:
        return f"batch-{self.specs_hash[:12]}"


def _sequence(configs: Iterable[Any]) -> Sequence[Any]:
    if isinstance(configs, Sequence) and not isinstance(configs, str | bytes):
        return configs
    if isinstance(configs, Scenario | Path | str):
        return [configs]
    return list(configs)


def plan_specs(
    configs: Sequence[Any], estimator: Estimator | None, job_ids: Callable[[Any], str]
) -> Plan:
    """One pass over ``configs``: count, hash and estimate; reject duplicate job ids.

    With an ``estimator`` the scenarios are resolved, and the plan also holds the largest
    in-run concurrency (``models.max_concurrency``) among them.

    Raises:
        BatchError: the batch is empty or two specs resolve to the same job.
    """
    digest = hashlib.sha256()
    seen: dict[str, int] = {}
    loader = ScenarioLoader()
    total = 0
    concurrency = 1
    for index, spec in enumerate(iter_specs(configs, loader) if estimator else configs):
        job_id = job_ids(spec)
        if job_id in seen:
            raise BatchError(
                f"configs #{seen[job_id]} and #{index} are the same job (same resolved config, "
                f"seed and replicate: job id {job_id}); give them different seeds or use "
                "replicates to repeat a configuration"
            )
        seen[job_id] = index
        digest.update(job_id.encode() + b"\n")
        if estimator is not None:
            resolved = resolved_scenario(spec, loader)
            estimator.add(resolved)
            concurrency = max(concurrency, resolved.models.max_concurrency)
        total += 1
    if total == 0:
        raise BatchError("the batch has no jobs; give at least one config or grid point")
    return Plan(
        total=total,
        specs_hash=digest.hexdigest(),
        estimate=estimator.result() if estimator else None,
        concurrency=concurrency,
    )


def job_cap(
    scenario: Scenario, job_cap_usd: float | None, estimate_high: float, capped: bool
) -> float | None:
    """The most one job may spend: the smaller of the per-job cap and the scenario budget;
    without either, the estimate's ceiling when the batch has a cap, else no limit."""
    bounds = [b for b in (job_cap_usd, scenario.budget.max_usd) if b is not None]
    if bounds:
        return min(bounds)
    return estimate_high if capped else None


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def shareable_url(store: Any) -> str | None:
    """The URL workers open ``store`` by.

    Raises:
        BatchError: an in-memory store, which other processes cannot see.
    """
    url = getattr(store, "url", None)
    if url is not None and ":memory:" in str(url):
        raise BatchError(
            "an in-memory store cannot be shared with worker processes; use an SQLite file "
            "or a PostgreSQL URL (TIMEPOINT_DB_URL)"
        )
    return url


def rate_limit_for(backend: str, rpm: int | None, settings: Settings) -> RateLimitSpec | None:
    """The requests-per-minute limit shared by every job calling the settings' endpoint
    (``None`` without ``rpm``); batches running at the same time share it too."""
    if not rpm:
        return None
    endpoint = "offline" if settings.offline else settings.base_url
    key = f"timepoint-rpm-{hashlib.sha256(endpoint.encode()).hexdigest()[:10]}"
    if backend == "dask":
        return RateLimitSpec(kind="dask", rpm=rpm, name=key)
    path = Path(settings.home) / "ratelimit.sqlite"
    return RateLimitSpec(kind="file", rpm=rpm, name=endpoint, path=str(path))


def run_batch(
    configs: Iterable[Any],
    parallel_workers: int = 10,
    budget_cap: float | None = 100.0,
    backend: str = "local",
    cluster: Any = None,
    resume: str | None = None,
    *,
    batch_id: str | None = None,
    job_cap_usd: float | None = None,
    attempts: int = 3,
    backoff_s: float = 1.0,
    fail_fast: bool = False,
    model: Callable[[], LanguageModel] | None = None,
    settings: Settings | None = None,
    store: Any = None,
    rpm: int | None = None,
    threads_per_worker: int | None = None,
    progress: bool = True,
    window: int | None = None,
    definition: Mapping[str, Any] | None = None,
    lease_s: float = LEASE_S,
    say: Callable[[str], None] | None = None,
) -> BatchSummary:
    """Run many simulations in parallel under one budget; results stream into the store.

    Args:
        configs: job specs — usually :func:`~timepoint.batch.spec.expand_grid` — or scenario
            objects/paths, or mappings with ``scenario``, ``overrides``, ``seed``, ``replicate``.
        parallel_workers: worker processes (local) or LocalCluster workers (dask).
        budget_cap: the most the whole batch may spend, in USD (``None``: no cap). Each job's
            cap is reserved before it starts and settled with its actual cost.
        backend: ``local`` (joblib/loky processes) or ``dask``.
        cluster: for ``dask``: ``None`` (a new LocalCluster), a scheduler address
            ``tcp://host:port``, or a ``distributed.Client``.
        resume: the id of a stopped or crashed batch to finish; completed jobs are skipped.
        batch_id: a name for a new batch (default: a hash of the job ids).
        job_cap_usd: the most one job may spend (over all its attempts); default: the
            scenario's ``budget.max_usd``, else the estimate's ceiling (its worst case).
        attempts: attempts per job, the first included; retries wait ``backoff_s``, doubling.
        backoff_s: the first wait between attempts, in seconds.
        fail_fast: stop starting jobs after the first failure.
        model: a picklable factory of the provider each job uses (default: from settings).
        settings: environment settings (store, home, key); default: the ``TIMEPOINT_*``
            environment variables.
        store: the run store; default the one the settings name. Workers reopen it by its URL
            (a file or PostgreSQL, not an in-memory store).
        rpm: requests per minute for all workers together (default ``TIMEPOINT_LLM_RPM``).
        threads_per_worker: jobs each worker runs at once on threads (local processes, or the
            threads of each LocalCluster worker). Default: the largest in-run concurrency
            (``models.max_concurrency``) of the batch's scenarios — a forward run's calls are
            mostly sequential, so a worker keeps about that many calls in flight.
        progress: show a progress bar.
        window: most jobs in flight at once (default twice the backend's capacity).
        definition: extra description stored with the batch (e.g. the batch file).
        lease_s: seconds the driver's lease on the batch, and each job's lease, last unless
            renewed (they are renewed every quarter of that). A resume waits for the leases a
            previous driver and its workers still hold, at most this long after they stopped.
        say: where messages about waiting for a previous driver go (default: standard error).

    Returns:
        A :class:`BatchSummary`; ``summary.jobs`` is the per-job DataFrame.

    Raises:
        BatchError: a bad argument, an empty or duplicated batch, a batch that already exists
            (without ``resume``), or a resume with a different definition.
    """
    if backend not in BACKENDS:
        raise BatchError(f"unknown backend {backend!r}; allowed: {', '.join(BACKENDS)}")
    if attempts < 1:
        raise BatchError(f"attempts={attempts}: give at least 1")
    if threads_per_worker is not None and threads_per_worker < 1:
        raise BatchError(f"threads_per_worker={threads_per_worker}: give at least 1, or None")
    for name, value in (("budget_cap", budget_cap), ("job_cap_usd", job_cap_usd)):
        if value is not None and value < 0:
            raise BatchError(f"{name}={value}: give a non-negative amount in USD, or None")

    settings = environment(settings)
    store = store if store is not None else open_store(settings.db_url, home=settings.home)
    store_url = shareable_url(store)
    configs = _sequence(configs)
    estimator = Estimator(settings, provider_label(settings, model))
    plan = plan_specs(configs, estimator, job_ids=lambda spec: spec.job_id)
    batch_id = resume or batch_id or plan.default_batch_id
    check_batch(store, batch_id, plan.specs_hash, resume is not None)
    lease = BatchLease(store, batch_id, lease_s, say=say or _to_stderr)
    try:
        if resume:
            lease.acquire()
        store.create_batch(
            batch_id,
            {
                "kind": "simulations",
                "jobs": plan.total,
                "specs_hash": plan.specs_hash,
                "backend": backend,
                "workers": parallel_workers,
                "budget_cap_usd": budget_cap,
                "job_cap_usd": job_cap_usd,
                "attempts": attempts,
                "estimate": plan.estimate.model_dump(exclude={"configurations"})
                if plan.estimate
                else None,
                **({"grid": configs.describe()} if isinstance(configs, Grid) else {}),
                **({"definition": dict(definition)} if definition else {}),
            },
        )
        if resume:
            lease.wait_for_workers()
        else:
            lease.acquire()
        history = load_history(store, batch_id, plan.specs_hash, resume is not None, lease)
        ledger = Budget("batch", max_usd=budget_cap)
        ledger.charge(history.cost_usd + history.abandoned_caps_usd, 0)
        ctx = JobContext(
            batch_id=batch_id,
            settings=settings,
            model=model,
            attempts=attempts,
            backoff_s=backoff_s,
            rate_limit=rate_limit_for(backend, rpm or settings.rpm, settings),
            store_url=store_url,
            lease_owner=lease.owner,
            lease_s=lease_s,
        )

        def tasks() -> Iterator[Task]:
            loader = ScenarioLoader()
            for spec in iter_specs(configs, loader):
                if spec.job_id in history.completed:
                    continue
                resolved = resolved_scenario(spec, loader)
                ceiling = estimator.per_job(resolved).usd_ceiling
                cap = job_cap(resolved, job_cap_usd, ceiling, budget_cap is not None)
                yield Task(spec.job_id, spec, {**spec.describe(), "cap_usd": cap}, cap)

        return execute(
            Execution(
                store=store,
                batch_id=batch_id,
                backend=backend,
                workers=parallel_workers,
                cluster=cluster,
                threads_per_worker=threads_per_worker or plan.concurrency,
                ctx=ctx,
                fn=run_job,
                ledger=ledger,
                total=plan.total,
                history=history,
                fail_fast=fail_fast,
                progress=progress,
                window=window,
                lease=lease,
            ),
            tasks(),
        )
    finally:
        lease.close()
