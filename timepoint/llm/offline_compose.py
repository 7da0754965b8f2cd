"""How the offline model composes answers from a prompt's data block, one function per task.

The block (see :mod:`timepoint.llm.task_data`) is part of the prompt every model receives. Its
data keys by task (all optional unless noted):

- ``entity_population``: ``scenario`` {title, description, location}, ``entity`` {id, name, kind,
  role, description, knowledge}, ``others`` [names]. With the answer ``CrowdNamesDraft`` (one
  call naming every generated entity): ``scenario`` {…, period}, ``entities`` [{id, kind, role}],
  ``taken`` [names], ``ids`` [ids]; see :mod:`timepoint.llm.offline_names`.
- ``temporal_reasoning``: ``scenario``, ``index``, ``count``, ``timestamp``, ``planned`` (an event
  the scenario prescribes), ``candidates`` [{id, name, role}], ``previous`` [the latest event
  texts], ``earlier`` {covers, through, summary} (the history before them, summarized),
  ``recent_facts`` [fact texts], ``phase``.
- ``dialog_synthesis``: ``scenario``, ``event``, ``location``, ``scene`` {tension, formality},
  ``participants`` [{id, name, voice, tone_bias, strain, known [{id, text}], unknown [{id, text}]}],
  ``turns`` (how many), ``repair`` (true when re-asked after a violation: no leaks then).
- ``summarization``: ``scenario``, ``events`` [texts], ``names`` [entity names].
- anything else: ``topic``, answered as plain text; or the schema's own ``offline_answer``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from timepoint.llm.base import ActionType
from timepoint.llm.bounded import percent
from timepoint.llm.offline_names import crowd_names
from timepoint.llm.task_data import TaskData
from timepoint.world.phrasing import as_spoken_by, point_of, sentence_case, topic_of

Composer = Callable[[dict[str, Any], random.Random, float], dict[str, Any] | str]


_FRAMES = (
    "I will say it plainly: {fact}.",
    "Consider this, {listener}: {fact}.",
    "We cannot pretend otherwise: {fact}.",
    "You know as well as I do that {fact}.",
    "If we are honest with one another, {fact}.",
    "Mark this, {listener}: {fact}.",
    "Here is what weighs on me: {fact}.",
)
_CLOSERS = (
    "What would you have us do about it?",
    "I am prepared to bargain on that point.",
    "That is where I stand.",
    "Let us find terms we can both defend.",
    "I will not pretend it is a small matter.",
    "Tell me where you can give ground.",
    "",
    "",
)
_STRAINED = ("Forgive me, I am not at my best tonight.", "Bear with me; this is hard going.")
_TONES = ("earnest", "guarded", "conciliatory", "insistent", "wry", "measured")
_PHASE_VERBS = (
    ("set out their positions", "open the matter", "take stock of one another"),
    ("press their arguments", "test each other's resolve", "weigh what each could concede"),
    ("move toward terms", "sketch a bargain", "narrow their differences"),
    ("settle what has been agreed", "take leave with an understanding", "count the cost of it"),
)


def _entity(ctx: dict[str, Any], rng: random.Random, _leak: float) -> dict[str, Any]:
    scenario = ctx.get("scenario", {})
    entity = ctx.get("entity", {})
    name = entity.get("name") or entity.get("id", "someone").replace("_", " ").title()
    kind = entity.get("kind", "human")
    role = entity.get("role", "secondary")
    setting = scenario.get("location") or scenario.get("title", "the scene")
    description = entity.get("description") or f"A {role} {kind} present at {setting}."
    traits = {
        trait: percent(rng.uniform(-0.8, 0.9))
        for trait in (
            "openness",
            "conscientiousness",
            "extraversion",
            "agreeableness",
            "neuroticism",
        )
    }
    knowledge = list(entity.get("knowledge", []))
    if not knowledge:
        knowledge = [f"{name} knows the business of {scenario.get('title', 'the day')} well"]
    return {
        "name": name,
        "description": description,
        "traits": traits,
        "knowledge": knowledge,
        "voice": rng.choice(("formal", "plain-spoken", "careful", "warm", "terse")),
        "goals": [f"see {scenario.get('title', 'the matter')} end on acceptable terms"],
    }


def _event(ctx: dict[str, Any], rng: random.Random, _leak: float) -> dict[str, Any]:
    scenario = ctx.get("scenario", {})
    candidates = ctx.get("candidates", [])
    index, count = int(ctx.get("index", 0)), max(1, int(ctx.get("count", 1)))
    core = [c for c in candidates if c.get("role") in ("primary", "secondary")] or candidates
    present = [c["id"] for c in core] + [
        c["id"] for c in candidates if c not in core and rng.random() < 0.6
    ]
    names = [c.get("name", c["id"]) for c in core][:4]
    who = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else "".join(names)
    place = scenario.get("location") or "the appointed place"
    phase = min(len(_PHASE_VERBS) - 1, index * len(_PHASE_VERBS) // count)
    verb = rng.choice(_PHASE_VERBS[phase])
    recent = ctx.get("recent_facts", [])
    if ctx.get("planned"):
        event = str(ctx["planned"]).rstrip(".") + "."
        if recent:
            event += f" Fresh in their minds: {topic_of(point_of(recent[0]))}."
    elif index == 0 or not recent:
        opening = scenario.get("description", "").split(". ")[0].rstrip(".")
        event = f"{who} gather at {place} to {verb}." + (f" {opening}." if opening else "")
    else:
        event = f"After the exchange over {topic_of(point_of(recent[0]))}, {who} {verb} at {place}."
    facts = []
    if len(names) >= 2 and recent:
        lead, other = rng.sample(names, 2)
        point = sentence_case(point_of(recent[0]))
        facts.append(f"{lead} pressed {other} on the point that {point}")
    elif names and recent:
        facts.append(f"{rng.choice(names)} insisted that {sentence_case(point_of(recent[0]))}")
    importance = min(1.0, 0.35 + 0.5 * (index + 1) / count + rng.uniform(-0.1, 0.1))
    return {
        "event": event,
        "importance": percent(max(0.0, importance)),
        "present": present,
        "key_facts": facts,
    }


def _dialog(ctx: dict[str, Any], rng: random.Random, leak_rate: float) -> dict[str, Any]:
    participants = ctx.get("participants", [])
    repair = bool(ctx.get("repair"))
    total = int(ctx.get("turns", 2 * len(participants)))
    used: set[str] = set()
    turns: list[dict[str, Any]] = []
    for n in range(total):
        speaker = participants[n % len(participants)]
        listeners = [p for p in participants if p["id"] != speaker["id"]]
        listener = rng.choice(listeners)["name"].split()[-1] if listeners else "friends"
        substantive = [f for f in speaker.get("known", []) if f.get("kind") != "event"]
        known = [f for f in substantive if f["id"] not in used]
        unknown = [f for f in speaker.get("unknown", []) if f["id"] not in used]
        leaked: list[str] = []
        if unknown and not repair and rng.random() < leak_rate:
            fact = rng.choice(unknown)
            leaked.append(fact["id"])
        elif known:
            fact = rng.choice(known)
        elif substantive:
            fact = rng.choice(substantive)
        else:
            fact = None
        if fact is None:
            text, refs = f"I have little to add, {listener}, but I am listening.", []
        else:
            used.add(fact["id"])
            spoken = as_spoken_by(fact["text"], fact.get("holder"), speaker.get("name", ""))
            frame = rng.choice(_FRAMES).format(fact=sentence_case(spoken), listener=listener)
            text, refs = f"{frame} {rng.choice(_CLOSERS)}".strip(), [fact["id"]]
        strained = speaker.get("strain", 0.0) > 0.5
        if strained:
            text = f"{rng.choice(_STRAINED)} {text}"
        tone = "strained" if strained else speaker.get("tone_bias") or rng.choice(_TONES)
        turns.append(
            {
                "speaker": speaker["id"],
                "text": text,
                "tone": tone,
                "knowledge_refs": refs,
                "_leaked": leaked,
            }
        )
    return {"turns": turns}


def _summary(ctx: dict[str, Any], rng: random.Random, _leak: float) -> dict[str, Any]:
    scenario = ctx.get("scenario", {})
    events = ctx.get("events", [])
    names = ctx.get("names", [])
    people = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else "".join(names)
    body = " ".join(events[:1] + events[-1:]) if events else ""
    return {
        "summary": f"{scenario.get('title', 'The run')}: {people} across {len(events)} moments. "
        f"{body}".strip()
    }


def _text(ctx: dict[str, Any], rng: random.Random, _leak: float) -> str:
    topic = ctx.get("topic") or ctx.get("scenario", {}).get("title") or "the question"
    return f"Considering {topic}: the record supports a cautious answer."


_COMPOSERS: dict[ActionType, Composer] = {
    ActionType.ENTITY_POPULATION: _entity,
    ActionType.TEMPORAL_REASONING: _event,
    ActionType.DIALOG_SYNTHESIS: _dialog,
    ActionType.SUMMARIZATION: _summary,
}
#: answers a task may ask for besides its usual one, by the answer's name
_BY_ANSWER: dict[str, Composer] = {"CrowdNamesDraft": crowd_names}


def compose(
    task: TaskData | None,
    schema: type[BaseModel] | None,
    rng: random.Random,
    *,
    leak_rate: float = 0.0,
) -> dict[str, Any] | str:
    """The offline answer to a prompt whose block is ``task``: a dict for ``schema``, or text.

    An output schema may carry its own offline twin as a classmethod
    ``offline_answer(data, rng) -> dict``; mechanisms that define their own answer shapes use
    that instead of the table here. Without a block the answer is a short plain text.
    """
    data = task.data if task is not None else {}
    if schema is not None and hasattr(schema, "offline_answer"):
        return schema.offline_answer(data, rng)
    action = _action(task)
    composer = _COMPOSERS.get(action, _text) if action is not None else _text
    if task is not None and task.answer in _BY_ANSWER:
        composer = _BY_ANSWER[task.answer]
    if schema is None and composer is not _text:
        composer = _text
    return composer(data, rng, leak_rate)


def _action(task: TaskData | None) -> ActionType | None:
    if task is None:
        return None
    try:
        return ActionType(task.task)
    except ValueError:
        return None
