"""The standard model stack under a run's :class:`~timepoint.llm.gateway.ModelGateway`.

:func:`build_gateway` picks the provider (the offline model without an API key, else the
OpenAI-compatible endpoint of the settings) and wraps it::

    Cached(Structured(Retrying(Metered(Limited(provider)))))

so every retry and re-ask is metered and charged, and cache hits cost nothing. A self-hosted
endpoint starts serial and is priced only by user registry entries.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path

from timepoint.llm.base import CallRecord, LanguageModel
from timepoint.llm.budget import Budget, TokenGuard
from timepoint.llm.cache import CachedModel
from timepoint.llm.call_log import CallLog
from timepoint.llm.config import BudgetConfig, ModelsConfig
from timepoint.llm.gateway import ModelGateway
from timepoint.llm.limiter import LimitedModel
from timepoint.llm.meter import MeteredModel
from timepoint.llm.offline import OfflineModel
from timepoint.llm.openai_compat import OpenAICompatibleModel
from timepoint.llm.registry import Registry
from timepoint.llm.retry import RetryingModel
from timepoint.llm.structured import StructuredModel
from timepoint.settings import Settings

__all__ = ["build_gateway"]


def build_gateway(
    settings: Settings,
    *,
    models: ModelsConfig,
    budget: BudgetConfig,
    seed: int,
    cache_dir: Path | None,
    provider: LanguageModel | None = None,
    parent_budget: Budget | None = None,
    registry: Registry | None = None,
    cache_namespace: str = "default",
    sleep: Callable[[float], None] = time.sleep,
    on_record: Callable[[CallRecord], None] | None = None,
    guards: Sequence[TokenGuard] = (),
) -> ModelGateway:
    """Assemble the standard stack and wrap it in a :class:`ModelGateway`.

    ``provider=None`` means the offline model (seeded with ``seed``) when ``settings`` has no
    API key, else an :class:`OpenAICompatibleModel` on ``settings.base_url``. Offline calls
    cost nothing; others are priced by the provider or the registry, and calls to a
    self-hosted endpoint cost nothing unless a user registry entry gives the model a price.

    Args:
        settings: runtime settings (endpoint, key, forced model, RPM cap, extra registry).
        models: the scenario's models section.
        budget: the scenario's budget; its limits are hard.
        seed: the run seed (seeds the offline model).
        cache_dir: folder of ``llm_cache.sqlite``; ``None`` disables caching.
        provider: a model to use instead of the one settings imply (tests, notebooks).
        parent_budget: e.g. the batch budget every reservation is also charged to.
        registry: the model registry (default: shipped plus ``settings.registry_path``).
        cache_namespace: cache namespace; change it to invalidate deliberately.
        sleep: the retry layer's wait (inject a recorder in tests).
        on_record: also called with every call record (e.g. a JSONL writer).
        guards: token limits every attempt is admitted by (``fidelity.token_budget``).
    """
    registry = registry if registry is not None else Registry.load(settings.registry_path)
    owned: OpenAICompatibleModel | None = None
    if provider is None:
        if settings.offline:
            provider = OfflineModel(seed=seed)
        else:
            provider = owned = OpenAICompatibleModel(
                settings.base_url,
                settings.api_key,
                default_model=settings.model,
                timeout=settings.timeout,
                registry=registry,
                max_response_bytes=settings.max_response_bytes,
                price_margin=settings.price_margin,
            )
    free = provider.provider == "offline"
    endpoint = _endpoint_of(provider)
    local = endpoint is not None and endpoint.local
    key = settings.api_key.get_secret_value() if settings.api_key is not None else None
    log = CallLog(on_record, keys=(key,) if key else ())
    run_budget = Budget(
        "run",
        max_usd=budget.max_usd,
        max_tokens=budget.max_tokens,
        parent=parent_budget,
        guards=guards,
    )
    if local:
        # a self-hosted server may answer one request at a time: start serial, grow only while
        # latency shows no queueing
        stack: LanguageModel = LimitedModel(
            provider,
            initial=1,
            minimum=1,
            requests_per_minute=settings.rpm,
            queue_aware=True,
            timeout=settings.timeout,
        )
    else:
        stack = LimitedModel(provider, requests_per_minute=settings.rpm)
    stack = MeteredModel(
        stack,
        run_budget,
        prices=(lambda model: (0.0, 0.0))
        if free
        else registry.local_prices
        if local
        else registry.prices,
        on_record=log,
        price_margin=settings.price_margin,
    )
    stack = RetryingModel(stack, sleep=sleep)
    stack = StructuredModel(stack, limits=endpoint.limits if endpoint is not None else None)
    if cache_dir is not None:
        stack = CachedModel(
            stack,
            Path(cache_dir) / "llm_cache.sqlite",
            namespace=cache_namespace,
            endpoint=_endpoint_identity(provider, seed),
        )
    gateway = ModelGateway(
        stack,
        registry=registry,
        models=models,
        forced_model=settings.model,
        log=log,
        budget=run_budget,
        provider=provider.provider,
        endpoint=endpoint,
    )
    if owned is not None:  # the HTTP client built here lives as long as the gateway
        weakref.finalize(gateway, owned.close)
    return gateway


def _endpoint_of(provider: LanguageModel) -> OpenAICompatibleModel | None:
    """The HTTP provider under ``provider``'s wrappers (each keeps it as ``inner``), if any."""
    node: object = provider
    for _ in range(16):
        if isinstance(node, OpenAICompatibleModel):
            return node
        node = getattr(node, "inner", None)
        if node is None:
            return None
    return None


def _endpoint_identity(provider: LanguageModel, seed: int) -> str:
    if isinstance(provider, OpenAICompatibleModel):
        return provider.base_url
    identity = getattr(provider, "cache_identity", None)
    if isinstance(identity, str):
        return identity
    if provider.provider == "offline":
        return f"offline:seed={seed}"
    return provider.provider
