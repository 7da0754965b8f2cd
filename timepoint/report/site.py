"""Building the report site from stored runs: ``timepoint site build`` and ``build_site``.

Where things go (``home`` is ``TIMEPOINT_HOME``, default ``./runs``):

- the site: ``_site/`` in the folder that contains ``home`` (``./_site`` by default), or
  ``out`` when given;
- executed report notebooks: ``<home>/.site/`` (the cache; a notebook is re-executed only
  when what it shows changed) and a copy as ``<home>/<run_id>/report.ipynb``;
- site configuration: ``_quarto.yml`` beside ``_site/`` when present, else a packaged default.

Pages: ``index.html`` (run browser with search, filters and sorting kept in the URL),
``runs/<run_id>.html`` (the timeline first, then narrative, charts, costs, links to the
narrative files, the executed notebook and the call viewer ``runs/<run_id>/calls.html``),
``paths/<id>.html`` (path comparisons), ``batches/<batch_id>.html``, ``costs.html`` and
``tutorials/`` (the tutorials' frozen copies, :mod:`timepoint.report.tutorials`);
pages that higher layers add (:class:`ExtraPage`: calibration reports, say) under their own
folder, linked from the index; every
page has the site search (``assets/search-index.js``) and live charts (``assets/``, bundled).

A rebuild is incremental: a report notebook is executed again only when its inputs (the run's
record and files, the notebook template) changed, and the site's PDF of a run is kept under
``<home>/.site/pdf/`` until the run changes. ``progress`` gets a line per stage.

With ``quarto`` on PATH the pages are rendered by Quarto, otherwise by
nbconvert; both render the same executed notebooks, and neither calls a model.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from timepoint.errors import ReportError
from timepoint.report import call_viewer, quarto, site_pdf
from timepoint.report.csp import secure_quarto_site
from timepoint.report.execute import ReportJob, digest_of
from timepoint.report.freeze import Tutorials
from timepoint.report.pages import LinkList, NavLink, index_body, notebook_body, page, templates
from timepoint.report.parameters import run_parameters, swept_parameters
from timepoint.report.quarto import quarto_binary
from timepoint.report.search_index import SearchEntry, index_script, run_entry
from timepoint.report.site_assets import publish_assets
from timepoint.report.tutorials import tutorial_pages
from timepoint.report.workers import execute_reports
from timepoint.settings import Settings
from timepoint.store import open_store

RENDERERS = ("auto", "quarto", "nbconvert")
RUN_FILES = ("narrative.md", "narrative.json", "narrative.pdf", "run.json", "scenario.yaml")
NAV = (NavLink("Runs", "index.html"), NavLink("Costs", "costs.html"))
TUTORIALS_NAV = NavLink("Tutorials", "tutorials/index.html")


@dataclass(frozen=True)
class ExtraPage:
    """A page a higher layer adds to the site: a notebook file executed with ``parameters``
    (plus ``home`` and ``db_url``) into ``<folder>/<slug>.html``, listed on the index under
    ``section``. ``digest`` names its inputs, so it is executed again only when they change."""

    section: str
    folder: str
    slug: str
    title: str
    notebook: Path
    parameters: dict[str, Any] = field(default_factory=dict)
    digest: str = ""


def site_dir(settings: Settings) -> Path:
    """Where the site is built: ``_site`` in the parent folder of ``TIMEPOINT_HOME``."""
    return Path(settings.home).resolve().parent / "_site"


def _pages(stage: Path, folder: str, store_ids: set[str] | None = None) -> list[Path]:
    found = sorted((stage / folder).glob("*.ipynb")) if (stage / folder).is_dir() else []
    return [
        p
        for p in found
        if not p.name.endswith(".failed.ipynb")
        and (store_ids is None or p.stem.split("_vs_")[0] in store_ids)
    ]


class SiteBuilder:
    """One build of the site; :func:`build_site` is the way to use it."""

    def __init__(
        self,
        settings: Any,
        out: Path | None,
        workers: int | None,
        refresh: bool,
        extra: Sequence[ExtraPage] = (),
        progress: Callable[[str], None] | None = None,
        tutorials: Tutorials | None = None,
    ):

        self.settings = settings
        self.home = Path(settings.home).resolve()
        self.db_url = settings.db_url or f"sqlite:///{self.home / 'timepoint.db'}"
        self.store = open_store(self.db_url, home=self.home)
        self.out = (out or site_dir(settings)).resolve()
        self.stage = self.home / ".site"
        self.workers = workers
        self.refresh = refresh
        self.extra = list(extra)
        self.progress = progress or (lambda line: None)
        self.started = time.monotonic()
        self.records: dict[str, Any] = {}
        self.tutorials = tutorials or Tutorials.of(self.home.parent)
        self.nav: tuple[NavLink, ...] = NAV

    def say(self, line: str) -> None:
        self.progress(f"[{time.monotonic() - self.started:6.1f} s] {line}")

    def record(self, run_id: str) -> Any:
        if run_id not in self.records:
            self.records[run_id] = self.store.load_run(run_id)
        return self.records[run_id]

    def _params(self, **extra: Any) -> dict[str, Any]:
        return {**extra, "home": str(self.home), "db_url": self.db_url}

    def run_jobs(self, run_id: str) -> list[ReportJob]:
        """The run page of ``run_id`` and, when it has several timelines, its paths page."""
        record = self.record(run_id)
        state = record.model_dump_json()
        folder = self.home / run_id
        files = [name for name in RUN_FILES if (folder / name).is_file()]
        jobs = [
            ReportJob(
                "run",
                self.stage / "runs" / f"{run_id}.ipynb",
                self._params(
                    run_id=run_id, notebook=f"{run_id}.ipynb", calls=f"{run_id}/calls.html"
                ),
                digest_of(state, files),
            )
        ]
        if (folder / "narrative.pdf").is_file():
            jobs.append(site_pdf.pdf_job(self.stage, record, folder, self.home, self.db_url))
        if len(record.timelines) > 1:
            jobs.append(
                ReportJob(
                    "paths",
                    self.stage / "paths" / f"{run_id}.ipynb",
                    self._params(run_id=run_id),
                    digest_of(state),
                )
            )
        return jobs

    def jobs(
        self, run_ids: list[str], compare: Sequence[tuple[str, str]], paged: set[str]
    ) -> list[ReportJob]:
        """The report notebooks of this build; ``paged`` holds the runs that will have a page
        (a batch page links only those)."""
        jobs = [job for run_id in run_ids for job in self.run_jobs(run_id)]
        for a, b in compare:
            a, b = self.store.resolve_run_id(a), self.store.resolve_run_id(b)
            states = [self.store.load_run(r).model_dump_json() for r in (a, b)]
            jobs.append(
                ReportJob(
                    "paths",
                    self.stage / "paths" / f"{a}_vs_{b}.ipynb",
                    self._params(run_id=a, other_run_id=b),
                    digest_of(*states),
                )
            )
        for batch in self.store.batches():
            batch_id = batch["batch_id"]
            batch_jobs = self.store.jobs(batch_id)
            pages = sorted({j["run_id"] for j in batch_jobs if j.get("run_id") in paged})
            jobs.append(
                ReportJob(
                    "batch",
                    self.stage / "batches" / f"{batch_id}.ipynb",
                    self._params(batch_id=batch_id, run_pages=pages),
                    digest_of(batch, batch_jobs, pages),
                )
            )
        for extra in self.extra:
            jobs.append(
                ReportJob(
                    extra.folder,
                    self._extra_output(extra),
                    self._params(**extra.parameters),
                    extra.digest,
                    extra.notebook,
                )
            )
        summaries = [(s.run_id, s.status, s.cost_usd, s.llm_calls) for s in self.store.list_runs()]
        jobs.append(
            ReportJob(
                "costs", self.stage / "costs.ipynb", self._params(run_ids=[]), digest_of(summaries)
            )
        )
        return jobs

    def _extra_output(self, extra: ExtraPage) -> Path:
        return self.stage / extra.folder / f"{extra.slug}.ipynb"

    def keep_in_run_folders(self, run_ids: list[str]) -> None:
        for run_id in run_ids:
            folder = self.home / run_id
            executed = self.stage / "runs" / f"{run_id}.ipynb"
            if folder.is_dir() and executed.is_file():
                temporary = folder / ".report.ipynb.partial"
                shutil.copyfile(executed, temporary)
                os.replace(temporary, folder / "report.ipynb")

    def build(
        self,
        run_ids: Sequence[str] | None,
        compare: Sequence[tuple[str, str]],
        renderer: str,
    ) -> Path:
        summaries = self.store.list_runs()
        known = {s.run_id for s in summaries}
        selected = [self.store.resolve_run_id(r) for r in run_ids] if run_ids else sorted(known)
        self.say(f"{len(known)} stored runs, pages for {len(selected)}")
        paged = set(selected) | {p.stem for p in _pages(self.stage, "runs", known)}
        jobs = self.jobs(selected, compare, paged)
        if self.refresh:
            jobs = [replace(job, digest="") for job in jobs]
        execute_reports(jobs, workers=self.workers, progress=self.say)
        self.keep_in_run_folders(selected)
        runs = _pages(self.stage, "runs", known)
        paths = _pages(self.stage, "paths", known)
        batches = _pages(self.stage, "batches")
        pages = {p.stem: f"runs/{p.stem}.html" for p in runs}
        titles = {s.run_id: s.title for s in summaries}
        comparisons = [
            NavLink(p.stem.replace("_vs_", " vs "), f"paths/{p.stem}.html") for p in paths
        ]
        batch_links = [NavLink(self.batch_label(p.stem), f"batches/{p.stem}.html") for p in batches]
        sections: dict[str, list[NavLink]] = {}
        for extra in self.extra:
            href = f"{extra.folder}/{extra.slug}.html"
            sections.setdefault(extra.section, []).append(NavLink(extra.title, href))
        index = index_body(
            summaries,
            pages,
            [
                LinkList("Path comparisons", comparisons),
                LinkList("Batches", batch_links),
                *(LinkList(title, links) for title, links in sections.items()),
            ],
            run_parameters(self.store, sorted(known)),
        )
        notebooks = [
            *((p, f"runs/{p.name}", f"{titles.get(p.stem, p.stem)} · {p.stem}") for p in runs),
            *((p, f"paths/{p.name}", f"Paths · {p.stem.replace('_vs_', ' vs ')}") for p in paths),
            *((p, f"batches/{p.name}", f"Batch {p.stem}") for p in batches),
            (self.stage / "costs.ipynb", "costs.ipynb", "Cost analytics"),
            *((self._extra_output(e), f"{e.folder}/{e.slug}.ipynb", e.title) for e in self.extra),
        ]
        tutorials = tutorial_pages(self.tutorials, self.stage / "tutorials", self.say)
        notebooks += tutorials.notebooks
        self.nav = (*NAV, TUTORIALS_NAV) if tutorials.notebooks else NAV
        staging = self.out.parent / f".{self.out.name}.partial"
        if staging.exists():
            shutil.rmtree(staging)
        self.say(f"rendering {len(notebooks) + 1} pages")
        if renderer == "quarto" or (renderer == "auto" and _has_quarto()):
            project = self.stage / "quarto"
            quarto.stage_project(project, self.out.parent, index, notebooks)
            quarto.render(project, staging)
            secure_quarto_site(staging)
        else:
            self.render_nbconvert(staging, index, notebooks)
        self.publish_files(staging, [p.stem for p in runs])
        self.publish_call_viewers(staging, [p.stem for p in runs])
        publish_assets(staging)
        entries = [self.search_entry(s, pages) for s in summaries]
        entries += [SearchEntry(b.label, "batch", b.href, b.label.lower()) for b in batch_links]
        entries += [
            SearchEntry(c.label, "path comparison", c.href, c.label.lower()) for c in comparisons
        ]
        entries += tutorials.entries
        (staging / "assets" / "search-index.js").write_text(index_script(entries))
        self.say(f"site written: {self.out}")
        if self.out.exists():
            shutil.rmtree(self.out)
        os.replace(staging, self.out)
        return self.out

    def render_nbconvert(
        self, staging: Path, index: str, notebooks: Sequence[tuple[Path, str, str]]
    ) -> None:
        staging.mkdir(parents=True)
        (staging / "index.html").write_text(page("Runs", index, self.nav, heading="Runs"))
        for source, target, title in notebooks:
            html_path = staging / Path(target).with_suffix(".html")
            html_path.parent.mkdir(parents=True, exist_ok=True)
            depth = len(Path(target).parts) - 1
            html_path.write_text(page(title, _cached_body(source), self.nav, depth, toc=True))

    def batch_label(self, batch_id: str) -> str:
        """``batch-… · 12 jobs · seed × a.b`` (what the batch sweeps)."""
        jobs = self.store.jobs(batch_id)
        swept = " × ".join(["seed", *swept_parameters(jobs)])
        return f"{batch_id} · {len(jobs)} job{'s' if len(jobs) != 1 else ''} · {swept}"

    def search_entry(self, summary: Any, pages: dict[str, str]) -> SearchEntry:
        run_id = summary.run_id
        href = pages.get(run_id, "index.html#q=" + run_id)
        names: list[str] = []
        if run_id in pages:
            names = [e.name for e in self.record(run_id).entities]
        return run_entry(run_id, summary.title, summary.scenario_id, summary.mode, names, href)

    def publish_call_viewers(self, staging: Path, run_ids: list[str]) -> None:
        """``runs/<run_id>/calls.html``: every LLM call of each run with a page."""
        for run_id in run_ids:
            calls, texts = self.store.calls(run_id), self.store.call_texts(run_id)
            body = call_viewer.call_viewer_body(templates(), run_id, calls, texts)
            title = f"LLM calls · {run_id}"
            html = page(title, body, self.nav, 2, heading=title, scripts=(call_viewer.SCRIPT,))
            target = staging / "runs" / run_id / "calls.html"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(html)

    def publish_files(self, staging: Path, run_ids: list[str]) -> None:
        for run_id in run_ids:
            target = staging / "runs" / run_id
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(
                self.stage / "runs" / f"{run_id}.ipynb", staging / "runs" / f"{run_id}.ipynb"
            )
            for name in RUN_FILES:
                source = self.home / run_id / name
                if source.is_file():
                    shutil.copyfile(source, target / name)
            if (self.home / run_id / "narrative.pdf").is_file():
                self._charted_pdf(run_id, target / "narrative.pdf")

    def _charted_pdf(self, run_id: str, target: Path) -> None:
        """The site's PDF (with charts) from the cache; made here when a worker did not."""
        job = site_pdf.pdf_job(
            self.stage, self.record(run_id), self.home / run_id, self.home, self.db_url
        )
        if not job.output.is_file():
            site_pdf.make_pdf(job)
        shutil.copyfile(job.output, target)

    def close(self) -> None:
        self.store.close()


def _cached_body(notebook: Path) -> str:
    """The nbconvert body of an executed notebook, kept beside it until the notebook changes."""
    cached = notebook.with_suffix(".body.html")
    if cached.is_file() and cached.stat().st_mtime_ns >= notebook.stat().st_mtime_ns:
        return cached.read_text()
    body = notebook_body(notebook)
    cached.write_text(body)
    return body


def _has_quarto() -> bool:

    return quarto_binary() is not None


def build_site(
    settings: Settings,
    run_ids: Sequence[str] | None = None,
    *,
    out: Path | None = None,
    compare: Sequence[tuple[str, str]] = (),
    renderer: str = "auto",
    workers: int | None = None,
    refresh: bool = False,
    extra: Sequence[ExtraPage] = (),
    progress: Callable[[str], None] | None = None,
    tutorials: Tutorials | None = None,
) -> Path:
    """Build the report site and return its folder (see the module docstring for locations).

    Args:
        settings: where the runs are (``TIMEPOINT_HOME``, ``TIMEPOINT_DB_URL``).
        run_ids: runs to (re)build pages for (ids or unique prefixes); default every stored
            run. Pages built earlier for other runs are kept; the index lists every stored run.
        out: the site folder; default :func:`site_dir`.
        compare: pairs of run ids to compare on a path comparison page each.
        renderer: ``auto`` (Quarto when installed, else nbconvert), ``quarto`` or
            ``nbconvert``.
        workers: notebooks executed in parallel (default up to 4).
        refresh: execute every report notebook again, even when its inputs did not change
            (after upgrading Timepoint, say).
        extra: pages added by higher layers (``timepoint site build`` adds a calibration
            page per question set in the store; see :mod:`timepoint.calibrate.site`).
        progress: called with a line of text per stage and per executed notebook (and per
            tutorial whose frozen copy is missing or stale).
        tutorials: the tutorials to put on the site from their frozen copies (never
            executed); default ``notebooks/tutorials`` beside ``TIMEPOINT_HOME``, if any.

    Raises:
        ReportError: an unknown renderer, a report notebook that failed, or Quarto failing.
        RunNotFound: a run id that is not in the store.
    """
    if renderer not in RENDERERS:
        raise ReportError(f"renderer {renderer!r} is not one of {', '.join(RENDERERS)}")
    builder = SiteBuilder(settings, out, workers, refresh, extra, progress, tutorials)
    try:
        return builder.build(run_ids, compare, renderer)
    finally:
        builder.close()
