"""What notebooks call: open a stored run, show charts and text, one line per cell.

Charts are shown as a display bundle (:func:`timepoint.report.charts.chart_bundle`): the
Vega-Lite specification, which JupyterLab draws interactively even in an untrusted notebook, and
a static SVG (rendered by vl-convert) that nbconvert pages, GitHub and other viewers show. No
output needs JavaScript, HTML or a CDN.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from timepoint.engine.run import load_run
from timepoint.engine.runner import run
from timepoint.engine.session import environment
from timepoint.errors import RunNotFound
from timepoint.kernel.progress import NullProgress
from timepoint.report.charts import chart_bundle
from timepoint.report.markup import no_raw_html
from timepoint.settings import project_root
from timepoint.store import open_store


def settings_for(home: str | Path | None = "", db_url: str | None = "") -> Any:
    """Settings from the environment, with ``home`` / ``db_url`` overriding when given.

    Without either, the store is the same from every folder of the project (``runs/`` in the
    project root, or ``TIMEPOINT_HOME``): see :func:`timepoint.settings.project_root`.
    """

    settings = environment()
    changes: dict[str, Any] = {}
    if home:
        changes["home"] = Path(home)
        changes["home_source"] = "the notebook's home parameter"
    if db_url:
        changes["db_url"] = db_url
    return settings.model_copy(update=changes) if changes else settings


def _announce(settings: Any, home: str | Path | None, db_url: str | None = "") -> None:
    """Print which store was found (``store: …``) unless the caller named it (``home`` or
    ``db_url``), as the report site's notebooks do: their pages show no local paths."""
    if not home and not db_url:
        print(settings.describe_store())


def open_store_for(home: str | Path | None = "", db_url: str | None = "") -> Any:
    """The run store of :func:`settings_for` ``(home, db_url)``."""

    settings = settings_for(home, db_url)
    return open_store(settings.db_url, home=Path(settings.home))


def open_run(run_id: str = "", home: str | Path | None = "", db_url: str | None = "") -> Any:
    """A stored run by id (or unique prefix); the newest stored run when ``run_id`` is empty.

    Raises:
        RunNotFound: no stored run matches (or the store is empty).
    """

    settings = settings_for(home, db_url)
    _announce(settings, home, db_url)
    store = open_store_for(home, db_url)
    if not run_id:
        newest = store.list_runs(limit=1)
        if not newest:
            raise RunNotFound(
                f"the store at {settings.db} holds no runs; run a scenario first "
                "(timepoint run scenarios/showcase/jefferson_dinner.yaml)"
            )
        run_id = newest[0].run_id
    return load_run(run_id, store=store, settings=settings)


def open_runs(
    run_ids: list[str] | None = None, home: str | Path | None = "", db_url: str | None = ""
) -> list[Any]:
    """Stored runs by id, oldest first; every stored run when ``run_ids`` is empty."""

    settings = settings_for(home, db_url)
    _announce(settings, home, db_url)
    store = open_store_for(home, db_url)
    ids = list(run_ids or [])
    if not ids:
        ids = [s.run_id for s in reversed(store.list_runs())]
    return [load_run(i, store=store, settings=settings) for i in ids]


def show(item: Any, caption: str = "") -> None:
    """Display a chart (altair chart or Vega-Lite spec, as Vega-Lite plus a static SVG),
    Markdown text, or anything else IPython can display.

    Markdown may format, link and make tables, but never HTML: a ``<`` outside code spans is
    shown as the character (:func:`timepoint.report.markup.no_raw_html`). Values from a run
    belong in the Markdown as :func:`timepoint.report.markup.text`, as the
    :mod:`~timepoint.report.tables` functions put them.
    """
    from IPython.display import Markdown, display

    if _is_chart(item) or _is_spec(item):
        display(chart_bundle(item, caption), raw=True)
    elif isinstance(item, str):
        display(Markdown(no_raw_html(item)))
    else:
        display(item)


def _is_chart(item: Any) -> bool:
    return type(item).__module__.startswith("altair.")


def _is_spec(item: Any) -> bool:
    views = {"mark", "layer", "hconcat", "vconcat", "facet"}
    return isinstance(item, dict) and bool(views & set(item))


def project_path(path: str | Path) -> Path:
    """``path`` as given when that file exists, else the same path under the project root, so
    ``scenarios/showcase/jefferson_dinner.yaml`` or ``questions/library.yaml`` work from the
    repository folder and from ``notebooks/`` alike."""

    given = Path(path)
    found = project_root()
    if given.exists() or given.is_absolute() or found is None:
        return given
    return found[0] / given


def scenario_path(scenario: str | Path) -> Path:
    """A scenario file found by :func:`project_path`."""
    return project_path(scenario)


def run_scenario(
    scenario: str,
    seed: int | None = None,
    model: str = "",
    budget: float | None = None,
    home: str = "",
) -> Any:
    """Run a scenario from a notebook: ``model`` forces one model id for every action,
    ``budget`` caps the run's cost in USD; the offline model is used without an API key.
    ``scenario`` may be relative to the current folder or to the project root."""

    settings = settings_for(home)
    _announce(settings, home)
    overrides: dict[str, Any] = {}
    if model:
        overrides["models.model"] = model
    if budget is not None:
        overrides["budget.max_usd"] = float(budget)
    return run(
        scenario_path(scenario),
        seed=seed,
        overrides=overrides or None,
        settings=settings,
        progress=NullProgress(),
    )
