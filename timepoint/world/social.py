"""Relationships (M13), scenes (M10) and prospective states (M15)."""

from __future__ import annotations

from pydantic import Field

from timepoint.world.entity import Record


class Relationship(Record):
    """One pair (``a`` < ``b`` by id) at one timepoint."""

    a: str
    b: str
    timepoint_id: str
    trust: float = Field(0.5, ge=-1, le=1)
    affinity: float = Field(0.0, ge=-1, le=1)
    alignment: float = Field(0.0, ge=-1, le=1)
    power_balance: float = Field(0.0, ge=-1, le=1)
    interactions: int = 0
    shared_facts: list[str] = Field(default_factory=list)


class Environment(Record):
    location: str = ""
    capacity: int = 10
    lighting: float = Field(0.7, ge=0, le=1)
    temperature_c: float = 20.0
    weather: str = "fair"
    acoustics: str = "normal"


class Atmosphere(Record):
    tension: float = Field(0.2, ge=0, le=1)
    formality: float = Field(0.5, ge=0, le=1)
    valence: float = Field(0.0, ge=-1, le=1)
    arousal: float = Field(0.3, ge=0, le=1)
    cohesion: float = Field(0.5, ge=0, le=1)
    energy: float = Field(0.5, ge=0, le=1)


class Crowd(Record):
    size: int = 0
    density: float = Field(0.0, ge=0, le=1)
    mood: dict[str, float] = Field(default_factory=dict)
    movement: str = "still"
    noise: float = Field(0.1, ge=0, le=1)


class Scene(Record):
    """A timepoint's setting. ``atmosphere`` is the mood before its dialog, ``after`` the mood
    the dialog's tones left behind (None when nothing was said)."""

    timepoint_id: str
    environment: Environment = Field(default_factory=Environment)
    atmosphere: Atmosphere = Field(default_factory=Atmosphere)
    crowd: Crowd = Field(default_factory=Crowd)
    present: list[str] = Field(default_factory=list)
    description: str = ""
    after: Atmosphere | None = None


class Expectation(Record):
    """What an entity expects. ``kind`` and ``subject`` say how it is checked against what then
    happens (e.g. ``speaks``/an entity id); ``fulfilled`` stays None until it is scored."""

    event: str
    probability: float = Field(ge=0, le=1)
    desired: bool = True
    preparations: list[str] = Field(default_factory=list)
    confidence: float = Field(0.5, ge=0, le=1)
    fulfilled: bool | None = None
    kind: str = "event"
    subject: str | None = None


class ProspectiveState(Record):
    entity_id: str
    timepoint_id: str
    horizon: str = "next timepoint"
    expectations: list[Expectation] = Field(default_factory=list)
    contingencies: list[str] = Field(default_factory=list)
    anxiety: float = Field(0.0, ge=0, le=1)
