"""The story so far in a bounded prompt (M7): recent timepoints verbatim, older ones summarized.

A prompt that needs the history of a causal chain gets its last events word for word and
everything before them as one paragraph. With ``recent`` = R and ``every`` = N (under
``mechanisms.settings.m7``), the chain's first ``N·⌊(length − R) / N⌋`` events are summarized
and the rest (R to R + N − 1 events) are quoted, so neither part grows with the run.

The summary is a model call (``summarization``, metered and budgeted like every call) made once
per N timepoints of a chain and reused: the summary through a timepoint is written from the
summary through the checkpoint before it plus the N events in between, so each summarization
prompt is bounded as well. Summaries are kept in ``RunRecord.evidence.history_summaries``, each
under the id of the timepoint it runs through (``timepoint_id``) with the number of events it
``covers``; a branch (M12) keeps those of the timepoints it copies and reuses them.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from timepoint.kernel.context import RunContext, ask_model
from timepoint.kernel.history_window import HistorySettings, summarized_count
from timepoint.kernel.mechanism_settings import read_settings
from timepoint.kernel.state import WorldState
from timepoint.llm.base import ActionType
from timepoint.llm.structured import expect_answer
from timepoint.world import EntityRole
from timepoint.world.causal import ancestors
from timepoint.world.evidence import ChainSummary
from timepoint.world.phrasing import point_of, topic_of

#: Sentences the offline summary keeps about the stretches after the opening.
_STRETCHES = 3


class HistorySummary(BaseModel):
    """A summarization answer: the story of a chain so far, as one paragraph."""

    model_config = ConfigDict(extra="forbid")

    summary: str = Field(min_length=1)

    @classmethod
    def offline_answer(cls, context: dict[str, Any], rng: random.Random) -> dict[str, Any]:
        """The earlier summary's opening and latest stretches, plus one sentence for the new one."""
        events = context.get("events", [])
        earlier = str(context.get("earlier") or "")
        sentences = [s.strip() for s in earlier.split("\n") if s.strip()]
        if not sentences and events:
            sentences = [f"It opened with {_topic(events[0]['event'])}."]
        if events:
            pivot = max(events, key=lambda e: (float(e.get("importance", 0)), e["id"]))
            verb = rng.choice(("turned on", "was marked by", "centred on"))
            sentences.append(
                f"From {events[0]['time']} to {events[-1]['time']} the story {verb} "
                f"{_topic(pivot['event'])}."
            )
        opening, stretches = sentences[:1], sentences[1:]
        return {"summary": "\n".join(opening + stretches[-_STRETCHES:])}


def _topic(text: str) -> str:
    return topic_of(point_of(text), 14)


@dataclass(frozen=True)
class Window:
    """What a prompt shows of a chain: the summary of its first ``covered`` events, and the rest.

    ``recent`` holds the ids and the events after the summarized ones (oldest first).
    """

    summary: str
    covered: int
    through: str | None
    recent: list[tuple[str, str]]

    @property
    def events(self) -> list[str]:
        return [event for _, event in self.recent]

    def data(self) -> dict[str, Any]:
        """The summary as a prompt's data: ``{"earlier": {...}}``, or nothing when there is none
        (``previous`` carries the recent events)."""
        if not self.summary:
            return {}
        return {
            "earlier": {"covers": self.covered, "through": self.through, "summary": self.summary}
        }


class History:
    """Bounded views of causal chains for prompts, with their summaries made once and reused."""

    def __init__(self, ctx: RunContext, state: WorldState):
        self.ctx = ctx
        self.state = state
        self._lock = threading.RLock()
        self._settings: HistorySettings | None = None

    @property
    def settings(self) -> HistorySettings:
        if self._settings is None:
            self._settings = read_settings(
                self.state.scenario, "m7", HistorySettings, self.state.evidence.ignored_settings
            )
        return self._settings

    def _kept(self) -> dict[str, ChainSummary]:
        return {e.timepoint_id: e for e in self.state.evidence.history_summaries}

    def chain(self, tp_id: str | None) -> list[str]:
        """Ids of ``tp_id``'s causal chain, root first, ending at ``tp_id``."""
        if tp_id is None:
            return []
        return [*reversed(ancestors(self.state.timepoints, tp_id)), tp_id]

    def window(self, tp_id: str | None) -> Window:
        """The bounded view of the chain ending at ``tp_id`` (``None``: nothing happened yet)."""
        chain = self.chain(tp_id)
        covered = summarized_count(self.settings, len(chain))
        summary = self._summary(chain, covered) if covered else ""
        recent = [(t, self.state.timepoints[t].event) for t in chain[covered:]]
        return Window(
            summary=summary,
            covered=covered,
            through=chain[covered - 1] if covered else None,
            recent=recent,
        )

    def _summary(self, chain: list[str], covered: int) -> str:
        """The summary of ``chain[:covered]``, asking the model only when none is kept."""
        through = chain[covered - 1]
        with self._lock:
            kept = self._kept().get(through)
            if kept is not None:
                return kept.text
            every = self.settings.every
            start = covered - every
            earlier = self._summary(chain, start) if start > 0 else ""
            text, tokens, model = self._ask(earlier, chain[start:covered], covered)
            entry = ChainSummary(
                timepoint_id=through,
                covers=covered,
                after=chain[start - 1] if start > 0 else None,
                text=text,
                tokens=tokens,
                model=model,
            )
            self.state.evidence.history_summaries.append(entry)
            self.state.ledger.count("M7", "history summaries")
            self.state.ledger.count("M7", "history summary tokens", tokens)
            return text

    def _ask(self, earlier: str, ids: list[str], covered: int) -> tuple[str, int, str]:
        state, cfg = self.state, self.settings
        tps = [state.timepoints[t] for t in ids]
        events = [
            {
                "id": t.id,
                "time": t.timestamp.strftime("%Y-%m-%d %H:%M"),
                "event": t.event,
                "importance": t.importance,
            }
            for t in tps
        ]
        names = [
            e.name
            for e in state.entities.values()
            if e.role in (EntityRole.PRIMARY, EntityRole.SECONDARY)
        ][:8]
        context = {
            "scenario": {"title": state.scenario.title},
            "earlier": earlier or None,
            "events": events,
            "names": names,
            "covers": covered,
            "words": cfg.words,
        }
        prompt = "\n".join(
            [
                f"Scenario: {state.scenario.title}. People: {', '.join(names) or 'none named'}.",
                "Story so far: "
                + (earlier.replace("\n", " ") or "nothing yet (this is the start)."),
                "Then:",
                *(f"- {e['id']} ({e['time']}): {e['event']}" for e in events),
                f"Rewrite the story of these {covered} moments as one paragraph of at most "
                f"{cfg.words} words: who did what, what was decided, what is still open. Keep "
                'names, numbers and decisions; drop repetition. Answer as JSON {"summary": "..."}.',
            ]
        )
        completion = ask_model(
            self.ctx,
            ActionType.SUMMARIZATION,
            HistorySummary,
            system="You keep the running summary of a simulation.",
            prompt=prompt,
            data=context,
            max_tokens=2 * cfg.words,
            subject="history",
        )
        draft = expect_answer(completion.parsed, HistorySummary)
        return _clip(draft.summary, 2 * cfg.words), completion.usage.total_tokens, completion.model


def _clip(text: str, words: int) -> str:
    """``text`` cut to ``words`` words (a model that writes too much cannot grow later prompts)."""
    parts = text.strip().split(" ")
    return text.strip() if len(parts) <= words else " ".join(parts[:words]) + "…"


def history_lines(window: Window, none: str = "none (this is the opening moment)") -> list[str]:
    """The prompt lines for ``window``: the summary (when there is one), then the latest events."""
    lines = []
    if window.summary:
        story = window.summary.replace("\n", " ")
        lines.append(f"Story so far (moments 1-{window.covered}, summarized): {story}")
        return [*lines, "Latest events: " + " | ".join(window.events)]
    return ["Events so far: " + (" | ".join(window.events) or none)]
