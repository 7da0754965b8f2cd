"""What a new timepoint does to the world: who is resolved at which level, who learns what.

:func:`plan_cells` gives every (entity, timepoint) pair its resolution (M1): present and awake
entities follow the schedule, the others stay tensor-only (M14: sleepers are absent).
:func:`expose_present` exposes those present and awake to the event and its key facts (M3):
experienced at dialog resolution and above, witnessed below it.
"""

from __future__ import annotations

from timepoint.fidelity.strategy import ResolutionSchedule
from timepoint.kernel.state import WorldState
from timepoint.scenario.schema import Scenario
from timepoint.time.circadian import asleep_at
from timepoint.world import ExposureKind, ResolutionLevel, Timepoint
from timepoint.world.exposure import make_fact
from timepoint.world.record import FidelityCell

__all__ = ["expose_present", "plan_cells"]


def plan_cells(
    state: WorldState,
    scenario: Scenario,
    schedule: ResolutionSchedule,
    tp: Timepoint,
    *,
    index: int,
    downgrade: int,
) -> None:
    """Set the resolution of every (entity, ``tp``) pair; ``index`` is ``tp``'s step and
    ``downgrade`` the levels the token budget took off."""
    asleep = asleep_at(scenario, state.entities.values(), tp)  # M14
    for entity in state.entities.values():
        if entity.id in tp.entities_present and entity.id not in asleep:
            level = schedule.resolve(
                role=entity.role,
                centrality=state.centrality.get(entity.id, 0.0),
                importance=tp.importance,
                index=index,
                floor=min(scenario.entities.initial_resolution, ResolutionLevel.SCENE),
                downgrade=downgrade,
            )
        else:
            level = ResolutionLevel.TENSOR_ONLY
        state.fidelity[(entity.id, tp.id)] = FidelityCell(
            entity_id=entity.id, timepoint_id=tp.id, resolution=level
        )


def expose_present(state: WorldState, scenario: Scenario, tp: Timepoint) -> None:
    """Add ``tp``'s event and key facts and expose those present to them (call after
    :func:`plan_cells`, whose resolutions choose the kind of exposure)."""
    origin = f"timepoint:{tp.id}"
    facts = [
        make_fact(tp.event, f"event:{tp.id}"),
        *(make_fact(t, origin) for t in tp.key_facts),
    ]
    asleep = asleep_at(scenario, state.entities.values(), tp)  # M14: sleepers miss it
    for fact in facts:
        fact = state.add_fact(fact)
        for entity_id in tp.entities_present:
            if entity_id in asleep:
                continue
            level = state.resolution(entity_id, tp.id)
            kind = (
                ExposureKind.EXPERIENCED
                if level >= ResolutionLevel.DIALOG
                else (ExposureKind.WITNESSED)
            )
            added = state.exposures.expose(entity_id, fact, kind, origin, tp.id, tp.timestamp)
            state.ledger.count("M3", kind.value, int(added))
