"""The LLM layer (M18): one small interface, providers, wrappers, registry and selection.

Providers and wrappers all implement :class:`LanguageModel`. A run talks to a
:class:`ModelGateway` built by :func:`build_gateway`, which stacks
``Cached(Structured(Retrying(Metered(Limited(provider)))))``.
"""

from timepoint.llm.base import (
    ActionType,
    CallRecord,
    Completion,
    LanguageModel,
    Message,
    Request,
    Usage,
    estimate_tokens,
)
from timepoint.llm.budget import Budget, Reservation
from timepoint.llm.cache import CachedModel
from timepoint.llm.call_log import CallLog, CallText
from timepoint.llm.gateway import ModelGateway
from timepoint.llm.limiter import LimitedModel
from timepoint.llm.meter import MeteredModel
from timepoint.llm.openai_compat import OpenAICompatibleModel
from timepoint.llm.registry import Capability, ModelSpec, Registry
from timepoint.llm.retry import RetryingModel
from timepoint.llm.selection import Choice, fallback_chain, select
from timepoint.llm.stack import build_gateway
from timepoint.llm.structured import StructuredModel

__all__ = [
    "ActionType",
    "Budget",
    "CachedModel",
    "CallLog",
    "CallRecord",
    "CallText",
    "Capability",
    "Choice",
    "Completion",
    "LanguageModel",
    "LimitedModel",
    "Message",
    "MeteredModel",
    "ModelGateway",
    "ModelSpec",
    "OpenAICompatibleModel",
    "Registry",
    "Request",
    "Reservation",
    "RetryingModel",
    "StructuredModel",
    "Usage",
    "build_gateway",
    "estimate_tokens",
    "fallback_chain",
    "select",
]
