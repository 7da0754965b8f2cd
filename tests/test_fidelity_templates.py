"""The five fidelity templates of the earlier Timepoint: each shapes the resolution schedule."""

from __future__ import annotations

from collections import Counter

import pytest

import timepoint as tp
from timepoint.errors import ScenarioError
from timepoint.fidelity.strategy import PIVOT_ALLOCATION, build_schedule, pivot_parts
from timepoint.scenario.loader import load_scenario
from timepoint.scenario.schema import FidelityTemplate
from timepoint.world import EntityRole
from timepoint.world import ResolutionLevel as R

from .conftest import JEFFERSON, SCENARIOS

MARS = SCENARIOS / "showcase" / "mars_mission_portal.yaml"


def _schedule(template: str, steps: int = 15):
    scenario = load_scenario(JEFFERSON).with_overrides({"fidelity.template": template})
    return build_schedule(scenario, steps)


@pytest.mark.parametrize(
    ("template", "caps"),
    [
        ("minimalist", {R.DIALOG: 5, R.SCENE: 10}),
        ("balanced", {R.TRAINED: 5, R.DIALOG: 10}),
        ("dramatic", {R.TRAINED: 1, R.DIALOG: 2, R.SCENE: 4, R.TENSOR_ONLY: 8}),
        ("max_quality", {R.TRAINED: 15}),
        ("portal_pivots", {R.TRAINED: 2, R.SCENE: 2, R.TENSOR_ONLY: 11}),
    ],
)
def test_each_earlier_template_gives_its_own_schedule(template, caps):
    schedule = _schedule(template)
    assert Counter(s.cap for s in schedule.steps) == caps
    ranked = sorted(schedule.steps, key=lambda s: s.importance)
    if template != "portal_pivots":
        assert [s.cap for s in ranked] == sorted(s.cap for s in ranked), "importance decides"


def test_earlier_names_are_aliases_of_ours_and_unknown_names_are_refused():
    scenario = load_scenario(JEFFERSON)
    assert scenario.with_overrides({"fidelity.template": "minimalist"}).fidelity.template is (
        FidelityTemplate.MINIMAL
    )
    assert scenario.with_overrides({"fidelity.template": "max_quality"}).fidelity.template is (
        FidelityTemplate.MAXIMUM
    )
    with pytest.raises(ScenarioError, match="'cinematic' is not one of minimal, balanced"):
        scenario.with_overrides({"fidelity.template": "cinematic"})


def test_portal_pivots_allocates_by_part_and_re_plans_around_found_pivots():
    assert pivot_parts(7, set()) == [
        "origin",
        "bridge",
        "checkpoint",
        "checkpoint",
        "checkpoint",
        "bridge",
        "endpoint",
    ]
    schedule = _schedule("portal_pivots", 7).with_pivots({3})
    assert schedule.pivots_found
    assert [s.part for s in schedule.steps] == [
        "origin",
        "bridge",
        "bridge",
        "pivot",
        "bridge",
        "bridge",
        "endpoint",
    ]
    assert [s.cap for s in schedule.steps] == [PIVOT_ALLOCATION[s.part] for s in schedule.steps]
    assert _schedule("balanced", 7).with_pivots({3}) == _schedule("balanced", 7)


def test_portal_pivots_outside_portal_mode_makes_important_moments_pivots():
    schedule = _schedule("portal_pivots", 5)
    args = {"role": EntityRole.PRIMARY, "centrality": 1.0, "index": 2}
    assert schedule.steps[2].part == "checkpoint"
    assert schedule.resolve(importance=0.2, **args) is R.TENSOR_ONLY
    assert schedule.resolve(importance=0.9, **args) is R.DIALOG


def test_a_portal_run_under_portal_pivots_follows_the_allocation(settings):
    overrides = {
        "fidelity.template": "portal_pivots",
        "temporal.portal.backward_steps": 3,
        "temporal.portal.path_count": 2,
        "mechanisms.disabled": ["m2"],  # progressive training may raise a cell past its cap
    }
    record = tp.run(MARS, settings=settings, overrides=overrides).record
    plan = record.evidence.fidelity_schedule
    assert plan.template == "portal_pivots"
    parts = [s.part for s in plan.steps]
    assert parts[0] == "origin" and parts[-1] == "endpoint"
    assert plan.steps[0].cap is plan.steps[-1].cap is R.TRAINED
    for step, tp_id in enumerate(record.main_timeline.timepoint_ids):
        levels = [c.resolution for c in record.fidelity if c.timepoint_id == tp_id]
        assert max(levels) <= plan.steps[step].cap
    ends = record.main_timeline.timepoint_ids[0], record.main_timeline.timepoint_ids[-1]
    top = {c.resolution for c in record.fidelity if c.timepoint_id in ends}
    assert R.TRAINED in top, "the endpoint and origin are simulated at trained"
    ledger = {m.mechanism: m.counts for m in record.mechanisms}
    assert ledger["M1"]["pivot steps"] == parts.count("pivot")


def test_dramatic_spends_detail_on_the_climax_only(settings):
    def cells(template: str) -> Counter:
        overrides = {"fidelity.template": template, "fidelity.planning": "programmatic"}
        record = tp.run(JEFFERSON, settings=settings, overrides=overrides).record
        last = record.main_timeline.timepoint_ids[-1]
        return Counter((c.timepoint_id == last, c.resolution >= R.DIALOG) for c in record.fidelity)

    dramatic, balanced = cells("dramatic"), cells("balanced")
    assert dramatic[(False, True)] < balanced[(False, True)]
    assert dramatic[(True, True)] >= 1
