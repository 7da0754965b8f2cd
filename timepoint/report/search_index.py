"""The site's search index: one entry per page worth finding, written as a script file.

Entries name runs (title, id, scenario, mode and every entity's name), batches and path
comparisons. The index is ``assets/search-index.js``, which sets ``window.tpSearchIndex``; a
script file rather than JSON because pages opened from ``file://`` cannot fetch files.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class SearchEntry:
    """One search result: ``title`` and ``detail`` shown, ``href`` from the site root, and the
    lower-case ``text`` searched."""

    title: str
    detail: str
    href: str
    text: str


def run_entry(
    run_id: str, title: str, scenario: str, mode: str, entities: Sequence[str], href: str
) -> SearchEntry:
    """The entry of a run page: found by its title, id, scenario, mode or an entity's name."""
    names = ", ".join(entities)
    detail = f"{run_id} · {scenario} · {mode}" + (f" · {names}" if names else "")
    text = " ".join([title, run_id, scenario, mode, *entities]).lower()
    return SearchEntry(title or run_id, detail, href, text)


def index_script(entries: Iterable[SearchEntry]) -> str:
    """The text of ``assets/search-index.js``."""
    data = json.dumps([asdict(e) for e in entries], ensure_ascii=True, separators=(",", ":"))
    return f"window.tpSearchIndex = {data};\n"
