"""DIRECTORIAL: acts, tension targets, beats as prescribed events, computed scores."""

from __future__ import annotations

import random
import re

import pytest

import timepoint as tp
from timepoint.time.modes.directorial import (
    NarrativePlan,
    assign_acts,
    measured_tension,
    tension_targets,
)

from .conftest import SCENARIOS

DIRECTORIAL = SCENARIOS / "base" / "directorial.yaml"


def test_acts_cover_every_step_in_order():
    assert assign_acts(5) == ["setup", "rising", "climax", "falling", "resolution"]
    assert assign_acts(3) == ["setup", "climax", "resolution"]
    ten = assign_acts(10)
    assert len(ten) == 10 and ten[0] == "setup" and ten[-1] == "resolution"
    order = ["setup", "rising", "climax", "falling", "resolution"]
    assert [order.index(a) for a in ten] == sorted(order.index(a) for a in ten)


def test_tension_targets_follow_the_reference_curve_scaled_by_dramatic_tension():
    acts = ["setup", "setup", "climax", "falling", "falling"]
    assert tension_targets(acts, 0.7) == pytest.approx([0.2, 0.4, 0.9, 0.5, 0.3])
    louder = tension_targets(acts, 1.0)
    assert louder[0] == pytest.approx(0.26) and louder[2] == 1.0  # capped
    assert tension_targets(acts, 0.0)[2] == pytest.approx(0.27)


def test_measured_tension_reads_conflict_and_calm():
    tense = measured_tension(0.5, ["They clash and threaten to walk out"], ["insistent"])
    calm = measured_tension(0.5, ["They settle the terms and part in peace"], ["conciliatory"])
    assert tense > calm


def test_offline_plan_uses_the_scenario_entities():
    context = {
        "scenario": {"title": "Board", "description": "A tense board meeting.", "location": "HQ"},
        "acts": ["setup", "climax", "resolution"],
        "entities": [
            {"id": "ana", "name": "Ana Ruiz", "role": "primary", "goals": ["Save the company"]},
            {"id": "bo", "name": "Bo Lind", "role": "primary", "goals": []},
        ],
        "prescribed": [None, "The vote is called", None],
    }
    plan = NarrativePlan.model_validate(NarrativePlan.offline_answer(context, random.Random(1)))
    assert len(plan.beats) == 3 and plan.beats[1] == "The vote is called"
    assert "Ana Ruiz" in plan.beats[0] or "Bo Lind" in plan.beats[0]
    assert {a.entity for a in plan.arcs} == {"ana", "bo"}
    assert set(plan.pov) == {"setup", "climax", "resolution"}


def test_directorial_run_records_plan_and_real_scores(settings):
    run = tp.run(DIRECTORIAL, settings=settings)
    record = run.record
    assert record.status == "completed"
    plan = record.extras["directorial"]
    assert plan["acts"] == ["setup", "rising", "climax", "falling", "resolution"]
    # the beats were prescribed: each main timepoint starts with its beat
    for beat, tp_id in zip(plan["beats"], record.main_timeline.timepoint_ids, strict=True):
        assert run.timepoints[tp_id].event.startswith(beat.rstrip("."))
    # the schedule follows the tension curve
    schedule = record.evidence.fidelity_schedule
    assert schedule is not None
    planned = [s.importance for s in schedule.steps]
    assert planned == pytest.approx(plan["target_tension"], abs=1e-3)
    checks = {v.validator: v for v in record.validation if v.validator.startswith("directorial")}
    assert set(checks) == {
        "directorial_tension_fit",
        "directorial_arc_completion",
        "directorial_pov_coherence",
    }
    fit = 1 - sum(
        abs(m - t) for m, t in zip(plan["measured_tension"], plan["target_tension"], strict=True)
    ) / len(plan["target_tension"])
    assert plan["scores"]["tension_fit"] == pytest.approx(fit)
    assert re.search(r"score \d\.\d{3}", checks["directorial_tension_fit"].message)
    arcs = plan["arcs"]
    assert arcs and plan["scores"]["arc_completion"] == sum(a["completed"] for a in arcs) / len(
        arcs
    )
    last = run.timepoints[record.main_timeline.timepoint_ids[-1]]
    assert all(a["entity"] in last.entities_present for a in arcs if a["completed"])
    ledger = {m.mechanism: m.counts for m in record.mechanisms}
    assert ledger["M17"]["tension fit"] == pytest.approx(round(fit, 4))
    assert ledger["M17"]["acts"] == 5
