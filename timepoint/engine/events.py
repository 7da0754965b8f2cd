"""The next event: what the model is asked for it, and the timepoint its answer becomes.

:func:`next_event_request` builds the temporal-reasoning request from the scenario, the bounded
story so far (see :mod:`timepoint.time.history`) and what was said last;
:func:`timepoint_of_draft` turns a drafted event into a
:class:`~timepoint.world.Timepoint` of known entities. :class:`~timepoint.engine.simulation.
Simulation` calls both for every generated timepoint.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from timepoint.kernel.state import WorldState
from timepoint.llm.base import ActionType, Request
from timepoint.llm.drafts import EventDraft
from timepoint.llm.grounded_schema import grounded
from timepoint.llm.task_data import task_request
from timepoint.scenario.schema import Scenario
from timepoint.time.history import History, history_lines
from timepoint.world import EntityRole, Fact, Timepoint
from timepoint.world.phrasing import about

if TYPE_CHECKING:
    from timepoint.time.expansion import SubMomentDraft

__all__ = ["next_event_request", "recent_facts", "timepoint_of_draft"]


def next_event_request(
    scenario: Scenario,
    state: WorldState,
    history: History,
    *,
    count: int,
    seed: int,
    index: int,
    timestamp: datetime,
    parent: str | None,
    planned: str | None = None,
    phase: str | None = None,
    subject: str | None = None,
) -> Request:
    """The temporal-reasoning request for the event at ``timestamp`` after ``parent``.

    The story so far is bounded (see :mod:`timepoint.time.history`): the chain's latest
    events verbatim, the ones before them as a summary made once and reused. ``count`` is the
    number of moments planned, ``subject`` (the id the timepoint will have) is recorded with the
    call.
    """
    window = history.window(parent)
    previous = window.events
    recent = recent_facts(state, parent)
    candidates = [
        {"id": e.id, "name": e.name, "role": e.role.value, "kind": e.kind.value}
        for e in state.entities.values()
    ]
    context = {
        "scenario": {
            "title": scenario.title,
            "description": scenario.description,
            "location": scenario.timepoints.location,
        },
        "index": index,
        "count": count,
        "timestamp": timestamp.isoformat(),
        "planned": planned,
        "candidates": candidates,
        "previous": previous,
        "recent_facts": recent,
        "phase": phase,
        **window.data(),
    }
    prompt = [
        f"Scenario: {scenario.title}. {scenario.description}",
        f"Time: {timestamp.isoformat()}. Place: {scenario.timepoints.location or '?'}.",
        *history_lines(window),
        "Recently said: " + ("; ".join(recent) or "nothing yet"),
        f"Prescribed: {planned}" if planned else "Write the next event that follows causally.",
        "Entities: " + ", ".join(f"{c['id']} ({c['name']}, {c['role']})" for c in candidates),
        f"Pacing: moment {index + 1} of {count}" + (f", phase: {phase}." if phase else "."),
        "Answer with event, importance (a whole percentage, 0-100), present (entity ids) and "
        "key_facts.",
    ]
    return task_request(
        ActionType.TEMPORAL_REASONING,
        grounded(EventDraft, entities={c["id"]: c["name"] for c in candidates}),
        system="You advance simulations one causal step.",
        prose="\n".join(prompt),
        data=context,
        seed=seed,
        max_tokens=500,
        subject=subject,
    )


def recent_facts(state: WorldState, parent: str | None) -> list[str]:
    """Up to three facts said at ``parent`` (in its dialog, else its key facts)."""
    if parent is None:
        return []
    for dialog in reversed(state.dialogs):
        if dialog.timepoint_id == parent:
            refs = [r for t in dialog.turns if not t.flagged for r in t.knowledge_refs]
            facts = [state.facts[r] for r in dict.fromkeys(refs)]
            return [_third_person(state, f) for f in facts if not f.origin.startswith("event:")][:3]
    return list(state.timepoints[parent].key_facts[:3])


def timepoint_of_draft(
    draft: EventDraft | SubMomentDraft,
    state: WorldState,
    *,
    location: str,
    tp_id: str,
    timestamp: datetime,
    parent: str | None,
    timeline_id: str,
    phase: str | None,
    parent_timepoint: str | None,
) -> Timepoint:
    """The timepoint ``draft`` describes; not yet added to the state.

    Only known entities are present; when the draft names none, the primary entities are.
    """
    present = [e for e in dict.fromkeys(draft.present) if e in state.entities]
    if not present:
        present = [e.id for e in state.entities.values() if e.role is EntityRole.PRIMARY]
    return Timepoint(
        id=tp_id,
        timestamp=timestamp,
        event=draft.event,
        entities_present=present,
        causal_parent=parent,
        importance=draft.importance,
        timeline_id=timeline_id,
        phase=phase,
        parent_timepoint=parent_timepoint,
        location=location,
        key_facts=draft.key_facts,
    )


def _third_person(state: WorldState, fact: Fact) -> str:
    holder = fact.origin.removeprefix("initial:")
    entity = state.entities.get(holder)
    return about(fact.text, entity.name if entity else None)
