"""Validators (M4) run on every timepoint's dialog and state changes, with the run's real context.

Information conservation runs inside dialog synthesis (:mod:`timepoint.knowledge.conservation`,
with repair). The four here run after a timepoint's mechanisms and keep their violations:

- **energy budget**: each awake entity's energy spent at the timepoint (presence and dialog
  turns, circadian-adjusted by M14) must stay within that timepoint's budget;
- **behavioural inertia**: a trait vector that moved more than ``inertia_threshold`` (Euclidean)
  since the entity's previous snapshot on the causal path needs a cause: a recorded cause
  (:func:`record_trait_cause`), a progressive-training iteration (M2), or the intervention of the
  timeline (M12) naming the entity;
- **biological constraints**: the body limits speech — an asleep entity (M14) or one younger
  than ``min_speaking_age`` may not speak; fever above ``fever_threshold``, health below
  ``health_threshold`` or pain above ``pain_threshold`` allow ``severe_turn_limit`` turns; fever
  above ``impaired_fever``, pain above ``impaired_pain`` or fatigue (1 − stamina) above
  ``fatigue_threshold`` allow ``impaired_turn_limit``; an entity with mobility below
  ``immobile_below`` cannot appear in another location than at its previous timepoint;
- **network flow**: every ``told`` exposure must travel along a channel — speaker and listener
  both present and awake at the timepoint, or a declared relation, or an earlier relationship
  record with interactions (co-presence weights of the fidelity graph do not count).

Each validator adds one ``ok`` row per timepoint when it checked something and found nothing,
and one failed row per violation; the M4 ledger counts validators, checks and violations.
Trait snapshots are kept in ``extras["trait_snapshots"]``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from pydantic import Field

from timepoint.kernel.mechanism_settings import MechanismSettings, read_settings
from timepoint.kernel.relationship_records import declared_relations, latest_on_path
from timepoint.kernel.state import WorldState
from timepoint.world import ExposureKind, PhysicalState, ResolutionLevel, Timepoint
from timepoint.world.causal import ancestors
from timepoint.world.record import ValidationResult

M4_VALIDATORS = (
    "information_conservation",
    "energy_budget",
    "behavioural_inertia",
    "biological_constraints",
    "network_flow",
)


class ValidatorSettings(MechanismSettings):
    """M4 constants."""

    inertia_threshold: float = Field(0.3, ge=0)
    fever_threshold: float = Field(0.8, ge=0, le=1)
    health_threshold: float = Field(0.2, ge=0, le=1)
    pain_threshold: float = Field(0.9, ge=0, le=1)
    severe_turn_limit: int = Field(1, ge=0)
    impaired_fever: float = Field(0.5, ge=0, le=1)
    impaired_pain: float = Field(0.7, ge=0, le=1)
    fatigue_threshold: float = Field(0.7, ge=0, le=1)
    impaired_turn_limit: int = Field(3, ge=0)
    min_speaking_age: float = Field(3.0, ge=0)
    immobile_below: float = Field(0.1, ge=0, le=1)


Check = Callable[[WorldState, Timepoint, ValidatorSettings], tuple[list[ValidationResult], int]]


def record_trait_cause(state: WorldState, entity_id: str, timepoint_id: str, cause: str) -> None:
    """Declare why ``entity_id``'s traits change at ``timepoint_id`` (read by inertia checks)."""
    state.extras.setdefault("trait_causes", []).append(
        {"entity_id": entity_id, "timepoint_id": timepoint_id, "cause": cause}
    )


def turn_limit(body: PhysicalState, settings: ValidatorSettings) -> tuple[int | None, str]:
    """How many turns a body allows at one timepoint (None: no limit) and why."""
    if body.age < settings.min_speaking_age:
        return 0, f"age {body.age:g} is below {settings.min_speaking_age:g}"
    if body.fever > settings.fever_threshold:
        return settings.severe_turn_limit, f"fever {body.fever:.2f}"
    if body.health < settings.health_threshold:
        return settings.severe_turn_limit, f"health {body.health:.2f}"
    if body.pain > settings.pain_threshold:
        return settings.severe_turn_limit, f"pain {body.pain:.2f}"
    if body.fever > settings.impaired_fever:
        return settings.impaired_turn_limit, f"fever {body.fever:.2f}"
    if body.pain > settings.impaired_pain:
        return settings.impaired_turn_limit, f"pain {body.pain:.2f}"
    if 1 - body.stamina > settings.fatigue_threshold:
        return settings.impaired_turn_limit, f"fatigue {1 - body.stamina:.2f}"
    return None, ""


def trait_shift(before: dict[str, float], after: dict[str, float]) -> float:
    """Euclidean distance between two trait vectors (a missing trait counts as 0)."""
    names = set(before) | set(after)
    return math.sqrt(sum((after.get(n, 0.0) - before.get(n, 0.0)) ** 2 for n in names))


def energy_budget(
    state: WorldState, tp: Timepoint, settings: ValidatorSettings
) -> tuple[list[ValidationResult], int]:
    rows = state.extras.get("circadian", {}).get(tp.id, {})
    failures, checks = [], 0
    for entity_id, row in sorted(rows.items()):
        if row["asleep"] or row["cost_factor"] == 0:
            continue
        checks += 1
        if row["spent"] > row["budget"] + 1e-9:
            failures.append(
                _fail(
                    "energy_budget",
                    tp,
                    entity_id,
                    f"{entity_id} spent {row['spent']:.1f} energy at {row['hour']:02d}h "
                    f"({row['turns']} turns, cost ×{row['cost_factor']:.2f}, "
                    f"{row['hours_awake']:.0f}h awake) over a budget of {row['budget']:.1f}",
                )
            )
    return failures, checks


def behavioural_inertia(
    state: WorldState, tp: Timepoint, settings: ValidatorSettings
) -> tuple[list[ValidationResult], int]:
    snapshots: dict[str, dict[str, Any]] = state.extras.setdefault("trait_snapshots", {})
    path = ancestors(state.timepoints, tp.id)
    failures, checks = [], 0
    current = {}
    for entity_id in tp.entities_present:
        entity = state.entities.get(entity_id)
        if entity is None:
            continue
        current[entity_id] = {
            "traits": dict(entity.traits),
            "training": entity.metadata.training_iterations,
        }
        since = []
        previous = None
        for step in path:
            since.append(step)
            previous = snapshots.get(step, {}).get(entity_id)
            if previous is not None:
                break
        if previous is None:
            continue
        checks += 1
        shift = trait_shift(previous["traits"], entity.traits)
        if shift <= settings.inertia_threshold:
            continue
        window = {tp.id, *since[:-1]}
        causes = [
            c["cause"]
            for c in state.extras.get("trait_causes", [])
            if c["entity_id"] == entity_id and c["timepoint_id"] in window
        ]
        if entity.metadata.training_iterations > previous["training"]:
            causes.append("progressive training")
        timeline = state.timelines.get(tp.timeline_id)
        if timeline is not None and timeline.intervention and entity_id in timeline.intervention:
            causes.append(f"intervention: {timeline.intervention}")
        if not causes:
            failures.append(
                _fail(
                    "behavioural_inertia",
                    tp,
                    entity_id,
                    f"{entity_id}'s traits moved {shift:.2f} (threshold "
                    f"{settings.inertia_threshold:.2f}) since {since[-1]} with no recorded cause",
                )
            )
    snapshots[tp.id] = current
    return failures, checks


def biological_constraints(
    state: WorldState, tp: Timepoint, settings: ValidatorSettings
) -> tuple[list[ValidationResult], int]:
    failures, checks = [], 0
    circadian = state.extras.get("circadian", {}).get(tp.id, {})
    dialog = next((d for d in state.dialogs if d.timepoint_id == tp.id), None)
    spoken: dict[str, int] = {}
    for turn in dialog.turns if dialog else []:
        if turn.tone != "narrated":
            spoken[turn.speaker] = spoken.get(turn.speaker, 0) + 1
    for speaker, turns in sorted(spoken.items()):
        entity = state.entities.get(speaker)
        if entity is None:
            continue
        checks += 1
        limit, why = turn_limit(entity.physical, settings)
        if circadian.get(speaker, {}).get("asleep"):
            limit, why = 0, "asleep"
        if limit is not None and turns > limit:
            failures.append(
                _fail(
                    "biological_constraints",
                    tp,
                    speaker,
                    f"{speaker} spoke {turns} turns with {why}; the body allows {limit}",
                )
            )
    for entity_id in tp.entities_present:
        entity = state.entities.get(entity_id)
        if entity is None or entity.physical.mobility >= settings.immobile_below:
            continue
        previous = next(
            (
                state.timepoints[a]
                for a in ancestors(state.timepoints, tp.id)
                if entity_id in state.timepoints[a].entities_present
            ),
            None,
        )
        if previous is None:
            continue
        checks += 1
        if previous.location and tp.location and previous.location != tp.location:
            failures.append(
                _fail(
                    "biological_constraints",
                    tp,
                    entity_id,
                    f"{entity_id} (mobility {entity.physical.mobility:.2f}) moved from "
                    f"{previous.location} to {tp.location}",
                )
            )
    return failures, checks


def network_flow(
    state: WorldState, tp: Timepoint, settings: ValidatorSettings
) -> tuple[list[ValidationResult], int]:
    awake = {e for e in tp.entities_present if state.resolution(e, tp.id) >= ResolutionLevel.SCENE}
    declared = declared_relations(state)
    latest = latest_on_path(state, tp.id, include_self=False)
    failures, checks = [], 0
    for event in state.exposures.events:
        if event.kind is not ExposureKind.TOLD or event.timepoint_id != tp.id:
            continue
        checks += 1
        source, listener = event.source, event.entity_id
        pair = (min(source, listener), max(source, listener))
        earlier = latest.get(pair)
        talked = earlier is not None and earlier.interactions > 0
        if {source, listener} <= awake or pair in declared or talked:
            continue
        failures.append(
            _fail(
                "network_flow",
                tp,
                listener,
                f"{listener} was told {event.fact_id} by {source} with no relation between "
                "them and without both being present and awake",
                fact_id=event.fact_id,
            )
        )
    return failures, checks


VALIDATORS: tuple[tuple[str, Check], ...] = (
    ("energy_budget", energy_budget),
    ("behavioural_inertia", behavioural_inertia),
    ("biological_constraints", biological_constraints),
    ("network_flow", network_flow),
)


def run_validators(state: WorldState, tp: Timepoint) -> list[ValidationResult]:
    """Run the four validators on ``tp``; store and return their rows."""
    settings = read_settings(state.scenario, "m4", ValidatorSettings, state.extras)
    rows: list[ValidationResult] = []
    for name, check in VALIDATORS:
        failures, checks = check(state, tp, settings)
        state.ledger.count("M4", "checks", checks)
        state.ledger.count("M4", "violations", len(failures))
        if failures:
            rows.extend(failures)
        elif checks:
            rows.append(
                ValidationResult(
                    validator=name,
                    target=f"timepoint:{tp.id}",
                    ok=True,
                    timepoint_id=tp.id,
                    message=f"{checks} checks passed",
                )
            )
    state.validation.extend(rows)
    ran = {v.validator for v in state.validation} & set(M4_VALIDATORS)
    state.ledger.set("M4", "validators", len(ran))
    return rows


def _fail(
    validator: str, tp: Timepoint, entity_id: str, message: str, fact_id: str | None = None
) -> ValidationResult:
    return ValidationResult(
        validator=validator,
        target=f"{entity_id}@{tp.id}",
        ok=False,
        message=message,
        entity_id=entity_id,
        timepoint_id=tp.id,
        fact_id=fact_id,
    )
