"""Answer composition (M5): the context, prompt and offline twin of an answer, and the
elevations a question needs before it can be answered.

:func:`answer_question` works on a :class:`~timepoint.kernel.state.WorldState`; the orchestration
around it (restoring the state from a record, persisting the updated record) is
:func:`timepoint.engine.ask.ask`.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from timepoint.engine.evidence import attended_moment, evidence_for
from timepoint.fidelity.compression import project, tensor_summary
from timepoint.fidelity.training import (
    TrainingPolicy,
    elevate,
    enrich,
    raise_cell,
    standing_level,
    touch,
)
from timepoint.kernel.context import RunContext, ask_model
from timepoint.kernel.state import WorldState
from timepoint.llm.base import ActionType
from timepoint.llm.grounded_schema import FactId, grounded
from timepoint.llm.structured import expect_answer
from timepoint.synthesis.on_demand import materialize
from timepoint.world import ResolutionLevel
from timepoint.world.evidence import Elevation
from timepoint.world.record import Answer
from timepoint.world.tensors import TensorCodebook

if TYPE_CHECKING:
    from timepoint.knowledge.question import Question

#: the resolution each kind of question needs at the target's (entity, timepoint) cell
NEEDED: dict[str, ResolutionLevel] = {
    "witnessed": ResolutionLevel.SCENE,
    "who_knew": ResolutionLevel.SCENE,
    "general": ResolutionLevel.SCENE,
    "knowledge": ResolutionLevel.GRAPH,
    "provenance": ResolutionLevel.GRAPH,
    "relationship": ResolutionLevel.GRAPH,
    "said": ResolutionLevel.DIALOG,
    "feeling": ResolutionLevel.DIALOG,
}


def answer_subject(question: str) -> str:
    """What the calls answering ``question`` are for, as the call viewer lists them."""
    return f"answer:{question[:60]}"


class AnswerDraft(BaseModel):
    """General: the answer text and the ids of the facts it rests on."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1)
    citations: list[FactId] = Field(default_factory=list)

    @classmethod
    def offline_answer(cls, context: dict[str, Any], rng: random.Random) -> dict[str, Any]:
        """Compose the answer from the cited facts, turns, holders or relationship given."""
        return _compose(context, rng)


_HOW = {
    "initial": "something they knew from the outset",
    "told": "told by {source} at {at}",
    "witnessed": "seen firsthand at {at}",
    "experienced": "lived through at {at}",
    "learned": "worked out on reflection at {at}",
    "inferred": "inferred at {at}",
}


def how_phrase(fact: Mapping[str, Any]) -> str:
    """How an entity came by a fact, in words."""
    template = _HOW.get(fact.get("how", ""), "recorded at {at}")
    return template.format(source=fact.get("source_name") or "someone", at=fact.get("at") or "?")


def _compose(ctx: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    kind, name, when = ctx.get("kind", "general"), ctx.get("name", "They"), ctx["when"]
    facts: list[dict[str, Any]] = ctx.get("facts", [])
    if kind == "said":
        turns = ctx.get("turns", [])
        if not turns:
            text = f"{when}, {name} is not recorded saying anything"
            held = [f"“{f['text'].rstrip('.')}” ({how_phrase(f)})" for f in facts[:3]]
            if held:
                text += "; what they could have drawn on: " + "; ".join(held)
            return {"text": text + ".", "citations": [f["id"] for f in facts[:3]]}
        quoted = "; ".join(f"at {t['at']}: “{t['text']}”" for t in turns[:3])
        refs = list(dict.fromkeys(r for t in turns for r in t["refs"]))
        return {"text": f"{when}, {name} said — {quoted}", "citations": refs}
    if kind == "who_knew":
        holders = ctx.get("holders", [])
        if not facts:
            return {"text": f"{when}, no recorded fact matches the question.", "citations": []}
        fact = facts[0]
        people = "; ".join(f"{h['name']} ({how_phrase(h)})" for h in holders) or "nobody"
        text = f"{when}, {len(holders)} knew “{fact['text'].rstrip('.')}”: {people}."
        return {"text": text, "citations": [fact["id"]]}
    if kind == "relationship" and ctx.get("relationship"):
        rel = ctx["relationship"]
        text = (
            f"{when}, {rel['a']} and {rel['b']} stood at trust {rel['trust']:.2f} and affinity "
            f"{rel['affinity']:.2f} after {rel['interactions']} exchanges"
        )
        if facts:
            text += f"; both knew “{facts[0]['text'].rstrip('.')}”"
        return {"text": text + ".", "citations": [f["id"] for f in facts[:3]]}
    if kind == "feeling" and ctx.get("feeling"):
        feel = ctx["feeling"]
        tones = " and ".join(feel["tones"])
        text = f"{when}, {name} was {feel['mood']} (energy {feel['energy']:.0f}/100)" + (
            f", speaking in {'an' if tones[:1] in 'aeiou' else 'a'} {tones} tone" if tones else ""
        )
        parts = [f"“{f['text'].rstrip('.')}” ({how_phrase(f)})" for f in facts]
        if parts:
            text += ". On their mind: " + "; ".join(parts)
        return {"text": text + ".", "citations": [f["id"] for f in facts]}
    if not facts:
        body = f"{when}, nothing in the record shows {name} holding anything relevant."
        return {"text": body, "citations": []}
    verb = "witnessed" if kind == "witnessed" else rng.choice(("knew", "held"))
    count = f"{len(facts)} relevant thing{'s' if len(facts) > 1 else ''}"
    parts = [f"“{f['text'].rstrip('.')}” ({how_phrase(f)})." for f in facts]
    text = f"{when}, {name} {verb} {count}. " + " ".join(parts)
    return {"text": text, "citations": [f["id"] for f in facts]}


@dataclass
class Answering:
    """What answering one question did: the answer, the elevations and the tokens they cost."""

    answer: Answer | None = None
    elevations: list[Elevation] = field(default_factory=list)
    elevated: list[str] = field(default_factory=list)
    tokens: int = 0

    def add(self, elevation: Elevation | None, line: str, tokens: int = 0) -> None:
        """Record one elevation (or creation) with its one-line description."""
        if elevation is not None:
            self.elevations.append(elevation)
            tokens = elevation.tokens
        self.elevated.append(line)
        self.tokens += tokens


class _Summaries:
    """Decompressed summaries (M6) of entities that have a tensor, for elevation prompts."""

    def __init__(self, state: WorldState, tensors: TensorCodebook | None):
        self.state, self.tensors = state, tensors
        self.facts = {f.id: f.text for f in state.facts.values()}

    def __call__(self, entity_id: str) -> str | None:

        if self.tensors is None or entity_id not in self.tensors.entities:
            return None
        name = self.state.entities[entity_id].name
        return tensor_summary(self.tensors, entity_id, self.facts, name)


def _create_mentioned(
    ctx: RunContext,
    state: WorldState,
    question: Question,
    tensors: TensorCodebook | None,
    done: Answering,
) -> None:
    """M9: create the crowd members the question names, at the moment it asks about."""

    for ref in question.new_entities:
        anchor = state.timepoints.get(question.timepoint_id or "")
        if anchor is None:
            anchor = max(state.timepoints.values(), key=lambda t: (t.timestamp, t.id))
            question.timepoint_id = anchor.id
        _, spent = materialize(ctx, state, ref, anchor)
        done.add(None, f"{ref}: created on demand at {anchor.id} (scene)", spent)
        question.entity_ids.insert(0, ref)
        if tensors is not None:
            project(tensors, state, ref)


def _raise_for(
    ctx: RunContext,
    state: WorldState,
    question: Question,
    target: str,
    summaries: _Summaries,
    done: Answering,
) -> None:
    """M5: lift the subject's cell to the resolution the question needs, with an enrichment."""
    need = NEEDED[question.kind]
    at = attended_moment(state, target, question.timepoint_id)
    if at is None or state.resolution(target, at.id) >= need:
        return
    before = state.resolution(target, at.id)
    summary = summaries(target) if before is ResolutionLevel.TENSOR_ONLY else None
    facts, spent = enrich(ctx, state, target, at, level=need, on_demand=True, summary=summary)
    raise_cell(state, target, at.id, need)
    elevation = Elevation(
        entity_id=target,
        timepoint_id=at.id,
        from_level=before,
        to_level=need,
        cell_before=before,
        trigger=f"question of kind {question.kind}",
        fact_ids=facts,
        tokens=spent,
        on_demand=True,
    )
    done.add(elevation, f"{target}@{at.id}: {before.value}→{need.value}")
    state.ledger.count("M5", "cells elevated")
    state.ledger.count("M5", "elevation tokens", spent)


def answer_question(
    ctx: RunContext,
    state: WorldState,
    question: Question,
    *,
    policy: TrainingPolicy | None = None,
    tensors: TensorCodebook | None = None,
) -> Answering:
    """Answer ``question`` against ``state``, elevating and creating only what it needs.

    In order: crowd members the question names are created (M9); every entity it names is
    queried, which may cross an M2 threshold; the subject's cell at the moment asked about is
    raised to the resolution the kind of question needs (M5); then the answer is composed.
    """
    done = Answering()
    summaries = _Summaries(state, tensors)
    _create_mentioned(ctx, state, question, tensors, done)
    for entity_id in question.entity_ids:
        entity = touch(state, entity_id)
        trigger = (policy or TrainingPolicy()).trigger(entity, standing_level(state, entity_id))
        if trigger is None:
            continue
        summary = summaries(entity_id)
        elevation = elevate(ctx, state, entity_id, trigger, on_demand=True, summary=summary)
        if elevation is not None:
            levels = f"{elevation.from_level.value}→{elevation.to_level.value}"
            done.add(elevation, f"{entity_id}: {levels} ({trigger})")
    target = question.entity_ids[0] if question.entity_ids else None
    if target is not None:
        _raise_for(ctx, state, question, target, summaries, done)
    tokens = done.tokens
    context = evidence_for(state, question, target)
    offered = {f["id"]: f for f in context.get("facts", [])}
    offered.update(
        {
            r: {"id": r, "how": "said", "at": t["at"]}
            for t in context.get("turns", [])
            for r in t["refs"]
        }
    )
    completion = ask_model(
        ctx,
        ActionType.GENERAL,
        grounded(AnswerDraft, facts={i: f.get("text", i) for i, f in offered.items()}),
        system="You answer questions about a simulation from its record only. "
        "Cite the ids of the facts you use.",
        prompt=_prompt(state, question, context),
        data=context,
        max_tokens=600,
        on_demand=True,
        recorded_in=(state, "M5", answer_subject(question.text)),
        timepoint_id=question.timepoint_id,
        subject=answer_subject(question.text),
    )
    draft = expect_answer(completion.parsed, AnswerDraft)
    tokens += completion.usage.total_tokens
    citations = [c for c in dict.fromkeys(draft.citations) if c in offered or c in state.facts]
    text = draft.text.strip()
    cited = [offered[c] for c in citations if c in offered and "text" in offered[c]]
    if cited:
        text += "\nProvenance: " + "; ".join(f"[{f['id']}] {how_phrase(f)}" for f in cited)
    state.ledger.count("M5", "questions answered")
    state.ledger.count("M5", "on-demand tokens", tokens)
    answer = Answer(
        question=question.text,
        entity_id=target,
        timepoint_id=question.timepoint_id,
        kind=question.kind,
        text=text,
        citations=citations,
        elevated=done.elevated,
        tokens=tokens,
    )
    done.answer = answer
    return done


def _prompt(state: WorldState, question: Question, context: dict[str, Any]) -> str:
    lines = [
        f"Scenario: {state.scenario.title}.",
        f"Question: {question.text}",
        f"Answer as of: {context['when']}. Subject: {context['name']}.",
        "Facts (id, text, how the subject came by it):",
        *(f"- [{f['id']}] {f['text']} ({how_phrase(f)})" for f in context.get("facts", [])),
    ]
    lines += [f"- said at {t['at']}: {t['text']}" for t in context.get("turns", [])]
    lines += [f"- holder: {h['name']} ({how_phrase(h)})" for h in context.get("holders", [])]
    if context.get("relationship"):
        lines.append(f"Relationship: {context['relationship']}")
    if context.get("feeling"):
        lines.append(f"State: {context['feeling']}")
    lines.append('Answer as JSON {"text": ..., "citations": [fact ids]}.')
    return "\n".join(lines)
