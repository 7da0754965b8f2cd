"""Shared pieces of the charts: Vega-Lite spec builders, notes, colours, the altair bridge.

Every chart is built as a plain Vega-Lite specification (a dict with inline data), so static
images for the PDF need only vl-convert; ``*_chart`` functions wrap the same spec in an altair
chart for notebooks. Neither altair nor pandas is imported until a ``*_chart`` is asked for.
"""

from __future__ import annotations

from typing import Any

from timepoint.errors import ReportError

Spec = dict[str, Any]

#: colours of the resolution levels, cheapest to richest
RESOLUTION_COLOURS = ("#d9d9d9", "#9ecae1", "#4292c6", "#08519c", "#08306b")
PIVOT_COLOUR = "#d62728"
WIDTH = 640


def enc(name: str, kind: str, **props: Any) -> Spec:
    """One encoding channel: ``enc("lane", "nominal", sort=[...], title=None)``."""
    return {"field": name, "type": kind, **props}


def unit(mark: str | Spec, encoding: Spec, **props: Any) -> Spec:
    """A single-view spec; ``props`` may hold ``data``, ``title``, ``transform``, sizes."""
    return {
        "mark": mark if isinstance(mark, dict) else {"type": mark},
        "encoding": encoding,
        **props,
    }


def values(rows: list[Spec]) -> Spec:
    """Inline data for a spec."""
    return {"values": rows}


def note(title: str, text: str) -> Spec:
    """A chart that says why there is nothing to draw (still has a title and exports fine)."""
    return unit(
        {"type": "text", "fontSize": 13, "color": "#666"},
        {"text": enc("note", "nominal")},
        data=values([{"note": text}]),
        title=title,
        width=WIDTH,
        height=60,
    )


def short(text: str, limit: int = 70) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def altair() -> Any:
    """The ``altair`` module, or a ReportError naming the extra to install."""
    try:
        import altair as alt
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ReportError(
            f"charts need altair ({error}); install the analysis extra: "
            "pip install 'timepoint[analysis]'"
        ) from None
    return alt


def to_altair(spec: Spec) -> Any:
    """The altair chart object of a spec (``Chart``, ``LayerChart``, ``HConcatChart``,
    ``VConcatChart`` or ``FacetChart``), for display and further composition in notebooks."""
    alt = altair()
    if "layer" in spec:
        kind = alt.LayerChart
    elif "hconcat" in spec:
        kind = alt.HConcatChart
    elif "vconcat" in spec:
        kind = alt.VConcatChart
    elif "facet" in spec:
        kind = alt.FacetChart
    else:
        kind = alt.Chart
    return kind.from_dict(spec)
