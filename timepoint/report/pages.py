"""HTML of the site pages: the run browser, and executed notebooks turned into pages.

Pages are Jinja2 templates with autoescaping (``assets/page.html``, ``assets/run_browser.html``):
every value put into them (titles, run ids, scenario titles, links) is escaped, and no HTML is
built from strings here. Notebook pages go through nbconvert's ``basic`` template (the
notebook's body only: no require.js, no MathJax, no CDN) without code inputs; their Vega-Lite
outputs become live charts (:mod:`timepoint.report.embed`). The run browser
is static HTML rows plus a short script (``assets/run_browser.js``) that searches, filters and
sorts them; it works from ``file://`` as well as from a server. Each page carries the site's
Content-Security-Policy (:mod:`timepoint.report.csp`), which allows that script by its hash and
no other.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from markupsafe import Markup

from timepoint.errors import ReportError
from timepoint.report.csp import page_policy
from timepoint.report.embed import embed_outputs
from timepoint.report.packaged import asset
from timepoint.report.parameters import parameter_cells, parameter_columns


@dataclass(frozen=True)
class NavLink:
    """A link of the navigation bar or of a list on the index, relative to the site root."""

    label: str
    href: str


@dataclass(frozen=True)
class LinkList:
    """A titled list of links (batches, path comparisons) below the run browser."""

    title: str
    links: Sequence[NavLink]


@cache
def templates() -> Any:
    """The site's Jinja2 environment (autoescaping, templates from the packaged assets)."""
    return _templates()


@cache
def _templates() -> Any:
    try:
        import jinja2
    except ImportError as error:
        raise ReportError(
            f"building pages needs jinja2 ({error}); install the notebooks extra: "
            "pip install 'timepoint[notebooks]'"
        ) from None
    return jinja2.Environment(
        loader=jinja2.FunctionLoader(asset),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def _trusted(html: str) -> Any:
    """HTML made by this package (a packaged asset, a rendered template, nbconvert's body of
    a report notebook), to be put into a template as it is."""

    return Markup(html)


def browser_row(
    summary: Any,
    page: str | None,
    overrides: Mapping[str, Any] | None = None,
    columns: Sequence[str] = (),
) -> dict[str, Any]:
    """What the run browser shows of a run summary (a ``RunSummary``): cells and ``data-``
    attributes, as plain values; ``page`` is the run page's path relative to the site root,
    or None when the run has no page. ``overrides`` are those of the batch job that made the
    run, shown under the parameter ``columns`` (see :mod:`timepoint.report.parameters`)."""
    s = summary
    started = s.started.strftime("%Y-%m-%dT%H:%M:%S")
    tokens = s.tokens_in + s.tokens_out
    cells = parameter_cells(overrides or {}, columns)
    said = [f"{name}={cell}" for name, cell in zip(columns, cells, strict=True) if cell]
    return {
        "run": s.run_id,
        "page": page,
        "scenario": s.scenario_id,
        "title": s.title,
        "mode": s.mode,
        "status": s.status,
        "seed": str(s.seed),
        "parameters": cells,
        "started": started.replace("T", " "),
        "duration": f"{s.duration_s or 0:.2f}",
        "tokens": f"{tokens:,}",
        "cost": f"{s.cost_usd:.4f}",
        "data": {
            "run": s.run_id,
            "scenario": s.scenario_id,
            "mode": s.mode,
            "status": s.status,
            "started": started,
            "duration": f"{s.duration_s or 0:.3f}",
            "tokens": str(tokens),
            "cost": f"{s.cost_usd:.6f}",
            "seed": str(s.seed),
            "text": " ".join([s.run_id, s.scenario_id, s.title, s.mode, s.status, *said]).lower(),
        },
    }


def run_browser(
    summaries: Sequence[Any],
    pages: dict[str, str],
    parameters: Mapping[str, Mapping[str, Any]] | None = None,
) -> str:
    """The run browser fragment: controls, one row per run (newest first) and its script.
    ``parameters`` maps a run made by a batch job to that job's overrides; each override path
    becomes a column, after the seed's."""
    found = dict(parameters or {})
    columns = parameter_columns(found)
    return (
        _templates()
        .get_template("run_browser.html")
        .render(
            rows=[
                browser_row(s, pages.get(s.run_id), found.get(s.run_id), columns) for s in summaries
            ],
            parameters=columns,
            scenarios=sorted({s.scenario_id for s in summaries}),
            modes=sorted({s.mode for s in summaries}),
            statuses=sorted({s.status for s in summaries}),
            script=_trusted(asset("run_browser.js")),
        )
    )


def index_body(
    summaries: Sequence[Any],
    pages: dict[str, str],
    sections: Sequence[LinkList] = (),
    parameters: Mapping[str, Mapping[str, Any]] | None = None,
) -> str:
    """The index's content: the run browser (with the runs' ``parameters``), then titled lists
    of links (path comparisons, batches). Both builds use it (the Quarto build as the body of
    ``index.qmd``)."""
    links = _templates().get_template("link_lists.html").render(sections=sections)
    return run_browser(summaries, pages, parameters) + links


_HEADING = re.compile(r'<h2 id="([^"]+)"[^>]*>(.*?)</h2>', re.S)
_TAG = re.compile(r"<[^>]+>")


def table_of_contents(body: str) -> list[tuple[str, str]]:
    """The ``(anchor, text)`` of every second-level heading of ``body`` that has an id (as
    nbconvert gives them), in order; the text without tags and the anchor-link mark."""
    found = []
    for anchor, inner in _HEADING.findall(body):
        label = html.unescape(_TAG.sub("", inner)).replace("¶", "").strip()
        if label:
            found.append((html.unescape(anchor), label))
    return found


def page(
    title: str,
    body: str,
    nav: Sequence[NavLink],
    depth: int = 0,
    heading: str = "",
    *,
    toc: bool = False,
    scripts: Sequence[str] = (),
) -> str:
    """A complete HTML page: the site's policy, inline CSS, the navigation bar with the site
    search, an optional ``heading``, then ``body`` and, with ``toc``, a table of contents of
    its sections. ``depth`` is how many folders below the site root the page sits (links are
    made relative). The chart scripts are added when ``body`` has a chart, and ``scripts``
    (names of files under the site's ``assets/``) after the site's own.

    ``body`` is HTML made by this package (:func:`index_body`, :func:`notebook_body`) and is
    put in as it is; ``title``, ``heading`` and the links are text and are escaped.
    """

    return (
        _templates()
        .get_template("page.html")
        .render(
            title=title,
            heading=heading,
            body=_trusted(body),
            nav=nav,
            toc=table_of_contents(body) if toc else [],
            charts='class="tp-chart"' in body,
            scripts=scripts,
            up="../" * depth,
            css=_trusted(asset("site.css")),
            policy=page_policy(),
        )
    )


def shows_code(notebook: Any) -> bool:
    """Whether a notebook's page shows its code (a tutorial's does: its metadata says
    ``timepoint.show_code``); report pages show outputs only."""
    return bool(notebook.metadata.get("timepoint", {}).get("show_code"))


def notebook_body(path: Path) -> str:
    """The HTML body of an executed notebook: outputs only (and code, when it
    :func:`shows_code`), no prompts or scripts.

    Raises:
        ReportError: nbconvert is not installed.
    """
    try:
        import nbformat
        from nbconvert import HTMLExporter
    except ImportError as error:
        raise ReportError(
            f"building pages needs nbconvert ({error}); install the notebooks extra: "
            "pip install 'timepoint[notebooks]'"
        ) from None
    notebook = embed_outputs(nbformat.read(path, as_version=4))
    exporter = HTMLExporter(
        template_name="basic",
        exclude_input=not shows_code(notebook),
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    body, _ = exporter.from_notebook_node(notebook)
    return body
