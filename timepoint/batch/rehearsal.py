"""Rehearsals: a configuration run with the offline model in a throwaway folder, its calls and
tokens counted per action.

A rehearsal measures the prompts the engine really builds (see :mod:`timepoint.batch.estimate`)
and calls no endpoint; the folder and its store are removed afterwards.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from timepoint.engine.runner import RunFailed, run
from timepoint.llm.offline import OfflineModel
from timepoint.scenario.schema import Scenario
from timepoint.settings import Settings
from timepoint.store import open_store


def rehearse(
    scenario: Scenario, settings: Settings, seed: int = 0
) -> dict[str, tuple[int, int, int]] | None:
    """(calls, prompt tokens, completion tokens) per action of an offline run of ``scenario``
    with ``seed``.

    The run goes to a temporary folder that is removed afterwards; it uses the settings' forced
    model and registry, so the gateway chooses models as it would. ``None`` when the run cannot
    start (a configuration the offline model cannot run); a run that fails part-way counts the
    calls it made.
    """

    rehearsed = scenario.model_copy(update={"seed": seed})
    with tempfile.TemporaryDirectory(prefix="timepoint-estimate-") as home:
        quiet = Settings(
            home=Path(home), model=settings.model, registry_path=settings.registry_path
        )
        store = open_store(home=Path(home))
        model = OfflineModel(seed=seed, leak_rate=scenario.mechanisms.leak_rate)
        try:
            record = run(rehearsed, model=model, store=store, settings=quiet).record
        except RunFailed as failure:
            record = failure.run.record
        except Exception:
            return None
        finally:
            store.close()
    return {
        action: (usage.calls, usage.prompt_tokens, usage.completion_tokens)
        for action, usage in record.usage.by_action.items()
        if usage.calls
    }
