"""Structured output: answers that validate against the request's pydantic schema, or an error.

When ``request.output_schema`` is set, :class:`StructuredModel` extracts JSON tolerantly from
the answer (see :mod:`timepoint.llm.json_extract`) and validates it. On failure it re-asks with
the validation errors, at most ``max_reasks`` times; each re-ask is a new inner call, so it is
metered like any other. A failed parse is never filled with defaults.
"""

from __future__ import annotations

from timepoint.errors import StructuredOutputError
from timepoint.llm.base import Completion, LanguageModel, Message, Request, Usage
from timepoint.llm.json_extract import parse_as

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


class StructuredModel:
    """Wraps a model; validates schema-bound answers and re-asks on failure.

    The returned completion carries ``parsed`` and the summed usage, cost, latency and
    attempts of every call it took.

    Args:
        inner: the wrapped model.
        max_reasks: corrections asked for after the first answer.
    """

    def __init__(self, inner: LanguageModel, max_reasks: int = 2):
        if max_reasks < 0:
            raise ValueError(f"max_reasks must be 0 or more, got {max_reasks}")
        self.inner = inner
        self.max_reasks = max_reasks

    @property
    def provider(self) -> str:
        return self.inner.provider

    def complete(self, request: Request) -> Completion:
        """Complete ``request``; with a schema, return only a validated answer.

        Raises:
            StructuredOutputError: no answer validated after ``max_reasks`` re-asks.
        """
        schema = request.output_schema
        if schema is None:
            return self.inner.complete(request)
        messages = request.messages
        spent: list[Completion] = []
        problems: list[str] = []
        for _ in range(self.max_reasks + 1):
            completion = self.inner.complete(request.with_messages(messages))
            spent.append(completion)
            if isinstance(completion.parsed, schema):
                return _combined(completion, completion.parsed, spent)
            parsed, problems = parse_as(schema, completion.text)
            if parsed is not None:
                return _combined(completion, parsed, spent)
            messages = (
                *messages,
                Message(role="assistant", content=completion.text[:ECHO_CHARS]),
                Message(role="user", content=reask_message(schema.__name__, problems)),
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
