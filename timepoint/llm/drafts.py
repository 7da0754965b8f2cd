"""The shapes of structured answers the simulation asks models for, one per kind of request.

Every provider must answer in these shapes; the offline model composes them from the request's
``context`` (see :mod:`timepoint.llm.offline_compose`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from timepoint.llm.bounded import Share, Signed
from timepoint.llm.grounded_schema import EntityId, FactId


class Draft(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EntityDraft(Draft):
    """Entity population: what the model adds to a roster entry."""

    name: str
    description: str
    traits: dict[str, Signed] = Field(default_factory=dict)
    knowledge: list[str] = Field(default_factory=list)
    voice: str = ""
    goals: list[str] = Field(default_factory=list)


class EventDraft(Draft):
    """Temporal reasoning: the next event, who is there and what becomes known."""

    event: str
    importance: Share
    present: list[EntityId]
    key_facts: list[str] = Field(default_factory=list)


class TurnDraft(Draft):
    speaker: EntityId
    text: str
    tone: str = "neutral"
    knowledge_refs: list[FactId] = Field(default_factory=list)


class DialogDraft(Draft):
    """Dialog synthesis: the turns of one conversation."""

    turns: list[TurnDraft] = Field(min_length=1)


class SummaryDraft(Draft):
    """Summarization: an executive summary of a run or a path."""

    summary: str


class CrowdName(Draft):
    """One generated entity's proper name and a line about who or what it is."""

    name: str = Field(min_length=1, max_length=80)
    description: str = Field("", max_length=300)


class CrowdNamesDraft(Draft):
    """Entity population of the crowd: a name per generated entity, in the order asked.

    Runs build a subclass per request that fixes the count and refuses repeated or placeholder
    names (see :mod:`timepoint.synthesis.crowd`), so an answer that does not fit is re-asked.
    """

    names: list[CrowdName] = Field(min_length=1)
