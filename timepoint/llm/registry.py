"""The model registry (M18): which models exist, what they cost and what they are good at.

The data lives in ``registry.yaml`` next to this module; :meth:`Registry.load` reads it and,
optionally, a user file of the same shape that adds models (local ones at price 0) or replaces
shipped entries by id.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from timepoint.errors import ConfigurationError, UnknownModelError
from timepoint.problems import describe_errors


class Capability(StrEnum):
    """What a model is good at; actions require and prefer capabilities."""

    STRUCTURED_JSON = "structured_json"
    LONG_FORM = "long_form"
    DIALOG = "dialog"
    MATHEMATICAL = "mathematical"
    LOGICAL = "logical"
    CAUSAL = "causal"
    TEMPORAL = "temporal"
    LARGE_CONTEXT = "large_context"
    VERY_LARGE_CONTEXT = "very_large_context"
    FAST = "fast"
    CHEAP = "cheap"
    HIGH_QUALITY = "high_quality"
    CREATIVE = "creative"
    ANALYTICAL = "analytical"
    INSTRUCTION_FOLLOWING = "instruction_following"


class ModelSpec(BaseModel):
    """One registry entry.

    ``openrouter_id`` is the id sent to the endpoint: the OpenRouter id for shipped models, the
    served model name for local ones.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    name: str = ""
    openrouter_id: str
    license: str
    commercial_synthetic_data_ok: bool = False
    context_window: int = Field(ge=512)
    max_output: int = Field(ge=1)
    input_usd_per_m: float = Field(ge=0)
    output_usd_per_m: float = Field(ge=0)
    speed: float = Field(ge=0, le=1)
    quality: float = Field(ge=0, le=1)
    capabilities: frozenset[Capability] = frozenset()

    @property
    def free(self) -> bool:
        """True for models that cost nothing per token (typically local servers)."""
        return self.input_usd_per_m == 0 and self.output_usd_per_m == 0

    def has(self, capability: Capability | str) -> bool:
        return Capability(capability) in self.capabilities

    def cost_usd(self, prompt_tokens: int, completion_tokens: int) -> float:
        """List-price cost of a call with the given token counts."""
        return (
            prompt_tokens * self.input_usd_per_m + completion_tokens * self.output_usd_per_m
        ) / 1_000_000


class Registry:
    """An explicit, immutable collection of :class:`ModelSpec` keyed by id.

    Args:
        models: the entries; a later entry with the same id replaces an earlier one.
    """

    def __init__(self, models: list[ModelSpec], list_priced: frozenset[str] = frozenset()):
        self._models: dict[str, ModelSpec] = {}
        for spec in models:
            self._models[spec.id] = spec
        self._list_priced = frozenset(list_priced) & set(self._models)

    @classmethod
    def load(cls, extra_path: Path | str | None = None) -> Registry:
        """The shipped registry, plus the models of ``extra_path`` when given.

        Raises:
            ConfigurationError: a file is missing or an entry is invalid (names file and field).
        """
        models = list(_shipped())
        extra: list[ModelSpec] = []
        if extra_path is not None:
            path = Path(extra_path)
            if not path.is_file():
                raise ConfigurationError(
                    f"model registry file {str(path)!r} does not exist; "
                    "point TIMEPOINT_LLM_REGISTRY at a YAML file with a 'models:' list"
                )
            extra = _parse(path.read_text("utf-8"), str(path))
        shipped = frozenset(spec.id for spec in models) - {spec.id for spec in extra}
        return cls(models + extra, list_priced=shipped)

    def get(self, model_id: str) -> ModelSpec:
        """The entry for ``model_id``.

        Raises:
            UnknownModelError: no such id (the message suggests the closest known id).
        """
        try:
            return self._models[model_id]
        except KeyError:
            raise UnknownModelError(model_id, self._models) from None

    def find(self, model_id: str) -> ModelSpec | None:
        """The entry for ``model_id`` or ``None``."""
        return self._models.get(model_id)

    def endpoint_id(self, model_id: str) -> str:
        """The id to send to the endpoint: the registry's ``openrouter_id``, else ``model_id``."""
        spec = self._models.get(model_id)
        return spec.openrouter_id if spec is not None else model_id

    def find_served(self, served_id: str) -> ModelSpec | None:
        """The entry for a model id as an endpoint serves it: by id, else by ``openrouter_id``."""
        spec = self._models.get(served_id)
        if spec is not None:
            return spec
        return next((s for s in self if s.openrouter_id == served_id), None)

    def list_priced(self, model_id: str) -> bool:
        """Whether ``model_id``'s prices are the shipped OpenRouter list prices."""
        return model_id in self._list_priced

    def local_prices(self, served_id: str) -> tuple[float, float]:
        """(input, output) USD per million tokens on a self-hosted endpoint: 0, unless a user
        registry entry (not a shipped OpenRouter list price) names the model with a price."""
        spec = self.find_served(served_id)
        if spec is None or spec.id in self._list_priced:
            return (0.0, 0.0)
        return (spec.input_usd_per_m, spec.output_usd_per_m)

    def prices(self, model_id: str) -> tuple[float, float]:
        """(input, output) USD per million tokens; unknown ids cost 0 (the provider reports)."""
        spec = self._models.get(model_id)
        if spec is None:
            return (0.0, 0.0)
        return (spec.input_usd_per_m, spec.output_usd_per_m)

    @property
    def ids(self) -> list[str]:
        return sorted(self._models)

    def __iter__(self) -> Iterator[ModelSpec]:
        return iter(sorted(self._models.values(), key=lambda spec: spec.id))

    def __len__(self) -> int:
        return len(self._models)

    def __contains__(self, model_id: object) -> bool:
        return model_id in self._models

    def __repr__(self) -> str:
        return f"Registry({len(self)} models)"


@functools.cache
def _shipped() -> tuple[ModelSpec, ...]:
    text = resources.files("timepoint.llm").joinpath("registry.yaml").read_text("utf-8")
    return tuple(_parse(text, "timepoint/llm/registry.yaml"))


def _parse(text: str, source: str) -> list[ModelSpec]:
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigurationError(f"{source}: not valid YAML: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("models"), list):
        raise ConfigurationError(
            f"{source}: expected a mapping with a 'models:' list, got {type(data).__name__}"
        )
    specs = []
    for index, entry in enumerate(data["models"]):
        try:
            specs.append(ModelSpec.model_validate(entry))
        except ValidationError as error:
            lines = describe_errors(error, ModelSpec, f"{source}: models[{index}]")
            raise ConfigurationError("\n".join(lines)) from None
    return specs
