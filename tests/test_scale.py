"""Large scenarios: a 200-entity run finishes in seconds, and sizes past the limit are refused
before anything runs, with the limit and the largest counts that fit."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import timepoint as tp
from timepoint.cli import main
from timepoint.errors import ScenarioError, TimepointError
from timepoint.scenario.loader import load_scenario
from timepoint.scenario.schema import MAX_PAIR_TIMEPOINTS, entity_pairs
from timepoint.settings import Settings
from timepoint.synthesis.relationships import trend

from .conftest import SCENARIOS
from .timing import seconds

BOARD = SCENARIOS / "showcase" / "board_meeting.yaml"


def test_a_200_entity_3_timepoint_run_finishes_within_20_seconds(tmp_path: Path):
    overrides = {
        "entities.count": 200,
        "timepoints.count": 3,
        "fidelity.budget_mode": "max_quality",  # no downgrades: every mechanism runs
    }
    started = time.perf_counter()
    record = tp.run(BOARD, settings=Settings(home=tmp_path), overrides=overrides).record
    elapsed = time.perf_counter() - started

    assert record.status == "completed"
    assert len(record.entities) == 200
    assert len(record.relationships) > 10_000, "most present pairs get a record each timepoint"
    assert elapsed < seconds(20), f"took {elapsed:.1f} s"
    # the trends kept per pair are those of the pair's whole history (one timeline here)
    last = record.timepoints[-1].id
    trends = record.extras["relationship_trends"]["main"]
    pairs = [(r.a, r.b) for r in record.relationships if r.timepoint_id == last]
    for a, b in pairs[:: max(1, len(pairs) // 100)]:
        assert trends[f"{a}~{b}"] == trend(record.relationships, a, b)


def _scenario(tmp_path: Path, entities: int, timepoints: int) -> Path:
    path = tmp_path / "large.yaml"
    path.write_text(
        f"extends: {BOARD}\nentities:\n  count: {entities}\ntimepoints:\n  count: {timepoints}\n"
    )
    return path


def test_validate_refuses_a_scenario_past_the_size_limit(tmp_path, capsys):
    path = _scenario(tmp_path, 500, 30)
    code = main(["validate", str(path)])
    lines = capsys.readouterr().out.strip().splitlines()

    assert code == 2
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}: entities.count: 500 entities (124,750 pairs)")
    assert "× timepoints.count 30 make 3,742,500 pair-timepoints" in lines[0]
    assert f"the limit of {MAX_PAIR_TIMEPOINTS:,}" in lines[0]
    assert lines[0].endswith(
        "lower timepoints.count to at most 12 or entities.count to at most 316"
    )


def test_the_limit_admits_the_largest_counts_it_names(tmp_path):
    assert entity_pairs(500) * 12 <= MAX_PAIR_TIMEPOINTS < entity_pairs(500) * 13
    assert entity_pairs(316) * 30 <= MAX_PAIR_TIMEPOINTS < entity_pairs(317) * 30
    assert load_scenario(_scenario(tmp_path, 500, 12)).entities.count == 500
    with pytest.raises(ScenarioError, match="at most 12"):
        load_scenario(_scenario(tmp_path, 500, 13))


def test_a_run_past_the_limit_is_refused_before_it_starts(tmp_path):
    settings = Settings(home=tmp_path)
    with pytest.raises(TimepointError) as refused:
        tp.run(BOARD, settings=settings, overrides={"entities.count": 300, "timepoints.count": 40})

    assert isinstance(refused.value, ScenarioError)
    assert "--set: entities.count: 300 entities (44,850 pairs)" in str(refused.value)
    assert "lower timepoints.count to at most 33 or entities.count to at most 274" in str(
        refused.value
    )
    assert not list(tmp_path.glob("*/run.json")), "nothing ran"
