"""Per-key rate limits (a token bucket per key) and monthly quotas (runs and USD).

The rate limiter lives in the web process: each key's bucket holds ``rate_per_minute``
requests and refills continuously; a request finding it empty is refused with the seconds until
the next token (``Retry-After``). Quotas are counted in the store (work asked for this calendar
month, UTC), so they hold across restarts and servers.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from timepoint.errors import QuotaExceeded, RateLimited
from timepoint.service.keys import ApiKey
from timepoint.store import Store

#: Requests per minute a key gets when it was created without a rate.
DEFAULT_RATE_PER_MINUTE = 600


class RateLimiter:
    """Token buckets, one per key; ``clock`` is injectable for tests."""

    def __init__(
        self,
        default_per_minute: int = DEFAULT_RATE_PER_MINUTE,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.default_per_minute = default_per_minute
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, key: ApiKey) -> None:
        """Take one token from ``key``'s bucket.

        Raises:
            RateLimited: the bucket is empty; ``retry_after`` says when a token is back.
        """
        rate = key.rate_per_minute if key.rate_per_minute is not None else self.default_per_minute
        per_second = rate / 60.0
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key.key_id, (float(rate), now))
            tokens = min(float(rate), tokens + (now - last) * per_second)
            if tokens < 1.0:
                self._buckets[key.key_id] = (tokens, now)
                wait = math.inf if per_second == 0 else (1.0 - tokens) / per_second
                raise RateLimited(
                    f"key {key.key_id} may make {rate} requests per minute; "
                    f"retry in {math.ceil(wait) if wait != math.inf else 'never'} s",
                    retry_after=wait,
                )
            self._buckets[key.key_id] = (tokens - 1.0, now)


def check_quota(store: Store, key: ApiKey, jobs: int) -> float | None:
    """Refuse work of ``jobs`` simulations that would pass ``key``'s monthly quota.

    Returns:
        The USD the key may still spend this month (the work's budget cap), or None when it
        has no USD quota.

    Raises:
        QuotaExceeded: the runs or USD of this month are used up, saying what was used.
    """
    used_runs, used_usd = store.month_usage(key.key_id)
    if key.monthly_runs is not None and used_runs + jobs > key.monthly_runs:
        raise QuotaExceeded(
            f"key {key.key_id} may start {key.monthly_runs} runs a month; it has started "
            f"{used_runs} this month and this request needs {jobs}. The quota renews on the "
            "first of the month (UTC)."
        )
    if key.monthly_usd is None:
        return None
    left = key.monthly_usd - used_usd
    if left <= 0:
        raise QuotaExceeded(
            f"key {key.key_id} may spend {key.monthly_usd:.2f} USD a month and has spent "
            f"{used_usd:.2f} USD this month. The quota renews on the first of the month (UTC)."
        )
    return left
