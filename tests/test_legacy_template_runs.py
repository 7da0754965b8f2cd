"""Every earlier-format fixture imports, validates and runs offline as its author meant: its
fidelity template shapes the schedule, its characters are named, its mode and budget mode hold,
and no key that changes a simulation disappears without a line in the import table."""

from __future__ import annotations

import copy
import json
import re

import pytest

import timepoint as tp
from timepoint.fidelity.strategy import build_schedule
from timepoint.scenario.legacy import import_template
from timepoint.scenario.legacy_keys import GENERIC_REASON

from .conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "legacy_templates"
TEMPLATES = sorted(FIXTURES.glob("*.json"))
#: the earlier names of the five fidelity templates, and ours
EARLIER = {
    "minimalist": "minimal",
    "balanced": "balanced",
    "dramatic": "dramatic",
    "max_quality": "maximum",
    "portal_pivots": "portal_pivots",
}
BUDGET_MODES = {"soft": "soft", "max": "max_quality", "hard": "hard"}
#: a generated entity nobody named: its kind and a number
PLACEHOLDER = re.compile(
    r"^(human|animal|building|object|abstract|institution|ai|kami|any)[ _]\d+$", re.IGNORECASE
)


def _leaves(node, prefix=""):
    for key, value in node.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and value:
            yield from _leaves(value, path)
        else:
            yield path


def _variant(position: int, path):
    """The fixture with one of the five earlier templates and one of three budget modes."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    template = list(EARLIER)[position % len(EARLIER)]
    budget_mode = list(BUDGET_MODES)[position % len(BUDGET_MODES)]
    varied = copy.deepcopy(raw)
    varied["temporal"] |= {"fidelity_template": template, "token_budget_mode": budget_mode}
    return raw, varied, template, budget_mode


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.stem)
def test_the_import_table_accounts_for_every_key(path):
    raw = json.loads(path.read_text(encoding="utf-8"))
    imported = import_template(raw, source=path.name, fallback_id=path.stem)
    print(f"\n{path.name}\n{imported.table()}")
    rows = imported.rows
    assert [row.path for row in rows] == list(_leaves(raw)), "one row per key, in order"
    silent = [r.path for r in rows if r.status == "unsupported" and r.detail == GENERIC_REASON]
    assert silent == [], f"keys dropped without a reason: {silent}"
    assert all(r.detail for r in rows if r.status != "mapped")
    assert imported.table().splitlines()[-1] == ", ".join(
        f"{sum(r.status == s for r in rows)} {s}" for s in ("mapped", "approximated", "unsupported")
    )


def test_an_unknown_simulation_key_fails_the_silence_check():
    imported = import_template({"world_id": "w", "temporal": {"warp_factor": 9}})
    (row,) = [r for r in imported.rows if r.path == "temporal.warp_factor"]
    assert (row.status, row.detail) == ("unsupported", GENERIC_REASON)


@pytest.mark.parametrize(
    ("position", "path"), list(enumerate(TEMPLATES)), ids=[p.stem for p in TEMPLATES]
)
def test_every_fixture_runs_offline_as_its_template_says(position, path, settings):
    raw, varied, template, budget_mode = _variant(position, path)
    imported = import_template(varied, source=path.name, fallback_id=path.stem)
    scenario = imported.scenario
    assert scenario.fidelity.template.value == EARLIER[template]
    assert scenario.fidelity.budget_mode.value == BUDGET_MODES[budget_mode]
    expected_mode = {"forward": "pearl"}.get(raw["temporal"]["mode"], raw["temporal"]["mode"])
    assert scenario.temporal.mode.value == expected_mode
    names = [e.name or e.id for e in scenario.entities.roster]
    assert len(names) == scenario.entities.count, "every entity is a named character"
    small = {"timepoints.count": 2, "timepoints.before": 0, "timepoints.after": 0}
    if scenario.temporal.portal is not None:
        small = {"temporal.portal.backward_steps": 2, "temporal.portal.path_count": 2}
    run = tp.run(scenario.with_overrides(small), settings=settings)
    record = run.record
    assert record.status == "completed" and record.timepoints
    assert record.mode == expected_mode
    placeholders = [e.name for e in record.entities if PLACEHOLDER.match(e.name or e.id)]
    assert placeholders == []
    roster = {e.id for e in scenario.entities.roster}
    assert roster <= {e.id for e in record.entities}
    plan = record.evidence.fidelity_schedule
    assert plan.template == EARLIER[template]
    steps = len(plan.steps)
    planned = build_schedule(run.scenario, steps, [s.importance for s in plan.steps])
    if EARLIER[template] != "portal_pivots" or expected_mode != "portal":
        assert [s.cap for s in plan.steps] == [s.cap for s in planned.steps]
    else:
        assert plan.steps[0].part == "origin" and plan.steps[-1].part == "endpoint"
    report = record.evidence.token_budget
    assert report is not None and report.mode == BUDGET_MODES[budget_mode]
