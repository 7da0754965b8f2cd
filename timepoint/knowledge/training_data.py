"""Training data from a run (``training.jsonl``): what an entity said or answered, with what it
could know at that moment and where each piece of that knowledge came from.

One :class:`TrainingExample` per dialog turn and per on-demand answer (``run.ask``). Each holds
the situation (the timepoint's event, who else was there, the question), the knowledge the
speaker held then (facts valid on the causal path to the moment, each with how and from whom it
was learned), the facts the text used with their provenance chains back to their origin, the
action that produced the text, and the text itself. Everything is computed from the record;
nothing is filler.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from timepoint.knowledge.provenance import KnowledgeQueryError, Provenance
from timepoint.world import ExposureEvent
from timepoint.world.record import RunRecord

#: most facts listed as what the speaker knew (the latest ones)
MAX_KNOWN = 40


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class KnownFact(Frozen):
    """A fact the speaker held, and how it came to hold it."""

    fact_id: str
    text: str
    kind: str
    source: str
    timepoint_id: str | None
    timestamp: datetime


class UsedFact(Frozen):
    """A fact the text used, with its chain of exposures from the origin to the speaker
    (empty and ``exposed`` false when the speaker was never exposed to it: a leak)."""

    fact_id: str
    text: str
    exposed: bool
    chain: list[KnownFact] = Field(default_factory=list)


class TrainingExample(Frozen):
    """One line of ``training.jsonl``."""

    kind: str
    run_id: str
    scenario_id: str
    action: str
    produced_by: str
    timeline_id: str | None
    timepoint_id: str | None
    timestamp: datetime | None
    entity_id: str | None
    entity_name: str | None
    prompt: str
    knowledge: list[KnownFact]
    used: list[UsedFact]
    completion: str
    tone: str | None = None


def training_examples(record: RunRecord) -> Iterator[TrainingExample]:
    """The run's training examples: every dialog turn, then every answer."""
    timepoints = {t.id: t for t in record.timepoints}
    provenance = Provenance(timepoints, record.exposures)
    names = {e.id: e.name for e in record.entities}
    for dialog in record.dialogs:
        tp = timepoints.get(dialog.timepoint_id)
        for n, turn in enumerate(dialog.turns):
            others = [names.get(p, p) for p in dialog.participants if p != turn.speaker]
            earlier = " ".join(
                f"{names.get(t.speaker, t.speaker)}: {t.text}" for t in dialog.turns[:n]
            )
            prompt = (
                f"{tp.event if tp else dialog.timepoint_id} With {', '.join(others) or 'no one'}."
                + (f" Said so far: {earlier}" if earlier else "")
            )
            yield TrainingExample(
                kind="dialog_turn",
                run_id=record.run_id,
                scenario_id=record.scenario_id,
                action="dialog_synthesis",
                produced_by=f"{dialog.id}#{n}",
                timeline_id=tp.timeline_id if tp else None,
                timepoint_id=dialog.timepoint_id,
                timestamp=tp.timestamp if tp else None,
                entity_id=turn.speaker,
                entity_name=names.get(turn.speaker),
                prompt=prompt,
                knowledge=_known(provenance, turn.speaker, dialog.timepoint_id),
                used=[_used(provenance, turn.speaker, ref) for ref in turn.knowledge_refs],
                completion=turn.text,
                tone=turn.tone,
            )
    for n, answer in enumerate(record.answers):
        tp = timepoints.get(answer.timepoint_id or "")
        entity = answer.entity_id
        yield TrainingExample(
            kind="answer",
            run_id=record.run_id,
            scenario_id=record.scenario_id,
            action=f"on_demand_answer ({answer.kind})",
            produced_by=f"answer#{n}",
            timeline_id=tp.timeline_id if tp else None,
            timepoint_id=answer.timepoint_id,
            timestamp=tp.timestamp if tp else None,
            entity_id=entity,
            entity_name=names.get(entity or ""),
            prompt=answer.question,
            knowledge=_known(provenance, entity, answer.timepoint_id),
            used=[_used(provenance, entity, ref) for ref in answer.citations if entity],
            completion=answer.text,
        )


def training_jsonl(record: RunRecord) -> str:
    """The run's training examples as JSON lines."""
    return "".join(example.model_dump_json() + "\n" for example in training_examples(record))


def _known(provenance: Provenance, entity: str | None, tp_id: str | None) -> list[KnownFact]:
    if entity is None or tp_id is None or tp_id not in provenance.timepoints:
        return []
    held = sorted(provenance.knowledge_at(entity, tp_id).values(), key=lambda e: e.timestamp)
    return [_fact(e) for e in held[-MAX_KNOWN:]]


def _used(provenance: Provenance, entity: str | None, fact_id: str) -> UsedFact:
    text = provenance.facts.get(fact_id, fact_id)
    if entity is None or fact_id not in provenance.facts:
        return UsedFact(fact_id=fact_id, text=text, exposed=False)
    try:
        chain = provenance.chain(entity, fact_id)
    except KnowledgeQueryError:
        return UsedFact(fact_id=fact_id, text=text, exposed=False)
    return UsedFact(fact_id=fact_id, text=text, exposed=True, chain=[_fact(e) for e in chain])


def _fact(event: ExposureEvent) -> KnownFact:
    return KnownFact(
        fact_id=event.fact_id,
        text=event.fact_text,
        kind=event.kind.value,
        source=event.source,
        timepoint_id=event.timepoint_id,
        timestamp=event.timestamp,
    )
