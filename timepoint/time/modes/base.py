"""What a temporal mode is: a strategy that generates timepoints and decides consistency (M17)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from timepoint.time.simulator import Simulator


class TemporalModeStrategy(Protocol):
    """A mode drives a simulation: it creates timepoints through ``sim`` and validates them."""

    name: str

    def simulate(self, sim: Simulator) -> None:
        """Generate the run's timepoints (and their per-timepoint work) through ``sim``."""
        ...
