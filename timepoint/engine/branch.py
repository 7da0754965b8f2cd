"""``run.branch``: re-simulate a stored run from a timepoint after an intervention (M12)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from timepoint.engine.restore import rewind, scenario_of
from timepoint.engine.session import Outcome, open_session
from timepoint.kernel.progress import ProgressSink
from timepoint.llm.base import LanguageModel
from timepoint.time.intervention import (
    BranchError,
    Intervention,
    InterventionKind,
    apply_intervention,
)
from timepoint.time.modes import mode_for
from timepoint.world import Timepoint
from timepoint.world.evidence import BranchOrigin
from timepoint.world.record import RunRecord, timeline_order

if TYPE_CHECKING:
    from timepoint.engine.run import Run


def branch_of(
    run: Run,
    at: str | int,
    intervention: Intervention | dict[str, Any],
    *,
    model: LanguageModel | None = None,
    progress: ProgressSink | None = None,
    run_id: str | None = None,
) -> Outcome:
    """Copy ``run`` up to ``at``, apply ``intervention``, re-simulate forward; store the branch.

    Args:
        run: the run to branch (its scenario comes from memory or its folder).
        at: the first timepoint the branch re-simulates: an id (``tp_001``) or a 0-based index
            into the main timeline.
        intervention: an :class:`Intervention` or its dict form.
        model: the provider to use (default: the one the settings imply, offline without a key).
        progress: a progress sink.
        run_id: the branch's run id (default: a new one).

    Raises:
        BranchError: bad branch point or intervention, or a mode that cannot resume.
        RestoreError: the run's scenario is neither in memory nor in its folder.

    Returns:
        the stored branch (with the error when the re-simulation failed: its partial record
        is stored).
    """
    if isinstance(intervention, dict):
        intervention = Intervention.model_validate(intervention)
    record = run.record
    scenario = scenario_of(run)
    order = timeline_order(record)
    slot = _slot(order, at)
    group = [t for t in order if slot.id in (t.id, t.parent_timepoint)]
    first = order.index(group[0])
    prefix = order[:first]
    index = sum(1 for t in prefix if t.parent_timepoint is None)
    strategy = mode_for(scenario.temporal.mode)
    simulate_from = getattr(strategy, "simulate_from", None)
    if simulate_from is None:
        raise BranchError(
            f"mode {scenario.temporal.mode.value!r} cannot resume from a timepoint; "
            "branch a run made in a forward mode (pearl)"
        )
    session = open_session(
        scenario, settings=run.settings, store=run.store, model=model, progress=progress
    )
    sim = session.simulation()
    sim.state, notes = rewind(record, scenario, {t.id for t in prefix}, group[0].causal_parent)
    effect = apply_intervention(sim.state, intervention)
    cancel = intervention.kind is InterventionKind.CANCEL_EVENT
    ledger = sim.state.ledger
    ledger.count("M12", "timepoints copied", len(prefix))
    ledger.count("M12", "exposures copied", len(sim.state.exposures))
    ledger.count("M12", "interventions")
    ledger.note("M12", f"{intervention.describe()} at {slot.id} of run {record.run_id}: {effect}")
    for note in notes:
        ledger.note("M12", note)

    def resimulate() -> None:
        sim.enter("fidelity", "branch")
        sim.plan_graph()
        before = len(sim.state.timepoints)
        simulate_from(
            sim, start_index=index + 1 if cancel else index, parent=group[0].causal_parent
        )
        ledger.count("M12", "timepoints re-simulated", len(sim.state.timepoints) - before)
        sim.enter("finish")
        sim.finish()

    def labelled(result: RunRecord) -> RunRecord:
        timelines = [
            t.model_copy(
                update={
                    "parent_timeline": f"{record.run_id}:main",
                    "branch_point": slot.id,
                    "intervention": intervention.describe(),
                    "label": f"branch of {record.run_id} at {slot.id}",
                }
            )
            if t.id == "main"
            else t
            for t in result.timelines
        ]
        origin = BranchOrigin(
            parent_run=record.run_id,
            at=slot.id,
            intervention=intervention.model_dump(mode="json"),
            copied=[t.id for t in prefix],
        )
        return result.model_copy(update={"timelines": timelines, "branch": origin})

    return session.execute(sim, resimulate, summary=False, amend=labelled, run_id=run_id)


def _slot(order: list[Timepoint], at: str | int) -> Timepoint:
    main = [t for t in order if t.parent_timepoint is None]
    if isinstance(at, int) or str(at).isdigit():
        position = int(at)
        if not 0 <= position < len(main):
            raise BranchError(f"branch index {position} is outside 0..{len(main) - 1}")
        return main[position]
    found = next((t for t in order if t.id == at), None)
    if found is None:
        known = ", ".join(t.id for t in main)
        raise BranchError(f"no timepoint {at!r} on the main timeline; known: {known}")
    if found.parent_timepoint is not None:
        raise BranchError(
            f"{at!r} is a sub-moment of {found.parent_timepoint}; branch at "
            f"{found.parent_timepoint} instead"
        )
    return found
