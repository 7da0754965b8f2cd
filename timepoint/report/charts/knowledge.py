"""The knowledge flow chart: who told whom what, when (M3 ``told`` exposures).

Each timepoint is a column; inside it, one line per speaker → listener pair runs from the
speaker's row to the listener's row and ends in a dot. Thickness and dot size count the facts
passed. Below the lines, one text line per (timepoint, speaker) says what was told to whom, so
the facts stay readable in a static image and not only in the tooltip.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from timepoint.report.charts.base import WIDTH, Spec, enc, note, short, to_altair, unit, values
from timepoint.report.records import as_record, entity_names, timepoint_order
from timepoint.world import ExposureKind

#: most text lines listed under the flow; the rest is counted in a last line
LISTED = 30
LINE_HEIGHT = 16


def knowledge_flow_data(run: Any) -> list[Spec]:
    """One row per (timepoint, speaker, listener) with ``facts`` (how many were told),
    ``fact_ids`` and ``fact_text`` (joined); ``step`` is the timepoint's reading order."""
    record = as_record(run)
    names = entity_names(record)
    order = {tp_id: i for i, tp_id in enumerate(timepoint_order(record))}
    groups: dict[tuple[str, str, str], list[tuple[str, str]]] = defaultdict(list)
    for event in record.exposures:
        if event.kind is ExposureKind.TOLD and event.timepoint_id is not None:
            key = (event.timepoint_id, event.source, event.entity_id)
            groups[key].append((event.fact_id, event.fact_text))
    rows = [
        {
            "timepoint": tp_id,
            "step": order.get(tp_id, len(order)),
            "speaker": names.get(source, source),
            "listener": names.get(listener, listener),
            "facts": len(facts),
            "fact_ids": ", ".join(fid for fid, _ in facts),
            "fact_text": " | ".join(short(text, 60) for _, text in facts[:6]),
        }
        for (tp_id, source, listener), facts in groups.items()
    ]
    rows.sort(key=lambda r: (r["step"], r["speaker"], r["listener"]))
    return rows


def knowledge_facts_lines(rows: list[Spec], limit: int = LISTED) -> list[Spec]:
    """The text lines under the flow: per (timepoint, speaker), the listeners and the facts told
    (``row`` orders them; past ``limit`` one line counts what was left out)."""
    groups: dict[tuple[str, str], list[Spec]] = defaultdict(list)
    for row in rows:
        groups[(row["timepoint"], row["speaker"])].append(row)
    lines = []
    for (tp_id, speaker), told in groups.items():
        listeners = ", ".join(dict.fromkeys(r["listener"] for r in told))
        facts = " | ".join(dict.fromkeys(r["fact_text"] for r in told))
        lines.append({"line": short(f"{tp_id} · {speaker} → {listeners}: {facts}", 115)})
    if len(lines) > limit:
        left = len(lines) - limit + 1
        lines = [*lines[: limit - 1], {"line": f"… and {left} more (see the tooltips)"}]
    return [{"row": n, **line} for n, line in enumerate(lines)]


def knowledge_flow_spec(run: Any) -> Spec:
    """The knowledge flow chart as a Vega-Lite specification."""
    record = as_record(run)
    rows = knowledge_flow_data(record)
    title = f"Knowledge flow · {record.title}"
    if not rows:
        return note(title, "nobody told anybody anything in this run")
    steps = list(dict.fromkeys(r["timepoint"] for r in rows))
    people = sorted({r["speaker"] for r in rows} | {r["listener"] for r in rows})
    x = enc("timepoint", "nominal", sort=steps, title="timepoint", axis={"labelAngle": 0})
    offset = enc("speaker", "nominal", sort=people)
    colour = enc("speaker", "nominal", sort=people, legend={"title": "told by"})
    tooltip = [
        enc("timepoint", "nominal"),
        enc("speaker", "nominal"),
        enc("listener", "nominal"),
        enc("facts", "quantitative"),
        enc("fact_text", "nominal"),
    ]
    lines = unit(
        {"type": "rule", "opacity": 0.7},
        {
            "x": x,
            "xOffset": offset,
            "y": enc("speaker", "nominal", sort=people, title=None),
            "y2": {"field": "listener"},
            "color": colour,
            "strokeWidth": enc("facts", "quantitative", scale={"range": [1, 7]}) | {"legend": None},
            "tooltip": tooltip,
        },
    )
    heads = unit(
        {"type": "circle", "opacity": 0.9},
        {
            "x": x,
            "xOffset": offset,
            "y": enc("listener", "nominal", sort=people, title=None),
            "color": colour,
            "size": enc("facts", "quantitative", scale={"range": [30, 300]}) | {"legend": None},
            "tooltip": tooltip,
        },
    )
    listed = knowledge_facts_lines(rows)
    facts = unit(
        {"type": "text", "align": "left", "baseline": "middle", "fontSize": 11, "limit": WIDTH},
        {"x": {"value": 0}, "y": enc("row", "ordinal", axis=None), "text": enc("line", "nominal")},
        data=values(listed),
        width=WIDTH,
        height=LINE_HEIGHT * len(listed),
        view={"stroke": None},
    )
    flow = {
        "data": values(rows),
        "layer": [lines, heads],
        "width": WIDTH,
        "height": max(120, 40 * len(people)),
    }
    return {"title": title, "vconcat": [flow, facts]}


def knowledge_flow_chart(run: Any) -> Any:
    """Lines from speaker to listener per timepoint; thicker lines carry more facts, and the
    facts are listed below (an altair chart; :func:`knowledge_flow_spec` is its Vega-Lite
    specification)."""
    return to_altair(knowledge_flow_spec(run))
