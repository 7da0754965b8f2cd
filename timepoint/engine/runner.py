"""``tp.run``: simulate a scenario and store the run, even when it fails (a thin verb over
:mod:`timepoint.engine.session`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from timepoint.engine.persist import recover_interrupted
from timepoint.engine.run import Run, RunFailed, finished
from timepoint.engine.session import open_session
from timepoint.kernel.progress import ProgressSink
from timepoint.llm.base import LanguageModel
from timepoint.llm.budget import Budget
from timepoint.scenario.loader import load_scenario
from timepoint.scenario.schema import Scenario
from timepoint.settings import Settings
from timepoint.store import Store

__all__ = ["RunFailed", "resolve_scenario", "run"]


def resolve_scenario(scenario: Scenario | str | Path) -> tuple[Scenario, Path]:
    """The scenario and the folder its relative paths are resolved against."""
    if isinstance(scenario, Scenario):
        return scenario, Path.cwd()
    path = Path(scenario)
    return load_scenario(path), path.parent


def run(
    scenario: Scenario | str | Path,
    model: LanguageModel | None = None,
    store: Store | None = None,
    seed: int | None = None,
    *,
    overrides: dict[str, Any] | None = None,
    settings: Settings | None = None,
    progress: ProgressSink | None = None,
    parent_budget: Budget | None = None,
    replicate: int = 0,
    run_id: str | None = None,
) -> Run:
    """Simulate ``scenario`` and store the run.

    Args:
        scenario: a :class:`Scenario` or the path of a scenario YAML file.
        model: the provider to use; default: the offline model unless an API key is configured.
        store: a run store; default: the SQLite store under ``TIMEPOINT_HOME``.
        seed: overrides the scenario's seed.
        overrides: dotted-path overrides, e.g. ``{"timepoints.count": 2}``.
        settings: environment settings; default: the ``TIMEPOINT_*`` environment variables.
        progress: a progress sink (the CLI passes a progress bar).
        parent_budget: a budget every call is also charged to (a batch job's).
        replicate: the replicate number of this run of a configuration and seed (batches).
        run_id: the id to store the run under (a batch job names it before it starts, so a
            resumed batch finds a run whose job was never recorded); default: a new one.

    Raises:
        RunFailed: the run stopped; its partial record is stored with status ``failed``.
    """
    resolved, base_dir = resolve_scenario(scenario)
    if overrides:
        resolved = resolved.with_overrides(overrides)
    if seed is not None and seed != resolved.seed:
        resolved = resolved.with_overrides({"seed": seed})
    session = open_session(
        resolved,
        settings=settings,
        store=store,
        model=model,
        progress=progress,
        parent_budget=parent_budget,
        replicate=replicate,
        base_dir=base_dir,
    )
    recover_interrupted(session.home, session.store)
    sim = session.simulation()
    return finished(session.execute(sim, sim.run, run_id=run_id))
