"""Vertical expansion (M8): a timepoint unfolds into sub-moments inside its own time window.

A timepoint at time *t* whose step spans *s* owns the window [*t* − *s*/2, *t* + *s*/2). The
scenario's ``timepoints.before`` sub-moments lead up to it in the first half (phases from
``arrival``, ``opening``, ``debate``) and ``timepoints.after`` sub-moments follow it in the second
half (phases up to ``decision``, ``aftermath``). Each sub-moment names the timepoint it expands
(``parent_timepoint``) and its ``phase``, and they form one causal chain through the moment::

    previous → arrival → opening → tp_001 → decision → aftermath → next

so what is said in a sub-moment is known afterwards. ``timepoints.expand`` lists the indexes
to expand; when it is empty but ``before``/``after`` are set, the opening moment (index 0) is
expanded, the "critical moment" of earlier-format templates.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from timepoint.kernel.context import ask_model
from timepoint.llm.base import ActionType
from timepoint.llm.bounded import Share, percent
from timepoint.llm.grounded_schema import EntityId, grounded
from timepoint.llm.structured import expect_answer
from timepoint.scenario.schema import TimepointsConfig
from timepoint.time.clock import advance
from timepoint.time.history import history_lines
from timepoint.world import ResolutionLevel, Timepoint
from timepoint.world.phrasing import point_of, sentence_case, topic_of

if TYPE_CHECKING:
    from timepoint.time.simulator import Simulator

PHASES_BEFORE = ("arrival", "opening", "debate")
PHASES_AFTER = ("debate", "decision", "aftermath")
_IMPORTANCE = {"arrival": 0.3, "opening": 0.45, "debate": 0.6, "decision": 0.75, "aftermath": 0.4}


def expanded_indexes(cfg: TimepointsConfig) -> set[int]:
    """Indexes of the timepoints to expand."""
    if cfg.expand:
        return set(cfg.expand)
    return {0} if cfg.before or cfg.after else set()


def phases(count: int, labels: tuple[str, ...], from_end: bool) -> list[str]:
    """``count`` phase labels spread over ``labels`` (the last ones when ``from_end``)."""
    if count <= len(labels):
        return list(labels[len(labels) - count :] if from_end else labels[:count])
    return [labels[min(len(labels) - 1, n * len(labels) // count)] for n in range(count)]


def half_window(timestamp: datetime, cfg: TimepointsConfig) -> timedelta:
    """Half the span of one step starting at ``timestamp``."""
    return (advance(timestamp, cfg.step, cfg.unit) - timestamp) / 2


def slot_id(index: int, timeline_id: str) -> str:
    """The id :meth:`Simulator.generate_timepoint` gives the timepoint at ``index``."""
    return f"tp_{index:03d}" if timeline_id == "main" else f"{timeline_id}_{index:03d}"


class SubMomentDraft(BaseModel):
    """Temporal reasoning for one phase of an expanded moment."""

    model_config = ConfigDict(extra="forbid")

    event: str
    importance: Share
    present: list[EntityId]
    key_facts: list[str] = Field(default_factory=list)

    @classmethod
    def offline_answer(cls, context: dict[str, Any], rng: random.Random) -> dict[str, Any]:
        """A phase-shaped event from the scenario, the people present and what was just said."""
        candidates = context.get("candidates", [])
        core = [c for c in candidates if c.get("role") in ("primary", "secondary")] or candidates
        extra = [c for c in candidates if c not in core and c.get("role") != "environment"]
        present = [c["id"] for c in core] + [c["id"] for c in extra if rng.random() < 0.5]
        names = [c.get("name", c["id"]) for c in core][:4] or ["Those expected"]
        who = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]
        lead = rng.choice(names)
        other = rng.choice([n for n in names if n != lead] or names)
        scenario = context.get("scenario", {})
        place = scenario.get("location") or "the appointed place"
        recent = context.get("recent_facts", [])
        point = point_of(recent[0]) if recent else ""
        topic = topic_of(point) if recent else topic_of(scenario.get("description", ""))
        phase = context.get("phase", "debate")
        facts: list[str] = []
        if phase == "arrival":
            event = f"{who} arrive at {place}; {lead} is the first through the door."
        elif phase == "opening":
            event = f"{lead} opens the proceedings at {place} by raising {topic}."
            facts.append(f"{lead} put “{topic}” on the table")
        elif phase == "debate":
            event = f"{lead} and {other} argue over {topic} while the others weigh in."
            if recent:
                facts.append(f"{lead} challenged {other} on whether {sentence_case(point)}")
        elif phase == "decision":
            event = f"{who} settle what they can agree on about {topic}."
            facts.append(f"{who} agreed to take up “{topic}”")
        else:
            event = f"{who} leave {place}; {lead} lingers, still weighing {topic}."
        importance = _IMPORTANCE.get(phase, 0.5) + rng.uniform(-0.05, 0.05)
        return {
            "event": event,
            "importance": percent(min(1.0, max(0.0, importance))),
            "present": present,
            "key_facts": facts,
        }


def _recent(sim: Simulator, parent: str | None) -> list[str]:
    if parent is None:
        return []
    for dialog in reversed(sim.state.dialogs):
        if dialog.timepoint_id == parent:
            refs = [r for t in dialog.turns if not t.flagged for r in t.knowledge_refs]
            facts = [sim.state.facts[r] for r in dict.fromkeys(refs) if r in sim.state.facts]
            return [f.text for f in facts if not f.origin.startswith("event:")][:3]
    return list(sim.state.timepoints[parent].key_facts[:3])


def generate_sub_moment(
    sim: Simulator,
    *,
    index: int,
    timestamp: datetime,
    parent: str | None,
    phase: str,
    central: str,
    timeline_id: str,
) -> Timepoint:
    """Ask the model for one phase of ``central`` at ``timestamp`` and add it to the run."""
    state = sim.state
    sim.enter("timepoints", f"{index + 1}/{sim.timepoint_count} {phase}", index)
    window = sim.history.window(parent)  # M7: recent events verbatim, older ones summarized
    previous = window.events
    candidates = [
        {"id": e.id, "name": e.name, "role": e.role.value, "kind": e.kind.value}
        for e in state.entities.values()
    ]
    planned = sim.scenario.timepoints.events
    context = {
        "scenario": {
            "title": sim.scenario.title,
            "description": sim.scenario.description,
            "location": sim.scenario.timepoints.location,
        },
        "phase": phase,
        "central": planned[index] if index < len(planned) else None,
        "timestamp": timestamp.isoformat(),
        "candidates": candidates,
        "previous": previous,
        "recent_facts": _recent(sim, parent),
        **window.data(),
    }
    prompt = [
        f"Scenario: {sim.scenario.title}. {sim.scenario.description}",
        f"Time: {timestamp.isoformat()}. Place: {sim.scenario.timepoints.location or '?'}.",
        *history_lines(window, none="none"),
        "Recently said: " + ("; ".join(context["recent_facts"]) or "nothing yet"),
        f"Write the {phase} phase of the moment {central}"
        + (f" ({context['central']})" if context["central"] else "")
        + ", following causally from the events so far.",
        "Entities: " + ", ".join(f"{c['id']} ({c['name']}, {c['role']})" for c in candidates),
        "Answer with event, importance (a whole percentage, 0-100), present (entity ids) and "
        "key_facts.",
    ]
    completion = ask_model(
        sim.ctx,
        ActionType.TEMPORAL_REASONING,
        grounded(SubMomentDraft, entities={c["id"]: c["name"] for c in candidates}),
        system="You unfold one moment into its phases.",
        prompt="\n".join(prompt),
        data=context,
        max_tokens=400,
        recorded_in=(state, "M8", f"sub-moment:{central}:{phase}"),
        timepoint_id=central,
        subject=central,
    )
    draft = expect_answer(completion.parsed, SubMomentDraft)
    tp_id = f"{central}_{phase}"
    suffix = 2
    while tp_id in state.timepoints:
        tp_id, suffix = f"{central}_{phase}_{suffix}", suffix + 1
    tp = sim.draft_timepoint(
        draft,
        tp_id=tp_id,
        timestamp=timestamp,
        parent=parent,
        timeline_id=timeline_id,
        phase=phase,
        parent_timepoint=central,
    )
    sim.add_timepoint(tp)
    spenders = [
        e for e in tp.entities_present if state.resolution(e, tp.id) > ResolutionLevel.TENSOR_ONLY
    ]
    state.spend(spenders, tp.id, completion.usage.total_tokens)
    state.ledger.count("M8", "sub-moments")
    return tp


def expand_before(
    sim: Simulator, index: int, timestamp: datetime, parent: str | None, timeline_id: str = "main"
) -> str | None:
    """Generate and process the sub-moments leading up to slot ``index``; returns the new parent."""
    cfg = sim.scenario.timepoints
    if not sim.scenario.mechanisms.enabled("m8") or index not in expanded_indexes(cfg):
        return parent
    half = half_window(timestamp, cfg)
    central = slot_id(index, timeline_id)
    for n, phase in enumerate(phases(cfg.before, PHASES_BEFORE, from_end=False)):
        at = timestamp - half + (n + 1) * half / (cfg.before + 1)
        tp = generate_sub_moment(
            sim,
            index=index,
            timestamp=at,
            parent=parent,
            phase=phase,
            central=central,
            timeline_id=timeline_id,
        )
        sim.process_timepoint(tp)
        parent = tp.id
    return parent


def expand_after(sim: Simulator, tp: Timepoint, index: int) -> str:
    """Generate and process the sub-moments following ``tp``; returns the last one's id."""
    cfg = sim.scenario.timepoints
    if not sim.scenario.mechanisms.enabled("m8") or index not in expanded_indexes(cfg):
        return tp.id
    half = half_window(tp.timestamp, cfg)
    parent = tp.id
    for n, phase in enumerate(phases(cfg.after, PHASES_AFTER, from_end=True)):
        at = tp.timestamp + (n + 1) * half / (cfg.after + 1)
        sub = generate_sub_moment(
            sim,
            index=index,
            timestamp=at,
            parent=parent,
            phase=phase,
            central=tp.id,
            timeline_id=tp.timeline_id,
        )
        sim.process_timepoint(sub)
        parent = sub.id
    if cfg.before or cfg.after:
        sim.state.ledger.count("M8", "timepoints expanded")
    return parent
