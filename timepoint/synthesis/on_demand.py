"""On-demand entities (M9): an entity a question or generated text mentions but the run does not
have (``attendee_47``, "guest 3") is created when first referenced.

It is made consistent with the scene it belongs to: placed among those present at the
referenced timepoint and the earlier ones at the same location on its causal path, described
from the scene (location, crowd, mood), kept at low resolution (``scene``), and given
``witnessed`` exposure events for the events and key facts of those timepoints, so that what it
knows is exactly what it could have seen.
"""

from __future__ import annotations

import random
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from timepoint.kernel.context import RunContext, ask_model
from timepoint.kernel.state import WorldState
from timepoint.llm.base import ActionType
from timepoint.llm.bounded import Signed, percent
from timepoint.llm.offline_names import person_name
from timepoint.llm.structured import expect_answer
from timepoint.synthesis.crowd import PLACEHOLDER
from timepoint.world import Entity, EntityKind, EntityRole, ExposureKind, ResolutionLevel, Timepoint
from timepoint.world.causal import causal_path
from timepoint.world.exposure import make_fact
from timepoint.world.phrasing import topic_of
from timepoint.world.record import FidelityCell
from timepoint.world.references import unknown_references

_VANTAGES = (
    "near the door",
    "at the back of the room",
    "close to the head of the table",
    "by the window",
    "among the crowd at the side",
    "within earshot of the principals",
)


class CrowdMemberDraft(BaseModel):
    """Entity population for an on-demand crowd member: who they are and where they stood."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    description: str
    vantage: str
    voice: str = ""
    traits: dict[str, Signed] = Field(default_factory=dict)

    @classmethod
    def offline_answer(cls, context: dict[str, Any], rng: random.Random) -> dict[str, Any]:
        """A person drawn from the scene: a name of its period, its place, its crowd, the moment
        they are asked about."""
        noun = context.get("noun", "attendee")
        place = context.get("location") or "the gathering"
        crowd = context.get("crowd_size") or 0
        mood = context.get("mood") or "attentive"
        event = context.get("event", "")
        among = f"one of {crowd} people" if crowd else "one of those"
        vantage = rng.choice(_VANTAGES)
        description = (
            f"An {noun}" if noun[0] in "aeiou" else f"A {noun}"
        ) + f" at {place}, {among} present, {mood} as {topic_of(event, 10) or 'events unfold'}"
        return {
            "name": person_name(str(context.get("period", "")), context.get("taken", []), rng),
            "description": description.rstrip(".") + ".",
            "vantage": vantage,
            "voice": rng.choice(("plain-spoken", "hesitant", "observant", "wry")),
            "traits": {
                "openness": percent(rng.uniform(-0.5, 0.7)),
                "agreeableness": percent(rng.uniform(-0.3, 0.8)),
                "neuroticism": percent(rng.uniform(-0.6, 0.5)),
            },
        }

    @field_validator("name")
    @classmethod
    def _a_proper_name(cls, name: str) -> str:
        if PLACEHOLDER.match(name.strip()):
            raise ValueError(f"{name!r} is a numbered label; give the person a proper name")
        return name.strip()


def _scene_view(state: WorldState, tp: Timepoint) -> dict[str, Any]:
    scene = next((s for s in state.scenes if s.timepoint_id == tp.id), None)
    if scene is None:
        return {"location": tp.location, "crowd_size": 0, "mood": ""}
    mood = max(scene.crowd.mood, key=lambda k: scene.crowd.mood[k]) if scene.crowd.mood else ""
    return {
        "location": scene.environment.location or tp.location,
        "crowd_size": scene.crowd.size,
        "mood": mood,
        "tension": scene.atmosphere.tension,
    }


def attended(state: WorldState, anchor: Timepoint) -> list[Timepoint]:
    """The anchor and the earlier timepoints at its location on its causal path, in time order."""
    path = causal_path(state.timepoints, anchor.id)
    same_place = [
        state.timepoints[t]
        for t in path
        if state.timepoints[t].location == anchor.location or t == anchor.id
    ]
    return sorted(same_place, key=lambda t: (t.timestamp, t.id))


def materialize(
    ctx: RunContext,
    state: WorldState,
    ref: str,
    anchor: Timepoint,
    *,
    on_demand: bool = True,
) -> tuple[Entity, int]:
    """Create the entity ``ref`` at ``anchor``'s scene; returns it and the tokens spent."""
    noun, _, number = ref.rpartition("_")
    view = _scene_view(state, anchor)
    taken = sorted(e.name for e in state.entities.values())
    context = {
        "noun": noun,
        "number": number,
        "event": anchor.event,
        "timepoint": anchor.id,
        "period": anchor.timestamp.date().isoformat(),
        "taken": taken,
        **view,
    }
    label = f"{noun.replace('_', ' ')} {number}"
    prompt = (
        f"Scenario: {state.scenario.title}. At {anchor.location or 'the scene'} "
        f"({anchor.timestamp.isoformat()}): {anchor.event}\n"
        f"The crowd numbers {view['crowd_size'] or 'unknown'}; mood {view['mood'] or 'unknown'}.\n"
        f"Describe {label}, one of those present: a proper name fitting the time and place "
        "(not a numbered label, and none of the names in `taken`), description, where they "
        "stood (vantage), voice, traits (whole percentages, -100..100). Stay consistent with "
        "the scene."
    )
    completion = ask_model(
        ctx,
        ActionType.ENTITY_POPULATION,
        CrowdMemberDraft,
        system="You add minor characters to simulations.",
        prompt=prompt,
        data=context,
        max_tokens=300,
        on_demand=on_demand,
        subject=f"entity:{ref}",
    )
    draft = expect_answer(completion.parsed, CrowdMemberDraft)
    entity = Entity(
        id=ref,
        name=draft.name,
        kind=EntityKind.HUMAN,
        role=EntityRole.BACKGROUND,
        description=f"{draft.description} Stood {draft.vantage}.",
        traits={k: max(-1.0, min(1.0, v)) for k, v in draft.traits.items()},
        voice=draft.voice,
        resolution=ResolutionLevel.SCENE,
        profile_source="on_demand",
        on_demand=True,
    )
    state.set_entity(entity)
    witnessed = 0
    present = attended(state, anchor)
    for tp in present:
        if ref not in tp.entities_present:
            tp = tp.model_copy(update={"entities_present": [*tp.entities_present, ref]})
            state.timepoints[tp.id] = tp
        origin = f"timepoint:{tp.id}"
        for fact in (
            make_fact(tp.event, f"event:{tp.id}"),
            *(make_fact(t, origin) for t in tp.key_facts),
        ):
            fact = state.add_fact(fact)
            witnessed += state.exposures.expose(
                ref, fact, ExposureKind.WITNESSED, origin, tp.id, tp.timestamp, 0.8
            )
    _place(state, ref, {t.id for t in present})
    tokens = completion.usage.total_tokens
    state.spend([ref], anchor.id, tokens)
    state.ledger.count("M9", "entities created")
    state.ledger.count("M9", "witnessed exposures", witnessed)
    state.ledger.count("M3", "witnessed", witnessed)
    return entity, tokens


def _place(state: WorldState, ref: str, present: set[str]) -> None:
    """Fidelity cells for the new entity, and its place in the scenes it attended."""
    for tp_id in state.timepoints:
        level = ResolutionLevel.SCENE if tp_id in present else ResolutionLevel.TENSOR_ONLY
        state.fidelity[(ref, tp_id)] = FidelityCell(
            entity_id=ref, timepoint_id=tp_id, resolution=level
        )
    state.scenes = [
        s.model_copy(update={"present": [*s.present, ref]})
        if s.timepoint_id in present and ref not in s.present
        else s
        for s in state.scenes
    ]


def materialize_mentions(ctx: RunContext, state: WorldState) -> list[str]:
    """Create every numbered crowd member that generated events or dialog turns mention."""
    created: list[str] = []
    mentions: list[tuple[str, Timepoint]] = [(t.event, t) for t in state.timepoints.values()]
    mentions += [
        (turn.text, state.timepoints[d.timepoint_id])
        for d in state.dialogs
        for turn in d.turns
        if d.timepoint_id in state.timepoints
    ]
    for text, tp in mentions:
        for ref in unknown_references(text, state.entities):
            materialize(ctx, state, ref, state.timepoints[tp.id], on_demand=False)
            created.append(ref)
    return created
