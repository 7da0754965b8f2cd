"""The structured-output dialect ladder against loopback servers that each honour one dialect.

Each server behaves like the real one it stands for: it refuses structured-output forms it does
not know with an HTTP error that mentions ``response_format``, silently ignores parameters it
does not know, and constrains its answer to the schema only when the schema arrives in its own
dialect (otherwise it answers in prose).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel

from tests.llm_stub_server import Reply, StubServer, chat, error
from timepoint.errors import StructuredOutputError
from timepoint.llm.base import Message, Request
from timepoint.llm.dialects import StructuredMode
from timepoint.llm.openai_compat import OpenAICompatibleModel
from timepoint.llm.structured import StructuredModel

M = StructuredMode


class Person(BaseModel):
    name: str
    age: int


def form_of(body: dict[str, Any]) -> str:
    """The structured-output form a request used."""
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return "json_schema"
    if fmt.get("type") == "json_object":
        return "json_object_schema" if "schema" in fmt else "json_object"
    if "guided_json" in body:
        return "guided_json"
    if "format" in body:
        return "format"
    return "prompt"


def schema_of(body: dict[str, Any], form: str) -> dict[str, Any]:
    fmt = body.get("response_format") or {}
    return {
        "json_schema": lambda: fmt["json_schema"]["schema"],
        "json_object_schema": lambda: fmt["schema"],
        "guided_json": lambda: body["guided_json"],
        "format": lambda: body["format"],
    }[form]()


def constrained(schema: dict[str, Any]) -> str:
    """An answer generated under the grammar of ``schema``."""
    values = {"string": "Madison", "integer": 39}
    props = schema["properties"]
    return json.dumps({name: values[props[name]["type"]] for name in schema["required"]})


#: for each server: the form it honours, and how it answers each form it does not
SERVERS: dict[str, tuple[str, dict[str, str]]] = {
    "openai": ("json_schema", {}),
    "llama-cpp-python": (
        "json_object_schema",
        {"json_schema": "500: Unsupported response_format type: json_schema"},
    ),
    "vllm": (
        "guided_json",
        {"json_schema": "400: response_format json_schema is not supported by this model"},
    ),
    "ollama": (
        "format",
        {
            "json_schema": "400: invalid response_format: type json_schema",
            "json_object_schema": "400: invalid response_format: unknown field schema",
        },
    ),
}


def dialect_server(name: str):
    honoured, refusals = SERVERS[name]

    def answer(body: dict[str, Any]) -> Reply:
        form = form_of(body)
        if form in refusals:
            status, message = refusals[form].split(": ", 1)
            return error(int(status), message)
        if form == honoured:
            return chat(constrained(schema_of(body, form)))
        return chat("Sure! It was James Madison, then aged thirty-nine.")

    return answer


def ask(max_tokens: int = 64) -> Request:
    return Request(
        messages=(Message(role="user", content="Who dined with Jefferson?"),),
        model="local-model",
        output_schema=Person,
        max_tokens=max_tokens,
    )


@pytest.mark.parametrize(
    ("server_name", "expected", "forms"),
    [
        ("openai", M.JSON_SCHEMA, ["json_schema"]),
        ("llama-cpp-python", M.JSON_OBJECT_SCHEMA, ["json_schema", "json_object_schema"]),
        ("vllm", M.GUIDED_JSON, ["json_schema", "json_object_schema", "guided_json"]),
        ("ollama", M.FORMAT, ["json_schema", "json_object_schema", "guided_json", "format"]),
    ],
)
def test_each_dialect_is_found_and_remembered(
    server_name: str, expected: StructuredMode, forms: list[str]
) -> None:
    with (
        StubServer(default=dialect_server(server_name)) as server,
        OpenAICompatibleModel(server.url, "local") as model,
    ):
        first = model.complete(ask())
        second = model.complete(ask())
        assert model.structured_mode("local-model") is expected
        assert set(model.refused_modes("local-model")) == {M(f) for f in forms[:-1]}
    assert [form_of(r.body) for r in server.requests] == [*forms, expected.value]
    for completion in (first, second):
        assert Person.model_validate_json(completion.text) == Person(name="Madison", age=39)
    assert first.structured_mode == second.structured_mode == expected.value
    assert [entry.split(":")[0] for entry in first.refused_modes] == forms[:-1]
    assert second.refused_modes == ()
    answered = [form for form in forms if form not in SERVERS[server_name][1]]
    assert first.usage.completion_tokens == 5 * len(answered), "ignored probes are counted"


def test_a_server_without_any_dialect_ends_with_the_schema_in_the_prompt() -> None:
    def plain(body: dict[str, Any]) -> Reply:
        if "response_format" in body:
            return error(400, "response_format is not supported")
        return chat("Madison, I think.")

    with StubServer(default=plain) as server, OpenAICompatibleModel(server.url, "local") as model:
        completion = model.complete(ask())
        assert model.structured_mode("local-model") is M.PROMPT
    assert [form_of(r.body) for r in server.requests] == [
        "json_schema",
        "json_object_schema",
        "guided_json",
        "format",
        "json_object",
        "prompt",
    ]
    assert '"age"' in server.requests[-1].body["messages"][0]["content"]
    assert completion.text == "Madison, I think." and completion.structured_mode == "prompt"
    assert len(completion.refused_modes) == 5


def test_a_refused_form_is_not_tried_again_after_a_later_one_is_refused_too() -> None:
    with (
        StubServer(default=dialect_server("vllm")) as server,
        OpenAICompatibleModel(server.url, "local") as model,
    ):
        model.complete(ask())
        model.complete(ask())
        model.complete(ask())
    assert [form_of(r.body) for r in server.requests].count("json_schema") == 1


def test_a_truncated_probe_is_not_taken_as_ignored() -> None:
    with StubServer(default=dialect_server("vllm")) as server:
        server.push(
            error(400, "response_format json_schema is not supported"),
            chat('{"name": "Madi', finish_reason="length"),
        )
        with OpenAICompatibleModel(server.url, "local") as model:
            cut = model.complete(ask())
            assert model.structured_mode("local-model") is M.JSON_OBJECT_SCHEMA
    assert cut.finish_reason == "length" and cut.structured_mode == "json_object_schema"


def truncating(cut_below: int):
    """A server (vLLM-like) that cuts its answer off when ``max_tokens`` is below ``cut_below``."""
    honoured = dialect_server("vllm")

    def answer(body: dict[str, Any]) -> Reply:
        reply = honoured(body)
        if form_of(body) == "guided_json" and body["max_tokens"] < cut_below:
            return chat(
                '{"name": "Madi', completion_tokens=body["max_tokens"], finish_reason="length"
            )
        return reply

    return answer


def test_a_cut_off_answer_is_asked_again_with_a_larger_max_tokens() -> None:
    with (
        StubServer(default=truncating(200), models=[{"id": "local-model"}]) as server,
        OpenAICompatibleModel(server.url, "local") as provider,
    ):
        model = StructuredModel(provider, limits=provider.limits)
        completion = model.complete(ask(max_tokens=64))
        assert provider.structured_mode("local-model") is M.GUIDED_JSON
    assert completion.parsed == Person(name="Madison", age=39)
    sizes = [r.body["max_tokens"] for r in server.requests if form_of(r.body) == "guided_json"]
    assert sizes == [64, 128, 256]


def test_max_tokens_grows_only_within_the_context_window() -> None:
    served = [{"id": "local-model", "max_model_len": 600}]
    with (
        StubServer(default=truncating(10_000), models=served) as server,
        OpenAICompatibleModel(server.url, "local") as provider,
    ):
        model = StructuredModel(provider, limits=provider.limits, max_reasks=0)
        with pytest.raises(StructuredOutputError, match="incomplete"):
            model.complete(ask(max_tokens=200))
    sizes = [r.body["max_tokens"] for r in server.requests if form_of(r.body) == "guided_json"]
    assert sizes == [200, 300], "never more than half the 600-token window"


def test_call_records_carry_the_mode_and_every_refused_probe() -> None:
    from timepoint.llm.config import BudgetConfig, ModelsConfig
    from timepoint.llm.stack import build_gateway
    from timepoint.settings import Settings

    with StubServer(default=dialect_server("ollama"), models=[{"id": "llama3.1:8b"}]) as server:
        settings = Settings(base_url=server.url, api_key="local")
        gateway = build_gateway(
            settings, models=ModelsConfig(), budget=BudgetConfig(), seed=1, cache_dir=None
        )
        gateway.complete(ask().model_copy(update={"model": None}))
        gateway.complete(ask().model_copy(update={"model": None}))
    records = gateway.calls()
    assert len(records) == server.count == 5, "every HTTP attempt, probes included, is recorded"
    probes, (first, second) = records[:3], records[3:]
    assert [p.outcome for p in probes] == ["error"] * 3
    assert all("FormatRefused" in (p.error or "") for p in probes)
    assert [p.completion_tokens > 0 for p in probes] == [False, False, True], "ignored: charged"
    assert (first.structured_mode, second.structured_mode) == ("format", "format")
    assert [entry.split(":")[0] for entry in first.refused_modes] == [
        "json_schema",
        "json_object_schema",
        "guided_json",
    ]
    assert "HTTP 400" in first.refused_modes[0] and "ignored" in first.refused_modes[2]
    assert second.refused_modes == ()
    assert '"structured_mode":"format"' in first.model_dump_json()
