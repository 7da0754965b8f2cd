"""The HTTP provider: any OpenAI-compatible ``/chat/completions`` endpoint.

OpenRouter by default; llama.cpp server, vLLM and Ollama work the same way. Client-side retries
are off (the retry layer owns backoff). Structured output degrades per endpoint model:
``json_schema`` response format, else ``json_object`` with the schema in the system message,
else the schema in the system message alone; what works is remembered by the instance.

The API key only ever travels in the ``Authorization`` header: it is not in ``repr``, not in
error messages (echoes from the endpoint are redacted) and not in call records.
"""

from __future__ import annotations

import email.utils
import json
import re
import threading
import time
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import httpx
from pydantic import BaseModel, SecretStr

from timepoint.errors import (
    AuthenticationError,
    ConfigurationError,
    ContextLengthExceeded,
    CreditExhausted,
    ProviderError,
)
from timepoint.llm.base import Completion, Message, Request, Usage
from timepoint.llm.registry import Registry


class StructuredMode(StrEnum):
    """How a JSON answer is asked for, best first."""

    JSON_SCHEMA = "json_schema"
    JSON_OBJECT = "json_object"
    PROMPT = "prompt"


_ORDER = (StructuredMode.JSON_SCHEMA, StructuredMode.JSON_OBJECT, StructuredMode.PROMPT)
_CONTEXT_WORDING = re.compile(
    r"context[ _-]?(length|window)|maximum context|too many tokens|prompt is too long"
    r"|exceeds? the (model'?s? )?(max|context)|input is too long",
    re.IGNORECASE,
)
_FORMAT_WORDING = re.compile(r"response_format|json_schema|json_object|structured output", re.I)
_NO_FALLBACK_STATUSES = {401, 402, 403, 404, 408, 409, 429}


class OpenAICompatibleModel:
    """A :class:`~timepoint.llm.base.LanguageModel` over an OpenAI-compatible HTTP endpoint.

    Thread-safe: one ``httpx.Client`` serves all threads.

    Args:
        base_url: endpoint root, e.g. ``https://openrouter.ai/api/v1`` or
            ``http://127.0.0.1:8080/v1``.
        api_key: the key (a string or ``SecretStr``); local servers accept any value.
        default_model: model id used when a request names none.
        timeout: seconds per HTTP request.
        http_client: an ``httpx.Client`` to use instead of a private one (e.g. with a
            ``MockTransport``); it is not closed by :meth:`close`.
        registry: maps registry ids to endpoint ids (default: the shipped registry);
            ids it does not know are sent unchanged.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | SecretStr | None,
        default_model: str | None = None,
        timeout: float = 120.0,
        http_client: httpx.Client | None = None,
        registry: Registry | None = None,
    ):
        self._base_url = base_url.rstrip("/")
        self._key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        self._default_model = default_model
        self._timeout = timeout
        self._registry = registry if registry is not None else Registry.load()
        self._owns_client = http_client is None
        self._client = http_client or httpx.Client(
            transport=httpx.HTTPTransport(retries=0),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 15.0)),
        )
        self._modes: dict[str, StructuredMode] = {}
        self._confirmed: set[str] = set()
        self._lock = threading.Lock()

    @property
    def provider(self) -> str:
        return "openrouter" if "openrouter.ai" in self._base_url else "openai-compatible"

    @property
    def base_url(self) -> str:
        return self._base_url

    def structured_mode(self, model: str) -> StructuredMode:
        """The response-format mode the next structured request for ``model`` will use."""
        with self._lock:
            return self._modes.get(self._registry.endpoint_id(model), StructuredMode.JSON_SCHEMA)

    def complete(self, request: Request) -> Completion:
        """Send ``request`` to ``{base_url}/chat/completions``.

        Raises:
            AuthenticationError: 401/403.
            CreditExhausted: 402.
            ContextLengthExceeded: the endpoint says the prompt does not fit.
            ProviderError: any other error status (with ``retry_after``), or ``status=None``
                for timeouts and connection errors.
        """
        model = request.model or self._default_model
        if model is None:
            raise ConfigurationError(
                "the request names no model and the endpoint has no default_model; "
                "set TIMEPOINT_LLM_MODEL or let the gateway select one"
            )
        endpoint_model = self._registry.endpoint_id(model)
        schema = request.output_schema
        started = time.perf_counter()
        while True:
            mode = self._current_mode(endpoint_model) if schema is not None else None
            response = self._post(self._body(request, endpoint_model, mode), model)
            if response.status_code < 400:
                data = self._json(response, model)
                if "error" in data and not data.get("choices"):
                    raise self._error(_error_status(data), _error_text(data), response, model)
                if mode is not None:
                    self._confirm(endpoint_model)
                return self._completion(data, model, started)
            text = _error_text_of(response)
            if mode is not None and self._format_rejected(
                response.status_code, text, endpoint_model, mode
            ):
                self._demote(endpoint_model, mode)
                continue
            raise self._error(response.status_code, text, response, model)

    def close(self) -> None:
        """Close the private HTTP client (an injected one is left open)."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> OpenAICompatibleModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"OpenAICompatibleModel(base_url={self._base_url!r}, "
            f"default_model={self._default_model!r}, key={'set' if self._key else 'unset'})"
        )

    __str__ = __repr__

    # -- request building ---------------------------------------------------------------------

    def _body(self, request: Request, model: str, mode: StructuredMode | None) -> dict[str, Any]:
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
        if self.provider == "openrouter":
            body["usage"] = {"include": True}
        if schema is not None and mode is StructuredMode.JSON_SCHEMA:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": _schema_name(schema),
                    "schema": schema.model_json_schema(),
                    "strict": False,
                },
            }
        elif schema is not None and mode is StructuredMode.JSON_OBJECT:
            body["response_format"] = {"type": "json_object"}
        return body

    def _post(self, body: dict[str, Any], model: str) -> httpx.Response:
        url = f"{self._base_url}/chat/completions"
        headers = {"Content-Type": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        try:
            return self._client.post(url, content=json.dumps(body), headers=headers)
        except httpx.TimeoutException as error:
            raise ProviderError(
                f"{url} did not answer within {self._timeout:g}s for model {model!r} "
                f"({type(error).__name__}); it will be retried, or raise TIMEPOINT_LLM_TIMEOUT",
                status=None,
            ) from None
        except httpx.TransportError as error:
            raise ProviderError(
                f"could not reach {url} ({type(error).__name__}: {self._redact(str(error))}); "
                "check TIMEPOINT_LLM_BASE_URL and the network",
                status=None,
            ) from None

    # -- structured-output degradation ----------------------------------------------------------

    def _current_mode(self, endpoint_model: str) -> StructuredMode:
        with self._lock:
            return self._modes.get(endpoint_model, StructuredMode.JSON_SCHEMA)

    def _confirm(self, endpoint_model: str) -> None:
        with self._lock:
            self._confirmed.add(endpoint_model)

    def _demote(self, endpoint_model: str, failed: StructuredMode) -> None:
        with self._lock:
            current = self._modes.get(endpoint_model, StructuredMode.JSON_SCHEMA)
            if current is failed:
                self._modes[endpoint_model] = _ORDER[_ORDER.index(failed) + 1]
                self._confirmed.discard(endpoint_model)

    def _format_rejected(
        self, status: int, text: str, endpoint_model: str, mode: StructuredMode
    ) -> bool:
        if mode is StructuredMode.PROMPT:
            return False
        if status in _NO_FALLBACK_STATUSES or _CONTEXT_WORDING.search(text):
            return False
        if _FORMAT_WORDING.search(text):
            return True
        with self._lock:
            first_try = endpoint_model not in self._confirmed
        return first_try and status in (400, 422, 500)

    # -- responses ------------------------------------------------------------------------------

    def _json(self, response: httpx.Response, model: str) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise ProviderError(
                f"{self._base_url}/chat/completions answered HTTP {response.status_code} for "
                f"model {model!r} with a body that is not a JSON object: "
                f"{self._redact(response.text[:200])!r}",
                status=None,
            )
        return data

    def _completion(self, data: dict[str, Any], model: str, started: float) -> Completion:
        choices = data.get("choices") or []
        if not choices or not isinstance(choices[0], dict):
            raise ProviderError(
                f"{self._base_url} answered without choices for model {model!r}: "
                f"{self._redact(json.dumps(data)[:200])}",
                status=None,
            )
        content = (choices[0].get("message") or {}).get("content")
        if isinstance(content, list):
            content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
        usage = data.get("usage") or {}
        cost = usage.get("cost")
        return Completion(
            text=content or "",
            model=model,
            provider=self.provider,
            usage=Usage(
                prompt_tokens=int(usage.get("prompt_tokens") or 0),
                completion_tokens=int(usage.get("completion_tokens") or 0),
            ),
            cost_usd=float(cost) if isinstance(cost, int | float) else 0.0,
            latency_ms=(time.perf_counter() - started) * 1000,
        )

    def _error(
        self, status: int | None, text: str, response: httpx.Response, model: str
    ) -> ProviderError:
        detail = self._redact(text)
        where = f"{self._base_url}/chat/completions"
        if status in (401, 403):
            return AuthenticationError(
                f"{where} refused the API key (HTTP {status}): {detail}; check "
                "TIMEPOINT_LLM_API_KEY (or OPENROUTER_API_KEY) and that the key is active",
                status=status,
            )
        if status == 402:
            return CreditExhausted(
                f"{where}: the account is out of credit (HTTP 402): {detail}; add credit or "
                "lower the budget. Runs and batches stop here",
                status=status,
            )
        if status in (400, 413, 422) and _CONTEXT_WORDING.search(text):
            return ContextLengthExceeded(
                f"the prompt does not fit the context window of model {model!r} "
                f"(HTTP {status}): {detail}; pick a model with a larger context or lower the "
                "fidelity",
                status=status,
            )
        return ProviderError(
            f"{where} answered HTTP {status} for model {model!r}: {detail}",
            status=status,
            retry_after=_retry_after(response.headers.get("retry-after")),
        )

    def _redact(self, text: str) -> str:
        if self._key and self._key in text:
            text = text.replace(self._key, "[redacted]")
        return text


def _with_schema_instruction(messages: list[Message], schema: type[BaseModel]) -> list[Message]:
    instruction = (
        "Answer with one JSON object only: no prose, no code fences. It must validate against "
        f"this JSON schema:\n{json.dumps(schema.model_json_schema(), separators=(',', ':'))}"
    )
    if messages and messages[0].role == "system":
        first = Message(role="system", content=f"{messages[0].content}\n\n{instruction}")
        return [first, *messages[1:]]
    return [Message(role="system", content=instruction), *messages]


def _schema_name(schema: type[BaseModel]) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", schema.__name__)[:64] or "answer"


def _error_text_of(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:500] or response.reason_phrase
    return _error_text(data) if isinstance(data, dict) else response.text[:500]


def _error_text(data: dict[str, Any]) -> str:
    error = data.get("error")
    if isinstance(error, dict):
        message = str(error.get("message") or error)
        metadata = error.get("metadata")
        raw = metadata.get("raw") if isinstance(metadata, dict) else None
        return f"{message} ({raw})"[:500] if raw else message[:500]
    if isinstance(error, str):
        return error[:500]
    return json.dumps(data)[:500]


def _error_status(data: dict[str, Any]) -> int | None:
    error = data.get("error")
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, int) and 400 <= code < 600 else 502


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())
