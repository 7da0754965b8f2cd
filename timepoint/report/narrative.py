"""Narrative exports of a run record: Markdown and JSON at three detail levels.

``minimal``: header, summary and timeline. ``summary``: plus characters, dialogs and mechanisms.
``comprehensive``: plus provenance highlights, every validation result and cost by action/model.
"""

from __future__ import annotations

from typing import Any

from timepoint.engine.record import RunRecord

DETAIL_LEVELS = ("minimal", "summary", "comprehensive")


def _names(record: RunRecord) -> dict[str, str]:
    return {e.id: e.name for e in record.entities}


def narrative_data(record: RunRecord, detail: str = "summary") -> dict[str, Any]:
    """The narrative as plain data; Markdown, JSON and PDF are rendered from this."""
    if detail not in DETAIL_LEVELS:
        raise ValueError(f"detail {detail!r} is not one of {', '.join(DETAIL_LEVELS)}")
    names = _names(record)
    main = record.main_timeline
    order = main.timepoint_ids if main else [t.id for t in record.timepoints]
    tps = {t.id: t for t in record.timepoints}
    dialogs = {d.timepoint_id: d for d in record.dialogs}
    data: dict[str, Any] = {
        "run_id": record.run_id,
        "title": record.title,
        "scenario_id": record.scenario_id,
        "mode": record.mode,
        "status": record.status,
        "provider": record.provider,
        "started": record.started.isoformat(),
        "duration_s": record.duration_s,
        "cost_usd": record.usage.cost_usd,
        "tokens": record.usage.prompt_tokens + record.usage.completion_tokens,
        "summary": record.summary or record.description,
        "timeline": [
            {
                "id": tp_id,
                "timestamp": tps[tp_id].timestamp.isoformat(),
                "event": tps[tp_id].event,
                "present": [names.get(e, e) for e in tps[tp_id].entities_present],
                "phase": tps[tp_id].phase,
            }
            for tp_id in order
            if tp_id in tps
        ],
    }
    if detail == "minimal":
        return data
    data["characters"] = [
        {
            "id": e.id,
            "name": e.name,
            "kind": e.kind.value,
            "role": e.role.value,
            "description": e.description,
        }
        for e in record.entities
        if e.role.value in ("primary", "secondary") or detail == "comprehensive"
    ]
    data["dialogs"] = [
        {
            "timepoint": tp_id,
            "turns": [
                {
                    "speaker": names.get(t.speaker, t.speaker),
                    "text": t.text,
                    "tone": t.tone,
                    "flagged": t.flagged,
                }
                for t in dialogs[tp_id].turns
            ],
        }
        for tp_id in order
        if tp_id in dialogs
    ]
    data["mechanisms"] = [m.summary for m in record.mechanisms]
    failed = [v for v in record.validation if not v.ok]
    data["validation"] = {
        "checks": len(record.validation),
        "violations": len(failed),
        "repaired": sum(v.repaired for v in failed),
    }
    if detail == "comprehensive":
        data["provenance"] = [
            {
                "entity": names.get(e.entity_id, e.entity_id),
                "fact": e.fact_text,
                "from": names.get(e.source, e.source),
                "timepoint": e.timepoint_id,
            }
            for e in record.exposures
            if e.kind.value == "told"
        ][:40]
        data["validation"]["results"] = [v.model_dump() for v in failed]
        data["cost_by_action"] = {k: v.model_dump() for k, v in record.usage.by_action.items()}
        data["cost_by_model"] = {k: v.model_dump() for k, v in record.usage.by_model.items()}
    return data


def narrative_markdown(record: RunRecord, detail: str = "summary") -> str:
    """The narrative as Markdown."""
    d = narrative_data(record, detail)
    lines = [
        f"# {d['title']}",
        "",
        f"Run `{d['run_id']}` · mode {d['mode']} · provider {d['provider']} · "
        f"status {d['status']} · {d['started'][:19]} · {d['duration_s'] or 0:.2f} s · "
        f"{d['tokens']:,} tokens · ${d['cost_usd']:.4f}",
        "",
        "## Summary",
        "",
        d["summary"],
        "",
        "## Timeline",
        "",
    ]
    for item in d["timeline"]:
        phase = f" ({item['phase']})" if item["phase"] else ""
        lines.append(
            f"- **{item['timestamp'][:16]}**{phase}: {item['event']} "
            f"*Present: {', '.join(item['present'])}.*"
        )
    if "characters" in d:
        lines += ["", "## Characters", ""]
        lines += [
            f"- **{c['name']}** ({c['role']} {c['kind']}): {c['description']}"
            for c in d["characters"]
        ]
        for dialog in d["dialogs"]:
            lines += ["", f"## Dialog at {dialog['timepoint']}", ""]
            for turn in dialog["turns"]:
                flag = " ⚠ flagged" if turn["flagged"] else ""
                lines.append(f"> **{turn['speaker']}** ({turn['tone']}){flag}: {turn['text']}")
                lines.append(">")
        lines += ["", "## Mechanisms", ""] + [f"- {m}" for m in d["mechanisms"]]
        v = d["validation"]
        lines += [
            "",
            "## Validation",
            "",
            f"{v['checks']} results, {v['violations']} violations, {v['repaired']} repaired.",
        ]
    if "provenance" in d:
        lines += ["", "## Knowledge provenance", ""]
        lines += [
            f"- {p['entity']} learned “{p['fact']}” from {p['from']} at {p['timepoint']}"
            for p in d["provenance"]
        ]
        lines += [
            "",
            "## Cost by action",
            "",
            "| action | calls | tokens in | tokens out | USD |",
            "|---|---|---|---|---|",
        ]
        for action, u in d["cost_by_action"].items():
            lines.append(
                f"| {action} | {u['calls']} | {u['prompt_tokens']} | "
                f"{u['completion_tokens']} | {u['cost_usd']:.4f} |"
            )
    return "\n".join(lines) + "\n"
