"""Fitting a request into a model's context window, and sizing ``max_tokens``.

Sizes are estimated at ~4 characters a token (:func:`~timepoint.llm.base.estimate_tokens`),
the same estimate the meter reserves with. A request fits when its prompt plus ``max_tokens``
is at most the model's context window. ``max_tokens`` is never more than the model's output cap
or half its context window; when an answer is cut off it may be doubled up to a per-action
ceiling (:data:`RAISE_CEILING`), never past what the window leaves.
"""

from __future__ import annotations

from timepoint.errors import ContextLengthExceeded
from timepoint.llm.base import ActionType, Message, Request, estimate_tokens
from timepoint.llm.endpoint import ModelLimits

#: the largest ``max_tokens`` a cut-off answer may be retried with, per action
DEFAULT_RAISE_CEILING = 4096
RAISE_CEILING: dict[ActionType, int] = {
    ActionType.DIALOG_SYNTHESIS: 8192,
    ActionType.CONFIG_GENERATION: 8192,
    ActionType.SCENE_GENERATION: 8192,
    ActionType.PORTAL_BACKWARD_REASONING: 8192,
    ActionType.SUMMARIZATION: 8192,
    ActionType.RELEVANCE_SCORING: 1024,
    ActionType.KNOWLEDGE_VALIDATION: 2048,
}


def prompt_tokens(messages: tuple[Message, ...]) -> int:
    """Estimated prompt size of ``messages`` in tokens."""
    return estimate_tokens("".join(m.content for m in messages))


def output_cap(limits: ModelLimits) -> int:
    """The most ``max_tokens`` a model may be asked for: its output cap, at most half the window."""
    return max(1, min(limits.max_output, limits.context_window // 2))


def raised_max_tokens(request: Request, limits: ModelLimits | None) -> int:
    """``max_tokens`` for retrying a cut-off answer: doubled, within the action's ceiling, the
    model's output cap and what the window leaves after the prompt. Equal to the current value
    when it cannot grow."""
    current = request.max_tokens
    ceiling = RAISE_CEILING.get(request.action, DEFAULT_RAISE_CEILING)
    if limits is not None:
        room = limits.context_window - prompt_tokens(request.messages)
        ceiling = min(ceiling, output_cap(limits), room)
    return max(current, min(2 * current, ceiling))


def fit(request: Request, limits: ModelLimits | None, keep: int | None = None) -> Request:
    """``request`` made to fit ``limits``.

    ``max_tokens`` is capped at :func:`output_cap`. While the prompt plus ``max_tokens`` does
    not fit, the conversation after the first ``keep`` messages (failed answers and re-asks)
    is dropped oldest pair first. Then ``max_tokens`` may shrink to what the window leaves,
    down to half of what was asked.

    Raises:
        ContextLengthExceeded: the original messages alone do not fit (names the sizes).
    """
    if limits is None:
        return request
    window = limits.context_window
    max_tokens = min(request.max_tokens, output_cap(limits))
    messages = request.messages
    keep = len(messages) if keep is None else keep
    while prompt_tokens(messages) + max_tokens > window and len(messages) > keep:
        messages = (*messages[:keep], *messages[keep + 2 :])
    room = window - prompt_tokens(messages)
    if room < max_tokens and room * 2 >= max_tokens:
        max_tokens = room
    size = prompt_tokens(messages)
    if size + max_tokens > window:
        raise ContextLengthExceeded(
            f"{request.action.value}: the prompt (~{size} tokens at ~4 characters a token) plus "
            f"max_tokens {max_tokens} is {size + max_tokens} tokens, more than the "
            f"{window}-token context window of model {request.model!r} ({limits.source}); "
            "shorten the prompt (lower the fidelity or the number of entities), lower "
            "max_tokens, or pick a model with a larger context (a registry entry sets "
            "context_window)",
            status=None,
        )
    if messages == request.messages and max_tokens == request.max_tokens:
        return request
    return request.model_copy(update={"messages": messages, "max_tokens": max_tokens})
