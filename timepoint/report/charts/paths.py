"""The path comparison chart: two paths side by side, step by step, divergence marked.

Shared steps are grey, differing steps coloured, and the first divergence outlined in red.
Events are wrapped onto up to :data:`MAX_LINES` lines (not cut at a fixed width), and each
differing step says what differs (event, present, dialog or missing: the aspects
``timepoint compare`` reports). A run with more than two paths gets one chart per other path
(:func:`path_comparison_specs`).
"""

from __future__ import annotations

import textwrap
from typing import Any

from timepoint.report.charts.base import PIVOT_COLOUR, Spec, enc, short, to_altair, unit, values
from timepoint.report.compare import PathComparison, compare_paths
from timepoint.report.records import as_record

#: characters per line and lines per step of an event in the chart
LINE_WIDTH = 44
MAX_LINES = 4
#: text geometry in pixels: font size, line height, width of a column, padding in a cell;
#: a line of LINE_WIDTH characters at FONT_SIZE is well under TEXT_LIMIT wide
FONT_SIZE = 12
LINE_HEIGHT = 16
COLUMN_WIDTH = 370
TEXT_LIMIT = 350
PADDING = 10


def event_lines(event: str) -> list[str]:
    """``event`` wrapped onto at most :data:`MAX_LINES` lines of :data:`LINE_WIDTH`."""
    lines = textwrap.wrap(" ".join(event.split()), LINE_WIDTH) or [""]
    if len(lines) > MAX_LINES:
        lines = [*lines[: MAX_LINES - 1], short(" ".join(lines[MAX_LINES - 1 :]), LINE_WIDTH)]
    return lines


def path_comparison_data(comparison: PathComparison) -> list[Spec]:
    """One row per (step, side): ``timepoint``, ``timestamp``, ``event``, ``status``
    (``shared``, ``diverged`` or ``missing``) and ``first_divergence`` (bool)."""
    rows = []
    for step in comparison.steps:
        differs = ", ".join(step.aspects)
        for side, tp in ((comparison.left_label, step.left), (comparison.right_label, step.right)):
            lines = event_lines(tp.event) if tp else ["(no step)"]
            rows.append(
                {
                    "step": step.step,
                    "side": side,
                    "timepoint": tp.id if tp else "",
                    "timestamp": tp.timestamp.strftime("%Y-%m-%d %H:%M") if tp else "",
                    "event": tp.event if tp else "(no step)",
                    "lines": lines + ([f"differs: {differs}"] if differs and tp else []),
                    "status": "missing" if tp is None else ("shared" if step.same else "diverged"),
                    "differs": differs,
                    "first_divergence": step.step == comparison.first_divergence,
                }
            )
    return rows


def _comparison(a: Any, b: Any, left: str | None, right: str | None) -> PathComparison:
    return a if isinstance(a, PathComparison) else compare_paths(a, b, left=left, right=right)


def path_comparison_spec(
    a: Any, b: Any = None, *, left: str | None = None, right: str | None = None
) -> Spec:
    """The path comparison as a Vega-Lite specification (arguments as for the chart)."""
    comparison = _comparison(a, b, left, right)
    sides = [comparison.left_label, comparison.right_label]
    where = (
        f"diverge at step {comparison.first_divergence}"
        if comparison.first_divergence is not None
        else "identical"
    )
    position = {
        "x": enc(
            "side",
            "nominal",
            sort=sides,
            title=None,
            axis={"orient": "top", "labelAngle": 0, "labelLimit": TEXT_LIMIT}
            | {"labelFontSize": FONT_SIZE},
        ),
        "y": enc("step", "ordinal", title="step", axis={"labelFontSize": FONT_SIZE}),
    }
    tooltip = [
        enc("side", "nominal"),
        enc("step", "ordinal"),
        enc("timepoint", "nominal"),
        enc("timestamp", "nominal"),
        enc("event", "nominal"),
        enc("status", "nominal"),
        enc("differs", "nominal", title="what differs"),
    ]
    cells = unit(
        {"type": "rect", "stroke": "white", "strokeWidth": 2},
        position
        | {
            "color": enc(
                "status",
                "nominal",
                scale={
                    "domain": ["shared", "diverged", "missing"],
                    "range": ["#e0e0e0", "#fdd0a2", "#f7f7f7"],
                },
                legend={"title": None, "orient": "bottom", "labelFontSize": FONT_SIZE},
            ),
            "tooltip": tooltip,
        },
    )
    marker = unit(
        {"type": "rect", "fill": None, "stroke": PIVOT_COLOUR, "strokeWidth": 3},
        position,
        transform=[{"filter": "datum.first_divergence"}],
    )
    rows = path_comparison_data(comparison)
    text = unit(
        {"type": "text", "fontSize": FONT_SIZE, "lineHeight": LINE_HEIGHT, "limit": TEXT_LIMIT}
        | {"baseline": "top", "dy": PADDING},
        position
        | {"y": position["y"] | {"bandPosition": 0}}
        | {"text": enc("lines", "nominal"), "tooltip": tooltip},
    )
    tallest = max((len(r["lines"]) for r in rows), default=1)
    return {
        "title": f"Paths compared: {where}",
        "data": values(rows),
        "layer": [cells, marker, text],
        "width": 2 * COLUMN_WIDTH,
        "height": max(60, step_height(tallest) * (len(comparison.steps) or 1)),
    }


def step_height(lines: int) -> int:
    """Pixels of one step's row: ``lines`` of text with :data:`PADDING` above and below."""
    return LINE_HEIGHT * lines + 2 * PADDING


def path_comparison_specs(run: Any) -> list[Spec]:
    """For a run with several paths: the main (or first) path against every other path, best
    ranked first; one chart each."""
    record = as_record(run)
    left = "main" if record.main_timeline else record.timelines[0].id
    ranked = [p.timeline_id for p in sorted(record.paths, key=lambda p: p.rank)]
    others = [t for t in dict.fromkeys([*ranked, *(t.id for t in record.timelines)]) if t != left]
    return [path_comparison_spec(run, left=left, right=other) for other in others]


def path_comparison_chart(
    a: Any, b: Any = None, *, left: str | None = None, right: str | None = None
) -> Any:
    """Two paths side by side (see :func:`timepoint.report.compare.compare_paths` for the
    arguments; ``a`` may also be a ready :class:`PathComparison`), as an altair chart."""
    return to_altair(path_comparison_spec(a, b, left=left, right=right))
