"""How much of a causal chain's history prompts quote (M7's window), for every mechanism.

With ``recent`` = R and ``every`` = N (``mechanisms.settings.m7``), the first
``N·⌊(length − R) / N⌋`` events of a chain of ``length`` are shown as a summary only (see
:mod:`timepoint.time.history`, which writes the summaries); the rest are quoted.
"""

from __future__ import annotations

from pydantic import Field

from timepoint.kernel.mechanism_settings import MechanismSettings, read_settings
from timepoint.kernel.state import WorldState
from timepoint.world.causal import ancestors


class HistorySettings(MechanismSettings):
    """M7 constants for prompts: how many events stay verbatim and how often to summarize."""

    recent: int = Field(3, ge=1, le=50)
    every: int = Field(5, ge=1, le=100)
    words: int = Field(120, ge=20, le=600)


def summarized_count(settings: HistorySettings, length: int) -> int:
    """How many of a chain's first ``length`` events prompts show as a summary."""
    return max(0, (length - settings.recent) // settings.every * settings.every)


def is_summarized(state: WorldState, tp_id: str) -> bool:
    """True when prompts at ``tp_id`` show part of its chain's history as a summary only."""
    settings = read_settings(state.scenario, "m7", HistorySettings)
    return summarized_count(settings, len(ancestors(state.timepoints, tp_id)) + 1) > 0
