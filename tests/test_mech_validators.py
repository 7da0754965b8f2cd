"""M4 validators: energy budget, behavioural inertia, biological constraints, network flow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import timepoint as tp
from timepoint.kernel.state import WorldState
from timepoint.knowledge.validators import (
    ValidatorSettings,
    behavioural_inertia,
    network_flow,
    record_trait_cause,
    turn_limit,
)
from timepoint.scenario.schema import Scenario
from timepoint.world import Entity, ExposureKind, PhysicalState, ResolutionLevel, Timepoint
from timepoint.world.exposure import make_fact
from timepoint.world.record import FidelityCell

START = datetime(2025, 5, 5, 10, 0, tzinfo=UTC)


def clinic(fever: float = 0.9, m14: dict | None = None, m4: dict | None = None) -> Scenario:
    """A feverish patient and a doctor talking through a morning."""
    return Scenario.model_validate(
        {
            "id": "clinic",
            "title": "Morning round",
            "description": "A doctor examines a patient.",
            "entities": {
                "count": 2,
                "initial_resolution": "dialog",
                "roster": [
                    {
                        "id": "patient",
                        "name": "Lena Kovac",
                        "role": "primary",
                        "description": "A patient with an infection.",
                        "traits": {"stoicism": 0.5},
                        "knowledge": ["The pain started on Tuesday"],
                        "physical": {"fever": fever, "age": 34},
                    },
                    {
                        "id": "doctor",
                        "name": "Dr. Amir Haddad",
                        "role": "primary",
                        "description": "The attending doctor.",
                        "traits": {"stoicism": 0.2},
                        "knowledge": ["The lab results are due at noon"],
                    },
                ],
            },
            "timepoints": {"count": 2, "start": START.isoformat(), "location": "Room 3"},
            "mechanisms": {"settings": {"m14": m14 or {}, "m4": m4 or {}}},
        }
    )


def world(*present: str) -> tuple[WorldState, list[Timepoint]]:
    """A two-timepoint world with ``present`` entities at scene resolution."""
    state = WorldState(scenario=Scenario(id="w", title="W", description="A test world."))
    moments = [
        Timepoint(id="t0", timestamp=START, event="first", entities_present=list(present)),
        Timepoint(
            id="t1",
            timestamp=START + timedelta(hours=1),
            event="second",
            entities_present=list(present),
            causal_parent="t0",
        ),
    ]
    for entity_id in ("a", "b", "c"):
        state.set_entity(Entity(id=entity_id, name=entity_id.upper(), traits={"calm": 0.5}))
    for moment in moments:
        state.timepoints[moment.id] = moment
        for entity_id in present:
            state.fidelity[(entity_id, moment.id)] = FidelityCell(
                entity_id=entity_id, timepoint_id=moment.id, resolution=ResolutionLevel.SCENE
            )
    return state, moments


def test_turn_limits_follow_the_body():
    s = ValidatorSettings()
    assert turn_limit(PhysicalState(fever=0.9), s) == (1, "fever 0.90")
    assert turn_limit(PhysicalState(health=0.1), s)[0] == 1
    assert turn_limit(PhysicalState(pain=0.8), s)[0] == 3
    assert turn_limit(PhysicalState(stamina=0.2), s)[0] == 3
    assert turn_limit(PhysicalState(age=2), s)[0] == 0
    assert turn_limit(PhysicalState(), s) == (None, "")


def test_a_feverish_patient_talking_at_length_is_a_violation(settings):
    record = tp.run(clinic(), settings=settings).record
    found = [v for v in record.validation if v.validator == "biological_constraints" and not v.ok]
    spoken = [
        sum(t.speaker == "patient" for t in d.turns)
        for d in record.dialogs
        if any(t.speaker == "patient" for t in d.turns)
    ]
    assert len(found) == len(spoken) > 0
    assert all(v.entity_id == "patient" for v in found)
    assert found[0].message == f"patient spoke {spoken[0]} turns with fever 0.90; the body allows 1"
    healthy = tp.run(clinic(fever=0.0), settings=settings).record
    rows = [v for v in healthy.validation if v.validator == "biological_constraints"]
    assert rows and all(v.ok for v in rows)


def test_energy_spent_beyond_the_circadian_budget_is_a_violation(settings):
    tight = tp.run(clinic(fever=0.0, m14={"energy_budget": 5}), settings=settings).record
    found = [v for v in tight.validation if v.validator == "energy_budget" and not v.ok]
    rows = tight.evidence.circadian
    over = [(t, e) for t, by in rows.items() for e, r in by.items() if r.spent > r.budget]
    assert {(v.timepoint_id, v.entity_id) for v in found} == set(over) != set()
    assert "over a budget of 5.0" in found[0].message
    easy = tp.run(clinic(fever=0.0), settings=settings).record
    assert [v.ok for v in easy.validation if v.validator == "energy_budget"] == [True, True]


def test_a_trait_shift_needs_a_recorded_cause():
    state, (t0, t1) = world("a")
    settings = ValidatorSettings()
    assert behavioural_inertia(state, t0, settings) == ([], 0)
    state.set_entity(state.entities["a"].model_copy(update={"traits": {"calm": -0.2}}))
    failures, checks = behavioural_inertia(state, t1, settings)
    assert checks == 1 and len(failures) == 1
    assert "moved 0.70" in failures[0].message and failures[0].entity_id == "a"
    record_trait_cause(state, "a", "t1", "a bereavement")
    assert behavioural_inertia(state, t1, settings) == ([], 1)


def test_information_moves_only_along_edges_or_co_presence():
    state, (t0, _) = world("a", "b")
    fact = state.add_fact(make_fact("The well is dry"))
    for listener in ("b", "c"):
        state.exposures.expose(listener, fact, ExposureKind.TOLD, "a", "t0", START)
    failures, checks = network_flow(state, t0, ValidatorSettings())
    assert checks == 2
    assert [(v.entity_id, v.fact_id) for v in failures] == [("c", fact.id)]


def test_every_validator_runs_with_real_context_in_a_run(settings):
    record = tp.run(clinic(fever=0.0), settings=settings).record
    names = {v.validator for v in record.validation}
    for name in ("energy_budget", "behavioural_inertia", "biological_constraints", "network_flow"):
        assert name in names
    flow = [v for v in record.validation if v.validator == "network_flow"]
    told = [e for e in record.exposures if e.kind is ExposureKind.TOLD]
    assert all(v.ok for v in flow)
    assert sum(int(v.message.split()[0]) for v in flow) == len(told) > 0
    counts = next(m.counts for m in record.mechanisms if m.mechanism == "M4")
    assert counts["validators"] == 5 and counts["checks"] > len(told)
