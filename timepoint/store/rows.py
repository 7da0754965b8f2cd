"""A run record flattened into rows of the store's tables (Python values, not yet encoded)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from timepoint.llm.base import CallRecord
from timepoint.llm.call_log import CallText
from timepoint.world import Relationship
from timepoint.world.record import RunRecord

Row = dict[str, Any]


def run_row(record: RunRecord, calls: Sequence[CallRecord]) -> Row:
    """The ``runs`` row. Usage figures come from the record's summary, or from ``calls`` when
    the summary is empty."""
    usage = record.usage
    if usage.calls == 0 and calls:
        n_calls = len(calls)
        tokens_in = sum(c.prompt_tokens for c in calls)
        tokens_out = sum(c.completion_tokens for c in calls)
        cost = sum(c.cost_usd for c in calls)
    else:
        n_calls, tokens_in, tokens_out = usage.calls, usage.prompt_tokens, usage.completion_tokens
        cost = usage.cost_usd
    return {
        "run_id": record.run_id,
        "scenario_id": record.scenario_id,
        "title": record.title,
        "description": record.description,
        "mode": record.mode,
        "config_hash": record.config_hash,
        "seed": record.seed,
        "status": record.status,
        "failed_step": record.failed_step,
        "error": record.error,
        "started": record.started,
        "finished": record.finished,
        "duration_s": record.duration_s,
        "entities": len(record.entities),
        "timepoints": len(record.timepoints),
        "llm_calls": n_calls,
        "tokens_in": tokens_in,
        "tokens_out": tokens_out,
        "cost_usd": cost,
        "provider": record.provider,
        "saved": datetime.now(UTC),
        "record_json": record.model_dump(mode="json"),
    }


def _entities(record: RunRecord) -> list[Row]:
    return [
        {
            "entity_id": e.id,
            "name": e.name,
            "kind": str(e.kind),
            "role": str(e.role),
            "resolution": str(e.resolution),
            "description": e.description,
            "voice": e.voice,
            "profile_source": e.profile_source,
            "on_demand": e.on_demand,
            "centrality": e.metadata.centrality,
            "query_count": e.metadata.query_count,
            "training_iterations": e.metadata.training_iterations,
            **e.physical.model_dump(),
            **e.cognitive.model_dump(),
            "traits_json": dict(e.traits),
            "goals_json": list(e.goals),
            "constraints_json": list(e.constraints),
        }
        for e in record.entities
    ]


def _timepoints(record: RunRecord) -> list[Row]:
    return [
        {
            "timepoint_id": t.id,
            "timeline_id": t.timeline_id,
            "timestamp": t.timestamp,
            "event": t.event,
            "causal_parent": t.causal_parent,
            "parent_timepoint": t.parent_timepoint,
            "phase": t.phase,
            "importance": t.importance,
            "resolution": str(t.resolution),
            "location": t.location,
            "presentation_position": t.presentation_position,
            "entities_present": list(t.entities_present),
            "key_facts": list(t.key_facts),
        }
        for t in record.timepoints
    ]


def _timelines(record: RunRecord) -> list[Row]:
    paths = {p.timeline_id: p for p in record.paths}
    rows = []
    for t in record.timelines:
        path = paths.get(t.id)
        rows.append(
            {
                "timeline_id": t.id,
                "parent_timeline": t.parent_timeline,
                "branch_point": t.branch_point,
                "intervention": t.intervention,
                "mode": t.mode,
                "label": t.label,
                "score": t.score,
                "timepoint_ids": list(t.timepoint_ids),
                "length": len(t.timepoint_ids),
                "path_rank": path.rank if path else None,
                "path_score": path.score if path else None,
                "pivots": list(path.pivots) if path else None,
                "path_warning": path.warning if path else None,
            }
        )
    return rows


def _exposures(record: RunRecord) -> list[Row]:
    return [
        {
            "entity_id": x.entity_id,
            "kind": str(x.kind),
            "fact_id": x.fact_id,
            "fact_text": x.fact_text,
            "source": x.source,
            "timepoint_id": x.timepoint_id,
            "timestamp": x.timestamp,
            "confidence": x.confidence,
        }
        for x in record.exposures
    ]


def _dialogs(record: RunRecord) -> list[Row]:
    rows: list[Row] = []
    for d in record.dialogs:
        head = {
            "dialog_id": d.id,
            "timepoint_id": d.timepoint_id,
            "participants": list(d.participants),
            "repaired": d.repaired,
        }
        if not d.turns:
            rows.append({**head, "turn": None})
        for number, turn in enumerate(d.turns):
            rows.append(
                {
                    **head,
                    "turn": number,
                    "speaker": turn.speaker,
                    "text": turn.text,
                    "tone": turn.tone,
                    "knowledge_refs": list(turn.knowledge_refs),
                    "physical_influence": turn.physical_influence,
                    "flagged": turn.flagged,
                }
            )
    return rows


def _relationships(record: RunRecord) -> list[Row]:
    # the fields are plain values, read directly: a large run has a row per pair per timepoint
    names = [n for n in Relationship.model_fields if n != "shared_facts"]
    return [
        {**{n: getattr(r, n) for n in names}, "shared_facts": list(r.shared_facts)}
        for r in record.relationships
    ]


def _validations(record: RunRecord) -> list[Row]:
    return [v.model_dump() for v in record.validation]


def _ledger(record: RunRecord) -> list[Row]:
    return [
        {"mechanism": m.mechanism, "summary": m.summary, "counts_json": dict(m.counts)}
        for m in record.mechanisms
    ]


def _calls(calls: Sequence[CallRecord]) -> list[Row]:
    # the structured-output mode and refused modes live in llm_calls.jsonl, not in the store
    exclude = {"seq", "structured_mode", "refused_modes"}
    return [{**c.model_dump(exclude=exclude), "call_seq": c.seq} for c in calls]


def _texts(texts: Sequence[CallText]) -> list[Row]:
    return [{"call_seq": t.seq, "prompt": t.prompt, "response": t.response} for t in texts]


def child_rows(
    record: RunRecord, calls: Sequence[CallRecord], texts: Sequence[CallText] = ()
) -> dict[str, list[Row]]:
    """Rows of every child table of ``runs`` for one run, without ``run_id`` and ``seq``."""
    return {
        "entities": _entities(record),
        "timepoints": _timepoints(record),
        "timelines": _timelines(record),
        "exposures": _exposures(record),
        "dialogs": _dialogs(record),
        "relationships": _relationships(record),
        "validations": _validations(record),
        "mechanism_ledger": _ledger(record),
        "llm_calls": _calls(calls),
        "llm_call_texts": _texts(texts),
    }


def call_from_row(row: Row) -> CallRecord:
    """A call record rebuilt from its ``llm_calls`` row."""
    fields = {k: v for k, v in row.items() if k in CallRecord.model_fields and v is not None}
    fields["seq"] = row["call_seq"]
    fields["on_demand"] = bool(row.get("on_demand"))
    return CallRecord(**fields)


def text_from_row(row: Row) -> CallText:
    """A call's texts rebuilt from its ``llm_call_texts`` row."""
    return CallText(seq=row["call_seq"], prompt=row["prompt"] or "", response=row["response"] or "")
