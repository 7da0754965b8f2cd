"""Ids in answers: the schema sent lists them, names map to them, the rest is re-asked."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pydantic import SecretStr

import timepoint as tp
from timepoint.llm.base import ActionType, Completion, Message, Request
from timepoint.llm.drafts import DialogDraft, EventDraft
from timepoint.llm.grounding import Ref, Resolver, grounded, review, settle
from timepoint.llm.offline import OfflineModel
from timepoint.llm.task_data import read_task_data
from timepoint.llm.testing import ScriptedModel
from timepoint.settings import Settings

from .conftest import JEFFERSON
from .llm_stub_server import StubServer
from .test_engine_http_run import scenario_aware_answer

ENTITIES = {
    "madison": "James Madison",
    "hamilton": "Alexander Hamilton",
    "jefferson": "Thomas Jefferson",
}
FACTS = {"f_1": "The debts of the states are unpaid", "f_2": "The capital is undecided"}


def _turn(speaker: str, refs: list[str] | None = None) -> dict[str, Any]:
    return {"speaker": speaker, "text": "Words.", "knowledge_refs": refs or []}


def test_the_schema_sent_lists_the_ids_present_under_the_same_name():
    schema = grounded(DialogDraft, entities=ENTITIES, facts=FACTS)
    sent = schema.model_json_schema()
    turn = sent["$defs"]["TurnDraft"]["properties"]
    assert schema.__name__ == "DialogDraft" and issubclass(schema, DialogDraft)
    assert turn["speaker"]["enum"] == list(ENTITIES)
    assert turn["knowledge_refs"]["items"]["enum"] == list(FACTS)
    event = grounded(EventDraft, entities=ENTITIES).model_json_schema()
    assert event["properties"]["present"]["items"]["enum"] == list(ENTITIES)
    assert (
        "enum" not in DialogDraft.model_json_schema()["$defs"]["TurnDraft"]["properties"]["speaker"]
    )


def test_unambiguous_names_map_to_ids_and_ambiguous_ones_do_not():
    people = {**ENTITIES, "john_adams": "John Adams", "abigail_adams": "Abigail Adams"}
    resolve = Resolver(people, Ref.ENTITY)
    assert resolve("James Madison") == "madison"
    assert resolve("Madison") == "madison"
    assert resolve("Mr. Hamilton") == "hamilton"
    assert resolve("Jefferson (jefferson)") == "jefferson"
    assert resolve("john adams") == "john_adams"
    assert resolve("Adams") is None, "two Adamses: ambiguous"
    assert resolve("Benjamin Franklin") is None
    facts = Resolver(FACTS, Ref.FACT)
    assert facts("[f_2]") == "f_2"
    assert facts("the capital is undecided.") == "f_2"
    assert facts("capital") is None, "a fact is never matched word by word"


def test_review_maps_names_and_drops_what_names_nothing():
    schema = grounded(DialogDraft, entities=ENTITIES, facts=FACTS)
    answer = schema.model_validate(
        {"turns": [_turn("James Madison", ["f_1", "f_9"]), _turn("Franklin"), _turn("Hamilton")]}
    )
    _, mapped, issues = review(answer)
    assert mapped == 2 and [i.path for i in issues] == [
        "turns[0].knowledge_refs[1]",
        "turns[1].speaker",
    ]
    pruned, _, dropped = review(answer, drop=True)
    assert [t.speaker for t in pruned.turns] == ["madison", "hamilton"]
    assert pruned.turns[0].knowledge_refs == ["f_1"]
    assert {i.dropped for i in dropped} == {"the id from the list", "the item it belongs to"}
    assert isinstance(pruned, DialogDraft)


def _request() -> Request:
    schema = grounded(DialogDraft, entities=ENTITIES, facts=FACTS)
    return Request(
        messages=(Message(role="user", content="Write the dialog."),),
        action=ActionType.DIALOG_SYNTHESIS,
        output_schema=schema,
    )


def _answer(turns: list[dict[str, Any]]) -> Callable[[Request], Completion]:
    def complete(request: Request) -> Completion:
        text = json.dumps({"turns": turns})
        parsed = request.output_schema.model_validate_json(text)  # type: ignore[union-attr]
        return Completion(text=text, parsed=parsed, model="m", provider="p")

    return complete


def test_settle_reasks_once_with_the_values_and_the_ids_allowed_then_drops():
    model = ScriptedModel(
        [
            _answer([_turn("Franklin"), _turn("madison")]),
            _answer([_turn("Franklin"), _turn("Hamilton")]),
        ]
    )
    settled = settle(model.complete, _request())
    assert model.calls == 2
    reask = model.requests[1].messages[-1].content
    assert "turns[0].speaker: 'Franklin'" in reask and "madison, hamilton, jefferson" in reask
    assert settled.reasked == 1 and settled.mapped == 1
    assert [t.speaker for t in settled.parsed.turns] == ["hamilton"]
    assert [i.value for i in settled.dropped] == ["Franklin"]


def test_settle_keeps_a_repaired_answer_without_drops():
    model = ScriptedModel([_answer([_turn("Franklin")]), _answer([_turn("jefferson")])])
    settled = settle(model.complete, _request())
    assert [t.speaker for t in settled.parsed.turns] == ["jefferson"] and not settled.dropped


# -- whole runs ----------------------------------------------------------------------------


def _dialog_rewriter(rewrite: Callable[[int, dict[str, Any]], str]) -> ScriptedModel:
    """The offline model, with turn ``i``'s speaker rewritten as ``rewrite(i, participant)``."""
    offline = OfflineModel(seed=0)

    def answer(request: Request) -> Completion:
        completion = offline.complete(request)
        if request.action is not ActionType.DIALOG_SYNTHESIS:
            return completion
        data = read_task_data(request.messages)
        people = {p["id"]: p for p in data.data["participants"]} if data else {}
        payload = json.loads(completion.text)
        for index, turn in enumerate(payload["turns"]):
            turn["speaker"] = rewrite(index, people[turn["speaker"]])
        return completion.model_copy(update={"text": json.dumps(payload), "parsed": None})

    return ScriptedModel([answer], repeat_last=True, provider="offline-rewritten")


def _m11(record: Any) -> Any:
    return next(e for e in record.mechanisms if e.mechanism == "M11")


def test_display_names_as_speakers_keep_their_turns(settings):
    model = _dialog_rewriter(lambda index, person: person["name"])
    record = tp.run(JEFFERSON, settings=settings, model=model).record
    assert record.dialogs and all(d.turns for d in record.dialogs)
    assert all(t.speaker in d.participants for d in record.dialogs for t in d.turns)
    turns = sum(len(d.turns) for d in record.dialogs)
    assert _m11(record).counts["names mapped to ids"] == turns
    assert not [v for v in record.validation if v.validator in ("grounded_ids", "dialog_turns")]


def test_an_unmappable_speaker_is_reasked_then_dropped_and_recorded(settings):
    model = _dialog_rewriter(lambda i, person: "Benjamin Franklin" if i == 0 else person["id"])
    record = tp.run(JEFFERSON, settings=settings, model=model).record
    reasks = [r for r in model.requests if "name no id this request" in r.messages[-1].content]
    assert len(reasks) >= len(record.dialogs), "each unmappable speaker was asked about again"
    assert "'Benjamin Franklin'" in reasks[0].messages[-1].content
    dropped = [v for v in record.validation if v.validator == "grounded_ids"]
    assert len(dropped) == len(record.dialogs) and not any(v.ok for v in dropped)
    assert all("'Benjamin Franklin'" in v.message for v in dropped)
    assert all(v.target.endswith("#turns[0].speaker") for v in dropped)
    assert _m11(record).counts["ids dropped"] == len(dropped)
    assert all(d.turns for d in record.dialogs), "only the bad turn is dropped"


def test_a_dialog_whose_every_turn_is_dropped_fails_validation(settings):
    model = _dialog_rewriter(lambda index, person: "Nobody In Particular")
    record = tp.run(JEFFERSON, settings=settings, model=model).record
    assert record.dialogs and all(not d.turns for d in record.dialogs)
    empty = [v for v in record.validation if v.validator == "dialog_turns"]
    assert len(empty) == len(record.dialogs) and not any(v.ok for v in empty)
    m11 = _m11(record)
    assert m11.counts["empty dialogs"] == len(record.dialogs)
    assert "dialogs" not in m11.counts and "empty dialogs" in m11.summary


def test_the_endpoint_receives_id_enums_and_percentages(tmp_path):
    with StubServer(default=scenario_aware_answer) as server:
        settings = Settings(home=tmp_path / "runs", base_url=server.url, api_key=SecretStr("k"))
        record = tp.run(JEFFERSON, settings=settings).record
        schemas = {
            r.body["response_format"]["json_schema"]["name"]: r.body["response_format"][
                "json_schema"
            ]
            for r in server.requests
            if r.response_format == "json_schema"
        }
    speakers = schemas["DialogDraft"]["schema"]["$defs"]["TurnDraft"]["properties"]["speaker"]
    assert set(speakers["enum"]) <= {e.id for e in record.entities}
    event = schemas["EventDraft"]["schema"]["properties"]
    assert event["importance"]["type"] == "integer" and event["importance"]["enum"] == list(
        range(101)
    )
    assert set(event["present"]["items"]["enum"]) == {e.id for e in record.entities}
    assert all(0 <= t.importance <= 1 for t in record.timepoints)


def test_events_keep_present_entities_written_as_names(settings):
    offline = OfflineModel(seed=0)

    def answer(request: Request) -> Completion:
        completion = offline.complete(request)
        if request.action is not ActionType.TEMPORAL_REASONING:
            return completion
        data = read_task_data(request.messages)
        names = {c["id"]: c["name"] for c in data.data["candidates"]} if data else {}
        payload = json.loads(completion.text)
        payload["present"] = [names[p] for p in payload["present"]] + ["Benjamin Franklin"]
        return completion.model_copy(update={"text": json.dumps(payload), "parsed": None})

    model = ScriptedModel([answer], repeat_last=True, provider="offline-rewritten")
    record = tp.run(JEFFERSON, settings=settings, model=model).record
    ids = {e.id for e in record.entities}
    assert all(t.entities_present and set(t.entities_present) <= ids for t in record.timepoints)
    dropped = [v for v in record.validation if v.validator == "grounded_ids"]
    assert len(dropped) == len(record.timepoints)
    assert all(
        v.target.startswith("event:") and "'Benjamin Franklin'" in v.message for v in dropped
    )
    m7 = next(e for e in record.mechanisms if e.mechanism == "M7")
    assert m7.counts["ids dropped"] == len(record.timepoints)
    assert m7.counts["names mapped to ids"] >= len(record.timepoints)


def test_other_id_fields_map_or_drop_their_item():
    from timepoint.synthesis.prospection import ProspectionDraft
    from timepoint.time.modes.portal_drafts import CandidateSet

    schema = grounded(ProspectionDraft, entities=ENTITIES, facts=FACTS)
    subject = schema.model_json_schema()["$defs"]["ExpectationDraft"]["properties"]["subject"]
    assert set(subject["enum"]) == {*ENTITIES, *FACTS, ""}
    expectation = {"event": "x", "kind": "speaks", "probability": 50}
    answer = schema.model_validate(
        {
            "expectations": [
                {**expectation, "subject": "Alexander Hamilton"},
                {**expectation, "subject": "the weather"},
                {**expectation, "kind": "tension_rises"},
            ]
        }
    )
    kept, mapped, dropped = review(answer, drop=True)
    assert [e.subject for e in kept.expectations] == ["hamilton", ""] and mapped == 1
    assert [d.path for d in dropped] == ["expectations[1].subject"]

    candidates = grounded(CandidateSet, entities=ENTITIES)
    changes = candidates.model_json_schema()["$defs"]["StateCandidate"]["properties"]
    assert set(changes["entity_changes"]["properties"]) == set(ENTITIES)
    assert changes["entity_changes"]["additionalProperties"] is False
    state = {"description": "d", "key_events": ["e"]}
    answer = candidates.model_validate(
        {"candidates": [{**state, "entity_changes": {"Madison": "wins", "Burr": "loses"}}]}
    )
    kept, _, dropped = review(answer, drop=True)
    assert kept.candidates[0].entity_changes == {"madison": "wins"}
    assert [d.value for d in dropped] == ["Burr"]
