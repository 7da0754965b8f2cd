"""RunContext: everything a run needs, built once at its start and passed down explicitly."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from timepoint.engine.progress import NullProgress, ProgressSink
from timepoint.engine.record import ModelChoice
from timepoint.llm.base import CallRecord, Completion, Request


class Gateway(Protocol):
    """What the engine needs from the LLM layer: completion plus accounting."""

    @property
    def provider(self) -> str: ...

    def complete(self, request: Request) -> Completion: ...

    def calls(self) -> list[CallRecord]: ...

    def choices(self) -> list[ModelChoice]: ...


@dataclass
class RunContext:
    """The model gateway, the run's seeded RNG, the output home and the progress sink."""

    gateway: Gateway
    seed: int
    home: Path
    progress: ProgressSink = field(default_factory=NullProgress)
    max_concurrency: int = 8
    store: Any = None
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
