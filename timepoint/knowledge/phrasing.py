"""Perspective of knowledge items written about their holder ("He has led…", "His plan…").

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
