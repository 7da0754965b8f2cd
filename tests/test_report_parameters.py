"""Runs listed by the parameters they were made with: the seed and a batch job's overrides, as
columns of the site's run browser and of a batch page (``timepoint runs``: test_store_cli)."""

from __future__ import annotations

from datetime import UTC, datetime

from timepoint.report.pages import run_browser
from timepoint.report.parameters import parameter_text, run_parameters, swept_parameters
from timepoint.report.tables import batch_jobs_markdown
from timepoint.store import RunSummary, open_store

from .test_site_build import tables_of


def _summary(run_id: str, seed: int) -> RunSummary:
    started = datetime(2025, 3, 1, 12, tzinfo=UTC)
    return RunSummary(
        run_id=run_id, scenario_id="dinner", mode="pearl", status="completed", seed=seed,
        started=started, title="A dinner",
    )  # fmt: skip


def _job(job_id: str, run_id: str | None, seed: int, **overrides: object) -> dict[str, object]:
    spec = {"seed": seed, "overrides": overrides, "replicate": 0}
    return {"job_id": job_id, "run_id": run_id, "status": "completed", "spec_json": spec}


def test_the_store_gives_each_batch_run_the_overrides_of_the_job_that_made_it(tmp_path):
    with open_store(home=tmp_path) as store:
        store.create_batch("b1", {})
        store.upsert_job("b1", "j1", spec={"seed": 1, "overrides": {"a.b": 1}}, run_id="r1")
        store.upsert_job("b1", "j2", spec={"seed": 2, "overrides": {"a.b": 2}}, run_id="r2")
        store.upsert_job("b1", "j3", spec={"seed": 3, "overrides": {"c": [1, 2]}})
        store.create_batch("b2", {})
        store.upsert_job("b2", "j1", spec={"seed": 1, "overrides": {"a.b": 9}}, run_id="r1")
        found = run_parameters(store, ["r1", "r2", "r3"])
    assert found == {"r1": {"a.b": 9}, "r2": {"a.b": 2}}, "the later job's, and only runs'"
    assert parameter_text([1, 2]) == "[1,2]" and parameter_text(None) == ""
    assert parameter_text({"b": 1, "a": "x"}) == '{"a":"x","b":1}'


def test_the_run_browser_has_the_seed_and_every_swept_parameter_as_columns():
    summaries = [_summary("r1", 5), _summary("r2", 6), _summary("solo", 7)]
    parameters = {"r1": {"models.temperature": 0.2}, "r2": {"models.temperature": 0.9, "n": 3}}
    html = run_browser(summaries, {"r1": "runs/r1.html"}, parameters)
    head, *rows = tables_of(html)[0]
    assert head[4:8] == ["status", "seed", "models.temperature", "n"]
    cells = {row[0]: row[5:8] for row in rows}
    assert cells == {
        "runs/r1.html": ["5", "0.2", ""],
        "r2": ["6", "0.9", "3"],
        "solo": ["7", "", ""],
    }
    assert 'data-seed="6"' in html and "models.temperature=0.9 n=3" in html, "searchable"
    assert '<th data-key="seed">seed</th>' in html, "sortable by seed"
    plain = run_browser(summaries, {})
    assert tables_of(plain)[0][0][5:7] == ["seed", "started (UTC)"], "no batch, no columns"


def test_a_batch_page_lists_jobs_by_parameters_and_links_the_runs_with_pages():
    jobs = [
        _job("aaaa", "r1", 5, **{"models.temperature": 0.2}),
        _job("bbbb", "r2", 5, **{"models.temperature": 0.9, "entities[0].name": "Ada"}),
        _job("cccc", None, 6, **{"models.temperature": 0.2}),
    ]
    assert swept_parameters(jobs) == ["models.temperature", "entities[0].name"]
    lines = batch_jobs_markdown(jobs, pages={"r1"}).splitlines()
    assert lines[2] == (
        "| \\# | seed | models.temperature | entities\\[0\\].name | replicate | status | run | "
        "notebook | USD | s | job |"
    )
    first, second, third = lines[4:]
    assert first.startswith("| 1 | 5 | 0\\.2 |  | 0 | completed | [r1](../runs/r1.html) | ")
    assert "[ipynb](../runs/r1.ipynb)" in first
    assert "| 0\\.9 | Ada |" in second and "| `r2` |  |" in second, "no page, so no link"
    assert "| 6 | 0\\.2 |" in third and "| completed |  |  |" in third
    every = batch_jobs_markdown(jobs)
    assert "[r2](../runs/r2.html)" in every and "[ipynb](../runs/r2.ipynb)" in every
