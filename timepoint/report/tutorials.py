"""The tutorials on the report site: an index page and a page per tutorial, from frozen copies.

``timepoint site build`` never executes a tutorial. For each notebook in ``notebooks/tutorials``
it renders the frozen copy (:mod:`timepoint.report.freeze`) when that copy is current; when it
is missing or stale it says so in one line naming the tutorial and the command that refreezes
it, and renders the tutorial's source without outputs. Tutorial pages show their code (the
staged notebook's metadata carries ``timepoint.show_code``, which both renderers honour) and
draw their charts live like run pages. ``tutorials/index`` lists every tutorial with its title
(the notebook's first heading) and its purpose (the first sentence after it); each page and the
index are in the site search.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from timepoint.report.freeze import SOURCE_DIR, State, Tutorials, freeze_state
from timepoint.report.markup import link, no_raw_html
from timepoint.report.search_index import SearchEntry

FOLDER = "tutorials"
INDEX_TITLE = "Tutorials"
_SENTENCE = re.compile(r"(.+?[.!?])(?:\s|$)", re.S)
_FORMATTING = re.compile(r"[`*_]")
INTRO = (
    "Guided tours of Timepoint, one concept each, run with the offline model. Each page shows "
    "a tutorial's code and its outputs as they were when the tutorial was last frozen "
    "(executed by `timepoint site freeze-tutorials`); the site build does not run them. "
    f"The notebooks are in `{SOURCE_DIR.as_posix()}/`."
)


@dataclass(frozen=True)
class Tutorial:
    """What the index says of a tutorial: ``title``, one-line ``purpose`` (Markdown) and
    whether its page has outputs (``state`` of its frozen copy)."""

    name: str
    title: str
    purpose: str
    state: State

    @property
    def href(self) -> str:
        return f"{FOLDER}/{self.name}.html"


@dataclass(frozen=True)
class TutorialPages:
    """What the site build adds: ``notebooks`` as ``(staged notebook, target, page title)``
    (the index first) and their search ``entries``."""

    notebooks: list[tuple[Path, str, str]] = field(default_factory=list)
    entries: list[SearchEntry] = field(default_factory=list)


def describe(notebook: Any, name: str, state: State) -> Tutorial:
    """Title and purpose of a tutorial notebook: its first ``# `` heading and the first
    sentence of the paragraph after it (the name and nothing when it has none)."""
    markdown = next((c.source for c in notebook.cells if c.cell_type == "markdown"), "")
    lines = markdown.strip().splitlines()
    title = lines[0][2:].strip() if lines and lines[0].startswith("# ") else name
    rest = "\n".join(lines[1:]).strip().split("\n\n")[0] if lines else ""
    paragraph = " ".join(rest.split())
    sentence = _SENTENCE.match(paragraph)
    return Tutorial(name, title, sentence.group(1) if sentence else paragraph, state)


def index_notebook(tutorials: list[Tutorial]) -> Any:
    """The index page as a notebook of one Markdown cell (so both renderers build it)."""
    import nbformat

    items = []
    for t in tutorials:
        note = "" if t.state == "current" else " *(not frozen yet: shown without outputs)*"
        items.append(f"- **{link(t.title, f'{t.name}.html')}** — {no_raw_html(t.purpose)}{note}")
    source = f"# {INDEX_TITLE}\n\n{INTRO}\n\n" + "\n".join(items)
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(source)])


def _write_if_changed(notebook: Any, path: Path) -> Path:
    """Write ``notebook`` to ``path`` unless it already holds it (so its rendered body,
    cached by modification time, stays valid)."""
    import nbformat

    text = nbformat.writes(notebook)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return path


def _page_notebook(tutorials: Tutorials, name: str, state: State) -> Any:
    import nbformat

    if state == "current":
        notebook = nbformat.read(tutorials.frozen_copy(name), as_version=4)
    else:
        notebook = nbformat.read(tutorials.notebook(name), as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
    notebook.metadata.setdefault("timepoint", {})["show_code"] = True
    return notebook


def _entry(tutorial: Tutorial) -> SearchEntry:
    purpose = _FORMATTING.sub("", tutorial.purpose)
    text = " ".join(["tutorial", tutorial.title, tutorial.name, purpose]).lower()
    return SearchEntry(tutorial.title, f"tutorial · {purpose}", tutorial.href, text)


def tutorial_pages(
    tutorials: Tutorials, stage: Path, say: Callable[[str], None] | None = None
) -> TutorialPages:
    """Stage the tutorial pages under ``stage`` (the index and one notebook per tutorial, each
    rewritten only when it changed); ``say`` gets one line per tutorial whose frozen copy is
    missing or stale. No tutorials (no ``notebooks/tutorials`` folder): no pages."""
    import nbformat

    names = tutorials.names()
    if not names:
        return TutorialPages()
    found: list[Tutorial] = []
    notebooks: list[tuple[Path, str, str]] = []
    for name in names:
        state = freeze_state(tutorials, name)
        if state != "current" and say is not None:
            say(
                f"tutorial {name}: frozen copy {state}, shown without outputs; "
                f"refreeze with: {tutorials.refreeze_command(name)}"
            )
        notebook = _page_notebook(tutorials, name, state)
        tutorial = describe(nbformat.read(tutorials.notebook(name), as_version=4), name, state)
        found.append(tutorial)
        staged = _write_if_changed(notebook, stage / f"{name}.ipynb")
        notebooks.append((staged, f"{FOLDER}/{name}.ipynb", tutorial.title))
    index = _write_if_changed(index_notebook(found), stage / "index.ipynb")
    everything = " ".join(["tutorials", *(t.title for t in found)]).lower()
    return TutorialPages(
        [(index, f"{FOLDER}/index.ipynb", INDEX_TITLE), *notebooks],
        [
            SearchEntry(INDEX_TITLE, f"{len(found)} tutorials", f"{FOLDER}/index.html", everything),
            *(_entry(t) for t in found),
        ],
    )
