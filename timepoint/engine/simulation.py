"""The run pipeline: entities → fidelity plan → the mode's timepoints → per-timepoint mechanisms.

A :class:`Simulation` owns the :class:`WorldState`; the temporal mode calls back into it to create
timepoints and process them, and ``record()`` turns the state into a :class:`RunRecord`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from timepoint.engine.arrival import expose_present, plan_cells
from timepoint.engine.events import next_event_request, timepoint_of_draft
from timepoint.engine.finishers import FINISH_STEPS
from timepoint.engine.recording import build_record, refresh_budget_report
from timepoint.engine.restore import remember_entity_states
from timepoint.engine.steps import TIMEPOINT_STEPS
from timepoint.fidelity.strategy import ResolutionSchedule, build_schedule
from timepoint.fidelity.token_budget import TokenBudget
from timepoint.kernel.context import RunContext
from timepoint.kernel.grounded import record_dropped
from timepoint.kernel.progress import ProgressEvent
from timepoint.kernel.state import WorldState
from timepoint.llm.base import Completion, Request
from timepoint.llm.drafts import EventDraft
from timepoint.llm.grounding import settle
from timepoint.llm.offline import PlantedLeak as OfflineLeak
from timepoint.llm.structured import expect_answer
from timepoint.scenario.schema import Scenario
from timepoint.synthesis.population import populate
from timepoint.time.expansion import slot_id
from timepoint.time.history import History
from timepoint.time.modes import mode_for
from timepoint.world import EntityRole, ExposureKind, ResolutionLevel, Timeline, Timepoint
from timepoint.world.causal import ancestors
from timepoint.world.evidence import PlantedLeak
from timepoint.world.exposure import make_fact
from timepoint.world.graph import RelationGraph
from timepoint.world.record import PathInfo, RunRecord, ValidationResult

if TYPE_CHECKING:
    from timepoint.time.expansion import SubMomentDraft


class Simulation:
    """One execution of a scenario. ``step`` names the pipeline step in progress."""

    def __init__(
        self,
        scenario: Scenario,
        ctx: RunContext,
        base_dir: Path | None = None,
        token_budget: TokenBudget | None = None,
    ):
        self.scenario = scenario
        self.ctx = ctx
        self.base_dir = base_dir or Path.cwd()
        self.state = WorldState(scenario=scenario)
        self.step = "setup"
        self.timepoint_count = scenario.timepoints.count
        self.downgrade = 0
        # fidelity/temporal strategy: the schedule the mode follows and the token budget
        self.schedule: ResolutionSchedule | None = None
        self.expected_timepoints: int | None = None
        self.paths: list[PathInfo] = []
        #: free-form notes of the temporal mode (its plan), kept as ``RunRecord.extras``
        self.extras: dict[str, Any] = {}
        #: ``fidelity.token_budget``, charged by the model stack; read here to lower fidelity
        self.token_budget = token_budget
        self._history: History | None = None

    @property
    def history(self) -> History:
        """M7: what prompts show of the story so far (recent events verbatim, older summarized).

        Bound to the current state (a branch replaces it with the rewound one).
        """
        if self._history is None or self._history.state is not self.state:
            self._history = History(self.ctx, self.state)
        return self._history

    # -- pipeline -------------------------------------------------------------------------
    def enter(self, step: str, detail: str = "", done: int = 0, total: int | None = None) -> None:
        self.step = step
        self.ctx.progress.emit(ProgressEvent(step, detail, done, total))

    def run(self) -> None:

        self.enter("entities")
        self.populate()
        self.enter("fidelity")
        self.plan_graph()
        remember_entity_states(self.state, "initial")  # M12: branches start from snapshots
        self.enter("timepoints", total=self.timepoint_count)
        mode_for(self.scenario.temporal.mode).simulate(self)
        self.enter("finish")
        self.finish()

    def populate(self) -> None:
        floor = self.scenario.entities.initial_resolution
        population = populate(self.scenario, self.ctx, self.base_dir, floor)
        start = self.scenario.timepoints.start
        for entity in population.entities:
            self.state.set_entity(entity)
            for text in population.knowledge[entity.id]:
                fact = self.state.add_fact(make_fact(text, origin=f"initial:{entity.id}"))
                self.state.exposures.expose(
                    entity.id, fact, ExposureKind.INITIAL, "scenario", None, start
                )
        self.state.ledger.count("M3", "initial", len(self.state.exposures))
        self.state.ledger.count("M1", "entities populated by the model", population.populated)
        self.state.ledger.count("M1", "generated entities named in one call", population.named)
        profiles = sum(e.profile_source.startswith("profile:") for e in population.entities)
        self.state.ledger.count("M1", "entities loaded from profiles", profiles)

    def plan_graph(self) -> None:
        ids = list(self.state.entities)
        graph = RelationGraph(ids)
        for relation in self.scenario.entities.relations:
            graph.add_relation(relation.a, relation.b, relation.kind.value)
        graph.add_co_presence(
            e.id for e in self.state.entities.values() if e.role is not EntityRole.ENVIRONMENT
        )
        self.state.graph = graph
        self.state.centrality = graph.centrality()
        for entity_id, value in self.state.centrality.items():
            entity = self.state.entities[entity_id]
            meta = entity.metadata.model_copy(update={"centrality": value})
            self.state.set_entity(entity.model_copy(update={"metadata": meta}))
        self.state.ledger.count("M1", "graph edges", int((graph.weights > 0).sum() // 2))

    # -- timepoints -----------------------------------------------------------------------
    def plan_schedule(
        self, steps: int | None = None, importance: Sequence[float] | None = None
    ) -> ResolutionSchedule:
        """Plan the per-step resolution schedule (template × planning mode) the mode follows.

        Modes with a shape of their own (a tension curve, a portal's step count) call this
        before generating; otherwise the first timepoint plans ``timepoint_count`` steps.
        """
        self.schedule = build_schedule(self.scenario, steps or self.timepoint_count, importance)
        self.state.evidence.fidelity_schedule = self.schedule.summary(len(self.state.entities))
        self.state.ledger.set("M1", "scheduled steps", len(self.schedule.steps))
        return self.schedule

    def step_index(self, tp: Timepoint) -> int:
        """A timepoint's step: its depth in its causal chain (the root is step 0)."""
        return len(ancestors(self.state.timepoints, tp.id)) if tp.id in self.state.timepoints else 0

    def budget_checkpoint(self, tp: Timepoint) -> None:
        """Lower planned fidelity when the token budget will not last (before ``tp`` is planned)."""
        budget = self.token_budget
        if budget is None:
            return
        done = max(0, len(self.state.timepoints) - 1)
        total = max(self.expected_timepoints or self.timepoint_count, done + 1)
        levels = budget.downgrade_levels(done, total, self.downgrade)
        if levels:
            self.downgrade += levels
            budget.note_downgrade(self.downgrade, tp.id)
            self.state.ledger.count("M1", "budget downgrades", levels)

    def plan_cells(self, tp: Timepoint) -> None:
        """Resolution of every (entity, timepoint) pair (M1); absent entities stay tensor-only."""
        schedule = self.schedule or self.plan_schedule()
        index = self.step_index(tp)
        plan_cells(self.state, self.scenario, schedule, tp, index=index, downgrade=self.downgrade)

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
        """Ask the model for the event at ``timestamp`` given the world so far, and add it."""
        self.enter("timepoints", f"{index + 1}/{self.timepoint_count}", index, self.timepoint_count)
        tp_id = tp_id or slot_id(index, timeline_id)
        request = self.event_request(
            index=index,
            timestamp=timestamp,
            parent=parent,
            planned=planned,
            phase=phase,
            subject=tp_id,
        )
        return self.add_event(
            self.ctx.gateway.complete(request),
            request=request,
            index=index,
            timestamp=timestamp,
            parent=parent,
            timeline_id=timeline_id,
            tp_id=tp_id,
            phase=phase,
            parent_timepoint=parent_timepoint,
        )

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
        """The temporal-reasoning request for the event at ``timestamp`` after ``parent``.

        The story so far is bounded (see :mod:`timepoint.time.history`): the chain's latest
        events verbatim, the ones before them as a summary made once and reused. ``subject``
        (the id the timepoint will have) is recorded with the call.
        """
        return next_event_request(
            self.scenario,
            self.state,
            self.history,
            count=self.timepoint_count,
            seed=self.ctx.seed,
            index=index,
            timestamp=timestamp,
            parent=parent,
            planned=planned,
            phase=phase,
            subject=subject,
        )

    def add_event(self, completion: Completion, **where: Any) -> Timepoint:
        """Turn a temporal-reasoning answer into a timepoint, add it and attribute its tokens.

        ``where`` holds the keyword arguments of :meth:`event_timepoint`.
        """
        tp = self.event_timepoint(completion, **where)
        self.add_timepoint(tp)
        self.state.spend(
            [
                e
                for e in tp.entities_present
                if self.state.resolution(e, tp.id) > ResolutionLevel.TENSOR_ONLY
            ],
            tp.id,
            completion.usage.total_tokens,
        )
        return tp

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
        """The timepoint a temporal-reasoning answer describes; not yet added to the state.

        Names in ``present`` are mapped to entity ids; with the ``request``, what names no
        entity is asked about again; what still names none is dropped and recorded.
        """
        settled = settle(self.ctx.gateway.complete, request, completion)
        draft = expect_answer(settled.parsed, EventDraft)
        tp_id = tp_id or slot_id(index, timeline_id)
        record_dropped(self.state, "M7", f"event:{tp_id}", settled, timepoint_id=tp_id)
        return self.draft_timepoint(
            draft,
            tp_id=tp_id,
            timestamp=timestamp,
            parent=parent,
            timeline_id=timeline_id,
            phase=phase,
            parent_timepoint=parent_timepoint,
        )

    def draft_timepoint(
        self,
        draft: EventDraft | SubMomentDraft,
        *,
        tp_id: str,
        timestamp: datetime,
        parent: str | None,
        timeline_id: str,
        phase: str | None,
        parent_timepoint: str | None,
    ) -> Timepoint:
        """The timepoint ``draft`` describes; not yet added to the state.

        Only known entities are present; when the draft names none, the primary entities are.
        """
        return timepoint_of_draft(
            draft,
            self.state,
            location=self.scenario.timepoints.location,
            tp_id=tp_id,
            timestamp=timestamp,
            parent=parent,
            timeline_id=timeline_id,
            phase=phase,
            parent_timepoint=parent_timepoint,
        )

    def add_timepoint(self, tp: Timepoint) -> None:
        """Register ``tp`` on its timeline, plan its fidelity, expose those present to it (M3)."""
        state = self.state
        state.timepoints[tp.id] = tp
        timeline = state.timelines.get(tp.timeline_id) or Timeline(
            id=tp.timeline_id, mode=self.scenario.temporal.mode.value
        )
        state.timelines[tp.timeline_id] = timeline.model_copy(
            update={"timepoint_ids": [*timeline.timepoint_ids, tp.id]}
        )
        self.budget_checkpoint(tp)
        self.plan_cells(tp)
        expose_present(state, self.scenario, tp)
        if tp.causal_parent is not None:
            state.ledger.count("M7", "causal links")
        state.ledger.count("M1", "cells planned", len(state.entities))

    def process_timepoint(self, tp: Timepoint) -> None:
        """Per-timepoint mechanisms, in order."""

        for name, step in TIMEPOINT_STEPS:
            self.enter(name, tp.id)
            step(self, tp)
        remember_entity_states(self.state, tp.id)

    def record_integrity(self, problems: list[str]) -> None:
        state = self.state
        state.ledger.count("M7", "integrity checks", len(state.timepoints))
        state.ledger.count("M7", "integrity problems", len(problems))
        for problem in problems:
            state.validation.append(
                ValidationResult(
                    validator="causal_integrity",
                    target=problem.split(":")[0],
                    ok=False,
                    message=problem,
                )
            )

    # -- finishing ------------------------------------------------------------------------
    def finish(self) -> None:
        """Run-level mechanisms after the timepoints (see :mod:`timepoint.engine.finishers`)."""

        for name, finisher in FINISH_STEPS:
            self.enter("finish", name)
            finisher(self)

    def record_planted_leaks(self, leaks: Sequence[OfflineLeak]) -> None:
        """Keep the leaks the offline model planted (``mechanisms.leak_rate``) with the run.

        They land in ``evidence.planted_leaks`` and the M4 ledger, so anyone can measure from a
        scenario file how many the validators caught.
        """
        self.state.evidence.planted_leaks = [
            PlantedLeak(speaker=leak.speaker, fact_id=leak.fact_id, event=leak.event)
            for leak in leaks
        ]
        self.state.ledger.count("M4", "planted leaks", len(leaks))

    def record(self, run_id: str, started: datetime, status: str, provider: str) -> RunRecord:
        """The run's record (see :func:`~timepoint.engine.recording.build_record`)."""
        return build_record(
            self.state,
            self.scenario,
            run_id=run_id,
            started=started,
            status=status,
            provider=provider,
            seed=self.ctx.seed,
            token_budget=self.token_budget,
            paths=self.paths,
            extras=self.extras,
        )

    def with_budget_report(self, record: RunRecord) -> RunRecord:
        """``record`` with the token budget's report and verdict brought up to date (after
        calls made once the record was built, such as the executive summary)."""
        return refresh_budget_report(record, self.token_budget)
