"""Per-key rate limits (a token bucket per key) and monthly quotas (runs and USD).

Each key's bucket holds ``rate_per_minute`` requests and refills continuously; a request finding
it empty is refused with the seconds until the next token (``Retry-After``). Buckets and quotas
(work asked for this calendar month, UTC) are kept in the store, so they hold across restarts
and across every server process or replica that shares the store.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from timepoint.errors import QuotaExceeded, RateLimited
from timepoint.service.keys import ApiKey
from timepoint.store import Store
from timepoint.store.service import Bucket

#: Requests per minute a key gets when it was created without a rate.
DEFAULT_RATE_PER_MINUTE = 600


def take_token(old: Bucket | None, rate: int, now: float) -> tuple[Bucket, float]:
    """The bucket after one request at ``now``, and the seconds to wait (0: the request may go).

    A new bucket starts full; a clock behind the bucket's (another server's) refills nothing
    and does not move the bucket's time back.
    """
    per_second = rate / 60.0
    tokens, last = old if old is not None else (float(rate), now)
    tokens = min(float(rate), tokens + max(0.0, now - last) * per_second)
    latest = max(last, now)
    if tokens >= 1.0:
        return (tokens - 1.0, latest), 0.0
    wait = math.inf if per_second == 0 else (1.0 - tokens) / per_second
    return (tokens, latest), wait


class RateLimiter:
    """Token buckets, one per key, kept in ``store``; ``clock`` (seconds since the epoch, the
    same on every server) is injectable for tests."""

    def __init__(
        self,
        store: Store,
        default_per_minute: int = DEFAULT_RATE_PER_MINUTE,
        clock: Callable[[], float] = time.time,
    ):
        self.store = store
        self.default_per_minute = default_per_minute
        self._clock = clock

    def check(self, key: ApiKey) -> None:
        """Take one token from ``key``'s bucket.

        Raises:
            RateLimited: the bucket is empty; ``retry_after`` says when a token is back.
        """
        rate = key.rate_per_minute if key.rate_per_minute is not None else self.default_per_minute
        now = self._clock()
        wait = self.store.update_rate_bucket(key.key_id, lambda old: take_token(old, rate, now))
        if wait > 0:
            raise RateLimited(
                f"key {key.key_id} may make {rate} requests per minute; "
                f"retry in {math.ceil(wait) if wait != math.inf else 'never'} s",
                retry_after=wait,
            )


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
