"""The entity relationship graph over time: one small network per timepoint (M13).

Entities sit at fixed places on a circle so the panels compare; each name is shortened to the
room it has (the full name is in the tooltip), so no two labels overlap or leave the panel.
A run with several paths (portal, branching) gets one row of panels per path, best ranked
first, so every path shows its own steps.

Edges of a step come from what the record holds for it, in this order: its relationship
records (coloured by trust, thickness by interactions); else its dialogs (who talked with
whom, thickness by turns); else who was present together (thickness by the facts both
learnt at that step), as for the steps of a path other than the best, for which a run keeps
no relationship records. A step with none of these says so in its panel.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from itertools import combinations
from typing import Any

from timepoint.report.charts.base import Spec, enc, note, short, to_altair, unit, values
from timepoint.report.records import as_record, timepoint_order
from timepoint.world.record import RunRecord

#: panels of a run with one timeline; of each path of a run with several; paths drawn
MAX_PANELS = 8
PANELS_PER_PATH = 4
MAX_PATHS = 4
#: panel size in pixels, the half-width of its coordinate domain, and label geometry
PANEL = 200
DOMAIN = 1.6
FONT_SIZE = 11
LINE_PX = 14
CHAR_PX = 0.6 * FONT_SIZE
LABEL_OFFSET = 0.28
MAX_LABEL_PX = 120
NO_DATA = ["no relationship data", "stored for this step"]
SOURCES = {
    "relationship": "relationship records",
    "dialog": "who talked with whom",
    "present": "who was present together",
}
COLUMNS = (
    "kind",
    "timepoint",
    "path",
    "step",
    "panel",
    "entity",
    "name",
    "label",
    "role",
    "present",
    "x",
    "y",
    "x2",
    "y2",
    "ly",
    "a",
    "b",
    "trust",
    "affinity",
    "interactions",
    "source",
    "note",
)


def _spread(order: list[str], limit: int) -> list[str]:
    if len(order) <= limit:
        return order
    step = (len(order) - 1) / (limit - 1)
    return list(dict.fromkeys(order[round(i * step)] for i in range(limit)))


def path_panels(record: RunRecord) -> list[tuple[str, list[str]]]:
    """``(path, timepoint ids)`` to draw: ``("", …)`` with up to :data:`MAX_PANELS` steps for
    a run with one timeline; else up to :data:`MAX_PATHS` paths (``#rank id``, best first)
    with up to :data:`PANELS_PER_PATH` steps each, drawn one row per path."""
    known = {t.id for t in record.timepoints}
    if len(record.timelines) <= 1:
        return [("", _spread(timepoint_order(record), MAX_PANELS))]
    rank = {p.timeline_id: p.rank for p in record.paths}
    main = record.main_timeline
    timelines = sorted(
        record.timelines,
        key=lambda t: (rank.get(t.id, math.inf), t is not main, record.timelines.index(t)),
    )
    panels = []
    for timeline in timelines[:MAX_PATHS]:
        label = f"#{rank[timeline.id]} {timeline.id}" if timeline.id in rank else timeline.id
        ids = [i for i in timeline.timepoint_ids if i in known]
        if ids:
            panels.append((label, _spread(ids, PANELS_PER_PATH)))
    return panels


def _places(ids: list[str]) -> dict[str, tuple[float, float]]:
    n = max(1, len(ids))
    return {
        e: (
            round(math.sin(2 * math.pi * i / n), 4),
            round(math.cos(2 * math.pi * i / n), 4),
        )
        for i, e in enumerate(ids)
    }


def label_room(places: dict[str, tuple[float, float]]) -> dict[str, float]:
    """Pixels of width each entity's label may take: a label is centred above its node (below
    for the lower half), so it must end before the panel's edge and before any label on a
    nearby line."""
    scale = PANEL / (2 * DOMAIN)
    spots = {e: (x, _label_y(y)) for e, (x, y) in places.items()}
    room = {}
    for e, (x, ly) in spots.items():
        width = 2 * (DOMAIN - abs(x)) * scale - 4
        for other, (x2, ly2) in spots.items():
            if other != e and abs(ly - ly2) * scale < LINE_PX:
                width = min(width, abs(x - x2) * scale - 6)
        room[e] = max(3 * CHAR_PX, min(MAX_LABEL_PX, width))
    return room


def _label_y(y: float) -> float:
    return round(y + LABEL_OFFSET if y >= 0 else y - LABEL_OFFSET, 4)


def _dialog_edges(record: RunRecord, tp_id: str) -> list[dict[str, Any]]:
    edges = []
    for dialog in (d for d in record.dialogs if d.timepoint_id == tp_id):
        turns = Counter(t.speaker for t in dialog.turns)
        for a, b in combinations(sorted(set(dialog.participants)), 2):
            edges.append(
                {"a": a, "b": b, "trust": None, "affinity": None, "source": "dialog"}
                | {"interactions": turns[a] + turns[b]}
            )
    return edges


def _presence_edges(record: RunRecord, tp_id: str, present: list[str]) -> list[dict[str, Any]]:
    learnt: dict[str, set[str]] = defaultdict(set)
    for exposure in record.exposures:
        if exposure.timepoint_id == tp_id:
            learnt[exposure.entity_id].add(exposure.fact_id)
    return [
        {"a": a, "b": b, "trust": None, "affinity": None, "source": "present"}
        | {"interactions": len(learnt[a] & learnt[b])}
        for a, b in combinations(sorted(set(present)), 2)
    ]


def step_edges(record: RunRecord, tp_id: str) -> list[dict[str, Any]]:
    """The edges of one step: its relationship records, else its dialogs, else who was
    present together (``source`` says which); empty when the record holds none of these."""
    relations = [
        {"a": r.a, "b": r.b, "trust": r.trust, "affinity": r.affinity}
        | {"interactions": r.interactions, "source": "relationship"}
        for r in record.relationships
        if r.timepoint_id == tp_id
    ]
    if relations:
        return relations
    dialog = _dialog_edges(record, tp_id)
    if dialog:
        return dialog
    tp = next(t for t in record.timepoints if t.id == tp_id)
    return _presence_edges(record, tp_id, tp.entities_present)


def relationship_data(run: Any) -> list[Spec]:
    """One row per node (``kind == "node"``), per edge (``"edge"``) and per step without any
    edge (``"note"``), per panel (see :func:`path_panels`).

    Nodes: ``entity``, ``name``, its shortened ``label``, ``role``, ``present``, circle
    position ``x``/``y`` and label height ``ly``. Edges: ``a``, ``b``, both ends' positions,
    ``trust``, ``affinity``, ``interactions`` and ``source`` (``relationship``, ``dialog`` or
    ``present``). Notes: ``note``, the lines saying the step has no relationship data.
    """
    record = as_record(run)
    entities = sorted(record.entities, key=lambda e: (e.role.value, e.id))
    place = _places([e.id for e in entities])
    room = label_room(place)
    names = {e.id: e.name for e in entities}
    tps = {t.id: t for t in record.timepoints}
    rows: list[dict[str, Any]] = []
    number = 0
    steps = {tp_id: i for t in record.timelines for i, tp_id in enumerate(t.timepoint_ids)}
    for path, tp_ids in path_panels(record):
        for tp_id in tp_ids:
            number += 1
            panel = f"{path} · {tp_id}" if path else f"{number:02d} · {tp_id}"
            step = steps.get(tp_id, number - 1) if path else number - 1
            here = {"timepoint": tp_id, "path": path, "step": step, "panel": panel}
            present = set(tps[tp_id].entities_present)
            for e in entities:
                x, y = place[e.id]
                label = short(e.name, max(3, int(room[e.id] // CHAR_PX)))
                rows.append(
                    {"kind": "node", **here, "entity": e.id, "name": e.name, "label": label}
                    | {"role": e.role.value, "present": e.id in present}
                    | {"x": x, "y": y, "ly": _label_y(y)}
                )
            edges = [e for e in step_edges(record, tp_id) if e["a"] in place and e["b"] in place]
            for edge in edges:
                (x, y), (x2, y2) = place[edge["a"]], place[edge["b"]]
                rows.append(
                    {"kind": "edge", **here, "x": x, "y": y, "x2": x2, "y2": y2}
                    | {"name": f"{names[edge['a']]} – {names[edge['b']]}"}
                    | edge
                )
            if not edges:
                rows.append({"kind": "note", **here, "x": 0.0, "y": 0.0, "note": NO_DATA})
    return [{column: row.get(column) for column in COLUMNS} for row in rows]


def _subtitle(rows: list[Spec]) -> str:
    sources = {r["source"] for r in rows if r["kind"] == "edge"}
    if sources == {"relationship"} or not sources:
        return ""
    said = [SOURCES[s] for s in SOURCES if s in sources]
    return "edges: " + "; ".join(said) + " (where a step has no relationship records)"


def relationship_spec(run: Any) -> Spec:
    """The relationship graph over time as a Vega-Lite specification."""
    record = as_record(run)
    rows = relationship_data(record)
    title = f"Relationships over time · {record.title}"
    if not rows:
        return note(title, "no timepoints, so no relationships to draw")
    scale = {"domain": [-DOMAIN, DOMAIN]}
    x = enc("x", "quantitative", axis=None, scale=scale)
    y = enc("y", "quantitative", axis=None, scale=scale)
    trust = enc("trust", "quantitative", scale={"domain": [-1, 1], "scheme": "redblue"})
    edges = unit(
        {"type": "rule", "invalid": None},
        {
            "x": x,
            "y": y,
            "x2": {"field": "x2"},
            "y2": {"field": "y2"},
            "color": {**trust, "legend": {"title": "trust"}}
            | {"condition": {"test": "datum.trust === null", "value": "#999"}},
            "strokeWidth": enc("interactions", "quantitative", scale={"range": [1, 6]})
            | {"legend": None},
            "tooltip": [
                enc("name", "nominal"),
                enc("source", "nominal"),
                enc("trust", "quantitative"),
                enc("affinity", "quantitative"),
                enc("interactions", "quantitative"),
            ],
        },
        transform=[{"filter": "datum.kind === 'edge'"}],
    )
    node_tooltip = [enc("name", "nominal"), enc("role", "nominal"), enc("present", "nominal")]
    nodes = unit(
        {"type": "circle", "size": 200, "color": "#444"},
        {
            "x": x,
            "y": y,
            "opacity": enc(
                "present", "nominal", scale={"domain": [True, False], "range": [1.0, 0.25]}
            )
            | {"legend": None},
            "tooltip": node_tooltip,
        },
        transform=[{"filter": "datum.kind === 'node'"}],
    )
    widest = max((len(r["label"]) for r in rows if r["kind"] == "node"), default=1)
    labels = unit(
        {"type": "text", "fontSize": FONT_SIZE, "limit": math.ceil(widest * CHAR_PX)},
        {
            "x": x,
            "y": enc("ly", "quantitative", axis=None, scale=scale),
            "text": enc("label", "nominal"),
            "tooltip": node_tooltip,
        },
        transform=[{"filter": "datum.kind === 'node'"}],
    )
    notes = unit(
        {"type": "text", "fontSize": FONT_SIZE, "color": "#666", "lineHeight": LINE_PX},
        {"x": x, "y": y, "text": enc("note", "nominal")},
        transform=[{"filter": "datum.kind === 'note'"}],
    )
    header = {"labelFontSize": FONT_SIZE + 1, "labelLimit": PANEL}
    paths = list(dict.fromkeys(r["path"] for r in rows))
    layout: Spec = {
        "facet": enc("panel", "nominal", sort=list(dict.fromkeys(r["panel"] for r in rows)))
        | {"title": None, "header": header},
        "columns": 4,
    }
    if paths != [""]:
        layout = {
            "facet": {
                "row": enc("path", "nominal", sort=paths, title="path")
                | {"header": header | {"labelAngle": 0, "labelAlign": "left"}},
                "column": enc("step", "ordinal", title="step") | {"header": header},
            }
        }
    return {
        "title": {"text": title, "subtitle": _subtitle(rows)},
        "data": values(rows),
        **layout,
        "spec": {"layer": [edges, nodes, labels, notes], "width": PANEL, "height": PANEL},
        "config": {"legend": {"labelFontSize": FONT_SIZE, "titleFontSize": FONT_SIZE + 1}},
    }


def relationship_chart(run: Any) -> Any:
    """Small multiples of the relationship network, one panel per timepoint (an altair chart;
    :func:`relationship_spec` is its Vega-Lite specification)."""
    return to_altair(relationship_spec(run))
