"""Word tables that turn plain language into scenario settings.

Shared by the sentence drafter (:mod:`timepoint.scenario.sentence`) and the template importer
(:mod:`timepoint.scenario.legacy`), which both have to guess an entity's kind from a word.
"""

from __future__ import annotations

import re

from timepoint.world.entity import EntityKind


def _words(text: str) -> list[str]:
    return text.split()


#: nouns that name a non-human entity, by kind (singular, lower case)
KIND_WORDS: dict[str, EntityKind] = {
    **dict.fromkeys(
        _words(
            "fox wolf elk deer bear hound dog cat horse raven crow owl eagle hawk whale dolphin "
            "salmon bee bees herd pack flock caribou bison moose lion tiger monkey snake"
        ),
        EntityKind.ANIMAL,
    ),
    **dict.fromkeys(
        _words(
            "shrine temple church cathedral castle tower lighthouse house mansion palace manor "
            "chapel mosque monastery fortress inn tavern barn mill station"
        ),
        EntityKind.BUILDING,
    ),
    **dict.fromkeys(
        _words(
            "sword ring letter ship crown amulet relic compass map artifact artefact book "
            "tree forest river mountain"
        ),
        EntityKind.OBJECT,
    ),
    **dict.fromkeys(
        _words(
            "climate drought economy market rumor rumour pressure famine plague storm inflation "
            "fate"
        ),
        EntityKind.ABSTRACT,
    ),
    **dict.fromkeys(
        _words(
            "company startup government senate congress court agency committee university "
            "regulator competitor army navy council parliament bank fund union"
        ),
        EntityKind.INSTITUTION,
    ),
    **dict.fromkeys(_words("ai robot android algorithm chatbot agi assistant"), EntityKind.AI),
    **dict.fromkeys(
        _words("kami spirit spirits god goddess deity ghost okami yokai ancestor"),
        EntityKind.KAMI,
    ),
}

#: irregular or awkward plurals -> singular
PLURALS: dict[str, str] = {
    "wolves": "wolf",
    "foxes": "fox",
    "geese": "goose",
    "mice": "mouse",
    "people": "person",
    "women": "woman",
    "men": "man",
    "children": "child",
    "companies": "company",
    "agencies": "agency",
    "deities": "deity",
    "ravens": "raven",
    "ghosts": "ghost",
    "robots": "robot",
    "gods": "god",
}

#: the lowest animism level (M16) that admits each kind
ANIMISM_FOR_KIND: dict[EntityKind, int] = {
    EntityKind.HUMAN: 0,
    EntityKind.ANIMAL: 1,
    EntityKind.BUILDING: 1,
    EntityKind.OBJECT: 2,
    EntityKind.ABSTRACT: 3,
    EntityKind.INSTITUTION: 3,
    EntityKind.ANY: 4,
    EntityKind.KAMI: 5,
    EntityKind.AI: 6,
}

#: people described by what they do ("a pilgrim", "the CEO")
ROLE_WORDS: frozenset[str] = frozenset(
    _words(
        "ceo cto cfo coo board founder cofounder investor partner director manager "
        "engineer scientist doctor nurse surgeon patient paramedic detective inspector "
        "officer pilgrim priest monk senator president candidate voter judge juror lawyer "
        "prosecutor witness commander captain pilot astronaut crew sailor soldier general "
        "king queen prince princess farmer hunter student professor teacher researcher "
        "reviewer analyst journalist mayor chair delegate castaway survivor keeper "
        "villager elder child mother father"
    )
)

#: nouns a proper name can label without being a person ("the Ares III crew", "Inari shrine")
LABELLED_NOUNS: frozenset[str] = frozenset(
    _words(
        "dinner meeting crew mission convention summit conference board company startup crisis "
        "election campaign war battle treaty expedition trial hearing investigation panel pitch "
        "festival migration colony program programme project launch shrine temple house station "
        "lab laboratory hospital university court party accord compromise night shift room office "
        "department ward"
    )
)

#: capitalised words that do not start a name
NOT_NAMES: frozenset[str] = frozenset(
    _words(
        "a an the this that these those what how why when where who which if by in on at of for "
        "from to with and or but after before during while as it its we our they their he she his "
        "her i my you your there here then now one two three four five six seven eight nine ten "
        "simulate imagine suppose consider show tell model let monday tuesday wednesday thursday "
        "friday saturday sunday january february march april may june july august september "
        "october november december spring summer autumn fall winter night morning evening dr mr "
        "mrs ms sir lady lord saint st"
    )
)

MONTHS: dict[str, int] = {
    name: number
    for number, name in enumerate(
        _words(
            "january february march april may june july august september october november december"
        ),
        start=1,
    )
}

#: words that give a time of day (hour, 24-hour clock)
DAYTIMES: dict[str, int] = {
    "dawn": 6,
    "morning": 9,
    "noon": 12,
    "midday": 12,
    "afternoon": 15,
    "evening": 18,
    "dinner": 18,
    "night": 22,
    "midnight": 0,
}

#: (pattern, time unit, step) from the sentence's sense of pace; first match wins
PACE: tuple[tuple[re.Pattern[str], str, int], ...] = (
    (re.compile(r"\bnight shift\b"), "hour", 4),
    (re.compile(r"\bseasons?\b|\bspring\b|\bautumn\b"), "month", 3),
    (re.compile(r"\bdecades?\b|\bgenerations?\b|\byears\b|\bannual\b|\bevery year\b"), "year", 1),
    (re.compile(r"\bmonths\b|\bquarters?\b"), "month", 1),
    (re.compile(r"\bweeks\b"), "week", 1),
    (re.compile(r"\bdays\b|\broadshow\b|\btrial\b"), "day", 1),
    (re.compile(r"\bminutes\b|\bpitch\b"), "minute", 15),
)

#: (mode, cue pattern) in priority order; the first mode with a cue wins
MODE_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "portal",
        re.compile(
            r"how did (we|it|they|this|that|things) (get|come|end up|happen)|how we got"
            r"|\bbackwards?\b|\btrace (it )?back|\bwork(ing)? back|\breason(ing)? back"
            r"|\bportal\b"
        ),
    ),
    (
        "branching",
        re.compile(r"\bwhat if\b|\bwhat would happen\b|\bhad not\b|\bhadn't\b|\bcounterfactual"),
    ),
    (
        "nonlinear",
        re.compile(r"\bflash-?backs?\b|\bflash[- ]forwards?\b|\bremembers\b|\bout of order\b"),
    ),
    (
        "cyclical",
        re.compile(
            r"\bcycles?\b|\bcyclical\b|\bseasons\b|\bevery (year|spring|summer|autumn|winter)\b"
            r"|\beach (year|spring|summer|autumn|winter)\b|\bannual\b|\brecurring\b"
        ),
    ),
    (
        "directorial",
        re.compile(r"\bdrama\b|\bdramatic\b|\bstory\b|\btragedy\b|\bthriller\b|\bnarrative\b"),
    ),
)

#: adjectives kept in front of a kind word ("a white fox" -> white_fox)
ADJECTIVES: frozenset[str] = frozenset(
    _words(
        "white black red grey gray golden silver old young ancient great wise lone small big "
        "wild sacred haunted abandoned rogue rival"
    )
)

#: trait names drawn for drafted entities
TRAITS: tuple[str, ...] = (
    "ambition",
    "caution",
    "warmth",
    "candor",
    "stubbornness",
    "curiosity",
    "patience",
    "pride",
)


def singular(word: str) -> str:
    """A lower-case noun in the singular, good enough for the tables above."""
    word = word.lower()
    if word in PLURALS:
        return PLURALS[word]
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if (
        word.endswith("s")
        and not word.endswith("ss")
        and word[:-1] in KIND_WORDS | dict.fromkeys(ROLE_WORDS)
    ):
        return word[:-1]
    return word


def kind_of_word(word: str) -> EntityKind | None:
    """The entity kind a noun names, or ``None`` when it is not in the table."""
    return KIND_WORDS.get(singular(word))


def kind_from_identifier(identifier: str) -> EntityKind | None:
    """Guess a kind from an identifier such as ``white_fox`` or ``shrine_building``."""
    for part in reversed(identifier.lower().split("_")):
        if part in {"building", "structure"}:
            return EntityKind.BUILDING
        kind = kind_of_word(part)
        if kind is not None:
            return kind
    return None
