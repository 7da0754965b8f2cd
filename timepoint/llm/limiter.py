"""Adaptive concurrency for one endpoint, plus an optional requests-per-minute cap.

The limit starts at ``initial`` and adapts: a 429 episode halves it, other signs of rate
limiting (503/529, 502/504, timeouts, a ``Retry-After`` on any error) multiply it by 0.8, and a
clean round of ``limit`` successes in a row raises it by one. An *episode* is all failures of
calls started before the limit last dropped, so a burst of concurrent 429s halves only once.

With ``queue_aware`` (self-hosted servers) the limiter also watches latency per completion
token: a server that answers one request at a time makes concurrent requests wait in its queue,
so their time per token grows with the number in flight. A success slower than
``QUEUE_FACTOR`` times the fastest recent one lowers the limit by one and holds it there for
``HOLD_ROUNDS`` rounds (twice as long after each further drop), so a serial server settles at
1; rounds are at least ``MIN_ROUND`` successes, so the fastest time comes from warm calls. The
limit also stops growing while a request queued behind another could outlast ``timeout``
(twice the last latency), so queueing never makes requests time out and be sent again while
the server is still generating them.
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
#: a success this many times slower per token than the fastest recent one counts as queued
QUEUE_FACTOR = 1.6
#: rounds (``limit`` successes each) the limit is held after queueing was seen
HOLD_ROUNDS = 20
#: how many recent successes the fastest time per token is taken over
_BASELINE_WINDOW = 64
#: with queue awareness, a clean round is at least this many successes (so the fastest time
#: per token comes from warm, unqueued calls before concurrency grows)
MIN_ROUND = 4


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
        queue_aware: lower the limit when latency shows the server queues requests.
        timeout: the provider's per-request timeout in seconds (stops growth near it).
    """

    def __init__(
        self,
        inner: LanguageModel,
        initial: int = 20,
        minimum: int = 4,
        maximum: int = 100,
        requests_per_minute: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        queue_aware: bool = False,
        timeout: float | None = None,
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
        self.queue_aware = queue_aware
        self.timeout = timeout
        self._per_token: deque[float] = deque(maxlen=_BASELINE_WINDOW)
        self._hold = 0
        self._drops = 0
        self._last_latency = 0.0

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
        started = self._clock()
        try:
            completion = self.inner.complete(request)
        except ProviderError as error:
            self._release(epoch, error)
            raise
        except BaseException:
            self._release(epoch, None, success=False)
            raise
        latency = self._clock() - started
        per_token = latency / max(1, completion.usage.completion_tokens)
        self._release(epoch, None, success=True, latency=latency, per_token=per_token)
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

    def _release(
        self,
        epoch: int,
        error: ProviderError | None,
        success: bool = False,
        latency: float = 0.0,
        per_token: float = 0.0,
    ) -> None:
        with self._condition:
            self._in_flight -= 1
            if error is not None:
                factor = _backoff_factor(error)
                if factor is not None and epoch == self._epoch:
                    reduced = max(self.minimum, min(self._limit - 1, int(self._limit * factor)))
                    self._drop(reduced)
            elif success and self.queue_aware and self._queued(per_token):
                if epoch == self._epoch:
                    self._drops += 1
                    self._drop(max(self.minimum, self._limit - 1))
                    self._hold = HOLD_ROUNDS * self._limit * 2 ** min(self._drops - 1, 4)
            elif success:
                self._last_latency = latency
                self._hold = max(0, self._hold - 1)
                self._streak += 1
                round_size = max(self._limit, MIN_ROUND) if self.queue_aware else self._limit
                if self._streak >= round_size and self._may_grow():
                    self._limit += 1
                    self._streak = 0
                    self._drops = max(0, self._drops - 1)
            self._condition.notify_all()

    def _drop(self, limit: int) -> None:
        self._limit = max(self.minimum, limit)
        self._epoch += 1
        self._streak = 0

    def _queued(self, per_token: float) -> bool:
        baseline = min(self._per_token, default=per_token)
        self._per_token.append(per_token)
        return per_token > QUEUE_FACTOR * baseline

    def _may_grow(self) -> bool:
        if self._limit >= self.maximum or self._hold > 0:
            return False
        if self.queue_aware and self.timeout is not None:
            return 2 * self._last_latency < self.timeout
        return True

    def __repr__(self) -> str:
        return f"LimitedModel({self.inner!r}, limit={self.limit})"


def _backoff_factor(error: ProviderError) -> float | None:
    if error.status == 429:
        return 0.5
    if error.status is None or error.status in _OVERLOAD_STATUSES or error.retry_after is not None:
        return 0.8
    return None
