"""Temporal modes (M17): one module per mode."""

from __future__ import annotations

from timepoint.scenario.schema import TemporalMode
from timepoint.time.modes.base import TemporalModeStrategy


def mode_for(mode: TemporalMode) -> TemporalModeStrategy:
    """The strategy object that simulates ``mode``."""
    from timepoint.time.modes.pearl import PearlMode

    strategies: dict[TemporalMode, type] = {TemporalMode.PEARL: PearlMode}
    strategy = strategies.get(mode, PearlMode)
    return strategy()
