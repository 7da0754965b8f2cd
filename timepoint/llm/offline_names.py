"""How the offline model names a crowd: distinct proper names from fixed pools, by kind.

The request's data block (task ``entity_population``, answer ``CrowdNamesDraft``) holds
``scenario`` {title, description, location, period}, ``entities`` [{id, kind, role}] in the
order the names are wanted, ``taken`` [names already in use] and ``ids`` [every entity's id].
Names come from fixed pools of given names, surnames and descriptive words, shuffled by the
request's random generator, so the same request always gets the same names. ``period`` picks
the pools of people's names and callings: a year before 1900 takes the older ones. No name
repeats another, one in ``taken`` or an id (as written or with spaces for underscores).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable
from itertools import product
from typing import Any

_OLDER_GIVEN = (
    "Thomas", "Margaret", "William", "Eleanor", "John", "Agnes", "Henry", "Alice", "Richard",
    "Catherine", "Edmund", "Joan", "Samuel", "Hester", "Nathaniel", "Martha", "Josiah",
    "Abigail", "Matthias", "Isabel", "Giles", "Cecily", "Walter", "Bridget", "Hugh", "Mercy",
    "Ambrose", "Prudence", "Jasper", "Lettice", "Silas", "Honora", "Tobias", "Rosamund",
    "Gideon", "Temperance", "Bartholomew", "Susanna", "Elias", "Judith",
)  # fmt: skip
_OLDER_SURNAMES = (
    "Ashworth", "Blackwood", "Carrow", "Dunmore", "Ellery", "Fairfax", "Greaves", "Hallam",
    "Ingram", "Jessop", "Kettering", "Lowther", "Marlowe", "Northcote", "Oakes", "Pemberton",
    "Quarles", "Radcliffe", "Stanhope", "Thorne", "Underhill", "Vane", "Whitlock", "Yardley",
    "Avery", "Bramwell", "Cobham", "Denholm", "Eastwick", "Fenwick", "Garside", "Holloway",
    "Ireton", "Kemble", "Lisle", "Mowbray", "Nash", "Penrose", "Rowe", "Selden",
)  # fmt: skip
_MODERN_GIVEN = (
    "Daniel", "Priya", "Marcus", "Elena", "Samir", "Grace", "Tomás", "Aiko", "Owen", "Leila",
    "Jonah", "Fatima", "Lucas", "Maren", "Kwame", "Sofia", "Ravi", "Hannah", "Mateo", "Ingrid",
    "Andre", "Yuki", "Felix", "Amara", "Noah", "Chiara", "Diego", "Nadia", "Ethan", "Zora",
    "Viktor", "Lina", "Omar", "Beatriz", "Kenji", "Rosa", "Isaac", "Mei", "Connor", "Ayesha",
)  # fmt: skip
_MODERN_SURNAMES = (
    "Okafor", "Lindqvist", "Moreau", "Castillo", "Nakamura", "Brennan", "Haddad", "Kowalski",
    "Mensah", "Rossi", "Chen", "Duarte", "Fischer", "Gupta", "Halloran", "Ibrahim", "Jensen",
    "Kim", "Laurent", "Mbeki", "Novak", "Ortega", "Petrov", "Quinn", "Reyes", "Sato", "Tanaka",
    "Varga", "Walsh", "Yilmaz", "Abbott", "Bauer", "Costa", "Dalton", "Eriksen", "Ferreira",
    "Greene", "Horvath", "Iyer", "Keane",
)  # fmt: skip
_OLDER_CALLINGS = (
    "farmer", "clerk", "innkeeper", "carter", "seamstress", "merchant", "blacksmith", "servant",
    "sailor", "weaver", "printer", "constable", "midwife", "cooper", "chandler", "schoolmaster",
)  # fmt: skip
_MODERN_CALLINGS = (
    "engineer", "nurse", "driver", "teacher", "reporter", "analyst", "shopkeeper", "student",
    "mechanic", "accountant", "photographer", "paramedic", "chef", "technician", "lawyer", "pilot",
)  # fmt: skip
_ANIMAL_NAMES = (
    "Bess", "Rufus", "Juniper", "Boots", "Hector", "Moll", "Pepper", "Duke", "Bramble",
    "Smudge", "Tansy", "Captain", "Willow", "Ginger", "Bruno", "Clover", "Patch", "Nutmeg",
    "Shadow", "Tinker", "Blaze", "Poppy", "Jasper", "Sorrel", "Barley", "Misty", "Rook",
    "Sable", "Thistle", "Wren",
)  # fmt: skip
_EPITHETS = (
    "Grey", "Bold", "Elder", "Younger", "Quick", "Patient", "Lame", "Swift", "Black", "Red",
    "Old", "Faithful", "Restless", "Quiet", "Fierce", "Gentle", "Lean", "Stout",
)  # fmt: skip
_BUILDING_NOUNS = (
    "House", "Hall", "Mill", "Granary", "Chapel", "Lodge", "Tower", "Forge", "Inn", "Manor",
    "Warehouse", "Barn", "Cottage", "Gatehouse", "Stables", "Court",
)  # fmt: skip
_OBJECT_NOUNS = (
    "lantern", "ledger", "clock", "compass", "seal", "map", "chest", "bell", "letter", "key",
    "sword", "banner", "cup", "ring", "telescope", "portrait", "quill", "drum",
)  # fmt: skip
_MATERIALS = (
    "brass", "oak", "silver", "iron", "gilt", "copper", "ivory", "cracked", "battered",
    "old", "painted", "sealed", "leather", "pewter", "carved", "faded",
)  # fmt: skip
_INSTITUTION_NOUNS = (
    "Company", "Guild", "Society", "Board", "Council", "Bank", "Trust", "Assembly", "League",
    "Lodge", "Chamber", "Committee",
)  # fmt: skip
_ABSTRACT_NAMES = (
    "Rumour", "Dread", "Hope", "Ambition", "Suspicion", "Pride", "Grief", "Resolve", "Envy",
    "Duty", "Fortune", "Scandal", "Memory", "Doubt", "Zeal", "Mercy", "Habit", "Silence",
)  # fmt: skip
_PLACES = (
    "Well", "River", "Hearth", "Hill", "Grove", "Crossroads", "Spring", "Stone", "Threshold",
    "Orchard", "Harbour", "Bridge", "Marsh", "Gate", "Oak", "Field",
)  # fmt: skip

#: the year before which people get the older pool of names
MODERN_FROM = 1900

#: the tiers of names a kind may take, most natural first; each tier is shuffled on its own
Tiers = list[list[str]]
Forms = Callable[[tuple[str, ...], tuple[str, ...]], Tiers]


def _people(given: tuple[str, ...], surnames: tuple[str, ...]) -> Tiers:
    return [[f"{g} {s}" for g, s in product(given, surnames)]]


def _animals(given: tuple[str, ...], surnames: tuple[str, ...]) -> Tiers:
    return [list(_ANIMAL_NAMES), [f"{n} the {e}" for n, e in product(_ANIMAL_NAMES, _EPITHETS)]]


def _buildings(given: tuple[str, ...], surnames: tuple[str, ...]) -> Tiers:
    return [[f"{s} {n}" for s, n in product(surnames, _BUILDING_NOUNS)]]


def _objects(given: tuple[str, ...], surnames: tuple[str, ...]) -> Tiers:
    return [
        [f"the {m} {n}" for m, n in product(_MATERIALS, _OBJECT_NOUNS)],
        [f"{s}'s {n}" for s, n in product(surnames, _OBJECT_NOUNS)],
    ]


def _institutions(given: tuple[str, ...], surnames: tuple[str, ...]) -> Tiers:
    return [
        [f"the {s} {n}" for s, n in product(surnames, _INSTITUTION_NOUNS)],
        [f"the {p} {n}" for p, n in product(_PLACES, _INSTITUTION_NOUNS)],
    ]


def _abstractions(given: tuple[str, ...], surnames: tuple[str, ...]) -> Tiers:
    return [
        list(_ABSTRACT_NAMES),
        [f"{e} {a}" for e, a in product(_EPITHETS, _ABSTRACT_NAMES)],
        [f"the {a} of {s}" for a, s in product(_ABSTRACT_NAMES, surnames)],
    ]


def _spirits(given: tuple[str, ...], surnames: tuple[str, ...]) -> Tiers:
    return [
        [f"the Spirit of the {p}" for p in _PLACES],
        [f"the {e} Spirit of the {p}" for e, p in product(_EPITHETS, _PLACES)],
        [f"the Spirit of {s} {p}" for s, p in product(surnames, _PLACES)],
    ]


def _machines(given: tuple[str, ...], surnames: tuple[str, ...]) -> Tiers:
    return [list(given), [f"{g} {s}" for g, s in product(given, surnames)]]


#: how each entity kind's names are formed (any other kind is named like a person)
FORMS: dict[str, Forms] = {
    "human": _people,
    "animal": _animals,
    "building": _buildings,
    "object": _objects,
    "institution": _institutions,
    "abstract": _abstractions,
    "kami": _spirits,
    "ai": _machines,
}


def crowd_names(ctx: dict[str, Any], rng: random.Random, _leak: float) -> dict[str, Any]:
    """A ``CrowdNamesDraft`` answer: one distinct name and description per listed entity."""
    scenario = ctx.get("scenario", {})
    modern = _year(str(scenario.get("period", ""))) >= MODERN_FROM
    given, surnames, callings = (
        (_MODERN_GIVEN, _MODERN_SURNAMES, _MODERN_CALLINGS)
        if modern
        else (_OLDER_GIVEN, _OLDER_SURNAMES, _OLDER_CALLINGS)
    )
    setting = scenario.get("location") or scenario.get("title") or "the scene"
    ids = [str(i) for i in ctx.get("ids", [])]
    taken = [*ctx.get("taken", []), *ids, *(i.replace("_", " ") for i in ids)]
    used = {" ".join(str(name).split()).casefold() for name in taken}
    candidates: dict[str, list[str]] = {}
    names = []
    for entity in ctx.get("entities", []):
        kind = str(entity.get("kind", "human"))
        role = str(entity.get("role", "background"))
        if kind not in candidates:
            tiers = FORMS.get(kind, _people)(given, surnames)
            for tier in tiers:
                rng.shuffle(tier)
            candidates[kind] = [name for tier in tiers for name in tier]
        name = next(n for n in candidates[kind] if n.casefold() not in used)
        used.add(name.casefold())
        if kind in ("human", "any"):
            what = f"A {rng.choice(callings)}, one of the {role} figures at {setting}."
        else:
            what = f"A {role} {'presence' if kind == 'ai' else kind} at {setting}."
        names.append({"name": name, "description": what})
    return {"names": names}


def _year(period: str) -> int:
    found = re.match(r"-?\d{1,4}", period.strip())
    return int(found.group()) if found else MODERN_FROM


def person_name(period: str, taken: Iterable[str], rng: random.Random) -> str:
    """A person's name of ``period`` (a date or year) that is none of ``taken``."""
    modern = _year(period) >= MODERN_FROM
    given, surnames = (
        (_MODERN_GIVEN, _MODERN_SURNAMES) if modern else (_OLDER_GIVEN, _OLDER_SURNAMES)
    )
    used = {" ".join(str(name).split()).casefold() for name in taken}
    names = [f"{g} {s}" for g, s in product(given, surnames)]
    rng.shuffle(names)
    return next(n for n in names if n.casefold() not in used)
