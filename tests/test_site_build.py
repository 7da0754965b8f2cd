"""The report site: pages from executed notebooks, for forward, branching and portal runs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
import yaml

import timepoint as tp
from timepoint.errors import ReportError
from timepoint.report import quarto
from timepoint.report.packaged import asset
from timepoint.report.serve import serve_site
from timepoint.report.site import build_site, site_dir

from .conftest import JEFFERSON, ROOT, SCENARIOS

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)


def _page_text(path: Path) -> str:
    return path.read_text()


class _Tables(HTMLParser):
    """Tables of a page: rows of cells, a link cell given as its ``href``."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "a" and self._cell is not None:
            self._cell.append(dict(attrs).get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(self._cell[0] if self._cell else "")
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None and not self._cell:
            self._cell.append(data.strip())


def tables_of(html: str) -> list[list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def test_site_for_a_forward_run_has_its_pages_and_rebuilds_from_cache(settings, tmp_path):
    run = tp.run(JEFFERSON, settings=settings)
    site = build_site(settings=settings, renderer="nbconvert")
    assert site == tmp_path / "_site" == site_dir(settings)
    index = _page_text(site / "index.html")
    assert f'href="runs/{run.run_id}.html"' in index
    assert 'id="tp-search"' in index and 'data-scenario="jefferson_dinner"' in index
    page = _page_text(site / "runs" / f"{run.run_id}.html")
    for entity in run.record.entities:
        assert entity.name in page
    for timepoint in run.record.timepoints:
        assert timepoint.id in page
    assert page.count("data:image/svg+xml;base64,") >= 5
    assert page.count('class="tp-chart" data-spec=') >= 5, "every chart is drawn live"
    assert page.index('class="tp-chart"') < page.index("Executive summary"), "pictures first"
    assert page.count('id="Mechanisms"') == 1 and "Mechanism ledger" not in page
    assert "M11" in page and 'class="tp-toc"' in page and 'href="#Mechanisms"' in page
    assert f'href="{run.run_id}/calls.html"' in page
    dialog = run.record.dialogs[0]
    assert f'href="{run.run_id}/calls.html#subject={dialog.id}"' in page, "dialogs link calls"
    calls = _page_text(site / "runs" / run.run_id / "calls.html")
    assert calls.count('<tr class="tp-call" ') == run.record.usage.calls
    for script in ("vega.min.js", "vega-lite.min.js", "vega-embed.min.js", "charts.js"):
        assert f'src="../assets/{script}"' in page and (site / "assets" / script).is_file()
    search = _page_text(site / "assets" / "search-index.js")
    assert all(e.name.lower() in search for e in run.record.entities)
    assert f'href="{run.run_id}.ipynb"' in page and f'href="{run.run_id}/narrative.pdf"' in page
    for published in ("narrative.md", "narrative.json", "narrative.pdf", "run.json"):
        assert (site / "runs" / run.run_id / published).is_file()
    site_pdf = (site / "runs" / run.run_id / "narrative.pdf").read_bytes()
    assert site_pdf == (run.folder / "narrative.pdf").read_bytes(), "the same document"
    executed = nbformat.read(site / "runs" / f"{run.run_id}.ipynb", as_version=4)
    assert executed.metadata["timepoint"]["parameters"]["run_id"] == run.run_id
    assert (run.folder / "report.ipynb").is_file()
    assert run.run_id in _page_text(site / "costs.html")
    for html in site.rglob("*.html"):
        assert not EXTERNAL.search(html.read_text()), f"{html} links outside the site"

    cached = settings.home / ".site" / "runs" / f"{run.run_id}.ipynb"
    before = cached.stat().st_mtime_ns
    pdfs = list((settings.home / ".site" / "pdf").glob(f"{run.run_id}.*.pdf"))
    pdf_made = pdfs[0].stat().st_mtime_ns
    lines: list[str] = []
    build_site(settings=settings, renderer="nbconvert", progress=lines.append)
    assert cached.stat().st_mtime_ns == before, "an unchanged run is not executed again"
    assert pdfs[0].stat().st_mtime_ns == pdf_made, "nor is its PDF made again"
    assert any("3 of 3 report notebooks current, 0 to execute" in line for line in lines)

    server = serve_site(site, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        with urllib.request.urlopen(f"http://{host}:{port}/runs/{run.run_id}.html") as reply:
            assert reply.status == 200 and run.record.title in reply.read().decode()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_url_hash_and_row_filter_helpers_are_defined_once_in_the_shared_site_script():
    shared = asset("site.js")
    assert "window.tpHash = { read: read, write: write, shows: shows }" in shared
    assert shared.count("replaceState") == 1 and shared.count("decodeURIComponent") == 2
    for script in ("run_browser.js", "call_viewer.js"):
        source = asset(script)
        assert "window.tpHash.read()" in source and "window.tpHash.write(pairs)" in source
        assert "window.tpHash.shows(row, needle, filters)" in source, script
        assert "replaceState" not in source and "decodeURIComponent" not in source, script
        assert "dataset.text.indexOf" not in source, f"{script} filters rows itself"
    page = asset("page.html")
    assert page.index("assets/site.js") < page.index("{%- for name in scripts %}"), "loaded first"


def test_build_options_are_checked(settings):
    with pytest.raises(ReportError, match="auto, quarto, nbconvert"):
        build_site(settings=settings, renderer="latex")
    with pytest.raises(ReportError, match=r"no index\.html"):
        serve_site(settings.home)


def test_repository_quarto_config_is_the_packaged_default():
    assert yaml.safe_load((ROOT / "_quarto.yml").read_text()) == yaml.safe_load(
        asset("quarto.yaml")
    )


def test_quarto_project_is_staged_from_the_executed_notebooks(tmp_path):
    executed = tmp_path / "run.ipynb"
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Dinner")])
    nbformat.write(notebook, executed)
    (tmp_path / "_quarto.yml").write_text("website:\n  title: My runs\nproject:\n  output-dir: x\n")
    project = tmp_path / "project"
    quarto.stage_project(
        project,
        tmp_path,
        "<table id='tp-runs'></table>",
        [
            (executed, "runs/abc.ipynb", "The 1790 Compromise Dinner · abc"),
        ],
    )
    config = yaml.safe_load((project / "_quarto.yml").read_text())
    assert config["project"] == {"output-dir": "_site", "type": "website"}
    assert config["website"]["title"] == "My runs"
    index = (project / "index.qmd").read_text()
    shared = '<script src="assets/site.js"></script>'
    assert f"```{{=html}}\n<table id='tp-runs'></table>\n{shared}\n```" in index, "hash helpers"
    staged = nbformat.read(project / "runs" / "abc.ipynb", as_version=4)
    assert staged.cells[0].cell_type == "raw"
    assert staged.cells[-1].source.count('src="../assets/') == 4, "the chart scripts, no CDN"
    assert yaml.safe_load(staged.cells[0].source.strip("-\n")) == {
        "title": "The 1790 Compromise Dinner · abc"
    }


@pytest.mark.skipif(quarto.quarto_binary() is None, reason="quarto is not installed")
@pytest.mark.slow
def test_quarto_renders_the_same_pages(settings, tmp_path):
    run = tp.run(JEFFERSON, settings=settings)
    site = build_site(settings=settings, renderer="quarto", out=tmp_path / "quarto_site")
    page = (site / "runs" / f"{run.run_id}.html").read_text()
    assert all(e.name in page for e in run.record.entities)
    assert run.run_id in (site / "index.html").read_text()


@pytest.mark.slow
def test_site_for_branching_portal_batches_and_comparisons(settings):
    branching = tp.run(SCENARIOS / "showcase" / "vc_pitch_branching.yaml", settings=settings)
    portal = tp.run(SCENARIOS / "showcase" / "mars_mission_portal.yaml", settings=settings)
    other = tp.run(JEFFERSON, settings=settings, seed=3)
    first = tp.run(JEFFERSON, settings=settings)
    summary = tp.run_batch(
        tp.expand_grid(JEFFERSON, {"seed": [5], "timepoints.count": [2, 3]}),
        parallel_workers=1,
        settings=settings,
        progress=False,
    )
    site = build_site(
        settings=settings, renderer="nbconvert", compare=[(first.run_id, other.run_id)]
    )
    for run in (branching, portal):
        assert len(run.record.paths) > 1
        page = (site / "paths" / f"{run.run_id}.html").read_text()
        assert "diverge at step" in page
        assert "(#1)" in page and "(#2)" in page
        run_page = (site / "runs" / f"{run.run_id}.html").read_text()
        assert all(t.id in run_page for t in run.record.timepoints if t.timeline_id == "main")
    comparison = (site / "paths" / f"{first.run_id}_vs_{other.run_id}.html").read_text()
    assert "diverge" in comparison
    batch_page = (site / "batches" / f"{summary.batch_id}.html").read_text()
    assert f"Batch {summary.batch_id}" in batch_page and "2 completed" in batch_page
    index = (site / "index.html").read_text()
    assert index.count("<tr data-run=") == 6  # 4 runs + 2 batch runs
    assert f"batches/{summary.batch_id}.html" in index
    assert f"{summary.batch_id} · 2 jobs · seed × timepoints.count" in index, "what it sweeps"
    head, *jobs = tables_of(batch_page)[-1]
    assert head[:3] == ["#", "seed", "timepoints.count"]
    assert sorted(job[2] for job in jobs) == ["2", "3"] and {job[1] for job in jobs} == {"5"}
    for job in jobs:
        run_id = job[5].removesuffix(".html").rpartition("/")[2]
        assert job[5] == f"../runs/{run_id}.html" and job[6] == f"../runs/{run_id}.ipynb"
        assert (site / "runs" / f"{run_id}.html").is_file()
        assert (site / "runs" / f"{run_id}.ipynb").is_file()
    browser_head, *browser_rows = tables_of(index)[0]
    at = browser_head.index("timepoints.count")
    assert browser_head[at - 1] == "seed"
    by_run = {row[0].removeprefix("runs/").removesuffix(".html"): row for row in browser_rows}
    for job in jobs:
        run_id = job[5].removesuffix(".html").rpartition("/")[2]
        assert by_run[run_id][at - 1 : at + 1] == ["5", job[2]]
    assert by_run[first.run_id][at - 1 : at + 1] == [str(first.record.seed), ""]


@pytest.mark.slow
def test_cli_builds_and_serves_the_site(tmp_path):
    env = {**os.environ, "TIMEPOINT_HOME": str(tmp_path / "runs")}
    env.pop("TIMEPOINT_DB_URL", None)
    env.pop("TIMEPOINT_LLM_API_KEY", None)
    cli = [sys.executable, "-m", "timepoint.cli"]
    made = subprocess.run(
        [*cli, "run", str(JEFFERSON), "--quiet", "--report"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    assert f"report: {tmp_path / '_site' / 'index.html'}" in made.stdout
    built = subprocess.run(
        [*cli, "site", "build", "--renderer", "nbconvert", "--out", str(tmp_path / "other")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    assert str(tmp_path / "other" / "index.html") in built.stdout
    server = subprocess.Popen(
        [*cli, "site", "serve", "--port", "0"], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        line = server.stderr.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line).group(0)
        with urllib.request.urlopen(url + "index.html", timeout=10) as reply:
            assert "tp-runs" in reply.read().decode()
    finally:
        server.terminate()
        server.wait(timeout=10)
        server.stderr.close()
    missing = subprocess.run(
        [*cli, "site", "build", "--runs", "nope"], env=env, capture_output=True, text=True
    )
    assert missing.returncode == 2 and "no run 'nope'" in missing.stderr
    json.loads((tmp_path / "runs" / ".site" / "costs.ipynb").read_text())
