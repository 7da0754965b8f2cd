"""Entities a text mentions that a run may not have yet: ``attendee_47``, "guest 3" (M9)."""

from __future__ import annotations

import re
from collections.abc import Collection

#: crowd nouns recognised in "guest 3" / "attendee #47"
CROWD_NOUNS = (
    "attendee",
    "guest",
    "delegate",
    "servant",
    "spectator",
    "onlooker",
    "bystander",
    "member",
    "visitor",
    "passenger",
    "soldier",
    "worker",
    "citizen",
    "villager",
    "patron",
    "juror",
    "witness",
    "voter",
    "employee",
)
_ID_REF = re.compile(r"\b([a-z][a-z]+)_(\d+)\b")
_SPOKEN_REF = re.compile(rf"\b({'|'.join(CROWD_NOUNS)})\s+#?(\d+)\b", re.IGNORECASE)
_NOT_ENTITIES = frozenset({"tp", "f", "dlg", "path", "branch", "cycle", "act", "step"})


def unknown_references(text: str, known: Collection[str]) -> list[str]:
    """Entity ids mentioned in ``text`` as numbered crowd members that are not in ``known``."""
    found = [f"{m.group(1)}_{m.group(2)}" for m in _ID_REF.finditer(text.lower())]
    found += [f"{m.group(1).lower()}_{m.group(2)}" for m in _SPOKEN_REF.finditer(text)]
    return [
        ref
        for ref in dict.fromkeys(found)
        if ref not in known and ref.split("_")[0] not in _NOT_ENTITIES
    ]
