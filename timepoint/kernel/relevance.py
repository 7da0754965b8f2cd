"""Which of the facts an entity holds a prompt shows: the latest, then the most relevant.

An entity's knowledge grows with every timepoint; a prompt shows a fixed number of its facts.
While the whole story still fits in prompts verbatim, those are the facts it met most recently.
Once the chain's early history is only summarized (see :mod:`timepoint.time.history`), half
of the slots go to the latest facts (what just happened) and the rest to the older facts closest
to the moment at hand, measured as the cosine of M6 fact embeddings
(:func:`~timepoint.kernel.embedding.embed_text`) against the moment's event and key facts.
Events then take at most a third of the slots: the moment itself is already in the prompt, and
what was said carries more than the narration of earlier moments.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import numpy as np

from timepoint.kernel.embedding import embed_text
from timepoint.kernel.history_window import is_summarized
from timepoint.kernel.state import WorldState
from timepoint.world import ExposureEvent, Timepoint


@lru_cache(maxsize=8192)
def _embedding(text: str) -> np.ndarray:
    return embed_text(text)


def moment_vector(tp: Timepoint) -> np.ndarray:
    """The embedding a moment's facts are compared with: its event and key facts."""
    return _embedding(" ".join([tp.event, *tp.key_facts]))


def relevance(text: str, query: np.ndarray) -> float:
    """Cosine of ``text``'s embedding with ``query`` (both unit vectors), in [-1, 1]."""
    return float(_embedding(text) @ query)


def _newest_first(events: Iterable[ExposureEvent]) -> list[ExposureEvent]:
    return sorted(events, key=lambda e: (e.timestamp, e.fact_id), reverse=True)


def select_known(
    state: WorldState, events: Iterable[ExposureEvent], tp: Timepoint, limit: int
) -> list[ExposureEvent]:
    """The ``limit`` facts of ``events`` (what an entity holds at ``tp``) a prompt shows.

    Newest first. Once ``tp``'s early history is summarized: half of the slots by recency, the
    rest by relevance to ``tp``; at most a third (and at least one) of them narrate events.
    """
    ordered = _newest_first(events)
    if len(ordered) <= limit or not is_summarized(state, tp.id):
        return ordered[:limit]
    query = moment_vector(tp)
    event_cap = max(1, limit // 3)
    narrates = [state.facts[e.fact_id].origin.startswith("event:") for e in ordered]
    chosen: set[int] = set()
    events_taken = 0

    def take(candidates: Iterable[int], until: int) -> None:
        nonlocal events_taken
        for n in candidates:
            if len(chosen) >= until:
                return
            if n in chosen or (narrates[n] and events_taken >= event_cap):
                continue
            chosen.add(n)
            events_taken += narrates[n]

    take(range(len(ordered)), (limit + 1) // 2)
    scores = [relevance(e.fact_text, query) for e in ordered]
    take(sorted(range(len(ordered)), key=lambda n: (-scores[n], n)), limit)
    event_cap = limit  # too few substantive facts: fill with the latest events after all
    take(range(len(ordered)), limit)
    return [ordered[n] for n in sorted(chosen)]


def rank_by_relevance(texts: dict[str, str], tp: Timepoint, limit: int) -> list[str]:
    """The ids of the ``limit`` texts closest to ``tp`` (ties: the order given)."""
    query = moment_vector(tp)
    order = {fact_id: n for n, fact_id in enumerate(texts)}
    ranked = sorted(texts, key=lambda f: (-relevance(texts[f], query), order[f]))
    return ranked[:limit]
