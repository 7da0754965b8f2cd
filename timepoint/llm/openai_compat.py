"""The HTTP provider: any OpenAI-compatible ``/chat/completions`` endpoint.

OpenRouter by default; llama.cpp server, vLLM and Ollama work the same way. Client-side retries
are off (the retry layer owns backoff). Structured output walks a ladder of dialects per
endpoint model (see :mod:`timepoint.llm.dialects`): constrained forms first, then
``json_object``, then the schema in the system message alone; what works and what was refused is
remembered by the instance and reported on each completion.

An endpoint that is not OpenRouter is *self-hosted*: :meth:`OpenAICompatibleModel.served_models`
asks ``GET {base_url}/models`` once, served ids are sent unchanged, and
:meth:`OpenAICompatibleModel.limits` prefers the context length the endpoint advertises.

The API key only ever travels in the ``Authorization`` header: it is not in ``repr``, not in
error messages (echoes from the endpoint are redacted) and not in call records.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Sequence
from typing import Any

import httpx
from pydantic import BaseModel, SecretStr

from timepoint.errors import (
    ConfigurationError,
    ProviderError,
)
from timepoint.llm.base import Completion, Message, Request, Usage
from timepoint.llm.dialects import (
    IGNORABLE,
    LOCAL_LADDER,
    OPENROUTER_LADDER,
    DialectMemory,
    StructuredMode,
    apply_mode,
    honours,
)
from timepoint.llm.endpoint import DEFAULT_LOCAL_CONTEXT, ModelLimits, ServedModel, parse_models
from timepoint.llm.http_errors import (
    CONTEXT_WORDING,
    error_for,
    error_status,
    error_text,
    error_text_of,
)
from timepoint.llm.registry import Registry

__all__ = ["OpenAICompatibleModel", "StructuredMode"]

_FORMAT_WORDING = re.compile(
    r"response_format|json_schema|json_object|structured output|guided_json|grammar",
    re.I,
)
_NO_FALLBACK_STATUSES = {401, 402, 403, 404, 408, 409, 429}


class OpenAICompatibleModel:
    """A :class:`~timepoint.llm.base.LanguageModel` over an OpenAI-compatible HTTP endpoint.

    Thread-safe: one ``httpx.Client`` serves all threads.

    Args:
        base_url: endpoint root, e.g. ``https://openrouter.ai/api/v1`` or
            ``http://127.0.0.1:8080/v1``.
        api_key: the key (a string or ``SecretStr``); local servers accept any value.
        default_model: model id used when a request names none.
        timeout: seconds to wait for an answer once a request is sent (connecting gets at most
            15 s; waiting for a pooled connection is not limited, the limiter bounds that).
        http_client: an ``httpx.Client`` to use instead of a private one (e.g. with a
            ``MockTransport``); it is not closed by :meth:`close`.
        registry: maps registry ids to endpoint ids (default: the shipped registry);
            ids it does not know are sent unchanged.
        ladder: the structured-output modes to try, best first (default: the OpenAI forms on
            OpenRouter, every dialect elsewhere).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | SecretStr | None,
        default_model: str | None = None,
        timeout: float = 120.0,
        http_client: httpx.Client | None = None,
        registry: Registry | None = None,
        ladder: Sequence[StructuredMode] | None = None,
    ):
        self._base_url = base_url.rstrip("/")
        self._key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        self._default_model = default_model
        self._timeout = timeout
        self._registry = registry if registry is not None else Registry.load()
        self._owns_client = http_client is None
        self._client = http_client or httpx.Client(
            transport=httpx.HTTPTransport(retries=0),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 15.0), pool=None),
        )
        default_ladder = LOCAL_LADDER if self.local else OPENROUTER_LADDER
        self._dialects = DialectMemory(tuple(ladder) if ladder else default_ladder)
        self._served: list[ServedModel] | None = None
        self._served_error: str | None = None
        self._served_lock = threading.Lock()

    @property
    def provider(self) -> str:
        return "openrouter" if "openrouter.ai" in self._base_url else "openai-compatible"

    @property
    def local(self) -> bool:
        """True for self-hosted endpoints: anything that is not OpenRouter."""
        return self.provider != "openrouter"

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def timeout(self) -> float:
        return self._timeout

    def structured_mode(self, model: str) -> StructuredMode:
        """The structured-output mode the next schema-bound request for ``model`` will use."""
        return self._dialects.current(self.endpoint_id(model))

    def refused_modes(self, model: str) -> dict[StructuredMode, str]:
        """The structured-output modes the endpoint refused or ignored for ``model``."""
        return self._dialects.refused(self.endpoint_id(model))

    def served_models(self) -> list[ServedModel] | None:
        """The models ``GET {base_url}/models`` lists (asked once, then cached); ``None`` when
        the endpoint is OpenRouter or the listing failed (:attr:`served_error` says why)."""
        if not self.local:
            return None
        with self._served_lock:
            if self._served is None and self._served_error is None:
                self._served, self._served_error = self._list_models()
            return list(self._served) if self._served is not None else None

    @property
    def served_error(self) -> str | None:
        """Why listing the served models failed, if it did."""
        return self._served_error

    def endpoint_id(self, model: str) -> str:
        """The id sent to the endpoint: a served id unchanged, else the registry's mapping."""
        if self.local:
            served = self.served_models() or []
            if any(entry.id == model for entry in served):
                return model
        return self._registry.endpoint_id(model)

    def limits(self, model: str) -> ModelLimits | None:
        """The context window and output cap of ``model``; ``None`` when unknown (OpenRouter
        models outside the registry). Self-hosted: advertised, else registry, else the
        documented default of :data:`~timepoint.llm.endpoint.DEFAULT_LOCAL_CONTEXT`."""
        spec = self._registry.find(model)
        if not self.local:
            if spec is None:
                return None
            return ModelLimits(context_window=spec.context_window, max_output=spec.max_output)
        endpoint_model = self.endpoint_id(model)
        spec = spec or self._registry.find_served(endpoint_model)
        served = {entry.id: entry for entry in self.served_models() or []}
        advertised = served.get(endpoint_model)
        if advertised is not None and advertised.context_window:
            window, source = advertised.context_window, f"{self._base_url}/models"
        elif spec is not None:
            window, source = spec.context_window, "registry"
        else:
            window, source = DEFAULT_LOCAL_CONTEXT, "default"
        max_output = min(spec.max_output, window) if spec is not None else max(1, window // 2)
        return ModelLimits(context_window=window, max_output=max_output, source=source)

    def complete(self, request: Request) -> Completion:
        """Send ``request`` to ``{base_url}/chat/completions``.

        With a schema, structured-output modes the endpoint refuses (an HTTP error about the
        format) or ignores (a first answer that does not follow the schema) are stepped past
        within this call; their usage is included in the returned completion.

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
        endpoint_model = self.endpoint_id(model)
        schema = request.output_schema
        started = time.perf_counter()
        refusals: list[str] = []
        probes: list[Completion] = []
        while True:
            mode = self._dialects.current(endpoint_model) if schema is not None else None
            response = self._post(self._body(request, endpoint_model, mode), model)
            if response.status_code < 400:
                data = self._json(response, model)
                if "error" in data and not data.get("choices"):
                    raise self._error(error_status(data), error_text(data), response, model)
                completion = self._completion(data, model, started)
                if mode is None or schema is None:
                    return completion
                if self._ignored(endpoint_model, mode, completion, schema):
                    reason = "ignored: the answer did not follow the schema"
                    if self._dialects.refuse(endpoint_model, mode, reason):
                        refusals.append(f"{mode.value}: {reason}")
                        probes.append(completion)
                        continue
                if completion.finish_reason != "length" or honours(completion.text, schema):
                    self._dialects.confirm(endpoint_model, mode)
                return _with_probes(completion, mode, refusals, probes)
            text = error_text_of(response)
            if mode is not None and self._format_rejected(
                response.status_code, text, endpoint_model, mode
            ):
                reason = f"HTTP {response.status_code}: {self._redact(text)[:160]}"
                if self._dialects.refuse(endpoint_model, mode, reason):
                    refusals.append(f"{mode.value}: {reason}")
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
        if schema is not None and mode is not None:
            apply_mode(body, mode, schema)
        return body

    def _post(self, body: dict[str, Any], model: str) -> httpx.Response:
        url = f"{self._base_url}/chat/completions"
        try:
            return self._client.post(url, content=json.dumps(body), headers=self._headers())
        except httpx.TimeoutException as error:
            raise ProviderError(
                f"{url} did not answer within {self._timeout:g}s for model {model!r} "
                f"({type(error).__name__}); raise TIMEPOINT_LLM_TIMEOUT for a slow server, or "
                "lower max_tokens",
                status=None,
            ) from None
        except httpx.TransportError as error:
            raise ProviderError(
                f"could not reach {url} ({type(error).__name__}: {self._redact(str(error))}); "
                "check TIMEPOINT_LLM_BASE_URL and the network",
                status=None,
            ) from None

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        return headers

    def _list_models(self) -> tuple[list[ServedModel] | None, str | None]:
        url = f"{self._base_url}/models"
        try:
            response = self._client.get(url, headers=self._headers())
        except httpx.HTTPError as error:
            return None, f"{url}: {type(error).__name__}: {self._redact(str(error))}"
        if response.status_code >= 400:
            return None, f"{url} answered HTTP {response.status_code}"
        try:
            served = parse_models(response.json())
        except ValueError:
            return None, f"{url} did not answer with JSON"
        return (served, None) if served else (None, f"{url} listed no models")

    # -- structured-output ladder ---------------------------------------------------------------

    def _ignored(
        self, endpoint_model: str, mode: StructuredMode, completion: Completion, schema: type
    ) -> bool:
        """Whether an unconfirmed, ignorable mode's complete answer shows no sign of it."""
        if mode not in IGNORABLE or self._dialects.confirmed(endpoint_model):
            return False
        if completion.finish_reason == "length":
            return False
        return not honours(completion.text, schema)

    def _format_rejected(
        self, status: int, text: str, endpoint_model: str, mode: StructuredMode
    ) -> bool:
        if status in _NO_FALLBACK_STATUSES or CONTEXT_WORDING.search(text):
            return False
        if _FORMAT_WORDING.search(text):
            return True
        return not self._dialects.confirmed(endpoint_model) and status in (400, 422, 500)

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
        finish = choices[0].get("finish_reason")
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
            finish_reason=finish if isinstance(finish, str) else None,
        )

    def _error(
        self, status: int | None, text: str, response: httpx.Response, model: str
    ) -> ProviderError:
        return error_for(
            status,
            self._redact(text),
            where=f"{self._base_url}/chat/completions",
            model=model,
            retry_after_header=response.headers.get("retry-after"),
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


def _with_probes(
    completion: Completion, mode: StructuredMode, refusals: list[str], probes: list[Completion]
) -> Completion:
    spent = [*probes, completion]
    return completion.model_copy(
        update={
            "structured_mode": mode.value,
            "refused_modes": tuple(refusals),
            "usage": Usage(
                prompt_tokens=sum(c.usage.prompt_tokens for c in spent),
                completion_tokens=sum(c.usage.completion_tokens for c in spent),
            ),
            "cost_usd": sum(c.cost_usd for c in spent),
        }
    )
