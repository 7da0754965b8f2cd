"""Temporal modes (M17): one module per mode."""

from __future__ import annotations

from timepoint.scenario.schema import TemporalMode
from timepoint.time.modes.base import TemporalModeStrategy
from timepoint.time.modes.branching import BranchingMode
from timepoint.time.modes.cyclical import CyclicalMode
from timepoint.time.modes.directorial import DirectorialMode
from timepoint.time.modes.nonlinear import NonlinearMode
from timepoint.time.modes.pearl import PearlMode
from timepoint.time.modes.portal import PortalMode


def mode_for(mode: TemporalMode) -> TemporalModeStrategy:
    """The strategy object that simulates ``mode``."""

    strategies: dict[TemporalMode, type] = {
        TemporalMode.PEARL: PearlMode,
        TemporalMode.DIRECTORIAL: DirectorialMode,
        TemporalMode.NONLINEAR: NonlinearMode,
        TemporalMode.CYCLICAL: CyclicalMode,
        TemporalMode.BRANCHING: BranchingMode,
        TemporalMode.PORTAL: PortalMode,
    }
    strategy = strategies.get(mode, PearlMode)
    return strategy()
