"""The OpenAI-compatible provider against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, SecretStr

from tests.llm_stub_server import Reply, StubServer, chat, error
from timepoint.errors import (
    AuthenticationError,
    ConfigurationError,
    ContextLengthExceeded,
    CreditExhausted,
    ProviderError,
)
from timepoint.llm.base import Message, Request
from timepoint.llm.dialects import OPENROUTER_LADDER
from timepoint.llm.openai_compat import OpenAICompatibleModel, StructuredMode

KEY = "sk-test-0123456789abcdef"


class Person(BaseModel):
    name: str
    age: int


def ask(model: str | None = "llama-3.1-70b", schema: type[BaseModel] | None = None) -> Request:
    return Request(
        messages=(Message(role="user", content="Who dined with Jefferson?"),),
        model=model,
        output_schema=schema,
        max_tokens=64,
        seed=7,
    )


def provider(server: StubServer, **kwargs: object) -> OpenAICompatibleModel:
    return OpenAICompatibleModel(server.url, KEY, **kwargs)  # type: ignore[arg-type]


def test_success_reports_text_usage_cost_and_maps_registry_ids() -> None:
    with StubServer() as server:
        server.push(chat("Madison and Hamilton.", 12, 4, cost=0.00021), chat("ok"))
        with provider(server) as model:
            completion = model.complete(ask())
            model.complete(ask(model="my-org/custom-model"))
    assert completion.text == "Madison and Hamilton."
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (12, 4)
    assert completion.cost_usd == pytest.approx(0.00021)
    assert completion.provider == "openai-compatible"
    assert completion.model == "llama-3.1-70b"
    assert completion.latency_ms > 0
    first, second = server.requests
    assert first.path == "/v1/chat/completions"
    assert first.body["model"] == "meta-llama/llama-3.1-70b-instruct"
    assert first.body["max_tokens"] == 64 and first.body["seed"] == 7
    assert first.headers["Authorization"] == f"Bearer {KEY}"
    assert "response_format" not in first.body
    assert second.body["model"] == "my-org/custom-model"


def test_default_model_is_used_and_a_missing_model_is_a_clear_error() -> None:
    with StubServer() as server:
        server.push(chat("hi"))
        with provider(server, default_model="qwq-32b") as model:
            model.complete(ask(model=None))
        with provider(server) as model, pytest.raises(ConfigurationError, match="no model"):
            model.complete(ask(model=None))
    assert server.requests[0].body["model"] == "qwen/qwq-32b"


def test_provider_label_and_repr_never_show_the_key() -> None:
    model = OpenAICompatibleModel("https://openrouter.ai/api/v1/", SecretStr(KEY))
    assert model.provider == "openrouter"
    assert model.base_url == "https://openrouter.ai/api/v1"
    assert KEY not in repr(model) and KEY not in str(model)
    model.close()


def test_401_fails_with_a_message_that_never_contains_the_key() -> None:
    with StubServer() as server:
        server.push(error(401, f"Invalid API key {KEY}"))
        with provider(server) as model, pytest.raises(AuthenticationError) as caught:
            model.complete(ask())
    message = str(caught.value)
    assert KEY not in message
    assert "[redacted]" in message
    assert "TIMEPOINT_LLM_API_KEY" in message
    assert caught.value.status == 401


def test_402_is_credit_exhausted_and_context_length_has_its_own_error() -> None:
    with StubServer() as server:
        server.push(
            error(402, "Insufficient credits"),
            error(400, "This model's maximum context length is 8192 tokens"),
            error(404, "No endpoints found for meta-llama/llama-3.1-70b-instruct"),
        )
        with provider(server) as model:
            with pytest.raises(CreditExhausted, match="out of credit"):
                model.complete(ask())
            with pytest.raises(ContextLengthExceeded, match="context window"):
                model.complete(ask())
            with pytest.raises(ProviderError) as caught:
                model.complete(ask())
    assert caught.value.status == 404


def test_read_timeout_is_a_provider_error_without_status() -> None:
    with StubServer() as server:
        server.push(Reply(body={}, delay=0.4))
        with provider(server, timeout=0.1) as model, pytest.raises(ProviderError) as caught:
            model.complete(ask())
    assert caught.value.status is None
    assert "did not answer" in str(caught.value)


def test_connection_refused_is_a_provider_error_without_status() -> None:
    with StubServer() as server:
        url = server.url
    with (
        OpenAICompatibleModel(url, KEY, timeout=1) as model,
        pytest.raises(ProviderError) as caught,
    ):
        model.complete(ask())
    assert caught.value.status is None


def test_retry_after_header_and_openrouter_error_bodies() -> None:
    with StubServer() as server:
        server.push(
            error(429, "slow down", headers={"Retry-After": "3"}),
            Reply(body={"error": {"message": "upstream overloaded", "code": 503}}),
            Reply(body="<html>gateway</html>"),
        )
        with provider(server) as model:
            with pytest.raises(ProviderError) as rate_limited:
                model.complete(ask())
            with pytest.raises(ProviderError) as embedded:
                model.complete(ask())
            with pytest.raises(ProviderError, match="not a JSON object"):
                model.complete(ask())
    assert (rate_limited.value.status, rate_limited.value.retry_after) == (429, 3.0)
    assert embedded.value.status == 503


def test_json_schema_rejected_falls_back_to_json_object_and_remembers() -> None:
    with StubServer() as server:
        server.push(
            error(400, "response_format json_schema is not supported by this model"),
            chat('{"name": "Madison", "age": 39}'),
            chat('{"name": "Hamilton", "age": 35}'),
        )
        with provider(server, ladder=OPENROUTER_LADDER) as model:
            first = model.complete(ask(schema=Person))
            assert model.structured_mode("llama-3.1-70b") is StructuredMode.JSON_OBJECT
            model.complete(ask(schema=Person))
    formats = [r.response_format for r in server.requests]
    assert formats == ["json_schema", "json_object", "json_object"]
    schema_sent = server.requests[0].body["response_format"]["json_schema"]
    assert schema_sent["name"] == "Person"
    assert schema_sent["schema"]["required"] == ["name", "age"]
    assert '"age"' in server.requests[1].system
    assert first.text == '{"name": "Madison", "age": 39}'


def test_json_object_rejected_falls_back_to_prompt_only() -> None:
    with StubServer() as server:
        server.push(
            error(422, "unprocessable"),
            error(400, "response_format type json_object unsupported"),
            chat('{"name": "Madison", "age": 39}'),
            chat('{"name": "Madison", "age": 39}'),
        )
        with provider(server, ladder=OPENROUTER_LADDER) as model:
            model.complete(ask(schema=Person))
            model.complete(ask(schema=Person))
            assert model.structured_mode("llama-3.1-70b") is StructuredMode.PROMPT
    assert [r.response_format for r in server.requests] == [
        "json_schema",
        "json_object",
        None,
        None,
    ]
    assert "JSON schema" in server.requests[2].system


def test_confirmed_format_is_not_degraded_by_an_unrelated_error() -> None:
    with StubServer() as server:
        server.push(
            chat('{"name": "Madison", "age": 39}'),
            error(500, "internal error"),
            error(429, "rate limited: response_format requests are throttled"),
        )
        with provider(server) as model:
            model.complete(ask(schema=Person))
            with pytest.raises(ProviderError) as server_error:
                model.complete(ask(schema=Person))
            with pytest.raises(ProviderError) as rate_limited:
                model.complete(ask(schema=Person))
            assert model.structured_mode("llama-3.1-70b") is StructuredMode.JSON_SCHEMA
    assert (server_error.value.status, rate_limited.value.status) == (500, 429)
    assert server.count == 3
