"""Counterfactual branching (M12): copy a run up to a timepoint, intervene, re-simulate forward.

``run.branch(at="tp_001", intervention=Intervention.remove("hamilton"))`` keeps the timepoints
before ``tp_001`` exactly as they were (with their exposures, dialogs, scenes and relationships),
applies the intervention to that world, and lets the temporal mode generate ``tp_001`` onwards
again. The branch is stored as a run of its own; its main timeline names the parent run, the
branch point and the intervention. :func:`timepoint.time.comparison.compare` reports how two
histories differ.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from timepoint.engine.restore import rewind, scenario_of, timeline_order
from timepoint.errors import TimepointError
from timepoint.kernel.state import WorldState
from timepoint.world import Entity, ExposureEvent, Timepoint
from timepoint.world.exposure import ExposureLog, make_fact

if TYPE_CHECKING:
    from timepoint.engine.run import Run
    from timepoint.kernel.progress import ProgressSink
    from timepoint.llm.base import LanguageModel

#: fields of an entity an intervention may modify (dotted below the nested ones)
MODIFIABLE = ("name", "description", "role", "kind", "voice", "goals", "constraints")
MODIFIABLE_NESTED = ("traits", "physical", "cognitive")


class BranchError(TimepointError):
    """A branch could not be made: unknown branch point, entity or fact, or a bad intervention."""


class InterventionKind(StrEnum):
    REMOVE_ENTITY = "remove_entity"
    MODIFY_ENTITY = "modify_entity"
    CANCEL_EVENT = "cancel_event"
    ALTER_KNOWLEDGE = "alter_knowledge"


class Intervention(BaseModel):
    """What changes at the branch point. Build one with the class methods.

    Examples:
        >>> Intervention.remove("hamilton").describe()
        'remove entity hamilton'
        >>> Intervention.modify("madison", {"physical.pain": 0.9}).describe()
        'modify madison: physical.pain=0.9'
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: InterventionKind
    entity: str | None = None
    changes: dict[str, Any] = Field(default_factory=dict)
    fact: str | None = None
    text: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> Intervention:
        kind = self.kind
        needs_entity = (InterventionKind.REMOVE_ENTITY, InterventionKind.MODIFY_ENTITY)
        if kind in needs_entity and not self.entity:
            raise ValueError(f"{kind.value} needs 'entity' (an entity id)")
        if kind is InterventionKind.MODIFY_ENTITY and not self.changes:
            raise ValueError("modify_entity needs 'changes', e.g. {'physical.pain': 0.9}")
        if kind is InterventionKind.ALTER_KNOWLEDGE and not (self.fact and self.text):
            raise ValueError("alter_knowledge needs 'fact' (id or text fragment) and 'text'")
        return self

    @classmethod
    def remove(cls, entity: str) -> Intervention:
        """The entity is absent from the branch point on."""
        return cls(kind=InterventionKind.REMOVE_ENTITY, entity=entity)

    @classmethod
    def modify(cls, entity: str, changes: dict[str, Any]) -> Intervention:
        """Change entity fields, e.g. ``{"role": "background", "traits.agreeableness": -0.8}``."""
        return cls(kind=InterventionKind.MODIFY_ENTITY, entity=entity, changes=dict(changes))

    @classmethod
    def cancel_event(cls) -> Intervention:
        """The event at the branch point does not happen; history resumes from its parent."""
        return cls(kind=InterventionKind.CANCEL_EVENT)

    @classmethod
    def alter(cls, fact: str, text: str, entity: str | None = None) -> Intervention:
        """Holders of ``fact`` (or only ``entity``) hold ``text`` instead."""
        return cls(kind=InterventionKind.ALTER_KNOWLEDGE, fact=fact, text=text, entity=entity)

    def describe(self) -> str:
        """One line for timelines, ledgers and reports."""
        if self.kind is InterventionKind.REMOVE_ENTITY:
            return f"remove entity {self.entity}"
        if self.kind is InterventionKind.MODIFY_ENTITY:
            pairs = ", ".join(f"{k}={v}" for k, v in self.changes.items())
            return f"modify {self.entity}: {pairs}"
        if self.kind is InterventionKind.CANCEL_EVENT:
            return "cancel the event"
        holder = f" for {self.entity}" if self.entity else ""
        return f"alter knowledge{holder}: {self.fact!r} becomes {self.text!r}"


def apply_intervention(state: WorldState, intervention: Intervention) -> str:
    """Change ``state`` as ``intervention`` says; returns what was done, for the ledger.

    Raises:
        BranchError: the entity or fact does not exist, or a modified field is not allowed.
    """
    kind = intervention.kind
    if kind is InterventionKind.CANCEL_EVENT:
        return "the event at the branch point is skipped"
    if kind is InterventionKind.ALTER_KNOWLEDGE:
        return _alter(state, intervention)
    entity_id = _entity_id(state, intervention.entity or "")
    if kind is InterventionKind.REMOVE_ENTITY:
        del state.entities[entity_id]
        state.centrality.pop(entity_id, None)
        return f"{entity_id} removed from the world"
    state.set_entity(_modified(state.entities[entity_id], intervention.changes))
    return f"{entity_id} modified ({', '.join(intervention.changes)})"


def _entity_id(state: WorldState, ref: str) -> str:
    if ref in state.entities:
        return ref
    matches = [e.id for e in state.entities.values() if ref.lower() in e.name.lower()]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(sorted(state.entities))
    raise BranchError(f"no single entity matches {ref!r}; known: {known}")


def _modified(entity: Entity, changes: dict[str, Any]) -> Entity:
    data = entity.model_dump()
    for dotted, value in changes.items():
        head, _, leaf = dotted.partition(".")
        if head in MODIFIABLE and not leaf:
            data[head] = value
        elif head in MODIFIABLE_NESTED and leaf:
            if head != "traits" and leaf not in data[head]:
                allowed = ", ".join(f"{head}.{k}" for k in data[head])
                raise BranchError(f"cannot modify {dotted!r}; allowed: {allowed}")
            data[head][leaf] = value
        else:
            allowed = ", ".join([*MODIFIABLE, *(f"{n}.<field>" for n in MODIFIABLE_NESTED)])
            raise BranchError(f"cannot modify {dotted!r} of {entity.id}; allowed: {allowed}")
    try:
        return Entity.model_validate(data)
    except ValueError as error:
        first = str(error).splitlines()[1:3]
        raise BranchError(f"modifying {entity.id}: {' '.join(first).strip()}") from None


def _alter(state: WorldState, intervention: Intervention) -> str:
    needle = (intervention.fact or "").lower()
    if intervention.fact in state.facts:
        matches = [intervention.fact]
    else:
        matches = [f.id for f in state.facts.values() if needle in f.text.lower()]
    if len(matches) != 1:
        found = f"{len(matches)} facts" if matches else "no fact"
        raise BranchError(
            f"{found} before the branch point match {intervention.fact!r}; "
            "pass a fact id or a longer fragment of its text"
        )
    old = state.facts[matches[0]]
    new = state.add_fact(make_fact(intervention.text or "", origin="intervention"))
    holder = _entity_id(state, intervention.entity) if intervention.entity else None
    changed = 0
    events: list[ExposureEvent] = []
    for event in state.exposures.events:
        if event.fact_id == old.id and holder in (None, event.entity_id):
            event = event.model_copy(update={"fact_id": new.id, "fact_text": new.text})
            changed += 1
        events.append(event)
    if not changed:
        raise BranchError(f"{holder} never held {old.id} ({old.text!r}) before the branch point")
    state.exposures = ExposureLog(events)
    return f"{changed} exposures of {old.id} now carry {new.id}"


def branch(
    run: Run,
    at: str | int,
    intervention: Intervention | dict[str, Any],
    *,
    model: LanguageModel | None = None,
    progress: ProgressSink | None = None,
) -> Run:
    """Copy ``run`` up to ``at``, apply ``intervention``, re-simulate forward; store the branch.

    Args:
        run: the run to branch (its scenario comes from memory or its folder).
        at: the first timepoint the branch re-simulates: an id (``tp_001``) or a 0-based index
            into the main timeline.
        intervention: an :class:`Intervention` or its dict form.
        model: the provider to use (default: the one the settings imply, offline without a key).
        progress: a progress sink.

    Raises:
        BranchError: bad branch point or intervention, or a mode that cannot resume.
        RestoreError: the run's scenario is neither in memory nor in its folder.
        RunFailed: the re-simulation failed; its partial record is stored.
    """
    from timepoint.engine.runner import conclude, finalize, new_run_id, scenario_gateway
    from timepoint.engine.simulation import Simulation
    from timepoint.kernel.context import RunContext
    from timepoint.settings import Settings
    from timepoint.store import open_store
    from timepoint.time.modes import mode_for

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
    settings = run.settings or Settings.from_env()
    home = Path(settings.home)
    store = run.store if run.store is not None else open_store(settings.db_url, home=home)
    gateway = scenario_gateway(settings, scenario, model, seed=scenario.seed)
    ctx = RunContext(
        gateway=gateway,
        seed=scenario.seed,
        home=home,
        max_concurrency=scenario.models.max_concurrency,
        store=store,
        **({"progress": progress} if progress is not None else {}),
    )
    sim = Simulation(scenario, ctx)
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
    run_id = new_run_id(scenario, scenario.seed)
    started = datetime.now(UTC)
    failure: BaseException | None = None
    try:
        sim.enter("fidelity", "branch")
        sim.plan_graph()
        before = len(sim.state.timepoints)
        simulate_from(
            sim, start_index=index + 1 if cancel else index, parent=group[0].causal_parent
        )
        ledger.count("M12", "timepoints re-simulated", len(sim.state.timepoints) - before)
        sim.enter("finish")
        sim.finish()
    except (TimepointError, ValueError, KeyError, AssertionError) as error:
        failure = error
    result = sim.record(run_id, started, "failed" if failure else "completed", gateway.provider)
    result = finalize(result, gateway)
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
    extras = {
        **result.extras,
        "branch": {
            "parent_run": record.run_id,
            "at": slot.id,
            "intervention": intervention.model_dump(mode="json"),
            "copied": [t.id for t in prefix],
        },
    }
    result = result.model_copy(update={"timelines": timelines, "extras": extras})
    return conclude(
        result, sim, gateway, failure, scenario=scenario, home=home, store=store, settings=settings
    )


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
