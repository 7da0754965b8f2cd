"""The context-window pre-check: sizes, re-ask trimming, and max_tokens caps."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from tests.llm_stub_server import Reply, StubServer, chat
from timepoint.errors import ContextLengthExceeded, ProviderError
from timepoint.llm.base import Message, Request
from timepoint.llm.endpoint import ModelLimits
from timepoint.llm.fitting import fit, output_cap
from timepoint.llm.openai_compat import OpenAICompatibleModel
from timepoint.llm.structured import StructuredModel


class Turn(BaseModel):
    speaker: str
    text: str


def ask(prompt_chars: int, max_tokens: int = 100) -> Request:
    return Request(
        messages=(Message(role="user", content="x" * prompt_chars),),
        model="local-model",
        output_schema=Turn,
        max_tokens=max_tokens,
    )


def served(window: int) -> list[dict[str, Any]]:
    return [{"id": "local-model", "max_model_len": window}]


def test_a_prompt_that_cannot_fit_fails_before_sending_and_names_the_sizes() -> None:
    with StubServer(models=served(1000)) as server:
        provider = OpenAICompatibleModel(server.url, "local")
        with pytest.raises(ContextLengthExceeded) as caught:
            StructuredModel(provider, limits=provider.limits).complete(ask(4000))
        provider.close()
    assert server.count == 0
    message = str(caught.value)
    assert "~1000 tokens" in message and "max_tokens 100" in message
    assert "1000-token context window of model 'local-model'" in message
    assert isinstance(caught.value, ProviderError) and caught.value.status is None


def test_older_failed_answers_are_dropped_first_and_the_original_is_kept() -> None:
    answers = iter(["a" * 1600, "b" * 1600, '{"speaker": "madison", "text": "Agreed."}'])

    def reply(body: dict[str, Any]) -> Reply:
        return chat(next(answers))

    with StubServer(default=reply, models=served(1000)) as server:
        provider = OpenAICompatibleModel(server.url, "local")
        model = StructuredModel(provider, limits=provider.limits, max_reasks=2)
        completion = model.complete(ask(400).model_copy(update={"output_schema": Turn}))
        provider.close()
    assert completion.parsed == Turn(speaker="madison", text="Agreed.")
    sent = [
        [m["content"][:1] for m in r.body["messages"] if m["role"] != "system"]
        for r in server.requests
    ]
    assert sent[0] == ["x"]
    assert sent[1] == ["x", "a", "Y"]
    assert sent[2] == ["x", "b", "Y"], "the oldest failed answer and its re-ask were dropped"


def test_max_tokens_is_never_the_whole_window() -> None:
    limits = ModelLimits(context_window=4096, max_output=4096)
    assert output_cap(limits) == 2048
    fitted = fit(ask(40, max_tokens=4096), limits)
    assert fitted.max_tokens == 2048
    squeezed = fit(ask(4 * 2500, max_tokens=2048), limits)
    assert squeezed.max_tokens == 4096 - 2500, "shrunk to what the window leaves"
    with pytest.raises(ContextLengthExceeded):
        fit(ask(4 * 3500, max_tokens=2048), limits)
    assert fit(ask(4 * 3500), None).max_tokens == 100, "unknown limits: nothing is checked"
