"""Knowledge records (M3, M11): facts, exposure events and dialogs."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from timepoint.world.entity import Record


class ExposureKind(StrEnum):
    INITIAL = "initial"
    WITNESSED = "witnessed"
    EXPERIENCED = "experienced"
    TOLD = "told"
    LEARNED = "learned"
    INFERRED = "inferred"


class Fact(Record):
    """A knowledge item with a stable id."""

    id: str
    text: str
    origin: str = "scenario"


class ExposureEvent(Record):
    """An entity came to know a fact: when, how, and from whom.

    ``source`` is an entity id, ``scenario``, ``timepoint:<id>`` or ``elevation``.
    """

    schema_version: int = 1
    entity_id: str
    kind: ExposureKind
    fact_id: str
    fact_text: str
    source: str
    timepoint_id: str | None
    timestamp: datetime
    confidence: float = Field(1.0, ge=0, le=1)


class DialogTurn(Record):
    speaker: str
    text: str
    tone: str = "neutral"
    knowledge_refs: list[str] = Field(default_factory=list)
    physical_influence: str = ""
    flagged: bool = False


class Dialog(Record):
    schema_version: int = 1
    id: str
    timepoint_id: str
    participants: list[str]
    turns: list[DialogTurn]
    repaired: int = 0
