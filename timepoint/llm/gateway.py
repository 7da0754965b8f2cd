"""The model gateway: the one object a run talks to for every LLM call.

It picks the model per action (selection, or a forced model), walks down the fallback chain on
model-specific failures, and keeps what the run record needs: the model choice per action,
every call record, and a usage summary. The standard stack under it is assembled by
:func:`~timepoint.llm.stack.build_gateway`.
"""

from __future__ import annotations

import difflib
import threading
import time
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor

from timepoint.errors import (
    ConfigurationError,
    ContextLengthExceeded,
    ProviderError,
    StructuredOutputError,
    UnknownModelError,
)
from timepoint.llm.base import ActionType, CallRecord, Completion, LanguageModel, Request
from timepoint.llm.budget import Budget
from timepoint.llm.call_log import CallLog, CallText
from timepoint.llm.config import ModelsConfig
from timepoint.llm.openai_compat import OpenAICompatibleModel
from timepoint.llm.registry import Registry
from timepoint.llm.selection import select, served_chain
from timepoint.world.record import ActionUsage, ModelChoice, UsageSummary

#: outcomes of call records that were real provider attempts
ATTEMPT_OUTCOMES = frozenset({"ok", "invalid", "error"})


def _is_model_specific(error: Exception) -> bool:
    if isinstance(error, UnknownModelError | StructuredOutputError | ContextLengthExceeded):
        return True
    if isinstance(error, ProviderError) and error.status is not None:
        return error.status == 404 or error.status >= 500
    return False


class ModelGateway:
    """A :class:`~timepoint.llm.base.LanguageModel` that chooses the model for each action.

    Precedence for the model of an action: ``models.actions[action]``, then ``forced_model``
    (``TIMEPOINT_LLM_MODEL``), then ``models.model``, then selection by ``models.preference``
    with its fallback chain. Forced models get no fallbacks. A request that already names a
    model is sent to that model.

    With a self-hosted ``endpoint`` (anything but OpenRouter) the models are the ones it
    serves (``GET /models``, asked once): a forced model must be one of them (a registry id
    whose endpoint id is served counts, and is replaced by the served id), selection ranks only
    served models, and calls are attributed to served ids.

    Args:
        model: the wrapped stack that performs calls.
        registry: the model registry.
        models: the scenario's models section.
        forced_model: a model forced for every action (from settings).
        log: the call log the stack's meter writes to (cache hits are added here).
        budget: the run budget the meter charges.
        allow_licenses: licenses selection may use besides commercial-synthetic-ok ones.
        provider: the provider label to report (default: the stack's).
        endpoint: the self-hosted endpoint whose served models are used (``None``: registry
            selection, e.g. on OpenRouter).

    Raises:
        ConfigurationError: ``models.actions`` names an unknown action.
        UnknownModelError: without a self-hosted endpoint, a forced model is neither in the
            registry nor an endpoint id (endpoint ids contain ``/`` or ``:``, e.g.
            ``meta-llama/llama-3.3-70b-instruct`` or Ollama's ``llama3.1:8b``); endpoint ids
            are sent unchanged.
    """

    def __init__(
        self,
        model: LanguageModel,
        *,
        registry: Registry,
        models: ModelsConfig | None = None,
        forced_model: str | None = None,
        log: CallLog | None = None,
        budget: Budget | None = None,
        allow_licenses: Collection[str] = (),
        provider: str | None = None,
        endpoint: OpenAICompatibleModel | None = None,
    ):
        self.model = model
        self.endpoint = endpoint if endpoint is not None and endpoint.local else None
        self.registry = registry
        self.models = models or ModelsConfig()
        self.forced_model = forced_model
        self.log = log if log is not None else CallLog()
        self._budget = budget if budget is not None else Budget("run")
        self.allow_licenses = tuple(allow_licenses)
        self._provider = provider or model.provider
        self._lock = threading.Lock()
        self._chains: dict[ActionType, tuple[list[str], str]] = {}
        self._choices: dict[ActionType, ModelChoice] = {}
        self._validate()

    @property
    def provider(self) -> str:
        return self._provider

    @property
    def budget(self) -> Budget:
        return self._budget

    def chain(self, action: ActionType | str) -> tuple[list[str], str]:
        """The models to try for ``action`` in order, and why the first one."""
        action = ActionType(action)
        with self._lock:
            cached = self._chains.get(action)
        if cached is not None:
            return cached
        override = self.models.actions.get(action.value)
        if override:
            forced = (override, f"the scenario's models.actions.{action.value}")
        elif self.forced_model:
            forced = (self.forced_model, "TIMEPOINT_LLM_MODEL")
        elif self.models.model:
            forced = (self.models.model, "the scenario's models.model")
        else:
            forced = None
        if forced is not None:
            result = ([self._served_id(*forced)], f"forced by {forced[1]}")
        elif self.endpoint is not None:
            result = served_chain(action, self._served(), self.registry, self.models.preference)
        else:
            choice = select(action, self.models.preference, self.registry, self.allow_licenses)
            result = ([choice.model, *choice.fallbacks], choice.reason)
        with self._lock:
            self._chains.setdefault(action, result)
            return self._chains[action]

    def complete(self, request: Request) -> Completion:
        """Complete ``request`` with the action's model, falling back on model failures.

        Raises:
            LLMError: the last model of the chain failed, or a failure was not model-specific
                (authentication, credit, timeouts after retries).
            BudgetExceeded: the budget refused the call.
        """
        if request.model:
            chain, reason = [request.model], "named by the caller"
        else:
            chain, reason = self.chain(request.action)
        failures: list[str] = []
        for index, model in enumerate(chain):
            try:
                completion = self.model.complete(request.model_copy(update={"model": model}))
            except (ProviderError, UnknownModelError, StructuredOutputError) as error:
                if index + 1 < len(chain) and _is_model_specific(error):
                    status = getattr(error, "status", None)
                    failures.append(
                        f"{model} failed ({type(error).__name__}"
                        + (f", HTTP {status})" if status else ")")
                    )
                    continue
                raise
            self._note(request, model, reason, chain, failures, completion)
            return completion
        raise AssertionError("unreachable: the chain is never empty")

    def complete_many(
        self, requests: Sequence[Request], max_workers: int | None = None
    ) -> list[Completion]:
        """Complete independent requests concurrently (``models.max_concurrency`` threads).

        Results keep the order of ``requests``; the first failure (in that order) propagates
        after all calls have finished.
        """
        if not requests:
            return []
        workers = min(len(requests), max_workers or self.models.max_concurrency)
        if workers == 1:
            return [self.complete(request) for request in requests]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="llm") as pool:
            futures = [pool.submit(self.complete, request) for request in requests]
        return [future.result() for future in futures]

    def choices(self) -> list[ModelChoice]:
        """The model that served each action so far, why, and its fallbacks."""
        with self._lock:
            return [choice.model_copy() for choice in self._choices.values()]

    def plan(self) -> list[ModelChoice]:
        """The model each action would use, for every action (nothing is called)."""
        return [
            ModelChoice(action=action.value, model=chain[0], reason=reason, fallbacks=chain[1:])
            for action in ActionType
            for chain, reason in [self.chain(action)]
        ]

    def calls(self) -> list[CallRecord]:
        """A snapshot of every call record (attempts, refusals, cache hits)."""
        return self.log.snapshot()

    def texts(self) -> list[CallText]:
        """A snapshot of the prompt and answer of every call (by the records' ``seq``)."""
        return self.log.texts()

    def usage_summary(self, on_demand: bool | None = None) -> UsageSummary:
        """Aggregate the call records; ``on_demand`` True/False keeps only those records."""
        records = [r for r in self.log.snapshot() if on_demand is None or r.on_demand == on_demand]
        summary = UsageSummary()
        for record in records:
            if record.outcome == "cache_hit":
                summary.cache_hits += 1
                continue
            if record.outcome not in ATTEMPT_OUTCOMES:
                continue
            tokens = record.prompt_tokens + record.completion_tokens
            summary.calls += 1
            summary.prompt_tokens += record.prompt_tokens
            summary.completion_tokens += record.completion_tokens
            summary.cost_usd += record.cost_usd
            if record.on_demand:
                summary.on_demand_tokens += tokens
                summary.on_demand_calls += 1
                summary.on_demand_cost_usd += record.cost_usd
            else:
                summary.generation_tokens += tokens
            for key, table in (
                (record.action, summary.by_action),
                (record.model, summary.by_model),
            ):
                usage = table.setdefault(key, ActionUsage())
                usage.calls += 1
                usage.prompt_tokens += record.prompt_tokens
                usage.completion_tokens += record.completion_tokens
                usage.cost_usd += record.cost_usd
        return summary

    def __repr__(self) -> str:
        return f"ModelGateway(provider={self.provider!r}, {len(self.log)} calls)"

    def _note(
        self,
        request: Request,
        model: str,
        reason: str,
        chain: list[str],
        failures: list[str],
        completion: Completion,
    ) -> None:
        if completion.cache_hit:
            self.log.write(
                action=request.action.value,
                model=model,
                provider=completion.provider,
                outcome="cache_hit",
                latency_ms=completion.latency_ms,
                started_at=time.time(),
                on_demand=request.on_demand,
                subject=request.subject,
                prompt=request.messages,
                response=completion.text,
            )
        if failures:
            reason = f"{reason}; {'; '.join(failures)}; served by {model}"
        choice = ModelChoice(
            action=request.action.value,
            model=model,
            reason=reason,
            fallbacks=[m for m in chain if m != model],
        )
        with self._lock:
            if failures or request.action not in self._choices:
                self._choices[request.action] = choice

    def _served(self) -> list[str]:
        assert self.endpoint is not None
        served = self.endpoint.served_models()
        if served is None:
            raise ConfigurationError(
                f"cannot tell which model {self.endpoint.base_url} serves: "
                f"{self.endpoint.served_error}; set TIMEPOINT_LLM_MODEL to the model id the "
                "server serves (its /models list or its --alias / --served-model-name)"
            )
        return [entry.id for entry in served]

    def _served_id(self, model: str, origin: str) -> str:
        """``model`` as the endpoint serves it; unchanged without a model list."""
        if self.endpoint is None or self.endpoint.served_models() is None:
            return model
        served = self._served()
        if model in served:
            return model
        mapped = self.registry.endpoint_id(model)
        if mapped in served:
            return mapped
        raise ConfigurationError(
            f"{origin} names model {model!r}, but {self.endpoint.base_url} serves "
            f"{', '.join(repr(m) for m in served)}; name one of those (e.g. "
            f"TIMEPOINT_LLM_MODEL={served[0]}), or point TIMEPOINT_LLM_BASE_URL at the server "
            f"that serves {model!r}"
        )

    def _validate(self) -> None:
        known_actions = [a.value for a in ActionType]
        for name in self.models.actions:
            if name not in known_actions:
                close = difflib.get_close_matches(name, known_actions, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ConfigurationError(
                    f"models.actions: unknown action {name!r}{hint} allowed: "
                    f"{', '.join(known_actions)}"
                )
        if self.endpoint is not None:
            return
        forced = [self.forced_model, self.models.model, *self.models.actions.values()]
        for model_id in forced:
            if model_id and not _is_endpoint_id(model_id) and model_id not in self.registry:
                raise UnknownModelError(model_id, self.registry.ids)


def _is_endpoint_id(model_id: str) -> bool:
    return "/" in model_id or ":" in model_id
