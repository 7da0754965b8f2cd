"""Budgets and metering: reservations, refusals before any request, and no overshoot."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.llm_stub_server import Reply, StubServer, chat
from timepoint.errors import BudgetExceeded, ProviderError
from timepoint.llm.base import CallRecord, Message, Request, estimate_tokens
from timepoint.llm.meter import Budget, CallLog, MeteredModel
from timepoint.llm.openai_compat import OpenAICompatibleModel
from timepoint.llm.registry import Registry
from timepoint.llm.testing import ScriptedModel

PROMPT = "Describe the dinner table at Jefferson's residence on Maiden Lane."


def ask(max_tokens: int = 200, model: str = "llama-3.1-405b") -> Request:
    return Request(
        messages=(Message(role="user", content=PROMPT),), model=model, max_tokens=max_tokens
    )


def test_budget_reserve_settle_release_and_parents() -> None:
    batch = Budget("batch", max_usd=1.0)
    run = Budget("run", max_usd=0.8, parent=batch)
    first = run.reserve(0.5, 100)
    assert (run.reserved_usd, batch.reserved_usd) == (0.5, 0.5)
    run.settle(first, 0.3, 80)
    assert (run.spent_usd, batch.spent_usd, run.reserved_usd) == (0.3, 0.3, 0.0)
    assert run.spent_tokens == 80
    second = run.reserve(0.4, 10)
    run.release(second)
    run.release(second)
    assert run.reserved_usd == 0 and run.remaining_usd == pytest.approx(0.5)
    other_run = Budget("run-2", parent=batch)
    other_run.reserve(0.6, 1)
    with pytest.raises(BudgetExceeded) as caught:
        run.reserve(0.2, 1)
    assert caught.value.budget == "batch"
    assert str(caught.value) == (
        "batch budget exceeded: spent 0.3 USD, reserved 0.8 USD, limit 1 USD; "
        "raise the limit or lower the fidelity"
    )
    assert run.reserved_usd == 0, "a refused reservation holds nothing"


def test_token_limit_is_enforced() -> None:
    budget = Budget("run", max_tokens=1000)
    budget.reserve(0.0, 900)
    with pytest.raises(BudgetExceeded, match="tokens"):
        budget.reserve(0.0, 200)


def test_a_call_that_would_exceed_the_budget_never_reaches_the_server() -> None:
    records: list[CallRecord] = []
    registry = Registry.load()
    with StubServer() as server:
        server.push(chat("unreachable"))
        model = MeteredModel(
            OpenAICompatibleModel(server.url, "k"),
            Budget("run", max_usd=0.0001),
            prices=registry.prices,
            on_record=records,
        )
        with pytest.raises(BudgetExceeded, match="run budget exceeded"):
            model.complete(ask(max_tokens=1000))
    assert server.count == 0
    assert [r.outcome for r in records] == ["refused"]
    assert "limit 0.0001 USD" in records[0].error


def test_cost_comes_from_the_provider_when_reported_else_from_registry_prices() -> None:
    log = CallLog()
    registry = Registry.load()
    model = MeteredModel(
        ScriptedModel(["a", "b"], cost_per_call=0.0),
        prices=registry.prices,
        on_record=log,
    )
    first = model.complete(ask())
    input_price, output_price = registry.prices("llama-3.1-405b")
    expected = (
        first.usage.prompt_tokens * input_price + first.usage.completion_tokens * output_price
    ) / 1e6
    assert first.cost_usd == pytest.approx(expected) and expected > 0
    reported = MeteredModel(ScriptedModel(["c"], cost_per_call=0.042), prices=registry.prices)
    assert reported.complete(ask()).cost_usd == 0.042
    assert reported.budget.spent_usd == 0.042


def test_every_attempt_is_recorded_with_a_rising_seq() -> None:
    log = CallLog()
    model = MeteredModel(
        ScriptedModel([ProviderError("HTTP 503", status=503), "ok"]),
        Budget("run", max_usd=10),
        prices=lambda model: (1.0, 2.0),
        on_record=log,
    )
    with pytest.raises(ProviderError):
        model.complete(ask())
    model.complete(ask())
    records = log.snapshot()
    assert [(r.seq, r.outcome) for r in records] == [(1, "error"), (2, "ok")]
    assert records[0].error == "ProviderError: HTTP 503"
    assert records[1].action == "general" and records[1].model == "llama-3.1-405b"
    assert records[1].provider == "scripted" and records[1].cost_usd > 0
    assert model.budget.reserved_usd == 0


def test_usage_is_estimated_when_the_provider_reports_none() -> None:
    with StubServer() as server:
        server.push(chat("twelve chars", prompt_tokens=0, completion_tokens=0))
        model = MeteredModel(OpenAICompatibleModel(server.url, "k"))
        completion = model.complete(ask())
    assert completion.usage.prompt_tokens == estimate_tokens(PROMPT)
    assert completion.usage.completion_tokens == 3


def test_sixteen_concurrent_calls_never_overshoot_a_hard_budget() -> None:
    registry = Registry.load()
    in_price, out_price = registry.prices("llama-3.1-405b")
    prompt_tokens = estimate_tokens(PROMPT)
    per_call = MeteredModel(ScriptedModel(["x"]), prices=registry.prices).estimate(ask())[0]
    assert per_call > (prompt_tokens * in_price + 200 * out_price) / 1e6
    limit = per_call * 5.5

    def answer(body: dict[str, Any]) -> Reply:
        reply = chat("x" * 800, prompt_tokens=prompt_tokens, completion_tokens=body["max_tokens"])
        reply.delay = 0.05
        return reply

    budget = Budget("run", max_usd=limit)
    log = CallLog()
    outcomes: list[str] = []
    with StubServer(default=answer) as server:
        model = MeteredModel(
            OpenAICompatibleModel(server.url, "k"), budget, registry.prices, on_record=log
        )
        start = threading.Barrier(16)

        def worker() -> None:
            start.wait()
            try:
                model.complete(ask())
                outcomes.append("ok")
            except BudgetExceeded:
                outcomes.append("refused")

        threads = [threading.Thread(target=worker) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(outcomes).count("ok") == 5
    assert outcomes.count("refused") == 11
    assert server.count == 5
    assert budget.spent_usd <= limit
    assert budget.reserved_usd == pytest.approx(0, abs=1e-15)
    assert sorted(r.seq for r in log.snapshot()) == list(range(1, 17))
