"""Roster profile files (``profile: people/ann.json``), checked when the scenario is loaded.

A profile is a JSON object with the fields of a known entity; the run merges it into the roster
entry (:mod:`timepoint.synthesis.population`). Checking it with the scenario means ``validate``
refuses what would stop a run: a missing file, a folder, a file that is not a JSON object, an
unknown key or a value of the wrong kind.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import Field, ValidationError, model_validator

from timepoint.errors import ScenarioError
from timepoint.problems import describe_errors
from timepoint.scenario.limits import read_text
from timepoint.scenario.schema import Frozen, Scenario
from timepoint.world.entity import CognitiveState, EntityKind, EntityRole, PhysicalState

_JSON_NAMES = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}


class Profile(Frozen):
    """What a profile file may hold (every field optional)."""

    name: str = ""
    description: str = ""
    traits: dict[str, float] = Field(default_factory=dict)
    knowledge: list[str] = Field(default_factory=list)
    voice: str = ""
    goals: list[str] = Field(default_factory=list)
    physical: PhysicalState | None = None
    cognitive: CognitiveState | None = None
    kind: EntityKind | None = None
    role: EntityRole | None = None

    @model_validator(mode="after")
    def _traits_in_range(self) -> Profile:
        for trait, value in self.traits.items():
            if not -1.0 <= value <= 1.0:
                raise ValueError(f"trait {trait!r}={value} must lie in [-1, 1]")
        return self


def profile_path(profile: str, base_dir: Path) -> Path:
    """Where ``profile:`` points: relative paths are read from the scenario's folder."""
    path = Path(profile)
    return path if path.is_absolute() else base_dir / path


def check_profiles(scenario: Scenario, base_dir: Path, label: str) -> None:
    """Read every roster profile of ``scenario`` as a run would, and check it.

    Args:
        scenario: the validated scenario.
        base_dir: the scenario file's folder.
        label: how to name the scenario in messages.

    Raises:
        ScenarioError: one line per unusable profile, naming the roster entry and the file.
    """
    problems: list[str] = []
    for index, entry in enumerate(scenario.entities.roster):
        if entry.profile is None:
            continue
        where = f"{label}: entities.roster[{index}].profile"
        path = profile_path(entry.profile, base_dir)
        if path.is_dir():
            problems.append(f"{where}: {path} is a folder; point it at a JSON file")
            continue
        if not path.is_file():
            problems.append(f"{where}: {path} does not exist; fix the path (relative to {label})")
            continue
        try:
            data = json.loads(read_text(path, str(path)))
        except ScenarioError as error:
            problems += error.problems
            continue
        except (json.JSONDecodeError, RecursionError) as error:
            at = f":{error.lineno}:{error.colno}" if isinstance(error, json.JSONDecodeError) else ""
            problems.append(f"{path}{at}: not valid JSON ({error}); fix the profile file")
            continue
        if not isinstance(data, dict):
            kind = _JSON_NAMES.get(type(data), "value")
            problems.append(
                f"{path}: holds a JSON {kind}, not an object; write "
                '{"name": …, "description": …} (profile of entities.roster'
                f"[{index}] in {label})"
            )
            continue
        try:
            Profile.model_validate(data)
        except ValidationError as error:
            problems += describe_errors(error, Profile, str(path))
    if problems:
        raise ScenarioError(problems)
