"""Charts of runs and batches: ``*_spec`` (a Vega-Lite dict), ``*_chart`` (altair) and
``*_data`` (the rows drawn), plus notebook display bundles and SVG/PNG export."""

from timepoint.report.charts.batch import batch_chart, batch_data, batch_spec
from timepoint.report.charts.cost import (
    cost_chart,
    cost_data,
    cost_spec,
    run_costs_chart,
    run_costs_data,
    run_costs_spec,
)
from timepoint.report.charts.export import (
    VEGALITE_MIME,
    chart_bundle,
    chart_png,
    chart_svg,
    chart_vegalite,
)
from timepoint.report.charts.fidelity import fidelity_chart, fidelity_data, fidelity_spec
from timepoint.report.charts.knowledge import (
    knowledge_flow_chart,
    knowledge_flow_data,
    knowledge_flow_spec,
)
from timepoint.report.charts.paths import (
    path_comparison_chart,
    path_comparison_data,
    path_comparison_spec,
    path_comparison_specs,
)
from timepoint.report.charts.relationships import (
    relationship_chart,
    relationship_data,
    relationship_spec,
)
from timepoint.report.charts.timeline import timeline_chart, timeline_data, timeline_spec

__all__ = [
    "VEGALITE_MIME",
    "batch_chart",
    "batch_data",
    "batch_spec",
    "chart_bundle",
    "chart_png",
    "chart_svg",
    "chart_vegalite",
    "cost_chart",
    "cost_data",
    "cost_spec",
    "fidelity_chart",
    "fidelity_data",
    "fidelity_spec",
    "knowledge_flow_chart",
    "knowledge_flow_data",
    "knowledge_flow_spec",
    "path_comparison_chart",
    "path_comparison_data",
    "path_comparison_spec",
    "path_comparison_specs",
    "relationship_chart",
    "relationship_data",
    "relationship_spec",
    "run_costs_chart",
    "run_costs_data",
    "run_costs_spec",
    "timeline_chart",
    "timeline_data",
    "timeline_spec",
]
