"""Natural language -> scenario: ask a model for a draft, validate, re-ask with the problems.

The request's action is ``config_generation`` and its ``context`` carries the sentence, so the
offline model can answer with :func:`~timepoint.scenario.sentence.draft_scenario_from_sentence`
while HTTP models answer from the messages, which spell out the schema.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pydantic import ValidationError

from timepoint.errors import ScenarioError, StructuredOutputError
from timepoint.llm.base import ActionType, Completion, LanguageModel, Message, Request
from timepoint.llm.task_data import with_task_data
from timepoint.scenario.loader import scenario_from_data
from timepoint.scenario.schema import Scenario
from timepoint.scenario.sentence import ScenarioDraft

_SOURCE = "generated scenario"

_INSTRUCTIONS = """\
You write scenario configurations for Timepoint, a simulator of entities moving through causally
linked timepoints. Answer with one JSON object and nothing else:
{"scenario": <a scenario>, "assumptions": [<one short line per thing you had to assume>]}.
The scenario must validate against this JSON schema (unknown keys are rejected):
{schema}
Guidance: id is snake_case; timepoints.start is ISO 8601 with a timezone; name the people, animals,
places or spirits of the sentence in entities.roster (ids snake_case, 3-6 facts of initial
knowledge for primary entities); choose temporal.mode from the phrasing (portal for "how did we
get there" with portal years, branching for "what if", nonlinear for flashbacks, cyclical for
seasons or cycles, directorial for a drama, else pearl); keep timepoints.count between 3 and 6."""


@dataclass(frozen=True)
class GeneratedScenario:
    """A validated scenario written from a sentence.

    Attributes:
        scenario: The validated scenario.
        assumptions: What the model had to assume, one line each.
        attempts: How many answers it took (1 when the first one validated).
    """

    scenario: Scenario
    assumptions: list[str] = field(default_factory=list)
    attempts: int = 1


def scenario_request_messages(sentence: str) -> tuple[Message, ...]:
    """The opening messages of a config-generation request for ``sentence``."""
    return (
        Message(role="system", content=_INSTRUCTIONS.replace("{schema}", _schema_text())),
        Message(
            role="user",
            content=with_task_data(
                f"Sentence: {sentence.strip()}",
                ActionType.CONFIG_GENERATION,
                {"sentence": sentence.strip()},
                ScenarioDraft.__name__,
            ),
        ),
    )


def generate_scenario(
    sentence: str,
    model: LanguageModel,
    *,
    max_attempts: int = 3,
    seed: int | None = 0,
) -> GeneratedScenario:
    """Ask ``model`` for a scenario matching ``sentence`` until one validates.

    Each failed answer goes back to the model together with its validation problems.

    Args:
        sentence: One sentence describing the situation.
        model: Any language model (usually the gateway; the offline model works without a key).
        max_attempts: Answers to try before giving up (at least 1).
        seed: Sampling seed passed with every request.

    Returns:
        The scenario, the model's assumptions and the number of attempts.

    Raises:
        ScenarioError: No answer validated; lists the problems of the last one.
    """
    if not sentence.strip():
        raise ScenarioError(["sentence: empty; describe the situation in one sentence"])
    if max_attempts < 1:
        raise ScenarioError([f"max_attempts: got {max_attempts}; it must be at least 1"])
    messages = scenario_request_messages(sentence)
    problems: list[str] = []
    for attempt in range(1, max_attempts + 1):
        request = Request(
            messages=messages,
            action=ActionType.CONFIG_GENERATION,
            output_schema=ScenarioDraft,
            temperature=0.2,
            max_tokens=4096,
            seed=seed,
        )
        try:
            completion = model.complete(request)
        except StructuredOutputError as error:
            problems = [f"{_SOURCE}: the answer did not match the draft format: {error}"]
            messages = (*messages, Message(role="user", content=_retry_prompt(problems)))
            continue
        try:
            draft = _draft_of(completion)
            scenario = scenario_from_data(draft.scenario, source=_SOURCE)
        except ScenarioError as error:
            problems = error.problems
            messages = (
                *messages,
                Message(role="assistant", content=completion.text),
                Message(role="user", content=_retry_prompt(problems)),
            )
            continue
        return GeneratedScenario(scenario, list(draft.assumptions), attempt)
    raise ScenarioError(
        [f"{_SOURCE}: no valid scenario after {max_attempts} attempts; last problems:", *problems]
    )


def _draft_of(completion: Completion) -> ScenarioDraft:
    parsed = completion.parsed
    if isinstance(parsed, ScenarioDraft):
        return parsed
    data: Any = parsed.model_dump() if parsed is not None else _json_in(completion.text)
    try:
        return ScenarioDraft.model_validate(data)
    except ValidationError:
        if isinstance(data, dict) and "id" in data and "scenario" not in data:
            return ScenarioDraft(scenario=data)
        raise ScenarioError(
            [f'{_SOURCE}: expected {{"scenario": {{…}}, "assumptions": […]}}, got {data!r:.80}']
        ) from None


def _json_in(text: str) -> Any:
    """The JSON object in ``text``: bare, inside a code fence, or between the outer braces."""
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, re.DOTALL)
    candidates = [text, fenced.group(1) if fenced else ""]
    if "{" in text and "}" in text:
        candidates.append(text[text.index("{") : text.rindex("}") + 1])
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except (json.JSONDecodeError, ValueError):
            continue
    raise ScenarioError([f"{_SOURCE}: the answer holds no JSON object: {text.strip()!r:.80}"])


def _retry_prompt(problems: list[str]) -> str:
    listed = "\n".join(f"- {p}" for p in problems)
    return (
        "That scenario did not validate:\n"
        f"{listed}\n"
        "Fix every problem and answer again with the whole JSON object."
    )


@cache
def _schema_text() -> str:
    return json.dumps(Scenario.model_json_schema(), separators=(",", ":"), sort_keys=True)
