"""Structured output: answers that validate against the request's pydantic schema, or an error.

When ``request.output_schema`` is set, :class:`StructuredModel` extracts JSON tolerantly from
the answer (see :mod:`timepoint.llm.json_extract`) and validates it. An answer cut off at
``max_tokens`` (``finish_reason`` ``length`` or incomplete JSON) is asked again with a larger
``max_tokens`` (see :mod:`timepoint.llm.fitting`); other failures are re-asked with the
validation errors, at most ``max_reasks`` times. Each is a new inner call, so it is metered like
any other. A failed parse is never filled with defaults.

Before every call the request is fitted to the model's context window: re-ask history is
trimmed first, and :class:`~timepoint.errors.ContextLengthExceeded` names the sizes when the
original messages alone do not fit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel

from timepoint.errors import StructuredOutputError
from timepoint.llm.base import Completion, LanguageModel, Message, Request, Usage
from timepoint.llm.endpoint import ModelLimits
from timepoint.llm.fitting import fit, raised_max_tokens
from timepoint.llm.json_extract import parse_as

#: model id -> its context window and output cap (``None``: unknown, nothing is checked)
Limits = Callable[[str], ModelLimits | None]

S = TypeVar("S", bound=BaseModel)

#: how much of a rejected answer is echoed back in a re-ask
ECHO_CHARS = 4_000


def reask_message(schema_name: str, problems: list[str]) -> str:
    """The user message that asks the model to correct an answer."""
    listed = "\n".join(f"- {problem}" for problem in problems[:20])
    return (
        f"Your previous answer did not validate against the {schema_name} schema:\n{listed}\n"
        "Answer again with one complete JSON object only (no prose, no code fences) that fixes "
        "these problems. Keep it short enough to finish."
    )


def expect_answer(parsed: object, schema: type[S]) -> S:
    """``parsed`` as an answer of ``schema``.

    Raises:
        StructuredOutputError: it is not one, i.e. the model stack does not validate answers
            (build it with :func:`timepoint.llm.stack.build_gateway`, or wrap the provider in
            :class:`StructuredModel`).
    """
    if not isinstance(parsed, schema):
        raise StructuredOutputError(
            f"expected a validated {schema.__name__} answer, got {type(parsed).__name__}; the "
            "model stack must validate answers (wrap the provider in StructuredModel or build "
            "it with build_gateway)"
        )
    return parsed


class StructuredModel:
    """Wraps a model; validates schema-bound answers and re-asks on failure.

    The returned completion carries ``parsed`` and the summed usage, cost, latency and
    attempts of every call it took.

    Args:
        inner: the wrapped model.
        max_reasks: corrections asked for after the first answer.
        limits: the context window and output cap of a model id (default: none known).
        max_raises: how often a cut-off answer is asked again with a larger ``max_tokens``.
    """

    def __init__(
        self,
        inner: LanguageModel,
        max_reasks: int = 2,
        limits: Limits | None = None,
        max_raises: int = 2,
    ):
        if max_reasks < 0 or max_raises < 0:
            raise ValueError(
                f"max_reasks and max_raises must be 0 or more, got {max_reasks}, {max_raises}"
            )
        self.inner = inner
        self.max_reasks = max_reasks
        self.limits = limits
        self.max_raises = max_raises

    @property
    def provider(self) -> str:
        return self.inner.provider

    def complete(self, request: Request) -> Completion:
        """Complete ``request``; with a schema, return only a validated answer.

        Raises:
            StructuredOutputError: no answer validated after ``max_reasks`` re-asks.
            ContextLengthExceeded: the request does not fit the model's context window.
        """
        limits = self.limits(request.model) if self.limits and request.model else None
        schema = request.output_schema
        if schema is None:
            return self.inner.complete(fit(request, limits))
        keep = len(request.messages)
        current = request
        spent: list[Completion] = []
        problems: list[str] = []
        reasks = raises = 0
        while True:
            current = fit(current, limits, keep)
            completion = self.inner.complete(current)
            spent.append(completion)
            if isinstance(completion.parsed, schema):
                return _combined(completion, completion.parsed, spent)
            parsed, problems = parse_as(schema, completion.text)
            if parsed is not None:
                return _combined(completion, parsed, spent)
            if _cut_off(completion, problems) and raises < self.max_raises:
                larger = raised_max_tokens(current, limits)
                if larger > current.max_tokens:
                    raises += 1
                    current = current.model_copy(update={"max_tokens": larger})
                    continue
            if reasks >= self.max_reasks:
                break
            reasks += 1
            current = current.with_messages(
                (
                    *current.messages,
                    Message(role="assistant", content=completion.text[:ECHO_CHARS]),
                    Message(role="user", content=reask_message(schema.__name__, problems)),
                )
            )
        error = StructuredOutputError(
            f"{request.action.value}: {len(spent)} answers from model "
            f"{spent[-1].model!r} never validated against {schema.__name__}; last problems: "
            f"{'; '.join(problems[:5])}. Try a model with structured_json capability, a larger "
            "max_tokens, or a simpler schema"
        )
        error.problems = problems  # type: ignore[attr-defined]
        raise error

    def __repr__(self) -> str:
        return f"StructuredModel({self.inner!r}, max_reasks={self.max_reasks})"


def _cut_off(completion: Completion, problems: list[str]) -> bool:
    if completion.finish_reason == "length":
        return True
    return any("incomplete" in problem for problem in problems)


def _combined(last: Completion, parsed: object, spent: list[Completion]) -> Completion:
    if len(spent) == 1:
        return last.model_copy(update={"parsed": parsed})
    return last.model_copy(
        update={
            "parsed": parsed,
            "usage": Usage(
                prompt_tokens=sum(c.usage.prompt_tokens for c in spent),
                completion_tokens=sum(c.usage.completion_tokens for c in spent),
            ),
            "cost_usd": sum(c.cost_usd for c in spent),
            "latency_ms": sum(c.latency_ms for c in spent),
            "attempts": sum(c.attempts for c in spent),
        }
    )
