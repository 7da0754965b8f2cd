"""The model and budget settings a scenario gives the LLM layer (its ``models`` and ``budget``
sections); the scenario schema includes them, the gateway and model selection read them."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Preference(StrEnum):
    """What model selection optimizes."""

    QUALITY = "quality"
    SPEED = "speed"
    COST = "cost"
    BALANCED = "balanced"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, str_max_length=2000)


class ModelsConfig(_Section):
    """A forced model, per-action models, the selection preference and in-run concurrency."""

    model: str | None = Field(None, min_length=1, max_length=200)
    actions: dict[str, str] = Field(default_factory=dict)
    preference: Preference = Preference.BALANCED
    max_concurrency: int = Field(16, ge=1, le=256)


class BudgetConfig(_Section):
    """Hard limits of a run's spend."""

    max_usd: float | None = Field(None, ge=0, le=1e9)
    max_tokens: int | None = Field(None, ge=1, le=10**12)
