"""BRANCHING: tree search with good/bad/surprising consequents; kept paths are scored timelines."""

from __future__ import annotations

import random
import re
from itertools import pairwise

import timepoint as tp
from timepoint.time.modes.branching_consequents import ConsequentSet
from timepoint.time.paths import chronology_problems

from .conftest import SCENARIOS

BRANCHING = SCENARIOS / "base" / "branching.yaml"
VC_PITCH = SCENARIOS / "showcase" / "vc_pitch_branching.yaml"


def test_offline_consequents_come_from_the_state_and_its_people():
    context = {
        "scenario": {"title": "Pitch", "location": "Menlo Park"},
        "state": "The founders open the pitch.",
        "key_facts": [],
        "candidates": [
            {"id": "sara", "name": "Sara Lin", "role": "primary", "known": ["Revenue is low"]},
            {"id": "jen", "name": "Jen Park", "role": "primary", "known": ["Fund wants MRR"]},
            {"id": "dk", "name": "David Kim", "role": "background", "known": ["A rival raised"]},
        ],
        "kinds": ["good", "bad", "surprising"],
    }
    answer = ConsequentSet.model_validate(ConsequentSet.offline_answer(context, random.Random(0)))
    kinds = [c.kind for c in answer.consequents]
    assert kinds == ["good", "bad", "surprising"]
    good, bad, odd = answer.consequents
    assert "Sara Lin" in good.event and "revenue is low" in good.event.lower()
    assert "rejects" in bad.event
    assert odd.event.startswith("David Kim") and "dk" in odd.present
    assert good.plausibility > odd.plausibility


def test_branching_run_keeps_scored_chronological_paths(settings):
    run = tp.run(BRANCHING, settings=settings)
    record = run.record
    cfg = run.scenario.temporal.branching
    assert record.status == "completed"
    assert 1 <= len(record.paths) <= cfg.path_count
    ids = [p.timeline_id for p in sorted(record.paths, key=lambda p: p.rank)]
    assert ids[0] == "main" and ids[1:] == [f"path_{n}" for n in range(2, len(ids) + 1)]
    scores = [p.score for p in sorted(record.paths, key=lambda p: p.rank)]
    assert scores == sorted(scores, reverse=True)
    timelines = {t.id: t for t in record.timelines}
    timepoints = {t.id: t for t in record.timepoints}
    assert chronology_problems(record.timelines, timepoints) == []
    root = timelines["main"].timepoint_ids[0]
    for info in record.paths:
        timeline = timelines[info.timeline_id]
        assert timeline.score == info.score
        assert timeline.timepoint_ids[0] == root  # every path starts from the opening
        assert len(timeline.timepoint_ids) == run.scenario.timepoints.count
        for parent, child in pairwise(timeline.timepoint_ids):
            assert timepoints[child].causal_parent == parent
        assert set(info.pivots) <= set(timeline.timepoint_ids)
        assert info.score >= cfg.coherence_threshold or info.warning
        assert {"continuity", "plausibility"} <= set(info.components)
    # only kept states become timepoints
    kept = {i for t in record.timelines for i in t.timepoint_ids}
    assert kept == set(timepoints)
    # consequents are real forks: good / bad / surprising appear among the kept paths
    labels = " ".join(t.label for t in record.timelines)
    assert re.search(r"good|bad|surprising", labels)
    # per-timepoint mechanisms ran on the main timeline
    dialog_tps = {d.timepoint_id for d in record.dialogs}
    assert set(timelines["main"].timepoint_ids) & dialog_tps
    ledger = {m.mechanism: m.counts for m in record.mechanisms}
    assert ledger["M17"]["branch points"] >= 1 and ledger["M17"]["consequents"] >= 3


def test_frontier_is_pruned_to_twice_the_path_count(settings):
    run = tp.run(BRANCHING, settings=settings, overrides={"temporal.branching.path_count": 1})
    ledger = {m.mechanism: m.counts for m in run.record.mechanisms}
    # three consequents per branch point soon exceed 3 × 1 states: the best 2 are kept
    assert ledger["M17"]["states pruned"] > 0
    assert ledger["M17"]["paths explored"] <= 3 * 3
    assert len(run.record.paths) == 1 and run.record.paths[0].timeline_id == "main"


def test_run_paths_lists_scores_and_pivots(settings):
    run = tp.run(VC_PITCH, settings=settings)
    paths = run.paths()
    assert [p.rank for p in paths] == list(range(1, len(paths) + 1)) and len(paths) == 3
    assert paths[0].timeline_id == "main"
    first = paths[0].timepoints[0]
    assert all(p.timepoints[0] == first for p in paths)  # shared opening, then the fork
    assert len({p.timepoints[1].id for p in paths}) == 3
    assert all(p.pivots for p in paths)
    assert all(t.event == e for p in paths for t, e in zip(p.timepoints, p.events, strict=True))
