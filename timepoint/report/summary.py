"""The executive summary of a run: written by the model (``summarization``) or templated.

:func:`summary_context` extracts what a summary should mention from the record (who, where,
the opening, turning and closing moments, the fact that travelled furthest, validation and
paths). A model gets it as a prompt; the offline model and :func:`templated_summary` compose
the same text from it, so a run without an API key still gets a summary derived from its own
record, never filler.
"""

from __future__ import annotations

import random
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from timepoint.errors import TimepointError
from timepoint.llm.base import ActionType
from timepoint.llm.task_data import task_request
from timepoint.report.highlights import provenance_highlights
from timepoint.report.records import main_path, validation_counts
from timepoint.world.record import RunRecord

#: Moments a summary prompt quotes: the opening, the closing and the most important between.
MAX_MOMENTS = 8


class ExecutiveSummary(BaseModel):
    """A summarization answer: one paragraph for readers who will not open the run."""

    model_config = ConfigDict(extra="forbid")

    summary: str = Field(min_length=40)

    @classmethod
    def offline_answer(cls, context: dict[str, Any], rng: random.Random) -> dict[str, Any]:
        """The offline model's answer, composed from :func:`summary_context`'s output."""
        return {"summary": compose_summary(context, rng)}


def _moments(path: list[Any]) -> list[dict[str, Any]]:
    """At most :data:`MAX_MOMENTS` moments of ``path``, in order: its first and last, and the
    most important between them (earlier first among equals)."""
    if len(path) > MAX_MOMENTS:
        middle = sorted(range(1, len(path) - 1), key=lambda i: (-path[i].importance, i))
        keep = {0, len(path) - 1, *middle[: MAX_MOMENTS - 2]}
        path = [t for i, t in enumerate(path) if i in keep]
    return [
        {
            "id": t.id,
            "time": t.timestamp.strftime("%Y-%m-%d %H:%M"),
            "event": t.event,
            "importance": t.importance,
        }
        for t in path
    ]


def story_so_far(record: RunRecord, path: list[Any] | None = None) -> dict[str, Any] | None:
    """The latest history summary (M7) of the main path: ``through``, ``covers`` and ``text``."""
    ids = {t.id for t in (path if path is not None else main_path(record))}
    kept = [e for e in record.evidence.history_summaries if e.timepoint_id in ids]
    if not kept:
        return None
    latest = max(kept, key=lambda e: e.covers)
    return {"through": latest.timepoint_id, "covers": latest.covers, "text": latest.text}


def summary_context(record: RunRecord) -> dict[str, Any]:
    """The facts of ``record`` a summary should mention, as plain data.

    Bounded however long the run: at most :data:`MAX_MOMENTS` moments (``count`` says how many
    there were) and the run's own summary of its earlier history, when it made one.
    """
    entities = sorted(record.entities, key=lambda e: (e.role.value != "primary", e.name))
    path = main_path(record)
    moments = _moments(path)
    middle = moments[1:-1]
    turning = max(middle, key=lambda m: m["importance"]) if middle else None
    counts = validation_counts(record)
    best = min(record.paths, key=lambda p: p.rank) if record.paths else None
    return {
        "scenario": {
            "title": record.title,
            "description": record.description,
            "location": path[0].location if path else "",
        },
        "status": record.status,
        "names": [e.name for e in entities if e.role.value in ("primary", "secondary")][:8],
        "count": len(path),
        "moments": moments,
        "turning": turning,
        "story": story_so_far(record, path),
        "highlights": [
            {
                "fact": h["fact"],
                "holders": h["holders"],
                "of": h["of"],
                "tellers": sorted({s["from"] for s in h["spread"]}),
                "tellings": len(h["spread"]),
            }
            for h in provenance_highlights(record, limit=2)
        ],
        "validation": {
            key: counts[key] for key in ("result_count", "checks", "violations", "repaired")
        },
        "paths": {
            "count": len(record.paths),
            "best": best.timeline_id if best else None,
            "score": best.score if best else None,
        },
    }


def _people(names: list[str]) -> str:
    if not names:
        return "its entities"
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + f" and {names[-1]}"


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def compose_summary(context: dict[str, Any], rng: random.Random) -> str:
    """A summary paragraph from :func:`summary_context` output; ``rng`` varies the wording."""
    scenario = context.get("scenario", {})
    moments = context.get("moments", [])
    where = f" at {scenario['location']}" if scenario.get("location") else ""
    parts = [
        f"{scenario.get('title', 'This run')} follows {_people(context.get('names', []))} "
        f"through {context.get('count', len(moments))} moments{where}"
        + (f", from {moments[0]['time']} to {moments[-1]['time']}." if moments else ".")
    ]
    if moments:
        opens = rng.choice(["It opens", "It begins", "The run opens"])
        parts.append(f"{opens} at {moments[0]['time']}: {_sentence(moments[0]['event'])}")
    turning = context.get("turning")
    if turning:
        word = rng.choice(["The turning point", "The decisive moment", "The pivot"])
        parts.append(f"{word} comes at {turning['time']}: {_sentence(turning['event'])}")
    if len(moments) > 1:
        closes = rng.choice(["It closes", "It ends", "The run ends"])
        parts.append(f"{closes} at {moments[-1]['time']}: {_sentence(moments[-1]['event'])}")
    for h in context.get("highlights", [])[:1]:
        parts.append(
            f"The fact that travelled furthest, “{h['fact'].rstrip('.')}”, reached "
            f"{h['holders']} of {h['of']} entities in {h['tellings']} tellings "
            f"(told by {_people(h['tellers'])})."
        )
    counts = context.get("validation", {})
    if counts.get("result_count"):
        found = (
            f"found {_count(counts['violations'], 'violation')} ({counts['repaired']} repaired)"
            if counts.get("violations")
            else "found no violations"
        )
        made = f" in {_count(counts['checks'], 'check')}" if counts.get("checks") else ""
        parts.append(f"Validators {found}{made}.")
    paths = context.get("paths", {})
    if paths.get("count", 0) > 1 and paths.get("score") is not None:
        parts.append(
            f"{paths['count']} paths were kept; the best, {paths['best']}, "
            f"scored {paths['score']:.2f}."
        )
    if context.get("status") == "failed":
        parts.append("The run failed before it finished; this covers what it produced.")
    return " ".join(parts)


def templated_summary(record: RunRecord) -> str:
    """The summary composed from the record without a model call (deterministic per seed)."""
    return compose_summary(summary_context(record), random.Random(record.seed))


def summarize(record: RunRecord, gateway: Any, seed: int | None = None) -> RunRecord:
    """Ask ``gateway`` for the executive summary and return the record carrying it.

    The call is a ``summarization`` action, metered like every other call of the run. If the
    model layer refuses or fails (e.g. the budget is spent), the templated summary is used and
    ``summary_source`` says why, so nothing is filled in silently.
    """

    context = summary_context(record)
    prompt = "\n".join(
        [
            f"Scenario: {record.title}. {record.description}",
            *(
                [f"Story up to {story['through']}: {story['text']}".replace("\n", " ")]
                if (story := context["story"])
                else []
            ),
            f"Moments ({len(context['moments'])} of {context['count']}: the first, the last "
            "and the most important):",
            *(f"- {m['id']} ({m['time']}): {m['event']}" for m in context["moments"]),
            "Facts passed on most: "
            + ("; ".join(h["fact"] for h in context["highlights"]) or "none"),
            f"Validation: {context['validation']}",
            "Write one paragraph (80-150 words) for a reader who will not open the run: who, "
            "where, how it opened, the turning point, how it ended. Answer as JSON "
            '{"summary": "..."}.',
        ]
    )
    request = task_request(
        ActionType.SUMMARIZATION,
        ExecutiveSummary,
        system="You write executive summaries of simulations.",
        prose=prompt,
        data=context,
        seed=seed if seed is not None else record.seed,
        max_tokens=400,
        subject="summary",
    )
    try:
        completion = gateway.complete(request)
    except TimepointError as error:
        source = f"template ({type(error).__name__}: {error})"
        return record.model_copy(
            update={"summary": templated_summary(record), "summary_source": source}
        )
    parsed = completion.parsed
    text = parsed.summary if isinstance(parsed, ExecutiveSummary) else completion.text.strip()
    return record.model_copy(
        update={"summary": text, "summary_source": f"model {completion.model}"}
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
