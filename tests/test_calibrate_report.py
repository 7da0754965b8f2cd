"""The calibration report: its notebook (committed, parameterized, executed by papermill) and
its page on the site (a slow test: it executes every page's notebook), linked from the index
and to the runs behind each forecast."""

from __future__ import annotations

import nbformat
import papermill
import pytest
import yaml

import timepoint as tp
from timepoint.calibrate import forecast_many, load_questions, report
from timepoint.calibrate.ensemble import jeffreys, wilson
from timepoint.calibrate.notebook import calibration_notebook
from timepoint.calibrate.resolve import resolve
from timepoint.calibrate.scorecard import QuestionRow, Scorecard, score_rows
from timepoint.calibrate.site import calibration_pages
from timepoint.report.charts import chart_svg
from timepoint.report.site import build_site
from timepoint.store import open_store

from .conftest import ROOT
from .test_batch_specs import TINY


def _question_set(tmp_path):
    (tmp_path / "well.yaml").write_text(yaml.safe_dump(TINY))
    path = tmp_path / "wells.yaml"
    gather = {
        "id": "gather",
        "question": "Do the elders gather?",
        "scenario": "well.yaml",
        "outcome": {"kind": "event", "pattern": "gather at"},
        "resolution": True,
        "market_probability": 0.8,
    }
    dragon = {
        **gather,
        "id": "dragon",
        "question": "Does a dragon come?",
        "outcome": {"kind": "event", "pattern": "dragon"},
        "resolution": False,
        "market_probability": 0.1,
    }
    path.write_text(yaml.safe_dump({"questions": [gather, dragon]}))
    return path


def test_the_committed_notebook_is_the_packaged_one():
    committed = nbformat.read(ROOT / "notebooks" / "calibration.ipynb", as_version=4)
    built = calibration_notebook()
    assert [(c.cell_type, c.source, c.metadata) for c in committed.cells] == [
        (c.cell_type, c.source, c.metadata) for c in built.cells
    ]


def test_the_notebook_forecasts_and_scores_a_question_set(tmp_path, settings):
    path = _question_set(tmp_path)
    output = tmp_path / "calibration.out.ipynb"
    papermill.execute_notebook(
        str(ROOT / "notebooks" / "calibration.ipynb"),
        str(output),
        parameters={"questions": str(path), "n": 2, "home": str(settings.home)},
        progress_bar=False,
        log_output=False,
        cwd=str(ROOT / "notebooks"),
    )
    executed = nbformat.read(output, as_version=4)
    svgs = sum(
        "image/svg+xml" in o.get("data", {}) for c in executed.cells for o in c.get("outputs", [])
    )
    assert svgs == 3

    card = report.open_scorecard("wells", home=str(settings.home))  # read from the store
    assert card.scores.questions == 2 and card.scores.brier == 0.0
    assert card.scores.brier_skill_market is not None and card.scores.brier_skill_market > 0
    assert "Brier score" in report.scores_markdown(card)
    table = report.questions_markdown(card)
    assert table.count("](../runs/") == 4  # two questions, two runs each, linked
    assert "gather: Do the elders gather?" in table
    assert report.reliability_spec(card)["layer"]
    assert {r["market"] for r in report.market_spec(card)["data"]["values"]} == {0.8, 0.1}


def test_the_forecast_chart_draws_each_forecast_with_its_interval_and_outcome():
    def row(question_id, resolution, k=None, m=8):
        if k is None:
            return QuestionRow(question_id=question_id, text="?", resolution=resolution)
        return QuestionRow(
            question_id=question_id,
            text="?",
            resolution=resolution,
            probability=k / m,
            lower=wilson(k, m)[0],
            upper=wilson(k, m)[1],
            smoothed=jeffreys(k, m),
            runs=m,
            yes_runs=k,
        )

    rows = [row("rain", 1.0, 6), row("snow", 0.0, 0), row("hail", None, 2), row("fog", None)]
    card = Scorecard(question_set="weather", rows=rows, scores=score_rows(rows))
    spec = report.forecasts_spec(card)
    shown = {r["question"]: r for r in spec["data"]["values"]}
    assert list(shown) == ["rain", "snow", "hail"]  # fog has no forecast yet
    assert [shown[q]["outcome"] for q in shown] == ["yes", "no", "unresolved"]
    assert shown["rain"]["runs"] == "6/8" and shown["rain"]["smoothed"] == 6.5 / 9
    assert shown["snow"]["forecast"] == 0.0 < shown["snow"]["smoothed"] < shown["snow"]["upper"]
    assert chart_svg(spec).lstrip().startswith("<svg")
    empty = Scorecard(question_set="weather", rows=[row("fog", None)], scores=score_rows([]))
    assert "no forecasts yet" in str(report.forecasts_spec(empty))


@pytest.mark.slow
def test_the_site_gets_a_calibration_page_linked_to_the_runs(tmp_path, settings):
    questions = load_questions(_question_set(tmp_path))
    store = open_store(settings.db_url, home=settings.home)
    forecast_many(questions.questions, n=2, settings=settings, store=store)
    resolve(questions, store)
    (first, *_) = store.forecasts("gather")[0]["run_ids_json"]
    pages = calibration_pages(settings, store)
    assert [(p.slug, p.section) for p in pages] == [("wells", "Calibration")]
    site = build_site(settings=settings, run_ids=[first], renderer="nbconvert", extra=pages)
    index = (site / "index.html").read_text()
    assert 'href="calibration/wells.html"' in index
    page = (site / "calibration" / "wells.html").read_text()
    assert page.count("data:image/svg+xml;base64,") == 3
    assert f'href="../runs/{first}.html"' in page and (site / "runs" / f"{first}.html").is_file()
    assert tp.load_run(first, settings=settings).record.status == "completed"
