"""RunContext: everything a run needs, built once at its start and passed down explicitly."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel

from timepoint.engine.progress import NullProgress, ProgressSink
from timepoint.engine.record import ModelChoice
from timepoint.llm.base import ActionType, CallRecord, Completion, Request
from timepoint.llm.task_data import task_request


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


def ask_model(
    ctx: RunContext,
    action: ActionType,
    schema: type[BaseModel],
    *,
    system: str,
    prompt: str,
    data: dict[str, Any],
    max_tokens: int,
    on_demand: bool = False,
) -> Completion:
    """Send one structured request (a system and a user message) under the run's seed.

    Args:
        ctx: the run context whose gateway answers and whose seed the request carries.
        action: the kind of call, for model selection and accounting.
        schema: the pydantic model the answer must validate against.
        system: the system message.
        prompt: the prose of the user message.
        data: the same content as structured data; it is appended to the user message as a
            fenced block (see :mod:`timepoint.llm.task_data`).
        max_tokens: the answer's token cap.
        on_demand: the call answers a question about a finished run (accounting only).
    """
    return ctx.gateway.complete(
        task_request(
            action,
            schema,
            system=system,
            prose=prompt,
            data=data,
            seed=ctx.seed,
            max_tokens=max_tokens,
            on_demand=on_demand,
        )
    )
