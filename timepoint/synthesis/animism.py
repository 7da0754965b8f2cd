"""Animistic entities (M16): animals, places, objects, ideas, institutions, spirits and AI agents.

Which kinds a scenario admits is enforced at population (``ANIMISM_KINDS`` in
:mod:`timepoint.synthesis.population`). Here, per timepoint, every present non-human entity that
is awake and at ``scene`` resolution or above:

- gets goals and constraints from its kind when the scenario gave it none (once);
- takes part in the scene: a behaviour (what it does, whom it affects, and a tension effect on
  the atmosphere) that the scene description names (M10);
- above the threshold — animism level ≥ ``dialog_threshold`` (default 3) and resolution ≥
  ``min_resolution`` (default ``graph``), with ``narrated_influence`` on — its behaviour is asked
  of the model (``animistic_behavior``) and, when the timepoint has a dialog, inserted into it as a
  turn with tone ``narrated`` and no knowledge references. The entity then counts as a listener
  and receives ``told`` exposures for what was said. Below the threshold the behaviour is composed
  from the kind's profile without a call.

Only humans and AI agents speak (:data:`SPEAKING_KINDS`); dialog synthesis never gives a spoken
turn to another kind. Evidence per timepoint: ``evidence.animism[tp_id]``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from timepoint.kernel.context import RunContext, ask_model
from timepoint.kernel.mechanism_settings import MechanismSettings, read_settings
from timepoint.kernel.state import WorldState
from timepoint.llm.base import ActionType
from timepoint.llm.bounded import percent, percent_default, scaled
from timepoint.llm.structured import expect_answer
from timepoint.world import DialogTurn, Entity, EntityKind, ExposureKind, ResolutionLevel, Timepoint
from timepoint.world.evidence import AnimismRow

#: Kinds that can hold a spoken dialog turn.
SPEAKING_KINDS = frozenset({EntityKind.HUMAN, EntityKind.AI})

_CONFLICT_WORDS = ("argu", "disput", "press", "refus", "oppos", "quarrel", "threat", "crisis")


@dataclass(frozen=True)
class KindProfile:
    """Defaults of one kind: goals, constraints, how it shows itself, its usual tension effect."""

    goals: tuple[str, ...]
    constraints: tuple[str, ...]
    presence: tuple[str, ...]
    tension: float


KIND_PROFILES: dict[EntityKind, KindProfile] = {
    EntityKind.ANIMAL: KindProfile(
        ("find food", "keep out of danger"),
        ("cannot speak", "flees sudden noise"),
        ("{name} watches {target} from the edge of {place}", "{name} circles {place}, wary"),
        0.03,
    ),
    EntityKind.BUILDING: KindProfile(
        ("shelter those inside", "endure"),
        ("cannot move", "acts only through its rooms, light and sound"),
        ("the timbers of {name} creak as {target} speaks", "a draught moves through {name}"),
        0.0,
    ),
    EntityKind.OBJECT: KindProfile(
        ("serve its purpose",),
        ("cannot move by itself",),
        ("{name} sits where everyone at {place} can see it", "{target} keeps glancing at {name}"),
        0.0,
    ),
    EntityKind.ABSTRACT: KindProfile(
        ("shape how the people at {place} think",),
        ("has no body; acts only through ideas",),
        ("{name} hangs over every word {target} says",),
        0.04,
    ),
    EntityKind.INSTITUTION: KindProfile(
        ("preserve its authority",),
        ("acts only through its rules and officers",),
        ("the weight of {name} is felt in how {target} chooses words",),
        0.03,
    ),
    EntityKind.ANY: KindProfile(
        ("adapt to whatever the moment needs",),
        ("takes only the forms the scene allows",),
        ("{name} shifts to suit the mood at {place}",),
        0.0,
    ),
    EntityKind.KAMI: KindProfile(
        ("be honoured", "protect {place}"),
        ("acts only through signs and omens", "cannot be seen directly"),
        ("the shrine bells stir though no wind blows", "the lantern flames lean toward {target}"),
        -0.04,
    ),
    EntityKind.AI: KindProfile(
        ("complete its assigned task",),
        ("acts within its permissions",),
        ("{name} quietly logs what {target} says",),
        0.0,
    ),
}


class AnimismSettings(MechanismSettings):
    """M16 constants."""

    dialog_threshold: int = Field(3, ge=0, le=6)
    narrated_influence: bool = True
    min_resolution: ResolutionLevel = ResolutionLevel.GRAPH


class AnimisticBehaviorDraft(BaseModel):
    """What a non-human entity does at a moment and how it bears on the people there."""

    model_config = ConfigDict(extra="forbid")

    action: str
    influence: str
    target: str = ""
    tension_effect: scaled(-0.3, 0.3) = percent_default(0.0)  # type: ignore[valid-type]

    @classmethod
    def offline_answer(cls, context: dict[str, Any], rng: random.Random) -> dict[str, Any]:
        """A behaviour from the entity's kind, goals and the current event."""
        entity = context.get("entity", {})
        name = entity.get("name") or entity.get("id", "it")
        kind = EntityKind(entity.get("kind", EntityKind.ANY.value))
        profile = KIND_PROFILES.get(kind, KIND_PROFILES[EntityKind.ANY])
        place = context.get("location") or "this place"
        others = [p["name"] for p in context.get("present", []) if p.get("id") != entity.get("id")]
        target = rng.choice(others) if others else "the visitors"
        action = rng.choice(profile.presence).format(name=name, place=place, target=target)
        goals = entity.get("goals") or [g.format(place=place) for g in profile.goals]
        goal = rng.choice(goals)
        event = str(context.get("event", ""))
        conflict = any(word in event.lower() for word in _CONFLICT_WORDS)
        effect = profile.tension + rng.uniform(-0.03, 0.05) + (0.04 if conflict else 0.0)
        return {
            "action": action,
            "influence": f"{_capital(action)}, as if to {_lower_first(goal)}.",
            "target": target,
            "tension_effect": percent(max(-0.3, min(0.3, effect))),
        }


def settings_of(state: WorldState) -> AnimismSettings:
    return read_settings(state.scenario, "m16", AnimismSettings, state.evidence.ignored_settings)


def animate(ctx: RunContext, state: WorldState, tp: Timepoint) -> list[AnimismRow]:
    """Behaviours of the present non-human entities at ``tp``; kept in ``evidence.animism``."""
    settings = settings_of(state)
    level = state.scenario.entities.animism
    place = tp.location or state.scenario.timepoints.location or "this place"
    rows: list[AnimismRow] = []
    present = [
        {"id": e, "name": state.entities[e].name}
        for e in tp.entities_present
        if e in state.entities and state.resolution(e, tp.id) >= ResolutionLevel.SCENE
    ]
    for index, entity_id in enumerate(tp.entities_present):
        entity = state.entities.get(entity_id)
        resolution = state.resolution(entity_id, tp.id)
        if entity is None or entity.kind is EntityKind.HUMAN:
            continue
        if resolution < ResolutionLevel.SCENE:
            continue
        entity = _with_goals(state, entity, place)
        narrated = (
            settings.narrated_influence
            and level >= settings.dialog_threshold
            and resolution >= settings.min_resolution
            and entity.kind not in SPEAKING_KINDS
        )
        if narrated:
            behaviour = _ask(ctx, state, tp, entity, place, present)
        else:
            behaviour = _templated(state, tp, entity, place, index)
        rows.append(
            AnimismRow(
                entity_id=entity.id,
                name=entity.name,
                kind=entity.kind.value,
                narrated=narrated,
                **behaviour,
            )
        )
        state.ledger.count("M16", "scene appearances")
    state.evidence.animism[tp.id] = rows
    return rows


def narrate(state: WorldState, tp: Timepoint) -> int:
    """Insert the narrated influences of ``tp`` into its dialog; returns the turns added."""
    rows = [r for r in state.evidence.animism.get(tp.id, []) if r.narrated]
    index = next((i for i, d in enumerate(state.dialogs) if d.timepoint_id == tp.id), None)
    if not rows or index is None:
        return 0
    dialog = state.dialogs[index]
    turns = list(dialog.turns)
    participants = list(dialog.participants)
    told = 0
    for offset, row in enumerate(rows):
        turns.insert(
            min(len(turns), 1 + 2 * offset),
            DialogTurn(
                speaker=row.entity_id,
                text=row.influence,
                tone="narrated",
                physical_influence=row.action,
            ),
        )
        if row.entity_id not in participants:
            participants.append(row.entity_id)
        for turn in dialog.turns:
            if turn.flagged:
                continue
            for ref in turn.knowledge_refs:
                told += state.exposures.expose(
                    row.entity_id,
                    state.facts[ref],
                    ExposureKind.TOLD,
                    turn.speaker,
                    tp.id,
                    tp.timestamp,
                )
    state.dialogs[index] = dialog.model_copy(update={"turns": turns, "participants": participants})
    state.ledger.count("M16", "narrated turns", len(rows))
    state.ledger.count("M3", "told", told)
    return len(rows)


def narrators(state: WorldState, tp: Timepoint) -> list[str]:
    """Entities whose influence will be narrated into ``tp``'s dialog."""
    return [r.entity_id for r in state.evidence.animism.get(tp.id, []) if r.narrated]


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _lower_first(text: str) -> str:
    """``Answer sincere petitions`` → ``answer sincere petitions``; acronyms stay."""
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def _with_goals(state: WorldState, entity: Entity, place: str) -> Entity:
    profile = KIND_PROFILES.get(entity.kind)
    if profile is None or (entity.goals and entity.constraints):
        return entity
    updated = entity.model_copy(
        update={
            "goals": entity.goals or [g.format(place=place) for g in profile.goals],
            "constraints": entity.constraints or list(profile.constraints),
        }
    )
    state.set_entity(updated)
    state.ledger.count("M16", "entities given goals and constraints")
    return updated


def _templated(
    state: WorldState, tp: Timepoint, entity: Entity, place: str, index: int
) -> dict[str, Any]:
    profile = KIND_PROFILES.get(entity.kind, KIND_PROFILES[EntityKind.ANY])
    humans = [
        state.entities[e].name
        for e in tp.entities_present
        if e in state.entities and state.entities[e].kind is EntityKind.HUMAN
    ]
    target = humans[index % len(humans)] if humans else "the visitors"
    action = profile.presence[index % len(profile.presence)].format(
        name=entity.name, place=place, target=target
    )
    goal = _lower_first(entity.goals[0]) if entity.goals else ""
    influence = _capital(action) + (f", as if to {goal}." if goal else ".")
    return {"action": action, "influence": influence, "target": target, "tension_effect": 0.0}


def _ask(
    ctx: RunContext,
    state: WorldState,
    tp: Timepoint,
    entity: Entity,
    place: str,
    present: list[dict[str, str]],
) -> dict[str, Any]:
    context = {
        "scenario": {"title": state.scenario.title},
        "entity": {
            "id": entity.id,
            "name": entity.name,
            "kind": entity.kind.value,
            "description": entity.description,
            "goals": list(entity.goals),
            "constraints": list(entity.constraints),
        },
        "event": tp.event,
        "location": place,
        "hour": tp.timestamp.hour,
        "present": present,
    }
    prompt = (
        f"Scenario: {state.scenario.title}. Moment ({tp.timestamp.isoformat()}, {place}): "
        f"{tp.event}\n{entity.name} is a {entity.kind.value}: {entity.description or 'no notes'}. "
        f"Goals: {'; '.join(entity.goals)}. Constraints: {'; '.join(entity.constraints)}.\n"
        f"Present: {', '.join(p['name'] for p in present)}.\n"
        "Describe what it does now, whom it affects, and its effect on the tension of the scene "
        "(tension_effect a whole percentage between -30 calming and 30 unsettling). "
        "It does not speak."
    )
    completion = ask_model(
        ctx,
        ActionType.ANIMISTIC_BEHAVIOR,
        AnimisticBehaviorDraft,
        system="You narrate non-human agency in simulations.",
        prompt=prompt,
        data=context,
        max_tokens=300,
        subject=tp.id,
    )
    draft = expect_answer(completion.parsed, AnimisticBehaviorDraft)
    state.spend([entity.id], tp.id, completion.usage.total_tokens)
    state.ledger.count("M16", "behaviour calls")
    return draft.model_dump()
