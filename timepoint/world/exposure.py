"""Exposure events (M3): the only source of what an entity knows, and their provenance queries.

An entity's knowledge at a timepoint is derived from its exposures that happened before the
simulation (``timepoint_id`` None) or at a timepoint on the causal path to it, never stored apart.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Collection, Iterable
from datetime import datetime

from timepoint.world import ExposureEvent, ExposureKind, Fact


def fact_id(text: str) -> str:
    """A stable id for a knowledge item: the same text always gets the same id."""
    normalized = " ".join(text.lower().split()).rstrip(".")
    return "f_" + hashlib.sha1(normalized.encode()).hexdigest()[:8]


def make_fact(text: str, origin: str = "scenario") -> Fact:
    return Fact(id=fact_id(text), text=text.strip(), origin=origin)


class ExposureLog:
    """Append-only log of exposure events with per-entity indexes."""

    def __init__(self, events: Iterable[ExposureEvent] = ()):
        self._events: list[ExposureEvent] = []
        self._by_entity: dict[str, list[ExposureEvent]] = defaultdict(list)
        self._seen: set[tuple[str, str, str | None, str]] = set()
        for event in events:
            self.add(event)

    def __len__(self) -> int:
        return len(self._events)

    @property
    def events(self) -> list[ExposureEvent]:
        return list(self._events)

    def add(self, event: ExposureEvent) -> bool:
        """Record ``event``; a repeat of the same (entity, fact, timepoint, source) is ignored."""
        key = (event.entity_id, event.fact_id, event.timepoint_id, event.source)
        if key in self._seen:
            return False
        self._seen.add(key)
        self._events.append(event)
        self._by_entity[event.entity_id].append(event)
        return True

    def expose(
        self,
        entity_id: str,
        fact: Fact,
        kind: ExposureKind,
        source: str,
        timepoint_id: str | None,
        timestamp: datetime,
        confidence: float = 1.0,
    ) -> bool:
        return self.add(
            ExposureEvent(
                entity_id=entity_id,
                kind=kind,
                fact_id=fact.id,
                fact_text=fact.text,
                source=source,
                timepoint_id=timepoint_id,
                timestamp=timestamp,
                confidence=confidence,
            )
        )

    def visible(
        self, entity_id: str, path: Collection[str], at: datetime | None = None
    ) -> dict[str, ExposureEvent]:
        """First exposure per fact ``entity_id`` holds on ``path`` (timepoint ids), up to ``at``."""
        known: dict[str, ExposureEvent] = {}
        for event in self._by_entity.get(entity_id, ()):
            if event.timepoint_id is not None and event.timepoint_id not in path:
                continue
            if at is not None and event.timestamp > at:
                continue
            known.setdefault(event.fact_id, event)
        return known

    def holders(self, fact_id: str) -> list[ExposureEvent]:
        return [e for e in self._events if e.fact_id == fact_id]
