"""Comparing two histories (M12): two runs, a branch and its parent, or two paths of one run.

:func:`compare` aligns the two paths step by step and reports the first divergence, every
differing moment, what each entity knows at the end of one history but not the other,
relationships that end differently, and an explanation in words.

The alignment is defined here once and used by every surface (``timepoint compare``, the path
comparison of the report and notebooks, the site): a **step** is a 0-based position on a path
read from its root (:func:`path_order`: a timeline's causal ancestors first, then its own
timepoints), and two moments differ in the aspects :func:`moment_aspects` names.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from timepoint.errors import RunNotFound
from timepoint.knowledge.provenance import Provenance
from timepoint.world import Timepoint
from timepoint.world.causal import ancestors
from timepoint.world.record import RunRecord, timeline_order


class SlotDifference(BaseModel):
    """One step of the two paths where the histories differ (``slot`` is the 0-based step)."""

    slot: int
    timepoint_a: str | None
    timepoint_b: str | None
    event_a: str | None
    event_b: str | None
    aspects: list[str]


class KnowledgeDifference(BaseModel):
    """Facts one entity holds at the end of one history but not the other (texts)."""

    entity_id: str
    only_a: list[str]
    only_b: list[str]
    sources_a: dict[str, int] = Field(default_factory=dict)


class RelationshipDifference(BaseModel):
    a: str
    b: str
    trust: tuple[float | None, float | None]
    affinity: tuple[float | None, float | None]


class Comparison(BaseModel):
    """What :func:`compare` found; ``str()`` gives a readable report."""

    run_a: str
    run_b: str
    first_divergence: SlotDifference | None
    events: list[SlotDifference]
    knowledge: list[KnowledgeDifference]
    relationships: list[RelationshipDifference]
    entities_only_a: list[str]
    entities_only_b: list[str]
    explanation: str

    def __str__(self) -> str:
        lines = [f"compare {self.run_a} vs {self.run_b}", self.explanation]
        for diff in self.events:
            lines.append(
                f"  step {diff.slot} ({', '.join(diff.aspects)}): "
                f"A {diff.event_a or '-'!s} | B {diff.event_b or '-'!s}"
            )
        for know in self.knowledge:
            lines.append(
                f"  {know.entity_id}: {len(know.only_a)} only in A, {len(know.only_b)} only in B"
            )
        for rel in self.relationships:
            lines.append(f"  {rel.a}-{rel.b}: trust {rel.trust[0]} vs {rel.trust[1]}")
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        return "```\n" + str(self) + "\n```"


def compare(a: Any, b: Any, *, store: Any = None) -> Comparison:
    """Compare two histories. Each side is a Run, a RunRecord or ``"RUN_ID[:TIMELINE]"``.

    Steps are aligned by position on the path read from its root (:func:`path_order`), and a
    step differs in the aspects :func:`moment_aspects` names.

    Args:
        a: the reference history ("A").
        b: the other history ("B"), e.g. a branch of ``a``.
        store: the store run ids are loaded from (``tp.compare`` opens the default one).

    Raises:
        RunNotFound: a side is a run id and no store was given.
    """
    (rec_a, line_a), (rec_b, line_b) = (_side(x, store) for x in (a, b))
    order_a, order_b = path_order(rec_a, line_a), path_order(rec_b, line_b)
    dialogs_a, dialogs_b = dialog_texts(rec_a), dialog_texts(rec_b)
    events: list[SlotDifference] = []
    for slot in range(max(len(order_a), len(order_b))):
        ta = order_a[slot] if slot < len(order_a) else None
        tb = order_b[slot] if slot < len(order_b) else None
        aspects = moment_aspects(ta, tb, dialogs_a, dialogs_b)
        if aspects:
            events.append(
                SlotDifference(
                    slot=slot,
                    timepoint_a=ta.id if ta else None,
                    timepoint_b=tb.id if tb else None,
                    event_a=ta.event if ta else None,
                    event_b=tb.event if tb else None,
                    aspects=aspects,
                )
            )
    ids_a, ids_b = {e.id for e in rec_a.entities}, {e.id for e in rec_b.entities}
    knowledge = _knowledge(rec_a, order_a, rec_b, order_b, ids_a & ids_b)
    relationships = _relationships(rec_a, order_a, rec_b, order_b)
    result = Comparison(
        run_a=_label(rec_a, line_a),
        run_b=_label(rec_b, line_b),
        first_divergence=events[0] if events else None,
        events=events,
        knowledge=knowledge,
        relationships=relationships,
        entities_only_a=sorted(ids_a - ids_b),
        entities_only_b=sorted(ids_b - ids_a),
        explanation="",
    )
    names = {e.id: e.name for e in [*rec_a.entities, *rec_b.entities]}
    explanation = _explain(result, rec_b, line_b, len(order_a), names)
    return result.model_copy(update={"explanation": explanation})


def path_order(record: RunRecord, timeline_id: str = "main") -> list[Timepoint]:
    """The path of ``timeline_id`` read from its root: the causal ancestors of its first
    timepoint, then its own timepoints (all timepoints when a run has no ``main`` timeline).
    Step ``n`` of a comparison is item ``n`` of this list."""
    listed = timeline_order(record, timeline_id)
    if not listed:
        return []
    by_id = {t.id: t for t in record.timepoints}
    prefix = [by_id[i] for i in reversed(ancestors(by_id, listed[0].id)) if i in by_id]
    return list({t.id: t for t in [*prefix, *listed]}.values())


def dialog_texts(record: RunRecord) -> dict[str, list[str]]:
    """The turns spoken at each timepoint (timepoint id -> texts), as :func:`moment_aspects`
    compares them."""
    return {d.timepoint_id: [t.text for t in d.turns] for d in record.dialogs}


def moment_aspects(
    a: Timepoint | None,
    b: Timepoint | None,
    dialogs_a: dict[str, list[str]],
    dialogs_b: dict[str, list[str]],
) -> list[str]:
    """How two aligned moments differ: ``missing`` (one path is shorter), ``event`` (the event
    text, ignoring case and spacing), ``present`` (who is there), ``dialog`` (what was said).
    Empty when they are the same moment."""
    if a is None or b is None:
        return ["missing"]
    aspects = []
    if _normal(a.event) != _normal(b.event):
        aspects.append("event")
    if set(a.entities_present) != set(b.entities_present):
        aspects.append("present")
    if dialogs_a.get(a.id) != dialogs_b.get(b.id):
        aspects.append("dialog")
    return aspects


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def _side(value: Any, store: Any) -> tuple[RunRecord, str]:
    if isinstance(value, RunRecord):
        return value, "main"
    if hasattr(value, "record") and isinstance(value.record, RunRecord):
        return value.record, "main"
    run_id, _, timeline = str(value).partition(":")
    if store is None:
        raise RunNotFound(
            f"cannot load run {run_id!r} without a store: pass store=..., or a Run or RunRecord"
        )
    return store.load_run(run_id), timeline or "main"


def _label(record: RunRecord, timeline: str) -> str:
    return record.run_id if timeline == "main" else f"{record.run_id}:{timeline}"


def _knowledge(
    rec_a: RunRecord,
    order_a: list[Timepoint],
    rec_b: RunRecord,
    order_b: list[Timepoint],
    shared: set[str],
) -> list[KnowledgeDifference]:

    if not order_a or not order_b:
        return []
    prov_a = Provenance({t.id: t for t in rec_a.timepoints}, rec_a.exposures)
    prov_b = Provenance({t.id: t for t in rec_b.timepoints}, rec_b.exposures)
    result = []
    for entity_id in sorted(shared):
        known_a = prov_a.knowledge_at(entity_id, order_a[-1].id)
        known_b = prov_b.knowledge_at(entity_id, order_b[-1].id)
        texts_b = {e.fact_text for e in known_b.values()}
        texts_a = {e.fact_text for e in known_a.values()}
        extra_a = [e for e in known_a.values() if e.fact_text not in texts_b]
        only_b = sorted(t for t in texts_b if t not in texts_a)
        if extra_a or only_b:
            sources: dict[str, int] = {}
            for event in extra_a:
                sources[event.source] = sources.get(event.source, 0) + 1
            result.append(
                KnowledgeDifference(
                    entity_id=entity_id,
                    only_a=sorted(e.fact_text for e in extra_a),
                    only_b=only_b,
                    sources_a=sources,
                )
            )
    return result


def _relationships(
    rec_a: RunRecord, order_a: list[Timepoint], rec_b: RunRecord, order_b: list[Timepoint]
) -> list[RelationshipDifference]:
    def latest(record: RunRecord, order: list[Timepoint]) -> dict[tuple[str, str], Any]:
        position = {t.id: n for n, t in enumerate(order)}
        table: dict[tuple[str, str], Any] = {}
        for rel in sorted(
            (r for r in record.relationships if r.timepoint_id in position),
            key=lambda r: position[r.timepoint_id],
        ):
            table[(rel.a, rel.b)] = rel
        return table

    table_a, table_b = latest(rec_a, order_a), latest(rec_b, order_b)
    result = []
    for pair in sorted(set(table_a) | set(table_b)):
        ra, rb = table_a.get(pair), table_b.get(pair)
        trust = (ra.trust if ra else None, rb.trust if rb else None)
        affinity = (ra.affinity if ra else None, rb.affinity if rb else None)
        if (
            ra is None
            or rb is None
            or abs(ra.trust - rb.trust) > 0.01
            or abs(ra.affinity - rb.affinity) > 0.01
        ):
            result.append(
                RelationshipDifference(a=pair[0], b=pair[1], trust=trust, affinity=affinity)
            )
    return result


def _explain(
    result: Comparison, rec_b: RunRecord, line_b: str, slots_a: int, names: dict[str, str]
) -> str:
    parts = []
    timeline = next((t for t in rec_b.timelines if t.id == line_b), None)
    if timeline is not None and timeline.intervention:
        parts.append(
            f"B branches from {timeline.parent_timeline} at {timeline.branch_point} "
            f"with the intervention: {timeline.intervention}."
        )
    first = result.first_divergence
    if first is None and not result.knowledge and not result.relationships:
        return " ".join([*parts, "The two histories agree on every compared moment."])
    if first is not None:
        parts.append(
            f"They agree on {first.slot} moment(s) and first diverge at step {first.slot} "
            f"({first.timepoint_a or '-'} vs {first.timepoint_b or '-'}: "
            f"{', '.join(first.aspects)})."
        )
        later = len(result.events) - 1
        if later:
            parts.append(f"{later} later moment(s) of {max(slots_a, 1)} differ as well.")
    if result.entities_only_a:
        parts.append(f"Only A has {', '.join(names.get(e, e) for e in result.entities_only_a)}.")
    if result.knowledge:
        widest = max(result.knowledge, key=lambda k: len(k.only_a) + len(k.only_b))
        who = names.get(widest.entity_id, widest.entity_id)
        text = (
            f"By the end {len(result.knowledge)} entities know different things; the widest gap "
            f"is {who} ({len(widest.only_a)} facts only in A, {len(widest.only_b)} only in B)"
        )
        if widest.sources_a:
            source = max(widest.sources_a, key=lambda s: widest.sources_a[s])
            text += f", most of A's extra knowledge coming from {_source(source, names)}"
        parts.append(text + ".")
    if result.relationships:
        parts.append(f"{len(result.relationships)} relationships end differently.")
    return " ".join(parts)


def _source(source: str, names: dict[str, str]) -> str:
    if source in names:
        return names[source]
    if source.startswith("timepoint:"):
        return f"what they witnessed at {source.removeprefix('timepoint:')}"
    return {"scenario": "their initial knowledge", "elevation": "elevation"}.get(source, source)
