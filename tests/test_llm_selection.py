"""Registry and action → model selection."""

from __future__ import annotations

from pathlib import Path

import pytest

from timepoint.errors import ConfigurationError, UnknownModelError
from timepoint.llm.base import ActionType
from timepoint.llm.config import Preference
from timepoint.llm.registry import Capability, ModelSpec, Registry
from timepoint.llm.selection import (
    REQUIREMENTS,
    cost_score,
    eligible,
    fallback_chain,
    ranked,
    select,
)

SHIPPED = {
    "llama-3.1-8b", "llama-3.1-70b", "llama-3.1-405b", "llama-4-scout", "qwen-2.5-7b",
    "qwen-2.5-72b", "qwq-32b", "deepseek-chat", "deepseek-r1", "mistral-7b", "mixtral-8x7b",
    "mixtral-8x22b",
}  # fmt: skip


def spec(model_id: str, **update: object) -> ModelSpec:
    data: dict[str, object] = {
        "id": model_id,
        "openrouter_id": f"org/{model_id}",
        "license": "apache-2.0",
        "commercial_synthetic_data_ok": True,
        "context_window": 131072,
        "max_output": 8192,
        "input_usd_per_m": 0.2,
        "output_usd_per_m": 0.6,
        "speed": 0.5,
        "quality": 0.5,
        "capabilities": list(Capability),
    }
    data.update(update)
    return ModelSpec.model_validate(data)


def test_shipped_registry_has_the_twelve_open_models_with_prices() -> None:
    registry = Registry.load()
    assert set(registry.ids) == SHIPPED
    for model in registry:
        assert model.input_usd_per_m > 0 and model.output_usd_per_m > 0
        assert model.context_window >= 32768 and model.max_output >= 4096
        assert 0 < model.speed <= 1 and 0 < model.quality <= 1
        assert "/" in model.openrouter_id
    assert registry.endpoint_id("llama-3.1-70b") == "meta-llama/llama-3.1-70b-instruct"
    assert registry.endpoint_id("somebody/else") == "somebody/else"
    assert registry.prices("deepseek-r1") == (0.55, 2.19)
    assert registry.prices("not-listed") == (0.0, 0.0)


def test_unknown_model_suggests_the_closest_id() -> None:
    with pytest.raises(
        UnknownModelError, match=r"no model 'deepsek-chat'; did you mean 'deepseek-chat'\?"
    ):
        Registry.load().get("deepsek-chat")


def test_users_add_local_models_from_a_file(tmp_path: Path) -> None:
    extra = tmp_path / "models.yaml"
    extra.write_text(
        "models:\n"
        "  - id: local-llama\n"
        "    openrouter_id: llama3.1:8b\n"
        "    license: llama3.1\n"
        "    commercial_synthetic_data_ok: true\n"
        "    context_window: 8192\n"
        "    max_output: 2048\n"
        "    input_usd_per_m: 0\n"
        "    output_usd_per_m: 0\n"
        "    speed: 0.4\n"
        "    quality: 0.4\n"
        "    capabilities: [structured_json, dialog]\n"
    )
    registry = Registry.load(extra)
    assert len(registry) == 13
    local = registry.get("local-llama")
    assert local.free and local.cost_usd(1000, 1000) == 0
    assert registry.endpoint_id("local-llama") == "llama3.1:8b"


def test_a_bad_registry_file_names_file_and_field(tmp_path: Path) -> None:
    extra = tmp_path / "bad.yaml"
    extra.write_text("models:\n  - id: x\n    openrouter_id: x\n    license: mit\n")
    with pytest.raises(
        ConfigurationError,
        match=r"bad\.yaml: models\[0\]: context_window: required field is missing",
    ):
        Registry.load(extra)
    with pytest.raises(ConfigurationError, match="does not exist"):
        Registry.load(tmp_path / "missing.yaml")


@pytest.mark.parametrize("preference", list(Preference))
def test_every_action_gets_a_deterministic_eligible_choice(preference: Preference) -> None:
    registry = Registry.load()
    for action in ActionType:
        choice = select(action, preference, registry)
        assert choice == select(action, preference, Registry.load())
        model = registry.get(choice.model)
        requirements = REQUIREMENTS[action]
        assert requirements.required <= model.capabilities
        assert model.context_window >= requirements.min_context
        assert model.commercial_synthetic_data_ok
        assert preference.value in choice.reason
        assert choice.to_record().action == action.value


def test_license_policy_only_auto_selects_commercial_synthetic_licenses() -> None:
    registry = Registry(
        [
            spec("restricted", license="research-only", commercial_synthetic_data_ok=False,
                 quality=1.0, speed=1.0),
            spec("open", quality=0.4),
        ]
    )  # fmt: skip
    assert select(ActionType.DIALOG_SYNTHESIS, "quality", registry).model == "open"
    allowed = select(ActionType.DIALOG_SYNTHESIS, "quality", registry, ["research-only"])
    assert allowed.model == "restricted"
    shipped = Registry.load()
    for action in ActionType:
        assert "qwen-2.5-72b" not in fallback_chain(action, "quality", shipped)


def test_free_model_does_not_dominate_through_its_price() -> None:
    free = spec("local-small", input_usd_per_m=0, output_usd_per_m=0, quality=0.3, speed=0.5)
    good = spec("hosted-large", input_usd_per_m=0.1, output_usd_per_m=0.3, quality=0.85)
    registry = Registry([free, good])
    assert cost_score(free) == 1.0
    assert 0.5 < cost_score(good) < 1.0
    for preference in ("balanced", "quality", "speed"):
        assert select(ActionType.TEMPORAL_REASONING, preference, registry).model == "hosted-large"
    scores = dict(
        (s.id, score) for s, score in ranked(ActionType.TEMPORAL_REASONING, "cost", registry)
    )
    assert scores["local-small"] - scores["hosted-large"] < 0.15


def test_ties_are_broken_by_id() -> None:
    registry = Registry([spec("zeta"), spec("alpha"), spec("mid")])
    assert select(ActionType.GENERAL, "balanced", registry).model == "alpha"
    assert [s.id for s, _ in ranked(ActionType.GENERAL, "balanced", registry)] == [
        "alpha",
        "mid",
        "zeta",
    ]


def test_fallback_chain_is_deduplicated_and_starts_with_the_choice() -> None:
    registry = Registry.load()
    for action in ActionType:
        chain = fallback_chain(action, "balanced", registry)
        assert len(chain) == len(set(chain)) >= 2
        choice = select(action, "balanced", registry)
        assert chain[0] == choice.model and list(choice.fallbacks) == chain[1:]
    single = Registry([spec("only")])
    assert fallback_chain(ActionType.GENERAL, "speed", single) == ["only"]


def test_requirements_filter_capabilities_and_context() -> None:
    registry = Registry(
        [
            spec("no-json", capabilities=["dialog", "creative"]),
            spec("small-context", context_window=4096),
            spec("fits"),
        ]
    )
    assert [s.id for s in eligible(ActionType.DIALOG_SYNTHESIS, registry)] == ["fits"]
    with pytest.raises(ConfigurationError, match="no model for action 'portal_backward_reasoning'"):
        select(
            ActionType.PORTAL_BACKWARD_REASONING,
            "balanced",
            Registry([spec("x", context_window=8192)]),
        )
