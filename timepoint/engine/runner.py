"""``tp.run``: resolve a scenario, build the context, simulate, persist — even when it fails."""

from __future__ import annotations

import hashlib
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from timepoint.engine.persist import recover_interrupted, store_run
from timepoint.engine.run import Run
from timepoint.engine.simulation import Simulation
from timepoint.errors import SimulationError, TimepointError
from timepoint.kernel.context import RunContext
from timepoint.kernel.progress import ProgressSink
from timepoint.llm.base import LanguageModel
from timepoint.llm.config import BudgetConfig
from timepoint.llm.offline import OfflineModel
from timepoint.llm.usage import summarize_calls
from timepoint.report.run_files import narrative_files
from timepoint.scenario.schema import Scenario
from timepoint.settings import Settings
from timepoint.world.evidence import PlantedLeak
from timepoint.world.record import RunRecord, UsageSummary

if TYPE_CHECKING:
    from timepoint.llm.gateway import ModelGateway


class RunFailed(SimulationError):
    """A run stopped at a step; ``run`` holds the stored partial record (status ``failed``)."""

    def __init__(self, run: Run, cause: BaseException):
        self.run = run
        self.cause = cause
        record = run.record
        super().__init__(
            record.failed_step or "unknown",
            f"run {record.run_id} failed: {type(cause).__name__}: {cause} "
            f"(partial record kept in {run.folder})",
        )


class ReplicateGateway:
    """Gives replicate ``n`` of a configuration and seed its own request seed, so it gets its
    own answers (and cache entries) from any endpoint instead of replaying replicate 0."""

    def __init__(self, inner: Any, replicate: int):
        self.inner = inner
        self.replicate = replicate

    def complete(self, request: Any) -> Any:
        seed = replicate_seed(request.seed or 0, self.replicate)
        return self.inner.complete(request.model_copy(update={"seed": seed}))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def replicate_seed(seed: int, replicate: int) -> int:
    """The request seed of ``replicate`` of a run with ``seed`` (replicate 0 keeps ``seed``)."""
    if not replicate:
        return seed
    digest = hashlib.sha256(f"{seed}:{replicate}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def new_run_id(scenario: Scenario, seed: int) -> str:
    """Time plus a short hash; unique per execution."""
    now = datetime.now(UTC)
    material = f"{scenario.config_hash}:{seed}:{time.time_ns()}:{os.getpid()}:{os.urandom(4).hex()}"
    return f"{now:%Y%m%d-%H%M%S}-{hashlib.sha256(material.encode()).hexdigest()[:6]}"


def resolve_scenario(scenario: Scenario | str | Path) -> tuple[Scenario, Path]:
    if isinstance(scenario, Scenario):
        return scenario, Path.cwd()
    from timepoint.scenario.loader import load_scenario

    path = Path(scenario)
    return load_scenario(path), path.parent


def scenario_gateway(
    settings: Settings,
    scenario: Scenario,
    model: LanguageModel | None,
    *,
    seed: int,
    parent_budget: Any = None,
    spent: UsageSummary | None = None,
) -> ModelGateway:
    """The model gateway a run of ``scenario`` uses (also for branches and questions on it).

    Answers are cached under ``<home>/cache`` unless the model is the offline one (``model`` is
    ``None`` with offline settings, or a provider named ``offline``).

    Args:
        settings: environment settings.
        scenario: the scenario whose models and budget configure the gateway.
        model: the provider to use; ``None``: the one ``settings`` selects.
        seed: the seed of the offline model and of every request.
        parent_budget: a budget every call is also charged to (a batch job's).
        spent: what the run already spent; the budget's limits are lowered by it, so questions
            asked of a finished run spend under the run's own budget.
    """
    from timepoint.llm.gateway import build_gateway

    offline = model is None and settings.offline
    budget = scenario.budget
    if spent is not None:
        budget = remaining_budget(budget, spent)
    return build_gateway(
        settings,
        models=scenario.models,
        budget=budget,
        seed=seed,
        cache_dir=None
        if offline or getattr(model, "provider", "") == "offline"
        else Path(settings.home) / "cache",
        provider=model,
        parent_budget=parent_budget,
    )


def remaining_budget(budget: BudgetConfig, spent: UsageSummary) -> BudgetConfig:
    """What is left of ``budget`` after ``spent`` (never below zero; tokens at least one)."""
    tokens = spent.prompt_tokens + spent.completion_tokens
    return BudgetConfig(
        max_usd=None if budget.max_usd is None else max(0.0, budget.max_usd - spent.cost_usd),
        max_tokens=None if budget.max_tokens is None else max(1, budget.max_tokens - tokens),
    )


def run(
    scenario: Scenario | str | Path,
    model: LanguageModel | None = None,
    store: Any = None,
    seed: int | None = None,
    *,
    overrides: dict[str, Any] | None = None,
    settings: Settings | None = None,
    progress: ProgressSink | None = None,
    parent_budget: Any = None,
    replicate: int = 0,
) -> Run:
    """Simulate ``scenario`` and store the run.

    Args:
        scenario: a :class:`Scenario` or the path of a scenario YAML file.
        model: the provider to use; default: the offline model unless an API key is configured.
        store: a run store; default: the SQLite store under ``TIMEPOINT_HOME``.
        seed: overrides the scenario's seed.
        overrides: dotted-path overrides, e.g. ``{"timepoints.count": 2}``.
        settings: environment settings; default ``Settings.from_env()``.
        progress: a progress sink (the CLI passes a progress bar).
        parent_budget: a budget every call is also charged to (a batch job's).
        replicate: the replicate number of this run of a configuration and seed (batches).

    Raises:
        RunFailed: the run stopped; its partial record is stored with status ``failed``.
    """
    from timepoint.store import open_store

    resolved, base_dir = resolve_scenario(scenario)
    if overrides:
        resolved = resolved.with_overrides(overrides)
    if seed is not None and seed != resolved.seed:
        resolved = resolved.with_overrides({"seed": seed})
    settings = settings or Settings.from_env()
    home = Path(settings.home)
    store = store if store is not None else open_store(settings.db_url, home=home)
    recover_interrupted(home, store)
    if model is None and settings.offline:
        model = OfflineModel(seed=resolved.seed, leak_rate=resolved.mechanisms.leak_rate)
    gateway: Any = scenario_gateway(
        settings, resolved, model, seed=resolved.seed, parent_budget=parent_budget
    )
    if replicate:
        gateway = ReplicateGateway(gateway, replicate)
    ctx = RunContext(
        gateway=gateway,
        seed=resolved.seed,
        home=home,
        max_concurrency=resolved.models.max_concurrency,
        store=store,
        **({"progress": progress} if progress is not None else {}),
    )
    run_id = new_run_id(resolved, resolved.seed)
    started = datetime.now(UTC)
    sim = Simulation(resolved, ctx, base_dir=base_dir)
    failure: BaseException | None = None
    try:
        sim.run()
    except (TimepointError, ValueError, KeyError, AssertionError) as error:
        failure = error
    if isinstance(model, OfflineModel):
        record_planted_leaks(sim, model)
    record = sim.record(run_id, started, "failed" if failure else "completed", gateway.provider)
    if failure is None:
        from timepoint.report.summary import summarize

        record = sim.with_budget_report(summarize(record, sim.ctx.gateway, resolved.seed))
    record = finalize(record, gateway)
    return conclude(
        record, sim, gateway, failure, scenario=resolved, home=home, store=store, settings=settings
    )


def record_planted_leaks(sim: Simulation, model: OfflineModel) -> None:
    """Keep the leaks the offline model planted (``mechanisms.leak_rate``) with the run.

    They land in ``evidence.planted_leaks`` and the M4 ledger, so anyone can measure from a
    scenario file how many the validators caught.
    """
    if not model.planted_leaks:
        return
    sim.state.evidence.planted_leaks = [
        PlantedLeak(speaker=leak.speaker, fact_id=leak.fact_id, event=leak.event)
        for leak in model.planted_leaks
    ]
    sim.state.ledger.count("M4", "planted leaks", len(model.planted_leaks))


def conclude(
    record: RunRecord,
    sim: Simulation,
    gateway: Any,
    failure: BaseException | None,
    *,
    scenario: Scenario,
    home: Path,
    store: Any,
    settings: Settings,
) -> Run:
    """Store a finished simulation's ``record`` (with the failed step and error on failure).

    Args:
        record: the finalized record.
        sim: the simulation that produced it (its current step is the failed one).
        gateway: the run's gateway; its calls are written with the run.
        failure: the error that stopped the simulation, if any.
        scenario: the scenario simulated.
        home: the output home.
        store: the run store.
        settings: environment settings, kept on the returned run.

    Raises:
        RunFailed: ``failure`` is set; the stored partial run is attached.
    """
    if failure is not None:
        record = record.model_copy(
            update={"failed_step": sim.step, "error": f"{type(failure).__name__}: {failure}"}
        )
    folder = persist(record, scenario, gateway.calls(), home, store)
    result = Run(record, folder=folder, store=store, scenario=scenario, settings=settings)
    if failure is not None:
        raise RunFailed(result, failure) from failure
    return result


def finalize(record: RunRecord, gateway: Any) -> RunRecord:
    """Attach usage, model choices and the M18 ledger entry from the gateway."""
    from timepoint.world.record import LedgerEntry

    usage = summarize_calls(gateway.calls())
    choices = gateway.choices()
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


def persist(record: RunRecord, scenario: Scenario, calls: list, home: Path, store: Any) -> Path:
    """Write the run folder, then the store. The folder is complete or absent.

    The narrative is written as Markdown and JSON, and as PDF when ``outputs.formats`` asks
    for it; a PDF that cannot be built does not lose the run: the reason is kept in
    ``narrative_pdf_error``.
    """
    from timepoint.errors import ReportError

    detail, formats = scenario.outputs.detail, scenario.outputs.formats
    try:
        files = narrative_files(record, detail, formats)
    except ReportError as error:
        record = record.model_copy(update={"narrative_pdf_error": str(error)})
        files = narrative_files(record, detail, [f for f in formats if f != "pdf"])
    return store_run(home, record, scenario, calls, store, files)
