"""Knowledge provenance highlights: the facts that travelled furthest through a run (M3).

A highlight follows one fact from its origin (who knew it first, and how) through every
``told`` exposure to the entities that held it at the end of the run.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from timepoint.report.records import entity_names
from timepoint.world import ExposureEvent, ExposureKind
from timepoint.world.record import RunRecord

_ORIGIN_WORDS = {
    ExposureKind.INITIAL: "knew it from the start",
    ExposureKind.WITNESSED: "witnessed it",
    ExposureKind.EXPERIENCED: "was there when it happened",
    ExposureKind.LEARNED: "learned it on elevation",
    ExposureKind.INFERRED: "inferred it",
    ExposureKind.TOLD: "was told it",
}


def provenance_highlights(record: RunRecord, limit: int = 5) -> list[dict[str, Any]]:
    """The ``limit`` facts passed on most often in dialog, most widely held first.

    Each highlight: ``fact_id``, ``fact``, ``origin`` (who first held it and how), ``first_at``
    (timepoint of the origin, or None for initial knowledge), ``spread`` (one item per ``told``
    exposure: ``from``, ``to``, ``timepoint``), ``holders`` (entities holding it at the end)
    and ``of`` (entities in the run).
    """
    names = entity_names(record)
    by_fact: dict[str, list[ExposureEvent]] = defaultdict(list)
    for event in record.exposures:
        by_fact[event.fact_id].append(event)
    told_facts = [
        fid for fid, events in by_fact.items() if any(e.kind is ExposureKind.TOLD for e in events)
    ]

    def rank(fid: str) -> tuple[int, int, str]:
        events = by_fact[fid]
        told = sum(e.kind is ExposureKind.TOLD for e in events)
        return (-len({e.entity_id for e in events}), -told, fid)

    result = []
    for fid in sorted(told_facts, key=rank)[:limit]:
        events = sorted(by_fact[fid], key=lambda e: (e.timestamp, e.kind is ExposureKind.TOLD))
        origin = events[0]
        spread = [
            {
                "from": names.get(e.source, e.source),
                "to": names.get(e.entity_id, e.entity_id),
                "timepoint": e.timepoint_id,
            }
            for e in events
            if e.kind is ExposureKind.TOLD
        ]
        result.append(
            {
                "fact_id": fid,
                "fact": origin.fact_text,
                "origin": f"{names.get(origin.entity_id, origin.entity_id)} "
                f"{_ORIGIN_WORDS[origin.kind]}",
                "first_at": origin.timepoint_id,
                "spread": spread,
                "holders": len({e.entity_id for e in events}),
                "of": len(record.entities),
            }
        )
    return result
