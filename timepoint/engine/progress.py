"""Progress events of a run and the sinks that show them."""

from __future__ import annotations

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


class RecordingProgress:
    """Keeps every event; useful in tests and notebooks."""

    def __init__(self) -> None:
        self.events: list[ProgressEvent] = []

    def emit(self, event: ProgressEvent) -> None:
        self.events.append(event)


class BarProgress:
    """A tqdm progress bar over the pipeline steps (text in a terminal, a widget in notebooks)."""

    def __init__(self, total_steps: int, description: str = "run", notebook: bool = False):
        if notebook:
            from tqdm.auto import tqdm
        else:
            from tqdm import tqdm
        self._bar: Any = tqdm(total=total_steps, desc=description, unit="step", leave=False)
        self._last_step: str | None = None

    def emit(self, event: ProgressEvent) -> None:
        if event.step != self._last_step:
            if self._last_step is not None:
                self._bar.update(1)
            self._last_step = event.step
        self._bar.set_postfix_str(f"{event.step} {event.detail}".strip()[:60])

    def close(self) -> None:
        self._bar.update(self._bar.total - self._bar.n)
        self._bar.close()
