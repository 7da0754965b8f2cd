"""Record values in Markdown: every value a report shows is text, never markup.

Scenario files and model output (titles, names, descriptions, events, dialog, summaries) reach
the report pages through Markdown, and Markdown passes raw HTML through to the page. So every
value that goes into Markdown goes through one of these functions:

- :func:`text` for a value in running text, a heading or a table cell: HTML's special
  characters become character references (``<`` → ``&lt;``), Markdown's become backslash
  escapes, and whitespace is collapsed so a value cannot open a new block;
- :func:`paragraphs` for multi-paragraph text (a summary): :func:`text` for each paragraph;
- :func:`code` for a value shown as a code span (ids);
- :func:`link` for a link to a page of the site, its target percent-encoded.

:func:`no_raw_html` is applied by :func:`timepoint.view.show` to every Markdown string
it displays, as a second line: a ``<`` outside a code span is shown as a character, so no
Markdown given to ``show`` can make an HTML element.
"""

from __future__ import annotations

import re
from urllib.parse import quote

#: characters with a meaning in Markdown (inline syntax), escaped with a backslash
_MARKDOWN = frozenset("\\`*_[]~!")
#: characters with a meaning in HTML (or in table rows), written as character references
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "|": "&#124;"}
#: an ordered-list marker at the start of a value
_NUMBERED = re.compile(r"^(\d+)([.)])")
_BACKTICKS = re.compile(r"`+")


def text(value: object) -> str:
    """``value`` as literal Markdown text on one line: renders as the characters of
    ``str(value)`` (whitespace collapsed), with no HTML element, link or emphasis."""
    flat = " ".join(str(value).split())
    out = "".join(_escape(flat, i) for i in range(len(flat)))
    if out[:1] in ("#", "-", "+"):
        return "\\" + out  # not a heading or a list item
    return _NUMBERED.sub(r"\1\\\2", out)


def _escape(flat: str, i: int) -> str:
    ch = flat[i]
    if ch in _HTML:
        return _HTML[ch]
    if ch == "_" and flat[i - 1 : i].isalnum() and flat[i + 1 : i + 2].isalnum():
        return ch  # inside a word (``tp_000``), an underscore is not emphasis
    return "\\" + ch if ch in _MARKDOWN else ch


def paragraphs(value: object) -> str:
    """Multi-paragraph text (paragraphs separated by blank lines), each as :func:`text`."""
    parts = re.split(r"\n[ \t]*\n", str(value).strip())
    return "\n\n".join(text(p) for p in parts if p.strip())


def code(value: object) -> str:
    """``value`` as an inline code span: shown literally, whatever backticks it holds."""
    flat = " ".join(str(value).split())
    longest = max((len(run) for run in _BACKTICKS.findall(flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") or not flat.strip() else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def url(path: str) -> str:
    """A relative link target with everything but path characters percent-encoded."""
    return quote(path, safe="/.-_~#")


def link(label: object, path: str) -> str:
    """A Markdown link to ``path`` (relative, within the site) showing ``label`` as text."""
    return f"[{text(label)}]({url(path)})"


def no_raw_html(markdown: str) -> str:
    """``markdown`` with every ``<`` outside code spans and fenced code written as ``&lt;``,
    so a Markdown renderer makes no HTML element (nor autolink) from it."""
    out: list[str] = []
    fenced = False
    for line in markdown.split("\n"):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            out.append(line)
        elif fenced:
            out.append(line)
        else:
            out.append(_outside_code_spans(line))
    return "\n".join(out)


def _outside_code_spans(line: str) -> str:
    parts: list[str] = []
    position = 0
    while position < len(line):
        opening = _BACKTICKS.search(line, position)
        if opening is None:
            break
        closing = _matching_run(line, opening.end(), len(opening.group()))
        if closing is None:
            parts.append(line[position : opening.end()].replace("<", "&lt;"))
            position = opening.end()
            continue
        parts.append(line[position : opening.start()].replace("<", "&lt;"))
        parts.append(line[opening.start() : closing])
        position = closing
    parts.append(line[position:].replace("<", "&lt;"))
    return "".join(parts)


def _matching_run(line: str, start: int, length: int) -> int | None:
    """The end of the next backtick run of exactly ``length`` after ``start``, or None."""
    for run in _BACKTICKS.finditer(line, start):
        if len(run.group()) == length:
            return run.end()
    return None
