"""Charts as notebook outputs and static images.

:func:`chart_bundle` is what a notebook cell displays: the Vega-Lite specification under
:data:`VEGALITE_MIME` (JupyterLab draws it in an *untrusted* notebook, interactively, with
tooltips) beside a static SVG (nbconvert pages, GitHub, the PDF and other viewers). The SVG and
PNG images come from vl-convert, with no browser and no CDN.

Accepts an altair chart or a Vega-Lite specification (the ``*_spec`` functions); a spec needs
neither altair nor pandas, which keeps the PDF export fast.
"""

from __future__ import annotations

from typing import Any

from timepoint.errors import ReportError

#: the Vega-Lite MIME type JupyterLab 4 renders without trust (it knows v3, v4 and v5; altair 6
#: emits v6, which JupyterLab shows as plain text), so specs are offered as v5
VEGALITE_MIME = "application/vnd.vegalite.v5+json"
VEGALITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"


def _vlc() -> Any:
    try:
        import vl_convert
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ReportError(
            f"static charts need vl-convert ({error}); install the analysis extra: "
            "pip install 'timepoint[analysis]'"
        ) from None
    return vl_convert


def _spec(chart: Any) -> Any:
    return chart if isinstance(chart, dict) else chart.to_json()


def chart_svg(chart: Any) -> str:
    """The chart (altair chart or Vega-Lite dict) as a standalone SVG document."""
    return _vlc().vegalite_to_svg(_spec(chart))


def chart_png(chart: Any, scale: float = 2.0) -> bytes:
    """The chart as PNG bytes (``scale`` 2 gives crisp images on high-density screens)."""
    return _vlc().vegalite_to_png(_spec(chart), scale=scale)


def chart_vegalite(chart: Any) -> dict[str, Any]:
    """The chart's Vega-Lite specification as JupyterLab's v5 renderer takes it (a new dict;
    the charts use nothing newer than Vega-Lite 5)."""
    spec = dict(chart) if isinstance(chart, dict) else chart.to_dict()
    spec["$schema"] = VEGALITE_SCHEMA
    return spec


def chart_bundle(chart: Any, caption: str = "") -> dict[str, Any]:
    """A display bundle of the chart: Vega-Lite (interactive, shown untrusted by JupyterLab),
    SVG (every other viewer) and ``caption`` (default: the chart's title) as text. Display it
    with ``IPython.display.display(bundle, raw=True)``."""
    spec = chart_vegalite(chart)
    return {
        VEGALITE_MIME: spec,
        "image/svg+xml": chart_svg(spec),
        "text/plain": caption or _title(spec),
    }


def _title(spec: dict[str, Any]) -> str:
    title = spec.get("title")
    text = title.get("text") if isinstance(title, dict) else title
    return f"chart: {text}" if isinstance(text, str) and text else "chart"
