"""Temporal-knowledge benchmark items from a run (MILESTONES 6.3).

Each :class:`BenchmarkItem` is a question about what the run's entities could and could not know,
with a gold answer computed from the stored exposures and their provenance, the evidence ids
that support it, and distractors: facts (or entities) that did exist at that moment but were not
yet known (or did not yet know). Three kinds:

- ``who_knew``: "Who knew F at T?" — the entities holding F on the causal path to T;
  distractors are entities that learned F only later.
- ``learned_from``: "From whom did E learn F, and when?" — the source and moment of E's first
  exposure, with the chain back to the origin; distractors are others who held F then.
- ``could_know``: "Could E have known F at T?" — yes or no; the "no" items ask about facts that
  existed at T (someone held them) but that E had not met.

An evidence id names one exposure: ``exposure:<entity>:<fact>:<timepoint or 'scenario'>``.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

from pydantic import BaseModel, ConfigDict, Field

from timepoint.knowledge.provenance import Provenance
from timepoint.world import ExposureEvent, Timepoint
from timepoint.world.record import RunRecord, timeline_order

#: what each (entity, timepoint) held: fact id -> first exposure
Held = dict[tuple[str, str], dict[str, ExposureEvent]]
#: most items of each kind per run
MAX_PER_KIND = 60
#: most distractors listed per item
MAX_DISTRACTORS = 5


class BenchmarkItem(BaseModel):
    """One question with its gold answer, evidence and distractors."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    run_id: str
    kind: str
    question: str
    answer: str
    gold: list[str]
    evidence: list[str]
    distractors: list[str] = Field(default_factory=list)
    entity_id: str | None = None
    fact_id: str
    timepoint_id: str | None = None


def evidence_id(event: ExposureEvent) -> str:
    """The id of one exposure event."""
    return f"exposure:{event.entity_id}:{event.fact_id}:{event.timepoint_id or 'scenario'}"


def benchmark_items(record: RunRecord) -> Iterator[BenchmarkItem]:
    """The run's items, by kind, on the main timeline's timepoints."""
    timepoints = {t.id: t for t in record.timepoints}
    provenance = Provenance(timepoints, record.exposures)
    order = [t for t in timeline_order(record) if t.parent_timepoint is None] or list(
        timepoints.values()
    )
    names = {e.id: e.name for e in record.entities}
    people = sorted(provenance.entities)
    held = {(e, t.id): provenance.knowledge_at(e, t.id) for e in people for t in order}
    facts = sorted(provenance.facts)
    yield from islice(_who_knew(record, provenance, order, people, held, facts), MAX_PER_KIND)
    yield from islice(_learned_from(record, provenance, names), MAX_PER_KIND)
    yield from islice(_could_know(record, provenance, order, people, held, names), MAX_PER_KIND)


def benchmark_jsonl(record: RunRecord) -> str:
    """The run's items as JSON lines."""
    return "".join(item.model_dump_json() + "\n" for item in benchmark_items(record))


def _who_knew(
    record: RunRecord,
    provenance: Provenance,
    order: list[Timepoint],
    people: list[str],
    held: Held,
    facts: list[str],
) -> Iterator[BenchmarkItem]:
    for tp in order:
        for fid in facts:
            knew = [e for e in people if fid in held[(e, tp.id)]]
            if not knew:
                continue
            later = [
                e for e in people if e not in knew and any(fid in held[(e, t.id)] for t in order)
            ]
            yield BenchmarkItem(
                id=f"{record.run_id}:who_knew:{tp.id}:{fid}",
                run_id=record.run_id,
                kind="who_knew",
                question=(
                    f"Who knew {provenance.facts[fid]!r} at {tp.id} "
                    f"({tp.timestamp:%Y-%m-%d %H:%M})?"
                ),
                answer=", ".join(knew),
                gold=knew,
                evidence=[evidence_id(held[(e, tp.id)][fid]) for e in knew],
                distractors=later[:MAX_DISTRACTORS],
                fact_id=fid,
                timepoint_id=tp.id,
            )


def _learned_from(
    record: RunRecord, provenance: Provenance, names: dict[str, str]
) -> Iterator[BenchmarkItem]:
    seen: set[tuple[str, str]] = set()
    for event in record.exposures:
        key = (event.entity_id, event.fact_id)
        if event.source not in provenance.entities or key in seen:
            continue
        seen.add(key)
        chain = provenance.chain(event.entity_id, event.fact_id)
        first = chain[-1]
        others = sorted(
            {
                e.entity_id
                for e in record.exposures
                if e.fact_id == event.fact_id
                and e.timestamp <= first.timestamp
                and e.entity_id not in {first.source, first.entity_id}
            }
        )
        when = first.timepoint_id or "the start"
        yield BenchmarkItem(
            id=f"{record.run_id}:learned_from:{event.entity_id}:{event.fact_id}",
            run_id=record.run_id,
            kind="learned_from",
            question=(
                f"From whom did {names.get(event.entity_id, event.entity_id)} learn "
                f"{provenance.facts[event.fact_id]!r}, and when?"
            ),
            answer=f"{first.source} at {when} ({first.timestamp.isoformat()})",
            gold=[first.source, when],
            evidence=[evidence_id(e) for e in chain],
            distractors=others[:MAX_DISTRACTORS],
            entity_id=event.entity_id,
            fact_id=event.fact_id,
            timepoint_id=first.timepoint_id,
        )


def _could_know(
    record: RunRecord,
    provenance: Provenance,
    order: list[Timepoint],
    people: list[str],
    held: Held,
    names: dict[str, str],
) -> Iterator[BenchmarkItem]:
    for tp in order:
        existing = {fid for e in people for fid in held[(e, tp.id)]}
        for entity in people:
            known = held[(entity, tp.id)]
            unknown = sorted(existing - set(known))
            asked = [(f, "yes") for f in sorted(known)[:2]] + [(f, "no") for f in unknown[:2]]
            for fid, answer in asked:
                holders = [e for e in people if fid in held[(e, tp.id)]]
                evidence = (
                    [evidence_id(known[fid])]
                    if answer == "yes"
                    else [evidence_id(held[(e, tp.id)][fid]) for e in holders]
                )
                yield BenchmarkItem(
                    id=f"{record.run_id}:could_know:{entity}:{tp.id}:{fid}",
                    run_id=record.run_id,
                    kind="could_know",
                    question=(
                        f"Could {names.get(entity, entity)} have known "
                        f"{provenance.facts[fid]!r} at {tp.id}?"
                    ),
                    answer=answer,
                    gold=[answer],
                    evidence=evidence,
                    distractors=unknown[:MAX_DISTRACTORS] if answer == "yes" else [],
                    entity_id=entity,
                    fact_id=fid,
                    timepoint_id=tp.id,
                )
