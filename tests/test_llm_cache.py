"""The completion cache: replays with zero calls, keys only what determines the answer."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from tests.llm_stub_server import StubServer, chat
from timepoint.errors import StructuredOutputError
from timepoint.llm.base import ActionType, Completion, Message, Request
from timepoint.llm.cache import CachedModel, cache_key
from timepoint.llm.openai_compat import OpenAICompatibleModel
from timepoint.llm.structured import StructuredModel
from timepoint.llm.testing import ScriptedModel


class Verdict(BaseModel):
    plausible: bool
    score: float


def ask(**update: object) -> Request:
    request = Request(
        messages=(Message(role="user", content="Is the antecedent plausible?"),),
        action=ActionType.PORTAL_PATH_SCORING,
        output_schema=Verdict,
        model="llama-3.1-70b",
        seed=3,
    )
    return request.model_copy(update=update)


def test_second_identical_request_makes_zero_server_calls(tmp_path: Path) -> None:
    with StubServer() as server:
        server.push(chat('{"plausible": true, "score": 0.8}', 40, 9, cost=0.001))
        provider = OpenAICompatibleModel(server.url, "k")
        with CachedModel(
            StructuredModel(provider), tmp_path / "c.sqlite", endpoint=server.url
        ) as cache:
            fresh = cache.complete(ask())
            replay = cache.complete(ask())
        with CachedModel(
            StructuredModel(provider), tmp_path / "c.sqlite", endpoint=server.url
        ) as reopened:
            again = reopened.complete(ask())
    assert server.count == 1
    assert not fresh.cache_hit and fresh.usage.total_tokens == 49
    for hit in (replay, again):
        assert hit.cache_hit
        assert hit.parsed == Verdict(plausible=True, score=0.8)
        assert hit.text == fresh.text
        assert hit.usage.total_tokens == 0 and hit.cost_usd == 0.0


def test_invalid_answers_are_not_cached(tmp_path: Path) -> None:
    inner = ScriptedModel(["not json", '{"plausible": false, "score": 0.1}'])
    with CachedModel(StructuredModel(inner, max_reasks=0), tmp_path / "c.sqlite") as cache:
        with pytest.raises(StructuredOutputError):
            cache.complete(ask())
        assert len(cache) == 0
        assert cache.complete(ask()).parsed == Verdict(plausible=False, score=0.1)
        assert cache.complete(ask()).cache_hit
    assert inner.calls == 2


def test_unparsed_completion_for_a_schema_request_is_not_stored(tmp_path: Path) -> None:
    raw = Completion(text='{"plausible": true, "score": 1}', model="m", provider="p")
    inner = ScriptedModel([raw, raw])
    with CachedModel(inner, tmp_path / "c.sqlite") as cache:
        cache.complete(ask())
        cache.complete(ask())
        assert len(cache) == 0
    assert inner.calls == 2


def test_namespace_invalidates_deliberately(tmp_path: Path) -> None:
    inner = ScriptedModel(['{"plausible": true, "score": 0.5}'], repeat_last=True)
    with CachedModel(StructuredModel(inner), tmp_path / "c.sqlite", namespace="v1") as first:
        first.complete(ask())
    with CachedModel(StructuredModel(inner), tmp_path / "c.sqlite", namespace="v2") as second:
        second.complete(ask())
        second.complete(ask())
        assert second.clear("v1") == 1
    assert inner.calls == 2


def test_key_covers_what_determines_the_answer_and_nothing_else() -> None:
    base = cache_key(ask(), "https://openrouter.ai/api/v1")
    assert base == cache_key(ask(on_demand=True), "https://openrouter.ai/api/v1")
    different = [
        cache_key(ask(), "http://127.0.0.1:8080/v1"),
        cache_key(ask(), "https://openrouter.ai/api/v1", namespace="other"),
        cache_key(ask(model="deepseek-chat"), "https://openrouter.ai/api/v1"),
        cache_key(ask(seed=4), "https://openrouter.ai/api/v1"),
        cache_key(ask(temperature=0.2), "https://openrouter.ai/api/v1"),
        cache_key(ask(max_tokens=99), "https://openrouter.ai/api/v1"),
        cache_key(ask(output_schema=None), "https://openrouter.ai/api/v1"),
        cache_key(
            ask(messages=(Message(role="user", content="Is it plausible?"),)),
            "https://openrouter.ai/api/v1",
        ),
    ]
    assert len({base, *different}) == len(different) + 1


def test_cache_file_holds_no_key(tmp_path: Path) -> None:
    with StubServer() as server:
        server.push(chat('{"plausible": true, "score": 0.8}'))
        provider = OpenAICompatibleModel(server.url, "sk-never-stored")
        with CachedModel(
            StructuredModel(provider), tmp_path / "c.sqlite", endpoint=server.url
        ) as cache:
            cache.complete(ask())
    assert b"sk-never-stored" not in (tmp_path / "c.sqlite").read_bytes()
