"""The per-timepoint mechanism steps, in the order a simulation runs them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from timepoint.synthesis.dialog import synthesize_dialog
from timepoint.world import Timepoint

if TYPE_CHECKING:
    from timepoint.engine.simulation import Simulation

Step = Callable[["Simulation", Timepoint], None]


def dialog_step(sim: Simulation, tp: Timepoint) -> None:
    if sim.scenario.mechanisms.enabled("m11"):
        synthesize_dialog(sim.ctx, sim.state, tp)


TIMEPOINT_STEPS: tuple[tuple[str, Step], ...] = (("dialog", dialog_step),)
