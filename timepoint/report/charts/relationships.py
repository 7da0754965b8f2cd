"""The entity relationship graph over time: one small network per timepoint (M13).

Entities sit at fixed places on a circle so the panels compare. Edges come from the run's
relationship records (coloured by trust, thickness by interactions); a run without them gets
edges from its dialogs instead (who talked with whom, thickness by turns), marked as such.
"""

from __future__ import annotations

import math
from collections import Counter
from itertools import combinations
from typing import Any

from timepoint.report.charts.base import Spec, enc, note, to_altair, unit, values
from timepoint.report.records import as_record, timepoint_order
from timepoint.world.record import RunRecord

MAX_PANELS = 8
COLUMNS = (
    "kind",
    "timepoint",
    "panel",
    "entity",
    "name",
    "role",
    "present",
    "x",
    "y",
    "x2",
    "y2",
    "a",
    "b",
    "trust",
    "affinity",
    "interactions",
    "source",
)


def _panels(record: RunRecord) -> list[str]:
    order = timepoint_order(record)
    if len(order) <= MAX_PANELS:
        return order
    step = (len(order) - 1) / (MAX_PANELS - 1)
    return list(dict.fromkeys(order[round(i * step)] for i in range(MAX_PANELS)))


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


def relationship_data(run: Any) -> list[Spec]:
    """One row per node (``kind == "node"``) and per edge (``kind == "edge"``) per panel.

    Nodes: ``entity``, ``name``, ``role``, ``present`` and circle position ``x``/``y``. Edges:
    ``a``, ``b``, both ends' positions, ``trust``, ``affinity``, ``interactions`` and
    ``source`` (``relationship`` or ``dialog``). At most eight timepoints are drawn, evenly
    spaced along the main timeline.
    """
    record = as_record(run)
    entities = sorted(record.entities, key=lambda e: (e.role.value, e.id))
    n = max(1, len(entities))
    place = {
        e.id: (round(math.cos(2 * math.pi * i / n), 4), round(math.sin(2 * math.pi * i / n), 4))
        for i, e in enumerate(entities)
    }
    names = {e.id: e.name for e in entities}
    tps = {t.id: t for t in record.timepoints}
    rows: list[dict[str, Any]] = []
    for index, tp_id in enumerate(_panels(record)):
        panel = f"{index + 1:02d} · {tp_id}"
        present = set(tps[tp_id].entities_present)
        for e in entities:
            x, y = place[e.id]
            rows.append(
                {"kind": "node", "timepoint": tp_id, "panel": panel, "entity": e.id}
                | {"name": e.name, "role": e.role.value, "present": e.id in present}
                | {"x": x, "y": y}
            )
        relations = [r for r in record.relationships if r.timepoint_id == tp_id]
        edges = [
            {"a": r.a, "b": r.b, "trust": r.trust, "affinity": r.affinity}
            | {"interactions": r.interactions, "source": "relationship"}
            for r in relations
        ] or _dialog_edges(record, tp_id)
        for edge in edges:
            if edge["a"] not in place or edge["b"] not in place:
                continue
            (x, y), (x2, y2) = place[edge["a"]], place[edge["b"]]
            rows.append(
                {"kind": "edge", "timepoint": tp_id, "panel": panel, "x": x, "y": y}
                | {"x2": x2, "y2": y2, "name": f"{names[edge['a']]} – {names[edge['b']]}"}
                | edge
            )
    return [{column: row.get(column) for column in COLUMNS} for row in rows]


def relationship_spec(run: Any) -> Spec:
    """The relationship graph over time as a Vega-Lite specification."""
    record = as_record(run)
    rows = relationship_data(record)
    title = f"Relationships over time · {record.title}"
    if not rows:
        return note(title, "no timepoints, so no relationships to draw")
    scale = {"domain": [-1.45, 1.45]}
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
    nodes = unit(
        {"type": "circle", "size": 260, "color": "#444"},
        {
            "x": x,
            "y": y,
            "opacity": enc(
                "present", "nominal", scale={"domain": [True, False], "range": [1.0, 0.25]}
            )
            | {"legend": None},
            "tooltip": [enc("name", "nominal"), enc("role", "nominal"), enc("present", "nominal")],
        },
        transform=[{"filter": "datum.kind === 'node'"}],
    )
    labels = unit(
        {"type": "text", "dy": -15, "fontSize": 12},
        {"x": x, "y": y, "text": enc("name", "nominal")},
        transform=[{"filter": "datum.kind === 'node'"}],
    )
    panels = list(dict.fromkeys(r["panel"] for r in rows))
    derived = {r["source"] for r in rows if r["kind"] == "edge"} == {"dialog"}
    subtitle = "edges: who talked with whom (no relationship records)" if derived else ""
    return {
        "title": {"text": title, "subtitle": subtitle},
        "data": values(rows),
        "facet": enc("panel", "nominal", sort=panels, title=None),
        "columns": 4,
        "spec": {"layer": [edges, nodes, labels], "width": 170, "height": 170},
    }


def relationship_chart(run: Any) -> Any:
    """Small multiples of the relationship network, one panel per timepoint (an altair chart;
    :func:`relationship_spec` is its Vega-Lite specification)."""
    return to_altair(relationship_spec(run))
