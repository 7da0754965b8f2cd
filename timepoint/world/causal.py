"""Causal chains (M7): ancestry, paths and integrity of timepoints linked by causal parents."""

from __future__ import annotations

from collections.abc import Mapping

from timepoint.world import Timepoint


def ancestors(timepoints: Mapping[str, Timepoint], tp_id: str) -> list[str]:
    """Ids from ``tp_id``'s causal parent back to the root (nearest first)."""
    chain: list[str] = []
    seen = {tp_id}
    parent = timepoints[tp_id].causal_parent
    while parent is not None:
        if parent in seen:
            raise ValueError(f"causal cycle through {parent!r}")
        seen.add(parent)
        chain.append(parent)
        parent = timepoints[parent].causal_parent if parent in timepoints else None
    return chain


def causal_path(timepoints: Mapping[str, Timepoint], tp_id: str) -> set[str]:
    """``tp_id`` and all its causal ancestors: the timepoints whose knowledge is visible there."""
    return {tp_id, *ancestors(timepoints, tp_id)}


def has_path(timepoints: Mapping[str, Timepoint], earlier: str, later: str) -> bool:
    """True when ``earlier`` is ``later`` or one of its causal ancestors."""
    return earlier == later or earlier in ancestors(timepoints, later)


def integrity_problems(timepoints: Mapping[str, Timepoint], forward: bool = True) -> list[str]:
    """Every broken link: a missing parent, a cycle, or (forward modes) time running backwards."""
    problems: list[str] = []
    for tp in timepoints.values():
        parent_id = tp.causal_parent
        if parent_id is None:
            continue
        parent = timepoints.get(parent_id)
        if parent is None:
            problems.append(f"{tp.id}: causal parent {parent_id!r} does not exist")
            continue
        if forward and parent.timestamp > tp.timestamp:
            problems.append(
                f"{tp.id}: timestamp {tp.timestamp.isoformat()} precedes its parent "
                f"{parent_id} ({parent.timestamp.isoformat()})"
            )
        try:
            ancestors(timepoints, tp.id)
        except ValueError as error:
            problems.append(f"{tp.id}: {error}")
    return problems
