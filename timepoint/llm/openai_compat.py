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

import contextvars
import json
import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

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
    DeadlineExceeded,
    FormatRefused,
    MalformedResponse,
    ResponseTooLarge,
    error_for,
    error_status,
    error_text,
    error_text_of,
)
from timepoint.llm.registry import Registry
from timepoint.redaction import check_key, public_url, redact_key

__all__ = ["OpenAICompatibleModel", "StructuredMode"]

_FORMAT_WORDING = re.compile(
    r"response_format|json[ _-]?schema|json_object|structured output|guided_json|grammar",
    re.I,
)
_NO_FALLBACK_STATUSES = {401, 402, 403, 404, 408, 409, 429}

#: the most bytes of one answer that are read (``TIMEPOINT_LLM_MAX_RESPONSE_BYTES``)
DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024

#: set while a caller meters each HTTP attempt on its own (see :func:`one_attempt_per_call`)
_ONE_ATTEMPT: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "timepoint_one_attempt", default=False
)


@contextmanager
def one_attempt_per_call() -> Iterator[None]:
    """Within this block, :meth:`OpenAICompatibleModel.complete` sends exactly one HTTP
    request: a structured-output form the endpoint refuses or ignores raises
    :class:`~timepoint.llm.http_errors.FormatRefused` (the next form already chosen) instead
    of being re-sent inside the call, so the meter reserves and records every attempt."""
    token = _ONE_ATTEMPT.set(True)
    try:
        yield
    finally:
        _ONE_ATTEMPT.reset(token)


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


class OpenAICompatibleModel:
    """A :class:`~timepoint.llm.base.LanguageModel` over an OpenAI-compatible HTTP endpoint.

    Thread-safe: one ``httpx.Client`` serves all threads.

    Args:
        base_url: endpoint root, e.g. ``https://openrouter.ai/api/v1`` or
            ``http://127.0.0.1:8080/v1``.
        api_key: the key (a string or ``SecretStr``); local servers accept any value.
        default_model: model id used when a request names none.
        timeout: total seconds one request may take, from sending it to the last byte of the
            answer (connecting gets at most 15 s of it; waiting for a pooled connection is not
            limited, the limiter bounds that). The answer is streamed and the deadline checked
            as bytes arrive, so an endpoint that trickles its answer is cut off at the deadline
            (plus at most one wait for the next byte, itself capped at ``timeout``).
        http_client: an ``httpx.Client`` to use instead of a private one (e.g. with a
            ``MockTransport``); it is not closed by :meth:`close`.
        registry: maps registry ids to endpoint ids (default: the shipped registry);
            ids it does not know are sent unchanged.
        ladder: the structured-output modes to try, best first (default: the OpenAI forms on
            OpenRouter, every dialect elsewhere).
        max_response_bytes: the most bytes of one answer that are read; a larger answer fails
            with :class:`~timepoint.llm.http_errors.ResponseTooLarge`.
        price_margin: on OpenRouter, requests for a model with a registry price carry
            ``provider.max_price`` at that price times this margin, so no provider charges more
            than the budgets reserved.

    Raises:
        ConfigurationError: the key holds a character HTTP headers cannot carry (non-ASCII).
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
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        price_margin: float = 1.25,
    ):
        self._base_url = base_url.rstrip("/")
        self._public = public_url(self._base_url)
        self._key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        check_key(self._key)
        self._max_bytes = max_response_bytes
        self._price_margin = price_margin
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
        self._pending: dict[str, list[str]] = {}

    @property
    def provider(self) -> str:
        return "openrouter" if "openrouter.ai" in self._base_url else "openai-compatible"

    @property
    def local(self) -> bool:
        """True for self-hosted endpoints: anything that is not OpenRouter."""
        return self.provider != "openrouter"

    @property
    def base_url(self) -> str:
        """The endpoint root fit to print: no user info, query values redacted."""
        return self._public

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
        if _ONE_ATTEMPT.get() or request.output_schema is None:
            return self._attempt(request, model, endpoint_model)
        probes: list[Completion] = []
        for _ in range(len(self._dialects.ladder) + 1):
            try:
                completion = self._attempt(request, model, endpoint_model)
            except FormatRefused as refused:
                if refused.spent is not None:
                    probes.append(refused.spent)
                continue
            return _with_probes(completion, probes)
        return self._attempt(request, model, endpoint_model)

    def _attempt(self, request: Request, model: str, endpoint_model: str) -> Completion:
        """One HTTP request; a refused or ignored structured-output form raises
        :class:`~timepoint.llm.http_errors.FormatRefused` after stepping the ladder."""
        schema = request.output_schema
        started = time.perf_counter()
        mode = self._dialects.current(endpoint_model) if schema is not None else None
        status, payload, headers = self._post(self._body(request, endpoint_model, mode), model)
        response = httpx.Response(status, headers=headers, content=payload)
        if status < 400:
            data = self._json(response, model)
            if "error" in data and not data.get("choices"):
                raise self._error(error_status(data), error_text(data), response, model)
            completion = self._completion(data, model, started)
            if mode is None or schema is None:
                return completion
            completion = completion.model_copy(update={"structured_mode": mode.value})
            if self._ignored(endpoint_model, mode, completion, schema):
                reason = "ignored: the answer did not follow the schema"
                if self._dialects.refuse(endpoint_model, mode, reason):
                    self._note_refusal(endpoint_model, f"{mode.value}: {reason}")
                    raise FormatRefused(
                        f"{self._public}/chat/completions ignored structured-output form "
                        f"{mode.value} for model {model!r}; re-sending with "
                        f"{self._dialects.current(endpoint_model).value}",
                        status=status,
                        spent=completion,
                    )
            if completion.finish_reason != "length" or honours(completion.text, schema):
                self._dialects.confirm(endpoint_model, mode)
            return completion.model_copy(
                update={"refused_modes": self._take_refusals(endpoint_model)}
            )
        text = error_text_of(response)
        if mode is not None and self._format_rejected(status, text, endpoint_model, mode):
            reason = f"HTTP {status}: {self._redact(text)[:160]}"
            if self._dialects.refuse(endpoint_model, mode, reason):
                self._note_refusal(endpoint_model, f"{mode.value}: {reason}")
                raise FormatRefused(
                    f"{self._public}/chat/completions refused structured-output form "
                    f"{mode.value} for model {model!r} ({reason}); re-sending with "
                    f"{self._dialects.current(endpoint_model).value}",
                    status=status,
                )
        raise self._error(status, text, response, model)

    def _note_refusal(self, endpoint_model: str, refusal: str) -> None:
        with self._served_lock:
            self._pending.setdefault(endpoint_model, []).append(refusal)

    def _take_refusals(self, endpoint_model: str) -> tuple[str, ...]:
        """The refusals not yet reported on an answer (reported on the next one)."""
        with self._served_lock:
            return tuple(self._pending.pop(endpoint_model, ()))

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
            f"OpenAICompatibleModel(base_url={self._public!r}, "
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
            ceiling = self._max_price(request.model or model)
            if ceiling is not None:
                body["provider"] = {"max_price": ceiling}
        if schema is not None and mode is not None:
            apply_mode(body, mode, schema)
        return body

    def _max_price(self, model: str) -> dict[str, float] | None:
        """OpenRouter's price ceiling for ``model`` (USD per million tokens): its registry price
        times the price margin; ``None`` when the registry has no price for it."""
        spec = self._registry.find(model) or self._registry.find_served(model)
        if spec is None or (spec.input_usd_per_m <= 0 and spec.output_usd_per_m <= 0):
            return None
        return {
            "prompt": round(spec.input_usd_per_m * self._price_margin, 6),
            "completion": round(spec.output_usd_per_m * self._price_margin, 6),
        }

    def _post(self, body: dict[str, Any], model: str) -> tuple[int, bytes, httpx.Headers]:
        """Send ``body``; returns the status, the whole body and the headers.

        The answer is streamed: reading stops at the total deadline (``timeout`` seconds after
        sending) and at ``max_response_bytes``.
        """
        url = f"{self._base_url}/chat/completions"
        shown = f"{self._public}/chat/completions"
        deadline = time.monotonic() + self._timeout
        status: int | None = None
        try:
            with self._client.stream(
                "POST", url, content=json.dumps(body), headers=self._headers()
            ) as response:
                status = response.status_code
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > self._max_bytes:
                    raise self._too_large(shown, model, status, f"{int(declared):,} bytes")
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > self._max_bytes:
                        raise self._too_large(shown, model, status, "more than that")
                    chunks.append(chunk)
                    if time.monotonic() > deadline:
                        raise self._late(shown, model, status, size)
                return status, b"".join(chunks), response.headers
        except httpx.TimeoutException as error:
            raise DeadlineExceeded(
                f"{shown} did not answer within {self._timeout:g}s for model {model!r} "
                f"({type(error).__name__}); raise TIMEPOINT_LLM_TIMEOUT for a slow server, or "
                "lower max_tokens",
                billed=status is not None and status < 400,
            ) from None
        except httpx.TransportError as error:
            raise ProviderError(
                f"could not reach {shown} ({type(error).__name__}: {self._redact(str(error))}); "
                "check TIMEPOINT_LLM_BASE_URL and the network",
                status=None,
            ) from None

    def _too_large(self, shown: str, model: str, status: int, got: str) -> ResponseTooLarge:
        return ResponseTooLarge(
            f"{shown} answered HTTP {status} for model {model!r} with a body larger than the "
            f"cap of {self._max_bytes:,} bytes ({got}); reading stopped at the cap. Lower "
            "max_tokens, or raise TIMEPOINT_LLM_MAX_RESPONSE_BYTES if the endpoint's answers "
            "really are that large",
            status=None,
            billed=status < 400,
        )

    def _late(self, shown: str, model: str, status: int, size: int) -> DeadlineExceeded:
        return DeadlineExceeded(
            f"{shown} answered HTTP {status} for model {model!r} but sent only {size:,} bytes "
            f"within the total deadline of {self._timeout:g}s; raise TIMEPOINT_LLM_TIMEOUT for "
            "a slow server, or lower max_tokens",
            billed=status < 400,
        )

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        return headers

    def _list_models(self) -> tuple[list[ServedModel] | None, str | None]:
        url = f"{self._base_url}/models"
        shown = f"{self._public}/models"
        try:
            response = self._client.get(url, headers=self._headers())
        except httpx.HTTPError as error:
            return None, f"{shown}: {type(error).__name__}: {self._redact(str(error))}"
        if response.status_code >= 400:
            return None, f"{shown} answered HTTP {response.status_code}"
        try:
            served = parse_models(response.json())
        except ValueError:
            return None, f"{shown} did not answer with JSON"
        return (served, None) if served else (None, f"{shown} listed no models")

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
        # an error status alone is evidence only when it says the request was malformed (400,
        # 422) and the form has never worked; a 5xx without format wording is transient
        return not self._dialects.confirmed(endpoint_model) and status in (400, 422)

    # -- responses ------------------------------------------------------------------------------

    def _json(self, response: httpx.Response, model: str) -> dict[str, Any]:
        try:
            data = json.loads(response.content)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise MalformedResponse(
                f"{self._public}/chat/completions answered HTTP {response.status_code} for "
                f"model {model!r} with a body that is not a JSON object: "
                f"{self._redact(response.content[:200].decode('utf-8', 'replace'))!r}; it was "
                "charged at its reservation. Check that TIMEPOINT_LLM_BASE_URL points at an "
                "OpenAI-compatible /v1 endpoint",
                status=None,
            )
        return data

    def _completion(self, data: dict[str, Any], model: str, started: float) -> Completion:
        try:
            answer = _ChatResponse.model_validate(data)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in problem['loc']) or 'body'}: {problem['msg']}"
                for problem in error.errors()[:5]
            )
            raise MalformedResponse(
                f"{self._public}/chat/completions answered HTTP 200 for model {model!r} with a "
                f"body that is not a chat completion ({problems}): "
                f"{self._redact(json.dumps(data)[:200])}; it was charged at its reservation. "
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
            provider=self.provider,
            usage=Usage(
                prompt_tokens=usage.prompt_tokens or 0,
                completion_tokens=usage.completion_tokens or 0,
            ),
            cost_usd=usage.cost or 0.0,
            latency_ms=(time.perf_counter() - started) * 1000,
            finish_reason=finish if isinstance(finish, str) else None,
        )

    def _error(
        self, status: int | None, text: str, response: httpx.Response, model: str
    ) -> ProviderError:
        return error_for(
            status,
            self._redact(text),
            where=f"{self._public}/chat/completions",
            model=model,
            retry_after_header=response.headers.get("retry-after"),
        )

    def _redact(self, text: str) -> str:
        """``text`` without the key (see :func:`~timepoint.redaction.redact_key`) and
        with the endpoint's URL in its printable form."""
        if self._base_url != self._public:
            text = text.replace(self._base_url, self._public)
        return redact_key(text, self._key)


def _with_schema_instruction(messages: list[Message], schema: type[BaseModel]) -> list[Message]:
    instruction = (
        "Answer with one JSON object only: no prose, no code fences. It must validate against "
        f"this JSON schema:\n{json.dumps(schema.model_json_schema(), separators=(',', ':'))}"
    )
    if messages and messages[0].role == "system":
        first = Message(role="system", content=f"{messages[0].content}\n\n{instruction}")
        return [first, *messages[1:]]
    return [Message(role="system", content=instruction), *messages]


def _with_probes(completion: Completion, probes: list[Completion]) -> Completion:
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
