"""Narrative exports of a run record: one set of data, rendered as Markdown, JSON and PDF.

Detail levels, each including the one before:

- ``minimal``: header (run id, mode, date, duration, cost, provider), executive summary and the
  main timeline;
- ``summary``: characters (primary and secondary), dialogs, knowledge provenance highlights,
  the mechanism ledger, validation (counts and the first violations), cost by action and paths;
- ``comprehensive``: every entity, every timeline, more provenance highlights, every
  validation result, cost by model and the model chosen per action.

The PDF is in :mod:`timepoint.report.pdf`; it renders the same :func:`narrative_data`. The
Markdown writes every value of the record as text (:mod:`timepoint.report.markup`): HTML in a
title, a description or a line of dialog shows as written, in a Markdown viewer and on the site.
"""

from __future__ import annotations

import json
from typing import Any

from timepoint.errors import ReportError
from timepoint.report.call_viewer import subject_anchor
from timepoint.report.highlights import provenance_highlights
from timepoint.report.markup import code, paragraphs, text, url
from timepoint.report.records import (
    entity_names,
    spend_line,
    timeline_label,
    validation_counts,
    validation_line,
)
from timepoint.report.summary import templated_summary
from timepoint.world.record import RunRecord

DETAIL_LEVELS = ("minimal", "summary", "comprehensive")
_HIGHLIGHTS = {"summary": 5, "comprehensive": 15}
_VIOLATIONS = {"summary": 10, "comprehensive": None}


def _check_detail(detail: str) -> None:
    if detail not in DETAIL_LEVELS:
        raise ReportError(
            f"detail level {detail!r} is not one of {', '.join(DETAIL_LEVELS)}; "
            "pick one, e.g. detail='summary'"
        )


def _timeline(record: RunRecord, timeline_id: str | None) -> list[dict[str, Any]]:
    names = entity_names(record)
    tps = {t.id: t for t in record.timepoints}
    timeline = next((t for t in record.timelines if t.id == timeline_id), None)
    order = (
        timeline.timepoint_ids
        if timeline
        else [t.id for t in sorted(record.timepoints, key=lambda t: (t.timestamp, t.id))]
    )
    return [
        {
            "id": tp_id,
            "timestamp": tps[tp_id].timestamp.isoformat(),
            "event": tps[tp_id].event,
            "present": [names.get(e, e) for e in tps[tp_id].entities_present],
            "phase": tps[tp_id].phase,
            "importance": tps[tp_id].importance,
        }
        for tp_id in order
        if tp_id in tps
    ]


def _usage_rows(buckets: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: usage.model_dump() for name, usage in sorted(buckets.items())}


def narrative_data(record: RunRecord, detail: str = "summary") -> dict[str, Any]:
    """The narrative as plain data; Markdown, JSON and PDF are rendered from this.

    Raises:
        ReportError: ``detail`` is not a known level.
    """
    _check_detail(detail)
    names = entity_names(record)
    usage = record.usage
    data: dict[str, Any] = {
        "detail": detail,
        "run_id": record.run_id,
        "title": record.title,
        "scenario_id": record.scenario_id,
        "mode": record.mode,
        "status": record.status,
        "provider": record.provider,
        "seed": record.seed,
        "started": record.started.isoformat(),
        "date": record.started.strftime("%Y-%m-%d %H:%M UTC"),
        "duration_s": record.duration_s or 0.0,
        "cost_usd": usage.cost_usd,
        "tokens": usage.prompt_tokens + usage.completion_tokens,
        "calls": usage.calls,
        "spend": spend_line(record),
        "error": record.error,
        "failed_step": record.failed_step,
        "summary": record.summary or templated_summary(record),
        "summary_source": record.summary_source if record.summary else "template",
        "timeline": _timeline(record, "main" if record.main_timeline else None),
    }
    if detail == "minimal":
        return data
    full = detail == "comprehensive"
    data["characters"] = [
        {
            "id": e.id,
            "name": e.name,
            "kind": e.kind.value,
            "role": e.role.value,
            "description": e.description,
            "resolution": e.resolution.value,
        }
        for e in record.entities
        if full or e.role.value in ("primary", "secondary")
    ]
    order = {tp_id: i for i, tp_id in enumerate(t["id"] for t in data["timeline"])}
    dialogs = sorted(
        (d for d in record.dialogs if full or d.timepoint_id in order),
        key=lambda d: (order.get(d.timepoint_id, len(order)), d.id),
    )
    data["dialogs"] = [
        {
            "id": d.id,
            "timepoint": d.timepoint_id,
            "participants": [names.get(p, p) for p in d.participants],
            "turns": [
                {
                    "speaker": names.get(t.speaker, t.speaker),
                    "text": t.text,
                    "tone": t.tone,
                    "flagged": t.flagged,
                    **({"knowledge_refs": list(t.knowledge_refs)} if full else {}),
                }
                for t in d.turns
            ],
        }
        for d in dialogs
    ]
    data["provenance"] = provenance_highlights(record, limit=_HIGHLIGHTS[detail])
    data["mechanisms"] = [
        {"mechanism": m.mechanism, "summary": m.summary, **({"counts": m.counts} if full else {})}
        for m in record.mechanisms
    ]
    failed = [v for v in record.validation if not v.ok]
    shown = _VIOLATIONS[detail]
    data["validation"] = {
        **validation_counts(record),
        "results": [v.model_dump(exclude_defaults=True) for v in failed[:shown]],
    }
    data["cost_by_action"] = _usage_rows(usage.by_action)
    data["paths"] = [
        {
            "timeline": p.timeline_id,
            "label": timeline_label(record, p.timeline_id),
            "rank": p.rank,
            "score": p.score,
            "pivots": list(p.pivots),
            "warning": p.warning,
        }
        for p in sorted(record.paths, key=lambda p: p.rank)
    ]
    if full:
        data["timelines"] = [
            {
                "id": t.id,
                "label": t.label,
                "parent": t.parent_timeline,
                "branch_point": t.branch_point,
                "intervention": t.intervention,
                "score": t.score,
                "timepoints": _timeline(record, t.id),
            }
            for t in record.timelines
            if t.id != "main"
        ]
        data["cost_by_model"] = _usage_rows(usage.by_model)
        data["model_selection"] = [c.model_dump() for c in record.model_selection]
    return data


def narrative_json(record: RunRecord, detail: str = "summary") -> str:
    """The narrative as indented JSON (the content of ``narrative.json``)."""
    return json.dumps(narrative_data(record, detail), indent=2, ensure_ascii=False) + "\n"


def _header(d: dict[str, Any]) -> str:
    return (
        f"Run {code(d['run_id'])} · mode {text(d['mode'])} · provider {text(d['provider'])} · "
        f"status {text(d['status'])} · {d['date']} · {d['duration_s']:.2f} s · "
        f"{d['spend']}"
    )


def _cost_table(title: str, rows: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "",
        f"## {text(title)}",
        "",
        "| name | calls | tokens in | tokens out | USD |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, u in rows.items():
        lines.append(
            f"| {text(name)} | {u['calls']} | {u['prompt_tokens']:,} | "
            f"{u['completion_tokens']:,} | {u['cost_usd']:.4f} |"
        )
    return lines


def _calls_link(calls: str, subject: str, label: str = "LLM calls") -> str:
    """A link to the call viewer ``calls`` filtered to the calls made for ``subject``."""
    return f" · [{text(label)}]({url(calls)}{subject_anchor(subject)})" if calls else ""


def _timeline_lines(items: list[dict[str, Any]], calls: str = "") -> list[str]:
    lines = []
    for item in items:
        phase = f" ({text(item['phase'])})" if item["phase"] else ""
        names = ", ".join(text(name) for name in item["present"])
        present = f" *Present: {names}.*" if item["present"] else ""
        lines.append(
            f"- **{text(item['id'])}** · {item['timestamp'][:16].replace('T', ' ')}{phase}: "
            f"{text(item['event'])}{present}{_calls_link(calls, item['id'])}"
        )
    return lines


def narrative_markdown(
    record: RunRecord, detail: str = "summary", *, heading: bool = True, calls: str = ""
) -> str:
    """The narrative as Markdown (the content of ``narrative.md``); ``heading=False`` leaves
    out the title and the header line (report pages print their own). With ``calls`` (the
    path of the run's call viewer, relative to the page) the executive summary (unless it is
    the template's), every timepoint and every dialog link to the LLM calls that produced them."""
    d = narrative_data(record, detail)
    lines = [f"# {text(d['title'])}", "", _header(d), ""] if heading else []
    if d["error"] and heading:
        lines += [f"**Failed at step {text(d['failed_step'])}:** {text(d['error'])}", ""]
    lines += ["## Executive summary", "", paragraphs(d["summary"]), ""]
    if calls and d["summary_source"] != "template":
        link = _calls_link(calls, "summary", "LLM calls of this summary")
        lines += [link.removeprefix(" · "), ""]
    lines += ["## Timeline", ""]
    lines += _timeline_lines(d["timeline"], calls)
    if detail == "minimal":
        return "\n".join(lines) + "\n"
    lines += ["", "## Characters", ""]
    lines += [
        f"- **{text(c['name'])}** ({text(c['role'])} {text(c['kind'])}, "
        f"{text(c['resolution'])}): {text(c['description'])}"
        for c in d["characters"]
    ]
    for timeline in d.get("timelines", []):
        what = f" — {text(timeline['intervention'])}" if timeline["intervention"] else ""
        lines += ["", f"## Timeline {text(timeline['label'] or timeline['id'])}{what}", ""]
        lines += _timeline_lines(timeline["timepoints"], calls)
    if d["paths"]:
        lines += ["", "## Paths", "", "| rank | path | score | pivots |", "|---:|---|---:|---|"]
        lines += [
            f"| {p['rank']} | {text(p['label'])} | {p['score']:.3f} | "
            f"{', '.join(text(pivot) for pivot in p['pivots'])} |"
            for p in d["paths"]
        ]
    for dialog in d["dialogs"]:
        lines += ["", f"## Dialog at {text(dialog['timepoint'])}", ""]
        if calls:
            link = _calls_link(calls, dialog["id"], "LLM calls of this dialog")
            lines += [link.removeprefix(" · "), ""]
        for turn in dialog["turns"]:
            flag = " ⚠ flagged" if turn["flagged"] else ""
            lines += [
                f"> **{text(turn['speaker'])}** ({text(turn['tone'])}){flag}: {text(turn['text'])}",
                ">",
            ]
        if dialog["turns"]:
            lines.pop()
    if d["provenance"]:
        lines += ["", "## Knowledge provenance", ""]
        for h in d["provenance"]:
            hops = "; ".join(
                f"{text(s['from'])} → {text(s['to'])} at {text(s['timepoint'])}"
                for s in h["spread"]
            )
            lines.append(
                f"- “{text(h['fact'])}” ({text(h['fact_id'])}): {text(h['origin'])}; {hops}. "
                f"Held by {h['holders']} of {h['of']} entities at the end."
            )
    lines += ["", "## Mechanisms", ""] + [f"- {text(m['summary'])}" for m in d["mechanisms"]]
    v = d["validation"]
    lines += [
        "",
        "## Validation",
        "",
        validation_line(v),
    ]
    if v["by_validator"]:
        lines += ["", "| validator | results | violations | repaired |", "|---|---:|---:|---:|"]
        lines += [
            f"| {text(name)} | {row['results']} | {row['violations']} | {row['repaired']} |"
            for name, row in v["by_validator"].items()
        ]
    if v["results"]:
        lines.append("")
        lines += [
            f"- {text(r['validator'])} on {text(r['target'])}: {text(r.get('message', ''))}"
            + (" (repaired)" if r.get("repaired") else "")
            for r in v["results"]
        ]
    lines += _cost_table("Cost by action", d["cost_by_action"])
    if "cost_by_model" in d:
        lines += _cost_table("Cost by model", d["cost_by_model"])
        lines += ["", "## Model selection", ""]
        lines += [
            f"- {text(c['action'])}: {text(c['model'])} ({text(c['reason'])})"
            for c in d["model_selection"]
        ]
    return "\n".join(lines) + "\n"
