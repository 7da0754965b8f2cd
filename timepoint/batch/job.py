"""One batch job: the top-level, picklable function a worker runs, and what it reports.

:func:`run_job` runs one simulation with :func:`timepoint.run` under a job budget (the amount
the driver reserved for it), retries failed attempts with exponential backoff, and writes the
job's row in ``batch_jobs`` itself as it starts and as it ends — so a result is in the store
the moment it exists, even if the driver dies a second later. Under a driver's lease
(``JobContext.lease_owner``) the job claims an attempt, renews its lease while it runs, and
records its result only if it still holds the job (:mod:`timepoint.batch.lease`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from timepoint.batch.job_budget import FlaggedBudget, LeasedBudget, overspend_flag
from timepoint.batch.lease import JobLease
from timepoint.batch.ratelimit import RateLimitedModel, RateLimitSpec
from timepoint.batch.spec import JobSpec
from timepoint.engine.runner import RunFailed, run
from timepoint.engine.session import new_run_id
from timepoint.errors import (
    AuthenticationError,
    BudgetExceeded,
    ConfigurationError,
    ContextLengthExceeded,
    CreditExhausted,
    ProviderError,
    ScenarioError,
    TimepointError,
    UnknownModelError,
)
from timepoint.llm.base import LanguageModel
from timepoint.llm.offline import OfflineModel
from timepoint.llm.openai_compat import OpenAICompatibleModel
from timepoint.llm.registry import Registry
from timepoint.llm.retry import is_retryable
from timepoint.settings import Settings
from timepoint.store import open_store

#: errors that a second attempt would only repeat
PERMANENT = (
    BudgetExceeded,
    CreditExhausted,
    AuthenticationError,
    ContextLengthExceeded,
    ScenarioError,
    ConfigurationError,
    UnknownModelError,
)
MESSAGE_CHARS = 1000


@dataclass(frozen=True)
class JobContext:
    """What every job of a batch shares; sent with each task, so it stays small and picklable.

    The settings travel with every task (the API key included, as pydantic's ``SecretStr``);
    reach a scheduler on another machine over ``tls://`` rather than plain ``tcp://``.

    Attributes:
        batch_id: the batch the job belongs to.
        settings: environment settings of the driver (store, home, registry, key).
        model: a picklable factory of the provider, e.g. ``partial(OfflineModel,
            latency_ms=100)``; ``None``: what the settings imply.
        attempts: attempts per job, the first included.
        backoff_s: wait before the first retry; doubled for each further retry.
        backoff_max_s: cap of the wait between attempts.
        rate_limit: the batch's shared requests-per-minute limit, if any.
        store_url: the run store workers open (default: the one the settings name).
        lease_owner: the token of the driver's batch lease; jobs then claim and renew leases
            of their own (``None``: no leases, rows are simply written).
        lease_s: how long a job's lease lasts unless renewed.
    """

    batch_id: str
    settings: Settings
    model: Callable[[], LanguageModel] | None = None
    attempts: int = 3
    backoff_s: float = 1.0
    backoff_max_s: float = 60.0
    rate_limit: RateLimitSpec | None = None
    store_url: str | None = None
    lease_owner: str | None = None
    lease_s: float = 30.0

    def open_store(self) -> Any:
        """The batch's run store, opened in this process."""

        if self.store_url is not None:
            return open_store(self.store_url)
        return open_store(self.settings.db_url, home=self.settings.home)

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based), with jitter."""
        wait = min(self.backoff_max_s, self.backoff_s * 2 ** (attempt - 1))
        return wait * (0.5 + 0.5 * rng.random())


class JobResult(BaseModel):
    """What a job reports to the driver (and writes to ``batch_jobs``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    job_id: str
    status: str
    run_id: str | None = None
    cost_usd: float = 0.0
    tokens: int = 0
    duration_s: float = 0.0
    error_class: str | None = None
    step: str | None = None
    message: str | None = None
    retries: int = 0
    recorded: bool = False
    lost: bool = False

    @property
    def stops_batch(self) -> bool:
        """True when the account is out of credit: no further job can succeed."""
        return self.error_class == CreditExhausted.__name__

    def row(self) -> dict[str, Any]:
        """The ``batch_jobs`` fields of this result."""
        return self.model_dump(exclude={"job_id", "recorded", "lost"})


def is_permanent(error: BaseException) -> bool:
    """Whether a failed attempt would fail the same way again."""
    if isinstance(error, PERMANENT):
        return True
    return isinstance(error, ProviderError) and not is_retryable(error)


def default_provider(settings: Settings, seed: int) -> LanguageModel:
    """The provider :func:`timepoint.run` would build from ``settings``."""
    if settings.offline:
        return OfflineModel(seed=seed)

    return OpenAICompatibleModel(
        settings.base_url,
        settings.api_key,
        default_model=settings.model,
        timeout=settings.timeout,
        registry=Registry.load(settings.registry_path),
        max_response_bytes=settings.max_response_bytes,
        price_margin=settings.price_margin,
    )


def _provider(ctx: JobContext, spec: JobSpec) -> LanguageModel | None:
    model = ctx.model() if ctx.model is not None else None
    if ctx.rate_limit is None:
        return model
    inner = model if model is not None else default_provider(ctx.settings, spec.seed)
    return RateLimitedModel(inner, ctx.rate_limit.build())


def _attempt(
    spec: JobSpec,
    ctx: JobContext,
    store: Any,
    budget: Any,
    announce: Callable[[str], None] | None = None,
) -> tuple[str, dict]:
    """Run the simulation once; returns (status, fields) of the attempt.

    ``announce`` is told the run's id before the simulation starts (a leased job writes it
    into its attempt row).
    """
    run_id = new_run_id(f"{ctx.batch_id}:{spec.job_id}")
    if announce is not None:
        announce(run_id)
    try:
        result = run(
            spec.scenario,
            model=_provider(ctx, spec),
            store=store,
            seed=spec.seed,
            overrides=spec.overrides or None,
            settings=ctx.settings,
            parent_budget=budget,
            replicate=spec.replicate,
            run_id=run_id,
        )
    except RunFailed as failure:
        record = failure.run.record
        return "failed", {
            "run_id": record.run_id,
            "error": failure.cause,
            "step": record.failed_step or "unknown",
        }
    except TimepointError as error:
        return "failed", {"run_id": None, "error": error, "step": "setup"}
    except Exception as error:
        return "failed", {"run_id": None, "error": error, "step": "run"}
    return "completed", {"run_id": result.run_id}


def _run_attempts(
    spec: JobSpec,
    ctx: JobContext,
    store: Any,
    budget: Any,
    announce: Callable[[str], None] | None = None,
) -> JobResult:
    """Up to ``ctx.attempts`` simulations under ``budget``, with backoff between them."""
    started = time.perf_counter()
    rng = random.Random(f"{ctx.batch_id}:{spec.job_id}")
    attempt = 0
    while True:
        attempt += 1
        status, outcome = _attempt(spec, ctx, store, budget, announce)
        error = outcome.get("error")
        if error is None or attempt >= ctx.attempts or is_permanent(error):
            break
        time.sleep(ctx.backoff(attempt, rng))
    return JobResult(
        job_id=spec.job_id,
        status=status,
        run_id=outcome.get("run_id"),
        cost_usd=budget.spent_usd,
        tokens=budget.spent_tokens,
        duration_s=time.perf_counter() - started,
        error_class=type(error).__name__ if error is not None else None,
        step=outcome.get("step") if error is not None else None,
        message=str(error)[:MESSAGE_CHARS] if error is not None else None,
        retries=attempt - 1,
    )


def _run_leased(spec: JobSpec, ctx: JobContext, store: Any, cap_usd: float | None) -> JobResult:

    assert ctx.lease_owner is not None
    lease = JobLease(store, ctx.batch_id, spec.job_id, ctx.lease_owner, ctx.lease_s)
    refused = lease.claim({**spec.describe(), "cap_usd": cap_usd})
    if refused:
        return JobResult(
            job_id=spec.job_id, status="lost", message=refused, recorded=True, lost=True
        )
    adopted = lease.orphaned_run(ctx.settings.home)
    if adopted is not None:  # stored by a killed attempt that never recorded it
        # this attempt spent nothing: the run's spend is in the killed attempt's row already,
        # and the batch totals add up attempts
        result = JobResult(
            job_id=spec.job_id,
            status="completed",
            run_id=adopted.run_id,
            duration_s=adopted.duration_s or 0.0,
        )
        recorded = lease.finish(**result.row())
        return result.model_copy(update={"recorded": True, "lost": not recorded})
    flag = overspend_flag(ctx.settings.home, ctx.batch_id, ctx.lease_owner)
    budget = LeasedBudget("job", lease, flag, max_usd=cap_usd)
    with lease.heartbeat(budget):
        result = _run_attempts(spec, ctx, store, budget, lease.name_run)
    if lease.finish(**result.row()):
        return result.model_copy(update={"recorded": True})
    return result.model_copy(update={"recorded": True, "lost": True})


def run_job(spec: JobSpec, ctx: JobContext, cap_usd: float | None) -> JobResult:
    """Run one job: up to ``ctx.attempts`` simulations, all under one budget of ``cap_usd``.

    Never raises for a failed simulation: the failure (error class, step, message, retries)
    is the result.

    Args:
        spec: the job.
        ctx: the batch's shared context.
        cap_usd: the most the job may spend over all its attempts (the driver reserved it);
            ``None`` for no limit.
    """

    store = ctx.open_store()
    try:
        if ctx.lease_owner is not None:
            return _run_leased(spec, ctx, store, cap_usd)
        store.upsert_job(
            ctx.batch_id,
            spec.job_id,
            spec={**spec.describe(), "cap_usd": cap_usd},
            status="running",
            run_id=None,
            error_class=None,
            step=None,
            message=None,
            retries=0,
        )
        flag = overspend_flag(ctx.settings.home, ctx.batch_id, ctx.lease_owner)
        result = _run_attempts(spec, ctx, store, FlaggedBudget("job", flag, max_usd=cap_usd))
        store.upsert_job(ctx.batch_id, spec.job_id, **result.row())
        return result.model_copy(update={"recorded": True})
    finally:
        store.close()
