"""Self-hosted endpoints: served models, price 0, attribution, forced models, `models`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr

from tests.llm_stub_server import Reply, StubServer, chat, error
from timepoint.errors import ConfigurationError, ProviderError
from timepoint.llm.base import ActionType, Message, Request
from timepoint.llm.config import BudgetConfig, ModelsConfig
from timepoint.llm.endpoint import DEFAULT_LOCAL_CONTEXT
from timepoint.llm.gateway import ModelGateway
from timepoint.llm.openai_compat import OpenAICompatibleModel
from timepoint.llm.registry import Registry
from timepoint.llm.stack import build_gateway
from timepoint.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


class Event(BaseModel):
    description: str


ANSWER = '{"description": "Hamilton proposes the bargain."}'


def ask(action: ActionType = ActionType.TEMPORAL_REASONING) -> Request:
    return Request(
        messages=(Message(role="user", content="What happens next at the dinner?"),),
        action=action,
        output_schema=Event,
        max_tokens=100,
    )


def answering(body: dict[str, Any]) -> Reply:
    return chat(ANSWER, prompt_tokens=1_000, completion_tokens=1_000)


def local_gateway(server: StubServer, model: str | None = None, **kwargs: Any) -> ModelGateway:
    settings = Settings(base_url=server.url, api_key=SecretStr("local"), model=model)
    registry = kwargs.pop("registry", None) or Registry.load(settings.registry_path)
    return build_gateway(
        settings,
        models=ModelsConfig(),
        budget=BudgetConfig(),
        seed=1,
        cache_dir=None,
        provider=OpenAICompatibleModel(server.url, "local", registry=registry),
        registry=registry,
        sleep=lambda seconds: None,
        **kwargs,
    )


def test_unforced_calls_use_the_served_model_at_price_zero_and_ask_models_once() -> None:
    served = [{"id": "gemma-3-270m"}]
    with StubServer(default=answering, models=served) as server:
        gateway = local_gateway(server)
        for action in (ActionType.TEMPORAL_REASONING, ActionType.DIALOG_SYNTHESIS):
            gateway.complete(ask(action))
            gateway.complete(ask(action))
    assert server.model_listings == 1
    assert {r.body["model"] for r in server.requests} == {"gemma-3-270m"}
    assert {c.model for c in gateway.calls()} == {"gemma-3-270m"}
    assert gateway.usage_summary().cost_usd == 0.0
    assert gateway.usage_summary().prompt_tokens == 4_000
    assert {c.model: c.fallbacks for c in gateway.choices()} == {"gemma-3-270m": []}


def test_a_served_model_the_registry_lists_at_openrouter_prices_still_costs_nothing() -> None:
    served = [{"id": "meta-llama/llama-3.1-70b-instruct"}]
    with StubServer(default=answering, models=served) as server:
        gateway = local_gateway(server)
        gateway.complete(ask())
    assert gateway.calls()[0].model == "meta-llama/llama-3.1-70b-instruct"
    assert gateway.usage_summary().cost_usd == 0.0


def test_a_user_registry_entry_gives_a_local_model_its_price(tmp_path: Path) -> None:
    extra = tmp_path / "local.yaml"
    extra.write_text(
        "models:\n"
        "  - {id: my-gemma, openrouter_id: gemma-3-270m, license: gemma, context_window: 32768,\n"
        "     max_output: 4096, input_usd_per_m: 1.0, output_usd_per_m: 2.0, speed: 0.9,\n"
        "     quality: 0.2, capabilities: [structured_json]}\n"
    )
    with StubServer(default=answering, models=[{"id": "gemma-3-270m"}]) as server:
        gateway = local_gateway(server, registry=Registry.load(extra))
        gateway.complete(ask())
    assert gateway.usage_summary().cost_usd == pytest.approx((1_000 * 1.0 + 1_000 * 2.0) / 1e6)


def test_a_failing_local_server_is_not_asked_again_under_other_registry_names() -> None:
    with StubServer(default=lambda body: error(500, "model crashed"), models=None) as server:
        gateway = local_gateway(server, model="gemma-3-270m")
        with pytest.raises(ProviderError, match="model crashed") as caught:
            gateway.complete(ask())
    assert {r.body["model"] for r in server.requests} == {"gemma-3-270m"}
    assert "will be retried" not in str(caught.value)


def test_a_forced_unknown_model_works_with_the_default_context_window() -> None:
    with StubServer(default=answering, models=None) as server:
        gateway = local_gateway(server, model="gemma-3-270m")
        completion = gateway.complete(ask())
        with OpenAICompatibleModel(server.url, "local") as provider:
            limits = provider.limits("gemma-3-270m")
    assert completion.model == "gemma-3-270m" and completion.cost_usd == 0.0
    assert limits is not None and limits.context_window == DEFAULT_LOCAL_CONTEXT
    assert limits.source == "default"


def test_the_advertised_context_window_is_used() -> None:
    served = [
        {"id": "qwen3:4b", "meta": {"n_ctx_train": 40_960}},
        {"id": "phi", "max_model_len": 2048},
    ]
    with (
        StubServer(models=served) as server,
        OpenAICompatibleModel(server.url, "local") as provider,
    ):
        assert provider.limits("qwen3:4b").context_window == 40_960  # type: ignore[union-attr]
        phi = provider.limits("phi")
    assert phi is not None and (phi.context_window, phi.max_output) == (2048, 1024)
    assert phi.source.endswith("/models")


def test_a_forced_model_the_endpoint_does_not_serve_names_the_fix() -> None:
    with StubServer(default=answering, models=[{"id": "gemma3:270m"}]) as server:
        gateway = local_gateway(server, model="gemma-3-270m")
        with pytest.raises(ConfigurationError, match="TIMEPOINT_LLM_MODEL=gemma3:270m"):
            gateway.complete(ask())
    assert server.count == 0


def test_a_forced_registry_id_is_attributed_to_the_served_id() -> None:
    with StubServer(default=answering, models=[{"id": "qwen/qwq-32b"}]) as server:
        gateway = local_gateway(server, model="qwq-32b")
        gateway.complete(ask())
    assert gateway.calls()[0].model == "qwen/qwq-32b"
    assert server.requests[0].body["model"] == "qwen/qwq-32b"


def test_without_a_model_list_and_no_forced_model_the_error_names_the_fix() -> None:
    with StubServer(default=answering, models=None) as server:
        gateway = local_gateway(server)
        with pytest.raises(ConfigurationError, match="set TIMEPOINT_LLM_MODEL"):
            gateway.complete(ask())


def test_several_served_models_fall_back_only_to_served_registry_models() -> None:
    served = [{"id": "nomic-embed-text"}, {"id": "llama3.1:8b"}, {"id": "qwen/qwq-32b"}]
    with StubServer(models=served) as server:
        gateway = local_gateway(server)
        chain, reason = gateway.chain(ActionType.TEMPORAL_REASONING)
        general, _ = gateway.chain(ActionType.GENERAL)
    assert chain == ["qwen/qwq-32b"] and "served by the endpoint" in reason
    assert general == ["qwen/qwq-32b"]


def models_command(env: dict[str, str]) -> dict[str, Any]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TIMEPOINT_")}
    clean.pop("OPENROUTER_API_KEY", None)
    result = subprocess.run(
        [sys.executable, "-m", "timepoint.cli", "models", "--json"],
        env={**clean, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def test_models_command_honours_a_forced_model_offline() -> None:
    payload = models_command({"TIMEPOINT_LLM_MODEL": "deepseek-chat"})
    assert {row["model"] for row in payload["selection"]} == {"deepseek-chat"}
    assert all("TIMEPOINT_LLM_MODEL" in row["reason"] for row in payload["selection"])


def test_models_command_shows_what_a_local_endpoint_serves() -> None:
    with StubServer(models=[{"id": "gemma-3-270m", "max_model_len": 32768}]) as server:
        payload = models_command(
            {"TIMEPOINT_LLM_BASE_URL": server.url, "TIMEPOINT_LLM_API_KEY": "local"}
        )
        forced = models_command(
            {
                "TIMEPOINT_LLM_BASE_URL": server.url,
                "TIMEPOINT_LLM_API_KEY": "local",
                "TIMEPOINT_LLM_MODEL": "gemma-3-270m",
            }
        )
    assert payload["served"] == [{"id": "gemma-3-270m", "context_window": 32768}]
    assert {row["model"] for row in payload["selection"]} == {"gemma-3-270m"}
    assert {row["model"] for row in forced["selection"]} == {"gemma-3-270m"}
