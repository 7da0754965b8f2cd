"""What temporal modes and vertical expansion may ask of a simulation, as a protocol.

The engine's ``Simulation`` implements it; modes are written against this protocol and never
import the engine, so the engine sits above the modes in the import stack.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from timepoint.fidelity.strategy import ResolutionSchedule
from timepoint.kernel.context import RunContext
from timepoint.kernel.state import WorldState
from timepoint.llm.base import Completion, Request
from timepoint.scenario.schema import Scenario
from timepoint.world import Timepoint
from timepoint.world.record import PathInfo, RunRecord

if TYPE_CHECKING:
    from timepoint.time.history import History


class Simulator(Protocol):
    """A running simulation: its scenario, state and context, and the steps modes drive."""

    scenario: Scenario
    ctx: RunContext
    state: WorldState
    timepoint_count: int
    schedule: ResolutionSchedule | None
    expected_timepoints: int | None
    paths: list[PathInfo]
    #: free-form notes of the mode (its plan), kept as ``RunRecord.extras``
    extras: dict[str, Any]

    @property
    def history(self) -> History: ...

    def enter(self, step: str, detail: str = "", done: int = 0, total: int | None = None) -> None:
        """Report the step the simulation is in."""

    def plan_graph(self) -> None:
        """Plan resolutions from the relation graph (M1)."""

    def plan_schedule(
        self, steps: int | None = None, importance: Sequence[float] | None = None
    ) -> ResolutionSchedule:
        """Plan the per-step resolution schedule."""
        ...

    def generate_timepoint(
        self,
        *,
        index: int,
        timestamp: datetime,
        parent: str | None,
        planned: str | None = None,
        timeline_id: str = "main",
        tp_id: str | None = None,
        phase: str | None = None,
        parent_timepoint: str | None = None,
    ) -> Timepoint:
        """Ask for the next event and add it as a timepoint."""
        ...

    def event_request(
        self,
        *,
        index: int,
        timestamp: datetime,
        parent: str | None,
        planned: str | None = None,
        phase: str | None = None,
        subject: str | None = None,
    ) -> Request:
        """The temporal-reasoning request for an event (``subject``: the timepoint's id)."""
        ...

    def event_timepoint(
        self,
        completion: Completion,
        *,
        request: Request | None = None,
        index: int,
        timestamp: datetime,
        parent: str | None,
        timeline_id: str = "main",
        tp_id: str | None = None,
        phase: str | None = None,
        parent_timepoint: str | None = None,
    ) -> Timepoint:
        """A timepoint from an event answer."""
        ...

    def draft_timepoint(
        self,
        draft: Any,
        *,
        tp_id: str,
        timestamp: datetime,
        parent: str | None,
        timeline_id: str,
        phase: str | None,
        parent_timepoint: str | None,
    ) -> Timepoint:
        """A timepoint from an event or sub-moment draft."""
        ...

    def add_timepoint(self, tp: Timepoint) -> None:
        """Add ``tp`` with its exposures."""

    def process_timepoint(self, tp: Timepoint) -> None:
        """Run the per-timepoint mechanisms on ``tp``."""

    def record_integrity(self, problems: list[str]) -> None:
        """Record causal-integrity problems."""

    def finish(self) -> None:
        """Run the finishing mechanisms."""

    def record(self, run_id: str, started: datetime, status: str, provider: str) -> RunRecord:
        """The run record so far."""
        ...
