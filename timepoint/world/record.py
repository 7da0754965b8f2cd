"""The run record: everything a run produced, as written to ``run.json`` and the store."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from timepoint.errors import RestoreError
from timepoint.world import (
    Dialog,
    Entity,
    ExposureEvent,
    ProspectiveState,
    Relationship,
    ResolutionLevel,
    Scene,
    Timeline,
    Timepoint,
)
from timepoint.world.evidence import BranchOrigin, MechanismEvidence, upgrade_extras


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LedgerEntry(Model):
    """Evidence that a mechanism had an effect: ``M3: 142 exposure events from 4 sources``."""

    mechanism: str
    summary: str
    counts: dict[str, float] = Field(default_factory=dict)


class ValidationResult(Model):
    validator: str
    target: str
    ok: bool
    message: str = ""
    entity_id: str | None = None
    timepoint_id: str | None = None
    fact_id: str | None = None
    repaired: bool = False


class FidelityCell(Model):
    entity_id: str
    timepoint_id: str
    resolution: ResolutionLevel
    tokens: int = 0


class ActionUsage(Model):
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0


class UsageSummary(Model):
    """What a run spent. ``calls``, tokens and cost include the on-demand work questions
    (``run.ask``) added later; ``on_demand_calls``/``on_demand_tokens``/``on_demand_cost_usd``
    are that part, ``generation_tokens`` the run's own generation."""

    calls: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    generation_tokens: int = 0
    on_demand_tokens: int = 0
    on_demand_calls: int = 0
    on_demand_cost_usd: float = 0.0
    by_action: dict[str, ActionUsage] = Field(default_factory=dict)
    by_model: dict[str, ActionUsage] = Field(default_factory=dict)


class ModelChoice(Model):
    action: str
    model: str
    reason: str
    fallbacks: list[str] = Field(default_factory=list)


class PathInfo(Model):
    timeline_id: str
    score: float
    rank: int
    pivots: list[str] = Field(default_factory=list)
    components: dict[str, float] = Field(default_factory=dict)
    warning: str | None = None


class Answer(Model):
    question: str
    entity_id: str | None
    timepoint_id: str | None
    kind: str
    text: str
    citations: list[str] = Field(default_factory=list)
    elevated: list[str] = Field(default_factory=list)
    tokens: int = 0
    #: the id its asker gave the question (a service work id): asked again, it is this answer
    request_id: str | None = None


class RunRecord(Model):
    """The full record of one run. ``status`` is ``running``, ``completed`` or ``failed``.

    ``evidence`` holds what mechanisms kept for each other, branches, questions and reports;
    ``branch`` says where a branch came from; ``summary_source`` how ``summary`` was written
    (``model <name>`` or ``template (<why>)``); ``narrative_pdf_error`` why a requested PDF is
    missing. ``extras`` holds free-form notes nothing else reads (the temporal mode's plan).
    Records written when these lived under ``extras`` keys load into the fields.
    """

    schema_version: int = 1
    run_id: str
    status: str = "running"
    failed_step: str | None = None
    error: str | None = None
    scenario_id: str
    title: str
    description: str = ""
    mode: str
    seed: int
    config_hash: str
    provider: str
    started: datetime
    finished: datetime | None = None
    duration_s: float | None = None
    entities: list[Entity] = Field(default_factory=list)
    timelines: list[Timeline] = Field(default_factory=list)
    timepoints: list[Timepoint] = Field(default_factory=list)
    exposures: list[ExposureEvent] = Field(default_factory=list)
    dialogs: list[Dialog] = Field(default_factory=list)
    relationships: list[Relationship] = Field(default_factory=list)
    scenes: list[Scene] = Field(default_factory=list)
    prospection: list[ProspectiveState] = Field(default_factory=list)
    fidelity: list[FidelityCell] = Field(default_factory=list)
    mechanisms: list[LedgerEntry] = Field(default_factory=list)
    validation: list[ValidationResult] = Field(default_factory=list)
    usage: UsageSummary = Field(default_factory=UsageSummary)
    model_selection: list[ModelChoice] = Field(default_factory=list)
    paths: list[PathInfo] = Field(default_factory=list)
    answers: list[Answer] = Field(default_factory=list)
    evidence: MechanismEvidence = Field(default_factory=MechanismEvidence)
    branch: BranchOrigin | None = None
    summary_source: str = "template"
    narrative_pdf_error: str | None = None
    extras: dict[str, Any] = Field(default_factory=dict)
    narrative: str = ""
    summary: str = ""

    @model_validator(mode="before")
    @classmethod
    def _typed_evidence(cls, data: Any) -> Any:
        """Move evidence that older records kept under ``extras`` keys to its fields."""
        return upgrade_extras(data) if isinstance(data, dict) else data

    @property
    def main_timeline(self) -> Timeline | None:
        return next((t for t in self.timelines if t.id == "main"), None)


def timeline_order(record: RunRecord, timeline_id: str = "main") -> list[Timepoint]:
    """The timepoints of one timeline in order (all timepoints when the timeline is missing)."""
    by_id = {t.id: t for t in record.timepoints}
    timeline = next((t for t in record.timelines if t.id == timeline_id), None)
    if timeline is None:
        if timeline_id != "main":
            known = ", ".join(t.id for t in record.timelines) or "none"
            raise RestoreError(
                f"run {record.run_id} has no timeline {timeline_id!r}; known: {known}"
            )
        return list(record.timepoints)
    return [by_id[i] for i in timeline.timepoint_ids if i in by_id]
