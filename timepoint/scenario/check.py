"""The checks ``timepoint validate`` and ``timepoint run`` both make before anything runs.

Loading validates the file against the schema (including each mechanism's settings and the
profile files); this adds what depends on the environment: the model ids a scenario names must
be in the model registry (shipped, plus ``TIMEPOINT_LLM_REGISTRY``) or be endpoint ids, and
``models.actions`` may only name actions the models are chosen for.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from timepoint.errors import ScenarioError, UnknownModelError
from timepoint.llm.base import ActionType
from timepoint.llm.config import ModelsConfig
from timepoint.llm.registry import Registry
from timepoint.scenario.loader import display_path, load_scenario
from timepoint.scenario.schema import Scenario
from timepoint.settings import Settings


def check_scenario_file(
    path: str | Path,
    overrides: Mapping[str, Any] | None = None,
    *,
    settings: Settings,
) -> Scenario:
    """Load ``path`` with ``overrides`` and check it as a run would.

    Raises:
        ScenarioError: one line per problem, naming the file (or ``--set``) and the field.
        ConfigurationError: the extra model registry of ``settings`` cannot be read.
    """
    scenario = load_scenario(path, overrides)
    problems = model_problems(scenario.models, Registry.load(settings.registry_path))
    if problems:
        label = display_path(path)
        raise ScenarioError([f"{label}: {problem}" for problem in problems])
    return scenario


def model_problems(models: ModelsConfig, registry: Registry) -> list[str]:
    """What in ``models`` a run's model gateway would refuse, one ``field: problem`` each."""
    problems = []
    known_actions = [a.value for a in ActionType]
    for action in models.actions:
        if action not in known_actions:
            close = difflib.get_close_matches(action, known_actions, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ";"
            problems.append(
                f"models.actions.{action}: unknown action{hint} allowed: {', '.join(known_actions)}"
            )
    named = [("models.model", models.model)]
    named += [(f"models.actions.{action}", model) for action, model in models.actions.items()]
    for field, model_id in named:
        if model_id and not is_endpoint_id(model_id) and model_id not in registry:
            problems.append(
                f"{field}: {UnknownModelError(model_id, registry.ids)}; or give an endpoint's own "
                "id (with '/' or ':', e.g. meta-llama/llama-3.3-70b-instruct)"
            )
    return problems


def is_endpoint_id(model_id: str) -> bool:
    """Ids with ``/`` or ``:`` are sent to the endpoint unchanged (as the gateway does)."""
    return "/" in model_id or ":" in model_id
