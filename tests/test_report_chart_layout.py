"""Chart layout on a portal run: path labels fit their cells, every path's relationship panels
have edges (or say why not), and no label is smaller than 11 px, cut by a limit or on top of
another; checked on the Vega-Lite specification itself."""

from __future__ import annotations

from itertools import combinations

import pytest

import timepoint as tp
from timepoint.report import charts
from timepoint.report.charts import paths, relationships
from timepoint.settings import Settings

from .conftest import SCENARIOS

PORTAL = SCENARIOS / "showcase" / "mars_mission_portal.yaml"
#: an upper bound of the width of a character, as a fraction of the font size
CHAR_WIDTH = 0.6


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    return tp.run(PORTAL, settings=Settings(home=tmp_path_factory.mktemp("runs"))).record


def _rows(spec, kind):
    return [r for r in spec["data"]["values"] if r["kind"] == kind]


def test_path_chart_lines_fit_their_cells_and_keep_the_whole_event_in_the_tooltip(portal):
    specs = charts.path_comparison_specs(portal)
    assert len(specs) == len(portal.timelines) - 1 == 2
    events = {t.id: t.event for t in portal.timepoints}
    for spec in specs:
        cells, _, text = spec["layer"]
        mark = text["mark"]
        assert mark["fontSize"] >= 11 and mark["baseline"] == "top"
        assert text["encoding"]["y"]["bandPosition"] == 0, "text starts at the top of its row"
        widest = max(len(line) for r in spec["data"]["values"] for line in r["lines"])
        assert widest <= paths.LINE_WIDTH
        assert widest * mark["fontSize"] * CHAR_WIDTH <= mark["limit"], "no line is cut"
        assert mark["limit"] + 2 * paths.PADDING <= paths.COLUMN_WIDTH
        tallest = max(len(r["lines"]) for r in spec["data"]["values"])
        steps = len({r["step"] for r in spec["data"]["values"]})
        row = spec["height"] / steps
        assert row >= mark["dy"] + tallest * mark["lineHeight"] + paths.PADDING, "no overlap"
        for row_data in spec["data"]["values"]:
            if row_data["timepoint"]:
                assert row_data["event"] == events[row_data["timepoint"]]
        for layer in (cells, text):
            tooltip = [t["field"] for t in layer["encoding"]["tooltip"]]
            assert "event" in tooltip and "differs" in tooltip
        axis = cells["encoding"]["x"]["axis"]
        sides = cells["encoding"]["x"]["sort"]
        assert axis["labelFontSize"] >= 11
        assert all(len(s) * axis["labelFontSize"] * CHAR_WIDTH <= axis["labelLimit"] for s in sides)
        assert len(spec["data"]["values"][0]["lines"]) > 1, "events are wrapped, not one line"


def test_every_path_has_a_row_of_relationship_panels_with_edges(portal):
    spec = charts.relationship_spec(portal)
    ranked = [f"#{p.rank} {p.timeline_id}" for p in sorted(portal.paths, key=lambda p: p.rank)]
    assert spec["facet"]["row"]["field"] == "path"
    assert spec["facet"]["row"]["sort"] == ranked, "one row per path, best first"
    assert spec["facet"]["column"]["field"] == "step"
    edges = _rows(spec, "edge")
    for path in ranked:
        panels = {r["panel"] for r in _rows(spec, "node") if r["path"] == path}
        assert len(panels) == relationships.PANELS_PER_PATH
        for panel in panels:
            drawn = [e for e in edges if e["panel"] == panel]
            assert drawn, f"{panel} has no edges"
            assert all(None not in (e["x"], e["y"], e["x2"], e["y2"]) for e in drawn)
    best = {e["source"] for e in edges if e["path"] == ranked[0]}
    others = {e["source"] for e in edges if e["path"] != ranked[0]}
    assert best <= {"relationship", "dialog"} and "relationship" in best
    assert others == {"present"}, "other paths keep no relationship records or dialogs"
    for edge in (e for e in edges if e["source"] == "present"):
        tp_ = next(t for t in portal.timepoints if t.id == edge["timepoint"])
        assert {edge["a"], edge["b"]} <= set(tp_.entities_present)
    assert "who was present together" in spec["title"]["subtitle"]
    edge_layer = spec["spec"]["layer"][0]
    assert edge_layer["transform"] == [{"filter": "datum.kind === 'edge'"}]
    assert edge_layer["mark"]["type"] == "rule"


def test_a_step_without_any_relationship_data_says_so_in_its_panel(portal):
    lonely = [
        t.model_copy(update={"entities_present": t.entities_present[:1]})
        if t.timeline_id == "path_3"
        else t
        for t in portal.timepoints
    ]
    spec = charts.relationship_spec(portal.model_copy(update={"timepoints": lonely}))
    notes = _rows(spec, "note")
    assert notes and {n["path"] for n in notes} == {"#3 path_3"}
    assert all(n["note"] == relationships.NO_DATA for n in notes)
    assert not [e for e in _rows(spec, "edge") if e["path"] == "#3 path_3"]
    note_layer = spec["spec"]["layer"][3]
    assert note_layer["transform"] == [{"filter": "datum.kind === 'note'"}]
    assert note_layer["encoding"]["text"]["field"] == "note"
    assert note_layer["mark"]["fontSize"] >= 11
    widest = max(len(line) for line in relationships.NO_DATA)
    assert widest * note_layer["mark"]["fontSize"] * CHAR_WIDTH < relationships.PANEL


def test_relationship_labels_stay_inside_their_panel_and_apart(portal):
    spec = charts.relationship_spec(portal)
    labels = spec["spec"]["layer"][2]
    assert labels["mark"]["fontSize"] >= 11
    assert next(t["field"] for t in labels["encoding"]["tooltip"]) == "name", "full name"
    scale = relationships.PANEL / (2 * relationships.DOMAIN)
    size = labels["mark"]["fontSize"]
    panel = next(iter({r["panel"] for r in _rows(spec, "node")}))
    boxes = []
    for node in (r for r in _rows(spec, "node") if r["panel"] == panel):
        assert node["label"] == node["name"] or node["label"].endswith("…")
        width = len(node["label"]) * size * CHAR_WIDTH
        assert width <= labels["mark"]["limit"], "the mark's limit never cuts a label"
        centre = (node["x"] + relationships.DOMAIN) * scale
        middle = (relationships.DOMAIN - node["ly"]) * scale
        box = (centre - width / 2, centre + width / 2, middle - size / 2, middle + size / 2)
        assert box[0] >= 0 and box[1] <= relationships.PANEL, node["name"]
        assert box[2] >= 0 and box[3] <= relationships.PANEL, node["name"]
        boxes.append((node["name"], box))
    for (a, one), (b, two) in combinations(boxes, 2):
        apart = one[1] <= two[0] or two[1] <= one[0] or one[3] <= two[2] or two[3] <= one[2]
        assert apart, f"the labels of {a} and {b} overlap"
    shortened = [r for r in _rows(spec, "node") if r["label"] != r["name"]]
    assert shortened, "the long names of this scenario are shortened, not clipped"
    header = spec["facet"]["column"]["header"]
    assert header["labelFontSize"] >= 11
    assert spec["config"]["legend"]["labelFontSize"] >= 11
