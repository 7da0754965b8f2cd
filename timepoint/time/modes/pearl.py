"""PEARL (forward causality): each timepoint is written from the state of the world and caused by
its parent; knowledge only flows forward."""

from __future__ import annotations

from typing import TYPE_CHECKING

from timepoint.time.clock import advance
from timepoint.time.expansion import expand_after, expand_before
from timepoint.world.causal import integrity_problems

if TYPE_CHECKING:
    from timepoint.time.simulator import Simulator


class PearlMode:
    name = "pearl"

    def simulate(self, sim: Simulator) -> None:
        self.simulate_from(sim, start_index=0, parent=None)

    def simulate_from(
        self, sim: Simulator, start_index: int, parent: str | None, timeline_id: str = "main"
    ) -> None:
        """Generate timepoints ``start_index`` … ``count - 1`` after ``parent`` (branches resume).

        Slots the scenario expands (M8) unfold into sub-moments before and after them.
        """
        cfg = sim.scenario.timepoints
        for index in range(start_index, sim.timepoint_count):
            timestamp = advance(cfg.start, index * cfg.step, cfg.unit)
            planned = cfg.events[index] if index < len(cfg.events) else None
            parent = expand_before(sim, index, timestamp, parent, timeline_id)
            tp = sim.generate_timepoint(
                index=index,
                timestamp=timestamp,
                parent=parent,
                planned=planned,
                timeline_id=timeline_id,
            )
            sim.process_timepoint(tp)
            parent = expand_after(sim, tp, index)
        sim.record_integrity(integrity_problems(sim.state.timepoints, forward=True))
