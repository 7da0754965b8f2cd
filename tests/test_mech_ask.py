"""M5 lazy resolution: questions are parsed, answered from knowledge valid at the time with
provenance, elevate only the cells they need, and are persisted with their on-demand tokens."""

from __future__ import annotations

import json

import pytest

import timepoint as tp
from timepoint.cli import main
from timepoint.knowledge.provenance import KnowledgeQueryError
from timepoint.knowledge.question import find_timepoint, parse_question, question_kind
from timepoint.report import tables
from timepoint.report.narrative import narrative_markdown
from timepoint.report.records import spend_line
from timepoint.scenario.schema import Scenario
from timepoint.settings import Settings
from timepoint.world import ExposureKind, ResolutionLevel

from .conftest import JEFFERSON


def salon_scenario() -> Scenario:
    """Five entities: two primaries, a secondary and two background figures (one rarely there)."""
    return Scenario.model_validate(
        {
            "id": "salon",
            "title": "The Salon Wager",
            "description": "Ada and Charles debate the engine before patrons of the salon.",
            "entities": {
                "count": 5,
                "roster": [
                    {
                        "id": "ada",
                        "name": "Ada Lovelace",
                        "role": "primary",
                        "knowledge": [
                            "The engine can compute Bernoulli numbers",
                            "Lord Byron's estate funds Ada's research",
                        ],
                    },
                    {
                        "id": "charles",
                        "name": "Charles Babbage",
                        "role": "primary",
                        "knowledge": [
                            "The Treasury withdrew funding for the Difference Engine",
                            "The Analytical Engine uses punched cards",
                        ],
                    },
                    {
                        "id": "mary",
                        "name": "Mary Somerville",
                        "role": "secondary",
                        "knowledge": ["Mary translated Laplace's celestial mechanics"],
                    },
                    {
                        "id": "footman",
                        "name": "The Footman",
                        "role": "background",
                        "knowledge": ["The carriages are ordered for ten o'clock"],
                    },
                    {
                        "id": "critic",
                        "name": "Dionysius Lardner",
                        "role": "background",
                        "knowledge": ["Lardner doubts the engine will ever be finished"],
                    },
                ],
                "relations": [{"a": "ada", "b": "charles", "kind": "friend"}],
            },
            "timepoints": {
                "count": 3,
                "location": "Babbage's salon, Dorset Street",
                "start": "1843-06-05T20:00:00+00:00",
            },
            "fidelity": {"template": "balanced"},
        }
    )


@pytest.fixture(scope="module")
def jefferson(tmp_path_factory):
    settings = Settings(home=tmp_path_factory.mktemp("ask") / "runs")
    return tp.run(JEFFERSON, settings=settings)


@pytest.mark.parametrize(
    ("question", "kind", "entities", "timepoint"),
    [
        (
            "What did Madison know before the dinner, and from whom?",
            "provenance",
            ["madison"],
            None,
        ),
        ("What did Hamilton say at the second timepoint?", "said", ["hamilton"], "tp_001"),
        ("Who knew about the Potomac at tp_002?", "who_knew", [], "tp_002"),
        ("How did Jefferson feel at the end?", "feeling", ["jefferson"], "tp_002"),
        (
            "What is the relationship between Hamilton and Madison?",
            "relationship",
            ["hamilton", "madison"],
            "tp_002",
        ),
        ("What did Madison know after the first timepoint?", "knowledge", ["madison"], "tp_001"),
        (
            "What did James Madison know before the third moment?",
            "knowledge",
            ["madison"],
            "tp_001",
        ),
        ("What did jefferson see at the start?", "witnessed", ["jefferson"], "tp_000"),
    ],
)
def test_questions_are_parsed_into_entity_timepoint_and_kind(
    jefferson, question, kind, entities, timepoint
):
    record = jefferson.record
    parsed = parse_question(question, {e.id: e for e in record.entities}, record.timepoints)
    assert (parsed.kind, parsed.entity_ids, parsed.timepoint_id) == (kind, entities, timepoint)
    assert parsed.new_entities == []


def test_question_kind_defaults_to_general_and_unknown_time_to_the_last_moment(jefferson):
    assert question_kind("Tell me about Hamilton") == "general"
    assert find_timepoint("Tell me about Hamilton", jefferson.record.timepoints) == (
        "tp_002",
        False,
    )


def test_answer_cites_knowledge_valid_at_the_time_with_the_provenance_of_each_fact(jefferson):
    generation = jefferson.record.usage.generation_tokens
    answer = jefferson.ask("What did Madison know before the dinner, and from whom?")
    initial = {
        e.fact_id: e
        for e in jefferson.record.exposures
        if e.entity_id == "madison" and e.kind is ExposureKind.INITIAL
    }
    assert answer.kind == "provenance" and answer.timepoint_id is None
    assert answer.citations and set(answer.citations) <= set(initial)
    for fact_id in answer.citations:
        assert initial[fact_id].fact_text.rstrip(".") in answer.text
        assert f"[{fact_id}] something they knew from the outset" in answer.text
    assert answer.elevated == []
    usage = jefferson.record.usage
    assert usage.generation_tokens == generation
    assert answer.tokens > 0 and usage.on_demand_tokens >= answer.tokens


def test_answer_at_a_later_moment_names_who_told_what(jefferson):
    answer = jefferson.ask("What did Madison know at tp_002?")
    told = {
        e.fact_id: e
        for e in jefferson.knowledge_at("madison", "tp_002")
        if e.kind is ExposureKind.TOLD
    }
    names = {e.id: e.name for e in jefferson.record.entities}
    cited_told = [f for f in answer.citations if f in told]
    assert cited_told, "dialog taught Madison something by tp_002"
    for fact_id in cited_told:
        assert (
            f"told by {names[told[fact_id].source]} at {told[fact_id].timepoint_id}" in answer.text
        )
    early = jefferson.ask("What did Madison know at tp_000?")
    held_then = {e.fact_id for e in jefferson.knowledge_at("madison", "tp_000")}
    assert early.citations and set(early.citations) <= held_then


def test_answers_and_on_demand_calls_are_persisted_to_folder_and_store(jefferson, tmp_path):
    jefferson.ask("What did Hamilton say at the second timepoint?")
    folder = jefferson.folder
    on_disk = json.loads((folder / "run.json").read_text())
    assert [a["question"] for a in on_disk["answers"]] == [
        a.question for a in jefferson.record.answers
    ]
    calls = [json.loads(line) for line in (folder / "llm_calls.jsonl").read_text().splitlines()]
    assert len(calls) == on_disk["usage"]["calls"]
    on_demand = [c for c in calls if c["on_demand"]]
    assert (
        sum(c["prompt_tokens"] + c["completion_tokens"] for c in on_demand)
        == (on_disk["usage"]["on_demand_tokens"])
    )
    seqs = [c["seq"] for c in calls]
    assert seqs == sorted(set(seqs)), "appended calls continue the run's sequence"
    reloaded = tp.load_run(jefferson.run_id, settings=jefferson.settings)
    assert len(reloaded.record.answers) == len(jefferson.record.answers)
    assert len(jefferson.store.calls(jefferson.run_id)) == len(calls)
    assert not list(folder.glob(".*.partial"))


def test_a_question_elevates_only_the_cell_it_needs(tmp_path):
    # without M2, no cell is elevated during the run, so the critic stays where it was planned
    salon = salon_scenario().with_overrides({"mechanisms.disabled": ["m2"]})
    run = tp.run(salon, settings=Settings(home=tmp_path / "runs"))
    before = {(c.entity_id, c.timepoint_id): c.resolution for c in run.record.fidelity}
    assert before[("critic", "tp_000")] is ResolutionLevel.GRAPH
    answer = run.ask("What did Dionysius Lardner say at the first timepoint?")
    assert answer.kind == "said" and answer.entity_id == "critic"
    assert answer.elevated == ["critic@tp_000: graph→dialog"]
    after = {(c.entity_id, c.timepoint_id): c.resolution for c in run.record.fidelity}
    assert after[("critic", "tp_000")] is ResolutionLevel.DIALOG
    assert {k: v for k, v in after.items() if k != ("critic", "tp_000")} == {
        k: v for k, v in before.items() if k != ("critic", "tp_000")
    }
    learned = [
        e
        for e in run.record.exposures
        if e.entity_id == "critic" and e.source == "elevation" and e.timepoint_id == "tp_000"
    ]
    assert learned and all(e.kind is ExposureKind.LEARNED for e in learned)
    elevation = run.record.evidence.training[-1]
    assert elevation.on_demand and elevation.cell_before is ResolutionLevel.GRAPH
    assert run.record.usage.on_demand_tokens == answer.tokens
    ledger = {e.mechanism: e.counts for e in run.record.mechanisms}
    assert ledger["M5"]["cells elevated"] == 1 and ledger["M5"]["questions answered"] == 1
    again = run.ask("What did Dionysius Lardner say at the first timepoint?")
    assert again.elevated == [] and again.tokens < answer.tokens


def test_queries_are_counted_on_the_entity(jefferson):
    count = next(e for e in jefferson.record.entities if e.id == "jefferson").metadata.query_count
    jefferson.ask("How did Jefferson feel at the end?")
    entity = next(e for e in jefferson.record.entities if e.id == "jefferson")
    assert entity.metadata.query_count == count + 1
    assert entity.metadata.last_accessed is not None


def test_a_question_naming_nobody_is_a_clear_error(jefferson):
    with pytest.raises(KnowledgeQueryError, match=r"names no entity.*hamilton, jefferson, madison"):
        jefferson.ask("What did Lafayette know?")


def test_cli_ask_prints_the_answer_and_records_it(jefferson, monkeypatch, capsys):
    monkeypatch.setenv("TIMEPOINT_HOME", str(jefferson.settings.home))
    monkeypatch.delenv("TIMEPOINT_DB_URL", raising=False)
    count = len(jefferson.record.answers)
    assert main(["ask", jefferson.run_id[:15], "Who knew about the Potomac at tp_002?"]) == 0
    out = capsys.readouterr().out
    assert "[who_knew]" in out and "Potomac" in out
    assert len(tp.load_run(jefferson.run_id, settings=jefferson.settings).record.answers) == (
        count + 1
    )
    assert main(["ask", jefferson.run_id, "What did Lafayette know?"]) == 2


def test_questions_are_shown_apart_from_the_runs_own_generation(tmp_path):
    run = tp.run(JEFFERSON, settings=Settings(home=tmp_path / "runs"))
    generated = run.record.usage
    header = tables.header_markdown(run)
    assert f"in {generated.calls} calls" in header and "on demand" not in header
    run.ask("What did Madison know at tp_001, and from whom?")
    run.ask("What did Hamilton say at the second timepoint?")
    usage = run.record.usage
    assert usage.calls - usage.on_demand_calls == generated.calls
    assert usage.on_demand_calls > 0 and usage.generation_tokens == generated.generation_tokens
    line = spend_line(run.record)
    assert line.startswith(f"{generated.prompt_tokens + generated.completion_tokens:,} tokens in ")
    assert f"in {generated.calls} calls" in line
    assert f"plus {usage.on_demand_tokens:,} tokens in {usage.on_demand_calls} calls" in line
    assert line.endswith("on demand (2 questions)")
    assert line in tables.header_markdown(run)
    assert line in narrative_markdown(run.record)
    calls = run.store.calls(run.run_id)
    assert sum(c.on_demand for c in calls) == usage.on_demand_calls
