"""Fidelity/temporal strategy: templates and planning modes give a schedule the run follows."""

from __future__ import annotations

import pytest

import timepoint as tp
from timepoint.fidelity.strategy import (
    MODE_COMPLEXITY,
    TEMPLATE_SHAPES,
    build_schedule,
    ramp,
)
from timepoint.scenario.loader import load_scenario
from timepoint.scenario.schema import FidelityTemplate, PlanningMode, TemporalMode
from timepoint.world import EntityRole, ResolutionLevel

from .conftest import JEFFERSON


def _scenario(template: str = "balanced", planning: str = "hybrid"):
    return load_scenario(JEFFERSON).with_overrides(
        {"fidelity.template": template, "fidelity.planning": planning}
    )


def test_mode_complexity_multipliers_are_the_reference_values():
    assert MODE_COMPLEXITY == {
        TemporalMode.PEARL: 1.0,
        TemporalMode.DIRECTORIAL: 1.2,
        TemporalMode.NONLINEAR: 1.3,
        TemporalMode.BRANCHING: 1.4,
        TemporalMode.CYCLICAL: 1.3,
        TemporalMode.PORTAL: 1.5,
    }
    schedule = build_schedule(_scenario().with_overrides({"temporal.mode": "cyclical"}), 4)
    pearl = build_schedule(_scenario(), 4)
    assert schedule.token_ceiling(3) == pytest.approx(pearl.token_ceiling(3) * 1.3, abs=1)


@pytest.mark.parametrize(
    ("template", "keys"),
    [("minimal", 2), ("balanced", 2), ("high_quality", 4), ("maximum", 6)],
)
def test_templates_shape_the_caps_of_key_and_ordinary_steps(template, keys):
    schedule = build_schedule(_scenario(template), 6)
    shape = TEMPLATE_SHAPES[FidelityTemplate(template)]
    assert sum(s.key for s in schedule.steps) == keys
    for step in schedule.steps:
        assert step.cap is (shape.peak if step.key else shape.base)
    # the key steps are the ones with the highest planned importance (the rising ramp's end)
    assert [s.key for s in schedule.steps][-keys:] == [True] * keys


def test_importance_curves_are_stretched_to_the_step_count():
    schedule = build_schedule(_scenario(), 5, importance=[0.1, 0.9])
    planned = [s.importance for s in schedule.steps]
    assert len(planned) == 5 and planned[0] == 0.1 and planned[-1] == 0.9
    assert planned == sorted(planned) and set(planned) == {0.1, 0.9}
    assert ramp(3) == pytest.approx([0.3, 0.6, 0.9])


def test_planning_modes_weigh_planned_and_generated_importance_differently():
    args = {"role": EntityRole.PRIMARY, "centrality": 1.0, "index": 0}
    programmatic = build_schedule(_scenario(planning="programmatic"), 3)
    adaptive = build_schedule(_scenario(planning="adaptive"), 3)
    hybrid = build_schedule(_scenario(planning="hybrid"), 3)
    # programmatic: what the model says about the moment does not matter
    assert programmatic.resolve(importance=0.0, **args) == programmatic.resolve(
        importance=1.0, **args
    )
    # adaptive: an important moment gets the key cap even at an ordinary step
    assert adaptive.resolve(importance=1.0, **args) > adaptive.resolve(importance=0.0, **args)
    low, high = hybrid.resolve(importance=0.0, **args), hybrid.resolve(importance=1.0, **args)
    assert low <= high
    assert programmatic.planning is PlanningMode.PROGRAMMATIC


def test_a_run_follows_its_schedule(settings):
    run = tp.run(JEFFERSON, settings=settings, overrides={"fidelity.planning": "programmatic"})
    record = run.record
    plan = record.evidence.fidelity_schedule
    assert plan is not None
    assert plan.planning == "programmatic" and len(plan.steps) == 3
    caps = [s.cap for s in plan.steps]
    for step, tp_id in enumerate(record.main_timeline.timepoint_ids):
        levels = [c.resolution for c in record.fidelity if c.timepoint_id == tp_id]
        assert max(levels) <= caps[step]
    ledger = {m.mechanism: m.counts for m in record.mechanisms}
    assert ledger["M1"]["scheduled steps"] == 3


def test_minimal_template_plans_less_detail_than_maximum(settings):
    def dialog_cells(template: str) -> int:
        record = tp.run(
            JEFFERSON, settings=settings, overrides={"fidelity.template": template}
        ).record
        return sum(c.resolution >= ResolutionLevel.DIALOG for c in record.fidelity)

    assert dialog_cells("minimal") < dialog_cells("maximum")
