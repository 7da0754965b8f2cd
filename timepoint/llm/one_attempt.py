"""One HTTP request per call: the switch a meter sets so that it sees every attempt.

A provider may step past a structured-output form the endpoint refuses or ignores by re-sending
the request within one call. Inside :func:`one_attempt_per_call` it sends exactly one request
instead and raises :class:`~timepoint.llm.http_errors.FormatRefused` (the next form already
chosen), so the :class:`~timepoint.llm.meter.MeteredModel` reserves and records every attempt.
The switch is a context variable: it holds for the calling thread or task only.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

#: set while a caller meters each HTTP attempt on its own
_ONE_ATTEMPT: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "timepoint_one_attempt", default=False
)


@contextmanager
def one_attempt_per_call() -> Iterator[None]:
    """Within this block, :meth:`~timepoint.llm.openai_compat.OpenAICompatibleModel.complete`
    sends exactly one HTTP request: a structured-output form the endpoint refuses or ignores
    raises :class:`~timepoint.llm.http_errors.FormatRefused` (the next form already chosen)
    instead of being re-sent inside the call, so the meter reserves and records every attempt."""
    token = _ONE_ATTEMPT.set(True)
    try:
        yield
    finally:
        _ONE_ATTEMPT.reset(token)


def one_attempt_only() -> bool:
    """Whether the current call must send exactly one HTTP request."""
    return _ONE_ATTEMPT.get()
