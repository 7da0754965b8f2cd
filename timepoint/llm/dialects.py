"""Structured-output dialects: the ways an OpenAI-compatible server can be asked for JSON.

Servers constrain decoding to a schema in their own dialects. The ladder tries constrained forms
before unconstrained ones and remembers, per endpoint model, what worked and what was refused:

================== ===================================================== ======================
Mode               What is sent                                          Understood by
================== ===================================================== ======================
json_schema        ``response_format: {type: json_schema, json_schema}`` OpenAI, OpenRouter,
                                                                         llama.cpp, vLLM
json_object_schema ``response_format: {type: json_object, schema}``      llama.cpp,
                                                                         llama-cpp-python
guided_json        ``guided_json: <schema>`` (extra body parameter)      vLLM
format             ``format: <schema>`` (extra body parameter)           Ollama
json_object        ``response_format: {type: json_object}``              most servers
prompt             the schema in the system message only                 every server
================== ===================================================== ======================

Every mode but ``json_schema`` also puts the schema in the system message. A server may refuse a
form (an HTTP error) or silently ignore it (an unknown parameter or key): the first answer in
an *ignorable* mode must therefore be one JSON object with the schema's required fields, or the
mode counts as refused and the next one is tried.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel


class StructuredMode(StrEnum):
    """How a JSON answer is asked for, best first."""

    JSON_SCHEMA = "json_schema"
    JSON_OBJECT_SCHEMA = "json_object_schema"
    GUIDED_JSON = "guided_json"
    FORMAT = "format"
    JSON_OBJECT = "json_object"
    PROMPT = "prompt"


#: the ladder for self-hosted endpoints (llama.cpp, vLLM, Ollama, ...)
LOCAL_LADDER: tuple[StructuredMode, ...] = tuple(StructuredMode)
#: the ladder for OpenRouter, which speaks only the OpenAI forms
OPENROUTER_LADDER: tuple[StructuredMode, ...] = (
    StructuredMode.JSON_SCHEMA,
    StructuredMode.JSON_OBJECT,
    StructuredMode.PROMPT,
)
#: forms a server may accept without honouring them (unknown parameters or keys are ignored)
IGNORABLE = frozenset(
    {StructuredMode.JSON_OBJECT_SCHEMA, StructuredMode.GUIDED_JSON, StructuredMode.FORMAT}
)


def apply_mode(body: dict[str, Any], mode: StructuredMode, schema: type[BaseModel]) -> None:
    """Add what ``mode`` sends to a ``/chat/completions`` request ``body``."""
    json_schema = schema.model_json_schema()
    if mode is StructuredMode.JSON_SCHEMA:
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": schema_name(schema), "schema": json_schema, "strict": False},
        }
    elif mode is StructuredMode.JSON_OBJECT_SCHEMA:
        body["response_format"] = {"type": "json_object", "schema": json_schema}
    elif mode is StructuredMode.GUIDED_JSON:
        body["guided_json"] = json_schema
    elif mode is StructuredMode.FORMAT:
        body["format"] = json_schema
    elif mode is StructuredMode.JSON_OBJECT:
        body["response_format"] = {"type": "json_object"}


def honours(text: str, schema: type[BaseModel]) -> bool:
    """Whether ``text`` looks constrained by ``schema``: exactly one JSON object (no prose, no
    fences) holding every top-level required field."""
    try:
        value = json.loads(text.strip())
    except ValueError:
        return False
    if not isinstance(value, dict):
        return False
    required = schema.model_json_schema().get("required", [])
    return all(name in value for name in required)


def schema_name(schema: type[BaseModel]) -> str:
    """The schema's name as ``json_schema.name`` allows it."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", schema.__name__)[:64] or "answer"


@dataclass
class _State:
    index: int = 0
    confirmed: bool = False
    refused: dict[StructuredMode, str] = field(default_factory=dict)


class DialectMemory:
    """Thread-safe record, per endpoint model, of the current rung and the refused forms.

    Args:
        ladder: the modes to try, best first; the last one is never refused.
    """

    def __init__(self, ladder: tuple[StructuredMode, ...] = LOCAL_LADDER):
        if not ladder:
            raise ValueError("a structured-output ladder needs at least one mode")
        self.ladder = ladder
        self._states: dict[str, _State] = {}
        self._lock = threading.Lock()

    def current(self, model: str) -> StructuredMode:
        """The mode the next structured request for ``model`` uses."""
        with self._lock:
            return self.ladder[self._state(model).index]

    def confirmed(self, model: str) -> bool:
        """Whether the current mode of ``model`` has produced an accepted answer."""
        with self._lock:
            return self._state(model).confirmed

    def refused(self, model: str) -> dict[StructuredMode, str]:
        """The modes ``model``'s endpoint refused or ignored, with the reason."""
        with self._lock:
            return dict(self._state(model).refused)

    def confirm(self, model: str, mode: StructuredMode) -> None:
        """``mode`` worked for ``model``; keep using it."""
        with self._lock:
            state = self._state(model)
            if self.ladder[state.index] is mode:
                state.confirmed = True

    def refuse(self, model: str, mode: StructuredMode, reason: str) -> bool:
        """Record that ``mode`` failed for ``model`` and step past it.

        Returns False when ``mode`` is the last rung (nothing left to try).
        """
        with self._lock:
            state = self._state(model)
            if mode is self.ladder[-1]:
                return False
            state.refused[mode] = reason
            if self.ladder[state.index] is mode:
                index = state.index + 1
                while index < len(self.ladder) - 1 and self.ladder[index] in state.refused:
                    index += 1
                state.index = index
                state.confirmed = False
            return True

    def _state(self, model: str) -> _State:
        return self._states.setdefault(model, _State())
