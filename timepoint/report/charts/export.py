"""Static chart images through vl-convert: SVG and PNG, with no browser and no CDN.

Accepts an altair chart or a Vega-Lite specification (the ``*_spec`` functions); a spec needs
neither altair nor pandas, which keeps the PDF export fast.
"""

from __future__ import annotations

from typing import Any

from timepoint.errors import ReportError


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
