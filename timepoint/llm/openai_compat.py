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

import threading
import time
from collections.abc import Sequence
from typing import Any

import httpx
from pydantic import SecretStr

from timepoint.errors import (
    ConfigurationError,
    ProviderError,
)
from timepoint.llm.base import Completion, Request
from timepoint.llm.chat_wire import (
    chat_body,
    parse_completion,
    price_ceiling,
    read_json,
    with_probes,
)
from timepoint.llm.dialects import (
    IGNORABLE,
    LOCAL_LADDER,
    OPENROUTER_LADDER,
    DialectMemory,
    StructuredMode,
    honours,
)
from timepoint.llm.endpoint import DEFAULT_LOCAL_CONTEXT, ModelLimits, ServedModel, list_served
from timepoint.llm.http_errors import (
    FormatRefused,
    error_for,
    error_status,
    error_text,
    error_text_of,
    refuses_format,
)
from timepoint.llm.one_attempt import one_attempt_only
from timepoint.llm.registry import Registry
from timepoint.llm.streamed_post import post_streamed
from timepoint.redaction import check_key, public_url, redact_key

__all__ = ["OpenAICompatibleModel", "StructuredMode"]

#: the most bytes of one answer that are read (``TIMEPOINT_LLM_MAX_RESPONSE_BYTES``)
DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024


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
        if one_attempt_only() or request.output_schema is None:
            return self._attempt(request, model, endpoint_model)
        probes: list[Completion] = []
        for _ in range(len(self._dialects.ladder) + 1):
            try:
                completion = self._attempt(request, model, endpoint_model)
            except FormatRefused as refused:
                if refused.spent is not None:
                    probes.append(refused.spent)
                continue
            return with_probes(completion, probes)
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
        openrouter = self.provider == "openrouter"
        ceiling = (
            price_ceiling(self._registry, request.model or model, self._price_margin)
            if openrouter
            else None
        )
        return chat_body(request, model, mode, openrouter=openrouter, max_price=ceiling)

    def _post(self, body: dict[str, Any], model: str) -> tuple[int, bytes, httpx.Headers]:
        """Send ``body``; see :func:`~timepoint.llm.streamed_post.post_streamed`."""
        return post_streamed(
            self._client,
            f"{self._base_url}/chat/completions",
            body,
            headers=self._headers(),
            shown=f"{self._public}/chat/completions",
            model=model,
            timeout=self._timeout,
            max_bytes=self._max_bytes,
            redact=self._redact,
        )

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        return headers

    def _list_models(self) -> tuple[list[ServedModel] | None, str | None]:
        return list_served(
            self._client,
            f"{self._base_url}/models",
            headers=self._headers(),
            shown=f"{self._public}/models",
            redact=self._redact,
        )

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
        return refuses_format(status, text, confirmed=self._dialects.confirmed(endpoint_model))

    # -- responses ------------------------------------------------------------------------------

    def _json(self, response: httpx.Response, model: str) -> dict[str, Any]:
        where = f"{self._public}/chat/completions"
        return read_json(response, where=where, model=model, redact=self._redact)

    def _completion(self, data: dict[str, Any], model: str, started: float) -> Completion:
        return parse_completion(
            data,
            model=model,
            provider=self.provider,
            started=started,
            where=f"{self._public}/chat/completions",
            redact=self._redact,
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
