"""Wall-clock limits in tests, allowing for line tracing (``scripts/test.sh`` measures coverage,
which runs pure-Python code about twice as slowly)."""

from __future__ import annotations

import sys

#: how much slower code runs while a tracer (coverage) is installed
TRACED_SLOWDOWN = 3.0


def seconds(limit: float) -> float:
    """``limit``, stretched while coverage (or a debugger) traces every line."""
    return limit * TRACED_SLOWDOWN if sys.gettrace() is not None else limit
