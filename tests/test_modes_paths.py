"""Paths of a run: divergence, pivot points, chronology checks, ``Run.paths()``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import timepoint as tp
from timepoint.time.paths import (
    ScoredPath,
    chronology_problems,
    divergence,
    find_pivots,
    path_infos,
)
from timepoint.world import Timeline, Timepoint

from .conftest import JEFFERSON

START = datetime(2030, 1, 1, tzinfo=UTC)


def _tp(tp_id: str, hours: int, parent: str | None = None) -> Timepoint:
    return Timepoint(
        id=tp_id, timestamp=START + timedelta(hours=hours), event=tp_id, causal_parent=parent
    )


def test_divergence_is_zero_where_paths_agree():
    paths = [
        ["The crew launches", "The generator fails in orbit", "Contact is lost"],
        ["The crew launches", "A solar storm damages the array", "Contact is lost"],
    ]
    spread = divergence(paths)
    assert spread[0] == 0 and spread[2] == 0 and spread[1] > 0.5


def test_pivots_are_the_most_divergent_steps_and_score_jumps():
    events = [["a", "storm hits the fleet", "end"], ["a", "calm seas all week", "end"]]
    scores = [[0.8, 0.8, 0.8], [0.8, 0.4, 0.8]]
    assert find_pivots(events, scores) == [[1], [1, 2]]
    infos = path_infos(
        [
            ScoredPath("main", 0.8, ["m0", "m1", "m2"], events[0], scores[0], {"x": 0.5}),
            ScoredPath("path_2", 0.67, ["p0", "p1", "p2"], events[1], scores[1], warning="low"),
        ]
    )
    assert [(i.timeline_id, i.rank, i.pivots) for i in infos] == [
        ("main", 1, ["m1"]),
        ("path_2", 2, ["p1", "p2"]),
    ]
    assert infos[1].warning == "low" and infos[0].components == {"x": 0.5}


def test_chronology_problems_name_the_broken_timeline():
    points = {t.id: t for t in (_tp("a", 0), _tp("b", 1, "a"), _tp("c", 2, "b"))}
    good = Timeline(id="main", timepoint_ids=["a", "b", "c"])
    backwards = Timeline(id="path_2", timepoint_ids=["c", "b", "a"])
    assert chronology_problems([good], points) == []
    problems = chronology_problems([good, backwards], points)
    assert problems and all(p.startswith("path_2:") for p in problems)
    assert any("before its causal parent" in p for p in problems)


def test_run_paths_of_a_forward_run_is_its_unscored_main_timeline(settings):
    run = tp.run(JEFFERSON, settings=settings)
    (path,) = run.paths()
    assert path.timeline_id == "main" and path.score is None and path.rank == 1
    assert path.timepoint_ids == run.record.main_timeline.timepoint_ids
