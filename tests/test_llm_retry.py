"""Retry policy: what is retried, how long it waits, and what stops at once."""

from __future__ import annotations

import random

import pytest

from tests.llm_stub_server import Reply, StubServer, chat, error
from timepoint.errors import (
    AuthenticationError,
    ContextLengthExceeded,
    CreditExhausted,
    ProviderError,
    StructuredOutputError,
)
from timepoint.llm.base import Message, Request
from timepoint.llm.openai_compat import OpenAICompatibleModel
from timepoint.llm.retry import RetryingModel, is_retryable
from timepoint.llm.testing import ScriptedModel

KEY = "sk-retry-secret"


def ask() -> Request:
    return Request(messages=(Message(role="user", content="next event?"),), model="qwq-32b")


def retrying(server: StubServer, sleeps: list[float], **kwargs: object) -> RetryingModel:
    inner = OpenAICompatibleModel(server.url, KEY, timeout=kwargs.pop("timeout", 5.0))  # type: ignore[arg-type]
    return RetryingModel(
        inner, base_delay=0.01, sleep=sleeps.append, rng=random.Random(1), **kwargs
    )  # type: ignore[arg-type]


def test_429_with_retry_after_waits_at_least_that_long_then_succeeds() -> None:
    sleeps: list[float] = []
    with StubServer() as server:
        server.push(error(429, "rate limited", headers={"Retry-After": "2"}), chat("done"))
        completion = retrying(server, sleeps).complete(ask())
    assert completion.text == "done"
    assert completion.attempts == 2
    assert server.count == 2
    assert len(sleeps) == 1 and sleeps[0] >= 2.0


def test_500_twice_then_success_backs_off_exponentially() -> None:
    sleeps: list[float] = []
    with StubServer() as server:
        server.push(error(500, "boom"), error(502, "bad gateway"), chat("third time"))
        completion = retrying(server, sleeps).complete(ask())
    assert completion.text == "third time"
    assert completion.attempts == 3
    assert server.count == 3
    assert len(sleeps) == 2
    assert 0.005 <= sleeps[0] <= 0.01 and 0.01 <= sleeps[1] <= 0.02


def test_read_timeout_is_retried() -> None:
    sleeps: list[float] = []
    with StubServer() as server:
        server.push(Reply(body={}, delay=0.4), chat("after timeout"))
        completion = retrying(server, sleeps, timeout=0.1).complete(ask())
    assert completion.text == "after timeout"
    assert len(sleeps) == 1


def test_gives_up_after_max_attempts_with_the_last_error() -> None:
    sleeps: list[float] = []
    with StubServer() as server:
        server.push(*[error(503, "overloaded")] * 3)
        with pytest.raises(ProviderError) as caught:
            retrying(server, sleeps, max_attempts=3).complete(ask())
    assert caught.value.status == 503
    assert server.count == 3 and len(sleeps) == 2
    assert str(caught.value).endswith("(gave up after 3 attempts)")


def test_the_final_timeout_error_does_not_promise_a_retry() -> None:
    sleeps: list[float] = []
    with StubServer() as server:
        server.push(*[Reply(body={}, delay=0.3)] * 2)
        with pytest.raises(ProviderError) as caught:
            retrying(server, sleeps, max_attempts=2, timeout=0.1).complete(ask())
    message = str(caught.value)
    assert "retried" not in message
    assert "TIMEPOINT_LLM_TIMEOUT" in message and "gave up after 2 attempts" in message


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (error(400, "This model's maximum context length is 4096 tokens"), ContextLengthExceeded),
        (error(401, f"bad key {KEY}"), AuthenticationError),
        (error(402, "Insufficient credits"), CreditExhausted),
        (error(403, "forbidden"), AuthenticationError),
        (error(404, "no such model"), ProviderError),
        (error(400, "bad request"), ProviderError),
    ],
)
def test_client_errors_are_never_retried(reply: Reply, expected: type[Exception]) -> None:
    sleeps: list[float] = []
    with StubServer() as server:
        server.push(reply, chat("never reached"))
        with pytest.raises(expected) as caught:
            retrying(server, sleeps).complete(ask())
    assert server.count == 1
    assert sleeps == []
    assert KEY not in str(caught.value)


def test_retry_after_beyond_the_ceiling_is_not_waited_for() -> None:
    sleeps: list[float] = []
    with StubServer() as server:
        server.push(error(429, "come back tomorrow", headers={"Retry-After": "86400"}))
        with pytest.raises(ProviderError):
            retrying(server, sleeps).complete(ask())
    assert sleeps == []


def test_is_retryable_table() -> None:
    assert is_retryable(ProviderError("timeout", status=None))
    for status in (408, 409, 429, 500, 503, 599):
        assert is_retryable(ProviderError("x", status=status))
    for status in (400, 401, 403, 404, 422):
        assert not is_retryable(ProviderError("x", status=status))
    assert not is_retryable(CreditExhausted("x", status=402))
    assert not is_retryable(ContextLengthExceeded("x", status=500))
    assert not is_retryable(StructuredOutputError("x"))


def test_delay_grows_and_is_capped() -> None:
    model = RetryingModel(ScriptedModel(), base_delay=1.0, max_delay=4.0, rng=random.Random(0))
    delays = [model.delay(n) for n in range(1, 6)]
    assert all(
        0.5 * min(4.0, 2 ** (n - 1)) <= d <= min(4.0, 2 ** (n - 1)) for n, d in enumerate(delays, 1)
    )
    assert model.delay(1, retry_after=7.5) == 7.5
