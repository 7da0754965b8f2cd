"""Entities: the people, animals, places, objects and spirits a run simulates."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from timepoint.world.resolution import ResolutionLevel


class EntityKind(StrEnum):
    HUMAN = "human"
    ANIMAL = "animal"
    BUILDING = "building"
    OBJECT = "object"
    ABSTRACT = "abstract"
    INSTITUTION = "institution"
    AI = "ai"
    KAMI = "kami"
    ANY = "any"


class EntityRole(StrEnum):
    PRIMARY = "primary"
    SECONDARY = "secondary"
    BACKGROUND = "background"
    ENVIRONMENT = "environment"


class Record(BaseModel):
    """Base of every domain record: extra keys forbidden, copies instead of mutation."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class PhysicalState(Record):
    age: float = 40.0
    health: float = Field(1.0, ge=0, le=1)
    pain: float = Field(0.0, ge=0, le=1)
    fever: float = Field(0.0, ge=0, le=1)
    stamina: float = Field(1.0, ge=0, le=1)
    mobility: float = Field(1.0, ge=0, le=1)


class CognitiveState(Record):
    valence: float = Field(0.0, ge=-1, le=1)
    arousal: float = Field(0.3, ge=0, le=1)
    energy: float = Field(100.0, ge=0, le=100)
    confidence: float = Field(0.6, ge=0, le=1)
    risk_tolerance: float = Field(0.5, ge=0, le=1)
    patience: float = Field(0.5, ge=0, le=1)
    social_engagement: float = Field(0.5, ge=0, le=1)


class EntityMetadata(Record):
    query_count: int = 0
    training_iterations: int = 0
    centrality: float = 0.0
    last_accessed: str | None = None


class Entity(Record):
    """One simulated entity. ``traits`` map trait names to values in [-1, 1]."""

    schema_version: int = 1
    id: str
    name: str
    kind: EntityKind = EntityKind.HUMAN
    role: EntityRole = EntityRole.SECONDARY
    description: str = ""
    traits: dict[str, float] = Field(default_factory=dict)
    voice: str = ""
    goals: list[str] = Field(default_factory=list)
    constraints: list[str] = Field(default_factory=list)
    physical: PhysicalState = Field(default_factory=PhysicalState)
    cognitive: CognitiveState = Field(default_factory=CognitiveState)
    resolution: ResolutionLevel = ResolutionLevel.SCENE
    profile_source: str = "generated"
    on_demand: bool = False
    metadata: EntityMetadata = Field(default_factory=EntityMetadata)
