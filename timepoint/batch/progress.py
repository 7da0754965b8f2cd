"""Batch progress: jobs finished of the total, with completed, failed, running and queued
counts, spend and ETA.

In a terminal or a notebook it is a tqdm bar (``tqdm.auto`` shows a widget in notebooks); in a
stream that is not a terminal (a captured log, CI) it writes a plain line at most every few
seconds and one at the end. ``running`` never exceeds the backend's job slots: jobs handed to
the backend beyond them are counted as queued. With the Dask backend the bar runs in the
driver, so Dask's own progress (the dashboard, ``distributed.progress``) can be watched at the
same time.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, Protocol, TextIO

from timepoint.kernel.progress import LINE_INTERVAL, is_terminal


class BatchProgress(Protocol):
    def update(
        self, *, finished: int, completed: int, failed: int, running: int, spent_usd: float
    ) -> None: ...

    def close(self) -> None: ...


class NoProgress:
    """Shows nothing."""

    def update(
        self, *, finished: int, completed: int, failed: int, running: int, spent_usd: float
    ) -> None:
        return None

    def close(self) -> None:
        return None


class BarProgress:
    """Progress over the jobs to run: a tqdm bar, or plain lines in a non-terminal stream.

    Args:
        total: jobs to run in this invocation.
        description: the label (the batch id).
        cap_usd: the batch cap, shown beside the spend.
        slots: jobs the backend runs at once; jobs in flight beyond them show as queued.
        stream: where it is shown (default ``sys.stderr``); a notebook gets a widget.
        interval: least seconds between two plain lines.
        clock: seconds, monotonic (tests pass their own).
    """

    def __init__(
        self,
        total: int,
        description: str,
        cap_usd: float | None = None,
        slots: int | None = None,
        stream: TextIO | None = None,
        interval: float = LINE_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._out = stream if stream is not None else sys.stderr
        self._total = total
        self._description = description
        self._cap = f"/{cap_usd:.2f}" if cap_usd is not None else ""
        self._slots = slots
        self._interval = interval
        self._clock = clock
        self._last: float | None = None
        self._line = ""
        self._written = ""
        self._shown = 0
        self._bar: Any = None
        if is_terminal(self._out) or (stream is None and _in_notebook()):
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=description, unit="job", dynamic_ncols=True)

    def counts(self, *, completed: int, failed: int, running: int, spent_usd: float) -> str:
        """The counts as shown: ``ok 3 failed 1 running 2 queued 1 $0.0123/10.00``."""
        active = running if self._slots is None else min(running, self._slots)
        queued = f" queued {running - active}" if running > active else ""
        return (
            f"ok {completed} failed {failed} running {active}{queued} ${spent_usd:.4f}{self._cap}"
        )

    def update(
        self, *, finished: int, completed: int, failed: int, running: int, spent_usd: float
    ) -> None:
        text = self.counts(completed=completed, failed=failed, running=running, spent_usd=spent_usd)
        if self._bar is None:
            self._plain(finished, text)
            return
        if finished > self._shown:
            self._bar.update(finished - self._shown)
            self._shown = finished
        self._bar.set_postfix_str(text, refresh=True)

    def _plain(self, finished: int, text: str) -> None:
        line = f"{self._description}: {finished}/{self._total} jobs finished, {text}"
        self._line = line
        now = self._clock()
        if self._last is not None and now - self._last < self._interval:
            return
        self._last = now
        self._write(line)

    def _write(self, line: str) -> None:
        self._out.write(line + "\n")
        self._out.flush()
        self._written = line

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self._line and self._line != self._written:
            self._write(self._line)


def _in_notebook() -> bool:
    """True inside a running Jupyter kernel, where the bar is a widget, not frames in a log."""
    if "IPython" not in sys.modules:
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"
