"""Structured output: tolerant extraction, validation, re-asks, and no silent defaults."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from tests.llm_stub_server import StubServer, chat
from timepoint.errors import StructuredOutputError
from timepoint.llm.base import Completion, Message, Request
from timepoint.llm.json_extract import ExtractionError, extract_json, parse_as
from timepoint.llm.meter import MeteredModel
from timepoint.llm.openai_compat import OpenAICompatibleModel
from timepoint.llm.retry import RetryingModel
from timepoint.llm.structured import StructuredModel
from timepoint.llm.testing import ScriptedModel


class Turn(BaseModel):
    speaker: str
    text: str


class Person(BaseModel):
    name: str
    age: int


def ask(schema: type[BaseModel] | None = Turn) -> Request:
    return Request(
        messages=(Message(role="user", content="Madison speaks."),),
        output_schema=schema,
        model="llama-3.1-70b",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('Sure! Here it is:\n```json\n{"a": [1, 2]}\n```\nAnything else?', {"a": [1, 2]}),
        ('The answer [see below]: {"a": "x"} -- done', {"a": "x"}),
        ('{"a": "line one\nline two"}', {"a": "line one\nline two"}),
        ('{"a": [1, 2,], "b": {"c": 3,},}', {"a": [1, 2], "b": {"c": 3}}),
        ('{"a": "brace } and bracket ] in a string"}', {"a": "brace } and bracket ] in a string"}),
        ('{"a": "escaped \\" quote"}', {"a": 'escaped " quote'}),
        ("[1, 2, 3]", [1, 2, 3]),
    ],
)
def test_extract_json_tolerates_common_model_habits(text: str, expected: object) -> None:
    assert extract_json(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"speaker": "madison", "text": "We must', "incomplete"),
        ('{"speaker": "madison", "turns": [1, 2', "incomplete"),
        ("I cannot answer that.", "no JSON"),
        ('{"a": 1, b: 2, "c": {"d": 1}}', "does not parse"),
    ],
)
def test_extract_json_reports_truncated_and_broken_answers(text: str, reason: str) -> None:
    with pytest.raises(ExtractionError, match=reason):
        extract_json(text)


def test_parse_as_names_the_field_and_the_received_value() -> None:
    parsed, problems = parse_as(Person, '{"name": "Madison", "age": "thirty-nine"}')
    assert parsed is None
    assert problems == [
        "age: Input should be a valid integer, unable to parse string as an integer "
        "(received 'thirty-nine')"
    ]


def test_missing_fields_are_errors_not_defaults() -> None:
    model = ScriptedModel(['{"speaker": "madison"}'], repeat_last=True)
    with pytest.raises(StructuredOutputError) as caught:
        StructuredModel(model, max_reasks=1).complete(ask())
    assert model.calls == 2
    assert caught.value.problems == ["text: Field required (received {'speaker': 'madison'})"]  # type: ignore[attr-defined]
    assert "Turn" in str(caught.value)


def test_invalid_json_then_valid_json_reasks_with_the_errors_and_meters_both() -> None:
    records: list = []
    with StubServer() as server:
        server.push(
            chat("Madison says: we need a capital on the Potomac."),
            chat('{"speaker": "madison", "text": "A capital on the Potomac."}', 20, 10),
        )
        provider = OpenAICompatibleModel(server.url, "k")
        model = StructuredModel(RetryingModel(MeteredModel(provider, on_record=records)))
        completion = model.complete(ask())
    assert completion.parsed == Turn(speaker="madison", text="A capital on the Potomac.")
    assert completion.attempts == 2
    assert completion.usage.completion_tokens == 15
    reask = server.requests[1].body["messages"]
    assert reask[-2] == {
        "role": "assistant",
        "content": "Madison says: we need a capital on the Potomac.",
    }
    assert reask[-1]["role"] == "user" and "no JSON object" in reask[-1]["content"]
    assert [r.outcome for r in records] == ["invalid", "ok"]
    assert "no JSON object" in records[0].error


def test_raw_newline_inside_a_string_is_accepted_without_reask() -> None:
    with StubServer() as server:
        server.push(chat('{"speaker": "hamilton", "text": "First.\nSecond."}'))
        model = StructuredModel(OpenAICompatibleModel(server.url, "k"))
        completion = model.complete(ask())
    assert completion.parsed == Turn(speaker="hamilton", text="First.\nSecond.")
    assert server.count == 1


def test_answer_truncated_at_max_tokens_is_asked_again_with_more_tokens() -> None:
    with StubServer() as server:
        server.push(
            chat('{"speaker": "jefferson", "text": "Gentlemen, the debt', finish_reason="length"),
            chat('{"speaker": "jefferson", "text": "Gentlemen."}'),
        )
        model = StructuredModel(OpenAICompatibleModel(server.url, "k"))
        completion = model.complete(ask())
    assert completion.parsed == Turn(speaker="jefferson", text="Gentlemen.")
    first, second = (r.body for r in server.requests)
    assert second["messages"] == first["messages"]
    assert second["max_tokens"] == 2 * first["max_tokens"]


def test_answer_truncated_when_max_tokens_cannot_grow_is_reasked() -> None:
    with StubServer() as server:
        server.push(
            chat('{"speaker": "jefferson", "text": "Gentlemen, the debt', finish_reason="length"),
            chat('{"speaker": "jefferson", "text": "Gentlemen."}'),
        )
        model = StructuredModel(OpenAICompatibleModel(server.url, "k"), max_raises=0)
        completion = model.complete(ask())
    assert completion.parsed == Turn(speaker="jefferson", text="Gentlemen.")
    assert "incomplete" in server.requests[1].body["messages"][-1]["content"]


def test_gives_up_after_max_reasks() -> None:
    model = ScriptedModel(["nope"], repeat_last=True)
    with pytest.raises(StructuredOutputError, match="3 answers"):
        StructuredModel(model, max_reasks=2).complete(ask())
    assert model.calls == 3


def test_already_parsed_completion_of_the_right_type_is_accepted() -> None:
    ready = Completion(
        text="(composed offline)",
        parsed=Turn(speaker="madison", text="Agreed."),
        model="offline-composer",
        provider="offline",
    )
    wrong = Completion(
        text='{"speaker": "a", "text": "b"}',
        parsed=Person(name="x", age=1),
        model="m",
        provider="p",
    )
    assert StructuredModel(ScriptedModel([ready])).complete(ask()).parsed == ready.parsed
    assert StructuredModel(ScriptedModel([wrong])).complete(ask()).parsed == Turn(
        speaker="a", text="b"
    )


def test_requests_without_schema_pass_through_untouched() -> None:
    model = ScriptedModel(["free text"])
    completion = StructuredModel(model).complete(ask(schema=None))
    assert completion.text == "free text" and completion.parsed is None


def test_an_unvalidated_answer_is_a_clear_error_not_an_assertion():
    from pydantic import BaseModel

    from timepoint.errors import StructuredOutputError, TimepointError
    from timepoint.llm.structured import expect_answer

    class Verdict(BaseModel):
        ok: bool

    assert expect_answer(Verdict(ok=True), Verdict) == Verdict(ok=True)
    with pytest.raises(StructuredOutputError, match="expected a validated Verdict answer, got Non"):
        expect_answer(None, Verdict)
    assert issubclass(StructuredOutputError, TimepointError)
