"""M12 counterfactual branching: copy the history up to a timepoint, intervene, re-simulate
forward, store the branch as a run, and compare it with its parent."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

import timepoint as tp
from timepoint.cli import main
from timepoint.errors import BranchError
from timepoint.report.compare import compare_paths
from timepoint.report.tables import comparison_markdown
from timepoint.settings import Settings
from timepoint.time.intervention import Intervention

from .conftest import JEFFERSON


def test_interventions_validate_and_describe_themselves():
    assert Intervention.remove("hamilton").describe() == "remove entity hamilton"
    assert Intervention.cancel_event().describe() == "cancel the event"
    modify = Intervention.modify("madison", {"physical.pain": 0.9})
    assert modify.describe() == "modify madison: physical.pain=0.9"
    assert "becomes 'new'" in Intervention.alter("old", "new").describe()
    with pytest.raises(ValidationError, match="needs 'changes'"):
        Intervention(kind="modify_entity", entity="madison")
    with pytest.raises(ValidationError, match="needs 'entity'"):
        Intervention(kind="remove_entity")


@pytest.fixture(scope="module")
def parent(tmp_path_factory):
    return tp.run(JEFFERSON, settings=Settings(home=tmp_path_factory.mktemp("m12") / "runs"))


def turns(record, tp_id):
    return [(t.speaker, t.text) for d in record.dialogs if d.timepoint_id == tp_id for t in d.turns]


def same_voice(run: tp.Run, entity_id: str) -> Intervention:
    """An intervention that sets a field to the value it already has."""
    voice = next(e.voice for e in run.record.entities if e.id == entity_id)
    return Intervention.modify(entity_id, {"voice": voice})


def test_a_branch_whose_intervention_changes_nothing_reproduces_its_parent(parent):
    branch = parent.branch(at="tp_001", intervention=same_voice(parent, "madison"))
    a, b = parent.record, branch.record
    assert [t.event for t in b.timepoints] == [t.event for t in a.timepoints]
    assert b.dialogs == a.dialogs and b.scenes == a.scenes and b.relationships == a.relationships
    assert b.exposures == a.exposures
    assert [e.cognitive for e in b.entities] == [e.cognitive for e in a.entities]
    comparison = tp.compare(parent, branch)
    assert comparison.first_divergence is None and comparison.knowledge == []
    assert "agree on every compared moment" in comparison.explanation


def test_removing_an_entity_copies_the_prefix_and_re_simulates_without_it(parent):
    branch = parent.branch(at="tp_001", intervention=Intervention.remove("hamilton"))
    a, b = parent.record, branch.record
    assert branch.run_id != parent.run_id and b.status == "completed"
    assert b.timepoints[0] == a.timepoints[0] and turns(b, "tp_000") == turns(a, "tp_000")
    for timepoint in b.timepoints[1:]:
        assert "hamilton" not in timepoint.entities_present
        assert all(speaker != "hamilton" for speaker, _ in turns(b, timepoint.id))
    main_line = b.main_timeline
    assert main_line.parent_timeline == f"{parent.run_id}:main"
    assert (main_line.branch_point, main_line.intervention) == ("tp_001", "remove entity hamilton")
    assert b.branch is not None
    assert b.branch.parent_run == parent.run_id and b.branch.at == "tp_001"
    assert b.branch.copied == ["tp_000"]
    ledger = {e.mechanism: e.counts for e in b.mechanisms}["M12"]
    assert ledger["timepoints copied"] == 1 and ledger["timepoints re-simulated"] == 2
    stored = tp.load_run(branch.run_id, settings=parent.settings)
    assert stored.record.main_timeline.branch_point == "tp_001"
    comparison = tp.compare(parent.run_id, branch.run_id, store=parent.store)
    assert comparison.first_divergence.slot == 1
    assert "present" in comparison.first_divergence.aspects
    assert comparison.entities_only_a == ["hamilton"]
    assert "remove entity hamilton" in comparison.explanation
    assert comparison.knowledge, "what Hamilton would have said is missing downstream"


def test_cancelling_an_event_resumes_from_its_causal_parent(parent):
    branch = parent.branch(at=1, intervention=Intervention.cancel_event())
    record = branch.record
    assert [t.id for t in record.timepoints] == ["tp_000", "tp_002"]
    assert record.timepoints[1].causal_parent == "tp_000"
    cancelled = parent.timepoints["tp_001"].event
    assert all(e.fact_text != cancelled.strip() for e in record.exposures)
    comparison = tp.compare(parent, branch)
    assert comparison.events[-1].aspects == ["missing"]


def test_altering_knowledge_changes_what_holders_know_from_the_branch_point(parent):
    intervention = Intervention.alter(
        "Potomac", "A capital on the Susquehanna would favour Pennsylvania"
    )
    branch = parent.branch(at="tp_001", intervention=intervention)
    old = next(e for e in parent.record.exposures if "Potomac" in e.fact_text)
    holders_before = {
        e.entity_id
        for e in parent.record.exposures
        if e.fact_id == old.fact_id and e.timepoint_id in (None, "tp_000")
    }
    for holder in holders_before:
        known = {e.fact_text for e in branch.knowledge_at(holder, "tp_001")}
        assert "A capital on the Susquehanna would favour Pennsylvania" in known
        assert old.fact_text not in known
    ledger = {e.mechanism: e for e in branch.record.mechanisms}["M12"]
    assert "now carry" in ledger.summary


def test_modifying_an_entity_changes_how_it_takes_part(parent):
    intervention = Intervention.modify("madison", {"physical.pain": 0.9})
    branch = parent.branch(at="tp_001", intervention=intervention)
    spoken = [
        t
        for d in branch.record.dialogs
        if d.timepoint_id != "tp_000"
        for t in d.turns
        if t.speaker == "madison"
    ]
    assert spoken and all(t.physical_influence == "speaks through pain" for t in spoken)
    assert turns(branch.record, "tp_000") == turns(parent.record, "tp_000")


def test_a_branch_after_questions_starts_from_the_generated_history(tmp_path):
    run = tp.run(JEFFERSON, settings=Settings(home=tmp_path / "runs"))
    run.ask("What did attendee_47 see at tp_001?")
    branch = run.branch(at="tp_002", intervention=same_voice(run, "madison"))
    record = branch.record
    assert all(not e.on_demand for e in record.entities)
    assert all(e.source != "elevation" for e in record.exposures)
    assert all("attendee_47" not in t.entities_present for t in record.timepoints)
    assert [d.turns for d in record.dialogs] == [d.turns for d in run.record.dialogs]


@pytest.mark.parametrize(
    ("at", "intervention", "message"),
    [
        ("tp_009", Intervention.cancel_event(), "no timepoint 'tp_009'"),
        (7, Intervention.cancel_event(), "outside 0..2"),
        ("tp_001", Intervention.remove("lafayette"), "no single entity matches 'lafayette'"),
        ("tp_001", Intervention.modify("madison", {"height": 2}), "cannot modify 'height'"),
        ("tp_001", Intervention.alter("zebra", "x"), "no fact before the branch point"),
    ],
)
def test_bad_branches_say_what_is_allowed(parent, at, intervention, message):
    with pytest.raises(BranchError, match=message):
        parent.branch(at=at, intervention=intervention)


def test_cli_branch_and_compare(parent, monkeypatch, capsys):
    monkeypatch.setenv("TIMEPOINT_HOME", str(parent.settings.home))
    monkeypatch.delenv("TIMEPOINT_DB_URL", raising=False)
    code = main(
        ["branch", parent.run_id, "--at", "tp_001", "--modify", "madison", "role=secondary"]
    )
    out = capsys.readouterr().out
    assert code == 0 and "modify madison: role=secondary" in out
    branch_id = out.split()[1]
    assert main(["compare", parent.run_id, branch_id, "--json"]) == 0
    assert '"first_divergence"' in capsys.readouterr().out
    assert main(["branch", parent.run_id, "--at", "tp_001", "--alter", "no-equals-sign"]) == 2


def test_compare_and_the_path_comparison_agree_on_the_divergence(parent):
    branch = parent.branch(at="tp_001", intervention=Intervention.remove("hamilton"))
    cli = tp.compare(parent, branch)
    paths = compare_paths(parent, branch)
    assert cli.first_divergence is not None
    assert paths.first_divergence == cli.first_divergence.slot
    assert f"step {cli.first_divergence.slot} " in str(cli)
    differing = [s for s in paths.steps if not s.same]
    assert [s.step for s in differing] == [e.slot for e in cli.events]
    assert [s.aspects for s in differing] == [e.aspects for e in cli.events]
    shown = comparison_markdown(paths)
    assert f"diverge at step **{cli.first_divergence.slot}**" in shown
    assert f"**diverges**: {', '.join(cli.first_divergence.aspects)}" in shown
