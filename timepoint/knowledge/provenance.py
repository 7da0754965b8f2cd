"""Provenance queries over stored exposure events (M3): who knew what, when, and from whom."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from timepoint.errors import TimepointError
from timepoint.world import ExposureEvent, Timepoint
from timepoint.world.causal import causal_path
from timepoint.world.exposure import ExposureLog


class KnowledgeQueryError(TimepointError):
    """A provenance query named an entity, fact or timepoint the run does not have."""


class Provenance:
    """Knowledge queries over one timeline's worth of timepoints and exposures."""

    def __init__(self, timepoints: Mapping[str, Timepoint], exposures: Sequence[ExposureEvent]):
        self.timepoints = dict(timepoints)
        self.log = ExposureLog(exposures)
        self.facts = {e.fact_id: e.fact_text for e in exposures}
        self.entities = {e.entity_id for e in exposures}

    def resolve_fact(self, fact: str) -> str:
        """A fact id from an id or a (case-insensitive) fragment of its text."""
        if fact in self.facts:
            return fact
        needle = fact.lower()
        matches = [fid for fid, text in self.facts.items() if needle in text.lower()]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise KnowledgeQueryError(
                f"no fact matches {fact!r}; pass a fact id or a text fragment"
            )
        raise KnowledgeQueryError(
            f"{fact!r} matches {len(matches)} facts ({', '.join(matches[:5])}); be more specific"
        )

    def _timepoint(self, tp_id: str) -> Timepoint:
        if tp_id not in self.timepoints:
            raise KnowledgeQueryError(
                f"no timepoint {tp_id!r}; known: {', '.join(sorted(self.timepoints))}"
            )
        return self.timepoints[tp_id]

    def knowledge_at(self, entity_id: str, tp_id: str) -> dict[str, ExposureEvent]:
        """Fact id → first exposure, for what ``entity_id`` could know at ``tp_id``."""
        tp = self._timepoint(tp_id)
        return self.log.visible(entity_id, causal_path(self.timepoints, tp_id), tp.timestamp)

    def who_knew(self, fact: str, at: str) -> list[str]:
        """Entities that held ``fact`` at timepoint ``at``."""
        fid = self.resolve_fact(fact)
        return sorted(e for e in self.entities if fid in self.knowledge_at(e, at))

    def chain(self, entity_id: str, fact: str) -> list[ExposureEvent]:
        """How ``entity_id`` came to know ``fact``: exposures from the origin to the entity."""
        fid = self.resolve_fact(fact)
        result: list[ExposureEvent] = []
        current: str | None = entity_id
        before = None
        seen: set[str] = set()
        while current is not None and current not in seen:
            seen.add(current)
            candidates = [
                e
                for e in self.log.events
                if e.entity_id == current
                and e.fact_id == fid
                and (before is None or e.timestamp <= before)
            ]
            if not candidates:
                break
            first = min(candidates, key=lambda e: e.timestamp)
            result.append(first)
            before = first.timestamp
            current = first.source if first.source in self.entities else None
        if not result:
            raise KnowledgeQueryError(f"{entity_id!r} was never exposed to {fid!r}")
        return list(reversed(result))
