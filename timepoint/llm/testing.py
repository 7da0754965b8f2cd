"""Test doubles for the LLM layer, shipped in the package and passed in through constructors.

:class:`ScriptedModel` replays a list of answers (texts, completions, exceptions or functions
of the request) and remembers every request it was given. :class:`RecordingModel` passes
requests on to another model and keeps each request with its completion.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from timepoint.errors import LLMError
from timepoint.llm.base import Completion, LanguageModel, Request, Usage, estimate_tokens

#: one scripted step: a text, a ready completion, an exception to raise, or a function
Step = str | Completion | BaseException | Callable[[Request], str | Completion]


class ScriptedModel:
    """A :class:`~timepoint.llm.base.LanguageModel` that replays ``script`` in order.

    Thread-safe. Texts become completions with estimated usage (prompt and answer at ~4
    characters a token) and ``cost_usd`` of ``cost_per_call``.

    Args:
        script: the steps, consumed one per call.
        repeat_last: keep replaying the last step once the script is used up (otherwise an
            :class:`~timepoint.errors.LLMError` says the script ran out).
        provider: the provider label to report.
        model: model id to report when the request names none.
        cost_per_call: provider-reported cost of each text answer.

    Example:
        >>> from timepoint.llm.base import Message, Request
        >>> model = ScriptedModel(['{"ok": true}'])
        >>> model.complete(Request(messages=(Message(role="user", content="hi"),))).text
        '{"ok": true}'
    """

    def __init__(
        self,
        script: Iterable[Step] = (),
        *,
        repeat_last: bool = False,
        provider: str = "scripted",
        model: str = "scripted-model",
        cost_per_call: float = 0.0,
    ):
        self._script = list(script)
        self._repeat_last = repeat_last
        self._provider = provider
        self._model = model
        self._cost = cost_per_call
        self._lock = threading.Lock()
        self.requests: list[Request] = []

    @property
    def provider(self) -> str:
        return self._provider

    @property
    def calls(self) -> int:
        """How many requests this model has received."""
        with self._lock:
            return len(self.requests)

    def push(self, *steps: Step) -> None:
        """Append steps to the script."""
        with self._lock:
            self._script.extend(steps)

    def complete(self, request: Request) -> Completion:
        with self._lock:
            index = len(self.requests)
            self.requests.append(request)
            if index < len(self._script):
                step = self._script[index]
            elif self._repeat_last and self._script:
                step = self._script[-1]
            else:
                raise LLMError(
                    f"ScriptedModel ran out of steps: call {index + 1} but the script has "
                    f"{len(self._script)}; add steps or pass repeat_last=True"
                )
        if isinstance(step, BaseException):
            raise step
        if callable(step) and not isinstance(step, Completion):
            step = step(request)
        if isinstance(step, Completion):
            return step
        return Completion(
            text=step,
            model=request.model or self._model,
            provider=self._provider,
            usage=Usage(
                prompt_tokens=estimate_tokens("".join(m.content for m in request.messages)),
                completion_tokens=estimate_tokens(step),
            ),
            cost_usd=self._cost,
        )

    def __repr__(self) -> str:
        return f"ScriptedModel({len(self._script)} steps, {self.calls} calls)"


class RecordingModel:
    """A model that passes every request to ``inner`` and keeps (request, completion) pairs.

    Thread-safe. Its provider label and cache identity are the inner model's, so a run treats
    it exactly as it would treat ``inner``.
    """

    def __init__(self, inner: LanguageModel):
        self.inner = inner
        self.exchanges: list[tuple[Request, Completion]] = []
        self._lock = threading.Lock()

    @property
    def provider(self) -> str:
        return self.inner.provider

    @property
    def cache_identity(self) -> str:
        identity = getattr(self.inner, "cache_identity", None)
        return identity if isinstance(identity, str) else self.inner.provider

    def complete(self, request: Request) -> Completion:
        completion = self.inner.complete(request)
        with self._lock:
            self.exchanges.append((request, completion))
        return completion

    def requests(self, action: str) -> list[Request]:
        """The requests of ``action`` (an action value such as ``dialog_synthesis``), in order."""
        with self._lock:
            return [r for r, _ in self.exchanges if r.action.value == action]
