"""Progress events of a run and the sinks that show them."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Protocol


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


class BarProgress:
    """A tqdm bar over the run's timepoints (text in a terminal, a widget in notebooks).

    Steps without a known total only update the bar's label.
    """

    def __init__(self, description: str = "run", notebook: bool = False):
        if notebook:
            from tqdm.auto import tqdm
        else:
            from tqdm import tqdm
        self._bar: Any = tqdm(total=1, desc=description, unit="tp", leave=False)
        self._closed = False

    def emit(self, event: ProgressEvent) -> None:
        if event.total:
            self._bar.total = event.total
            self._bar.n = min(event.done, event.total)
        self._bar.set_postfix_str(f"{event.step} {event.detail}".strip()[:60])

    def close(self, completed: bool = True) -> None:
        """Take the bar off the terminal (filled first when ``completed``); safe to repeat."""
        if self._closed:
            return
        self._closed = True
        if completed:
            self._bar.n = self._bar.total
            self._bar.refresh()
        self._bar.close()


class Ticker:
    """A one-line elapsed-time indicator for commands that wait on a model without steps.

    Use as a context manager; the line is refreshed every ``interval`` seconds and removed on
    exit, before anything else is printed.
    """

    def __init__(self, description: str, interval: float = 1.0):
        from tqdm import tqdm

        self._bar: Any = tqdm(
            total=None, desc=description, bar_format="{desc} {elapsed}", leave=False
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
