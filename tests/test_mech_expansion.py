"""M8 vertical expansion: a timepoint unfolds into phased sub-moments inside its time window that
form their own causal chain through it, driven by timepoints.before/after/expand."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta

import pytest

import timepoint as tp
from timepoint.errors import ScenarioError
from timepoint.scenario.loader import load_scenario
from timepoint.scenario.schema import TimepointsConfig
from timepoint.settings import Settings
from timepoint.time.expansion import (
    PHASES_AFTER,
    PHASES_BEFORE,
    SubMomentDraft,
    expanded_indexes,
    phases,
)
from timepoint.world import ExposureKind
from timepoint.world.causal import ancestors

from .conftest import JEFFERSON


@pytest.mark.parametrize(
    ("count", "labels", "from_end", "expected"),
    [
        (2, PHASES_BEFORE, False, ["arrival", "opening"]),
        (1, PHASES_AFTER, True, ["aftermath"]),
        (2, PHASES_AFTER, True, ["decision", "aftermath"]),
        (3, PHASES_AFTER, True, ["debate", "decision", "aftermath"]),
        (4, PHASES_BEFORE, False, ["arrival", "arrival", "opening", "debate"]),
        (0, PHASES_BEFORE, False, []),
    ],
)
def test_phase_labels(count, labels, from_end, expected):
    assert phases(count, labels, from_end) == expected


def test_which_timepoints_expand():
    assert expanded_indexes(TimepointsConfig(expand=[1, 2], before=1)) == {1, 2}
    assert expanded_indexes(TimepointsConfig(before=2)) == {0}
    assert expanded_indexes(TimepointsConfig()) == set()


def test_offline_sub_moment_follows_its_phase():
    context = {
        "scenario": {"location": "the salon", "description": "Two inventors quarrel."},
        "phase": "debate",
        "candidates": [
            {"id": "ada", "name": "Ada Lovelace", "role": "primary"},
            {"id": "charles", "name": "Charles Babbage", "role": "primary"},
        ],
        "recent_facts": ["The Treasury withdrew funding"],
    }
    draft = SubMomentDraft.model_validate(SubMomentDraft.offline_answer(context, random.Random(2)))
    assert "argue over the Treasury withdrew funding" in draft.event
    assert set(draft.present) == {"ada", "charles"}
    assert draft.key_facts and "challenged" in draft.key_facts[0]


@pytest.fixture(scope="module")
def expanded(tmp_path_factory):
    settings = Settings(home=tmp_path_factory.mktemp("m8") / "runs")
    overrides = {"timepoints.before": 2, "timepoints.after": 2, "timepoints.expand": [1]}
    return tp.run(JEFFERSON, settings=settings, overrides=overrides)


def test_sub_moments_share_the_window_and_chain_causally_through_the_moment(expanded):
    record = expanded.record
    order = record.main_timeline.timepoint_ids
    assert order == [
        "tp_000",
        "tp_001_arrival",
        "tp_001_opening",
        "tp_001",
        "tp_001_decision",
        "tp_001_aftermath",
        "tp_002",
    ]
    tps = {t.id: t for t in record.timepoints}
    for parent, child in itertools.pairwise(order):
        assert tps[child].causal_parent == parent
        assert tps[child].timestamp > tps[parent].timestamp
    center = tps["tp_001"]
    half = (tps["tp_002"].timestamp - center.timestamp) / 2
    subs = [t for t in record.timepoints if t.parent_timepoint == "tp_001"]
    assert [(t.phase, t.timeline_id) for t in subs] == [
        ("arrival", "main"),
        ("opening", "main"),
        ("decision", "main"),
        ("aftermath", "main"),
    ]
    for sub in subs:
        assert center.timestamp - half < sub.timestamp < center.timestamp + half
        assert abs(sub.timestamp - center.timestamp) < timedelta(hours=1)
    assert "arrive" in tps["tp_001_arrival"].event
    assert "leave" in tps["tp_001_aftermath"].event
    assert "tp_001_opening" in ancestors(tps, "tp_002")
    assert not [v for v in record.validation if v.validator == "causal_integrity"]
    ledger = {e.mechanism: e.counts for e in record.mechanisms}
    assert ledger["M8"] == {"sub-moments": 4, "timepoints expanded": 1}
    assert ledger["M7"]["causal links"] == 6


def test_what_is_said_in_a_sub_moment_is_known_afterwards(expanded):
    record = expanded.record
    subs = {t.id for t in record.timepoints if t.parent_timepoint is not None}
    told = [e for e in record.exposures if e.kind is ExposureKind.TOLD and e.timepoint_id in subs]
    assert told, "sub-moments have their own dialogs"
    assert {d.timepoint_id for d in record.dialogs} >= {"tp_001_arrival", "tp_001_decision"}
    for event in told:
        later = {e.fact_id for e in expanded.knowledge_at(event.entity_id, "tp_002")}
        assert event.fact_id in later


def test_the_opening_moment_expands_by_default_and_m8_can_be_switched_off(tmp_path):
    settings = Settings(home=tmp_path / "runs")
    run = tp.run(JEFFERSON, settings=settings, overrides={"timepoints.before": 1})
    first = run.record.timepoints[0]
    assert (first.id, first.phase, first.parent_timepoint) == (
        "tp_000_arrival",
        "arrival",
        "tp_000",
    )
    assert first.timestamp < run.timepoints["tp_000"].timestamp
    off = tp.run(
        JEFFERSON,
        settings=settings,
        overrides={"timepoints.before": 1, "mechanisms.disabled": ["m8"]},
    )
    assert [t.id for t in off.record.timepoints] == ["tp_000", "tp_001", "tp_002"]
    assert all(e.mechanism != "M8" for e in off.record.mechanisms)


@pytest.mark.parametrize("mode", ["directorial", "nonlinear", "cyclical"])
def test_expansion_unfolds_a_moment_in_every_forward_mode(mode, settings):
    overrides = {
        "temporal.mode": mode,
        "temporal.cyclical.cycle_length": 2,
        "timepoints.count": 2,
        "timepoints.before": 1,
        "timepoints.after": 1,
        "timepoints.expand": [1],
    }
    record = tp.run(JEFFERSON, settings=settings, overrides=overrides).record
    subs = [t for t in record.timepoints if t.parent_timepoint]
    assert [(t.parent_timepoint, t.phase) for t in subs] == [
        ("tp_001", "arrival"),
        ("tp_001", "aftermath"),
    ]
    by_id = {t.id: t for t in record.timepoints}
    arrival, aftermath = subs
    assert by_id["tp_001"].causal_parent == arrival.id and arrival.causal_parent == "tp_000"
    assert aftermath.causal_parent == "tp_001"
    assert arrival.timestamp < by_id["tp_001"].timestamp < aftermath.timestamp
    ledger = {m.mechanism: m.counts for m in record.mechanisms}
    assert ledger["M8"]["sub-moments"] == 2


@pytest.mark.parametrize("mode", ["branching", "portal"])
def test_expansion_is_refused_where_it_has_no_meaning(mode):
    overrides = {"temporal.mode": mode, "timepoints.after": 2}
    if mode == "portal":
        overrides["temporal.portal"] = {
            "description": "The bill passed.",
            "portal_year": 1791,
            "origin_year": 1789,
        }
    with pytest.raises(ScenarioError) as caught:
        load_scenario(JEFFERSON).with_overrides(overrides)
    (problem,) = caught.value.problems
    assert problem.startswith("--set: timepoints.after: vertical expansion")
    assert f"has no meaning in {mode} mode" in problem
    assert "set timepoints.before and after to 0" in problem
