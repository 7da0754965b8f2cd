"""The wire format of ``/chat/completions``: the JSON body a request becomes and the answer a
200 must hold.

Building the body puts the schema instruction in the system message (unless the endpoint is
given the schema itself), applies the structured-output dialect, and on OpenRouter asks for usage
and sends a price ceiling: the model's registry price times a margin. Reading an answer
validates it as a chat completion and turns it into a :class:`~timepoint.llm.base.Completion`;
a body that is not one is a :class:`~timepoint.llm.http_errors.MalformedResponse`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from timepoint.llm.base import Completion, Message, Request, Usage
from timepoint.llm.dialects import StructuredMode, apply_mode
from timepoint.llm.http_errors import MalformedResponse
from timepoint.llm.registry import Registry

__all__ = ["chat_body", "parse_completion", "price_ceiling", "read_json", "with_probes"]


class _Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    content: str | list[dict[str, Any]] | None = None


class _Choice(BaseModel):
    model_config = ConfigDict(extra="allow")

    message: _Message
    finish_reason: Any = None


class _Usage(BaseModel):
    model_config = ConfigDict(extra="allow")

    prompt_tokens: int | None = Field(None, ge=0)
    completion_tokens: int | None = Field(None, ge=0)
    cost: float | None = Field(None, ge=0)


class _ChatResponse(BaseModel):
    """What a 200 ``/chat/completions`` answer must hold (other fields are ignored)."""

    model_config = ConfigDict(extra="allow")

    choices: list[_Choice] = Field(min_length=1)
    usage: _Usage | None = None


def chat_body(
    request: Request,
    model: str,
    mode: StructuredMode | None,
    *,
    openrouter: bool,
    max_price: dict[str, float] | None,
) -> dict[str, Any]:
    """The JSON body that sends ``request`` to endpoint model ``model`` in ``mode``.

    Args:
        request: what to ask.
        model: the endpoint's id of the model.
        mode: the structured-output form to use, or ``None`` for a request without a schema.
        openrouter: whether the endpoint is OpenRouter (usage is asked for, a ceiling sent).
        max_price: OpenRouter's ``provider.max_price`` ceiling, if any.
    """
    messages = list(request.messages)
    schema = request.output_schema
    if schema is not None and mode is not StructuredMode.JSON_SCHEMA:
        messages = _with_schema_instruction(messages, schema)
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": m.role, "content": m.content} for m in messages],
        "temperature": request.temperature,
        "max_tokens": request.max_tokens,
    }
    if request.seed is not None:
        body["seed"] = request.seed
    if openrouter:
        body["usage"] = {"include": True}
        if max_price is not None:
            body["provider"] = {"max_price": max_price}
    if schema is not None and mode is not None:
        apply_mode(body, mode, schema)
    return body


def price_ceiling(registry: Registry, model: str, margin: float) -> dict[str, float] | None:
    """OpenRouter's price ceiling for ``model`` (USD per million tokens): its registry price
    times ``margin``; ``None`` when the registry has no price for it."""
    spec = registry.find(model) or registry.find_served(model)
    if spec is None or (spec.input_usd_per_m <= 0 and spec.output_usd_per_m <= 0):
        return None
    return {
        "prompt": round(spec.input_usd_per_m * margin, 6),
        "completion": round(spec.output_usd_per_m * margin, 6),
    }


def read_json(
    response: httpx.Response, *, where: str, model: str, redact: Callable[[str], str]
) -> dict[str, Any]:
    """The answer's body as a JSON object.

    Raises:
        MalformedResponse: the body is not a JSON object.
    """
    try:
        data = json.loads(response.content)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise MalformedResponse(
            f"{where} answered HTTP {response.status_code} for "
            f"model {model!r} with a body that is not a JSON object: "
            f"{redact(response.content[:200].decode('utf-8', 'replace'))!r}; it was "
            "charged at its reservation. Check that TIMEPOINT_LLM_BASE_URL points at an "
            "OpenAI-compatible /v1 endpoint",
            status=None,
        )
    return data


def parse_completion(
    data: dict[str, Any],
    *,
    model: str,
    provider: str,
    started: float,
    where: str,
    redact: Callable[[str], str],
) -> Completion:
    """The completion a 200 answer holds; ``started`` is the ``perf_counter`` at sending.

    Raises:
        MalformedResponse: the body is not a chat completion.
    """
    try:
        answer = _ChatResponse.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'body'}: {problem['msg']}"
            for problem in error.errors()[:5]
        )
        raise MalformedResponse(
            f"{where} answered HTTP 200 for model {model!r} with a "
            f"body that is not a chat completion ({problems}): "
            f"{redact(json.dumps(data)[:200])}; it was charged at its reservation. "
            "Check that TIMEPOINT_LLM_BASE_URL points at an OpenAI-compatible /v1 endpoint",
            status=None,
        ) from None
    choice = answer.choices[0]
    finish = choice.finish_reason
    content = choice.message.content
    if isinstance(content, list):
        content = "".join(part["text"] for part in content if isinstance(part.get("text"), str))
    usage = answer.usage or _Usage()
    return Completion(
        text=content or "",
        model=model,
        provider=provider,
        usage=Usage(
            prompt_tokens=usage.prompt_tokens or 0,
            completion_tokens=usage.completion_tokens or 0,
        ),
        cost_usd=usage.cost or 0.0,
        latency_ms=(time.perf_counter() - started) * 1000,
        finish_reason=finish if isinstance(finish, str) else None,
    )


def with_probes(completion: Completion, probes: list[Completion]) -> Completion:
    """``completion`` with the usage and cost of the ignored probes before it added."""
    if not probes:
        return completion
    spent = [*probes, completion]
    return completion.model_copy(
        update={
            "usage": Usage(
                prompt_tokens=sum(c.usage.prompt_tokens for c in spent),
                completion_tokens=sum(c.usage.completion_tokens for c in spent),
            ),
            "cost_usd": sum(c.cost_usd for c in spent),
        }
    )


def _with_schema_instruction(messages: list[Message], schema: type[BaseModel]) -> list[Message]:
    instruction = (
        "Answer with one JSON object only: no prose, no code fences. It must validate against "
        f"this JSON schema:\n{json.dumps(schema.model_json_schema(), separators=(',', ':'))}"
    )
    if messages and messages[0].role == "system":
        first = Message(role="system", content=f"{messages[0].content}\n\n{instruction}")
        return [first, *messages[1:]]
    return [Message(role="system", content=instruction), *messages]
