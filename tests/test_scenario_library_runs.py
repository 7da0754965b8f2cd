"""Every scenario in ``scenarios/`` runs end to end with the offline model (small step counts).

Bases that are only meant to be extended are skipped when they do not validate on their own.
The whole library takes a few seconds this way, so it runs in the default suite.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import timepoint as tp
from timepoint.errors import ScenarioError
from timepoint.scenario.loader import load_scenario
from timepoint.scenario.schema import Scenario, TemporalMode
from timepoint.time.paths import chronology_problems

from .conftest import SCENARIOS

PLACEHOLDERS = re.compile(r"lorem ipsum|Antecedent \d|Candidate \d|Timepoint \d+/\d+|TODO", re.I)
#: what an entity without a name would be called after its id (``human_5`` → ``Human 5``)
NUMBERED_NAME = re.compile(r"^[^\W\d_]+ \d+$")
LIBRARY = sorted(SCENARIOS.rglob("*.yaml"))


def small(scenario: Scenario) -> dict[str, Any]:
    """Overrides that keep a run short without changing what kind of run it is."""
    overrides: dict[str, Any] = {
        "outputs.formats": [f for f in scenario.outputs.formats if f != "pdf"] or ["markdown"],
    }
    mode = scenario.temporal.mode
    if mode is TemporalMode.CYCLICAL:
        length = scenario.temporal.cyclical.cycle_length
        overrides["timepoints.count"] = min(scenario.timepoints.count, 2 * length)
    elif mode is TemporalMode.PORTAL:
        portal = scenario.temporal.portal
        assert portal is not None
        overrides["temporal.portal.backward_steps"] = min(portal.backward_steps, 3)
        overrides["temporal.portal.candidates_per_step"] = min(portal.candidates_per_step, 2)
    else:
        overrides["timepoints.count"] = min(scenario.timepoints.count, 3)
    return overrides


def _load(path: Path) -> Scenario:
    try:
        return load_scenario(path)
    except ScenarioError as error:
        if path.parent.name == "base":
            pytest.skip(f"{path.name} is a base to extend, not a complete scenario: {error}")
        raise


def test_the_library_has_every_mode():
    modes = set()
    for path in LIBRARY:
        try:
            modes.add(load_scenario(path).temporal.mode)
        except ScenarioError:
            continue
    assert modes == set(TemporalMode)
    assert len(LIBRARY) >= 26


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.relative_to(SCENARIOS).as_posix())
def test_scenario_runs_offline(path: Path, settings):
    scenario = _load(path)
    run = tp.run(path, settings=settings, overrides=small(scenario))
    record = run.record
    assert record.status == "completed", record.error
    assert record.provider == "offline"
    assert record.timepoints and record.entities
    timepoints = {t.id: t for t in record.timepoints}
    assert record.main_timeline is not None
    assert chronology_problems(record.timelines, timepoints) == []
    for moment in record.timepoints:
        parent = timepoints.get(moment.causal_parent or "")
        if parent is not None:
            assert parent.timestamp <= moment.timestamp, moment.id
    assert {t.timeline_id for t in record.timepoints} <= {t.id for t in record.timelines}
    ledger = {m.mechanism: m for m in record.mechanisms}
    assert ledger and {"M1", "M3"} <= set(ledger)
    if scenario.temporal.mode is not TemporalMode.PEARL:
        assert "M17" in ledger
    if scenario.temporal.mode in (TemporalMode.BRANCHING, TemporalMode.PORTAL):
        ranked = sorted(record.paths, key=lambda p: p.rank)
        assert ranked and ranked[0].timeline_id == "main"
        assert all(t.score is not None for t in record.timelines)
    names = [entity.name for entity in record.entities]
    assert not [n for n in names if NUMBERED_NAME.match(n)], "every entity has a proper name"
    assert len(set(names)) == len(names)
    said = [turn.text for dialog in record.dialogs for turn in dialog.turns]
    text = " ".join([t.event for t in record.timepoints] + said)
    assert not PLACEHOLDERS.search(text)
