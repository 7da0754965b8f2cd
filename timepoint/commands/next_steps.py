"""What to type next, printed after ``timepoint run``: commands spelled the way this shell can
run them (``.venv/bin/timepoint`` when the virtualenv is not active), with the run's real id.

A helper of :mod:`timepoint.commands.run`, not a sub-command.
"""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

from timepoint.settings import project_root
from timepoint.world.record import RunRecord


def program(argv0: str | None = None, cwd: Path | None = None) -> str:
    """How to invoke the ``timepoint`` being run: ``timepoint`` when that name on ``PATH`` is
    this program, else its path (relative to ``cwd`` when inside it), or ``python -m
    timepoint.cli`` when run as a module."""
    here = (cwd or Path.cwd()).resolve()
    launched = Path(argv0 if argv0 is not None else sys.argv[0])
    if launched.name != "timepoint":
        return f"{_shown(Path(sys.executable), here)} -m timepoint.cli"
    on_path = shutil.which("timepoint")
    if on_path and Path(on_path).resolve() == launched.resolve():
        return "timepoint"
    return _shown(launched, here)


def _shown(path: Path, cwd: Path) -> str:
    absolute = path if path.is_absolute() else cwd / path
    try:
        return str(absolute.relative_to(cwd))
    except ValueError:
        return str(absolute)


def next_steps(record: RunRecord, command: str, report: bool, cwd: Path | None = None) -> list[str]:
    """Commands worth running from ``cwd`` after ``record`` was stored (the JupyterLab one
    when the project has ``notebooks/explore_run.ipynb``)."""
    here = (cwd or Path.cwd()).resolve()
    steps = []
    if report:
        steps.append(f"{command} site serve    # the report site on http://127.0.0.1")
    steps.append(f"{command} runs    # the stored runs")
    if record.entities and record.timepoints:
        who, when = record.entities[0].id, record.timepoints[-1].id
        question = f"What did {who} know at {when}, and from whom?"
        steps.append(f"{command} ask {record.run_id} {shlex.quote(question)}")
    found = project_root(here)
    notebook = found[0] / "notebooks" / "explore_run.ipynb" if found else None
    if notebook is not None and notebook.is_file():
        first = command.split()[0]
        jupyter = Path(first).parent / "jupyter" if "/" in first else Path("jupyter")
        shown = _shown(notebook, here)
        steps.append(f"{jupyter} lab {shown}    # explore the newest run in JupyterLab")
    return steps
