"""The timeline chart: every timeline as a lane, causal links between timepoints, pivots marked.

A timepoint is drawn once, in the lane of the timeline that owns it; causal links join it to
its parent, so a branch leaves the main lane at its branch point. Pivot points (from the run's
ranked paths, SPEC §6) are drawn as large red diamonds. Times are the scenario's wall clock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from timepoint.report.charts.base import (
    PIVOT_COLOUR,
    WIDTH,
    Spec,
    enc,
    note,
    short,
    to_altair,
    unit,
    values,
)
from timepoint.report.records import as_record, timeline_label
from timepoint.world.record import RunRecord


def _wall_clock(moment: datetime) -> str:
    return moment.replace(tzinfo=None).isoformat()


def _lanes(record: RunRecord) -> list[str]:
    ranks = {p.timeline_id: p.rank for p in record.paths}
    ids = [t.id for t in record.timelines]
    ids += sorted({t.timeline_id for t in record.timepoints} - set(ids))
    return sorted(ids, key=lambda i: (i != "main", ranks.get(i, len(ranks) + 1), ids.index(i)))


def timeline_data(run: Any) -> tuple[list[Spec], list[Spec]]:
    """The chart's two tables: one row per timepoint, one row per causal link.

    Points carry ``timepoint``, ``timeline``, ``lane`` (the timeline's label), ``lane_index``,
    ``timestamp`` (ISO, wall clock), ``event``, ``importance``, ``present`` (count), ``pivot``
    and the path ``score``; links carry both ends' timestamps and lanes and whether they cross
    lanes (``branch``).
    """
    record = as_record(run)
    lanes = _lanes(record)
    labels = {lane: timeline_label(record, lane) for lane in lanes}
    scores = {p.timeline_id: p.score for p in record.paths}
    scores.update({t.id: t.score for t in record.timelines if t.score is not None})
    pivots = {tp for p in record.paths for tp in p.pivots}
    tps = {t.id: t for t in record.timepoints}
    ordered = sorted(record.timepoints, key=lambda t: (lanes.index(t.timeline_id), t.timestamp))
    points = [
        {
            "timepoint": t.id,
            "timeline": t.timeline_id,
            "lane": labels[t.timeline_id],
            "lane_index": lanes.index(t.timeline_id),
            "timestamp": _wall_clock(t.timestamp),
            "event": short(t.event),
            "importance": t.importance,
            "present": len(t.entities_present),
            "pivot": t.id in pivots,
            "score": scores.get(t.timeline_id),
        }
        for t in ordered
    ]
    links = [
        {
            "parent": t.causal_parent,
            "child": t.id,
            "timestamp": _wall_clock(tps[t.causal_parent].timestamp),
            "timestamp2": _wall_clock(t.timestamp),
            "lane": labels[tps[t.causal_parent].timeline_id],
            "lane2": labels[t.timeline_id],
            "branch": tps[t.causal_parent].timeline_id != t.timeline_id,
        }
        for t in ordered
        if t.causal_parent in tps
    ]
    return points, links


def timeline_spec(run: Any) -> Spec:
    """The timeline chart as a Vega-Lite specification."""
    record = as_record(run)
    points, links = timeline_data(record)
    title = f"Timeline · {record.title}"
    if not points:
        return note(title, "no timepoints were produced")
    lanes = list(dict.fromkeys(p["lane"] for p in points))
    x = enc("timestamp", "temporal", title="time")
    y = enc("lane", "nominal", sort=lanes, title=None)
    tooltip = [
        enc("timepoint", "nominal"),
        enc("lane", "nominal"),
        enc("timestamp", "temporal", format="%Y-%m-%d %H:%M"),
        enc("event", "nominal"),
        enc("importance", "quantitative"),
    ]
    edges = unit(
        {"type": "rule", "strokeWidth": 1.5, "color": "#888"},
        {
            "x": x,
            "x2": {"field": "timestamp2"},
            "y": y,
            "y2": {"field": "lane2"},
            "strokeDash": enc(
                "branch", "nominal", scale={"domain": [False, True], "range": [[1, 0], [4, 3]]}
            )
            | {"legend": None},
        },
        data=values(links),
    )
    dots = unit(
        {"type": "circle", "opacity": 0.9},
        {
            "x": x,
            "y": y,
            "size": enc("importance", "quantitative", scale={"domain": [0, 1], "range": [40, 400]}),
            "color": enc(
                "lane",
                "nominal",
                sort=lanes,
                scale={"scheme": "set2"},
                legend={"title": "timeline"},
            ),
            "tooltip": tooltip,
        },
        data=values(points),
    )
    pivots = unit(
        {"type": "point", "shape": "diamond", "size": 380, "filled": True}
        | {"color": PIVOT_COLOUR, "stroke": "black", "strokeWidth": 1.5},
        {"x": x, "y": y, "tooltip": tooltip},
        data=values(points),
        transform=[{"filter": "datum.pivot"}],
    )
    labels = unit(
        {"type": "text", "dy": -14, "fontSize": 12, "color": "#333"},
        {"x": x, "y": y, "text": enc("timepoint", "nominal")},
        data=values(points),
    )
    marked = any(p["pivot"] for p in points)
    return {
        "title": {"text": title, "subtitle": "red diamonds: pivot points" if marked else ""},
        "layer": [edges, dots, pivots, labels],
        "width": WIDTH,
        "height": max(80, 60 * len(lanes)),
    }


def timeline_chart(run: Any) -> Any:
    """Timelines as lanes over time, causal links as lines, pivot points as red diamonds
    (an altair chart; :func:`timeline_spec` is its Vega-Lite specification)."""
    return to_altair(timeline_spec(run))
