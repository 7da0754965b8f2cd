"""The state a simulation accumulates. Records are frozen; the state holds the latest copies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from timepoint.scenario.schema import Scenario
from timepoint.world import (
    Dialog,
    Entity,
    ExposureEvent,
    Fact,
    ProspectiveState,
    Relationship,
    ResolutionLevel,
    Scene,
    Timeline,
    Timepoint,
)
from timepoint.world.causal import causal_path
from timepoint.world.evidence import MechanismEvidence
from timepoint.world.exposure import ExposureLog
from timepoint.world.graph import RelationGraph
from timepoint.world.ledger import Ledger
from timepoint.world.record import FidelityCell, ValidationResult


@dataclass
class WorldState:
    scenario: Scenario
    entities: dict[str, Entity] = field(default_factory=dict)
    timepoints: dict[str, Timepoint] = field(default_factory=dict)
    timelines: dict[str, Timeline] = field(default_factory=dict)
    facts: dict[str, Fact] = field(default_factory=dict)
    exposures: ExposureLog = field(default_factory=ExposureLog)
    dialogs: list[Dialog] = field(default_factory=list)
    relationships: list[Relationship] = field(default_factory=list)
    scenes: list[Scene] = field(default_factory=list)
    prospection: list[ProspectiveState] = field(default_factory=list)
    fidelity: dict[tuple[str, str], FidelityCell] = field(default_factory=dict)
    validation: list[ValidationResult] = field(default_factory=list)
    ledger: Ledger = field(default_factory=Ledger)
    graph: RelationGraph | None = None
    centrality: dict[str, float] = field(default_factory=dict)
    #: evidence mechanisms keep beside the records for each other (``RunRecord.evidence``)
    evidence: MechanismEvidence = field(default_factory=MechanismEvidence)
    #: lookups mechanisms derive from the records above and keep between timepoints, so a
    #: timepoint does not rescan the whole run (never recorded)
    indexes: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def add_fact(self, fact: Fact) -> Fact:
        return self.facts.setdefault(fact.id, fact)

    def knowledge_at(self, entity_id: str, tp_id: str) -> dict[str, ExposureEvent]:
        """Facts ``entity_id`` holds at ``tp_id``: exposures on its causal path, not later."""
        tp = self.timepoints[tp_id]
        return self.exposures.visible(entity_id, causal_path(self.timepoints, tp_id), tp.timestamp)

    def resolution(self, entity_id: str, tp_id: str) -> ResolutionLevel:
        cell = self.fidelity.get((entity_id, tp_id))
        return cell.resolution if cell else ResolutionLevel.TENSOR_ONLY

    def spend(self, entity_ids: list[str], tp_id: str, tokens: int) -> None:
        """Attribute ``tokens`` evenly to the (entity, timepoint) cells of ``entity_ids``."""
        if not entity_ids:
            return
        share = tokens // len(entity_ids)
        for entity_id in entity_ids:
            cell = self.fidelity.get((entity_id, tp_id))
            if cell is not None:
                self.fidelity[(entity_id, tp_id)] = cell.model_copy(
                    update={"tokens": cell.tokens + share}
                )

    def set_entity(self, entity: Entity) -> None:
        self.entities[entity.id] = entity
