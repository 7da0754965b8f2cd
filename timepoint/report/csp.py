"""The Content-Security-Policy of the report site.

Every page carries its policy in a ``<meta http-equiv="Content-Security-Policy">`` (so it
holds from ``file://`` too), and ``timepoint site serve`` sends the same policy as a header.
Scripts run only when they are the site's own: the run browser's script is allowed by its
SHA-256 hash, and the site's own script files (``assets/``: search, the bundled vega-embed
that draws the charts) by ``'self'``; nothing else may run on an nbconvert page (no other
inline script, no event handler attribute, no ``javascript:`` link, no script from another
host). Vega runs without ``eval`` (its expression interpreter), so no ``'unsafe-eval'``.
Quarto pages also load Quarto's script files from the site (``'self'``) and Quarto's own
inline scripts, which are allowed by hash as found outside the page's ``<main>`` content;
inside it only the run browser's is.
Charts are drawn as inline SVG, with a ``data:`` SVG image as their fallback; styles are
inline.
"""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

from timepoint.report.packaged import asset

_COMMON = (
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
)
#: added to the header only: browsers ignore ``frame-ancestors`` in a meta element
HEADER_ONLY = "frame-ancestors 'none'"
_HEAD = re.compile(r"<head\b[^>]*>", re.I)


def script_hash(source: str) -> str:
    """The CSP source that allows an inline script whose text is ``source``."""
    digest = hashlib.sha256(source.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def site_scripts() -> tuple[str, ...]:
    """The text of the site's own inline scripts (the run browser's)."""
    return (asset("run_browser.js"),)


def policy(scripts: tuple[str, ...] = (), *, self_scripts: bool = False) -> str:
    """A policy whose only scripts are the inline ``scripts`` (by hash) and, with
    ``self_scripts``, script files of the site itself."""
    sources = (["'self'"] if self_scripts else []) + sorted({script_hash(s) for s in scripts})
    default = "'self'" if self_scripts else "'none'"
    scripts_from = " ".join(sources) or "'none'"
    return "; ".join((f"default-src {default}", f"script-src {scripts_from}", *_COMMON))


def fallback_policy() -> str:
    """The header for a served HTML file that carries no policy of its own: the site's
    script files and own inline scripts, nothing else."""
    return f"{policy(site_scripts(), self_scripts=True)}; {HEADER_ONLY}"


def page_policy() -> str:
    """The policy of the nbconvert pages: the site's own inline scripts and script files, and
    nothing else."""
    return policy(site_scripts(), self_scripts=True)


class _Scripts(HTMLParser):
    """Inline scripts of a page, each with whether it sits inside ``<main>``; and the page's
    policy from its first CSP meta element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[tuple[str, bool]] = []
        self.policy: str | None = None
        self._depth = 0
        self._current: list[str] | None = None
        self._in_main = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "main":
            self._depth += 1
        elif tag == "script" and "src" not in values:
            kind = (values.get("type") or "text/javascript").lower()
            if kind in ("text/javascript", "application/javascript", "module"):
                self._current = []
                self._in_main = self._depth > 0
        elif (
            tag == "meta"
            and self.policy is None
            and (values.get("http-equiv") or "").lower() == "content-security-policy"
        ):
            self.policy = values.get("content") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "main" and self._depth:
            self._depth -= 1
        elif tag == "script" and self._current is not None:
            self.scripts.append(("".join(self._current), self._in_main))
            self._current = None

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._current.append(data)


def _parse(html: str) -> _Scripts:
    parser = _Scripts()
    parser.feed(html)
    parser.close()
    return parser


def policy_of(html: str) -> str | None:
    """The policy a page declares in its CSP meta element, or None."""
    return _parse(html).policy


def secure_quarto_page(path: Path) -> None:
    """Give a page rendered by Quarto its policy: Quarto's script files, Quarto's inline
    scripts outside ``<main>``, and the site's own inline scripts."""
    html = path.read_text()
    if policy_of(html) is not None:
        return
    found = _parse(html).scripts
    quartos = tuple(source for source, in_main in found if not in_main)
    meta = (
        '<meta http-equiv="Content-Security-Policy" content="'
        + policy(quartos + site_scripts(), self_scripts=True).replace('"', "&quot;")
        + '">'
    )
    head = _HEAD.search(html)
    if head is None:
        html = meta + "\n" + html
    else:
        html = html[: head.end()] + "\n" + meta + html[head.end() :]
    path.write_text(html)


def secure_quarto_site(site: Path) -> None:
    """:func:`secure_quarto_page` for every HTML page of a site rendered by Quarto."""
    for page in sorted(Path(site).rglob("*.html")):
        secure_quarto_page(page)
