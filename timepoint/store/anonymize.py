"""Stable pseudonyms for entities, so exported data names no one.

An entity's pseudonym is ``entity_`` plus 8 hex digits of ``sha256(salt, entity id)``: the same
entity gets the same pseudonym in every run and every export made with the same salt. Without a
salt, anyone who can guess an id can recompute its pseudonym; pass a secret salt when that
matters.

Besides the id and name columns, every string is scrubbed: full names, entity ids and the
capitalized words of names (``Hamilton`` of ``Alexander Hamilton``) are replaced wherever they
stand as words, with ``_``, ``-`` and ``:`` counting as word breaks so ``fact_madison_1`` is
scrubbed too.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

from timepoint.store.table_spec import Table

_NOT_SOURCES = ("scenario", "elevation")
#: Words of names too common to scrub on their own.
_SKIPPED_WORDS = frozenset(
    ("the", "and", "of", "von", "van", "der", "den", "del", "de", "la", "le", "da", "di", "du",
     "mr", "mrs", "ms", "dr", "sir", "lady", "lord", "saint", "st", "jr", "sr", "iii")
)  # fmt: skip
_MIN_WORD = 3


class Pseudonyms:
    """Replaces entity ids and names by stable pseudonyms, in columns and in free text.

    Args:
        entities: ``(entity id, display name)`` pairs of the entities that may appear.
        salt: mixed into every hash; keep it secret to make pseudonyms impossible to reverse.
    """

    def __init__(self, entities: Iterable[tuple[str, str]], *, salt: str = ""):
        self.salt = salt
        self._by_name: dict[str, str] = {}
        terms: dict[str, str] = {}
        words: dict[str, str] = {}
        for entity_id, name in entities:
            alias = self.of(entity_id)
            if name:
                self._by_name.setdefault(name, alias)
                terms.setdefault(name.lower(), alias)
                for word in re.findall(r"[^\W_]+", name):
                    if _distinctive(word):
                        words.setdefault(word, alias)
                        words.setdefault(word.upper(), alias)
            if len(entity_id) >= _MIN_WORD:
                terms.setdefault(entity_id.lower(), alias)
        self._terms = terms
        self._words = words
        self._pattern = _word_pattern(terms, re.IGNORECASE)
        self._word_pattern = _word_pattern(words, 0)

    def of(self, entity_id: str) -> str:
        """The pseudonym of an entity id."""
        digest = hashlib.sha256(f"{self.salt}\x00{entity_id}".encode()).hexdigest()
        return f"entity_{digest[:8]}"

    def name(self, name: str) -> str:
        """The pseudonym of a display name (that of its entity when known)."""
        return self._by_name.get(name) or self.of(f"name:{name}")

    def source(self, source: str) -> str:
        """An exposure source with an entity id replaced; other sources unchanged."""
        if source in _NOT_SOURCES or source.startswith("timepoint:"):
            return source
        return self.of(source)

    def text(self, text: str) -> str:
        """``text`` with every known name, id and name word replaced by its pseudonym."""
        if self._pattern is not None:
            text = self._pattern.sub(lambda m: self._terms[m.group(0).lower()], text)
        if self._word_pattern is not None:
            text = self._word_pattern.sub(lambda m: self._words[m.group(0)], text)
        return text

    def scrub(self, value: Any) -> Any:
        """Strings, and the strings inside lists and dicts, passed through :meth:`text`."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list | tuple):
            return [self.scrub(v) for v in value]
        if isinstance(value, dict):
            return {self.scrub(k): self.scrub(v) for k, v in value.items()}
        return value

    def row(self, table: Table, row: dict[str, Any]) -> dict[str, Any]:
        """A copy of ``row`` of ``table`` with ids and names pseudonymized and strings scrubbed."""
        out: dict[str, Any] = {}
        for column, value in row.items():
            pii = table.column(column).pii if column in table.column_names else None
            if value is None:
                out[column] = None
            elif pii == "id":
                out[column] = self.of(value)
            elif pii == "ids":
                out[column] = [self.of(v) for v in value]
            elif pii == "source":
                out[column] = self.source(value)
            elif pii == "name":
                out[column] = self.name(value)
            else:
                out[column] = self.scrub(value)
        return out


def _distinctive(word: str) -> bool:
    return len(word) >= _MIN_WORD and word[0].isupper() and word.lower() not in _SKIPPED_WORDS


def _word_pattern(terms: dict[str, str], flags: int) -> re.Pattern[str] | None:
    if not terms:
        return None
    alternatives = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])", flags)
