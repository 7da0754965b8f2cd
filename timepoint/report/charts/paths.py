"""The path comparison chart: two paths side by side, step by step, divergence marked.

Shared steps are grey, differing steps coloured, and the first divergence outlined in red.
"""

from __future__ import annotations

from typing import Any

from timepoint.report.charts.base import PIVOT_COLOUR, Spec, enc, short, to_altair, unit, values
from timepoint.report.compare import PathComparison, compare_paths


def path_comparison_data(comparison: PathComparison) -> list[Spec]:
    """One row per (step, side): ``timepoint``, ``timestamp``, ``event``, ``status``
    (``shared``, ``diverged`` or ``missing``) and ``first_divergence`` (bool)."""
    rows = []
    for step in comparison.steps:
        for side, tp in ((comparison.left_label, step.left), (comparison.right_label, step.right)):
            rows.append(
                {
                    "step": step.step,
                    "side": side,
                    "timepoint": tp.id if tp else "",
                    "timestamp": tp.timestamp.strftime("%Y-%m-%d %H:%M") if tp else "",
                    "event": short(tp.event, 52) if tp else "(no step)",
                    "status": "missing" if tp is None else ("shared" if step.same else "diverged"),
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
            "side", "nominal", sort=sides, title=None, axis={"orient": "top", "labelAngle": 0}
        ),
        "y": enc("step", "ordinal", title="step"),
    }
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
                legend={"title": None, "orient": "bottom"},
            ),
            "tooltip": [
                enc("side", "nominal"),
                enc("step", "ordinal"),
                enc("timepoint", "nominal"),
                enc("timestamp", "nominal"),
                enc("event", "nominal"),
                enc("status", "nominal"),
            ],
        },
    )
    marker = unit(
        {"type": "rect", "fill": None, "stroke": PIVOT_COLOUR, "strokeWidth": 3},
        position,
        transform=[{"filter": "datum.first_divergence"}],
    )
    text = unit(
        {"type": "text", "fontSize": 12, "limit": 330}, position | {"text": enc("event", "nominal")}
    )
    return {
        "title": f"Paths compared: {where}",
        "data": values(path_comparison_data(comparison)),
        "layer": [cells, marker, text],
        "width": 2 * 340,
        "height": max(60, 30 * (len(comparison.steps) or 1)),
    }


def path_comparison_chart(
    a: Any, b: Any = None, *, left: str | None = None, right: str | None = None
) -> Any:
    """Two paths side by side (see :func:`timepoint.report.compare.compare_paths` for the
    arguments; ``a`` may also be a ready :class:`PathComparison`), as an altair chart."""
    return to_altair(path_comparison_spec(a, b, left=left, right=right))
