"""Timepoints and timelines (M7, M8, M12): causally linked moments and the paths through them."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from timepoint.world.entity import Record
from timepoint.world.resolution import ResolutionLevel


class Timepoint(Record):
    """One moment. ``causal_parent`` is None only for a root; ``phase`` marks sub-moments (M8)."""

    schema_version: int = 1
    id: str
    timestamp: datetime
    event: str
    entities_present: list[str] = Field(default_factory=list)
    causal_parent: str | None = None
    importance: float = Field(0.5, ge=0, le=1)
    resolution: ResolutionLevel = ResolutionLevel.SCENE
    timeline_id: str = "main"
    parent_timepoint: str | None = None
    phase: str | None = None
    location: str = ""
    presentation_position: int | None = None
    key_facts: list[str] = Field(default_factory=list)


class Timeline(Record):
    """An ordered path of timepoint ids; branches name their parent and branch point."""

    schema_version: int = 1
    id: str
    parent_timeline: str | None = None
    branch_point: str | None = None
    intervention: str | None = None
    mode: str = "pearl"
    timepoint_ids: list[str] = Field(default_factory=list)
    score: float | None = None
    label: str = ""
