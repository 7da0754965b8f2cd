"""The calibration report notebook: one ``parameters`` cell, a body that calls
:mod:`timepoint.calibrate.report`. ``notebooks/calibration.ipynb`` is this notebook (a test
keeps the two the same); the site executes it once per question set.
"""

from __future__ import annotations

from typing import Any

#: bump when the cells change, so the site executes calibration pages again
NOTEBOOK_VERSION = 5

INTRO = """# Calibration report
How well one question set's ensemble probabilities match what happened: each question's latest
forecast with its interval, reliability diagrams, the scores, forecasts against market prices,
the runs behind every forecast, and how forecasts and scores moved over time. The next cell's
parameters choose the set (papermill: `-p questions questions/library.yaml`)."""

PARAMETERS = """# a question-set file (from here or the project root), a set id, or "*" for all sets
questions = "questions/library.yaml"
# when above 0, forecast every question from n runs first (offline unless a key is set)
n = 0
# TIMEPOINT_HOME and store URL to read instead of the environment's
home = ""
db_url = ""
# link patterns of run and batch pages, e.g. ../runs/{run_id}.html (empty: no links)
runs_href = ""
batches_href = \"\""""

CELLS: tuple[tuple[str, str], ...] = (
    ("markdown", INTRO),
    ("parameters", PARAMETERS),
    (
        "code",
        "from timepoint import view\n"
        "from timepoint.calibrate import over_time, report\n\n"
        "# a question-set file is found from here or the project root; a set id is kept\n"
        'path = view.project_path(questions) if questions.endswith((".yaml", ".yml")) '
        "else questions\n"
        "card = report.open_scorecard(path, home=home, db_url=db_url, n=n)\n"
        "view.show(report.summary_markdown(card))",
    ),
    ("markdown", "## Forecasts"),
    ("code", "view.show(report.forecasts_spec(card))"),
    ("markdown", "## Reliability"),
    (
        "code",
        'view.show(report.reliability_spec(card, "uniform"))\n'
        'view.show(report.reliability_spec(card, "quantile"))',
    ),
    ("markdown", "## Scores"),
    ("code", "view.show(report.scores_markdown(card))"),
    ("markdown", "## Forecasts against markets"),
    ("code", "view.show(report.market_spec(card))"),
    ("markdown", "## Questions and the runs behind them"),
    ("code", "view.show(report.questions_markdown(card, batches_href))"),
    ("markdown", "Every run behind each question's latest forecast:"),
    ("code", "view.show(report.runs_markdown(card, runs_href, batches_href))"),
    ("markdown", "## Over time"),
    ("code", "view.show(over_time.history_spec(card))"),
    (
        "code",
        "view.show(over_time.scores_by_month_spec(card))\nview.show(report.history_markdown(card))",
    ),
)


def calibration_notebook() -> Any:
    """The notebook as an ``nbformat`` node (needs the notebooks extra)."""
    import nbformat

    cells = []
    for kind, source in CELLS:
        if kind == "markdown":
            cells.append(nbformat.v4.new_markdown_cell(source))
        elif kind == "parameters":
            cells.append(nbformat.v4.new_code_cell(source, metadata={"tags": ["parameters"]}))
        else:
            cells.append(nbformat.v4.new_code_cell(source))
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    notebook.metadata["language_info"] = {"name": "python"}
    return notebook
