"""The Quarto build of the site: a Quarto website project made of the executed notebooks.

The project is staged beside the executed notebooks; its ``_quarto.yml`` is the site root's
``_quarto.yml`` when there is one (so title, theme and navbar can be edited there), else the
packaged default. Quarto renders the notebooks as they are (``execute: enabled: false``,
``freeze: true``): tutorial pages are staged from their frozen copies, never executed. Navbar
entries whose page was not staged (the tutorials, in a project without them) are dropped.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from timepoint.errors import ReportError
from timepoint.report.embed import embed_outputs
from timepoint.report.markup import text
from timepoint.report.packaged import asset
from timepoint.report.pages import shows_code


def quarto_binary() -> str | None:
    """The ``quarto`` executable on PATH, or None."""
    return shutil.which("quarto")


def quarto_config(site_root: Path) -> dict[str, Any]:
    """``<site_root>/_quarto.yml`` if it exists, else the packaged default, with the output
    folder the builder expects."""
    source = site_root / "_quarto.yml"
    text = source.read_text() if source.is_file() else asset("quarto.yaml")
    config = yaml.safe_load(text) or {}
    project = config.setdefault("project", {})
    project["type"] = "website"
    project["output-dir"] = "_site"
    return config


def front_matter_cell(title: str, code: bool = False) -> Any:
    """A raw cell carrying the page title (and, with ``code``, ``echo: true`` so the page
    shows its code), the way Quarto reads front matter from a notebook.

    Pandoc reads metadata strings as Markdown, so the title goes in as Markdown text."""
    import nbformat

    matter: dict[str, Any] = {"title": text(title)}
    if code:
        matter["echo"] = True
    return nbformat.v4.new_raw_cell("---\n" + yaml.safe_dump(matter) + "---")


def keep_staged_navbar(config: dict[str, Any], staged: set[str]) -> dict[str, Any]:
    """``config`` with navbar entries whose ``href`` is a page of the project but was not
    staged removed (entries linking elsewhere are kept)."""
    navbar = (config.get("website") or {}).get("navbar") or {}
    for side in ("left", "right"):
        items = navbar.get(side)
        if isinstance(items, list):
            navbar[side] = [
                item
                for item in items
                if not isinstance(item, dict)
                or not str(item.get("href", "")).endswith((".ipynb", ".qmd"))
                or item["href"] in staged
            ]
    return config


def chart_scripts_cell(depth: int) -> Any:
    """A raw HTML cell loading the site's chart scripts (``assets/``, ``depth`` folders up),
    which draw the charts :func:`~timepoint.report.embed.embed_outputs` left in the page."""
    import nbformat

    up = "../" * depth
    tags = "".join(
        f'<script src="{up}assets/{name}"></script>'
        for name in ("vega.min.js", "vega-lite.min.js", "vega-embed.min.js", "charts.js")
    )
    return nbformat.v4.new_raw_cell(tags, metadata={"raw_mimetype": "text/html"})


def stage_project(
    project: Path,
    site_root: Path,
    index_html: str,
    notebooks: Sequence[tuple[Path, str, str]],
) -> None:
    """Write the Quarto project: ``_quarto.yml``, ``index.qmd`` and each executed notebook
    (``(source, relative target, page title)``) with a front-matter cell added."""
    import nbformat

    if project.exists():
        shutil.rmtree(project)
    project.mkdir(parents=True)
    staged = {"index.qmd", *(target for _, target, _ in notebooks)}
    config = keep_staged_navbar(quarto_config(site_root), staged)
    (project / "_quarto.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    # the raw block's fence is longer than any run of backticks in the (escaped) index, so
    # no value can close it and be read as Markdown
    fence = "`" * max(3, 1 + max((len(r) for r in re.findall(r"`+", index_html)), default=0))
    # the run browser's inline script uses the URL-hash helpers of the site's script
    shared = '<script src="assets/site.js"></script>'
    (project / "index.qmd").write_text(
        f'---\ntitle: "Runs"\n---\n\n{fence}{{=html}}\n{index_html}\n{shared}\n{fence}\n'
    )
    for source, target, title in notebooks:
        notebook = embed_outputs(nbformat.read(source, as_version=4))
        notebook.cells.insert(0, front_matter_cell(title, code=shows_code(notebook)))
        notebook.cells.append(chart_scripts_cell(len(Path(target).parts) - 1))
        path = project / target
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, path)


def render(project: Path, out: Path) -> None:
    """``quarto render`` the staged project and move its ``_site`` to ``out``.

    Raises:
        ReportError: Quarto is missing or failed (its output is in the message).
    """
    binary = quarto_binary()
    if binary is None:
        raise ReportError(
            "quarto is not on PATH; install it from quarto.org or build with "
            "renderer='nbconvert' (the default when quarto is missing)"
        )
    result = subprocess.run(
        [binary, "render", str(project), "--no-execute"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip()[-2000:]
        raise ReportError(f"quarto render {project} failed ({result.returncode}): {tail}")
    rendered = project / "_site"
    if out.exists():
        shutil.rmtree(out)
    shutil.move(str(rendered), str(out))
