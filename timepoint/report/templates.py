"""The report notebooks the site executes: thin notebooks that load stored runs and show them.

Four kinds: ``run`` (one page per run), ``paths`` (two paths side by side), ``batch`` (one
page per batch) and ``costs`` (cost analytics over runs). Each has exactly one cell tagged
``parameters`` and calls :mod:`timepoint.report` for everything else. They only *read* the
store: a report never calls a model.
"""

from __future__ import annotations

from typing import Any

from timepoint.errors import ReportError

#: bump when a template or what it shows changes, so cached executed notebooks are rebuilt
TEMPLATE_VERSION = 7
HIDDEN_INPUT_TAG = "remove-input"

_IMPORTS = (
    "from timepoint import view\nfrom timepoint.report import charts, markup, tables\n"
    "from timepoint.report.embed import show_chart\n"
)

_CELLS: dict[str, list[tuple[str, str]]] = {
    "run": [
        ("parameters", 'run_id = ""\nhome = ""\ndb_url = ""\nnotebook = ""\ncalls = ""'),
        (
            "code",
            _IMPORTS + "from timepoint.report.narrative import narrative_markdown\n\n"
            "run = view.open_run(run_id, home=home, db_url=db_url)\n"
            "view.show(tables.header_markdown(run))\n"
            "show_chart(charts.timeline_spec(run))\n"
            "view.show(tables.files_markdown(run, notebook, calls))",
        ),
        (
            "code",
            "if len(run.record.timelines) > 1:\n"
            '    view.show("## Path comparisons")\n'
            "    for spec in charts.path_comparison_specs(run):\n"
            "        show_chart(spec)",
        ),
        ("markdown", "## Charts"),
        (
            "code",
            "show_chart(charts.knowledge_flow_spec(run))\n"
            "show_chart(charts.relationship_spec(run))\n"
            "show_chart(charts.fidelity_spec(run))\n"
            "show_chart(charts.cost_spec(run))",
        ),
        (
            "code",
            'view.show(narrative_markdown(run.record, "summary", heading=False, calls=calls))',
        ),
    ],
    "paths": [
        (
            "parameters",
            'run_id = ""\nother_run_id = ""\nleft = ""\nright = ""\nhome = ""\ndb_url = ""',
        ),
        (
            "code",
            _IMPORTS + "from timepoint.report.compare import compare_paths\n\n"
            "run = view.open_run(run_id, home=home, db_url=db_url)\n"
            "other = view.open_run(other_run_id, home=home, db_url=db_url) "
            "if other_run_id else None\n"
            "comparison = compare_paths(run, other, left=left or None, right=right or None)\n"
            'view.show("# Paths compared: " + markup.text(run.record.title))\n'
            "show_chart(charts.path_comparison_spec(comparison))\n"
            "view.show(tables.comparison_markdown(comparison))",
        ),
        (
            "code",
            "if other is None and not (left or right):\n"
            "    for spec in charts.path_comparison_specs(run)[1:]:\n"
            "        show_chart(spec)",
        ),
        ("markdown", "## Timelines"),
        (
            "code",
            "show_chart(charts.timeline_spec(run))\n"
            "if other is not None:\n"
            "    show_chart(charts.timeline_spec(other))",
        ),
    ],
    "batch": [
        ("parameters", 'batch_id = ""\nhome = ""\ndb_url = ""\nrun_pages = None'),
        (
            "code",
            _IMPORTS + "\nstore = view.open_store_for(home, db_url)\n"
            "batch = store.batch(batch_id)\n"
            "jobs = store.jobs(batch_id)\n"
            "view.show(tables.batch_markdown(batch, jobs))\n"
            'show_chart(charts.batch_spec(jobs, title=f"Batch {batch_id}"))\n'
            "view.show(tables.batch_jobs_markdown(jobs, pages=run_pages))",
        ),
    ],
    "costs": [
        ("parameters", 'run_ids = []\nhome = ""\ndb_url = ""'),
        (
            "code",
            _IMPORTS + "\nruns = view.open_runs(run_ids, home=home, db_url=db_url)\n"
            'view.show("# Cost analytics")\n'
            "show_chart(charts.run_costs_spec(runs))\n"
            "show_chart(charts.cost_spec(runs))\n"
            "view.show(tables.costs_markdown(runs))",
        ),
    ],
}

KINDS = tuple(_CELLS)


def report_notebook(kind: str) -> Any:
    """A fresh, unexecuted report notebook of ``kind`` (an ``nbformat`` notebook node).

    Raises:
        ReportError: ``kind`` is not one of :data:`KINDS`.
    """
    import nbformat

    if kind not in _CELLS:
        raise ReportError(f"no report notebook {kind!r}; known: {', '.join(KINDS)}")
    v4 = nbformat.v4
    cells = []
    for cell_kind, source in _CELLS[kind]:
        if cell_kind == "markdown":
            cells.append(v4.new_markdown_cell(source))
        elif cell_kind == "parameters":
            cells.append(v4.new_code_cell(source, metadata={"tags": ["parameters"]}))
        else:
            cells.append(v4.new_code_cell(source, metadata={"tags": [HIDDEN_INPUT_TAG]}))
    notebook = v4.new_notebook(cells=cells)
    notebook.metadata.update(
        {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
            "timepoint": {"report": kind, "template_version": TEMPLATE_VERSION},
        }
    )
    return notebook
