"""Rebuilding a simulation's world state from a stored run record.

:func:`restore_state` gives the whole world a record describes (questions are answered on it);
:func:`rewind` gives the world as it was when a given timepoint was about to be generated, which
is where a branch starts (M12). Entity states change during a run, so the simulation snapshots
them after every timepoint (:func:`remember_entity_states`) for :func:`rewind` to return to.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from timepoint.errors import RestoreError
from timepoint.kernel.state import WorldState
from timepoint.scenario.schema import Scenario
from timepoint.world import (
    Entity,
    ExposureEvent,
    ExposureKind,
    Fact,
    ResolutionLevel,
)
from timepoint.world.exposure import ExposureLog, make_fact
from timepoint.world.record import RunRecord

if TYPE_CHECKING:
    from timepoint.engine.run import Run


def restore_state(
    record: RunRecord, scenario: Scenario, keep: Collection[str] | None = None
) -> WorldState:
    """The world state a record describes, limited to the timepoints in ``keep`` (all if None).

    Exposures, dialogs, scenes, relationships, prospection and fidelity cells of dropped
    timepoints are dropped with them; knowledge from before the first timepoint is kept.
    """
    kept = [t for t in record.timepoints if keep is None or t.id in keep]
    ids = {t.id for t in kept}
    state = WorldState(scenario=scenario)
    for entity in record.entities:
        state.set_entity(entity)
        state.centrality[entity.id] = entity.metadata.centrality
    state.timepoints = {t.id: t for t in kept}
    for timeline in record.timelines:
        path = [i for i in timeline.timepoint_ids if i in ids]
        if path or timeline.id == "main":
            state.timelines[timeline.id] = timeline.model_copy(update={"timepoint_ids": path})
    origins: dict[str, str] = {}
    for tp in kept:
        origins[make_fact(tp.event).id] = f"event:{tp.id}"
        for text in tp.key_facts:
            origins.setdefault(make_fact(text).id, f"timepoint:{tp.id}")
    events = [e for e in record.exposures if e.timepoint_id is None or e.timepoint_id in ids]
    for event in events:
        origin = origins.get(event.fact_id) or _origin(event)
        state.facts.setdefault(
            event.fact_id, Fact(id=event.fact_id, text=event.fact_text, origin=origin)
        )
    state.exposures = ExposureLog(events)
    state.dialogs = [d for d in record.dialogs if d.timepoint_id in ids]
    state.relationships = [r for r in record.relationships if r.timepoint_id in ids]
    state.scenes = [s for s in record.scenes if s.timepoint_id in ids]
    state.prospection = [p for p in record.prospection if p.timepoint_id in ids]
    state.fidelity = {
        (c.entity_id, c.timepoint_id): c for c in record.fidelity if c.timepoint_id in ids
    }
    state.validation = [
        v for v in record.validation if keep is None or (v.timepoint_id or "") in ids
    ]
    return state


#: entity fields that change during generation, snapshotted after every timepoint
SNAPSHOT_FIELDS = frozenset({"resolution", "traits", "physical", "cognitive"})
#: ``extras`` keys a branch recomputes instead of copying
RUN_LEVEL_EXTRAS = frozenset({"tensors", "training", "branch", "fidelity_schedule", "token_budget"})


def remember_entity_states(state: WorldState, key: str) -> None:
    """Snapshot the mutable part of every entity under ``extras["entity_states"][key]``.

    The simulation calls this after populating (``initial``) and after each timepoint, so a
    branch can start from the entities as they were at its branch point.
    """
    state.extras.setdefault("entity_states", {})[key] = {
        e.id: {
            **e.model_dump(mode="json", include=set(SNAPSHOT_FIELDS)),
            "training_iterations": e.metadata.training_iterations,
        }
        for e in state.entities.values()
    }


def rewind(
    record: RunRecord, scenario: Scenario, keep: Collection[str], resume_after: str | None
) -> tuple[WorldState, list[str]]:
    """The world as it was when the timepoint after ``resume_after`` was about to be generated.

    Starts from :func:`restore_state` limited to ``keep``, then undoes what happened after
    generation (elevation knowledge and raised cells, entities created by questions), restores
    each entity's state from the snapshot taken after ``resume_after`` (``initial`` when None)
    and keeps the per-timepoint evidence of the kept timepoints. Returns notes on what could
    not be rewound.
    """
    state = restore_state(record, scenario, keep)
    ids = {t.id for t in record.timepoints}
    notes: list[str] = []
    for raw in reversed(record.extras.get("training", [])):
        cell = state.fidelity.get((raw["entity_id"], raw["timepoint_id"]))
        if cell is not None and "cell_before" in raw:
            tokens = max(0, cell.tokens - int(raw["tokens"]))
            before = ResolutionLevel(raw["cell_before"])
            state.fidelity[(cell.entity_id, cell.timepoint_id)] = cell.model_copy(
                update={"resolution": before, "tokens": tokens}
            )
    dropped = {e.id for e in record.entities if e.on_demand}
    events = [
        e for e in state.exposures.events if e.source != "elevation" and e.entity_id not in dropped
    ]
    state.exposures = ExposureLog(events)
    for entity_id in dropped:
        state.entities.pop(entity_id, None)
        state.centrality.pop(entity_id, None)
    state.fidelity = {k: c for k, c in state.fidelity.items() if k[0] not in dropped}
    state.timepoints = {
        t.id: t.model_copy(
            update={"entities_present": [e for e in t.entities_present if e not in dropped]}
        )
        for t in state.timepoints.values()
    }
    state.scenes = [
        s.model_copy(update={"present": [e for e in s.present if e not in dropped]})
        for s in state.scenes
    ]
    snapshots = record.extras.get("entity_states", {})
    snapshot = snapshots.get(resume_after or "initial")
    if snapshot is None:
        notes.append("no entity snapshot at the branch point; entities start from the final state")
    else:
        for entity_id, saved in snapshot.items():
            entity = state.entities.get(entity_id)
            if entity is not None:
                meta = entity.metadata.model_dump()
                meta["training_iterations"] = saved["training_iterations"]
                fields = {k: saved[k] for k in SNAPSHOT_FIELDS}
                state.set_entity(
                    Entity.model_validate({**entity.model_dump(), **fields, "metadata": meta})
                )
    for key, value in record.extras.items():
        if key in RUN_LEVEL_EXTRAS:
            continue
        if key == "entity_states":
            state.extras[key] = {k: v for k, v in value.items() if k in keep or k == "initial"}
        elif isinstance(value, dict) and value and set(value) <= ids:
            state.extras[key] = {k: v for k, v in value.items() if k in keep}
        elif isinstance(value, list) and all(
            isinstance(v, dict) and "timepoint_id" in v for v in value
        ):
            state.extras[key] = [v for v in value if v["timepoint_id"] in keep]
    return state, notes


def _origin(event: ExposureEvent) -> str:
    if event.kind is ExposureKind.INITIAL:
        return f"initial:{event.entity_id}"
    if event.kind is ExposureKind.LEARNED:
        return "elevation"
    return event.source


def scenario_of(run: Run) -> Scenario:
    """The resolved scenario of ``run``: in memory, or read back from its run folder."""
    if run.scenario is not None:
        return run.scenario
    if run.folder is not None and (Path(run.folder) / "scenario.yaml").is_file():
        data = yaml.safe_load((Path(run.folder) / "scenario.yaml").read_text())
        return Scenario.model_validate(data)
    raise RestoreError(
        f"run {run.run_id} has no scenario in memory and no run folder with scenario.yaml; "
        "load it with the settings whose TIMEPOINT_HOME holds its folder"
    )
