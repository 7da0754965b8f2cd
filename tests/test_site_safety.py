"""Hostile scenarios and model output on the report site: shown as text, never run as markup.

A scenario with HTML and Markdown payloads in every text field (``tests/hostile.py``), run by
a model that puts the same payloads into dialog and summaries, is built into a site with every
kind of page (slow: the build executes seven notebooks); each page is parsed and must contain
none of the payloads' elements, attributes or links, and must show the payloads as text. The
Markdown escaping itself is checked fast, against the renderer nbconvert uses. The browser
side is in ``test_site_browser.py``.
"""

from __future__ import annotations

import base64
import re
import threading
import urllib.request
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from timepoint.report import csp, markup, quarto, tables
from timepoint.report.narrative import narrative_markdown
from timepoint.report.packaged import asset
from timepoint.report.serve import serve_site
from timepoint.report.site_assets import SCRIPTS, VENDOR

from .hostile import FORBIDDEN_TAGS, HOSTILE, HOSTILE_TITLE, PAYLOADS, build_hostile_site

RUN_BROWSER_JS = asset("run_browser.js")
#: the script files a page may load: the site's own, the bundled Vega and the search index
SITE_SCRIPTS = {*SCRIPTS, *VENDOR, "search-index.js"}


class Audit(HTMLParser):
    """What a page holds: elements, attributes, scripts, links, images, policy and text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.details: list[str | None] = []
        self.handlers: list[tuple[str, str]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.links: list[str] = []
        self.images: list[str] = []
        self.policies: list[str] = []
        self.text: list[str] = []
        self._script: tuple[dict[str, str | None], list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.tags.append(tag)
        self.handlers += [(tag, name) for name, _ in attrs if name.startswith("on")]
        if tag == "details":
            self.details.append(values.get("class"))
        if tag == "script":
            self._script = (values, [])
        elif tag == "a" and values.get("href") is not None:
            self.links.append(values["href"] or "")
        elif tag == "img":
            self.images.append(values.get("src") or "")
        elif tag == "meta" and (values.get("http-equiv") or "").lower() == (
            "content-security-policy"
        ):
            self.policies.append(values.get("content") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script[0], "".join(self._script[1])))
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script[1].append(data)
        else:
            self.text.append(data)

    @property
    def visible(self) -> str:
        return " ".join(" ".join(self.text).split())


def audit(html: str) -> Audit:
    parser = Audit()
    parser.feed(html)
    parser.close()
    return parser


def assert_inert(page: Path) -> Audit:
    """``page`` has no element, attribute or link any payload would make, and its policy
    allows no script but the run browser's and the site's own files under ``assets/``."""
    found = audit(page.read_text())
    assert found.handlers == [], f"{page}: event handler attributes {found.handlers}"
    made = FORBIDDEN_TAGS & set(found.tags) - {"details"}
    assert not made, f"{page}: {made}"
    # the call viewer's own <details> carry its class; a payload's would not
    assert set(found.details) <= {"tp-call-detail"}, f"{page}: <details> {found.details}"
    assert found.tags.count("style") == 1, f"{page}: a <style> besides the site's"
    for attrs, source in found.scripts:
        if "src" in attrs:
            name = re.fullmatch(r"(?:\.\./)*assets/([a-z_.-]+\.js)", attrs["src"] or "")
            assert name and name.group(1) in SITE_SCRIPTS and not source, f"{page}: {attrs}"
        else:
            assert source == RUN_BROWSER_JS, f"{page}: script {source[:80]}"
    for href in found.links:
        assert not href.strip().lower().startswith(("javascript:", "data:")), f"{page}: {href}"
    for src in found.images:
        assert src.startswith("data:image/svg+xml;base64,") or src.startswith("data:image/png")
        if src.startswith("data:image/svg+xml;base64,"):
            assert_inert_svg(base64.b64decode(src.split(",", 1)[1]).decode())
    assert len(found.policies) == 1, f"{page}: one CSP meta element"
    script_src = next(d for d in found.policies[0].split(";") if "script-src" in d).split()
    assert script_src == ["script-src", "'self'", csp.script_hash(RUN_BROWSER_JS)]
    return found


def assert_inert_svg(svg: str) -> None:
    for element in ET.fromstring(svg).iter():
        name = element.tag.rsplit("}", 1)[-1]
        assert name not in ("script", "foreignObject", "iframe"), name
        assert not [a for a in element.attrib if a.lower().startswith("on")], element.attrib


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory):
    return build_hostile_site(tmp_path_factory.mktemp("hostile"))


@pytest.mark.slow
def test_hostile_input_is_text_on_every_page(hostile_site):
    site, first, second, batch = hostile_site
    pages = {
        "index": site / "index.html",
        "run": site / "runs" / f"{first.run_id}.html",
        "other run": site / "runs" / f"{second.run_id}.html",
        "paths": site / "paths" / f"{first.run_id}.html",
        "comparison": site / "paths" / f"{first.run_id}_vs_{second.run_id}.html",
        "batch": site / "batches" / f"{batch.batch_id}.html",
        "costs": site / "costs.html",
    }
    built = set(site.rglob("*.html"))
    assert set(pages.values()) <= built
    seen = {page: assert_inert(page) for page in sorted(built)}
    shown = {name: seen[path].visible for name, path in pages.items()}
    for payload in PAYLOADS:
        for name in ("index", "run", "paths", "comparison"):
            if name == "index" and payload not in HOSTILE_TITLE:
                continue  # the index shows titles only
            assert payload in shown[name], f"{name} page does not show {payload!r} as text"
    run_page = shown["run"]
    for entity in first.record.entities:
        assert entity.name in run_page
    dialog = first.record.dialogs[0].turns[0]
    assert dialog.text.startswith(HOSTILE), "the model's dialog carries the payload"
    assert " ".join(dialog.text.split()) in run_page
    assert first.record.summary.startswith(HOSTILE)
    assert " ".join(first.record.summary.split("\n\n")[1].split()) in run_page
    assert seen[pages["index"]].scripts[0][1] == RUN_BROWSER_JS
    assert shown["index"].count(HOSTILE_TITLE) >= 3  # the title of each run


@pytest.mark.slow
def test_narrative_markdown_renders_the_payloads_as_text(hostile_site):
    _, first, _, _ = hostile_site
    for detail in ("minimal", "summary", "comprehensive"):
        rendered = markdown2html_mistune(narrative_markdown(first.record, detail))
        found = audit(rendered)
        assert found.handlers == [] and found.scripts == []
        assert not FORBIDDEN_TAGS & set(found.tags)
        assert all(not h.lower().startswith("javascript:") for h in found.links)
        assert HOSTILE in found.visible
    published = first.folder / "narrative.md"
    assert "<script>" not in published.read_text()


@pytest.mark.parametrize("payload", PAYLOADS)
def test_markup_text_renders_exactly_the_characters(payload):
    for value in (payload, f"# {payload}", f"1. {payload}", f"- {payload} _x_ *y* ~~z~~ \\"):
        found = audit(markdown2html_mistune(markup.text(value)))
        assert found.tags == ["p"] and found.visible == value
        cell = markdown2html_mistune(f"| a | b |\n|---|---|\n| {markup.text(value)} | x |")
        assert audit(cell).visible == f"a b {value} x"
    found = audit(markdown2html_mistune(markup.code(payload)))
    assert found.tags == ["p", "code"] and found.visible == payload
    linked = audit(markdown2html_mistune(markup.link(payload, f"runs/{payload}.html")))
    assert linked.tags == ["p", "a"] and linked.visible == payload
    assert linked.links[0].startswith("runs/%") and "<" not in linked.links[0]


def test_show_lets_no_markdown_through_as_html():
    assert markup.no_raw_html("<script>x</script> `<b>` ``a`<i>`` <") == (
        "&lt;script>x&lt;/script> `<b>` ``a`<i>`` &lt;"
    )
    fenced = "```\n<b>kept as code</b>\n```\n<b>"
    assert markup.no_raw_html(fenced) == "```\n<b>kept as code</b>\n```\n&lt;b>"
    rendered = audit(markdown2html_mistune(markup.no_raw_html(HOSTILE)))
    assert rendered.scripts == [] and rendered.handlers == []
    assert not FORBIDDEN_TAGS & set(rendered.tags)


@pytest.mark.slow
def test_model_answers_are_text_in_tables(hostile_site):
    _, first, _, _ = hostile_site
    from timepoint.world.record import Answer

    answer = Answer(
        question=HOSTILE,
        entity_id=None,
        timepoint_id=None,
        kind="general",
        text=HOSTILE,
        citations=[HOSTILE],
        elevated=[HOSTILE],
    )
    found = audit(markdown2html_mistune(tables.answer_markdown(answer)))
    assert found.scripts == [] and found.handlers == [] and HOSTILE in found.visible
    found = audit(markdown2html_mistune(tables.header_markdown(first)))
    assert found.tags[0] == "h1" and HOSTILE_TITLE in found.visible and found.handlers == []


def test_quarto_pages_get_a_policy_for_quartos_scripts_only(tmp_path):
    page = tmp_path / "page.html"
    quartos = "window.quarto = 1;"
    page.write_text(
        "<!DOCTYPE html><html><head><title>t</title>"
        f'<script src="site_libs/quarto.js"></script><script>{quartos}</script></head>'
        f'<body><main id="quarto-document-content"><script>{RUN_BROWSER_JS}</script>'
        "<script>window.__pwned = 1</script></main>"
        '<script type="application/json">{"not": "run"}</script></body></html>'
    )
    csp.secure_quarto_page(page)
    policy = csp.policy_of(page.read_text())
    script_src = next(d for d in policy.split("; ") if d.startswith("script-src")).split()[1:]
    assert sorted(script_src) == sorted(
        ["'self'", csp.script_hash(quartos), csp.script_hash(RUN_BROWSER_JS)]
    )
    assert page.read_text().startswith("<!DOCTYPE html><html><head>\n<meta http-equiv")
    before = page.read_text()
    csp.secure_quarto_page(page)
    assert page.read_text() == before, "a page with a policy is left as it is"


@pytest.mark.slow
def test_serve_sends_the_pages_policy_and_nosniff(hostile_site):
    site, first, _, _ = hostile_site
    server = serve_site(site, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        base = f"http://{host}:{port}"
        for path in ("/", "/index.html", f"/runs/{first.run_id}.html"):
            with urllib.request.urlopen(base + path) as reply:
                header = reply.headers["Content-Security-Policy"]
                assert header == csp.page_policy() + "; frame-ancestors 'none'"
                assert reply.headers["X-Content-Type-Options"] == "nosniff"
        with urllib.request.urlopen(f"{base}/runs/{first.run_id}/run.json") as reply:
            assert reply.headers["Content-Security-Policy"] is None
            assert reply.headers["X-Content-Type-Options"] == "nosniff"
        (site / "bare.html").write_text("<p>no policy</p>")
        with urllib.request.urlopen(f"{base}/bare.html") as reply:
            assert reply.headers["Content-Security-Policy"] == csp.fallback_policy()
    finally:
        (site / "bare.html").unlink(missing_ok=True)
        server.shutdown()
        server.server_close()
        thread.join()


def test_quarto_index_keeps_a_title_with_backticks_inside_its_raw_block(tmp_path):
    index = "<td>a\n````\n&lt;b&gt;</td>"
    quarto.stage_project(tmp_path / "project", tmp_path, index, [])
    staged = (tmp_path / "project" / "index.qmd").read_text()
    assert f'`````{{=html}}\n{index}\n<script src="assets/site.js"></script>\n`````\n' in staged
    front = quarto.front_matter_cell("<script>x</script> *y*").source
    assert "&lt;script&gt;x&lt;/script&gt; \\*y\\*" in front
