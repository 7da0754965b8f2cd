"""The model gateway: selection per action, forcing, fallbacks, records and the full stack."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from tests.llm_stub_server import StubServer, chat, error
from timepoint.errors import (
    AuthenticationError,
    BudgetExceeded,
    ConfigurationError,
    ProviderError,
    UnknownModelError,
)
from timepoint.llm.base import ActionType, Message, Request
from timepoint.llm.config import BudgetConfig, ModelsConfig
from timepoint.llm.gateway import ModelGateway
from timepoint.llm.meter import Budget
from timepoint.llm.openai_compat import OpenAICompatibleModel
from timepoint.llm.registry import Registry
from timepoint.llm.selection import select
from timepoint.llm.stack import build_gateway
from timepoint.llm.testing import ScriptedModel
from timepoint.settings import Settings


class Event(BaseModel):
    description: str


def ask(action: ActionType = ActionType.TEMPORAL_REASONING, **update: object) -> Request:
    request = Request(
        messages=(Message(role="user", content="What happens next at the dinner?"),),
        action=action,
        output_schema=Event,
        max_tokens=100,
    )
    return request.model_copy(update=update)


def gateway(
    provider: ScriptedModel | OpenAICompatibleModel,
    *,
    settings: Settings | None = None,
    models: ModelsConfig | None = None,
    budget: BudgetConfig | None = None,
    cache_dir: Path | None = None,
    parent_budget: Budget | None = None,
) -> ModelGateway:
    return build_gateway(
        settings or Settings(),
        models=models or ModelsConfig(),
        budget=budget or BudgetConfig(),
        seed=1,
        cache_dir=cache_dir,
        provider=provider,
        parent_budget=parent_budget,
        sleep=lambda seconds: None,
    )


ANSWER = '{"description": "Hamilton proposes the bargain."}'


def test_selection_fills_the_model_and_records_the_choice_and_calls() -> None:
    provider = ScriptedModel([ANSWER], repeat_last=True)
    gw = gateway(provider)
    completion = gw.complete(ask())
    gw.complete(ask(ActionType.DIALOG_SYNTHESIS))
    gw.complete(ask())
    expected = select(ActionType.TEMPORAL_REASONING, "balanced", Registry.load())
    assert provider.requests[0].model == expected.model
    assert completion.parsed == Event(description="Hamilton proposes the bargain.")
    choices = {c.action: c for c in gw.choices()}
    assert set(choices) == {"temporal_reasoning", "dialog_synthesis"}
    assert choices["temporal_reasoning"].model == expected.model
    assert choices["temporal_reasoning"].fallbacks == list(expected.fallbacks)
    assert [c.seq for c in gw.calls()] == [1, 2, 3]
    summary = gw.usage_summary()
    assert summary.calls == 3
    assert summary.by_action["temporal_reasoning"].calls == 2
    assert (
        summary.cost_usd == pytest.approx(sum(c.cost_usd for c in gw.calls()))
        and summary.cost_usd > 0
    )
    assert summary.generation_tokens == summary.prompt_tokens + summary.completion_tokens
    assert gw.provider == "scripted"
    assert len(gw.plan()) == len(ActionType)


def test_forcing_precedence_action_override_then_env_then_scenario() -> None:
    provider = ScriptedModel([ANSWER], repeat_last=True)
    models = ModelsConfig(model="qwen-2.5-72b", actions={"dialog_synthesis": "mixtral-8x22b"})
    gw = gateway(provider, models=models)
    gw.complete(ask())
    gw.complete(ask(ActionType.DIALOG_SYNTHESIS))
    assert [r.model for r in provider.requests] == ["qwen-2.5-72b", "mixtral-8x22b"]
    env = gateway(provider, settings=Settings(model="deepseek-r1"), models=models)
    env.complete(ask())
    env.complete(ask(ActionType.DIALOG_SYNTHESIS))
    assert [r.model for r in provider.requests[2:]] == ["deepseek-r1", "mixtral-8x22b"]
    assert env.choices()[0].reason == "forced by TIMEPOINT_LLM_MODEL"
    assert env.choices()[0].fallbacks == []
    named = gateway(provider)
    named.complete(ask(model="meta-llama/llama-3.3-70b-instruct"))
    assert provider.requests[-1].model == "meta-llama/llama-3.3-70b-instruct"


def test_misspelt_actions_and_models_are_reported() -> None:
    provider = ScriptedModel()
    with pytest.raises(ConfigurationError, match="did you mean 'dialog_synthesis'"):
        gateway(provider, models=ModelsConfig(actions={"dialogue_synthesis": "llama-3.1-70b"}))
    with pytest.raises(UnknownModelError, match=r"did you mean 'llama-3\.1-70b'"):
        gateway(provider, models=ModelsConfig(model="llama-3.1-70"))
    gateway(provider, models=ModelsConfig(model="ollama-served:8b"))


def test_model_failure_moves_down_the_fallback_chain() -> None:
    chain = [
        select(ActionType.TEMPORAL_REASONING).model,
        *select(ActionType.TEMPORAL_REASONING).fallbacks,
    ]

    def first_model_down(request: Request) -> str:
        if request.model == chain[0]:
            raise ProviderError("HTTP 503", status=503)
        return ANSWER

    provider = ScriptedModel([first_model_down], repeat_last=True)
    gw = gateway(provider)
    completion = gw.complete(ask())
    assert completion.parsed is not None
    assert [r.model for r in provider.requests] == [chain[0]] * 4 + [chain[1]]
    choice = gw.choices()[0]
    assert choice.model == chain[1]
    assert f"{chain[0]} failed (ProviderError, HTTP 503)" in choice.reason
    assert [c.outcome for c in gw.calls()] == ["error"] * 4 + ["ok"]


def test_non_model_failures_do_not_fall_back() -> None:
    provider = ScriptedModel([AuthenticationError("refused", status=401)], repeat_last=True)
    with pytest.raises(AuthenticationError):
        gateway(provider).complete(ask())
    assert provider.calls == 1


def test_budget_refuses_before_the_provider_is_called_and_parents_are_charged() -> None:
    provider = ScriptedModel([ANSWER], repeat_last=True, cost_per_call=0.00001)
    batch = Budget("batch", max_usd=1.0)
    gw = gateway(provider, budget=BudgetConfig(max_usd=0.0001), parent_budget=batch)
    with pytest.raises(BudgetExceeded, match="run budget exceeded"):
        gw.complete(ask(model="deepseek-r1", max_tokens=4000))
    assert provider.calls == 0
    assert [c.outcome for c in gw.calls()] == ["refused"]
    gw.complete(ask(max_tokens=10))
    assert batch.spent_usd == pytest.approx(0.00001) == gw.budget.spent_usd


def test_rerun_through_the_full_stack_replays_from_cache(tmp_path: Path) -> None:
    with StubServer() as server:
        server.push(chat("prose, not JSON"), chat(ANSWER, 30, 12, cost=0.0002))
        settings = Settings(base_url=server.url, api_key="k")
        provider = OpenAICompatibleModel(server.url, "k")
        first = gateway(provider, settings=settings, cache_dir=tmp_path)
        first.complete(ask())
        second = gateway(provider, settings=settings, cache_dir=tmp_path)
        replay = second.complete(ask())
    assert server.count == 2
    assert replay.cache_hit and replay.parsed == Event(description="Hamilton proposes the bargain.")
    assert [c.outcome for c in first.calls()] == ["invalid", "ok"]
    assert first.usage_summary().cost_usd > 0
    summary = second.usage_summary()
    assert (summary.calls, summary.cache_hits, summary.cost_usd) == (0, 1, 0.0)
    assert second.provider == "openai-compatible"


def test_on_demand_calls_are_summarized_separately() -> None:
    gw = gateway(ScriptedModel([ANSWER], repeat_last=True))
    gw.complete(ask())
    gw.complete(ask(on_demand=True))
    assert gw.usage_summary(on_demand=True).calls == 1
    total = gw.usage_summary()
    assert total.on_demand_tokens > 0 and total.generation_tokens > 0


def test_complete_many_keeps_order() -> None:
    gw = gateway(
        ScriptedModel([lambda r: f'{{"description": "{r.messages[0].content}"}}'], repeat_last=True)
    )
    requests = [ask(messages=(Message(role="user", content=f"step {i}"),)) for i in range(12)]
    results = gw.complete_many(requests)
    assert [r.parsed.description for r in results] == [f"step {i}" for i in range(12)]  # type: ignore[union-attr]


def test_offline_gateway_when_no_key_costs_nothing() -> None:
    pytest.importorskip("timepoint.llm.offline")
    gw = build_gateway(Settings(), models=ModelsConfig(), budget=BudgetConfig(max_usd=0.0),
                       seed=3, cache_dir=None)  # fmt: skip
    assert gw.provider == "offline"
    gw.complete(Request(messages=(Message(role="user", content="hello"),)))
    assert gw.usage_summary().cost_usd == 0.0


def test_key_is_never_in_records_or_errors() -> None:
    with StubServer() as server:
        server.push(error(401, "bad key sk-live-abc"))
        provider = OpenAICompatibleModel(server.url, "sk-live-abc")
        gw = gateway(provider, settings=Settings(base_url=server.url, api_key="sk-live-abc"))
        with pytest.raises(AuthenticationError) as caught:
            gw.complete(ask())
    assert "sk-live-abc" not in str(caught.value)
    assert all("sk-live-abc" not in record.model_dump_json() for record in gw.calls())
