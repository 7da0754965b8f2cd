"""The fidelity surface heatmap (M1): resolution of every (entity, timepoint) cell, with tokens."""

from __future__ import annotations

from typing import Any

from timepoint.report.charts.base import (
    RESOLUTION_COLOURS,
    Spec,
    enc,
    note,
    to_altair,
    unit,
    values,
)
from timepoint.report.records import as_record, entity_names, timepoint_order
from timepoint.world import ResolutionLevel

LEVELS = [level.value for level in ResolutionLevel]


def fidelity_data(run: Any) -> list[Spec]:
    """One row per fidelity cell: ``entity``, ``name``, ``timepoint``, ``step`` (reading
    order), ``resolution``, its ``rank`` (0 = tensor_only) and ``tokens`` spent on the cell."""
    record = as_record(run)
    names = entity_names(record)
    order = {tp_id: i for i, tp_id in enumerate(timepoint_order(record))}
    rows = [
        {
            "entity": c.entity_id,
            "name": names.get(c.entity_id, c.entity_id),
            "timepoint": c.timepoint_id,
            "step": order.get(c.timepoint_id, len(order)),
            "resolution": c.resolution.value,
            "rank": c.resolution.rank,
            "tokens": c.tokens,
        }
        for c in record.fidelity
    ]
    rows.sort(key=lambda r: (r["step"], r["entity"]))
    return rows


def fidelity_spec(run: Any) -> Spec:
    """The fidelity heatmap as a Vega-Lite specification."""
    record = as_record(run)
    rows = fidelity_data(record)
    title = f"Fidelity surface · {record.title}"
    if not rows:
        return note(title, "no fidelity cells were planned")
    steps = list(dict.fromkeys(r["timepoint"] for r in rows))
    roles = {e.name: (e.role.value, e.name) for e in record.entities}
    people = sorted({r["name"] for r in rows}, key=lambda n: roles.get(n, ("~", n)))
    position = {
        "x": enc("timepoint", "nominal", sort=steps, title="timepoint", axis={"labelAngle": 0}),
        "y": enc("name", "nominal", sort=people, title=None),
    }
    cells = unit(
        {"type": "rect", "stroke": "white"},
        position
        | {
            "color": enc(
                "resolution",
                "ordinal",
                scale={"domain": LEVELS, "range": list(RESOLUTION_COLOURS)},
                legend={"title": "resolution"},
            ),
            "tooltip": [
                enc("name", "nominal"),
                enc("timepoint", "nominal"),
                enc("resolution", "nominal"),
                enc("tokens", "quantitative"),
            ],
        },
    )
    tokens = unit(
        {"type": "text", "fontSize": 12},
        position
        | {
            "text": enc("tokens", "quantitative", format=","),
            "color": {"condition": {"test": "datum.rank >= 2", "value": "white"}, "value": "black"},
        },
    )
    return {
        "title": title,
        "data": values(rows),
        "layer": [cells, tokens],
        "width": min(900, max(240, 70 * len(steps))),
        "height": max(80, 26 * len(people)),
    }


def fidelity_chart(run: Any) -> Any:
    """Entities × timepoints coloured by resolution, each cell labelled with its tokens (an
    altair chart; :func:`fidelity_spec` is its Vega-Lite specification)."""
    return to_altair(fidelity_spec(run))
