"""Interventions of counterfactual branching (M12): what changes in the world at a branch point.

The verb :func:`timepoint.engine.branch.branch` (``run.branch``) copies a run up to a
timepoint, applies an intervention from here and re-simulates forward:
``run.branch(at="tp_001", intervention=Intervention.remove("hamilton"))`` keeps the timepoints
before ``tp_001`` exactly as they were (with their exposures, dialogs, scenes and relationships),
applies the intervention to that world, and lets the temporal mode generate ``tp_001`` onwards
again. The branch is stored as a run of its own; its main timeline names the parent run, the
branch point and the intervention. :func:`timepoint.time.comparison.compare` reports how two
histories differ.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from timepoint.errors import BranchError
from timepoint.kernel.state import WorldState
from timepoint.world import Entity, ExposureEvent
from timepoint.world.exposure import ExposureLog, make_fact

#: fields of an entity an intervention may modify (dotted below the nested ones)
MODIFIABLE = ("name", "description", "role", "kind", "voice", "goals", "constraints")
MODIFIABLE_NESTED = ("traits", "physical", "cognitive")


class InterventionKind(StrEnum):
    REMOVE_ENTITY = "remove_entity"
    MODIFY_ENTITY = "modify_entity"
    CANCEL_EVENT = "cancel_event"
    ALTER_KNOWLEDGE = "alter_knowledge"


class Intervention(BaseModel):
    """What changes at the branch point. Build one with the class methods.

    Examples:
        >>> Intervention.remove("hamilton").describe()
        'remove entity hamilton'
        >>> Intervention.modify("madison", {"physical.pain": 0.9}).describe()
        'modify madison: physical.pain=0.9'
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: InterventionKind
    entity: str | None = None
    changes: dict[str, Any] = Field(default_factory=dict)
    fact: str | None = None
    text: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> Intervention:
        kind = self.kind
        needs_entity = (InterventionKind.REMOVE_ENTITY, InterventionKind.MODIFY_ENTITY)
        if kind in needs_entity and not self.entity:
            raise ValueError(f"{kind.value} needs 'entity' (an entity id)")
        if kind is InterventionKind.MODIFY_ENTITY and not self.changes:
            raise ValueError("modify_entity needs 'changes', e.g. {'physical.pain': 0.9}")
        if kind is InterventionKind.ALTER_KNOWLEDGE and not (self.fact and self.text):
            raise ValueError("alter_knowledge needs 'fact' (id or text fragment) and 'text'")
        return self

    @classmethod
    def remove(cls, entity: str) -> Intervention:
        """The entity is absent from the branch point on."""
        return cls(kind=InterventionKind.REMOVE_ENTITY, entity=entity)

    @classmethod
    def modify(cls, entity: str, changes: dict[str, Any]) -> Intervention:
        """Change entity fields, e.g. ``{"role": "background", "traits.agreeableness": -0.8}``."""
        return cls(kind=InterventionKind.MODIFY_ENTITY, entity=entity, changes=dict(changes))

    @classmethod
    def cancel_event(cls) -> Intervention:
        """The event at the branch point does not happen; history resumes from its parent."""
        return cls(kind=InterventionKind.CANCEL_EVENT)

    @classmethod
    def alter(cls, fact: str, text: str, entity: str | None = None) -> Intervention:
        """Holders of ``fact`` (or only ``entity``) hold ``text`` instead."""
        return cls(kind=InterventionKind.ALTER_KNOWLEDGE, fact=fact, text=text, entity=entity)

    def describe(self) -> str:
        """One line for timelines, ledgers and reports."""
        if self.kind is InterventionKind.REMOVE_ENTITY:
            return f"remove entity {self.entity}"
        if self.kind is InterventionKind.MODIFY_ENTITY:
            pairs = ", ".join(f"{k}={v}" for k, v in self.changes.items())
            return f"modify {self.entity}: {pairs}"
        if self.kind is InterventionKind.CANCEL_EVENT:
            return "cancel the event"
        holder = f" for {self.entity}" if self.entity else ""
        return f"alter knowledge{holder}: {self.fact!r} becomes {self.text!r}"


def apply_intervention(state: WorldState, intervention: Intervention) -> str:
    """Change ``state`` as ``intervention`` says; returns what was done, for the ledger.

    Raises:
        BranchError: the entity or fact does not exist, or a modified field is not allowed.
    """
    kind = intervention.kind
    if kind is InterventionKind.CANCEL_EVENT:
        return "the event at the branch point is skipped"
    if kind is InterventionKind.ALTER_KNOWLEDGE:
        return _alter(state, intervention)
    entity_id = _entity_id(state, intervention.entity or "")
    if kind is InterventionKind.REMOVE_ENTITY:
        del state.entities[entity_id]
        state.centrality.pop(entity_id, None)
        return f"{entity_id} removed from the world"
    state.set_entity(_modified(state.entities[entity_id], intervention.changes))
    return f"{entity_id} modified ({', '.join(intervention.changes)})"


def _entity_id(state: WorldState, ref: str) -> str:
    if ref in state.entities:
        return ref
    matches = [e.id for e in state.entities.values() if ref.lower() in e.name.lower()]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(sorted(state.entities))
    raise BranchError(f"no single entity matches {ref!r}; known: {known}")


def _modified(entity: Entity, changes: dict[str, Any]) -> Entity:
    data = entity.model_dump()
    for dotted, value in changes.items():
        head, _, leaf = dotted.partition(".")
        if head in MODIFIABLE and not leaf:
            data[head] = value
        elif head in MODIFIABLE_NESTED and leaf:
            if head != "traits" and leaf not in data[head]:
                allowed = ", ".join(f"{head}.{k}" for k in data[head])
                raise BranchError(f"cannot modify {dotted!r}; allowed: {allowed}")
            data[head][leaf] = value
        else:
            allowed = ", ".join([*MODIFIABLE, *(f"{n}.<field>" for n in MODIFIABLE_NESTED)])
            raise BranchError(f"cannot modify {dotted!r} of {entity.id}; allowed: {allowed}")
    try:
        return Entity.model_validate(data)
    except ValueError as error:
        first = str(error).splitlines()[1:3]
        raise BranchError(f"modifying {entity.id}: {' '.join(first).strip()}") from None


def _alter(state: WorldState, intervention: Intervention) -> str:
    needle = (intervention.fact or "").lower()
    if intervention.fact in state.facts:
        matches = [intervention.fact]
    else:
        matches = [f.id for f in state.facts.values() if needle in f.text.lower()]
    if len(matches) != 1:
        found = f"{len(matches)} facts" if matches else "no fact"
        raise BranchError(
            f"{found} before the branch point match {intervention.fact!r}; "
            "pass a fact id or a longer fragment of its text"
        )
    old = state.facts[matches[0]]
    new = state.add_fact(make_fact(intervention.text or "", origin="intervention"))
    holder = _entity_id(state, intervention.entity) if intervention.entity else None
    changed = 0
    events: list[ExposureEvent] = []
    for event in state.exposures.events:
        if event.fact_id == old.id and holder in (None, event.entity_id):
            event = event.model_copy(update={"fact_id": new.id, "fact_text": new.text})
            changed += 1
        events.append(event)
    if not changed:
        raise BranchError(f"{holder} never held {old.id} ({old.text!r}) before the branch point")
    state.exposures = ExposureLog(events)
    return f"{changed} exposures of {old.id} now carry {new.id}"
