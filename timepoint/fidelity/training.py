"""Progressive training (M2): entities that are queried often, or that sit at the centre of the
social graph without having been trained yet, are elevated one resolution level, and an
enrichment pass adds what they learned as exposure events (kind ``learned``, source
``elevation``).

Per-entity metadata drives it: ``query_count`` (how often the entity's state was read: presence
at a timepoint, each dialog it took part in, each fact it used, each question asked about it),
``training_iterations``, ``centrality`` and ``last_accessed``. Reference thresholds: an entity at
``tensor_only``/``scene``/``graph``/``dialog`` is elevated after 5/10/15/25 queries, or when its
centrality exceeds 0.3 with fewer than 3 training iterations. Scenarios can change them under
``mechanisms.settings.m2`` (``queries: [5, 10, 15, 25]``, ``centrality``, ``iterations``).

The full state (entity and exposures) and the compressed state (M6 tensors) are both kept.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from timepoint.kernel.context import RunContext, ask_model
from timepoint.kernel.mechanism_settings import MechanismSettings
from timepoint.kernel.relevance import select_known
from timepoint.kernel.state import WorldState
from timepoint.llm.base import ActionType
from timepoint.llm.structured import expect_answer
from timepoint.world import Entity, ExposureKind, ResolutionLevel, Timepoint
from timepoint.world.evidence import Elevation
from timepoint.world.exposure import make_fact
from timepoint.world.phrasing import point_of, sentence_case, topic_of
from timepoint.world.record import FidelityCell

#: Queries after which an entity at each level is elevated (reference defaults).
QUERY_THRESHOLDS: dict[ResolutionLevel, int] = {
    ResolutionLevel.TENSOR_ONLY: 5,
    ResolutionLevel.SCENE: 10,
    ResolutionLevel.GRAPH: 15,
    ResolutionLevel.DIALOG: 25,
}
MAX_KNOWN_IN_PROMPT = 12


class TrainingSettings(MechanismSettings):
    """M2 constants as a scenario writes them (checked when the scenario is validated)."""

    queries: list[Annotated[int, Field(ge=1)]] = Field(
        default_factory=lambda: list(QUERY_THRESHOLDS.values()), min_length=4, max_length=4
    )
    centrality: float = Field(0.3, ge=0, le=1)
    iterations: int = Field(3, ge=0, le=100)


@dataclass(frozen=True)
class TrainingPolicy:
    """When an entity is elevated. Build from a scenario with :meth:`from_settings`."""

    queries: dict[ResolutionLevel, int] = field(default_factory=lambda: dict(QUERY_THRESHOLDS))
    centrality: float = 0.3
    iterations: int = 3

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> TrainingPolicy:
        """From ``mechanisms.settings.m2`` (``queries`` is a list of four counts)."""
        levels = list(QUERY_THRESHOLDS)
        counts = settings.get("queries", list(QUERY_THRESHOLDS.values()))
        return cls(
            queries=dict(zip(levels, (int(c) for c in counts), strict=True)),
            centrality=float(settings.get("centrality", 0.3)),
            iterations=int(settings.get("iterations", 3)),
        )

    def trigger(
        self, entity: Entity, level: ResolutionLevel, centrality: float | None = None
    ) -> str | None:
        """Why ``entity`` at ``level`` should be elevated now, or None.

        ``centrality`` is the entity's share of the unit-norm eigenvector (see
        :func:`unit_centrality`); None skips the centrality rule.
        """
        if level >= ResolutionLevel.TRAINED:
            return None
        meta = entity.metadata
        needed = self.queries[level]
        if meta.query_count >= needed:
            return f"{meta.query_count} queries >= {needed} at {level.value}"
        if (
            centrality is not None
            and centrality > self.centrality
            and meta.training_iterations < self.iterations
        ):
            return (
                f"centrality {centrality:.2f} > {self.centrality} with "
                f"{meta.training_iterations} < {self.iterations} iterations"
            )
        return None


def unit_centrality(centrality: dict[str, float]) -> dict[str, float]:
    """Eigenvector centrality scaled to unit Euclidean norm, the scale the 0.3 threshold assumes.

    The engine keeps centrality scaled so that the most central entity has 1; in a crowd where
    everyone is co-present that puts everyone near 1, while the unit-norm share falls as the
    crowd grows and only hubs stay above the threshold.
    """
    norm = sum(v * v for v in centrality.values()) ** 0.5
    return {k: (v / norm if norm else 0.0) for k, v in centrality.items()}


class EnrichmentDraft(BaseModel):
    """Knowledge extraction: what an entity has come to understand, as new knowledge items."""

    model_config = ConfigDict(extra="forbid")

    facts: list[str] = Field(min_length=1, max_length=5)

    @classmethod
    def offline_answer(cls, context: dict[str, Any], rng: random.Random) -> dict[str, Any]:
        """Inferences from the entity's own knowledge: others' stances, the room, linked facts."""
        entity = context.get("entity", {})
        name = entity.get("name") or entity.get("id", "The entity")
        known = [k for k in context.get("known", []) if k.get("kind") != "event"]
        told = [k for k in known if k.get("source_name")]
        others = context.get("others", [])
        place = context.get("location") or "the meeting"
        event = context.get("event", "")
        ideas: list[str] = []
        for item in told:
            ideas.append(f"{item['source_name']} is pressing the point that {_body(item['text'])}")
        if len(known) >= 2:
            first, second = rng.sample(known, 2)
            ideas.append(
                f"{name} connects “{topic_of(first['text'])}” with “{topic_of(second['text'])}”"
            )
        if others and event:
            ideas.append(
                f"{name} noted who was at {place} for “{topic_of(event, 9)}”: {_listing(others)}"
            )
        if not ideas:
            ideas.append(f"{name} took careful note of everyone present at {place}")
        rng.shuffle(ideas)
        wanted = max(1, int(context.get("count", 2)))
        known_texts = {k["text"] for k in context.get("known", [])}
        fresh = [i for i in dict.fromkeys(ideas) if i not in known_texts]
        return {"facts": fresh[:wanted] or ideas[:1]}


def _body(text: str) -> str:
    return sentence_case(point_of(text)).rstrip("…").rstrip()


def _listing(names: list[str]) -> str:
    names = names[:4]
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]


def count_queries(state: WorldState) -> dict[str, int]:
    """How often each entity's state was read during generation.

    One query per timepoint it was present at, per dialog it took part in, and per fact it
    used in a dialog turn.
    """
    counts: Counter[str] = Counter()
    for tp in state.timepoints.values():
        counts.update(e for e in tp.entities_present if e in state.entities)
    for dialog in state.dialogs:
        counts.update(dialog.participants)
        for turn in dialog.turns:
            counts[turn.speaker] += len(turn.knowledge_refs)
    return {entity_id: counts.get(entity_id, 0) for entity_id in state.entities}


def standing_level(state: WorldState, entity_id: str) -> ResolutionLevel:
    """The richest level the entity holds: its own or any of its (entity, timepoint) cells."""
    level = state.entities[entity_id].resolution
    for (cell_entity, _), cell in state.fidelity.items():
        if cell_entity == entity_id and cell.resolution > level:
            level = cell.resolution
    return level


def last_presence(state: WorldState, entity_id: str) -> Timepoint | None:
    """The latest timepoint the entity attended (by timestamp)."""
    present = [t for t in state.timepoints.values() if entity_id in t.entities_present]
    return max(present, key=lambda t: (t.timestamp, t.id)) if present else None


def touch(state: WorldState, entity_id: str, queries: int = 1) -> Entity:
    """Record ``queries`` more reads of the entity's state and when it was last accessed."""
    entity = state.entities[entity_id]
    meta = entity.metadata.model_copy(
        update={
            "query_count": entity.metadata.query_count + queries,
            "last_accessed": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )
    entity = entity.model_copy(update={"metadata": meta})
    state.set_entity(entity)
    return entity


def enrich(
    ctx: RunContext,
    state: WorldState,
    entity_id: str,
    tp: Timepoint,
    *,
    level: ResolutionLevel,
    on_demand: bool = False,
    summary: str | None = None,
) -> tuple[list[str], int]:
    """Run one enrichment pass for ``entity_id`` at ``tp``; returns new fact ids and tokens.

    The new knowledge is derived from what the entity could know at ``tp`` and recorded as
    ``learned`` exposures with source ``elevation``. ``summary`` describes an entity that only
    has a compressed state (M6) in the prompt.
    """
    entity = state.entities[entity_id]
    held = state.knowledge_at(entity_id, tp.id).values()
    known = select_known(state, held, tp, MAX_KNOWN_IN_PROMPT)[::-1]  # oldest first
    names = {e.id: e.name for e in state.entities.values()}
    facts = [
        {
            "id": e.fact_id,
            "text": e.fact_text,
            "kind": "event" if state.facts[e.fact_id].origin.startswith("event:") else "fact",
            "source_name": names.get(e.source, "") if e.source != entity_id else "",
        }
        for e in known
    ]
    others = [names[e] for e in tp.entities_present if e != entity_id and e in names]
    count = 1 + min(3, level.rank)
    context = {
        "entity": {"id": entity.id, "name": entity.name, "role": entity.role.value},
        "event": tp.event,
        "location": tp.location,
        "others": others,
        "known": facts,
        "count": count,
        "level": level.value,
    }
    described = summary or entity.description or f"{entity.role.value} {entity.kind.value}"
    prompt = "\n".join(
        [
            f"Scenario: {state.scenario.title}. Moment: {tp.event}",
            f"Entity: {entity.name} ({described}). Also present: {', '.join(others) or 'nobody'}.",
            "What it knows:",
            *(f"- [{f['id']}] {f['text']}" for f in facts),
            f"Give {count} new knowledge items this entity has come to understand at this moment, "
            'inferred only from what it knows and witnessed. Answer as JSON {"facts": [...]}.',
        ]
    )
    completion = ask_model(
        ctx,
        ActionType.KNOWLEDGE_EXTRACTION,
        EnrichmentDraft,
        system="You deepen simulated entities' knowledge.",
        prompt=prompt,
        data=context,
        max_tokens=300,
        on_demand=on_demand,
        subject=f"entity:{entity.id}",
    )
    draft = expect_answer(completion.parsed, EnrichmentDraft)
    fact_ids = []
    for text in draft.facts:
        fact = state.add_fact(make_fact(text, origin="elevation"))
        if state.exposures.expose(
            entity_id, fact, ExposureKind.LEARNED, "elevation", tp.id, tp.timestamp, 0.9
        ):
            fact_ids.append(fact.id)
    tokens = completion.usage.total_tokens
    state.spend([entity_id], tp.id, tokens)
    state.ledger.count("M3", "learned", len(fact_ids))
    return fact_ids, tokens


def raise_cell(state: WorldState, entity_id: str, tp_id: str, level: ResolutionLevel) -> bool:
    """Lift the (entity, timepoint) cell to at least ``level``; True when it changed."""

    cell = state.fidelity.get((entity_id, tp_id)) or FidelityCell(
        entity_id=entity_id, timepoint_id=tp_id, resolution=ResolutionLevel.TENSOR_ONLY
    )
    if cell.resolution >= level:
        return False
    state.fidelity[(entity_id, tp_id)] = cell.model_copy(update={"resolution": level})
    return True


def elevate(
    ctx: RunContext,
    state: WorldState,
    entity_id: str,
    trigger: str,
    *,
    on_demand: bool = False,
    summary: str | None = None,
) -> Elevation | None:
    """Elevate the entity one level at its latest timepoint and enrich it.

    Returns None when the entity never attended a timepoint (nothing to anchor knowledge to).
    """
    tp = last_presence(state, entity_id)
    if tp is None:
        return None
    before = standing_level(state, entity_id)
    after = before.raised()
    cell_before = state.resolution(entity_id, tp.id)
    fact_ids, tokens = enrich(
        ctx, state, entity_id, tp, level=after, on_demand=on_demand, summary=summary
    )
    raise_cell(state, entity_id, tp.id, after)
    entity = state.entities[entity_id]
    meta = entity.metadata.model_copy(
        update={"training_iterations": entity.metadata.training_iterations + 1}
    )
    state.set_entity(entity.model_copy(update={"resolution": after, "metadata": meta}))
    ledger = state.ledger
    ledger.count("M2", "entities elevated")
    ledger.count("M2", "by queries" if "queries" in trigger else "by centrality")
    ledger.count("M2", "learned facts", len(fact_ids))
    ledger.count("M2", "enrichment tokens", tokens)
    return Elevation(
        entity_id=entity_id,
        timepoint_id=tp.id,
        from_level=before,
        to_level=after,
        cell_before=cell_before,
        trigger=trigger,
        fact_ids=fact_ids,
        tokens=tokens,
        on_demand=on_demand,
    )


def train(ctx: RunContext, state: WorldState, policy: TrainingPolicy) -> list[Elevation]:
    """The run-level pass: set query counts, then elevate every entity past a threshold."""
    for entity_id, queries in count_queries(state).items():
        entity = state.entities[entity_id]
        meta = entity.metadata.model_copy(update={"query_count": queries})
        state.set_entity(entity.model_copy(update={"metadata": meta}))
    shares = unit_centrality(
        {e.id: state.centrality.get(e.id, e.metadata.centrality) for e in state.entities.values()}
    )
    elevations = []
    for entity_id in sorted(state.entities):
        level = standing_level(state, entity_id)
        trigger = policy.trigger(state.entities[entity_id], level, shares[entity_id])
        if trigger is not None:
            elevation = elevate(ctx, state, entity_id, trigger)
            if elevation is not None:
                elevations.append(elevation)
    return elevations
