"""What mechanisms keep beside the records for other mechanisms, branches, questions and reports.

A mechanism that leaves evidence another part reads keeps it in a typed field of
:class:`MechanismEvidence` (``WorldState.evidence`` during a run, ``RunRecord.evidence`` after):
animism behaviours (M16) and circadian readings (M14) that scenes and validators read, the
elevations (M2) and tensor codebook (M6) that questions extend, history summaries (M7) that the
executive summary reuses, the entity snapshots (M12) a branch rewinds to, and so on. Rows are
frozen; the containers grow as the run goes on.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from timepoint.world.entity import CognitiveState, PhysicalState
from timepoint.world.resolution import ResolutionLevel
from timepoint.world.tensors import TensorStore


class Row(BaseModel):
    """One piece of evidence: extra keys forbidden, copies instead of mutation."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class AnimismRow(Row):
    """M16: what a non-human entity does at a timepoint and how it bears on the scene."""

    entity_id: str
    name: str
    kind: str
    narrated: bool
    action: str
    influence: str
    target: str = ""
    tension_effect: float = 0.0


class CircadianReading(Row):
    """M14: whether an entity is plausibly active at a timepoint, and what acting costs there."""

    entity_id: str
    hour: int
    body_hour: int
    activity: str
    probability: float
    sleep_probability: float
    asleep: bool
    night: bool
    hours_awake: float
    fatigue_factor: float
    cost_factor: float
    reason: str


class CircadianRow(CircadianReading):
    """M14: an entity's circadian reading at a timepoint and the energy it spent there."""

    energy_before: float
    budget: float
    spent: float
    turns: int = 0
    energy_after: float


class Elevation(Row):
    """M2: one entity raised at one timepoint, with the knowledge it gained."""

    entity_id: str
    timepoint_id: str
    from_level: ResolutionLevel
    to_level: ResolutionLevel
    cell_before: ResolutionLevel
    trigger: str
    fact_ids: list[str]
    tokens: int
    on_demand: bool = False


class ChainSummary(Row):
    """M7: the summary of a causal chain through ``timepoint_id`` (its first ``covers`` steps)."""

    timepoint_id: str
    covers: int
    after: str | None = None
    text: str
    tokens: int
    model: str


class EntitySnapshot(Row):
    """M12: the part of an entity that changes during generation, as it was at one moment."""

    resolution: ResolutionLevel
    traits: dict[str, float] = Field(default_factory=dict)
    physical: PhysicalState
    cognitive: CognitiveState
    training_iterations: int = 0


class TraitSnapshot(Row):
    """M4: an entity's traits and training iterations at a timepoint (behavioural inertia)."""

    traits: dict[str, float] = Field(default_factory=dict)
    training: int = 0


class TraitCause(Row):
    """M4: a declared reason for ``entity_id``'s traits to change at ``timepoint_id``."""

    entity_id: str
    timepoint_id: str
    cause: str


class Contradiction(Row):
    """M13: ``a`` holds ``fact_a`` while ``b`` holds the contradicting ``fact_b``."""

    a: str
    b: str
    fact_a: str
    fact_b: str
    timepoint_id: str


class ExpectationAccuracy(Row):
    """M15: how one entity's scored expectations turned out."""

    scored: int
    fulfilled: int
    hit_rate: float
    brier: float


class PlantedLeak(Row):
    """A knowledge leak the offline model planted on purpose (``mechanisms.leak_rate``)."""

    speaker: str
    fact_id: str
    event: str


class ScheduledStep(Row):
    """One step of the fidelity plan: planned importance and the highest level allowed."""

    index: int
    importance: float
    cap: ResolutionLevel
    key: bool
    #: the step's part under the ``portal_pivots`` template (endpoint, origin, pivot, bridge,
    #: checkpoint); None under the other templates
    part: str | None = None


class FidelitySchedule(Row):
    """The fidelity plan a temporal mode followed."""

    template: str
    planning: str
    mode: str
    mode_multiplier: float
    token_ceiling: int
    steps: list[ScheduledStep] = Field(default_factory=list)


class BudgetDowngrade(Row):
    """Fidelity lowered to ``level`` before timepoint ``before`` was planned."""

    level: int
    before: str
    spent: int


class BudgetReport(Row):
    """The token budget at the end of a run: limit, spend, warnings, downgrades, refusals."""

    limit: int
    mode: str
    cap: int | None = None
    spent: int
    used_share: float
    over_budget: bool
    calls: int
    warnings: list[str] = Field(default_factory=list)
    downgrades: list[BudgetDowngrade] = Field(default_factory=list)
    refused: list[str] = Field(default_factory=list)
    overspent: str | None = None


class BranchOrigin(Row):
    """M12: the run a branch was copied from, where, and what was changed there."""

    parent_run: str
    at: str
    intervention: dict[str, Any] = Field(default_factory=dict)
    copied: list[str] = Field(default_factory=list)


class MechanismEvidence(BaseModel):
    """Evidence mechanisms keep beside the records, one typed field per kind.

    Attributes:
        animism: M16 behaviours per timepoint id.
        circadian: M14 readings per timepoint id, then entity id.
        training: M2 elevations, in the order they happened (questions add theirs).
        tensors: the M6 codebook, per-entity codes, quality and size (``None`` without M6).
        history_summaries: M7 summaries of older history, reused by later prompts and the report.
        entity_states: M12 entity snapshots per timepoint id (``initial``: after population).
        trait_snapshots: M4 traits per timepoint id, then entity id.
        trait_causes: M4 declared reasons for trait changes.
        contradictions: M13 contradicting beliefs found so far.
        relationship_trends: M13 trend per timeline id, then pair ``a~b``.
        expectation_accuracy: M15 scores per entity id.
        planted_leaks: leaks the offline model planted.
        fidelity_schedule: the fidelity plan the mode followed.
        token_budget: the token budget's final report, when the scenario sets one.
        ignored_settings: unknown ``mechanisms.settings`` keys per mechanism, with hints.
    """

    model_config = ConfigDict(extra="forbid")

    animism: dict[str, list[AnimismRow]] = Field(default_factory=dict)
    circadian: dict[str, dict[str, CircadianRow]] = Field(default_factory=dict)
    training: list[Elevation] = Field(default_factory=list)
    tensors: TensorStore | None = None
    history_summaries: list[ChainSummary] = Field(default_factory=list)
    entity_states: dict[str, dict[str, EntitySnapshot]] = Field(default_factory=dict)
    trait_snapshots: dict[str, dict[str, TraitSnapshot]] = Field(default_factory=dict)
    trait_causes: list[TraitCause] = Field(default_factory=list)
    contradictions: list[Contradiction] = Field(default_factory=list)
    relationship_trends: dict[str, dict[str, str]] = Field(default_factory=dict)
    expectation_accuracy: dict[str, ExpectationAccuracy] = Field(default_factory=dict)
    planted_leaks: list[PlantedLeak] = Field(default_factory=list)
    fidelity_schedule: FidelitySchedule | None = None
    token_budget: BudgetReport | None = None
    ignored_settings: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("tensors", mode="before")
    @classmethod
    def _no_empty_store(cls, value: Any) -> Any:
        """Older records kept a run without entities as an empty mapping."""
        return None if value == {} else value

    def rewound(self, keep: Collection[str]) -> MechanismEvidence:
        """The per-timepoint evidence of the timepoints in ``keep``, where a branch starts.

        Run-level evidence (elevations, tensors, trends, accuracy, plans, budget, settings
        notes) is left out: the branch computes its own.
        """
        return MechanismEvidence(
            animism={k: list(v) for k, v in self.animism.items() if k in keep},
            circadian={k: dict(v) for k, v in self.circadian.items() if k in keep},
            history_summaries=[s for s in self.history_summaries if s.timepoint_id in keep],
            entity_states={
                k: dict(v) for k, v in self.entity_states.items() if k in keep or k == "initial"
            },
            trait_snapshots={k: dict(v) for k, v in self.trait_snapshots.items() if k in keep},
            trait_causes=[c for c in self.trait_causes if c.timepoint_id in keep],
            contradictions=[c for c in self.contradictions if c.timepoint_id in keep],
        )


#: ``RunRecord.extras`` keys of records written before the evidence had typed fields
EVIDENCE_KEYS = frozenset(MechanismEvidence.model_fields)
#: old ``extras`` keys that became fields of the run record itself
RECORD_KEYS = frozenset({"branch", "summary_source", "narrative_pdf_error"})


def upgrade_extras(data: dict[str, Any]) -> dict[str, Any]:
    """A stored record's data with evidence kept under old ``extras`` keys moved to its fields.

    Evidence keys go to ``evidence``; ``branch``, ``summary_source`` and
    ``narrative_pdf_error`` to the record's own fields. Other keys stay in ``extras``, and so
    does an old value that does not fit its field, so that the record still loads.
    """
    extras = data.get("extras")
    if not isinstance(extras, dict):
        return data
    moved = {k for k in extras if k in EVIDENCE_KEYS or k in RECORD_KEYS}
    if not moved:
        return data
    evidence = data.get("evidence") or {}
    if isinstance(evidence, BaseModel):
        evidence = evidence.model_dump()
    evidence = dict(evidence)
    kept = dict(extras)
    upgraded = dict(data)
    for key in sorted(moved & EVIDENCE_KEYS - set(evidence)):
        evidence[key] = kept.pop(key)
    for key in sorted(_misfits(evidence) & moved):
        kept[key] = evidence.pop(key)
    for key in sorted(moved & RECORD_KEYS - set(data)):
        if key != "branch" or _fits_branch(kept[key]):
            upgraded[key] = kept.pop(key)
    upgraded["evidence"] = evidence
    upgraded["extras"] = kept
    return upgraded


def _misfits(evidence: dict[str, Any]) -> set[str]:
    """Fields of ``evidence`` whose values do not validate."""
    try:
        MechanismEvidence.model_validate(evidence)
    except ValidationError as error:
        return {str(e["loc"][0]) for e in error.errors() if e["loc"]}
    return set()


def _fits_branch(value: Any) -> bool:
    try:
        BranchOrigin.model_validate(value)
    except ValidationError:
        return False
    return True
