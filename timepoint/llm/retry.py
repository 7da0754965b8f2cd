"""Retry with exponential backoff and jitter, honouring ``Retry-After``.

Retried: HTTP 408, 409, 429 and 5xx, timeouts and connection errors (``ProviderError`` with
``status=None``, malformed 200 answers included). Re-sent at once, without counting as a retry:
a structured-output form the endpoint refused or ignored (the next form is used). Never
retried: 400/401/403/404 and every other 4xx, context-length errors, answers over the size cap
and credit exhaustion (402), which stops the run.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from timepoint.errors import (
    AuthenticationError,
    ContextLengthExceeded,
    CreditExhausted,
    ProviderError,
)
from timepoint.llm.base import Completion, LanguageModel, Request
from timepoint.llm.http_errors import FormatRefused

RETRYABLE_STATUSES = frozenset({408, 409, 429})
#: most immediate re-sends of one call with another structured-output form
MAX_RESENDS = 8


def is_retryable(error: BaseException) -> bool:
    """Whether a failed call is worth repeating unchanged."""
    if not isinstance(error, ProviderError) or getattr(error, "retryable", True) is False:
        return False
    if isinstance(error, AuthenticationError | CreditExhausted | ContextLengthExceeded):
        return False
    status = error.status
    return status is None or status in RETRYABLE_STATUSES or 500 <= status < 600


class RetryingModel:
    """Wraps a model; repeats retryable failures up to ``max_attempts`` times in all.

    The wait before attempt ``n + 1`` is ``min(max_delay, base_delay * 2**(n-1))`` scaled by a
    random factor in [0.5, 1], and at least the endpoint's ``Retry-After``.

    Args:
        inner: the wrapped model.
        max_attempts: attempts in all, the first included.
        base_delay: seconds before the first retry (before jitter).
        max_delay: cap of the exponential backoff in seconds.
        sleep: how to wait (inject a recorder in tests).
        rng: source of jitter (default: a fresh ``random.Random``).
        max_retry_after: a ``Retry-After`` longer than this many seconds is not waited for;
            the error propagates instead.
    """

    def __init__(
        self,
        inner: LanguageModel,
        max_attempts: int = 4,
        base_delay: float = 0.5,
        max_delay: float = 20.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        max_retry_after: float = 300.0,
    ):
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        self.inner = inner
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._sleep = sleep
        self._rng = rng or random.Random()
        self.max_retry_after = max_retry_after

    @property
    def provider(self) -> str:
        return self.inner.provider

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        backoff = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        wait = backoff * (0.5 + 0.5 * self._rng.random())
        if retry_after is not None:
            wait = max(wait, retry_after)
        return wait

    def complete(self, request: Request) -> Completion:
        """Complete ``request``, retrying retryable errors; the last error propagates (its
        message then says how many attempts were made)."""
        attempt = 1
        resends = 0
        while True:
            try:
                completion = self.inner.complete(request)
            except FormatRefused:
                # the endpoint refused or ignored the structured-output form; the next form is
                # chosen already: re-send at once (each re-send is metered and recorded below)
                resends += 1
                if resends > MAX_RESENDS:
                    raise
                continue
            except ProviderError as error:
                if attempt >= self.max_attempts and attempt > 1 and is_retryable(error):
                    error.args = (f"{error} (gave up after {attempt} attempts)",)
                    raise
                if attempt >= self.max_attempts or not is_retryable(error):
                    raise
                if error.retry_after is not None and error.retry_after > self.max_retry_after:
                    raise
                self._sleep(self.delay(attempt, error.retry_after))
                attempt += 1
                continue
            if attempt == 1:
                return completion
            return completion.model_copy(update={"attempts": completion.attempts + attempt - 1})

    def __repr__(self) -> str:
        return f"RetryingModel({self.inner!r}, max_attempts={self.max_attempts})"
