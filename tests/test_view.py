"""The notebook helpers in-process: find the store, run and open runs, show charts and text."""

from __future__ import annotations

from pathlib import Path

import pytest

from timepoint import view
from timepoint.errors import RunNotFound
from timepoint.report.charts.export import VEGALITE_MIME

from .conftest import JEFFERSON, ROOT


def test_runs_are_run_and_opened_from_the_home_a_notebook_names(tmp_path: Path, capsys):
    home = tmp_path / "runs"
    with pytest.raises(RunNotFound, match="holds no runs"):
        view.open_run(home=home)
    run = view.run_scenario(str(JEFFERSON), seed=3, budget=2.0, home=str(home))
    assert run.status == "completed" and run.record.seed == 3
    assert run.scenario.budget.max_usd == 2.0
    assert view.open_run(home=home).run_id == run.run_id  # the newest
    assert view.open_run(run.run_id[:12], home=home).run_id == run.run_id
    assert [r.run_id for r in view.open_runs(home=home)] == [run.run_id]
    assert view.settings_for(home, "sqlite:///x.db").db_url == "sqlite:///x.db"
    assert "store:" not in capsys.readouterr().out  # a named home is not announced


def test_paths_are_found_from_the_project_root(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(ROOT / "notebooks")
    relative = "scenarios/showcase/jefferson_dinner.yaml"
    assert view.scenario_path(relative) == ROOT / relative
    assert view.project_path(JEFFERSON) == JEFFERSON
    monkeypatch.chdir(ROOT)
    assert view.project_path(relative) == Path(relative)


def test_show_gives_charts_as_vega_lite_with_an_svg_and_text_as_markdown(capsys):
    spec = {
        "title": "a tiny chart",
        "data": {"values": [{"x": 1, "y": 2}]},
        "mark": "point",
        "encoding": {"x": {"field": "x", "type": "quantitative"}},
    }
    view.show(spec)
    printed = capsys.readouterr().out  # without a notebook the bundle is printed
    assert VEGALITE_MIME in printed and "image/svg+xml" in printed and "<svg" in printed
    assert "chart: a tiny chart" in printed
    view.show("**bold** <b>raw</b>")
    view.show(42)
    assert "Markdown object" in capsys.readouterr().out
