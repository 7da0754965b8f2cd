"""Helpers the temporal modes share: step times, scored validations, entity views for prompts."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from timepoint.time.clock import advance
from timepoint.world import EntityRole, Timepoint
from timepoint.world.phrasing import about
from timepoint.world.record import ValidationResult

if TYPE_CHECKING:
    from timepoint.time.simulator import Simulator


def step_time(sim: Simulator, index: int) -> datetime:
    """The timestamp of forward step ``index`` (scenario start plus ``index`` steps)."""
    cfg = sim.scenario.timepoints
    return advance(cfg.start, index * cfg.step, cfg.unit)


def planned_event(sim: Simulator, index: int) -> str | None:
    """The event the scenario prescribes for step ``index``, if any."""
    events = sim.scenario.timepoints.events
    return events[index] if index < len(events) else None


def scored_check(
    sim: Simulator,
    validator: str,
    score: float,
    threshold: float,
    message: str,
    target: str = "run",
    timepoint_id: str | None = None,
) -> bool:
    """Store a computed score as a validation result (ok when ``score >= threshold``)."""
    ok = score >= threshold
    sim.state.validation.append(
        ValidationResult(
            validator=validator,
            target=target,
            ok=ok,
            message=f"{message} (score {score:.3f}, threshold {threshold:.2f})",
            timepoint_id=timepoint_id,
        )
    )
    return ok


def entity_views(sim: Simulator, limit_facts: int = 3) -> list[dict[str, Any]]:
    """Entities as the model's context sees them: primaries first, then by centrality."""
    order = {EntityRole.PRIMARY: 0, EntityRole.SECONDARY: 1, EntityRole.BACKGROUND: 2}
    entities = sorted(
        sim.state.entities.values(),
        key=lambda e: (order.get(e.role, 3), -sim.state.centrality.get(e.id, 0.0), e.id),
    )
    initial_by_entity: dict[str, list[str]] = {}
    for event in sim.state.exposures.events:
        if event.timepoint_id is None:
            initial_by_entity.setdefault(event.entity_id, []).append(event.fact_text)
    views = []
    for entity in entities:
        initial = initial_by_entity.get(entity.id, [])
        views.append(
            {
                "id": entity.id,
                "name": entity.name,
                "role": entity.role.value,
                "kind": entity.kind.value,
                "description": entity.description,
                "goals": list(entity.goals),
                "knowledge": [about(text, entity.name) for text in initial[:limit_facts]],
                "health": round(entity.physical.health * entity.physical.mobility, 3),
            }
        )
    return views


def scenario_brief(sim: Simulator) -> dict[str, str]:
    return {
        "title": sim.scenario.title,
        "description": sim.scenario.description,
        "location": sim.scenario.timepoints.location,
    }


def add_path_timepoint(sim: Simulator, tp: Timepoint, tokens: int, timeline: str) -> None:
    """Add ``tp`` of a generated path, charge its ``tokens``, and process it on the main timeline.

    The tokens are spent by the entities present that are resolved above the lowest level at ``tp``.
    """
    sim.add_timepoint(tp)
    sim.state.spend(
        [e for e in tp.entities_present if sim.state.resolution(e, tp.id).rank],
        tp.id,
        tokens,
    )
    if timeline == "main":
        sim.process_timepoint(sim.state.timepoints[tp.id])
