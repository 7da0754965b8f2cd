"""The cast of an earlier-format template: characters wherever the template names them.

Templates of the earlier Timepoint often define their people only in ``metadata`` (panel
members, founders, crew lists, litigation parties, stress markers keyed by person) or only in the
scenario description ("the Compromise Dinner between Jefferson, Hamilton, and Madison"). This
module reads both into :class:`CastMember` records that become roster entries, each with a role
and initial knowledge, so an imported scenario never runs with placeholder entities.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from timepoint.scenario import vocabulary as vocab
from timepoint.scenario.sentence_entities import read_entities, slug, tokenize

#: words in a metadata key that say its value lists characters
_CAST_WORDS = frozenset(
    {
        *("members", "founders", "crew", "parties", "party", "characters", "participants"),
        *("attendees", "cast", "team", "panel", "judges", "witnesses", "suspects"),
        *("investors", "executives", "reviewers", "delegates", "people", "agents"),
        *("plaintiffs", "defendants", "litigants", "players", "staff", "officers"),
        *("roster", "personnel"),
    }
)
#: a sentence about the simulator itself ("Demonstrates M16 …"), not the story
_MECHANISM_CODE = re.compile(r"\bM\d{1,2}\b")
#: keys of a character's mapping and what they hold
_NAME_KEYS = ("name", "full_name", "display_name")
_ID_KEYS = ("id", "entity_id", "key")
_ROLE_KEYS = ("role", "title", "position", "occupation", "affiliation", "side")
_KNOWLEDGE_KEYS = (
    "initial_knowledge",
    "knowledge",
    "knows",
    "expertise",
    "background",
    "agenda",
    "stance",
    "goal",
    "goals",
    "secret",
    "secrets",
)
#: group nouns a description may use for unnamed people, and what one member is called
_GROUPS = {
    "board": "Board member",
    "crew": "Crew member",
    "panel": "Panel member",
    "team": "Team member",
    "jury": "Juror",
    "committee": "Committee member",
    "council": "Council member",
}


@dataclass
class CastMember:
    """One character: id, display name, the role the template gives it, what it knows."""

    id: str
    name: str
    role: str = ""
    knowledge: list[str] = field(default_factory=list)
    source: str = ""


def is_cast_key(key: str) -> bool:
    """Whether a metadata key names a list of characters (``panel_members``, ``founders``)."""
    return bool(set(re.split(r"[^a-z]+", key.lower())) & _CAST_WORDS)


def cast_from_metadata(key: str, value: Any) -> list[CastMember] | None:
    """The characters a metadata value lists, or None when it is not a character list.

    A list of mappings that each carry a name is a cast whatever the key; a list of strings, a
    list of mappings with ids, or a mapping from ids to mappings, is one when the key says so
    (:func:`is_cast_key`).
    """
    source = f"metadata.{key}"
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        named = all(any(item.get(k) for k in _NAME_KEYS) for item in value)
        members = [_member(item, None, source) for item in value]
        cast = [m for m in members if m is not None]
        return cast if len(cast) == len(value) and (named or is_cast_key(key)) else None
    if not is_cast_key(key):
        return None
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return [CastMember(slug(v), _display(v), source=source) for v in value if slug(v)]
    if isinstance(value, Mapping) and value and all(isinstance(v, Mapping) for v in value.values()):
        found = [_member(item, str(k), source) for k, item in value.items()]
        return [m for m in found if m is not None]
    return None


def cast_from_description(text: str, taken: set[str], limit: int) -> list[CastMember]:
    """Up to ``limit`` people named in the description and not ``taken``, in order of mention.

    Proper names are kept (a name that labels a noun, "Compromise Dinner", is not a person; a
    first name already part of a full name is not a second person); role words ("the CEO") are
    characters too, and a group noun ("the board", "the crew") yields members to fill the rest.
    Each one knows the sentences of the description that mention it.
    """
    sentences = [" ".join(s.split())[:400] for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]
    story = [s for s in sentences if not _MECHANISM_CODE.search(s)]
    found: list[CastMember] = []
    groups: list[str] = []
    seen = set(taken)
    for sentence in story:
        people, _ = read_entities(tokenize(sentence), [])
        for person in people:
            words = person.id.split("_")
            if person.id in _GROUPS and person.id not in groups:
                groups.append(person.id)
                continue
            if person.kind.value != "human" or set(words) & vocab.LABELLED_NOUNS:
                continue
            is_role = person.id in vocab.ROLE_WORDS
            if not is_role and not _proper(person.name, text):
                continue
            if any(_same_person(person.id, other) for other in seen):
                continue
            seen.add(person.id)
            mention = person.name.removeprefix("The ").removeprefix("the ")
            knows = [s for s in story if mention.lower() in s.lower()][:3]
            titled = re.search(rf"\b{re.escape(mention)}\s*\(([^()]{{1,60}})\)", text)
            role = titled.group(1) if titled else (person.name if is_role else "")
            found.append(CastMember(person.id, person.name, role, knows, "scenario_description"))
    members = found[:limit]
    for group in groups:
        for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
            member_id = f"{group}_member_{letter.lower()}"
            if len(members) >= limit:
                break
            if member_id in seen:
                continue
            label = _GROUPS[group]
            # lettered, not numbered: "board member 2" would read as an on-demand crowd member
            members.append(
                CastMember(member_id, f"{label} {letter}", label, story[:1], "scenario_description")
            )
    return members


def _proper(name: str, text: str) -> bool:
    """A name of two or more words, or a single word met somewhere other than a sentence start
    and not only as a parenthesised title ("David Kim (Associate)")."""
    if name.startswith(("The ", "the ")):
        return False
    if len(name.split()) > 1:
        return True
    pattern = rf"(?<![.!?]\s)(?<!^)(?<!\()\b{re.escape(name)}\b(?!\))"
    return re.search(pattern, text.strip()) is not None


def _same_person(new: str, known: str) -> bool:
    """``jennifer`` after ``jennifer_park``, ``flight_engineer_raj_mehta`` after ``raj_mehta``."""
    return new == known or new in known.split("_") or new.endswith("_" + known)


def _member(item: Mapping[str, Any], key: str | None, source: str) -> CastMember | None:
    name = next((str(item[k]) for k in _NAME_KEYS if item.get(k)), None)
    identifier = next((str(item[k]) for k in _ID_KEYS if item.get(k)), None) or key
    if name is None and identifier is None:
        return None
    member_id = slug(identifier or name or "")
    role = "; ".join(str(item[k]) for k in _ROLE_KEYS if item.get(k))
    knowledge: list[str] = []
    for k in _KNOWLEDGE_KEYS:
        value = item.get(k)
        if isinstance(value, list):
            knowledge += [_sentence(v) for v in value]
        elif value:
            knowledge.append(_sentence(value))
    return CastMember(member_id, name or _display(identifier or ""), role, knowledge, source)


def _display(text: str) -> str:
    words = re.split(r"[_\s]+", str(text).strip())
    return " ".join(w if w[:1].isupper() else w.capitalize() for w in words if w)


def _sentence(value: Any) -> str:
    text = str(value).replace("_", " ").strip()
    return text[:1].upper() + text[1:]
