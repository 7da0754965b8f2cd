"""Charts as live Vega-Lite on the site, with a static picture for every other viewer.

A report notebook shows a chart with :func:`show_chart`: one output carrying the Vega-Lite
specification (``application/vnd.vegalite.v5+json``, which JupyterLab draws interactively) and
an SVG of the same chart (``image/svg+xml``, for viewers without Vega). When the site turns the
notebook into a page, :func:`embed_outputs` replaces each such output with a ``<div
class="tp-chart">`` holding the specification in a ``data-spec`` attribute (escaped, never
script) and the SVG as a fallback image; the site's ``charts.js`` draws it with the vega-embed
files bundled under ``assets/`` of the site, so pages need no CDN and work from ``file://``.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from markupsafe import escape

from timepoint.report.charts import chart_svg

VEGALITE_MIME = "application/vnd.vegalite.v5+json"
_VEGALITE = re.compile(r"^application/vnd\.vegalite\.v\d+\+json$")

#: font sizes of every site chart: axis and legend labels never below 12 px
SITE_CONFIG: dict[str, Any] = {
    "axis": {"labelFontSize": 12, "titleFontSize": 13},
    "legend": {"labelFontSize": 12, "titleFontSize": 12},
    "header": {"labelFontSize": 12, "titleFontSize": 13},
    "title": {"fontSize": 15, "subtitleFontSize": 12},
    "text": {"fontSize": 12},
}


def site_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` with the site's font sizes added to its ``config`` (its own settings win)."""
    config = dict(spec.get("config") or {})
    for part, sizes in SITE_CONFIG.items():
        config[part] = {**sizes, **(config.get(part) or {})}
    return {**spec, "config": config}


def chart_bundle(spec: dict[str, Any], caption: str = "") -> dict[str, Any]:
    """The MIME bundle of a chart: its Vega-Lite spec, an SVG of it and a text caption."""
    full = site_spec(spec)
    title = full.get("title")
    text = caption or (title if isinstance(title, str) else (title or {}).get("text", "chart"))
    return {VEGALITE_MIME: full, "image/svg+xml": chart_svg(full), "text/plain": str(text)}


def show_chart(spec: dict[str, Any], caption: str = "") -> None:
    """Display a chart in a notebook as :func:`chart_bundle` (needs IPython)."""
    from IPython.display import display

    display(chart_bundle(spec, caption), raw=True)


def chart_div(spec: dict[str, Any], svg: str = "", caption: str = "") -> str:
    """The HTML of a live chart: the spec in an escaped ``data-spec`` attribute and the SVG as
    a ``data:`` image shown until (or unless) the chart is drawn."""
    data = escape(json.dumps(spec, separators=(",", ":"), default=str))
    fallback = ""
    if svg:
        encoded = base64.b64encode(svg.encode()).decode()
        source = f"data:image/svg+xml;base64,{encoded}"
        fallback = f'<img class="tp-fallback" alt="{escape(caption)}" src="{source}">'
    return f'<div class="tp-chart" data-spec="{data}">{fallback}</div>'


def _vegalite(data: dict[str, Any]) -> str | None:
    return next((key for key in data if _VEGALITE.match(key)), None)


def embed_outputs(notebook: Any) -> Any:
    """``notebook`` (an nbformat node, changed in place and returned) with every Vega-Lite
    output replaced by an HTML output made by :func:`chart_div`."""
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data") or {}
            key = _vegalite(data)
            if key is None:
                continue
            spec = data[key]
            if isinstance(spec, str):
                spec = json.loads(spec)
            svg = data.get("image/svg+xml", "")
            svg = "".join(svg) if isinstance(svg, list) else svg
            caption = data.get("text/plain", "chart")
            caption = "".join(caption) if isinstance(caption, list) else caption
            output["data"] = {"text/html": chart_div(spec, svg, caption)}
    return notebook
