"""Reading error answers of OpenAI-compatible endpoints (OpenAI and OpenRouter shapes)."""

from __future__ import annotations

import email.utils
import json
import re
from datetime import UTC, datetime
from typing import Any

import httpx

from timepoint.errors import (
    AuthenticationError,
    ContextLengthExceeded,
    CreditExhausted,
    ProviderError,
)

CONTEXT_WORDING = re.compile(
    r"context[ _-]?(length|window)|maximum context|too many tokens|prompt is too long"
    r"|exceeds? the (model'?s? )?(max|context)|input is too long",
    re.IGNORECASE,
)


_FORMAT_WORDING = re.compile(
    r"response_format|json[ _-]?schema|json_object|structured output|guided_json|grammar",
    re.I,
)
_NO_FALLBACK_STATUSES = {401, 402, 403, 404, 408, 409, 429}


def refuses_format(status: int, text: str, *, confirmed: bool) -> bool:
    """Whether an error answer (``status``, ``text``) refuses the structured-output form sent;
    ``confirmed`` says whether that form has worked for the model before."""
    if status in _NO_FALLBACK_STATUSES or CONTEXT_WORDING.search(text):
        return False
    if _FORMAT_WORDING.search(text):
        return True
    # an error status alone is evidence only when it says the request was malformed (400,
    # 422) and the form has never worked; a 5xx without format wording is transient
    return not confirmed and status in (400, 422)


def error_for(
    status: int | None, detail: str, *, where: str, model: str, retry_after_header: str | None
) -> ProviderError:
    """The error for an HTTP error answer; ``detail`` is the endpoint's (redacted) message."""
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
    if status in (400, 413, 422) and CONTEXT_WORDING.search(detail):
        return ContextLengthExceeded(
            f"the prompt does not fit the context window of model {model!r} "
            f"(HTTP {status}): {detail}; pick a model with a larger context or lower the "
            "fidelity",
            status=status,
        )
    return ProviderError(
        f"{where} answered HTTP {status} for model {model!r}: {detail}",
        status=status,
        retry_after=retry_after(retry_after_header),
    )


def error_text_of(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:500] or response.reason_phrase
    return error_text(data) if isinstance(data, dict) else response.text[:500]


def error_text(data: dict[str, Any]) -> str:
    error = data.get("error")
    if isinstance(error, dict):
        message = str(error.get("message") or error)
        metadata = error.get("metadata")
        raw = metadata.get("raw") if isinstance(metadata, dict) else None
        return f"{message} ({raw})"[:500] if raw else message[:500]
    if isinstance(error, str):
        return error[:500]
    return json.dumps(data)[:500]


def error_status(data: dict[str, Any]) -> int | None:
    error = data.get("error")
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, int) and 400 <= code < 600 else 502


def retry_after(value: str | None) -> float | None:
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


class FormatRefused(ProviderError):
    """The endpoint refused (an HTTP error about the format) or ignored (an answer that does
    not follow the schema) the structured-output form of this attempt; the next form on the
    ladder is already chosen, so the request is re-sent at once. ``spent`` is the ignored
    answer (its usage is charged), ``None`` for an HTTP error."""

    def __init__(self, message: str, status: int | None, spent: Any = None):
        super().__init__(message, status=status)
        self.spent = spent


class MalformedResponse(ProviderError):
    """A 200 answer that is not a chat completion; the endpoint may have billed it, so it is
    charged at its reservation (``billed``), and retried."""

    billed = True


class ResponseTooLarge(ProviderError):
    """A body larger than the configured cap; reading stopped there. Not retried."""

    retryable = False

    def __init__(self, message: str, status: int | None, billed: bool):
        super().__init__(message, status=status)
        self.billed = billed


class DeadlineExceeded(ProviderError):
    """No whole answer within the request's total deadline (``billed`` once the endpoint had
    begun a 200 answer)."""

    def __init__(self, message: str, billed: bool):
        super().__init__(message, status=None)
        self.billed = billed
