"""Run-level mechanism steps after the mode has produced its timepoints, in order."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from timepoint.engine.simulation import Simulation

Finisher = Callable[["Simulation"], None]


def exposure_sources(sim: Simulation) -> None:
    sources = {e.source.split(":")[0] for e in sim.state.exposures.events}
    sim.state.ledger.note("M3", f"from {len(sources)} kinds of source")


FINISH_STEPS: tuple[tuple[str, Finisher], ...] = (("exposure sources", exposure_sources),)
