"""Adaptive concurrency for one endpoint, plus an optional requests-per-minute cap.

The limit starts at ``initial`` and adapts: a 429 episode halves it, other signs of rate
limiting (503/529, 502/504, timeouts, a ``Retry-After`` on any error) multiply it by 0.8, and a
clean round of ``limit`` successes in a row raises it by one. An *episode* is all failures of
calls started before the limit last dropped, so a burst of concurrent 429s halves only once.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from timepoint.errors import ProviderError
from timepoint.llm.base import Completion, LanguageModel, Request

_OVERLOAD_STATUSES = frozenset({502, 503, 504, 529})
_RPM_POLL_S = 0.25


class LimitedModel:
    """Wraps a model; at most ``limit`` calls run at once and at most ``requests_per_minute``
    start in any 60-second window.

    Args:
        inner: the wrapped model.
        initial: starting concurrency.
        minimum: the limit never drops below this.
        maximum: the limit never grows above this.
        requests_per_minute: optional cap on call starts per rolling minute.
        clock: monotonic seconds (inject in tests).
    """

    def __init__(
        self,
        inner: LanguageModel,
        initial: int = 20,
        minimum: int = 4,
        maximum: int = 100,
        requests_per_minute: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        if not 1 <= minimum <= initial <= maximum:
            raise ValueError(
                f"need 1 <= minimum <= initial <= maximum, got {minimum}, {initial}, {maximum}"
            )
        self.inner = inner
        self.minimum = minimum
        self.maximum = maximum
        self.requests_per_minute = requests_per_minute
        self._clock = clock
        self._limit = initial
        self._in_flight = 0
        self._streak = 0
        self._epoch = 0
        self._starts: deque[float] = deque()
        self._condition = threading.Condition()

    @property
    def provider(self) -> str:
        return self.inner.provider

    @property
    def limit(self) -> int:
        """The current concurrency limit."""
        with self._condition:
            return self._limit

    @property
    def in_flight(self) -> int:
        """Calls running right now."""
        with self._condition:
            return self._in_flight

    def complete(self, request: Request) -> Completion:
        epoch = self._acquire()
        try:
            completion = self.inner.complete(request)
        except ProviderError as error:
            self._release(epoch, error)
            raise
        except BaseException:
            self._release(epoch, None, success=False)
            raise
        self._release(epoch, None, success=True)
        return completion

    def _acquire(self) -> int:
        with self._condition:
            while True:
                if self._in_flight < self._limit:
                    wait = self._rpm_wait()
                    if wait <= 0:
                        break
                    self._condition.wait(timeout=min(wait, _RPM_POLL_S))
                else:
                    self._condition.wait()
            self._in_flight += 1
            if self.requests_per_minute:
                self._starts.append(self._clock())
            return self._epoch

    def _rpm_wait(self) -> float:
        if not self.requests_per_minute:
            return 0.0
        now = self._clock()
        while self._starts and now - self._starts[0] >= 60.0:
            self._starts.popleft()
        if len(self._starts) < self.requests_per_minute:
            return 0.0
        return 60.0 - (now - self._starts[0])

    def _release(self, epoch: int, error: ProviderError | None, success: bool = False) -> None:
        with self._condition:
            self._in_flight -= 1
            if error is not None:
                factor = _backoff_factor(error)
                if factor is not None and epoch == self._epoch:
                    reduced = max(self.minimum, min(self._limit - 1, int(self._limit * factor)))
                    self._limit = max(self.minimum, reduced)
                    self._epoch += 1
                    self._streak = 0
            elif success:
                self._streak += 1
                if self._streak >= self._limit and self._limit < self.maximum:
                    self._limit += 1
                    self._streak = 0
            self._condition.notify_all()

    def __repr__(self) -> str:
        return f"LimitedModel({self.inner!r}, limit={self.limit})"


def _backoff_factor(error: ProviderError) -> float | None:
    if error.status == 429:
        return 0.5
    if error.status is None or error.status in _OVERLOAD_STATUSES or error.retry_after is not None:
        return 0.8
    return None
