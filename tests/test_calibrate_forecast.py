"""Outcome extractors on real offline runs, model-judged outcomes recorded as calls, and
forecasts from ensemble batches stored with their runs."""

from __future__ import annotations

import json
import re
from functools import partial

import pytest
import yaml

import timepoint as tp
from timepoint.batch.testing import PricedOfflineModel
from timepoint.calibrate.extractors import extract_rule
from timepoint.calibrate.forecast import forecast_history, forecast_many
from timepoint.calibrate.judge import extract
from timepoint.calibrate.questions import load_questions
from timepoint.calibrate.resolve import resolve
from timepoint.commands.offline_server import offline_server
from timepoint.errors import CalibrationError
from timepoint.llm.offline import OfflineModel
from timepoint.llm.openai_compat import OpenAICompatibleModel
from timepoint.store import open_store

from .llm_stub_server import StubServer, chat
from .test_batch_specs import TINY, priced_settings

PLANTED = TINY["description"] + " Question syn-7 hangs over them."


def questions(tmp_path, *items: dict):
    (tmp_path / "well.yaml").write_text(yaml.safe_dump({**TINY, "description": PLANTED}))
    path = tmp_path / "set.yaml"
    base = {"question": "Does the well run dry?", "scenario": "well.yaml"}
    path.write_text(yaml.safe_dump({"id": "wells", "questions": [{**base, **q} for q in items]}))
    return load_questions(path)


@pytest.fixture
def well_run(tmp_path, settings):
    (tmp_path / "plain.yaml").write_text(yaml.safe_dump({**TINY, "timepoints": {"count": 2}}))
    return tp.run(tmp_path / "plain.yaml", settings=settings)


@pytest.mark.parametrize(
    ("outcome", "expected", "evidence"),
    [
        ({"kind": "event", "pattern": "gather at"}, True, "tp_000"),
        ({"kind": "event", "pattern": "a dragon"}, False, "tp_001"),
        ({"kind": "event", "pattern": "pressed", "by": "tp_000"}, False, "tp_000"),
        ({"kind": "knows", "entity": "Bo", "fact": "well is dry"}, True, "tp_000"),
        ({"kind": "knows", "entity": "cy", "fact": "dragon"}, False, None),
        ({"kind": "threshold", "quantity": "scene.tension", "below": 0.9}, True, "tp_000"),
        (
            {"kind": "threshold", "quantity": "relationship.bo.ada.trust", "above": 0.99},
            False,
            "tp_001",
        ),
        ({"kind": "threshold", "quantity": "entity.ada.cognitive.energy", "above": 1}, True, None),
        ({"kind": "path", "pattern": "gather"}, True, "tp_000"),
        ({"kind": "path", "pattern": "gather", "min_score": 0.5}, False, "tp_000"),
    ],
)
def test_rule_extractors_read_the_run_record(tmp_path, well_run, outcome, expected, evidence):
    (question,) = questions(tmp_path, {"id": "q", "outcome": outcome}).questions
    found = extract_rule(well_run.record, question)
    assert (found.outcome, found.evidence.timepoint_id) == (expected, evidence)
    assert found.kind == outcome["kind"] and found.run_id == well_run.run_id
    assert found.evidence.text
    if outcome["kind"] == "knows" and expected:
        assert found.evidence.fact_id and "told from ada" in found.evidence.text


def test_extractors_refuse_what_the_run_lacks(tmp_path, well_run):
    bad = [
        {"id": "a", "outcome": {"kind": "event", "pattern": "x", "by": "tp_009"}},
        {"id": "b", "outcome": {"kind": "knows", "entity": "zed", "fact": "x"}},
        {"id": "c", "outcome": {"kind": "threshold", "quantity": "scene.mood", "above": 1}},
    ]
    messages = ["'tp_009' is not a timepoint of run", "'zed' is no single entity", "'mood'"]
    for question, message in zip(questions(tmp_path, *bad).questions, messages, strict=True):
        with pytest.raises(CalibrationError, match=message):
            extract_rule(well_run.record, question)


def test_a_model_judged_outcome_is_a_recorded_call_with_evidence(tmp_path, well_run, settings):
    (question,) = questions(
        tmp_path, {"id": "j", "question": "Do Ada, Bo and Cy gather?", "outcome": {"kind": "judge"}}
    ).questions
    calls_before = well_run.record.usage.calls
    found = extract(tp.load_run(well_run.run_id, settings=settings), question, settings=settings)
    assert found.outcome is True and found.evidence.timepoint_id == "tp_000"
    stored = tp.load_run(well_run.run_id, settings=settings).record
    assert stored.usage.calls == calls_before + 1
    assert stored.usage.by_action["outcome_judgement"].calls == 1
    lines = (settings.home / well_run.run_id / "llm_calls.jsonl").read_text().splitlines()
    assert json.loads(lines[-1])["action"] == "outcome_judgement"


def test_a_judge_over_http_answers_as_the_embedded_one(tmp_path, well_run, settings):
    (question,) = questions(
        tmp_path, {"id": "j", "question": "Do Ada, Bo and Cy gather?", "outcome": {"kind": "judge"}}
    ).questions
    embedded = extract(tp.load_run(well_run.run_id, settings=settings), question)
    with (
        offline_server() as endpoint,
        OpenAICompatibleModel(endpoint.url, "k", default_model="offline-composer") as client,
    ):
        served = extract(tp.load_run(well_run.run_id, settings=settings), question, model=client)
    assert (served.outcome, served.evidence) == (embedded.outcome, embedded.evidence)
    stored = tp.load_run(well_run.run_id, settings=settings).record
    assert stored.usage.by_action["outcome_judgement"].calls == 2


def test_planted_outcomes_reach_the_record_only_through_the_prompt(tmp_path, settings):
    (tmp_path / "planted.yaml").write_text(yaml.safe_dump({**TINY, "description": PLANTED}))
    always = OfflineModel(outcomes={"syn-7": 1.0, "syn-70": 0.0})
    event = tp.run(tmp_path / "planted.yaml", model=always, settings=settings).record
    assert event.timepoints[-1].event.endswith("Outcome syn-7: yes.")
    assert "syn-70" not in event.timepoints[-1].event  # the scenario does not mention it
    never = OfflineModel(outcomes={"syn-7": 0.0})
    plain = tp.run(tmp_path / "planted.yaml", model=never, settings=settings, seed=3).record
    assert plain.timepoints[-1].event.endswith("Outcome syn-7: no.")


def test_forecasts_come_from_one_batch_and_are_stored_with_their_runs(tmp_path, settings):
    loaded = questions(
        tmp_path,
        {"id": "syn-7", "outcome": {"kind": "event", "pattern": "Outcome syn-7: yes"}},
        {"id": "gather", "outcome": {"kind": "event", "pattern": "gather at"}},
    )
    planted = partial(OfflineModel, outcomes={"syn-7": 0.5})
    first, second = forecast_many(
        loaded.questions, n=6, settings=settings, model=planted, level=0.8
    )
    assert first.batch_id == second.batch_id and first.run_ids == second.run_ids  # shared runs
    assert (first.runs, second.yes_runs, second.probability) == (6, 6, 1.0)
    assert first.probability == first.yes_runs / 6
    assert first.smoothed == pytest.approx((first.yes_runs + 0.5) / 7)
    assert first.lower <= first.probability <= first.upper and first.level == 0.8
    assert "from" in first.describe()
    store = open_store(settings.db_url, home=settings.home)
    (history,) = forecast_history("syn-7", store=store)
    assert history.run_ids == first.run_ids and history.extractions == first.extractions
    assert history.question_set == first.question_set == "wells"
    assert [e.outcome for e in history.extractions].count(True) == first.yes_runs
    rows = {r["question_id"]: r for r in store.questions("wells")}
    assert set(rows) == {"syn-7", "gather"} and rows["gather"]["extractor_json"]["kind"] == "event"
    for run_id in first.run_ids:
        assert store.load_run(run_id).status == "completed"


def test_a_forecast_needs_runs(tmp_path, settings):
    outcome = {"kind": "event", "pattern": "x"}
    (question,) = questions(tmp_path, {"id": "q", "outcome": outcome}).questions
    with pytest.raises(CalibrationError, match="at least 1 run"):
        tp.forecast(question, n=0, settings=settings)


def test_questions_without_completed_runs_are_named_and_the_others_stored(tmp_path, settings):
    (tmp_path / "dear.yaml").write_text(yaml.safe_dump({**TINY, "budget": {"max_usd": 5.0}}))
    loaded = questions(
        tmp_path,
        {"id": "cheap", "outcome": {"kind": "event", "pattern": "gather"}},
        {"id": "dear", "scenario": "dear.yaml", "outcome": {"kind": "event", "pattern": "x"}},
    )
    with pytest.raises(CalibrationError, match=r"completed for dear \(0 failed, 2 skipped"):
        forecast_many(loaded.questions, n=2, budget_cap=1.0, settings=settings)
    store = open_store(settings.db_url, home=settings.home)
    assert [f["question_id"] for f in store.forecasts()] == ["cheap"]


def test_a_resumed_forecast_runs_only_the_jobs_that_did_not_finish(tmp_path, settings):
    (tmp_path / "dear.yaml").write_text(yaml.safe_dump({**TINY, "budget": {"max_usd": 5.0}}))
    loaded = questions(
        tmp_path,
        {"id": "cheap", "outcome": {"kind": "event", "pattern": "gather"}},
        {"id": "dear", "scenario": "dear.yaml", "outcome": {"kind": "event", "pattern": "gather"}},
    )
    with pytest.raises(CalibrationError, match=r"resume the batch \(resume='([^']+)'\)") as caught:
        forecast_many(loaded.questions, n=2, budget_cap=1.0, settings=settings)
    batch_id = re.search(r"resume='([^']+)'", str(caught.value)).group(1)
    store = open_store(settings.db_url, home=settings.home)
    before = {j["job_id"]: (j["status"], j["run_id"]) for j in store.jobs(batch_id)}
    assert sorted(status for status, _ in before.values()) == [
        "completed",
        "completed",
        "skipped",
        "skipped",
    ]
    runs_before = {s.run_id for s in store.list_runs()}
    assert len(runs_before) == 2

    cheap, dear = forecast_many(
        loaded.questions, n=2, budget_cap=20.0, settings=settings, resume=batch_id
    )
    assert cheap.batch_id == dear.batch_id == batch_id
    after = {j["job_id"]: (j["status"], j["run_id"]) for j in store.jobs(batch_id)}
    for job, (status, run_id) in before.items():
        if status == "completed":
            assert after[job] == (status, run_id)  # finished jobs are not run again
        else:
            assert after[job][0] == "completed" and after[job][1] not in runs_before
    assert set(cheap.run_ids) == runs_before and set(cheap.run_ids).isdisjoint(dear.run_ids)
    assert len({s.run_id for s in store.list_runs()}) == 4  # two new runs, not four
    assert [f["question_id"] for f in store.forecasts()] == ["cheap", "cheap", "dear"]


def test_a_priced_judge_call_is_charged_to_the_run_it_judges(tmp_path, settings):
    (question,) = questions(
        tmp_path, {"id": "j", "question": "Do Ada, Bo and Cy gather?", "outcome": {"kind": "judge"}}
    ).questions
    judgement = {"answer": "yes", "value": None, "moment": "tp_000", "reason": "they gather"}
    priced = chat(json.dumps(judgement), prompt_tokens=900, completion_tokens=60, cost=0.0125)
    with (
        StubServer(default=lambda _body: priced) as server,
        OpenAICompatibleModel(server.url, "k", default_model="stub-model") as judge_model,
    ):
        (found,) = forecast_many([question], n=2, settings=settings, judge_model=judge_model)
    assert len(server.requests) == 2 and found.yes_runs == 2  # one judge call per run
    store = open_store(settings.db_url, home=settings.home)
    for run_id in found.run_ids:
        record = store.load_run(run_id)
        judged = record.usage.by_action["outcome_judgement"]
        assert (judged.calls, judged.cost_usd) == (1, pytest.approx(0.0125))
        assert judged.prompt_tokens == 900 and judged.completion_tokens == 60
        assert record.usage.cost_usd == pytest.approx(0.0125)  # the offline run itself is free
        last = json.loads((settings.home / run_id / "llm_calls.jsonl").read_text().splitlines()[-1])
        assert (last["action"], last["cost_usd"]) == ("outcome_judgement", pytest.approx(0.0125))
        assert last["subject"] == "question:j"


def test_the_budget_cap_covers_the_batch_and_the_outcome_judgements(tmp_path):
    settings = priced_settings(tmp_path)
    (tmp_path / "well.yaml").write_text(
        yaml.safe_dump({**TINY, "models": {"model": "test-priced"}})
    )
    detail = " Read every moment and every turn before answering." * 30
    items = [
        {
            "id": f"j{n}",
            "question": f"Do Ada, Bo and Cy gather for the {n}th time?",
            "scenario": "well.yaml",
            "outcome": {"kind": "judge", "prompt": f"Do Ada, Bo and Cy gather ({n})?{detail}"},
        }
        for n in range(8)
    ]
    (tmp_path / "set.yaml").write_text(yaml.safe_dump({"id": "dear", "questions": items}))
    loaded = load_questions(tmp_path / "set.yaml")
    cap = 11.5
    with pytest.raises(CalibrationError, match="outcome judgements refused: forecast budget"):
        forecast_many(
            loaded.questions,
            n=3,
            budget_cap=cap,
            parallel_workers=1,
            model=PricedOfflineModel,
            judge_model=PricedOfflineModel(),
            settings=settings,
        )
    store = open_store(settings.db_url, home=settings.home)
    runs = [store.load_run(r.run_id) for r in store.list_runs()]
    judged = sum(r.usage.by_action["outcome_judgement"].calls for r in runs)
    assert len(runs) == 1 and 0 < judged < len(items)  # the cap stopped the judgements
    assert sum(r.usage.cost_usd for r in runs) <= cap
    forecasts = store.forecasts()
    assert len(forecasts) == judged and all(f["runs"] == 1 for f in forecasts)


def test_a_numeric_resolution_is_stored_with_its_number(tmp_path, settings):
    threshold = {"kind": "threshold", "quantity": "scene.tension", "above": 0.5}
    loaded = questions(
        tmp_path,
        {"id": "tense", "outcome": threshold, "resolution": 0.25},
        {"id": "gather", "outcome": {"kind": "event", "pattern": "gather"}, "resolution": "yes"},
        {"id": "open", "outcome": {"kind": "event", "pattern": "x"}},
    )
    store = open_store(settings.db_url, home=settings.home)
    resolve(loaded, store)
    rows = {r["question_id"]: r for r in store.questions("wells")}
    assert (rows["tense"]["resolution"], rows["tense"]["resolution_value"]) == (0.0, 0.25)
    assert (rows["gather"]["resolution"], rows["gather"]["resolution_value"]) == (1.0, None)
    assert (rows["open"]["resolution"], rows["open"]["resolution_value"]) == (None, None)


def test_a_question_id_another_set_holds_is_refused_before_anything_runs(tmp_path, settings):
    first = questions(tmp_path, {"id": "q1", "outcome": {"kind": "event", "pattern": "gather"}})
    store = open_store(settings.db_url, home=settings.home)
    resolve(first, store)
    text = (tmp_path / "set.yaml").read_text().replace("id: wells", "id: springs")
    (tmp_path / "other.yaml").write_text(text)
    second = load_questions(tmp_path / "other.yaml")
    with pytest.raises(CalibrationError, match=r"'q1' of set 'wells'.*rename it.*'springs-q1'"):
        forecast_many(second.questions, n=1, settings=settings, store=store)
    with pytest.raises(CalibrationError, match="rename it"):
        resolve(second, store)
    assert [r["question_set"] for r in store.questions()] == ["wells"]  # not overwritten
    assert store.list_runs() == []  # refused before the batch
