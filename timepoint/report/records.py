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
