"""Charts: each one's data comes from the run record and its encoding shows what it claims."""

from __future__ import annotations

import json

import pytest

import timepoint as tp
from timepoint.report import charts
from timepoint.report.charts.cost import cost_measure
from timepoint.report.charts.knowledge import knowledge_facts_lines
from timepoint.report.compare import compare_paths
from timepoint.settings import Settings
from timepoint.world import ExposureKind
from timepoint.world.record import PathInfo

from .conftest import JEFFERSON, SCENARIOS

BRANCHING = SCENARIOS / "showcase" / "vc_pitch_branching.yaml"
PORTAL = SCENARIOS / "showcase" / "mars_mission_portal.yaml"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    settings = Settings(home=tmp_path_factory.mktemp("runs"))
    return {
        "forward": tp.run(JEFFERSON, settings=settings),
        "other_seed": tp.run(JEFFERSON, settings=settings, seed=21),
        "branching": tp.run(BRANCHING, settings=settings),
        "portal": tp.run(PORTAL, settings=settings),
    }


def _layers(spec):
    if "vconcat" in spec:
        return spec["vconcat"][0]["layer"]
    return spec.get("layer") or spec["spec"]["layer"]


def test_timeline_has_a_point_per_timepoint_and_links_follow_causal_parents(runs):
    record = runs["forward"].record
    points, links = charts.timeline_data(record)
    assert [p["timepoint"] for p in points] == [t.id for t in record.timepoints]
    assert {(link["parent"], link["child"]) for link in links} == {
        (t.causal_parent, t.id) for t in record.timepoints if t.causal_parent
    }
    assert not any(p["pivot"] for p in points)
    spec = charts.timeline_spec(record)
    edges, dots, pivots, labels = _layers(spec)
    assert dots["encoding"]["x"]["field"] == "timestamp"
    assert dots["encoding"]["y"]["field"] == "lane"
    assert dots["encoding"]["size"]["field"] == "importance"
    assert edges["encoding"]["x2"] == {"field": "timestamp2"}
    assert pivots["transform"] == [{"filter": "datum.pivot"}]
    assert labels["encoding"]["text"]["field"] == "timepoint"


@pytest.mark.parametrize("mode", ["branching", "portal"])
def test_timeline_lanes_are_the_paths_and_pivots_are_marked(runs, mode):
    record = runs[mode].record
    assert len(record.paths) > 1, f"{mode} runs should rank several paths"
    points, links = charts.timeline_data(record)
    lanes = {p["timeline"] for p in points}
    assert lanes == {t.timeline_id for t in record.timepoints}
    marked = {p["timepoint"] for p in points if p["pivot"]}
    assert marked == {tp_id for path in record.paths for tp_id in path.pivots}
    assert marked
    best = min(record.paths, key=lambda p: p.rank)
    assert next(p for p in points if p["timeline"] == best.timeline_id)["lane_index"] == 0
    assert any(link["branch"] for link in links) or mode == "portal"
    lane_sort = _layers(charts.timeline_spec(record))[1]["encoding"]["y"]["sort"]
    assert len(lane_sort) == len(lanes) and lane_sort[0].endswith("(#1)")


def test_relationship_graph_has_every_entity_in_every_panel_and_edges_with_positions(runs):
    record = runs["forward"].record
    rows = charts.relationship_data(record)
    nodes = [r for r in rows if r["kind"] == "node"]
    edges = [r for r in rows if r["kind"] == "edge"]
    assert len(nodes) == len(record.entities) * len(record.timepoints)
    assert edges
    source = "relationship" if record.relationships else "dialog"
    assert {e["source"] for e in edges} == {source}
    place = {(n["timepoint"], n["entity"]): (n["x"], n["y"]) for n in nodes}
    for edge in edges:
        assert (edge["x"], edge["y"]) == place[(edge["timepoint"], edge["a"])]
        assert (edge["x2"], edge["y2"]) == place[(edge["timepoint"], edge["b"])]
    if record.relationships:
        by_pair = {(r.timepoint_id, r.a, r.b): r.trust for r in record.relationships}
        assert all(by_pair[(e["timepoint"], e["a"], e["b"])] == e["trust"] for e in edges)
    spec = charts.relationship_spec(record)
    assert spec["facet"]["field"] == "panel"
    edge_layer = _layers(spec)[0]
    assert edge_layer["encoding"]["color"]["field"] == "trust"
    assert edge_layer["transform"] == [{"filter": "datum.kind === 'edge'"}]


def test_knowledge_flow_counts_told_exposures_per_speaker_listener_and_timepoint(runs):
    record = runs["forward"].record
    rows = charts.knowledge_flow_data(record)
    told = [e for e in record.exposures if e.kind is ExposureKind.TOLD]
    assert sum(r["facts"] for r in rows) == len(told)
    names = {e.id: e.name for e in record.entities}
    first = told[0]
    row = next(
        r
        for r in rows
        if r["timepoint"] == first.timepoint_id
        and r["speaker"] == names[first.source]
        and r["listener"] == names[first.entity_id]
    )
    assert first.fact_id in row["fact_ids"]
    lines, heads = _layers(charts.knowledge_flow_spec(record))
    assert lines["encoding"]["y"]["field"] == "speaker"
    assert lines["encoding"]["y2"] == {"field": "listener"}
    assert heads["encoding"]["y"]["field"] == "listener"
    assert lines["encoding"]["strokeWidth"]["field"] == "facts"


def test_knowledge_flow_lists_the_facts_as_text_not_only_in_tooltips(runs):
    record = runs["forward"].record
    spec = charts.knowledge_flow_spec(record)
    listed = spec["vconcat"][1]
    assert listed["mark"]["type"] == "text" and listed["encoding"]["text"]["field"] == "line"
    lines = [row["line"] for row in listed["data"]["values"]]
    first = charts.knowledge_flow_data(record)[0]
    assert lines[0].startswith(f"{first['timepoint']} · {first['speaker']} → {first['listener']}")
    assert first["fact_text"][:30] in lines[0]
    svg = charts.chart_svg(spec)
    assert first["speaker"] in svg and "→" in svg


def test_a_long_fact_list_is_cut_and_says_how_much_was_left_out():
    rows = [
        {"timepoint": f"tp_{n:03d}", "speaker": "A", "listener": "B", "fact_text": "x"}
        for n in range(50)
    ]
    lines = knowledge_facts_lines(rows, limit=10)
    assert len(lines) == 10 and lines[-1]["line"] == "… and 41 more (see the tooltips)"


def test_fidelity_heatmap_has_one_cell_per_planned_cell_with_tokens(runs):
    record = runs["forward"].record
    rows = charts.fidelity_data(record)
    assert len(rows) == len(record.fidelity)
    assert sum(r["tokens"] for r in rows) == sum(c.tokens for c in record.fidelity) > 0
    assert {r["resolution"] for r in rows} == {c.resolution.value for c in record.fidelity}
    cells, tokens = _layers(charts.fidelity_spec(record))
    assert cells["encoding"]["color"]["field"] == "resolution"
    assert cells["encoding"]["color"]["scale"]["domain"][0] == "tensor_only"
    assert tokens["encoding"]["text"]["field"] == "tokens"


def test_path_comparison_marks_the_first_divergence(runs):
    comparison = compare_paths(runs["forward"], runs["other_seed"])
    rows = charts.path_comparison_data(comparison)
    assert len(rows) == 2 * len(comparison.steps)
    first = comparison.first_divergence
    assert first is not None
    assert {r["status"] for r in rows if r["step"] < first} <= {"shared"}
    assert all(r["first_divergence"] == (r["step"] == first) for r in rows)
    spec = charts.path_comparison_spec(comparison)
    assert spec["title"] == f"Paths compared: diverge at step {first}"
    assert _layers(spec)[1]["transform"] == [{"filter": "datum.first_divergence"}]


def test_path_comparison_within_a_branching_run_uses_the_two_best_paths(runs):
    record = runs["branching"].record
    comparison = compare_paths(record)
    assert "(#1)" in comparison.left_label
    assert "(#2)" in comparison.right_label
    assert comparison.steps[0].same
    assert comparison.first_divergence is not None and comparison.first_divergence > 0


def test_path_comparison_wraps_events_says_what_differs_and_covers_every_path(runs):
    record = runs["branching"].record
    comparison = compare_paths(record)
    rows = charts.path_comparison_data(comparison)
    for row, step in zip(rows[::2], comparison.steps, strict=True):
        assert row["event"] == step.left.event, "the whole event, not cut"
        shown = " ".join(row["lines"])
        assert all(len(line) <= 44 for line in row["lines"])
        if len(step.left.event) <= 3 * 44:
            assert " ".join(step.left.event.split()) in shown
    diverged = [r for r in rows if r["status"] == "diverged"]
    assert diverged and all(r["differs"] for r in diverged)
    assert all(r["lines"][-1] == f"differs: {r['differs']}" for r in diverged)
    specs = charts.path_comparison_specs(record)
    others = {t.id for t in record.timelines} - {"main"}
    assert len(specs) == len(others) >= 2, "the main path against every other path"
    labels = {s["data"]["values"][1]["side"] for s in specs}
    assert len(labels) == len(specs)


def test_cost_chart_sums_usage_by_action_and_model(runs):
    record = runs["forward"].record
    rows = charts.cost_data(record)
    actions = [r for r in rows if r["group"] == "action"]
    assert {r["name"] for r in actions} == set(record.usage.by_action) >= {"summarization"}
    assert sum(r["calls"] for r in actions) == record.usage.calls
    assert cost_measure(rows) == "tokens"  # the offline model costs nothing
    spec = charts.cost_spec([runs["forward"], runs["other_seed"]])
    by_action = spec["hconcat"][0]
    assert by_action["encoding"]["x"] | {"title": None} == {
        "aggregate": "sum",
        "field": "tokens",
        "type": "quantitative",
        "title": None,
    }
    assert len({r["run_id"] for r in by_action["data"]["values"]}) == 2


def test_run_costs_chart_has_a_bar_per_run_in_start_order(runs):
    rows = charts.run_costs_data(list(runs.values()))
    in_order = sorted(runs.values(), key=lambda r: r.record.started)
    assert [r["run_id"] for r in rows] == [r.run_id for r in in_order]
    spec = charts.run_costs_spec(list(runs.values()))
    labels = [f"{i}. {r['run_id']}" for i, r in enumerate(rows, 1)]
    assert spec["encoding"]["y"]["sort"] == labels, "runs on the y axis, numbered, readable"
    assert spec["encoding"]["x"]["type"] == "quantitative"
    assert spec["encoding"]["color"]["field"] == "scenario"
    assert "no call cost money" not in json.dumps(spec)


def test_batch_chart_counts_statuses_and_bins_completed_jobs():
    jobs = [
        {"job_id": "a", "status": "completed", "cost_usd": 0.02, "duration_s": 1.5, "tokens": 10},
        {"job_id": "b", "status": "completed", "cost_usd": 0.04, "duration_s": 2.5, "tokens": 20},
        {"job_id": "c", "status": "failed", "cost_usd": None, "duration_s": 0.2, "tokens": None},
    ]
    rows = charts.batch_data(jobs)
    assert [r["status"] for r in rows] == ["completed", "completed", "failed"]
    assert rows[2]["cost_usd"] == 0.0 and rows[2]["tokens"] == 0
    spec = charts.batch_spec(jobs, title="Batch x")
    statuses, cost, duration = spec["hconcat"]
    assert statuses["encoding"]["x"]["aggregate"] == "count"
    assert len(statuses["data"]["values"]) == 3
    assert [r["job_id"] for r in cost["data"]["values"]] == ["a", "b"]
    assert duration["encoding"]["x"]["bin"] == {"maxbins": 20}
    assert spec["title"] == "Batch x: 3 jobs"


def test_altair_charts_are_valid_vega_lite_and_export_to_svg_and_png(runs):
    record = runs["branching"].record
    for chart in (
        charts.timeline_chart(record),
        charts.relationship_chart(record),
        charts.knowledge_flow_chart(record),
        charts.fidelity_chart(record),
        charts.cost_chart(record),
        charts.path_comparison_chart(record),
    ):
        assert chart.to_dict()["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
    svg = charts.chart_svg(charts.timeline_chart(record))
    assert svg.startswith("<svg") and "tp_000" in svg
    assert charts.chart_png(charts.fidelity_spec(record))[:8] == b"\x89PNG\r\n\x1a\n"


def test_empty_data_gives_a_note_not_an_error(runs):
    record = runs["forward"].record.model_copy(update={"exposures": [], "timepoints": []})
    spec = charts.knowledge_flow_spec(record)
    assert spec["data"]["values"] == [{"note": "nobody told anybody anything in this run"}]
    assert charts.timeline_spec(record)["mark"]["type"] == "text"
    assert charts.chart_svg(spec).startswith("<svg")


def test_a_path_rank_relabels_the_timeline_lane(runs):
    record = runs["forward"].record
    ranked = record.model_copy(
        update={"paths": [PathInfo(timeline_id="main", score=0.9, rank=1, pivots=["tp_001"])]}
    )
    points, _ = charts.timeline_data(ranked)
    assert {p["lane"] for p in points} == {"main (#1)"}
    assert [p["timepoint"] for p in points if p["pivot"]] == ["tp_001"]
