"""How facts are worded in prompts and answers: as the body of a sentence, by a short handle,
without stacked attributions, and from the perspective of the one who says them.

Initial knowledge is usually phrased in the third person about the entity that holds it. When the
holder says it, it becomes first person; when someone else does, the pronoun becomes a name.
"""

from __future__ import annotations

import re

_LEAD = {"he": "I", "she": "I", "his": "my", "her": "my"}
_OBJECT = re.compile(r"\b(him|her)\b(?=[\s,.;:]|$)")


def _starts_with_pronoun(text: str) -> str | None:
    first = text.split(" ", 1)[0]
    return first.lower() if first.lower() in _LEAD else None


def as_spoken_by(text: str, holder_name: str | None, speaker_name: str) -> str:
    """``text`` rephrased for ``speaker_name`` when it is about ``holder_name``."""
    if not holder_name:
        return text
    if holder_name != speaker_name:
        return about(text, holder_name)
    lead = _starts_with_pronoun(text)
    if lead is None:
        return _OBJECT.sub("me", text)
    rest = text.split(" ", 1)[1] if " " in text else ""
    return f"{_LEAD[lead]} {_OBJECT.sub('me', rest)}".strip()


def about(text: str, holder_name: str | None) -> str:
    """``text`` with a leading pronoun replaced by the holder's surname (third person)."""
    lead = _starts_with_pronoun(text)
    if not holder_name:
        return text
    surname = holder_name.split()[-1]
    if lead is None:
        return _OBJECT.sub(surname, text)
    rest = text.split(" ", 1)[1] if " " in text else ""
    subject = f"{surname}'s" if lead in ("his", "her") else surname
    return f"{subject} {_OBJECT.sub(surname, rest)}".strip()


_LOWERABLE = {
    "the",
    "a",
    "an",
    "this",
    "that",
    "these",
    "those",
    "our",
    "their",
    "its",
    "it",
    "there",
    "his",
    "her",
    "several",
    "many",
    "most",
    "some",
    "all",
    "no",
    "every",
    "each",
    "federal",
    "two",
    "three",
    "four",
    "five",
    "one",
    "both",
    "any",
    "another",
    "other",
    "we",
    "they",
}


def sentence_case(fact: str) -> str:
    """A fact as the body of a sentence: trailing stop removed, a leading article lowercased."""
    fact = fact.strip().rstrip(".")
    first, _, rest = fact.partition(" ")
    if first.lower() in _LOWERABLE:
        return f"{first.lower()} {rest}".strip()
    return fact


#: "X pressed Y on the point that …", "X insisted that …", "X is pressing the point that …",
#: "X challenged Y on whether …": how the offline model attributes a point someone made.
_ATTRIBUTION = re.compile(
    r"^[^,;:]{1,80}? (?:pressed [^,;:]{1,80}? on the point that|insisted that"
    r"|is pressing the point that|challenged [^,;:]{1,80}? on whether) "
)


def point_of(fact: str) -> str:
    """The point a fact reports, without the attributions stacked in front of it.

    A fact about who pressed whom on a point becomes, when repeated, the point of the next one;
    quoting only the innermost point keeps fact texts from growing with every retelling.
    """
    while match := _ATTRIBUTION.match(fact):
        fact = fact[match.end() :]
    return fact


def topic_of(fact: str, words: int = 12) -> str:
    """A short handle for a fact: its first clause, at most ``words`` words."""
    clause = sentence_case(fact).split(",")[0].split(";")[0]
    parts = clause.split()
    return " ".join(parts[:words]) + ("…" if len(parts) > words else "")
