"""Read the entities of one sentence: proper names, nouns of a known kind, role words.

"Jefferson, Hamilton and Madison" gives three people; "a white fox" an animal ``white_fox``;
"an AI named Ada" an ``ai`` called Ada; "the Ares III crew" a group of people. A name after
"in"/"at" is a place, not an entity; a name before a noun such as "dinner" labels that noun.
Capitalisation is the only signal for names, so a sentence that opens with a capitalised common
noun ("Prices rise…") reads it as a name unless the word is in the vocabulary's tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from timepoint.scenario import vocabulary as vocab
from timepoint.world.entity import EntityKind

_TOKEN = re.compile(r"[A-Za-z][A-Za-z'’\-]*|\$?\d[\d,.:]*[A-Za-z%]*|[^\sA-Za-z\d]")
_ROMAN = re.compile(r"^(I|II|III|IV|V|VI|VII|VIII|IX|X)$")
_PLACE_WORDS = frozenset({"in", "at", "near", "across", "outside", "inside", "through"})
_NAMING_WORDS = frozenset({"named", "called"})
_MAX_ROLE_ENTITIES = 4


def tokenize(text: str) -> list[str]:
    """Words, numbers (with ``$``, ``%`` or unit suffixes) and single punctuation marks."""
    return _TOKEN.findall(text)


def read_entities(tokens: list[str], assumptions: list[str]) -> tuple[list[DraftEntity], str]:
    """The entities named in ``tokens`` with roles assigned, and the first place named.

    Args:
        tokens: The sentence, as returned by :func:`tokenize`.
        assumptions: Receives a line for each guess made.
    """
    reading = _read_names(tokens)
    return _entities(tokens, reading, assumptions), reading.location


@dataclass
class DraftEntity:
    """An entity read from the sentence; ``role`` is set once all are known."""

    id: str
    name: str
    kind: EntityKind
    role: str = "secondary"


@dataclass
class _Reading:
    """What the sentence says, gathered in one pass over its tokens."""

    people: list[DraftEntity] = field(default_factory=list)
    labels: dict[int, str] = field(default_factory=dict)
    named_kinds: set[int] = field(default_factory=set)
    location: str = ""


def _read_names(tokens: list[str]) -> _Reading:
    reading = _Reading()
    i = 0
    while i < len(tokens):
        if not _capitalised(tokens[i]):
            i += 1
            continue
        start = i
        while i < len(tokens) and (_capitalised(tokens[i]) or _ROMAN.match(tokens[i])):
            i += 1
        _classify_run(tokens, start, i, reading)
    return reading


def _classify_run(tokens: list[str], start: int, end: int, reading: _Reading) -> None:
    words = tokens[start:end]
    while words and words[0].lower().rstrip(".") in vocab.NOT_NAMES:
        words, start = words[1:], start + 1
    if not words or all(len(w) < 2 for w in words):
        return
    possessive = words[-1].endswith(("'s", "’s"))
    if possessive:
        words[-1] = words[-1][:-2]
    name = " ".join(words)
    before = tokens[start - 1].lower() if start > 0 else ""
    after = tokens[end].lower() if end < len(tokens) else ""
    if len(words) == 1 and name.lower() == "ai":
        return
    if len(words) == 1 and (
        vocab.kind_of_word(name) is not None or vocab.singular(name) in vocab.ROLE_WORDS
    ):
        return
    if before in _PLACE_WORDS and not possessive:
        reading.location = reading.location or name
        return
    if not possessive and vocab.singular(after) in vocab.LABELLED_NOUNS:
        reading.labels[end] = name
        return
    kind = EntityKind.HUMAN
    if start >= 2 and tokens[start - 1].lower() in _NAMING_WORDS:
        named = vocab.kind_of_word(tokens[start - 2])
        if named is not None:
            kind = named
            reading.named_kinds.add(start - 2)
    if all(w.isupper() and len(w) > 1 for w in words):
        kind = EntityKind.INSTITUTION
    _add_person(reading.people, DraftEntity(slug(name), name, kind))


def _add_person(people: list[DraftEntity], new: DraftEntity) -> None:
    for known in people:
        if known.id == new.id or known.id.endswith("_" + new.id):
            return
        if new.id.endswith("_" + known.id):
            known.id, known.name = new.id, new.name
            return
    people.append(new)


def _entities(tokens: list[str], reading: _Reading, assumptions: list[str]) -> list[DraftEntity]:
    entities = list(reading.people)
    taken = {e.id for e in entities}
    words = [t.lower() for t in tokens]
    for i, word in enumerate(words):
        kind = vocab.kind_of_word(word) if tokens[i][0].isalpha() else None
        if kind is None or i in reading.named_kinds:
            continue
        if i + 1 < len(words) and vocab.kind_of_word(words[i + 1]) is not None:
            continue
        if i in reading.labels:
            name = f"{reading.labels[i]} {vocab.singular(word)}"
        else:
            first = i
            while first > 0 and (
                words[first - 1] in vocab.ADJECTIVES or vocab.kind_of_word(words[first - 1])
            ):
                first -= 1
            name = " ".join([*words[first:i], vocab.singular(word)])
            name = "AI" if name == "ai" else f"The {name}"
        entity = DraftEntity(slug(name.removeprefix("The ")), name, kind)
        if entity.id not in taken:
            taken.add(entity.id)
            entities.append(entity)
    entities.extend(_role_entities(tokens, reading, taken, assumptions))
    _assign_roles(entities)
    return entities


def _role_entities(
    tokens: list[str], reading: _Reading, taken: set[str], assumptions: list[str]
) -> list[DraftEntity]:
    found: list[DraftEntity] = []
    for i, token in enumerate(tokens):
        word = vocab.singular(token)
        if word not in vocab.ROLE_WORDS or len(found) == _MAX_ROLE_ENTITIES:
            continue
        if i + 1 < len(tokens) and _capitalised(tokens[i + 1]):
            continue  # "detective Holmes": the name already stands for the role
        if i in reading.labels:
            name = f"{reading.labels[i]} {word}"
        else:
            name = "The " + (word.upper() if word in {"ceo", "cto", "cfo", "coo"} else word)
        entity = DraftEntity(slug(name.removeprefix("The ")), name, EntityKind.HUMAN)
        if entity.id not in taken:
            taken.add(entity.id)
            found.append(entity)
    if found:
        assumptions.append(
            "people taken from role words: " + ", ".join(e.name.lower() for e in found)
        )
    return found


def _assign_roles(entities: list[DraftEntity]) -> None:
    humans = 0
    for entity in entities:
        if entity.kind is EntityKind.HUMAN:
            humans += 1
            entity.role = (
                "primary" if humans <= 4 else "secondary" if humans <= 12 else "background"
            )
        elif entity.kind is EntityKind.BUILDING:
            entity.role = "environment"
        elif entity.kind is EntityKind.ABSTRACT:
            entity.role = "background"
    if not any(e.role == "primary" for e in entities):
        for entity in entities:
            if entity.role != "environment":
                entity.role = "primary"
                break


def slug(text: str) -> str:
    """``"Ares III crew"`` -> ``ares_iii_crew``; never starts with a digit."""
    result = re.sub(r"[^a-z0-9]+", "_", text.lower().replace("'", "").replace("’", ""))
    result = result.strip("_")
    return "e_" + result if result and not result[0].isalpha() else result


def _capitalised(token: str) -> bool:
    return token[0].isupper() and token[0].isalpha()
