"""The calibration report: its notebook (committed, parameterized, executed by papermill) and
its page on the site (a slow test: it executes every page's notebook), linked from the index
and to the runs behind each forecast."""

from __future__ import annotations

from datetime import UTC, datetime

import nbformat
import papermill
import pytest
import yaml

import timepoint as tp
from timepoint.calibrate import forecast_many, load_questions, over_time, report
from timepoint.calibrate.ensemble import jeffreys, wilson
from timepoint.calibrate.notebook import calibration_notebook
from timepoint.calibrate.resolve import resolve
from timepoint.calibrate.scorecard import (
    ALL_SETS,
    ForecastPoint,
    QuestionRow,
    Scorecard,
    score_rows,
    scorecard,
)
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
    assert svgs == 6  # forecasts, two reliability diagrams, markets, history, scores by month

    card = report.open_scorecard("wells", home=str(settings.home))  # read from the store
    assert card.scores.questions == 2 and card.scores.brier == 0.0
    assert card.scores.brier_skill_market is not None and card.scores.brier_skill_market > 0
    assert "Brier score" in report.scores_markdown(card)
    table = report.questions_markdown(card, "../batches/{batch_id}.html")
    assert table.count("](../batches/") == 2  # each question's forecast links its batch
    assert "gather: Do the elders gather?" in table
    assert report.runs_markdown(card).count("](../runs/") == 4  # two runs each, all linked
    assert len(card.history) == 2 and {p.question_id for p in card.history} == {"gather", "dragon"}
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


def test_a_store_of_several_sets_gets_a_page_of_all_their_questions(tmp_path, settings):
    store = open_store(settings.db_url, home=settings.home)
    wells = load_questions(_question_set(tmp_path))
    resolve(wells, store)
    assert [p.slug for p in calibration_pages(settings, store)] == ["wells"]  # one set: no total
    text = _question_set(tmp_path).read_text().replace("id: gather", "id: gather-again")
    text = text.replace("id: dragon", "id: dragon-again")
    (tmp_path / "springs.yaml").write_text(text)
    resolve(load_questions(tmp_path / "springs.yaml"), store)
    pages = calibration_pages(settings, store)
    assert [(p.slug, p.parameters["questions"]) for p in pages] == [
        ("springs", "springs"),
        ("wells", "wells"),
        ("_all", ALL_SETS),
    ]
    assert pages[-1].title == "Calibration · all question sets"
    every = scorecard(store, ALL_SETS)
    assert sorted(r.question_id for r in every.rows) == [
        "dragon",
        "dragon-again",
        "gather",
        "gather-again",
    ]
    assert len(scorecard(store, "wells").rows) == 2
    assert report.scores_markdown(every).startswith("**All question sets**: no question")
    assert report.summary_markdown(every) == (
        "**All question sets**: 4 questions, 0 forecast, 4 resolved."
    )


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
    assert page.count("data:image/svg+xml;base64,") == 6
    assert page.count('class="tp-chart" data-spec=') == 6  # each also drawn live by Vega
    for title in ("Forecasts with their intervals", "Forecasts over time", "Scores by month"):
        assert f'alt="chart: {title}"' in page
    assert f'href="../runs/{first}.html"' in page and (site / "runs" / f"{first}.html").is_file()
    for forecast in (store.forecasts("gather")[0], store.forecasts("dragon")[0]):
        assert all(f'href="../runs/{r}.html"' in page for r in forecast["run_ids_json"])
        batch = forecast["batch_id"]
        assert f'href="../batches/{batch}.html"' in page
        assert (site / "batches" / f"{batch}.html").is_file()
    assert tp.load_run(first, settings=settings).record.status == "completed"


def _row(question_id: str, runs: int, **fields) -> QuestionRow:
    run_ids = [f"run-{question_id}-{i:03d}" for i in range(runs)]
    return QuestionRow(
        question_id=question_id,
        text="?",
        runs=runs,
        yes_runs=runs // 2,
        probability=0.5,
        batch_id=f"forecast-{question_id}",
        run_ids=run_ids,
        **fields,
    )


def test_every_run_behind_a_forecast_is_linked_with_its_batch():
    rows = [_row("rain", 20), _row("snow", 3), QuestionRow(question_id="fog", text="?")]
    card = Scorecard(question_set="weather", rows=rows, scores=score_rows(rows))
    runs = report.runs_markdown(card, "../runs/{run_id}.html", "../batches/{batch_id}.html")
    for row in rows[:2]:
        assert all(f"](../runs/{r}.html)" in runs for r in row.run_ids)
    assert runs.count("](../runs/") == 23 and "more" not in runs
    assert "**rain** (20 runs, batch [forecast-rain](../batches/forecast-rain.html))" in runs
    assert "fog" not in runs  # no forecast, no runs
    table = report.questions_markdown(card, "../batches/{batch_id}.html")
    assert "| 20 | [forecast-rain](../batches/forecast-rain.html) |" in table
    assert "| 0 | – |" in table  # fog
    unlinked = report.runs_markdown(card, "", "")
    assert "](" not in unlinked and "run-rain-019" in unlinked
    empty = Scorecard(question_set="weather", rows=rows[2:], scores=score_rows([]))
    assert report.runs_markdown(empty) == "No forecasts yet."


def _point(question_id: str, month: int, k: int, m: int = 10) -> ForecastPoint:
    low, high = wilson(k, m)
    return ForecastPoint(
        question_id=question_id,
        forecast_id=f"{question_id}-{month}",
        made=datetime(2026, month, 3, 12, tzinfo=UTC),
        probability=k / m,
        lower=low,
        upper=high,
        smoothed=jeffreys(k, m),
        runs=m,
        yes_runs=k,
    )


def test_the_forecast_history_chart_draws_every_forecast_market_and_resolution():
    rows = [
        _row("rain", 10, resolution=1.0, market_probability=0.7),
        _row("hail", 10),  # no market, unresolved
    ]
    history = [_point("rain", 3, 4), _point("rain", 5, 7), _point("hail", 5, 2)]
    card = Scorecard(question_set="weather", rows=rows, scores=score_rows(rows), history=history)
    spec = over_time.history_spec(card)
    drawn = spec["data"]["values"]
    assert [(d["question"], d["made"][:7], d["forecast"]) for d in drawn] == [
        ("rain", "2026-03", 0.4),
        ("rain", "2026-05", 0.7),
        ("hail", "2026-05", 0.2),
    ]
    assert drawn[0]["lower"] == wilson(4, 10)[0] and drawn[0]["runs"] == "4/10"
    assert (drawn[0]["market"], drawn[0]["resolution"]) == (0.7, 1.0)
    assert (drawn[2]["market"], drawn[2]["resolution"]) == (None, None)
    assert spec["facet"]["row"]["field"] == "question"
    fields = [layer["encoding"]["y"]["field"] for layer in spec["spec"]["layer"]]
    assert fields == ["market", "resolution", "lower", "forecast", "forecast"]
    svg = chart_svg(spec)
    assert svg.lstrip().startswith("<svg") and "rain" in svg and "hail" in svg
    bare = Scorecard(question_set="weather", rows=rows, scores=score_rows(rows))
    assert "no forecasts yet" in str(over_time.history_spec(bare))


def test_the_scores_by_month_chart_has_a_point_per_month_and_score():
    rows = [_row("rain", 10, resolution=1.0), _row("snow", 10, resolution=0.0)]
    march = score_rows([rows[0].model_copy(update={"probability": 0.9})])
    may = score_rows(rows)
    card = Scorecard(
        question_set="weather",
        rows=rows,
        scores=may,
        by_month={"2026-03": march, "2026-04": score_rows([]), "2026-05": may},
    )
    spec = over_time.scores_by_month_spec(card)
    drawn = {(d["month"], d["score"]): d["value"] for d in spec["data"]["values"]}
    assert set(drawn) == {
        (m, s) for m in ("2026-03", "2026-05") for s in ("Brier score", "log score", "ECE")
    }
    assert drawn["2026-03", "Brier score"] == pytest.approx(0.01)
    assert drawn["2026-05", "Brier score"] == pytest.approx(0.25)
    assert chart_svg(spec).lstrip().startswith("<svg")
    empty = Scorecard(question_set="weather", rows=rows, scores=score_rows([]))
    assert "no resolved forecasts yet" in str(over_time.scores_by_month_spec(empty))
