"""Batch specs, grids, job ids, batch files and cost estimates (no workers started)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import timepoint as tp
from timepoint.batch.call_count import call_range, planned_calls
from timepoint.batch.definition import axis_values, load_batch_file, parse_axis
from timepoint.batch.spec import Grid, batch_id_for, make_spec
from timepoint.errors import BatchError
from timepoint.llm.base import ActionType
from timepoint.scenario.schema import Scenario
from timepoint.settings import Settings

TINY = {
    "id": "village_well",
    "title": "The village well",
    "description": "Three elders of a hill village argue over who may draw from the failing well.",
    "seed": 7,
    "entities": {
        "count": 3,
        "roster": [
            {"id": "ada", "name": "Ada", "role": "primary", "knowledge": ["The well is dry."]},
            {"id": "bo", "name": "Bo", "role": "primary", "knowledge": ["Rain is coming."]},
            {"id": "cy", "name": "Cy", "role": "secondary"},
        ],
    },
    "timepoints": {"count": 1},
}

PRICED_REGISTRY = {
    "models": [
        {
            "id": "test-priced",
            "name": "Priced test model",
            "openrouter_id": "test/priced",
            "license": "apache-2.0",
            "commercial_synthetic_data_ok": True,
            "context_window": 32000,
            "max_output": 4096,
            "input_usd_per_m": 1000.0,
            "output_usd_per_m": 1000.0,
            "speed": 0.5,
            "quality": 0.5,
            "capabilities": ["structured_json", "dialog", "temporal", "creative"],
        }
    ]
}


def write_scenario(folder: Path, **changes: object) -> Path:
    """The tiny scenario as a YAML file, with top-level keys replaced by ``changes``."""
    path = folder / "village_well.yaml"
    path.write_text(yaml.safe_dump({**TINY, **changes}))
    return path


def priced_settings(tmp_path: Path) -> Settings:
    """Offline settings whose registry has ``test-priced`` at $1000 per million tokens."""
    registry = tmp_path / "registry.yaml"
    registry.write_text(yaml.safe_dump(PRICED_REGISTRY))
    return Settings(home=tmp_path / "runs", registry_path=registry)


def test_grid_is_every_combination_with_deterministic_ids(tmp_path):
    path = write_scenario(tmp_path)
    axes = {"seed": range(3), "timepoints.count": [1, 2]}
    grid = tp.expand_grid(path, axes, replicates=2)
    assert len(grid) == 12
    specs = list(grid)
    assert [s.job_id for s in specs] == [grid[i].job_id for i in range(12)]
    assert len({s.job_id for s in specs}) == 12
    assert [s.job_id for s in tp.expand_grid(path, axes, replicates=2)] == [s.job_id for s in specs]
    first = specs[0]
    assert (first.seed, first.overrides, first.replicate) == (0, {"timepoints.count": 1}, 0)
    assert specs[-1].seed == 2 and specs[-1].replicate == 1
    resolved = Scenario.model_validate(TINY).with_overrides({"timepoints.count": 1, "seed": 0})
    assert first.config_hash == resolved.config_hash
    assert first.scenario == str(path.resolve())


def test_job_id_follows_the_resolved_config_not_how_it_was_written(tmp_path):
    path = write_scenario(tmp_path)
    scenario = Scenario.model_validate(TINY)
    by_path = make_spec(path, {"timepoints.count": 1}, seed=7)
    by_object = make_spec(scenario, {"seed": 7})
    assert by_path.job_id == by_object.job_id
    assert make_spec(path, seed=8).job_id != by_path.job_id
    assert make_spec(path, seed=7, replicate=1).job_id != by_path.job_id


def test_an_empty_axis_is_rejected_by_name(tmp_path):
    path = write_scenario(tmp_path)
    with pytest.raises(BatchError, match=r"grid axis 'models\.actions\.dialog_synthesis' is empty"):
        tp.expand_grid(path, {"seed": range(3), "models.actions.dialog_synthesis": []})


def test_an_axis_that_does_not_fit_the_scenario_names_axis_and_value(tmp_path):
    path = write_scenario(tmp_path)
    with pytest.raises(BatchError, match=r"grid axis 'timepoints.cuont', value 2"):
        tp.expand_grid(path, {"timepoints.cuont": [2]})
    with pytest.raises(BatchError, match=r"grid axis 'timepoints.count', value 0"):
        tp.expand_grid(path, {"timepoints.count": [1, 0]})


def test_duplicate_jobs_and_empty_batches_are_rejected(tmp_path, settings):
    path = write_scenario(tmp_path)
    with pytest.raises(BatchError, match="same job"):
        tp.run_batch(
            [{"scenario": path, "seed": 1}, {"scenario": path, "seed": 1}],
            settings=settings,
            progress=False,
        )
    with pytest.raises(BatchError, match="no jobs"):
        tp.run_batch([], settings=settings, progress=False)


def test_batch_id_is_a_hash_of_the_job_ids():
    assert batch_id_for(["a", "b"]) == batch_id_for(["a", "b"])
    assert batch_id_for(["a", "b"]) != batch_id_for(["b", "a"])


def test_axis_syntax_of_files_and_command_line():
    assert axis_values("0..3", "seed") == [0, 1, 2, 3]
    assert axis_values([1, 5], "seed") == [1, 5]
    assert axis_values("llama-3.1-8b", "models.model") == ["llama-3.1-8b"]
    assert parse_axis("seed=2..4") == ("seed", [2, 3, 4])
    assert parse_axis("models.model=llama-3.1-8b,qwen-2.5-7b") == (
        "models.model",
        ["llama-3.1-8b", "qwen-2.5-7b"],
    )
    with pytest.raises(BatchError, match="runs backwards"):
        axis_values("5..1", "seed")
    with pytest.raises(BatchError, match="NAME=VALUES"):
        parse_axis("seed")


def test_batch_file_builds_its_grid_and_reports_misspelt_keys(tmp_path):
    write_scenario(tmp_path)
    file = tmp_path / "seeds.yaml"
    file.write_text(
        yaml.safe_dump(
            {
                "scenario": "village_well.yaml",
                "grid": {"seed": "0..4"},
                "replicates": 2,
                "budget_usd": 1.5,
                "workers": 3,
            }
        )
    )
    batch, grid = load_batch_file(file)
    assert isinstance(grid, Grid) and len(grid) == 10
    assert (batch.budget_usd, batch.workers, batch.backend) == (1.5, 3, "local")
    file.write_text(yaml.safe_dump({"scenario": "village_well.yaml", "replicate": 2}))
    with pytest.raises(BatchError, match="unknown key 'replicate'; did you mean 'replicates'"):
        load_batch_file(file)
    file.write_text(yaml.safe_dump({"scenario": "village_well.yaml", "grid": {"seed": []}}))
    with pytest.raises(BatchError, match="grid axis 'seed' is empty"):
        load_batch_file(file)


def test_planned_calls_match_an_offline_run(settings):
    roster = [dict(e) for e in TINY["entities"]["roster"]]
    roster[0]["plans"] = True
    scenario = Scenario.model_validate(
        {
            **TINY,
            "entities": {"count": 3, "roster": roster},
            "timepoints": {"count": 2},
            "mechanisms": {"settings": {"m15": {"trait_threshold": None}}},
        }
    )
    run = tp.run(scenario, settings=settings)
    actual: dict[str, int] = {}
    for call in run.store.calls(run.run_id):
        actual[call.action] = actual.get(call.action, 0) + 1
    planned = {a.value: n for a, n in planned_calls(scenario).items()}
    assert planned == actual
    assert planned[ActionType.PROSPECTION.value] == 2


def test_entities_the_model_writes_may_plan_so_they_count_in_the_high_end():
    scenario = Scenario.model_validate(TINY)
    ranges = call_range(scenario)
    assert ranges[ActionType.ENTITY_POPULATION] == (3, 3)
    assert ranges[ActionType.PROSPECTION] == (0, 3)


def test_estimate_is_zero_offline_and_priced_from_the_registry(tmp_path):
    path = write_scenario(tmp_path, models={"model": "test-priced"})
    grid = tp.expand_grid(path, {"seed": range(4)})
    offline = tp.estimate_batch(grid, settings=priced_settings(tmp_path))
    assert offline.provider == "offline"
    assert offline.jobs == 4 and offline.calls == 24 and offline.usd_high == 0
    from functools import partial

    from timepoint.batch.testing import PricedOfflineModel

    priced = tp.estimate_batch(
        grid, settings=priced_settings(tmp_path), model=partial(PricedOfflineModel)
    )
    assert priced.provider == "offline-priced"
    assert 0 < priced.usd_low < priced.usd_expected < priced.usd_high
    assert len(priced.configurations) == 1 and priced.configurations[0].jobs == 4
    assert {a.model for a in priced.configurations[0].actions} == {"test-priced"}
    assert "4 jobs" in priced.describe() and "$" in priced.describe()


def test_replicates_of_one_seed_are_distinct_runs(settings):
    scenario = Scenario.model_validate(TINY)
    first = tp.run(scenario, settings=settings, replicate=0)
    again = tp.run(scenario, settings=settings, replicate=0)
    other = tp.run(scenario, settings=settings, replicate=1)

    def content(run):
        return [t.event for t in run.record.timepoints], [
            turn.text for d in run.record.dialogs for turn in d.turns
        ]

    assert content(first) == content(again)
    assert content(first) != content(other)
    assert first.record.config_hash == other.record.config_hash
