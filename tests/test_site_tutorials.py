"""The tutorials on the report site: frozen copies committed in ``_freeze/tutorials`` that match
their sources, pages rendered from them (never executing a tutorial), a line naming the
refreeze command when a copy is stale, and ``timepoint site freeze-tutorials``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from timepoint.report import quarto
from timepoint.report.freeze import (
    REFREEZE,
    Tutorials,
    freeze_state,
    frozen_hash,
    source_hash,
)
from timepoint.report.pages import notebook_body
from timepoint.report.site import build_site
from timepoint.report.tutorials import tutorial_pages
from timepoint.settings import Settings

from .conftest import ROOT
from .test_site_build import EXTERNAL
from .test_tutorials import EXPECTED

REPOSITORY = Tutorials.of(ROOT)
VEGALITE = re.compile(r"^application/vnd\.vegalite\.v\d+\+json$")


def _chart_outputs(notebook) -> list[dict]:
    return [
        output.get("data", {})
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if any(VEGALITE.match(key) for key in output.get("data", {}))
    ]


def test_every_tutorial_has_a_frozen_copy_of_its_current_source():
    assert REPOSITORY.names() == sorted(EXPECTED)
    stale = {
        name: f"{state}: run {REPOSITORY.refreeze_command(name)}"
        for name in REPOSITORY.names()
        if (state := freeze_state(REPOSITORY, name)) != "current"
    }
    assert stale == {}, "a tutorial changed since it was frozen"
    for name, (charts, phrase) in EXPECTED.items():
        frozen = nbformat.read(REPOSITORY.frozen_copy(name), as_version=4)
        outputs = _chart_outputs(frozen)
        assert len(outputs) == charts, name
        assert not any("image/svg+xml" in o or "image/png" in o for o in outputs), "slimmed"
        shown = json.dumps([c.get("outputs", []) for c in frozen.cells])
        assert phrase in shown and "store: runs" in shown
        assert "/tmp" not in shown and str(ROOT) not in shown, "no local path in the copy"


def test_site_build_renders_the_frozen_tutorials_with_live_charts(tmp_path):
    lines: list[str] = []
    site = build_site(
        Settings(home=tmp_path / "runs"),
        renderer="nbconvert",
        tutorials=REPOSITORY,
        progress=lines.append,
    )
    assert not any(REFREEZE in line for line in lines), lines
    index = (site / "tutorials" / "index.html").read_text()
    assert '<a href="../tutorials/index.html">Tutorials</a>' in index
    assert 'href="tutorials/index.html">Tutorials</a>' in (site / "costs.html").read_text()
    search = (site / "assets" / "search-index.js").read_text()
    entries = json.loads(search.removeprefix("window.tpSearchIndex = ").rstrip(";\n"))
    found = {e["href"]: e for e in entries}
    assert "tutorials/index.html" in found
    for name, (charts, _) in EXPECTED.items():
        page = (site / "tutorials" / f"{name}.html").read_text()
        title = nbformat.read(REPOSITORY.notebook(name), as_version=4).cells[0].source
        title = title.splitlines()[0].removeprefix("# ")
        assert f'<a href="{name}.html">{title}</a>' in index
        assert page.count('class="tp-chart" data-spec=') == charts >= 1
        assert 'src="../assets/vega-embed.min.js"' in page
        assert "import timepoint as tp" in re.sub(r"<[^>]+>", "", page), "shows its code"
        assert found[f"tutorials/{name}.html"]["title"] == title
        assert not EXTERNAL.search(page)
    assert "A batch is a grid of run specifications" in index, "the purpose line"
    assert "not frozen yet" not in index


def _tutorial(folder: Path, name: str, code: str) -> Path:
    cells = [
        nbformat.v4.new_markdown_cell(f"# {name.title()}\n\nWhat {name} shows. More text."),
        nbformat.v4.new_code_cell('home = ""', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(code),
    ]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    notebook.metadata["language_info"] = {"name": "python"}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.ipynb"
    nbformat.write(notebook, path)
    return path


def _freeze_by_hand(tutorials: Tutorials, name: str, outputs: list) -> None:
    """A frozen copy as the command writes it, with ``outputs`` on the last cell."""
    notebook = nbformat.read(tutorials.notebook(name), as_version=4)
    notebook.cells[-1].outputs = [nbformat.from_dict(o) for o in outputs]
    digest = source_hash(tutorials.notebook(name))
    notebook.metadata["timepoint"] = {"freeze": {"source_sha256": digest}}
    tutorials.frozen.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, tutorials.frozen_copy(name))


CHART = {
    "output_type": "display_data",
    "metadata": {},
    "data": {
        "application/vnd.vegalite.v5+json": {
            "mark": "bar",
            "data": {"values": [{"a": 1}]},
            "encoding": {"x": {"field": "a", "type": "quantitative"}},
        },
        "text/plain": "chart",
    },
}


def test_a_stale_or_missing_copy_is_named_and_shown_without_outputs(tmp_path):
    tutorials = Tutorials.of(tmp_path)
    for name in ("alpha", "beta", "gamma"):
        _tutorial(tutorials.source, name, f"print({name!r})")
        _freeze_by_hand(tutorials, name, [CHART])
    _tutorial(tutorials.source, "beta", "print('changed')")
    tutorials.frozen_copy("gamma").unlink()
    said: list[str] = []
    pages = tutorial_pages(tutorials, tmp_path / "stage", said.append)
    assert said == [
        f"tutorial beta: frozen copy stale, shown without outputs; refreeze with: {REFREEZE} beta",
        f"tutorial gamma: frozen copy missing, shown without outputs; refreeze with: {REFREEZE} "
        "gamma",
    ]
    staged = {target: source for source, target, _ in pages.notebooks}
    assert list(staged) == [f"tutorials/{n}.ipynb" for n in ("index", "alpha", "beta", "gamma")]
    alpha = notebook_body(staged["tutorials/alpha.ipynb"])
    beta = notebook_body(staged["tutorials/beta.ipynb"])
    assert alpha.count('class="tp-chart"') == 1 and "print" in alpha
    assert 'class="tp-chart"' not in beta and "changed" in beta, "the source, no outputs"
    index = notebook_body(staged["tutorials/index.ipynb"])
    assert index.count("not frozen yet") == 2 and "What alpha shows." in index
    assert "More text" not in index, "one sentence of purpose"
    assert {e.href for e in pages.entries} == {
        "tutorials/index.html",
        *(f"tutorials/{n}.html" for n in ("alpha", "beta", "gamma")),
    }
    before = staged["tutorials/alpha.ipynb"].stat().st_mtime_ns
    tutorial_pages(tutorials, tmp_path / "stage")
    assert staged["tutorials/alpha.ipynb"].stat().st_mtime_ns == before, "unchanged, not rewritten"
    assert tutorial_pages(Tutorials.of(tmp_path / "elsewhere"), tmp_path / "s").notebooks == []


def test_quarto_staging_shows_tutorial_code_and_drops_navbar_entries_without_pages(tmp_path):
    tutorials = Tutorials.of(tmp_path)
    _tutorial(tutorials.source, "alpha", "print(1)")
    _freeze_by_hand(tutorials, "alpha", [CHART])
    pages = tutorial_pages(tutorials, tmp_path / "stage")
    project = tmp_path / "project"
    quarto.stage_project(project, ROOT, "<p>runs</p>", pages.notebooks)
    staged = nbformat.read(project / "tutorials" / "alpha.ipynb", as_version=4)
    assert yaml.safe_load(staged.cells[0].source.strip("-\n")) == {"title": "Alpha", "echo": True}
    navbar = yaml.safe_load((project / "_quarto.yml").read_text())["website"]["navbar"]["left"]
    assert {"href": "tutorials/index.ipynb", "text": "Tutorials"} in navbar
    assert yaml.safe_load((project / "_quarto.yml").read_text())["execute"]["freeze"] is True
    quarto.stage_project(project, ROOT, "<p>runs</p>", [])
    navbar = yaml.safe_load((project / "_quarto.yml").read_text())["website"]["navbar"]["left"]
    assert [item["text"] for item in navbar] == ["Runs"], "costs and tutorials not staged"


@pytest.mark.slow  # executes a (tiny) notebook in a new kernel
def test_freeze_command_runs_only_stale_tutorials_offline(tmp_path):
    tutorials = Tutorials.of(tmp_path)
    _tutorial(
        tutorials.source,
        "alpha",
        "import os\nfrom timepoint.report.embed import show_chart\n"
        "print('store:', home, os.environ.get('TIMEPOINT_LLM_API_KEY'))\n"
        f"show_chart({CHART['data']['application/vnd.vegalite.v5+json']!r})",
    )
    _tutorial(tutorials.source, "beta", "print(2)")
    _freeze_by_hand(tutorials, "beta", [])
    beta_before = tutorials.frozen_copy("beta").read_bytes()
    env = {**os.environ, "TIMEPOINT_LLM_API_KEY": "sk-not-for-tutorials"}
    cli = [sys.executable, "-m", "timepoint.cli", "site", "freeze-tutorials"]
    cli += ["--dir", str(tmp_path)]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*cli, *args], env=env, capture_output=True, text=True, timeout=300, check=False
        )

    check = run("--check")
    assert check.returncode == 1
    assert f"alpha: frozen copy missing; run: {REFREEZE} alpha" in check.stdout
    assert "1 of 2 frozen tutorials current" in check.stdout
    frozen = run()
    assert frozen.returncode == 0, frozen.stderr
    assert "1 of 2 frozen tutorials current, 1 to run" in frozen.stderr
    assert f"frozen: alpha in {tutorials.frozen}" in frozen.stdout
    assert tutorials.frozen_copy("beta").read_bytes() == beta_before, "current: not executed"
    copy = nbformat.read(tutorials.frozen_copy("alpha"), as_version=4)
    assert frozen_hash(tutorials.frozen_copy("alpha")) == source_hash(tutorials.notebook("alpha"))
    [chart] = _chart_outputs(copy)
    assert "image/svg+xml" not in chart and "image/png" not in chart
    text = json.dumps([c.get("outputs", []) for c in copy.cells])
    assert "store: runs None" in text, "the temporary store is 'runs', no key reached the kernel"
    assert not any("injected-parameters" in c.metadata.get("tags", []) for c in copy.cells)
    assert "papermill" not in copy.metadata
    assert run("--check").returncode == 0
    unknown = run("nope")
    assert unknown.returncode == 2 and "no tutorial 'nope'" in unknown.stderr
    _tutorial(tutorials.source, "gamma", "raise ValueError('broken on purpose')")
    failed = run("gamma")
    assert failed.returncode == 2
    assert "tutorial gamma failed, its frozen copy is unchanged" in failed.stderr
    assert "broken on purpose" in failed.stderr and not tutorials.frozen_copy("gamma").exists()
