"""PEARL (forward causality): each timepoint is written from the state of the world and caused by
its parent; knowledge only flows forward."""

from __future__ import annotations

from typing import TYPE_CHECKING

from timepoint.time.causal import integrity_problems
from timepoint.time.clock import advance

if TYPE_CHECKING:
    from timepoint.engine.simulation import Simulation


class PearlMode:
    name = "pearl"

    def simulate(self, sim: Simulation) -> None:
        scenario = sim.scenario
        cfg = scenario.timepoints
        parent: str | None = None
        for index in range(sim.timepoint_count):
            timestamp = advance(cfg.start, index * cfg.step, cfg.unit)
            planned = cfg.events[index] if index < len(cfg.events) else None
            tp = sim.generate_timepoint(
                index=index, timestamp=timestamp, parent=parent, planned=planned
            )
            sim.process_timepoint(tp)
            parent = tp.id
        problems = integrity_problems(sim.state.timepoints, forward=True)
        sim.record_integrity(problems)
