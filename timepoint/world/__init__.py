"""The domain records of a run: entities, timepoints, knowledge, relationships, scenes."""

from timepoint.world.entity import (
    CognitiveState,
    Entity,
    EntityKind,
    EntityMetadata,
    EntityRole,
    PhysicalState,
    Record,
)
from timepoint.world.knowledge import Dialog, DialogTurn, ExposureEvent, ExposureKind, Fact
from timepoint.world.resolution import TOKEN_BUDGET, ResolutionLevel
from timepoint.world.social import (
    Atmosphere,
    Crowd,
    Environment,
    Expectation,
    ProspectiveState,
    Relationship,
    Scene,
)
from timepoint.world.timeline import Timeline, Timepoint

__all__ = [
    "TOKEN_BUDGET",
    "Atmosphere",
    "CognitiveState",
    "Crowd",
    "Dialog",
    "DialogTurn",
    "Entity",
    "EntityKind",
    "EntityMetadata",
    "EntityRole",
    "Environment",
    "Expectation",
    "ExposureEvent",
    "ExposureKind",
    "Fact",
    "PhysicalState",
    "ProspectiveState",
    "Record",
    "Relationship",
    "ResolutionLevel",
    "Scene",
    "Timeline",
    "Timepoint",
]
