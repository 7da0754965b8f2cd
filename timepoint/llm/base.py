"""The one interface every language model, provider and wrapper implements (M18).

A :class:`Request` carries the prompt messages, the action, the output schema and sampling
parameters: everything that shapes an answer is in the messages, exactly as an HTTP endpoint
receives them (see :mod:`timepoint.llm.task_data`). A :class:`Completion` carries the text, the
parsed object (when a schema was asked for), and the accounting of the call.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field


class ActionType(StrEnum):
    """What a call is for; selection picks a model per action."""

    ENTITY_POPULATION = "entity_population"
    DIALOG_SYNTHESIS = "dialog_synthesis"
    TEMPORAL_REASONING = "temporal_reasoning"
    COUNTERFACTUAL_PREDICTION = "counterfactual_prediction"
    KNOWLEDGE_VALIDATION = "knowledge_validation"
    KNOWLEDGE_EXTRACTION = "knowledge_extraction"
    SCENE_GENERATION = "scene_generation"
    RELATIONSHIP_ANALYSIS = "relationship_analysis"
    PROSPECTION = "prospection"
    ANIMISTIC_BEHAVIOR = "animistic_behavior"
    PORTAL_BACKWARD_REASONING = "portal_backward_reasoning"
    PORTAL_PATH_SCORING = "portal_path_scoring"
    CONFIG_GENERATION = "config_generation"
    SUMMARIZATION = "summarization"
    RELEVANCE_SCORING = "relevance_scoring"
    OUTCOME_JUDGEMENT = "outcome_judgement"
    GENERAL = "general"


class Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    role: str
    content: str


class Request(BaseModel):
    """One call to a language model.

    ``output_schema`` is a pydantic model class; when set, the answer must validate against it.
    ``model`` is the registry id chosen by selection (``None``: the provider's default).
    ``seed`` is sent to the endpoint. ``on_demand`` and ``subject`` are bookkeeping for the
    meter (tokens spent answering a question rather than generating the run; what the call is
    for, such as a timepoint or dialog id, shown by the call viewer); no model ever sees them.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    messages: tuple[Message, ...]
    action: ActionType = ActionType.GENERAL
    output_schema: type[BaseModel] | None = None
    temperature: float = 0.7
    max_tokens: int = 1024
    seed: int | None = None
    model: str | None = None
    on_demand: bool = False
    subject: str | None = None

    @property
    def prompt_chars(self) -> int:
        return sum(len(m.content) for m in self.messages)

    def with_messages(self, messages: tuple[Message, ...]) -> Request:
        return self.model_copy(update={"messages": messages})


class Usage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class Completion(BaseModel):
    """The answer to one request and what it cost. ``parsed`` is set when a schema was asked.

    ``finish_reason`` is the endpoint's (``length`` means cut off at ``max_tokens``);
    ``structured_mode`` is how a JSON answer was asked for and ``refused_modes`` lists the
    structured-output forms the endpoint refused or ignored on the way (``mode: reason``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    text: str
    parsed: BaseModel | None = None
    model: str
    provider: str
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    cache_hit: bool = False
    attempts: int = 1
    finish_reason: str | None = None
    structured_mode: str | None = None
    refused_modes: tuple[str, ...] = ()
    subject: str | None = None


@runtime_checkable
class LanguageModel(Protocol):
    """Anything that completes requests: providers and the wrappers around them."""

    @property
    def provider(self) -> str:
        """Short provider label, e.g. ``offline`` or ``openai-compatible``."""
        ...

    def complete(self, request: Request) -> Completion:
        """Answer ``request``; raise an :class:`~timepoint.errors.LLMError` on failure."""
        ...


CHARS_PER_TOKEN = 4
#: tokens a chat template may add around each message (role markers, separators)
MESSAGE_OVERHEAD_TOKENS = 8
#: tokens a chat template may add once per request (start of the answer, special tokens)
REQUEST_OVERHEAD_TOKENS = 16


def estimate_tokens(text: str) -> int:
    """Documented token estimate used when a provider reports no usage: ~4 characters a token."""
    return max(1, (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN)


def text_token_bound(text: str) -> int:
    """A conservative count of the tokens ``text`` can cost: one token per two ASCII
    characters, but one per ASCII digit (some tokenizers split numbers into digits) and one per
    byte of every non-ASCII character (byte-level tokenizers may split those into bytes).

    Real tokenizers average about four ASCII characters a token; a call whose endpoint reports
    more than this bound (text made of unusual symbol runs) overspends its reservation, which
    the meter records and answers by refusing every further call of the run.
    """
    ascii_chars = digits = other = 0
    for char in text:
        if char.isascii():
            ascii_chars += 1
            digits += char.isdigit()
        else:
            other += len(char.encode("utf-8"))
    return (ascii_chars + digits + 1) // 2 + other


def prompt_token_bound(messages: tuple[Message, ...] | list[Message]) -> int:
    """A conservative count of the prompt tokens ``messages`` can cost:
    :func:`text_token_bound` of each message, plus :data:`MESSAGE_OVERHEAD_TOKENS` per message
    and :data:`REQUEST_OVERHEAD_TOKENS` for the chat template. Budgets reserve by this, never
    by the ~4-characters estimate."""
    content = sum(text_token_bound(m.content) for m in messages)
    return content + MESSAGE_OVERHEAD_TOKENS * len(messages) + REQUEST_OVERHEAD_TOKENS


#: bytes of the instruction a provider adds around a schema it puts in the system message
SCHEMA_INSTRUCTION_BYTES = 256


def request_token_bound(request: Request) -> int:
    """A conservative count of the prompt tokens ``request`` can cost on any endpoint: the
    messages by :func:`prompt_token_bound`, plus, with a schema, its JSON (sent in
    ``response_format`` or in the system message) and the instruction around it."""
    bound = prompt_token_bound(request.messages)
    if request.output_schema is not None:
        schema = json.dumps(request.output_schema.model_json_schema(), separators=(",", ":"))
        bound += text_token_bound(schema) + SCHEMA_INSTRUCTION_BYTES // 2
    return bound


class CallRecord(BaseModel):
    """One provider attempt as the meter saw it (retries and re-asks each get a record).

    ``outcome`` is ``ok``, ``cache_hit``, ``invalid`` (schema failure, re-asked), ``error`` or
    ``refused`` (a budget did not allow the call). ``structured_mode`` is the structured-output
    form the call used and ``refused_modes`` the forms the endpoint refused or ignored before it.
    ``subject`` is what the call was for (the request's ``subject``: a timepoint, dialog or
    question). Never holds keys or prompts: the prompt and answer of a call are kept apart, as a
    :class:`~timepoint.llm.call_log.CallText` with the same ``seq``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int
    action: str
    model: str
    provider: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    outcome: str = "ok"
    error: str | None = None
    started_at: float = 0.0
    on_demand: bool = False
    structured_mode: str | None = None
    refused_modes: tuple[str, ...] = ()
    subject: str | None = None
