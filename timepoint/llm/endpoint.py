"""What a self-hosted endpoint serves, and how large a model's context is.

An endpoint that is not OpenRouter (llama.cpp, vLLM, Ollama, LM Studio, ...) serves its own
models: ``GET {base_url}/models`` lists them, sometimes with the context length they were
started with. Those models cost nothing unless a user registry entry gives a price; their
context window is the advertised one, else the registry's, else :data:`DEFAULT_LOCAL_CONTEXT`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

#: context window assumed for a self-hosted model that neither the endpoint nor the registry
#: describes (override it with a registry entry)
DEFAULT_LOCAL_CONTEXT = 8192

#: keys servers use for the context length in ``/models`` entries, most specific first
_CONTEXT_KEYS = ("max_model_len", "context_length", "context_window", "n_ctx", "n_ctx_train")


class ServedModel(BaseModel):
    """One model an endpoint lists under ``/models``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    context_window: int | None = Field(None, ge=1)


class ModelLimits(BaseModel):
    """How many tokens a model takes in all (``context_window``) and writes (``max_output``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    context_window: int = Field(ge=1)
    max_output: int = Field(ge=1)
    source: str = "registry"


def parse_models(data: Any) -> list[ServedModel]:
    """The models of an OpenAI-style ``/models`` answer (``{"data": [{"id": ...}, ...]}``;
    Ollama's ``{"models": [{"name": ...}]}`` too). Entries without an id are skipped."""
    if not isinstance(data, dict):
        return []
    entries = data.get("data")
    if not isinstance(entries, list):
        entries = data.get("models")
    if not isinstance(entries, list):
        return []
    served = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        model_id = entry.get("id") or entry.get("model") or entry.get("name")
        if isinstance(model_id, str) and model_id:
            served.append(ServedModel(id=model_id, context_window=_context_of(entry)))
    return served


def list_served(
    client: httpx.Client,
    url: str,
    *,
    headers: dict[str, str],
    shown: str,
    redact: Callable[[str], str],
) -> tuple[list[ServedModel] | None, str | None]:
    """Ask ``GET url`` (an endpoint's ``/models``) what it serves.

    Returns:
        The served models and ``None``, or ``None`` and why listing failed (``shown`` is the
        URL fit to print; ``redact`` removes secrets from transport errors).
    """
    try:
        response = client.get(url, headers=headers)
    except httpx.HTTPError as error:
        return None, f"{shown}: {type(error).__name__}: {redact(str(error))}"
    if response.status_code >= 400:
        return None, f"{shown} answered HTTP {response.status_code}"
    try:
        served = parse_models(response.json())
    except ValueError:
        return None, f"{shown} did not answer with JSON"
    return (served, None) if served else (None, f"{shown} listed no models")


def _context_of(entry: dict[str, Any]) -> int | None:
    for source in (entry, entry.get("meta"), entry.get("top_provider")):
        if not isinstance(source, dict):
            continue
        for key in _CONTEXT_KEYS:
            value = source.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return value
    return None
