"""Reports of runs: narrative exports (Markdown, JSON, PDF), altair charts and the report site.

>>> from timepoint.report import timeline_chart, chart_svg   # doctest: +SKIP
>>> svg = chart_svg(timeline_chart(tp.load_run("20250101")))  # doctest: +SKIP

Names are imported on first use, so ``import timepoint`` (and the run path, which writes the
Markdown and JSON narratives) never loads altair, pandas, typst or papermill.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "DETAIL_LEVELS": "narrative",
    "narrative_data": "narrative",
    "narrative_files": "run_files",
    "narrative_json": "narrative",
    "narrative_markdown": "narrative",
    "narrative_pdf": "pdf",
    "run_pdf": "pdf",
    "ExecutiveSummary": "summary",
    "summarize": "summary",
    "templated_summary": "summary",
    "provenance_highlights": "highlights",
    "PathComparison": "compare",
    "compare_paths": "compare",
    "batch_chart": "charts",
    "batch_data": "charts",
    "batch_spec": "charts",
    "chart_png": "charts",
    "chart_svg": "charts",
    "cost_chart": "charts",
    "cost_data": "charts",
    "cost_spec": "charts",
    "fidelity_chart": "charts",
    "fidelity_data": "charts",
    "fidelity_spec": "charts",
    "knowledge_flow_chart": "charts",
    "knowledge_flow_data": "charts",
    "knowledge_flow_spec": "charts",
    "path_comparison_chart": "charts",
    "path_comparison_data": "charts",
    "path_comparison_spec": "charts",
    "relationship_chart": "charts",
    "relationship_data": "charts",
    "relationship_spec": "charts",
    "run_costs_chart": "charts",
    "run_costs_data": "charts",
    "run_costs_spec": "charts",
    "timeline_chart": "charts",
    "timeline_data": "charts",
    "timeline_spec": "charts",
    "build_site": "site",
    "site_dir": "site",
    "serve_site": "serve",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'timepoint.report' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"timepoint.report.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
