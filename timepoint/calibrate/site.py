"""Calibration pages of the report site: one per question set in the store, and one of all
their questions together when there are several.

``timepoint site build`` passes these to :func:`timepoint.report.site.build_site`, which
executes the calibration notebook (:mod:`timepoint.calibrate.notebook`) for each set and links
the pages from the index under *Calibration*. A page is executed again only when the set's
questions or forecasts change.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import Any

from timepoint.calibrate.notebook import NOTEBOOK_VERSION, calibration_notebook
from timepoint.calibrate.scorecard import ALL_SETS
from timepoint.report.execute import digest_of
from timepoint.report.site import ExtraPage
from timepoint.store import open_store

SECTION = "Calibration"
#: the page of every question of the store, made when it holds more than one set (its slug
#: starts with a character set ids cannot start with, so no set's page takes it)
ALL_PAGE = "_all"


def write_notebook(folder: Path) -> Path:
    """The calibration notebook written into ``folder`` (atomically); returns its path."""
    import nbformat

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"calibration-v{NOTEBOOK_VERSION}.ipynb"
    partial = folder / f".{path.name}.partial"
    nbformat.write(calibration_notebook(), partial)
    os.replace(partial, path)
    return path


def calibration_pages(settings: Any, store: Any = None) -> list[ExtraPage]:
    """A site page per question set the store holds questions of (none: no pages)."""
    home = Path(settings.home).resolve()
    store = store if store is not None else open_store(settings.db_url, home=home)
    questions = store.questions()
    sets = sorted({q["question_set"] for q in questions if q["question_set"]})
    if not sets:
        return []
    history: dict[str, list[Any]] = defaultdict(list)  # each question's forecasts, oldest first
    for forecast in store.forecasts():
        history[forecast["question_id"]].append(forecast)
    notebook = write_notebook(home / ".site" / "templates")
    pages = []
    for name in sets:
        mine = [q for q in questions if q["question_set"] == name]
        forecasts = [history[q["question_id"]] for q in mine]
        pages.append(_page(notebook, name, name, f"Calibration · {name}", mine, forecasts))
    if len(sets) > 1:
        forecasts = [history[q["question_id"]] for q in questions]
        title = "Calibration · all question sets"
        pages.append(_page(notebook, ALL_SETS, ALL_PAGE, title, questions, forecasts))
    return pages


def _page(
    notebook: Path, question_set: str, slug: str, title: str, questions: Any, forecasts: Any
) -> ExtraPage:
    return ExtraPage(
        section=SECTION,
        folder="calibration",
        slug=slug,
        title=title,
        notebook=notebook,
        parameters={
            "questions": question_set,
            "runs_href": "../runs/{run_id}.html",
            "batches_href": "../batches/{batch_id}.html",
        },
        digest=digest_of(NOTEBOOK_VERSION, questions, forecasts),
    )
