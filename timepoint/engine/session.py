"""One pipeline for every verb: build the session once → simulate → persist.

``run``, ``branch``, ``ask`` and a batch job all start here. :func:`open_session` resolves the
settings and the store and builds the whole model stack in one go (provider, cache, structured
output, retry, meter with the run's USD/token budget and ``fidelity.token_budget`` as its
guard, limiter, replicate seed); nothing is re-wrapped afterwards. :meth:`Session.execute` is
the one failure policy and the one persist:

- every ``Exception`` raised while simulating fails the run: its partial record is stored with
  status ``failed``, the step it stopped at and the error, and the verb raises
  :class:`~timepoint.engine.run.RunFailed` with the error as its cause;
- ``KeyboardInterrupt`` and other ``BaseException`` are not caught: the store recovers what a
  killed writer left (:func:`~timepoint.engine.persist.recover_interrupted`).

The environment (``TIMEPOINT_*`` variables) is read here and nowhere else in the library:
:func:`environment` is the default of every public verb that takes ``settings``.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from timepoint.engine.persist import store_run
from timepoint.engine.simulation import Simulation
from timepoint.errors import ReportError
from timepoint.fidelity.token_budget import TokenBudget
from timepoint.kernel.context import Gateway, RunContext
from timepoint.kernel.progress import ProgressSink
from timepoint.knowledge.training_data import training_jsonl
from timepoint.llm.base import CallRecord, Completion, LanguageModel, Request
from timepoint.llm.budget import Budget
from timepoint.llm.config import BudgetConfig
from timepoint.llm.gateway import ModelGateway
from timepoint.llm.offline import OfflineModel
from timepoint.llm.stack import build_gateway
from timepoint.llm.usage import summarize_calls
from timepoint.report.run_files import narrative_files
from timepoint.report.summary import summarize
from timepoint.scenario.schema import Scenario
from timepoint.settings import Settings
from timepoint.store import Store, open_store
from timepoint.world.record import LedgerEntry, ModelChoice, RunRecord, UsageSummary


def environment(settings: Settings | None = None) -> Settings:
    """``settings``, or the ones the ``TIMEPOINT_*`` environment variables give."""
    return settings if settings is not None else Settings.from_env()


def default_store(settings: Settings) -> Store:
    """The run store ``settings`` name (SQLite under ``TIMEPOINT_HOME`` by default)."""
    return open_store(settings.db_url, home=Path(settings.home))


def replicate_seed(seed: int, replicate: int) -> int:
    """The request seed of ``replicate`` of a run with ``seed`` (replicate 0 keeps ``seed``)."""
    if not replicate:
        return seed
    digest = hashlib.sha256(f"{seed}:{replicate}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


class ReplicateGateway:
    """Gives replicate ``n`` of a configuration and seed its own request seed, so it gets its
    own answers (and cache entries) from any endpoint instead of replaying replicate 0."""

    def __init__(self, inner: ModelGateway, replicate: int):
        self.inner = inner
        self.replicate = replicate

    @property
    def provider(self) -> str:
        return self.inner.provider

    def complete(self, request: Request) -> Completion:
        seed = replicate_seed(request.seed or 0, self.replicate)
        return self.inner.complete(request.model_copy(update={"seed": seed}))

    def calls(self) -> list[CallRecord]:
        return self.inner.calls()

    def choices(self) -> list[ModelChoice]:
        return self.inner.choices()


def remaining_budget(budget: BudgetConfig, spent: UsageSummary) -> BudgetConfig:
    """What is left of ``budget`` after ``spent`` (never below zero; tokens at least one)."""
    tokens = spent.prompt_tokens + spent.completion_tokens
    return BudgetConfig(
        max_usd=None if budget.max_usd is None else max(0.0, budget.max_usd - spent.cost_usd),
        max_tokens=None if budget.max_tokens is None else max(1, budget.max_tokens - tokens),
    )


@dataclass(frozen=True)
class ModelStack:
    """The model stack of one session.

    Attributes:
        gateway: what mechanisms call (the outermost layer).
        accounts: the gateway that keeps the call records and model choices.
        token_budget: ``fidelity.token_budget``, charged per attempt by the meter.
        offline: the offline model when the session uses it (its planted leaks are recorded).
    """

    gateway: Gateway
    accounts: ModelGateway
    token_budget: TokenBudget | None
    offline: OfflineModel | None


def build_model_stack(
    settings: Settings,
    scenario: Scenario,
    model: LanguageModel | None,
    *,
    seed: int,
    parent_budget: Budget | None = None,
    spent: UsageSummary | None = None,
    replicate: int = 0,
) -> ModelStack:
    """Build the whole model stack of a session, each layer wrapping the last.

    Args:
        settings: environment settings (endpoint, key, forced model, home for the cache).
        scenario: the scenario whose models and budgets configure the stack.
        model: the provider; ``None``: the offline model without an API key, else the
            OpenAI-compatible endpoint ``settings`` name.
        seed: the seed of the offline model and of every request.
        parent_budget: a budget every call is also charged to (a batch job's).
        spent: what the run already spent (questions asked of a finished run spend under what
            is left of its budgets).
        replicate: the replicate number of this run of a configuration and seed (batches).
    """
    offline = None
    if model is None and settings.offline:
        model = offline = OfflineModel(seed=seed, leak_rate=scenario.mechanisms.leak_rate)
    elif isinstance(model, OfflineModel):
        offline = model
    used = spent.prompt_tokens + spent.completion_tokens if spent is not None else 0
    token_budget = TokenBudget.from_scenario(scenario, spent=used)
    free = model is not None and model.provider == "offline"
    accounts = build_gateway(
        settings,
        models=scenario.models,
        budget=scenario.budget if spent is None else remaining_budget(scenario.budget, spent),
        seed=seed,
        cache_dir=None if free else Path(settings.home) / "cache",
        provider=model,
        parent_budget=parent_budget,
        guards=() if token_budget is None else (token_budget,),
    )
    gateway: Gateway = ReplicateGateway(accounts, replicate) if replicate else accounts
    return ModelStack(gateway, accounts, token_budget, offline)


def new_run_id(salt: str = "") -> str:
    """Time plus a short hash; unique per execution (``salt`` only varies the hash)."""
    now = datetime.now(UTC)
    material = f"{salt}:{time.time_ns()}:{os.getpid()}:{os.urandom(4).hex()}"
    return f"{now:%Y%m%d-%H%M%S}-{hashlib.sha256(material.encode()).hexdigest()[:6]}"


@dataclass(frozen=True)
class Outcome:
    """A stored run: its record and folder, and the error that failed it (``None``: it
    completed). :func:`timepoint.engine.run.finished` turns it into a ``Run``."""

    record: RunRecord
    folder: Path
    failure: Exception | None
    scenario: Scenario
    settings: Settings
    store: Store


@dataclass(frozen=True)
class Session:
    """Everything one verb works with, built once by :func:`open_session`."""

    scenario: Scenario
    settings: Settings
    store: Store
    stack: ModelStack
    ctx: RunContext
    base_dir: Path

    @property
    def home(self) -> Path:
        return Path(self.settings.home)

    def simulation(self) -> Simulation:
        """A new simulation of the session's scenario in its context."""
        return Simulation(
            self.scenario, self.ctx, base_dir=self.base_dir, token_budget=self.stack.token_budget
        )

    def execute(
        self,
        sim: Simulation,
        body: Callable[[], None],
        *,
        summary: bool = True,
        amend: Callable[[RunRecord], RunRecord] | None = None,
        run_id: str | None = None,
    ) -> Outcome:
        """Run ``body`` (which drives ``sim``), then record, summarize and persist the run.

        Args:
            sim: the simulation ``body`` drives.
            body: the simulation work (``sim.run`` for a new run).
            summary: ask the model for the executive summary of a completed run.
            amend: a last change to the record before it is stored (a branch's labels).
            run_id: the id to store the run under (default: a new one).

        Every ``Exception`` ``body`` raises fails the run: the partial record is stored with
        the step and the error, which the outcome carries.
        """
        run_id = run_id or new_run_id(f"{self.scenario.config_hash}:{self.ctx.seed}")
        started = datetime.now(UTC)
        failure: Exception | None = None
        try:
            body()
        except Exception as error:  # the failure policy: every error fails the run, stored
            failure = error
        offline = self.stack.offline
        if offline is not None and offline.planted_leaks:
            sim.record_planted_leaks(offline.planted_leaks)
        status = "failed" if failure else "completed"
        record = sim.record(run_id, started, status, self.stack.accounts.provider)
        if failure is None and summary:
            record = sim.with_budget_report(summarize(record, self.stack.gateway, self.ctx.seed))
        record = with_usage(record, self.stack.accounts)
        if amend is not None:
            record = amend(record)
        if failure is not None:
            record = record.model_copy(
                update={"failed_step": sim.step, "error": f"{type(failure).__name__}: {failure}"}
            )
        folder = self.persist(record)
        return Outcome(record, folder, failure, self.scenario, self.settings, self.store)

    def persist(self, record: RunRecord) -> Path:
        """Write the run folder, then the store. The folder is complete or absent.

        The narrative is written as Markdown and JSON, and as PDF when ``outputs.formats`` asks
        for it; a PDF that cannot be built does not lose the run: the reason is kept in
        ``narrative_pdf_error``. ``training.jsonl`` is written when ``outputs.training_export``
        is set.
        """
        detail, formats = self.scenario.outputs.detail, self.scenario.outputs.formats
        try:
            files = narrative_files(record, detail, formats)
        except ReportError as error:
            record = record.model_copy(update={"narrative_pdf_error": str(error)})
            files = narrative_files(record, detail, [f for f in formats if f != "pdf"])
        if self.scenario.outputs.training_export:
            files["training.jsonl"] = training_jsonl(record)
        accounts = self.stack.accounts
        return store_run(
            self.home, record, self.scenario, accounts.calls(), self.store, files, accounts.texts()
        )


def open_session(
    scenario: Scenario,
    *,
    settings: Settings | None = None,
    store: Store | None = None,
    model: LanguageModel | None = None,
    seed: int | None = None,
    progress: ProgressSink | None = None,
    parent_budget: Budget | None = None,
    replicate: int = 0,
    spent: UsageSummary | None = None,
    base_dir: Path | None = None,
) -> Session:
    """Resolve settings and store, build the model stack and the run context.

    Args:
        scenario: the scenario to simulate (or whose run is branched or asked about).
        settings: environment settings; default: :func:`environment`.
        store: the run store; default: the one ``settings`` name.
        model: the provider; default: offline without an API key.
        seed: the run seed; default: the scenario's.
        progress: a progress sink (the CLI passes a progress bar).
        parent_budget: a budget every call is also charged to (a batch job's).
        replicate: the replicate number of this run (batches).
        spent: what the run already spent (questions asked of a finished run).
        base_dir: the folder relative paths of the scenario are resolved against.
    """
    settings = environment(settings)
    store = store if store is not None else default_store(settings)
    seed = scenario.seed if seed is None else seed
    stack = build_model_stack(
        settings,
        scenario,
        model,
        seed=seed,
        parent_budget=parent_budget,
        spent=spent,
        replicate=replicate,
    )
    ctx = RunContext(
        gateway=stack.gateway,
        seed=seed,
        home=Path(settings.home),
        max_concurrency=scenario.models.max_concurrency,
        store=store,
        **({"progress": progress} if progress is not None else {}),
    )
    return Session(scenario, settings, store, stack, ctx, base_dir or Path.cwd())


def with_usage(record: RunRecord, accounts: ModelGateway) -> RunRecord:
    """Attach usage, model choices and the M18 ledger entry from the session's accounts."""
    usage = summarize_calls(accounts.calls())
    choices = accounts.choices()
    mechanisms = list(record.mechanisms)
    if choices:
        models = sorted({c.model for c in choices})
        mechanisms.append(
            LedgerEntry(
                mechanism="M18",
                summary=f"M18 model selection: {len(choices)} actions mapped onto "
                f"{len(models)} registry models ({', '.join(models)}); calls served by "
                f"{', '.join(sorted(usage.by_model)) or 'none'}",
                counts={"actions": len(choices), "models": len(models), "calls": usage.calls},
            )
        )
    return record.model_copy(
        update={"usage": usage, "model_selection": choices, "mechanisms": mechanisms}
    )


__all__ = [
    "ModelStack",
    "Outcome",
    "ReplicateGateway",
    "Session",
    "build_model_stack",
    "default_store",
    "environment",
    "new_run_id",
    "open_session",
    "remaining_budget",
    "replicate_seed",
]
