"""Prospection (M15): entities that plan form expectations, which shape their next words and are
scored against what then happens.

Planners are the present entities at ``graph`` resolution or above (``m15.min_resolution``) that
are marked ``plans: true`` in the roster, listed in ``m15.entities``, have a role in
``m15.roles``, or have the trait ``m15.trait`` at ``trait_threshold`` or above. Each asks the
model (``prospection``) for expectations about the next timepoint — an event, a checkable
``kind`` and ``subject``, a subjective probability, whether it is desired, preparations and a
confidence — plus contingency plans.

Anxiety (the reference formula, with our reading of "risk"): the mean over expectations of
``.3·|2p − 1| + .5·risk + .2·(1 − confidence)``, where ``risk = (1 − risk_tolerance) ·
P(unwanted)`` and P(unwanted) is ``p`` for an undesired expectation and ``1 − p`` for a desired
one: a risk-averse entity expecting what it fears is anxious.

Expectations go into the entity's dialog context and prompt at the same timepoint (an entity
whose anxiety reaches ``anxious_threshold`` speaks in an anxious tone). When the next timepoint on
the causal chain has been processed, each is scored: ``raises`` (the fact was used in its dialog
or is one of its key facts), ``speaks`` (the entity spoke there), ``present`` (the entity was there
and awake), ``tension_rises``/``tension_falls`` (its scene's tension against the mood the parent's
dialog left). ``fulfilled`` is set on the stored copies; per entity
``evidence.expectation_accuracy`` holds the number scored and fulfilled, the hit rate
(probability ≥ .5 matched the outcome) and the Brier score (mean (p − outcome)²).
"""

from __future__ import annotations

import random
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from timepoint.kernel.context import RunContext
from timepoint.kernel.fanout import fan_out
from timepoint.kernel.grounded import record_dropped
from timepoint.kernel.mechanism_settings import MechanismSettings, read_settings
from timepoint.kernel.relevance import select_known
from timepoint.kernel.state import WorldState
from timepoint.llm.base import ActionType, Request
from timepoint.llm.bounded import Share, percent, percent_default
from timepoint.llm.grounded_schema import SubjectId, grounded
from timepoint.llm.grounding import Settled, settle
from timepoint.llm.structured import expect_answer
from timepoint.llm.task_data import task_request
from timepoint.synthesis.relationships import declared_relations
from timepoint.world import (
    Entity,
    Expectation,
    ProspectiveState,
    ResolutionLevel,
    Scene,
    Timepoint,
)
from timepoint.world.evidence import ExpectationAccuracy
from timepoint.world.exposure import fact_id
from timepoint.world.phrasing import topic_of

ExpectationKind = Literal["raises", "speaks", "present", "tension_rises", "tension_falls"]
MAX_FACTS = 8


class ProspectionSettings(MechanismSettings):
    """M15 constants."""

    entities: list[str] = Field(default_factory=list)
    roles: list[str] = Field(default_factory=list)
    trait: str = "conscientiousness"
    trait_threshold: float | None = Field(0.7, ge=-1, le=1)
    min_resolution: ResolutionLevel = ResolutionLevel.GRAPH
    horizon: str = "next timepoint"
    expectations_per_entity: int = Field(3, ge=1, le=5)
    anxious_threshold: float = Field(0.5, ge=0, le=1)


class ExpectationDraft(BaseModel):
    """One expectation as the model states it."""

    model_config = ConfigDict(extra="forbid")

    event: str
    kind: ExpectationKind
    subject: SubjectId = ""
    probability: Share
    desired: bool = True
    preparations: list[str] = Field(default_factory=list)
    confidence: Share = percent_default(0.5)


class ProspectionDraft(BaseModel):
    """Prospection: what an entity expects of the next moment and what it will do if wrong."""

    model_config = ConfigDict(extra="forbid")

    expectations: list[ExpectationDraft] = Field(min_length=1, max_length=5)
    contingencies: list[str] = Field(default_factory=list)

    @classmethod
    def offline_answer(cls, context: dict[str, Any], rng: random.Random) -> dict[str, Any]:
        """Expectations from the entity's goals, the facts it knows and those present."""
        entity = context.get("entity", {})
        goal = (entity.get("goals") or ["an outcome I can defend"])[0]
        place = context.get("location") or "the meeting"
        base_confidence = float(entity.get("confidence", 0.6))
        facts = [f for f in context.get("known", []) if f.get("kind") != "event"]
        others = context.get("others", [])

        def confidence() -> float:
            return percent(min(1.0, max(0.0, base_confidence + rng.uniform(-0.15, 0.1))))

        expectations: list[dict[str, Any]] = []
        contingencies: list[str] = []
        if facts:
            fact = facts[0]
            topic = topic_of(fact["text"])
            expectations.append(
                {
                    "event": f"“{topic}” will be raised again",
                    "kind": "raises",
                    "subject": fact["id"],
                    "probability": percent(rng.uniform(0.45, 0.85)),
                    "desired": rng.random() < 0.6,
                    "preparations": [f"have an answer ready on {topic}", f"steer toward {goal}"],
                    "confidence": confidence(),
                }
            )
        if others:
            hostile = [o for o in others if o.get("relation") in ("rival", "enemy")]
            other = hostile[0] if hostile else rng.choice(others)
            expectations.append(
                {
                    "event": f"{other['name']} will press their own case",
                    "kind": "speaks",
                    "subject": other["id"],
                    "probability": percent(rng.uniform(0.5, 0.9)),
                    "desired": not hostile,
                    "preparations": [f"speak privately with {other['name']} beforehand"],
                    "confidence": confidence(),
                }
            )
            fallback = topic_of(facts[0]["text"]) if facts else goal
            contingencies.append(f"If {other['name']} will not yield, fall back on {fallback}")
        tense = float(context.get("tension", 0.2)) >= 0.3
        expectations.append(
            {
                "event": f"the mood at {place} will " + ("ease" if tense else "turn sharper"),
                "kind": "tension_falls" if tense else "tension_rises",
                "probability": percent(rng.uniform(0.3, 0.6) if tense else rng.uniform(0.2, 0.5)),
                "desired": tense,
                "preparations": ["keep my temper"] if tense else ["watch for signs of anger"],
                "confidence": confidence(),
            }
        )
        contingencies.append(f"If the talk turns against me, appeal to {goal}")
        limit = int(context.get("limit", 3))
        return {"expectations": expectations[:limit], "contingencies": contingencies}


def settings_of(state: WorldState, report: bool = True) -> ProspectionSettings:
    return read_settings(
        state.scenario,
        "m15",
        ProspectionSettings,
        state.evidence.ignored_settings if report else None,
    )


def anxiety(expectations: list[Expectation], risk_tolerance: float) -> float:
    """Mean of .3·|2p−1| + .5·risk + .2·(1−confidence) (see the module notes), in [0, 1]."""
    if not expectations:
        return 0.0
    total = 0.0
    for e in expectations:
        unwanted = e.probability if not e.desired else 1.0 - e.probability
        risk = (1.0 - risk_tolerance) * unwanted
        total += 0.3 * abs(2 * e.probability - 1) + 0.5 * risk + 0.2 * (1 - e.confidence)
    return round(min(1.0, max(0.0, total / len(expectations))), 4)


def is_planner(state: WorldState, entity: Entity, settings: ProspectionSettings) -> bool:
    flagged = {r.id for r in state.scenario.entities.roster if r.plans}
    threshold = settings.trait_threshold
    return (
        entity.id in flagged
        or entity.id in settings.entities
        or entity.role.value in settings.roles
        or (threshold is not None and entity.traits.get(settings.trait, -2.0) >= threshold)
    )


def form_expectations(ctx: RunContext, state: WorldState, tp: Timepoint) -> list[ProspectiveState]:
    """Ask each planner at ``tp`` for its expectations; store them with their anxiety."""
    settings = settings_of(state)
    planners = [
        state.entities[e]
        for e in tp.entities_present
        if e in state.entities
        and state.resolution(e, tp.id) >= settings.min_resolution
        and is_planner(state, state.entities[e], settings)
    ]
    if not planners:
        return []
    scene = next((s for s in state.scenes if s.timepoint_id == tp.id), None)
    tension = scene.atmosphere.tension if scene else 0.2
    relations = declared_relations(state)

    def ask(entity: Entity) -> Settled:
        request = _request(ctx, state, tp, entity, settings, tension, relations)
        answer = settle(ctx.gateway.complete, request)
        expect_answer(answer.parsed, ProspectionDraft)
        return answer

    formed = []
    for entity, answer in zip(planners, fan_out(ask, planners, ctx.max_concurrency), strict=True):
        draft, tokens = answer.parsed, answer.tokens
        target = f"prospection:{entity.id}@{tp.id}"
        record_dropped(state, "M15", target, answer, timepoint_id=tp.id)
        expectations = [
            Expectation(**e.model_dump(exclude={"subject"}), subject=e.subject or None)
            for e in draft.expectations[: settings.expectations_per_entity]
        ]
        prospect = ProspectiveState(
            entity_id=entity.id,
            timepoint_id=tp.id,
            horizon=settings.horizon,
            expectations=expectations,
            contingencies=draft.contingencies,
            anxiety=anxiety(expectations, entity.cognitive.risk_tolerance),
        )
        state.prospection.append(prospect)
        state.spend([entity.id], tp.id, tokens)
        formed.append(prospect)
    state.ledger.count("M15", "prospective states", len(formed))
    state.ledger.count("M15", "expectations", sum(len(p.expectations) for p in formed))
    state.ledger.count(
        "M15", "anxious planners", sum(p.anxiety >= settings.anxious_threshold for p in formed)
    )
    return formed


def prospect_view(state: WorldState, tp_id: str, entity_id: str) -> dict[str, Any]:
    """What a dialog prompt needs of ``entity_id``'s expectations at ``tp_id`` ({} if none)."""
    prospect = next(
        (p for p in state.prospection if p.timepoint_id == tp_id and p.entity_id == entity_id),
        None,
    )
    if prospect is None:
        return {}
    settings = settings_of(state, report=False)
    return {
        "anxiety": prospect.anxiety,
        "tone_bias": "anxious" if prospect.anxiety >= settings.anxious_threshold else "",
        "expectations": [
            f"{e.event} (p={e.probability:.2f}, {'hoped for' if e.desired else 'feared'})"
            for e in prospect.expectations
        ],
    }


def score_expectations(state: WorldState, tp: Timepoint) -> int:
    """Score the unscored expectations formed at ``tp``'s causal parent against ``tp``."""
    parent = tp.causal_parent
    if parent is None:
        return 0
    scenes = {s.timepoint_id: s for s in state.scenes}
    dialog = next((d for d in state.dialogs if d.timepoint_id == tp.id), None)
    spoken = [t for t in dialog.turns if t.tone != "narrated"] if dialog else []
    outcome_facts = {r for t in spoken for r in t.knowledge_refs}
    outcome_facts |= {fact_id(text) for text in tp.key_facts}
    speakers = {t.speaker for t in spoken}
    scored = fulfilled = 0
    for index, prospect in enumerate(state.prospection):
        if prospect.timepoint_id != parent or any(
            e.fulfilled is not None for e in prospect.expectations
        ):
            continue
        updated = []
        for e in prospect.expectations:
            outcome = _outcome(e, state, tp, outcome_facts, speakers, scenes)
            updated.append(e.model_copy(update={"fulfilled": outcome}))
            scored += outcome is not None
            fulfilled += bool(outcome)
        state.prospection[index] = prospect.model_copy(update={"expectations": updated})
    if scored:
        _accuracy(state)
        state.ledger.count("M15", "expectations scored", scored)
        state.ledger.count("M15", "fulfilled", fulfilled)
    return scored


def _outcome(
    e: Expectation,
    state: WorldState,
    tp: Timepoint,
    facts: set[str],
    speakers: set[str],
    scenes: dict[str, Scene],
) -> bool | None:
    if e.kind == "raises":
        return e.subject in facts if e.subject in state.facts else None
    if e.kind in ("speaks", "present"):
        if e.subject not in state.entities:
            return None
        if e.kind == "speaks":
            return e.subject in speakers
        return (
            e.subject in tp.entities_present
            and state.resolution(e.subject, tp.id) >= ResolutionLevel.SCENE
        )
    if e.kind in ("tension_rises", "tension_falls"):
        now, before = scenes.get(tp.id), scenes.get(tp.causal_parent or "")
        if now is None or before is None:
            return None
        previous = (before.after or before.atmosphere).tension
        change = now.atmosphere.tension - previous
        return change > 0 if e.kind == "tension_rises" else change < 0
    return None


def _accuracy(state: WorldState) -> None:
    table: dict[str, dict[str, float]] = {}
    for prospect in state.prospection:
        for e in prospect.expectations:
            if e.fulfilled is None:
                continue
            row = table.setdefault(
                prospect.entity_id, {"scored": 0, "fulfilled": 0, "hits": 0, "brier": 0.0}
            )
            outcome = 1.0 if e.fulfilled else 0.0
            row["scored"] += 1
            row["fulfilled"] += int(e.fulfilled)
            row["hits"] += int((e.probability >= 0.5) == e.fulfilled)
            row["brier"] += (e.probability - outcome) ** 2
    state.evidence.expectation_accuracy = {
        entity: ExpectationAccuracy(
            scored=int(row["scored"]),
            fulfilled=int(row["fulfilled"]),
            hit_rate=round(row["hits"] / row["scored"], 4),
            brier=round(row["brier"] / row["scored"], 4),
        )
        for entity, row in sorted(table.items())
    }


def _request(
    ctx: RunContext,
    state: WorldState,
    tp: Timepoint,
    entity: Entity,
    settings: ProspectionSettings,
    tension: float,
    relations: dict[tuple[str, str], str],
) -> Request:
    known = select_known(state, state.knowledge_at(entity.id, tp.id).values(), tp, MAX_FACTS)
    facts = [
        {
            "id": e.fact_id,
            "text": state.facts[e.fact_id].text,
            "kind": "event" if state.facts[e.fact_id].origin.startswith("event:") else "fact",
        }
        for e in known
    ]
    others = [
        {
            "id": o,
            "name": state.entities[o].name,
            "relation": relations.get((min(o, entity.id), max(o, entity.id)), "neutral"),
        }
        for o in tp.entities_present
        if o != entity.id
        and o in state.entities
        and state.resolution(o, tp.id) >= ResolutionLevel.SCENE
    ]
    context = {
        "entity": {
            "id": entity.id,
            "name": entity.name,
            "goals": list(entity.goals),
            "risk_tolerance": entity.cognitive.risk_tolerance,
            "confidence": entity.cognitive.confidence,
        },
        "event": tp.event,
        "location": tp.location,
        "tension": tension,
        "known": facts,
        "others": others,
        "horizon": settings.horizon,
        "limit": settings.expectations_per_entity,
    }
    prompt = "\n".join(
        [
            f"Scenario: {state.scenario.title}. Now ({tp.timestamp.isoformat()}): {tp.event}",
            f"You are {entity.name}. Goals: {'; '.join(entity.goals) or 'unstated'}.",
            "You know: " + " | ".join(f"[{f['id']}] {f['text']}" for f in facts),
            "With you: " + ", ".join(f"{o['id']} ({o['name']}, {o['relation']})" for o in others),
            f"The room's tension is {tension:.2f} of 1. Your confidence is "
            f"{entity.cognitive.confidence:.2f} and your tolerance for risk "
            f"{entity.cognitive.risk_tolerance:.2f} (0 averse, 1 bold).",
            f"What do you expect by the {settings.horizon}? Give at most "
            f"{settings.expectations_per_entity} expectations, each with event, "
            "kind (raises: a fact id will be raised; speaks/present: an entity id will speak/be "
            "there; tension_rises/tension_falls), subject, probability, desired, preparations "
            "and confidence; then contingency plans.",
        ]
    )
    # subject: a fact id it knows, an entity id there (itself included), or empty
    people = {entity.id: entity.name, **{o["id"]: o["name"] for o in others}}
    schema = grounded(ProspectionDraft, entities=people, facts={f["id"]: f["text"] for f in facts})
    return task_request(
        ActionType.PROSPECTION,
        schema,
        system="You model how people anticipate what comes next.",
        prose=prompt,
        data=context,
        seed=ctx.seed,
        max_tokens=600,
        subject=tp.id,
    )
