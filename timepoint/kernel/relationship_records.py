"""Queries over a run's relationship records (M13): by timepoint, and latest on a causal path.

Relationships are written by :mod:`timepoint.synthesis.relationships`; validators (M4) and the
relationship mechanism read them through these indexes, kept on the run state.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from timepoint.kernel.state import WorldState
from timepoint.world import Relationship
from timepoint.world.causal import ancestors


def declared_relations(state: WorldState) -> dict[tuple[str, str], str]:
    """Declared relation kinds by ordered pair."""
    return {(min(r.a, r.b), max(r.a, r.b)): r.kind.value for r in state.scenario.entities.relations}


Pair = tuple[str, str]


class _RecordsByTimepoint:
    """``state.relationships`` grouped by timepoint and pair, kept up to date as it grows.

    The list is only ever appended to or replaced (a restored state gets a new one), so the
    records past the last count are the new ones; a replaced or shortened list is re-read.
    """

    def __init__(self) -> None:
        self.source: list[Relationship] | None = None
        self.count = 0
        self.last: Relationship | None = None
        self.by_tp: dict[str, dict[Pair, list[Relationship]]] = {}

    def refresh(self, records: list[Relationship]) -> dict[str, dict[Pair, list[Relationship]]]:
        stale = (
            records is not self.source
            or len(records) < self.count
            or (self.count and records[self.count - 1] is not self.last)
        )
        if stale:
            self.source, self.count, self.by_tp = records, 0, {}
        for index in range(self.count, len(records)):
            record = records[index]
            pairs = self.by_tp.setdefault(record.timepoint_id, {})
            pairs.setdefault((record.a, record.b), []).append(record)
        self.count = len(records)
        self.last = records[-1] if records else None
        return self.by_tp


def records_by_timepoint(state: WorldState) -> dict[str, dict[Pair, list[Relationship]]]:
    """The relationship records of ``state`` by timepoint id, then pair, in the order added."""
    index = state.indexes.setdefault("relationships", _RecordsByTimepoint())
    return index.refresh(state.relationships)


class PathRecords(Mapping[Pair, Relationship]):
    """The most recent record of each pair on a causal path (nearest timepoint first).

    A pair is looked up by walking the path until a timepoint has a record of it, so a lookup
    costs at most the path's length, whatever the number of pairs.
    """

    def __init__(self, by_tp: dict[str, dict[Pair, list[Relationship]]], path: list[str]):
        self._steps = [by_tp[step] for step in path if step in by_tp]

    def __getitem__(self, pair: Pair) -> Relationship:
        found = self.get(pair)
        if found is None:
            raise KeyError(pair)
        return found

    def get(self, pair: Pair, default: Any = None) -> Any:  # without raising KeyError first
        for records in self._steps:
            found = records.get(pair)
            if found:
                return found[0]
        return default

    def __iter__(self) -> Iterator[Pair]:
        return iter(dict.fromkeys(pair for records in self._steps for pair in records))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def history(self, pair: Pair, newest: int) -> list[Relationship]:
        """The last ``newest`` records of ``pair`` on the path (fewer if it has fewer), oldest
        first."""
        found: list[Relationship] = []
        for records in self._steps:
            found.extend(reversed(records.get(pair, ())))
            if len(found) >= newest:
                break
        return found[:newest][::-1]


def latest_on_path(state: WorldState, tp_id: str, include_self: bool = True) -> PathRecords:
    """The most recent record of each pair on the causal path to ``tp_id``."""
    path = ([tp_id] if include_self else []) + ancestors(state.timepoints, tp_id)
    return PathRecords(records_by_timepoint(state), path)
