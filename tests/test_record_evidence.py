"""Mechanism evidence in typed fields, and records that kept it under ``extras`` keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import timepoint as tp
from timepoint.settings import Settings
from timepoint.time.intervention import Intervention
from timepoint.world.evidence import (
    CircadianRow,
    Contradiction,
    Elevation,
    MechanismEvidence,
    TraitCause,
)
from timepoint.world.record import RunRecord
from timepoint.world.resolution import ResolutionLevel

from .conftest import JEFFERSON


def old_shape(record: RunRecord) -> dict[str, Any]:
    """``record`` as runs stored it when evidence lived under ``extras`` keys."""
    data = record.model_dump(mode="json")
    extras = dict(data["extras"])
    extras.update({k: v for k, v in data.pop("evidence").items() if v not in ({}, [], None)})
    for key in ("branch", "narrative_pdf_error"):
        value = data.pop(key)
        if value is not None:
            extras[key] = value
    extras["summary_source"] = data.pop("summary_source")
    data["extras"] = extras
    return data


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[tp.Run, tp.Run]:
    parent = tp.run(JEFFERSON, settings=Settings(home=tmp_path_factory.mktemp("ev") / "runs"))
    return parent, parent.branch(at="tp_001", intervention=Intervention.remove("hamilton"))


def test_a_run_keeps_the_evidence_other_parts_read_in_typed_fields(runs):
    parent, branch = runs
    evidence = parent.record.evidence
    first = parent.record.timepoints[0].id
    assert all(isinstance(r, CircadianRow) for r in evidence.circadian[first].values())
    assert set(evidence.entity_states) == {"initial", *(t.id for t in parent.record.timepoints)}
    assert evidence.fidelity_schedule is not None
    assert evidence.tensors is not None and evidence.tensors.entities
    assert parent.record.summary_source.startswith("model ")
    assert parent.record.branch is None and parent.record.extras == {}
    assert branch.record.branch is not None
    assert branch.record.branch.parent_run == parent.run_id
    # the branch copied the per-timepoint evidence of the timepoint before its branch point
    assert branch.record.evidence.circadian[first] == evidence.circadian[first]


def test_records_with_evidence_under_extras_keys_load_into_the_fields(runs):
    for run in runs:
        old = old_shape(run.record)
        assert {"circadian", "entity_states", "tensors", "summary_source"} <= set(old["extras"])
        assert RunRecord.model_validate(old) == run.record
        assert RunRecord.model_validate_json(json.dumps(old)) == run.record


def test_extras_keys_nothing_reads_stay_free_form_notes(runs):
    old = old_shape(runs[0].record)
    old["extras"]["cycles"] = {"cycle_length": 3}
    record = RunRecord.model_validate(old)
    assert record.extras == {"cycles": {"cycle_length": 3}}
    assert record.evidence == runs[0].record.evidence


def test_an_old_value_that_does_not_fit_its_field_stays_in_extras(runs):
    old = old_shape(runs[0].record)
    odd = {"tp_000": {"madison": {"asleep": True}}}
    old["extras"].update(circadian=odd, branch="a note, not a branch origin")
    record = RunRecord.model_validate(old)
    assert record.extras == {"circadian": odd, "branch": "a note, not a branch origin"}
    assert record.evidence.circadian == {} and record.branch is None
    assert record.evidence.entity_states == runs[0].record.evidence.entity_states


def test_a_run_stored_in_the_old_shape_loads_branches_and_answers(tmp_path):
    settings = Settings(home=tmp_path / "runs")
    run = tp.run(JEFFERSON, settings=settings)
    old = old_shape(run.record)
    (Path(settings.home) / run.run_id / "run.json").write_text(json.dumps(old))
    engine = sa.create_engine(settings.db)
    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE runs SET record_json = :record WHERE run_id = :run_id"),
            {"record": json.dumps(old), "run_id": run.run_id},
        )
    engine.dispose()

    loaded = tp.load_run(run.run_id, settings=settings)
    assert loaded.record == run.record
    branch = loaded.branch(at="tp_001", intervention=Intervention.remove("hamilton"))
    notes = next(e.summary for e in branch.record.mechanisms if e.mechanism == "M12")
    assert "no entity snapshot" not in notes, "the branch found the snapshots under the old key"
    assert branch.record.branch is not None and branch.record.branch.copied == ["tp_000"]
    answer = loaded.ask("What did attendee_47 see at the second timepoint?")
    assert answer.text
    assert loaded.record.evidence.tensors is not None
    assert "attendee_47" in loaded.record.evidence.tensors.entities
    assert tp.load_run(run.run_id, settings=settings).record.evidence == loaded.record.evidence


def test_rewound_evidence_keeps_the_kept_timepoints_and_nothing_run_level():
    row = CircadianRow(
        entity_id="a",
        hour=2,
        body_hour=14,
        activity="work",
        probability=0.7,
        sleep_probability=0.0,
        asleep=False,
        night=True,
        hours_awake=8.0,
        fatigue_factor=1.0,
        cost_factor=1.5,
        reason="awake",
        energy_before=100.0,
        budget=30.0,
        spent=7.5,
        energy_after=92.5,
    )
    elevation = Elevation(
        entity_id="a",
        timepoint_id="t0",
        from_level=ResolutionLevel.SCENE,
        to_level=ResolutionLevel.GRAPH,
        cell_before=ResolutionLevel.SCENE,
        trigger="centrality",
        fact_ids=[],
        tokens=10,
    )
    evidence = MechanismEvidence(
        circadian={"t0": {"a": row}, "t1": {"a": row}},
        entity_states={"initial": {}, "t0": {}, "t1": {}},
        trait_causes=[
            TraitCause(entity_id="a", timepoint_id=t, cause="grief") for t in ("t0", "t1")
        ],
        contradictions=[Contradiction(a="a", b="b", fact_a="f1", fact_b="f2", timepoint_id="t1")],
        training=[elevation],
        relationship_trends={"main": {"a~b": "stable"}},
    )
    rewound = evidence.rewound({"t0"})
    assert set(rewound.circadian) == {"t0"} and set(rewound.entity_states) == {"initial", "t0"}
    assert [c.timepoint_id for c in rewound.trait_causes] == ["t0"]
    assert rewound.contradictions == [] and rewound.training == []
    assert rewound.relationship_trends == {}
    rewound.circadian["t0"]["b"] = row
    assert set(evidence.circadian["t0"]) == {"a"}, "the rewound copy does not share containers"
