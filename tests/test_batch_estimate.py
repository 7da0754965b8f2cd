"""Batch cost estimates: a rehearsal of each configuration brackets what runs really spend."""

from __future__ import annotations

import importlib.util
import sys
from functools import partial

import pytest

import timepoint as tp
from timepoint.batch.definition import load_batch_file
from timepoint.batch.estimate import REHEARSAL_SEEDS, Estimator
from timepoint.batch.testing import PricedOfflineModel
from timepoint.engine.runner import RunFailed
from timepoint.llm.base import ActionType
from timepoint.scenario.loader import load_scenario
from timepoint.settings import Settings
from timepoint.store import open_store

from .conftest import SCENARIOS
from .test_batch_specs import write_scenario

ROOT = SCENARIOS.parent


def _accuracy():
    """benchmarks/estimate_accuracy.py as a module (the benchmarks are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(
        "estimate_accuracy", ROOT / "benchmarks" / "estimate_accuracy.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _actual(path, seed, settings, **overrides):
    store = open_store(home=settings.home)
    try:
        return tp.run(
            path,
            model=PricedOfflineModel(seed=seed),
            store=store,
            seed=seed,
            settings=settings,
            overrides=overrides or None,
        ).record.usage
    except RunFailed as failure:
        return failure.run.record.usage
    finally:
        store.close()


def test_the_rehearsals_measure_the_prompts_the_engine_builds(tmp_path):
    """The estimate's midpoint is the mean spend of runs with the rehearsal seeds: history
    summaries every 5 timepoints and the fenced JSON in every prompt are counted as sent."""
    path = SCENARIOS / "showcase" / "board_meeting.yaml"
    overrides = {"timepoints.count": 20, "fidelity.budget_mode": "max_quality"}
    settings = Settings(home=tmp_path / "runs")
    grid = tp.expand_grid(path, {"seed": [7]}, overrides=overrides)
    estimate = tp.estimate_batch(grid, settings=settings, model=partial(PricedOfflineModel))
    runs = [_actual(path, seed, settings, **overrides) for seed in REHEARSAL_SEEDS]
    (config,) = estimate.configurations
    assert config.source == "rehearsal"
    tokens = [u.prompt_tokens + u.completion_tokens for u in runs]
    assert estimate.tokens == pytest.approx(sum(tokens) / len(tokens), abs=20)
    cost = sum(u.cost_usd for u in runs) / len(runs)
    assert estimate.usd_expected == pytest.approx(cost, rel=1e-3)
    by_action = {a.action: a for a in config.actions}
    summaries = by_action[ActionType.SUMMARIZATION.value].calls
    assert summaries == 4, "the executive summary and three rolling history summaries"
    assert all(u.by_action[ActionType.SUMMARIZATION.value].calls == 4 for u in runs)
    assert estimate.tokens_low < min(tokens) <= max(tokens) < estimate.tokens_high
    assert estimate.usd_low < estimate.usd_expected < estimate.usd_high < estimate.usd_ceiling


def test_the_jefferson_batch_estimate_brackets_its_spend(tmp_path):
    batch, grid = load_batch_file(ROOT / "batches" / "jefferson_seeds.yaml")
    settings = Settings(home=tmp_path / "runs")
    estimate = tp.estimate_batch(grid, settings=settings, model=partial(PricedOfflineModel))
    assert estimate.jobs == 20 and len(estimate.configurations) == 1
    per_job = estimate.configurations[0]
    for seed in (3, 11):
        usage = _actual(grid[seed].scenario, seed, settings, **batch.overrides)
        assert per_job.usd_low <= usage.cost_usd <= per_job.usd_high
        assert abs(per_job.usd_expected - usage.cost_usd) <= 0.25 * usage.cost_usd
        tokens = usage.prompt_tokens + usage.completion_tokens
        assert per_job.tokens_low <= tokens <= per_job.tokens_high


SAMPLE = [
    "showcase/jefferson_dinner.yaml",
    "portal/startup_failure_portal.yaml",
    "cyclical/harvest_festival_cyclical.yaml",
    "branching/castaway_colony_branching.yaml",
    "crisis/wildfire_evacuation.yaml",
]


def test_the_estimate_brackets_the_spend_of_sample_scenarios(tmp_path):
    accuracy = _accuracy()
    comparisons = [
        accuracy.compare(SCENARIOS / name, 1, tmp_path / str(i)) for i, name in enumerate(SAMPLE)
    ]
    assert all(c.inside for c in comparisons), [c for c in comparisons if not c.inside]
    # a seed can stray from the rehearsals' mean: the target is a rate, not every scenario
    close = [c.mid_error <= accuracy.MID_TOLERANCE for c in comparisons]
    assert sum(close) >= len(SAMPLE) - 1, comparisons


@pytest.mark.slow
def test_the_estimate_brackets_the_spend_of_the_library(tmp_path):
    accuracy = _accuracy()
    paths = accuracy.library(SCENARIOS)
    assert len(paths) >= 30
    comparisons = [accuracy.compare(p, 1, tmp_path / str(i)) for i, p in enumerate(paths)]
    inside, close = accuracy.rates(comparisons)
    missed = [c.scenario for c in comparisons if not c.inside]
    assert inside >= 0.9, missed
    assert close >= 0.9


def test_without_a_rehearsal_the_estimate_counts_calls_from_the_structure(tmp_path):
    scenario = load_scenario(write_scenario(tmp_path))
    settings = Settings(home=tmp_path / "runs")
    structural = Estimator(settings, "offline", rehearse=False).per_job(scenario)
    rehearsed = Estimator(settings, "offline").per_job(scenario)
    assert (structural.source, rehearsed.source) == ("structure", "rehearsal")
    assert structural.calls == rehearsed.calls == 6
