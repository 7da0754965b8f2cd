"""RunContext: everything a run needs, built once at its start and passed down explicitly."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel

from timepoint.kernel.grounded import record_dropped
from timepoint.kernel.progress import NullProgress, ProgressSink
from timepoint.llm.base import ActionType, CallRecord, Completion, Request, Usage
from timepoint.llm.grounded_schema import grounding_of
from timepoint.llm.grounding import settle
from timepoint.llm.task_data import task_request
from timepoint.world.record import ModelChoice

if TYPE_CHECKING:
    from timepoint.kernel.state import WorldState


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
    recorded_in: tuple[WorldState, str, str] | None = None,
    timepoint_id: str | None = None,
    subject: str | None = None,
) -> Completion:
    """Send one structured request (a system and a user message) under the run's seed.

    When ``schema`` was built by :func:`~timepoint.llm.grounded_schema.grounded`, names in id fields
    are mapped to ids and what names nothing is re-asked once, then dropped; the drops are
    recorded in ``recorded_in`` (the state, the ledger's mechanism, the validation target).
    The returned completion carries the settled answer and the tokens of every call.

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
        recorded_in: where drops are recorded: ``(state, mechanism, target)``.
        timepoint_id: the timepoint a drop is recorded against.
        subject: what the call is for (a timepoint, dialog or question), recorded with it.
    """
    request = task_request(
        action,
        schema,
        system=system,
        prose=prompt,
        data=data,
        seed=ctx.seed,
        max_tokens=max_tokens,
        on_demand=on_demand,
        subject=subject,
    )
    completion = ctx.gateway.complete(request)
    if grounding_of(schema) is None:
        return completion
    settled = settle(ctx.gateway.complete, request, completion)
    if recorded_in is not None:
        state, mechanism, target = recorded_in
        record_dropped(state, mechanism, target, settled, timepoint_id=timepoint_id)
    elif settled.dropped:
        raise ValueError(f"{action.value}: ids were dropped with nowhere to record them")
    update: dict[str, Any] = {"parsed": settled.parsed}
    if settled.reasked:  # the tokens of the re-asks too (split unknown: counted as prompt)
        update["usage"] = Usage(prompt_tokens=settled.tokens, completion_tokens=0)
    return completion.model_copy(update=update)
