"""The notebooks in ``notebooks/``: committed clean, one ``parameters`` cell each, and executed
end to end by papermill (its Python API) with the offline model."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import papermill
import pytest

import timepoint as tp
from timepoint.report import markup
from timepoint.report.charts import VEGALITE_MIME
from timepoint.store import open_store

from .conftest import JEFFERSON, ROOT

NOTEBOOKS = ROOT / "notebooks"
NAMES = ("run_scenario", "explore_run", "batch_sweep", "compare_paths", "calibration")


def _execute(
    name: str, tmp_path: Path, cwd: Path = NOTEBOOKS, **parameters
) -> nbformat.NotebookNode:
    output = tmp_path / f"{name}.out.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOKS / f"{name}.ipynb"),
        str(output),
        parameters=parameters,
        progress_bar=False,
        log_output=False,
        cwd=str(cwd),
    )
    return nbformat.read(output, as_version=4)


def _shown(notebook: nbformat.NotebookNode) -> str:
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            texts.append(output.get("text", ""))
            texts += [str(v) for k, v in output.get("data", {}).items() if k.startswith("text/")]
    return "\n".join(texts)


def _outputs(notebook: nbformat.NotebookNode) -> list[dict]:
    return [output for cell in notebook.cells for output in cell.get("outputs", [])]


def _charts(notebook: nbformat.NotebookNode) -> int:
    """How many charts the notebook shows; every one must be Vega-Lite that JupyterLab renders
    untrusted plus a static image, and no output may need trust (HTML or JavaScript)."""
    shown = [o.get("data", {}) for o in _outputs(notebook)]
    charts = [d for d in shown if VEGALITE_MIME in d or "image/svg+xml" in d]
    for data in charts:
        assert VEGALITE_MIME in data and "image/svg+xml" in data, sorted(data)
        assert data[VEGALITE_MIME]["$schema"].endswith("/v5.json")
        assert data["image/svg+xml"].lstrip().startswith("<svg")
    untrusted = {"text/html", "application/javascript"}
    assert not [sorted(untrusted & set(d)) for d in shown if untrusted & set(d)]
    return len(charts)


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebook_is_clean_and_has_one_parameters_cell(name):
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    nbformat.validate(notebook)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code), "strip outputs"
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0] is code[0]
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    assert all(len(c.source.splitlines()) <= 12 for c in code), "logic belongs in the package"


def test_run_scenario_runs_the_scenario_and_shows_its_charts(tmp_path):
    home = tmp_path / "runs"
    notebook = _execute("run_scenario", tmp_path, scenario=str(JEFFERSON), seed=4, home=str(home))
    with open_store(home=home) as store:
        (summary,) = store.list_runs()
        record = store.load_run(summary.run_id)
    assert record.seed == 4 and record.provider == "offline"
    shown = _shown(notebook)
    assert record.run_id in shown and record.summary in shown
    assert _charts(notebook) == 5


def test_default_parameters_use_one_store_from_the_root_and_from_notebooks(tmp_path, monkeypatch):
    monkeypatch.delenv("TIMEPOINT_HOME", raising=False)
    monkeypatch.delenv("TIMEPOINT_DB_URL", raising=False)
    project = tmp_path / "project"
    (project / "notebooks").mkdir(parents=True)
    (project / ".timepoint").touch()
    shutil.copytree(ROOT / "scenarios", project / "scenarios")
    ran = _execute("run_scenario", tmp_path, cwd=project / "notebooks", seed=2)
    assert f"store: {project / 'runs'} (project root {project}, found by .timepoint)" in _shown(ran)
    assert not (project / "notebooks" / "runs").exists()
    with open_store(home=project / "runs") as store:
        (summary,) = store.list_runs()
    explored = _execute("explore_run", tmp_path, cwd=project, question="")
    assert summary.run_id in _shown(explored)
    assert f"store: {project / 'runs'}" in _shown(explored)


def _settings(home: Path):
    from timepoint.settings import Settings

    return Settings(home=home)


@pytest.mark.slow
def test_explore_run_follows_a_fact_and_asks_a_question(tmp_path):
    home = tmp_path / "runs"
    run = tp.run(JEFFERSON, settings=_settings(home))
    notebook = _execute("explore_run", tmp_path, home=str(home))
    shown = _shown(notebook)
    assert run.run_id in shown
    assert "reached" in shown and "| timepoint | who knew it |" in shown
    assert "**Q:** What did Madison know" in shown
    assert _charts(notebook) == 2
    answers = tp.load_run(run.run_id, settings=_settings(home)).record.answers
    assert answers and markup.paragraphs(answers[0].text) in shown  # as text: [ ] escaped


@pytest.mark.slow
def test_compare_paths_compares_two_runs(tmp_path):
    home = tmp_path / "runs"
    first = tp.run(JEFFERSON, settings=_settings(home))
    second = tp.run(JEFFERSON, settings=_settings(home), seed=9)
    notebook = _execute(
        "compare_paths", tmp_path, run_id=first.run_id, other_run_id=second.run_id, home=str(home)
    )
    shown = _shown(notebook)
    assert "diverge at step" in shown
    assert first.run_id in shown and second.run_id in shown
    assert _charts(notebook) == 3


@pytest.mark.slow
@pytest.mark.xfail(not hasattr(tp, "run_batch"), reason="timepoint.run_batch is not there yet")
def test_batch_sweep_runs_the_grid_as_a_batch(tmp_path):
    home = tmp_path / "runs"
    notebook = _execute(
        "batch_sweep",
        tmp_path,
        scenario=str(JEFFERSON),
        grid={"seed": [1, 2]},
        workers=1,
        budget=10.0,
        home=str(home),
    )
    assert "2 completed" in _shown(notebook)
    with open_store(home=home) as store:
        assert {r.seed for r in store.list_runs()} == {1, 2}
        (batch,) = store.batches()
        assert len(store.jobs(batch["batch_id"])) == 2
    assert _charts(notebook) == 2
