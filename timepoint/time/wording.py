"""Word-level measures the temporal modes compute their scores with (no model involved).

Texts are compared by their *content words*: lower-cased words of three letters or more that
are not function words. Scores are shares in [0, 1], so they can be weighed against model
judgements.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_WORD = re.compile(r"[a-z][a-z'\-]{2,}")
_YEAR = re.compile(r"\b(1[5-9]\d\d|2[0-4]\d\d)\b")

_STOP_TEXT = """
    the and for are but not you all any can had her was one our out day get has him his how man
    new now old see two way who boy did its let put say she too use that with have this will your
    from they know want been good much some time very when come here just like long make many
    more only over such take than them well were what into their there these those which while
    would could should about after again also because before being between both each even ever
    first most other same then through under until upon where whether within without yet
    itself themselves them whose whom once made gave away back still last next toward
    towards across along among around onto another other others
"""
STOPWORDS = frozenset(_STOP_TEXT.split())


def content_words(text: str) -> set[str]:
    """The content words of ``text`` (lower case, no function words, simple plural folding)."""
    words = set()
    for word in _WORD.findall(text.lower()):
        word = word.strip("'-")
        if len(word) < 3 or word in STOPWORDS:
            continue
        if word.endswith("s") and len(word) > 4 and not word.endswith("ss"):
            word = word[:-1]
        words.add(word)
    return words


def overlap(a: str, b: str) -> float:
    """Jaccard similarity of the content words of ``a`` and ``b``."""
    wa, wb = content_words(a), content_words(b)
    if not wa or not wb:
        return 0.0
    return len(wa & wb) / len(wa | wb)


def coverage(source: str, target: str) -> float:
    """Share of ``target``'s content words that ``source`` also uses."""
    wt = content_words(target)
    if not wt:
        return 0.0
    return len(wt & content_words(source)) / len(wt)


def years_in(text: str) -> list[int]:
    """Four-digit years (1500–2499) mentioned in ``text``."""
    return [int(y) for y in _YEAR.findall(text)]


def mentions(text: str, names: Iterable[str]) -> list[str]:
    """The ``names`` (full names or their last word) that ``text`` mentions."""
    low = text.lower()
    found = []
    for name in names:
        parts = name.lower().split()
        if parts and (name.lower() in low or (len(parts[-1]) > 2 and parts[-1] in low)):
            found.append(name)
    return found


def clamp(value: float, low: float = 0.0, high: float = 1.0) -> float:
    return max(low, min(high, value))
