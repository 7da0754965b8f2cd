"""Progress events of a run and the sinks that show them.

The numbers shown are true: a bar is full only once the run has completed (a stage that has
counted all its units while later work continues shows one short of its total), and a failed
run's bar stays where it stopped. A stream that is not a terminal (a captured log, CI) gets
plain lines instead of carriage-return frames: :class:`LineProgress`.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TextIO

#: seconds between two progress lines in a non-terminal stream
LINE_INTERVAL = 5.0


@dataclass(frozen=True)
class ProgressEvent:
    """``step`` is the pipeline step; ``done``/``total`` count its units when known."""

    step: str
    detail: str = ""
    done: int = 0
    total: int | None = None


class ProgressSink(Protocol):
    def emit(self, event: ProgressEvent) -> None: ...


class NullProgress:
    def emit(self, event: ProgressEvent) -> None:
        return None

    def close(self, completed: bool = True) -> None:
        return None


def shown_done(done: int, total: int) -> int:
    """``done`` as a running bar shows it: within ``0..total - 1`` (full means finished)."""
    return max(0, min(done, total - 1))


def is_terminal(stream: TextIO) -> bool:
    """True when ``stream`` is an interactive terminal (where carriage-return frames belong)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class LineProgress:
    """Plain progress lines for a stream that is not a terminal: one when a stage starts and
    while it lasts, at most one every ``interval`` seconds, and one when the run ends
    (``done in 4.2s``, or ``stopped at`` the step it failed in).

    Args:
        description: the start of every line.
        stream: where lines go (default ``sys.stderr``).
        interval: least seconds between two lines (the closing line is always written).
        clock: seconds, monotonic (tests pass their own).
    """

    def __init__(
        self,
        description: str = "run",
        stream: TextIO | None = None,
        interval: float = LINE_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._description = description
        self._stream = stream if stream is not None else sys.stderr
        self._interval = interval
        self._clock = clock
        self._started = clock()
        self._last: float | None = None
        self._shown: tuple[str, int] | None = None
        self._event = ProgressEvent("start")
        self._total = 1
        self._closed = False

    def emit(self, event: ProgressEvent) -> None:
        if event.total:
            self._total = event.total
        self._event = event
        now = self._clock()
        key = (event.step, event.done)
        if key == self._shown or (self._last is not None and now - self._last < self._interval):
            return
        self._last, self._shown = now, key
        self._write(self._line(event, shown_done(event.done, self._total)))

    def close(self, completed: bool = True) -> None:
        """Write the closing line (``done`` or where the run stopped); safe to repeat."""
        if self._closed:
            return
        self._closed = True
        event = self._event
        if completed:
            elapsed = self._clock() - self._started
            self._write(f"{self._description}: done in {elapsed:.1f}s")
        else:
            done = shown_done(event.done, self._total)
            self._write(
                f"{self._description}: stopped at {self._label(event)} ({done}/{self._total})"
            )

    def _line(self, event: ProgressEvent, done: int) -> str:
        return f"{self._description}: {self._label(event)} ({done}/{self._total})"

    @staticmethod
    def _label(event: ProgressEvent) -> str:
        return f"{event.step} {event.detail}".strip()[:60]

    def _write(self, line: str) -> None:
        self._stream.write(line + "\n")
        self._stream.flush()


class BarProgress:
    """A tqdm bar over the run's timepoints (text in a terminal, a widget in notebooks); in a
    stream that is not a terminal, plain lines (:class:`LineProgress`) instead.

    Steps without a known total only update the bar's label.
    """

    def __init__(
        self, description: str = "run", notebook: bool = False, stream: TextIO | None = None
    ):
        out = stream if stream is not None else sys.stderr
        self._lines = None if notebook or is_terminal(out) else LineProgress(description, out)
        self._bar: Any = None
        if self._lines is None:
            if notebook:
                from tqdm.auto import tqdm
            else:
                from tqdm import tqdm
            self._bar = tqdm(total=1, desc=description, unit="tp", leave=False, file=out)
        self._closed = False

    def emit(self, event: ProgressEvent) -> None:
        if self._lines is not None:
            self._lines.emit(event)
            return
        if event.total:
            self._bar.total = event.total
            self._bar.n = shown_done(event.done, event.total)
        self._bar.set_postfix_str(f"{event.step} {event.detail}".strip()[:60])

    def close(self, completed: bool = True) -> None:
        """Take the bar off the terminal (filled first when ``completed``); safe to repeat."""
        if self._closed:
            return
        self._closed = True
        if self._lines is not None:
            self._lines.close(completed)
            return
        if completed:
            self._bar.n = self._bar.total
            self._bar.refresh()
        self._bar.close()


class Ticker:
    """A one-line elapsed-time indicator for commands that wait on a model without steps.

    Use as a context manager; the line is refreshed every ``interval`` seconds and removed on
    exit, before anything else is printed. In a stream that is not a terminal it writes the
    description once, as a plain line.
    """

    def __init__(self, description: str, interval: float = 1.0, stream: TextIO | None = None):
        from tqdm import tqdm

        out = stream if stream is not None else sys.stderr
        terminal = is_terminal(out)
        if not terminal:
            out.write(description + "\n")
        self._bar: Any = tqdm(
            total=None,
            desc=description,
            bar_format="{desc} {elapsed}",
            leave=False,
            file=out,
            disable=not terminal,
        )
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, daemon=True)

    def _tick(self) -> None:
        while not self._stop.wait(self._interval):
            self._bar.refresh()

    def __enter__(self) -> Ticker:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._bar.close()
