"""Questions about a run (M5): who and what a question names, when, and what kind it is.

Used by the verb :func:`timepoint.engine.ask.ask`. Lazy resolution answers a question about a
stored run, raising detail only where needed:

``run.ask("What did Madison know before the dinner, and from whom?")``:

1. :func:`parse_question` finds the entities (and numbered crowd members the run lacks, M9),
   the timepoint (``None`` = before the first one) and the kind of question.
2. Entities referenced are queried (M2 query counts; a crossed threshold elevates them) and the
   target's (entity, timepoint) cell is raised to the resolution the kind needs, with an
   enrichment pass that records what it learned (``learned`` exposures, source ``elevation``).
3. The answer is composed from the knowledge valid at that time, each cited fact with its
   provenance, and stored in ``RunRecord.answers`` with the elevations and tokens it cost. All
   calls are marked on-demand, so ``usage.on_demand_tokens`` separates them from generation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from timepoint.world import Entity, Timepoint
from timepoint.world.references import unknown_references

_KIND_PATTERNS: tuple[tuple[str, str], ...] = (
    ("who_knew", r"^\s*who\s+(knew|knows|had heard|was aware|learned)"),
    ("provenance", r"from whom|who told|how did .*(learn|know|find out|hear)|\bsources?\b"),
    ("relationship", r"relationship|\btrust|get along|\bbetween\b"),
    ("feeling", r"\b(feel|felt|feeling|mood|emotion|afraid|angry|anxious|happy)\b"),
    ("said", r"\b(say|said|speak|spoke|argue|argued|propose|proposed)\b"),
    ("witnessed", r"\b(see|saw|seen|witness|witnessed|notice|noticed|observe|observed)\b"),
    ("knowledge", r"\b(know|knew|aware|believe|believed|learn|learned|understand)\b"),
)
_ORDINALS = {
    "first": 0,
    "second": 1,
    "third": 2,
    "fourth": 3,
    "fifth": 4,
    "sixth": 5,
    "seventh": 6,
    "eighth": 7,
    "ninth": 8,
    "tenth": 9,
}
_WORDS = re.compile(r"[a-z0-9']+")
_COMMON_TEXT = (
    "what who whom did does do was were the a an and or of to in at on by from with "
    "before after know knew how when why that this there their they his her it is be "
    "been about"
)
_COMMON = frozenset(_COMMON_TEXT.split())


@dataclass
class Question:
    """A parsed question. ``timepoint_id`` None means before the first timepoint."""

    text: str
    kind: str
    entity_ids: list[str]
    new_entities: list[str]
    timepoint_id: str | None
    explicit_time: bool
    words: set[str] = field(default_factory=set)


_TITLES = frozenset({"the", "mr", "mrs", "ms", "dr", "sir", "jr", "sr", "von", "van", "de", "of"})


def _names(entity: Entity) -> list[str]:
    """Handles a question may use for ``entity``: id, full name, and each name word."""
    words = _WORDS.findall(entity.name.lower().replace(".", ""))
    tokens = [t for t in words if len(t) > 2 and not t.isdigit() and t not in _TITLES]
    return [entity.id, entity.id.replace("_", " "), entity.name.lower(), *tokens]


def find_entities(text: str, entities: Mapping[str, Entity]) -> list[str]:
    """Entities named in ``text`` (id, full name, or a name word no other entity shares).

    Returned in order of first mention.
    """
    lowered = text.lower()
    owners: dict[str, set[str]] = {}
    for entity in entities.values():
        for handle in _names(entity):
            owners.setdefault(handle, set()).add(entity.id)
    positions: dict[str, int] = {}
    for handle, ids in owners.items():
        if len(ids) != 1:
            continue
        match = re.search(rf"(?<![a-z0-9_]){re.escape(handle)}(?![a-z0-9_])", lowered)
        if match:
            (entity_id,) = ids
            positions[entity_id] = min(positions.get(entity_id, match.start()), match.start())
    return sorted(positions, key=lambda e: positions[e])


def find_timepoint(text: str, order: Sequence[Timepoint]) -> tuple[str | None, bool]:
    """The timepoint a question is about and whether it was named; None = before the start."""
    lowered = text.lower()
    main = [t for t in order if t.parent_timepoint is None]
    if not main:
        return None, False
    target: Timepoint | None = None
    for tp in order:
        if re.search(rf"(?<![a-z0-9_]){re.escape(tp.id)}(?![a-z0-9_])", lowered):
            target = tp
    if target is None:
        phased = [t for t in order if t.phase and re.search(rf"\b{t.phase}\b", lowered)]
        number = re.search(r"\b(?:timepoint|moment|step|scene)\s*#?(\d+)\b", lowered)
        ordinal = re.search(r"\b(" + "|".join(_ORDINALS) + r"|last|final)\b", lowered)
        if phased:
            target = phased[0]
        elif number and 1 <= int(number.group(1)) <= len(main):
            target = main[int(number.group(1)) - 1]
        elif ordinal:
            word = ordinal.group(1)
            index = len(main) - 1 if word in ("last", "final") else _ORDINALS[word]
            target = main[min(index, len(main) - 1)]
    if re.search(r"\bbefore\b", lowered):
        if target is None:
            return None, True
        path = [t for t in order if t.parent_timepoint is None or t is target]
        index = path.index(target)
        return (path[index - 1].id if index else None), True
    if target is not None:
        if re.search(r"\bafter\b", lowered) and target in main and target is not main[-1]:
            return main[main.index(target) + 1].id, True
        return target.id, True
    if re.search(r"\b(start|beginning|outset|opening)\b", lowered):
        return main[0].id, True
    return main[-1].id, bool(re.search(r"\b(end|after|finally|last)\b", lowered))


def question_kind(text: str) -> str:
    """One of the keys of :data:`NEEDED`."""
    lowered = text.lower()
    for kind, pattern in _KIND_PATTERNS:
        if re.search(pattern, lowered):
            return kind
    return "general"


def parse_question(
    text: str, entities: Mapping[str, Entity], order: Sequence[Timepoint]
) -> Question:
    """Target entities, unknown crowd members, timepoint and kind of ``text``."""
    known = find_entities(text, entities)
    timepoint_id, explicit = find_timepoint(text, order)
    skip = set(entities) | {t.id for t in order}
    return Question(
        text=text,
        kind=question_kind(text),
        entity_ids=known,
        new_entities=unknown_references(text, skip),
        timepoint_id=timepoint_id,
        explicit_time=explicit,
        words={w for w in _WORDS.findall(text.lower()) if w not in _COMMON and len(w) > 2},
    )
