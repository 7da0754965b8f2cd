"""Reading a run record for reports: accepted inputs, entity names and timepoint order.

Every report function takes a :class:`~timepoint.engine.run.Run` or a bare
:class:`~timepoint.world.record.RunRecord`; :func:`as_record` turns either into the record.
"""

from __future__ import annotations

from typing import Any

from timepoint.errors import ReportError
from timepoint.world import Timepoint
from timepoint.world.record import RunRecord


def as_record(run: Any) -> RunRecord:
    """The :class:`RunRecord` of ``run`` (a ``Run``, a ``RunRecord`` or a ``run.json`` dict).

    Raises:
        ReportError: ``run`` is none of those.
    """
    if isinstance(run, RunRecord):
        return run
    record = getattr(run, "record", None)
    if isinstance(record, RunRecord):
        return record
    if isinstance(run, dict) and "run_id" in run:
        return RunRecord.model_validate(run)
    raise ReportError(
        f"expected a Run, a RunRecord or a run.json dict, got {type(run).__name__}; "
        "load one with timepoint.load_run(run_id)"
    )


def entity_names(record: RunRecord) -> dict[str, str]:
    """Entity id → display name (ids of unknown entities map to themselves on lookup)."""
    return {e.id: e.name for e in record.entities}


def name_of(record: RunRecord, entity_id: str) -> str:
    """The display name of ``entity_id``; sources like ``scenario`` are returned as they are."""
    return entity_names(record).get(entity_id, entity_id)


def timepoint_order(record: RunRecord) -> list[str]:
    """Timepoint ids in reading order: the main timeline, then every other timeline's own
    timepoints, then any timepoint no timeline lists (by timestamp)."""
    seen: dict[str, None] = {}
    main = record.main_timeline
    timelines = [main] if main else []
    timelines += [t for t in record.timelines if t is not main]
    for timeline in timelines:
        for tp_id in timeline.timepoint_ids:
            seen.setdefault(tp_id, None)
    rest = sorted(
        (t for t in record.timepoints if t.id not in seen), key=lambda t: (t.timestamp, t.id)
    )
    for tp in rest:
        seen.setdefault(tp.id, None)
    known = {t.id for t in record.timepoints}
    return [tp_id for tp_id in seen if tp_id in known]


def main_path(record: RunRecord) -> list[Timepoint]:
    """The timepoints of the main timeline in causal order (all timepoints when there is none)."""
    tps = {t.id: t for t in record.timepoints}
    main = record.main_timeline
    if main is None:
        return sorted(record.timepoints, key=lambda t: (t.timestamp, t.id))
    return [tps[i] for i in main.timepoint_ids if i in tps]


def timeline_label(record: RunRecord, timeline_id: str) -> str:
    """A short label for a timeline: its label, else its id, with its path rank when ranked."""
    timeline = next((t for t in record.timelines if t.id == timeline_id), None)
    label = (timeline.label if timeline and timeline.label else timeline_id) or timeline_id
    path = next((p for p in record.paths if p.timeline_id == timeline_id), None)
    return f"{label} (#{path.rank})" if path is not None else label


def validation_counts(record: RunRecord) -> dict[str, Any]:
    """The run's validation numbers, defined once for every surface (narrative, PDF, summary,
    site, notebooks).

    - ``result_count``: rows of ``record.validation`` — one per violation, plus one ``ok`` row per
      validator and timepoint where it checked something and found nothing;
    - ``violations`` and ``repaired``: failed rows, and those of them repaired;
    - ``validators``: how many validators reported a result;
    - ``checks``: individual checks the M4 validators made (the M4 ledger's ``checks``; None for
      a run without that count) — "checks" means this number and nothing else;
    - ``by_validator``: ``{name: {"results", "violations", "repaired"}}``.
    """
    by_validator: dict[str, dict[str, int]] = {}
    for v in record.validation:
        row = by_validator.setdefault(v.validator, {"results": 0, "violations": 0, "repaired": 0})
        row["results"] += 1
        row["violations"] += not v.ok
        row["repaired"] += (not v.ok) and v.repaired
    m4 = next((m.counts for m in record.mechanisms if m.mechanism == "M4"), {})
    checks = m4.get("checks")
    return {
        "result_count": len(record.validation),
        "violations": sum(r["violations"] for r in by_validator.values()),
        "repaired": sum(r["repaired"] for r in by_validator.values()),
        "validators": len(by_validator),
        "checks": int(checks) if isinstance(checks, int | float) else None,
        "by_validator": by_validator,
    }


def validation_line(counts: dict[str, Any]) -> str:
    """The one sentence every surface prints about validation, from :func:`validation_counts`."""
    line = (
        f"{counts['result_count']} results from {counts['validators']} validators: "
        f"{counts['violations']} violations, {counts['repaired']} repaired"
    )
    if counts["checks"] is not None:
        line += f"; the M4 validators made {counts['checks']} checks"
    return line + "."


def spend_line(record: RunRecord) -> str:
    """What the run spent, its own generation apart from the on-demand work of questions
    (``run.ask``) added afterwards: ``15,282 tokens in 7 calls · $0.0000`` or ``… in 7 calls
    · $0.0000 (generation), plus 4,100 tokens in 3 calls · $0.0000 on demand (2 questions)``.
    Every surface that prints a run's usage prints this."""
    u = record.usage
    tokens = u.prompt_tokens + u.completion_tokens
    own_tokens = tokens - u.on_demand_tokens
    own_calls = u.calls - u.on_demand_calls
    own_cost = u.cost_usd - u.on_demand_cost_usd
    line = f"{own_tokens:,} tokens in {_calls(own_calls)} · ${own_cost:.4f}"
    if not (u.on_demand_calls or u.on_demand_tokens):
        return line
    asked = len(record.answers)
    questions = f" ({asked} question{'s' if asked != 1 else ''})" if asked else ""
    return (
        f"{line} (generation), plus {u.on_demand_tokens:,} tokens in {_calls(u.on_demand_calls)} "
        f"· ${u.on_demand_cost_usd:.4f} on demand{questions}"
    )


def _calls(n: int) -> str:
    return "1 call" if n == 1 else f"{n} calls"
