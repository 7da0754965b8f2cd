"""HTML of the site pages: the run browser, and executed notebooks turned into pages.

Notebook pages go through nbconvert's ``basic`` template (the notebook's body only: no
require.js, no MathJax, no CDN) without code inputs, wrapped in a small page with inline CSS.
The run browser is static HTML rows plus a short inline script that searches, filters and
sorts them; it works from ``file://`` as well as from a server.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from timepoint.errors import ReportError


@dataclass(frozen=True)
class NavLink:
    """A link of the navigation bar, relative to the site root."""

    label: str
    href: str


def asset(name: str) -> str:
    """The text of a packaged asset (``site.css``, ``run_browser.html``)."""
    return resources.files("timepoint.report").joinpath("assets", name).read_text()


def _options(values: Sequence[str]) -> str:
    return "".join(
        f'<option value="{html.escape(v)}">{html.escape(v)}</option>' for v in sorted(set(values))
    )


def _td(content: str, numeric: bool = False) -> str:
    return f'<td class="num">{content}</td>' if numeric else f"<td>{content}</td>"


def browser_row(summary: Any, page: str | None) -> str:
    """One ``<tr>`` of the run browser for a run summary (a ``RunSummary``); ``page`` is the
    run page's path relative to the site root, or None when the run has no page."""
    s = summary
    text = " ".join([s.run_id, s.scenario_id, s.title, s.mode, s.status]).lower()
    started = s.started.strftime("%Y-%m-%dT%H:%M:%S")
    run = (
        f'<a href="{html.escape(page)}">{html.escape(s.run_id)}</a>'
        if page
        else f'<span title="no page yet: timepoint site build --runs {html.escape(s.run_id)}">'
        f"{html.escape(s.run_id)}</span>"
    )
    attrs = {
        "run": s.run_id,
        "scenario": s.scenario_id,
        "mode": s.mode,
        "status": s.status,
        "started": started,
        "duration": f"{s.duration_s or 0:.3f}",
        "tokens": str(s.tokens_in + s.tokens_out),
        "cost": f"{s.cost_usd:.6f}",
        "text": text,
    }
    data = " ".join(f'data-{k}="{html.escape(v)}"' for k, v in attrs.items())
    tokens = s.tokens_in + s.tokens_out
    tds = "".join(
        [
            _td(run),
            _td(html.escape(s.scenario_id)),
            _td(html.escape(s.title)),
            _td(html.escape(s.mode)),
            _td(f'<span class="tp-status-{html.escape(s.status)}">{html.escape(s.status)}</span>'),
            _td(started.replace("T", " ")),
            _td(f"{s.duration_s or 0:.2f}", numeric=True),
            _td(f"{tokens:,}", numeric=True),
            _td(f"{s.cost_usd:.4f}", numeric=True),
        ]
    )
    return f"      <tr {data}>{tds}</tr>"


def run_browser(summaries: Sequence[Any], pages: dict[str, str]) -> str:
    """The run browser fragment: controls, one row per run (newest first) and its script."""
    rows = "\n".join(browser_row(s, pages.get(s.run_id)) for s in summaries)
    return (
        asset("run_browser.html")
        .replace("__SCENARIO_OPTIONS__", _options([s.scenario_id for s in summaries]))
        .replace("__MODE_OPTIONS__", _options([s.mode for s in summaries]))
        .replace("__STATUS_OPTIONS__", _options([s.status for s in summaries]))
        .replace("__COUNT__", str(len(summaries)))
        .replace("__ROWS__", rows)
    )


def link_list(title: str, links: Sequence[NavLink]) -> str:
    """A titled list of links (batches, path comparisons) for the index page."""
    if not links:
        return ""
    items = "".join(
        f'<li><a href="{html.escape(x.href)}">{html.escape(x.label)}</a></li>' for x in links
    )
    return f"<h2>{html.escape(title)}</h2>\n<ul>{items}</ul>\n"


def page(title: str, body: str, nav: Sequence[NavLink], depth: int = 0) -> str:
    """A complete HTML page: inline CSS, the navigation bar, ``body``. ``depth`` is how many
    folders below the site root the page sits (links are made relative)."""
    up = "../" * depth
    links = "".join(f'<a href="{html.escape(up + x.href)}">{html.escape(x.label)}</a>' for x in nav)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<link rel="icon" href="data:,">\n'
        f"<title>{html.escape(title)} · Timepoint</title>\n"
        f"<style>\n{asset('site.css')}</style>\n</head>\n<body>\n"
        f'<header class="tp-nav"><a class="brand" href="{up}index.html">Timepoint</a>{links}'
        f"</header>\n<main>\n{body}\n</main>\n"
        '<footer class="tp-foot">Built by <code>timepoint site build</code> from stored runs; '
        "no model was called to make these pages.</footer>\n</body>\n</html>\n"
    )


def notebook_body(path: Path) -> str:
    """The HTML body of an executed notebook: outputs only, no inputs, prompts or scripts.

    Raises:
        ReportError: nbconvert is not installed.
    """
    try:
        from nbconvert import HTMLExporter
    except ImportError as error:
        raise ReportError(
            f"building pages needs nbconvert ({error}); install the notebooks extra: "
            "pip install 'timepoint[notebooks]'"
        ) from None
    exporter = HTMLExporter(
        template_name="basic",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    body, _ = exporter.from_filename(str(path))
    return body
