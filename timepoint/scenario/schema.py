"""The scenario schema (SPEC §3): frozen, extra-forbidding pydantic models.

A scenario file is YAML; ``extends:`` is resolved by :mod:`timepoint.scenario.loader` before
validation, so the models here never see it. The ``temporal:`` section lives in
:mod:`timepoint.scenario.temporal` and the sections' base in :mod:`timepoint.scenario.frozen`;
both are re-exported here, so ``timepoint.scenario.schema`` names every part of a scenario.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails

from timepoint.errors import ScenarioError
from timepoint.llm.config import BudgetConfig, ModelsConfig
from timepoint.problems import describe_errors
from timepoint.scenario.clock import TimeUnit, advance
from timepoint.scenario.frozen import MAX_TEXT as MAX_TEXT
from timepoint.scenario.frozen import Frozen as Frozen
from timepoint.scenario.limits import MAX_PAIR_TIMEPOINTS as MAX_PAIR_TIMEPOINTS
from timepoint.scenario.limits import entity_pairs as entity_pairs
from timepoint.scenario.limits import size_problem as size_problem
from timepoint.scenario.mechanisms import MECHANISM_IDS, settings_model
from timepoint.scenario.overrides import apply_overrides
from timepoint.scenario.temporal import NO_EXPANSION as NO_EXPANSION
from timepoint.scenario.temporal import BranchingConfig as BranchingConfig
from timepoint.scenario.temporal import CyclicalConfig as CyclicalConfig
from timepoint.scenario.temporal import DirectorialConfig as DirectorialConfig
from timepoint.scenario.temporal import NonlinearConfig as NonlinearConfig
from timepoint.scenario.temporal import PortalConfig as PortalConfig
from timepoint.scenario.temporal import PortalWeights as PortalWeights
from timepoint.scenario.temporal import TemporalConfig as TemporalConfig
from timepoint.scenario.temporal import TemporalMode as TemporalMode
from timepoint.world.entity import CognitiveState, EntityKind, EntityRole, PhysicalState
from timepoint.world.resolution import ResolutionLevel

#: the scenario format this version reads
SCHEMA_VERSION = 1
MAX_TITLE = 200
MAX_DESCRIPTION = 5_000
#: what the run store (a signed 64-bit integer column) can hold
SEED_RANGE = (-(2**63), 2**63 - 1)


class FidelityTemplate(StrEnum):
    MINIMAL = "minimal"
    BALANCED = "balanced"
    HIGH_QUALITY = "high_quality"
    MAXIMUM = "maximum"
    DRAMATIC = "dramatic"
    PORTAL_PIVOTS = "portal_pivots"


#: names of the earlier Timepoint's fidelity templates that are ours under another name
TEMPLATE_ALIASES = {"minimalist": "minimal", "max_quality": "maximum"}


class PlanningMode(StrEnum):
    PROGRAMMATIC = "programmatic"
    ADAPTIVE = "adaptive"
    HYBRID = "hybrid"


class BudgetMode(StrEnum):
    HARD = "hard"
    SOFT = "soft"
    MAX_QUALITY = "max_quality"


class OutputFormat(StrEnum):
    MARKDOWN = "markdown"
    JSON = "json"
    PDF = "pdf"


class RelationKind(StrEnum):
    FAMILY = "family"
    ALLY = "ally"
    MENTOR = "mentor"
    FRIEND = "friend"
    COLLEAGUE = "colleague"
    ACQUAINTANCE = "acquaintance"
    NEUTRAL = "neutral"
    RIVAL = "rival"
    ENEMY = "enemy"


class RosterEntity(Frozen):
    """A named entity. Anything left out is filled by the model (entity population)."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)
    name: str | None = None
    kind: EntityKind = EntityKind.HUMAN
    role: EntityRole = EntityRole.SECONDARY
    description: str = ""
    traits: dict[str, float] = Field(default_factory=dict)
    knowledge: list[str] = Field(default_factory=list)
    voice: str = ""
    goals: list[str] = Field(default_factory=list)
    constraints: list[str] = Field(default_factory=list)
    physical: PhysicalState | None = None
    cognitive: CognitiveState | None = None
    profile: str | None = None
    plans: bool = False

    @model_validator(mode="after")
    def _traits_in_range(self) -> RosterEntity:
        for trait, value in self.traits.items():
            if not -1.0 <= value <= 1.0:
                raise ValueError(f"trait {trait!r}={value} must lie in [-1, 1]")
        return self


class Relation(Frozen):
    a: str
    b: str
    kind: RelationKind = RelationKind.NEUTRAL

    @model_validator(mode="after")
    def _two_ends(self) -> Relation:
        if self.a == self.b:
            raise ValueError(f"relation links {self.a!r} to itself; name two different entities")
        return self


class EntitiesConfig(Frozen):
    count: int = Field(3, ge=1, le=500)
    kinds: list[EntityKind] = Field(default_factory=lambda: [EntityKind.HUMAN], min_length=1)
    animism: int = Field(0, ge=0, le=6)
    initial_resolution: ResolutionLevel = ResolutionLevel.SCENE
    roster: list[RosterEntity] = Field(default_factory=list)
    relations: list[Relation] = Field(default_factory=list)

    @model_validator(mode="after")
    def _roster_consistent(self) -> EntitiesConfig:
        ids = [e.id for e in self.roster]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"roster ids must be unique; repeated: {', '.join(duplicates)}")
        if len(self.roster) > self.count:
            raise ValueError(f"count={self.count} is smaller than the roster ({len(ids)} entities)")
        known = set(ids)
        for rel in self.relations:
            for end in (rel.a, rel.b):
                if known and end not in known:
                    raise ValueError(
                        f"relation names {end!r}, not in the roster ({', '.join(ids)})"
                    )
        return self


class TimepointsConfig(Frozen):
    count: int = Field(3, ge=1, le=200)
    start: datetime = datetime.fromisoformat("2025-01-01T09:00:00+00:00")
    step: int = Field(1, ge=1)
    unit: TimeUnit = TimeUnit.HOUR
    before: int = Field(0, ge=0, le=10)
    after: int = Field(0, ge=0, le=10)
    expand: list[int] = Field(default_factory=list)
    location: str = ""
    events: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _aware(self) -> TimepointsConfig:
        if self.start.tzinfo is None:
            raise ValueError("start must carry a timezone, e.g. 1790-06-20T18:00:00-04:00")
        return self

    @model_validator(mode="after")
    def _fits_the_calendar(self) -> TimepointsConfig:
        try:
            first = self.start - (advance(self.start, self.step, self.unit) - self.start) / 2
            last = advance(self.start, self.count * self.step, self.unit)
            first.astimezone(UTC), last.astimezone(UTC)
        except (OverflowError, ValueError):
            raise ValueError(
                f"{self.count} timepoints of {self.step} {self.unit.value}(s) from "
                f"{self.start.isoformat()} leave the years 1 to 9999; "
                "lower step or count, or move start"
            ) from None
        return self

    @model_validator(mode="after")
    def _indexes_exist(self) -> TimepointsConfig:
        outside = [i for i in self.expand if not 0 <= i < self.count]
        if outside:
            raise ValueError(
                f"expand names timepoints {outside}, but the indexes run from 0 to "
                f"{self.count - 1} (count={self.count})"
            )
        return self


class FidelityConfig(Frozen):
    template: FidelityTemplate = FidelityTemplate.BALANCED
    planning: PlanningMode = PlanningMode.HYBRID
    token_budget: int | None = Field(None, ge=1, le=10**12)
    budget_mode: BudgetMode = BudgetMode.SOFT

    @field_validator("template", mode="before")
    @classmethod
    def _earlier_names(cls, template: Any) -> Any:
        return TEMPLATE_ALIASES.get(template, template) if isinstance(template, str) else template


class OutputsConfig(Frozen):
    formats: list[OutputFormat] = Field(
        default_factory=lambda: [OutputFormat.MARKDOWN, OutputFormat.JSON]
    )
    detail: str = Field("summary", pattern="^(minimal|summary|comprehensive)$")
    training_export: bool = False


class MechanismsConfig(Frozen):
    """Per-mechanism switches and constants. Keys are mechanism ids like ``m14``."""

    disabled: list[str] = Field(default_factory=list)
    leak_rate: float = Field(0.0, ge=0, le=1)
    repair_violations: bool = True
    settings: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("disabled")
    @classmethod
    def _known_mechanisms(cls, disabled: list[str]) -> list[str]:
        for mechanism in disabled:
            _check_mechanism_id(mechanism)
        return disabled

    @field_validator("settings")
    @classmethod
    def _settings_as_the_run_reads_them(
        cls, settings: dict[str, dict[str, Any]]
    ) -> dict[str, dict[str, Any]]:
        problems: list[InitErrorDetails] = []
        for mechanism, raw in settings.items():
            if re.fullmatch(r"m\d+", mechanism.lower()):
                _check_mechanism_id(mechanism)
            model = settings_model(mechanism) if raw else None
            if model is None:
                continue
            try:
                model.model_validate(raw)
            except ValidationError as error:
                problems += [
                    InitErrorDetails(
                        type=e["type"],
                        loc=(mechanism, *e["loc"]),
                        input=e.get("input"),
                        ctx=e.get("ctx", {}),
                    )
                    for e in error.errors()
                ]
        if problems:
            raise ValidationError.from_exception_data(cls.__name__, problems)
        return settings

    def enabled(self, mechanism: str) -> bool:
        return mechanism.lower() not in {m.lower() for m in self.disabled}


def _check_mechanism_id(mechanism: str) -> None:
    if mechanism.lower() not in MECHANISM_IDS:
        raise ValueError(
            f"{mechanism!r} is not a mechanism; the mechanisms are m1 to m18"
            f"{_did_you_mean(mechanism.lower(), list(MECHANISM_IDS))}"
        )


def _did_you_mean(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ";"
    return f"{hint} allowed: {', '.join(known)}"


class Scenario(Frozen):
    """A complete, resolved scenario."""

    schema_version: int = SCHEMA_VERSION
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)
    title: str = Field(min_length=1, max_length=MAX_TITLE)
    description: str = Field(max_length=MAX_DESCRIPTION)
    seed: int = Field(0, ge=SEED_RANGE[0], le=SEED_RANGE[1])
    entities: EntitiesConfig = Field(default_factory=EntitiesConfig)
    timepoints: TimepointsConfig = Field(default_factory=TimepointsConfig)
    temporal: TemporalConfig = Field(default_factory=TemporalConfig)
    fidelity: FidelityConfig = Field(default_factory=FidelityConfig)
    models: ModelsConfig = Field(default_factory=ModelsConfig)
    budget: BudgetConfig = Field(default_factory=BudgetConfig)
    outputs: OutputsConfig = Field(default_factory=OutputsConfig)
    mechanisms: MechanismsConfig = Field(default_factory=MechanismsConfig)

    @field_validator("schema_version")
    @classmethod
    def _supported_version(cls, version: int) -> int:
        if version != SCHEMA_VERSION:
            raise ValueError(
                f"schema_version {version} is not one this version of Timepoint reads; "
                f"write schema_version: {SCHEMA_VERSION} (or leave it out)"
            )
        return version

    @model_validator(mode="after")
    def _expansion_has_meaning(self) -> Scenario:
        cfg, mode = self.timepoints, self.temporal.mode
        reason = NO_EXPANSION.get(mode)
        if reason is None or not (cfg.before or cfg.after or cfg.expand):
            return self
        field = "before" if cfg.before else "after" if cfg.after else "expand"
        problem = (
            f"vertical expansion (timepoints.before/after/expand) has no meaning in {mode.value} "
            f"mode: {reason}; set timepoints.before and after to 0 and expand to [], or use "
            "mode pearl, directorial, nonlinear or cyclical"
        )
        raise ValidationError.from_exception_data(
            type(self).__name__,
            [
                InitErrorDetails(
                    type="value_error",
                    loc=("timepoints", field),
                    input=getattr(cfg, field),
                    ctx={"error": ValueError(problem)},
                )
            ],
        )

    @model_validator(mode="after")
    def _within_the_size_limit(self) -> Scenario:
        problem = size_problem(self.entities.count, self.timepoints.count)
        if problem:
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [
                    InitErrorDetails(
                        type="value_error",
                        loc=("entities", "count"),
                        input=self.entities.count,
                        ctx={"error": ValueError(problem)},
                    )
                ],
            )
        return self

    @property
    def config_hash(self) -> str:
        """sha256 of the canonical resolved scenario (sorted keys, no whitespace)."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def with_overrides(self, overrides: dict[str, Any]) -> Scenario:
        """A new scenario with dotted-path overrides applied, e.g. ``{"timepoints.count": 2}``.

        Paths walk mappings by key and lists by index (``entities.roster.0.name``).

        Raises:
            ScenarioError: one ``--set …`` line per override that does not fit the schema.
        """
        data = apply_overrides(self.model_dump(mode="json"), overrides, Scenario)
        try:
            return Scenario.model_validate(data)
        except ValidationError as error:
            raise ScenarioError(describe_errors(error, Scenario, "--set")) from None
