"""Data derived from runs: training.jsonl (outputs.training_export, `export --format training`)
and temporal-knowledge benchmark items (`export --format benchmark`)."""

from __future__ import annotations

import json

import pytest

import timepoint as tp
from timepoint.cli import main
from timepoint.knowledge.benchmark import benchmark_items
from timepoint.knowledge.training_data import training_examples
from timepoint.settings import Settings
from timepoint.store import open_store

from .conftest import JEFFERSON

SMALL = {"timepoints.count": 2, "outputs.training_export": True}


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("exports") / "runs"


@pytest.fixture(scope="module")
def run(home):
    return tp.run(JEFFERSON, settings=Settings(home=home), overrides=SMALL)


def _lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_training_export_writes_one_example_per_turn_with_knowledge_and_provenance(run):
    record = run.record
    lines = _lines(run.folder / "training.jsonl")
    turns = [(d, n, t) for d in record.dialogs for n, t in enumerate(d.turns)]
    assert len(lines) == len(turns) > 0
    for line, (dialog, n, turn) in zip(lines, turns, strict=True):
        assert line["kind"] == "dialog_turn" and line["action"] == "dialog_synthesis"
        assert line["produced_by"] == f"{dialog.id}#{n}"
        assert (line["entity_id"], line["completion"]) == (turn.speaker, turn.text)
        held = {e.fact_id for e in run.knowledge_at(turn.speaker, dialog.timepoint_id)}
        assert {k["fact_id"] for k in line["knowledge"]} <= held
        assert [u["fact_id"] for u in line["used"]] == turn.knowledge_refs
        for used in line["used"]:
            if used["exposed"]:
                assert used["chain"][-1]["fact_id"] == used["fact_id"]
                chain = run.provenance(turn.speaker, used["fact_id"])
                assert [c["source"] for c in used["chain"]] == [e.source for e in chain]
    assert any(u["exposed"] and u["chain"] for line in lines for u in line["used"])


def test_an_answer_adds_a_training_example_and_runs_without_the_switch_write_none(run, home):
    answer = run.ask("What did Madison know at tp_001, and from whom?")
    lines = _lines(run.folder / "training.jsonl")
    last = lines[-1]
    assert last["kind"] == "answer" and last["completion"] == answer.text
    assert last["entity_id"] == "madison" and last["knowledge"]
    assert {u["fact_id"] for u in last["used"]} == set(answer.citations)
    plain = tp.run(JEFFERSON, settings=Settings(home=home), overrides={"timepoints.count": 1})
    assert not (plain.folder / "training.jsonl").exists()
    assert len(list(training_examples(plain.record))) == sum(
        len(d.turns) for d in plain.record.dialogs
    )


def test_benchmark_gold_answers_come_from_exposures_and_provenance(run):
    items = list(benchmark_items(run.record))
    kinds = {item.kind for item in items}
    assert kinds == {"who_knew", "learned_from", "could_know"}
    for item in items:
        assert item.evidence, item.id
        if item.kind == "who_knew":
            assert item.gold == run.who_knew(item.fact_id, at=item.timepoint_id)
            for other in item.distractors:
                assert other not in item.gold
        elif item.kind == "learned_from":
            chain = run.provenance(item.entity_id, item.fact_id)
            assert item.gold[0] == chain[-1].source
            assert item.evidence[-1].startswith(f"exposure:{item.entity_id}:{item.fact_id}:")
        else:
            known = {e.fact_id for e in run.knowledge_at(item.entity_id, item.timepoint_id)}
            assert (item.fact_id in known) is (item.answer == "yes")
            if item.answer == "yes":
                assert all(d not in known for d in item.distractors), "distractors were unknown"
    assert any(i.kind == "could_know" and i.answer == "no" for i in items), "facts not yet known"


def test_export_command_writes_training_and_benchmark_for_a_run_or_a_batch(
    run, home, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("TIMEPOINT_HOME", str(home))
    monkeypatch.delenv("TIMEPOINT_DB_URL", raising=False)
    out = tmp_path / "training.jsonl"
    assert main(["export", "--format", "training", run.run_id, "-o", str(out)]) == 0
    assert _lines(out) == _lines(run.folder / "training.jsonl")
    assert "training records of 1 run(s)" in capsys.readouterr().err
    with open_store(home=home) as store:
        store.create_batch("b1", {"jobs": 1})
        store.upsert_job("b1", "job-1", run_id=run.run_id, status="completed")
    bench = tmp_path / "bench.jsonl"
    assert main(["export", "--format", "benchmark", "--batch", "b1", "-o", str(bench)]) == 0
    items = _lines(bench)
    assert items and {i["run_id"] for i in items} == {run.run_id}
    assert main(["export", "--format", "benchmark", "-o", str(bench)]) == 2
    assert "give a RUN_ID or --batch ID" in capsys.readouterr().err
