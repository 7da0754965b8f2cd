"""The tutorial notebooks in ``notebooks/tutorials/``: committed clean with one ``parameters``
cell, and executed end to end by papermill with the offline model, each showing its charts as
Vega-Lite plus a static image."""

from __future__ import annotations

import time

import nbformat
import papermill
import pytest

from .conftest import ROOT
from .test_notebooks import _charts, _shown

TUTORIALS = ROOT / "notebooks" / "tutorials"
#: tutorial -> (charts it shows, a phrase its output must contain)
EXPECTED = {
    "01_fidelity_and_tokens": (2, "fewer tokens"),
    "02_knowledge_and_provenance": (1, "Planted leaks"),
    "03_temporal_modes": (6, "| portal |"),
    "04_branching_and_comparison": (3, "diverge at step"),
    "05_batches_and_sweeps": (2, "4 completed"),
    "06_forecasts": (3, "cover the true probability"),
}
#: seconds one tutorial may take (the issue's "runnable offline in under a minute")
LIMIT_S = 60.0


def test_every_tutorial_is_listed():
    assert sorted(p.stem for p in TUTORIALS.glob("*.ipynb")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_committed_tutorial_is_clean_and_has_one_parameters_cell(name):
    notebook = nbformat.read(TUTORIALS / f"{name}.ipynb", as_version=4)
    nbformat.validate(notebook)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code), "strip outputs"
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0] is code[0]
    assert notebook.cells[0].cell_type == "markdown" and notebook.cells[0].source.startswith("# ")


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_tutorial_runs_offline_in_under_a_minute_and_shows_its_charts(name, tmp_path):
    output = tmp_path / f"{name}.out.ipynb"
    started = time.perf_counter()
    papermill.execute_notebook(
        str(TUTORIALS / f"{name}.ipynb"),
        str(output),
        parameters={"home": str(tmp_path / "runs")},
        progress_bar=False,
        log_output=False,
        cwd=str(TUTORIALS),
    )
    took = time.perf_counter() - started
    notebook = nbformat.read(output, as_version=4)
    charts, phrase = EXPECTED[name]
    assert _charts(notebook) == charts
    assert phrase in _shown(notebook)
    assert f"store: {tmp_path / 'runs'}" in _shown(notebook)
    assert took < LIMIT_S, f"{name} took {took:.1f} s"
