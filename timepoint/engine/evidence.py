"""The evidence a question draws on (M5): what the subject could know at the moment asked
about, ranked by relevance to the question, with how it came by each fact; plus what it said,
who else held a fact, how a pair stood, or how the subject felt, depending on the kind.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from timepoint.kernel.state import WorldState
from timepoint.world import ExposureEvent, ExposureKind, Timepoint
from timepoint.world.causal import causal_path
from timepoint.world.phrasing import topic_of

if TYPE_CHECKING:
    from timepoint.knowledge.question import Question

MAX_FACTS = 8
#: Turns a "said" answer quotes at most: the closest to the question, then the latest.
MAX_TURNS = 8
_WORDS = re.compile(r"[a-z0-9']+")


def moment_label(state: WorldState, tp_id: str | None) -> str:
    """How an answer names the moment it speaks of."""
    if tp_id is None:
        return "Before the first moment"
    tp = state.timepoints[tp_id]
    moment = f"the {tp.phase} of {tp.parent_timepoint}, " if tp.phase else ""
    return f"At {tp.id} ({moment}{topic_of(tp.event, 8)})"


def _visible(state: WorldState, entity_id: str, tp_id: str | None) -> dict[str, ExposureEvent]:
    if tp_id is None:
        return state.exposures.visible(entity_id, set())
    return state.knowledge_at(entity_id, tp_id)


def _fact_views(
    state: WorldState,
    events: Sequence[ExposureEvent],
    words: set[str],
    kind: str,
    limit: int = MAX_FACTS,
) -> list[dict[str, Any]]:
    """The ``limit`` facts most relevant to the question's words, in the order they were met.

    Ties go to facts the subject was told or knew over the events it lived through (for
    provenance questions), then to the most recent.
    """
    names = {e.id: e.name for e in state.entities.values()}
    chosen = sorted(events, key=lambda e: _rank(state, e, words, kind))[:limit]
    chosen.sort(key=lambda e: (e.timestamp, e.fact_id))
    return [_view(e, names) for e in chosen]


def _rank(
    state: WorldState, event: ExposureEvent, words: set[str], kind: str
) -> tuple[int, int, float, str]:
    overlap = len(words & set(_WORDS.findall(event.fact_text.lower())))
    is_event = state.facts[event.fact_id].origin.startswith("event:")
    hearsay = kind == "provenance" and is_event
    return (-overlap, int(hearsay), -event.timestamp.timestamp(), event.fact_id)


def _relevant_turns(turns: list[dict[str, Any]], words: set[str]) -> list[dict[str, Any]]:
    """At most :data:`MAX_TURNS` of ``turns`` (oldest first), however long the run was: those
    sharing most words with the question, then the latest."""
    if len(turns) <= MAX_TURNS:
        return turns

    def rank(n: int) -> tuple[int, int]:
        return (-len(words & set(_WORDS.findall(turns[n]["text"].lower()))), -n)

    keep = sorted(sorted(range(len(turns)), key=rank)[:MAX_TURNS])
    return [turns[n] for n in keep]


def _view(e: ExposureEvent, names: Mapping[str, str]) -> dict[str, Any]:
    return {
        "id": e.fact_id,
        "text": e.fact_text,
        "how": e.kind.value,
        "source": e.source,
        "source_name": names.get(e.source, ""),
        "at": e.timepoint_id or "the outset",
    }


def attended_moment(state: WorldState, entity_id: str, tp_id: str | None) -> Timepoint | None:
    """The latest timepoint on ``tp_id``'s causal path the entity attended."""
    if tp_id is None:
        return None
    path = causal_path(state.timepoints, tp_id)
    attended = [
        state.timepoints[t] for t in path if entity_id in state.timepoints[t].entities_present
    ]
    return max(attended, key=lambda t: (t.timestamp, t.id)) if attended else None


def evidence_for(state: WorldState, question: Question, target: str | None) -> dict[str, Any]:
    """The machine-readable context of an answer (also what the offline model composes from)."""
    tp_id = question.timepoint_id
    names = {e.id: e.name for e in state.entities.values()}
    context: dict[str, Any] = {
        "kind": question.kind,
        "question": question.text,
        "when": moment_label(state, tp_id),
        "name": names.get(target or "", "Nobody named"),
    }
    if question.kind == "who_knew":
        pool: dict[str, ExposureEvent] = {}
        for entity_id in state.entities:
            for event in _visible(state, entity_id, tp_id).values():
                pool.setdefault(event.fact_id, event)
        best = _fact_views(state, list(pool.values()), question.words, question.kind, limit=1)
        if best:
            fact_id = best[0]["id"]
            holders = []
            for entity_id in sorted(state.entities):
                held = _visible(state, entity_id, tp_id).get(fact_id)
                if held is not None:
                    holders.append({**_view(held, names), "name": names[entity_id]})
            context["holders"] = holders
        context["facts"] = best
        return context
    if target is None:
        context["facts"] = []
        return context
    known = list(_visible(state, target, tp_id).values())
    if question.kind == "witnessed":
        seen = (ExposureKind.WITNESSED, ExposureKind.EXPERIENCED)
        known = [e for e in known if e.kind in seen]
    if question.kind == "said":
        path = causal_path(state.timepoints, tp_id) if tp_id else set()
        scope = {tp_id} if question.explicit_time and tp_id else path
        turns = [
            {"at": d.timepoint_id, "text": t.text, "refs": list(t.knowledge_refs)}
            for d in state.dialogs
            if d.timepoint_id in scope
            for t in d.turns
            if t.speaker == target
        ]
        context["turns"] = _relevant_turns(turns, question.words)
    if question.kind == "relationship" and len(question.entity_ids) > 1:
        other = question.entity_ids[1]
        path = causal_path(state.timepoints, tp_id) if tp_id else set()
        pair = tuple(sorted((target, other)))
        records = [r for r in state.relationships if (r.a, r.b) == pair and r.timepoint_id in path]
        if records:
            latest = max(records, key=lambda r: state.timepoints[r.timepoint_id].timestamp)
            context["relationship"] = {
                "a": names[pair[0]],
                "b": names[pair[1]],
                "trust": latest.trust,
                "affinity": latest.affinity,
                "interactions": latest.interactions,
            }
        theirs = _visible(state, other, tp_id)
        known = [e for e in known if e.fact_id in theirs]
    if question.kind == "feeling":
        mind = state.entities[target].cognitive
        tones = [
            t.tone
            for d in state.dialogs
            if not tp_id or d.timepoint_id in causal_path(state.timepoints, tp_id)
            for t in d.turns
            if t.speaker == target
        ]
        mood = "buoyant" if mind.valence > 0.3 else "troubled" if mind.valence < -0.3 else "steady"
        mood = ("agitated and " if mind.arousal > 0.6 else "") + mood
        context["feeling"] = {
            "mood": mood,
            "energy": mind.energy,
            "tones": list(dict.fromkeys(tones))[-2:],
        }
    limit = 3 if question.kind == "feeling" else MAX_FACTS
    context["facts"] = _fact_views(state, known, question.words, question.kind, limit)
    return context
