"""The site's PDF of a run, made once per version of the run.

It is the run folder's ``narrative.pdf`` (both come from :func:`~timepoint.report.pdf.run_pdf`:
the narrative with its charts) made from the stored record, which questions asked or branches
added after the run may have changed. It is made by a report worker (a ``pdf`` job, beside the
notebooks) into ``<home>/.site/pdf/<run_id>.<digest>.pdf``, where ``digest`` is that of the
stored record, so a rebuild copies it unless the run changed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from timepoint.report.execute import ReportJob, digest_of
from timepoint.report.pdf import run_pdf
from timepoint.store import open_store

KIND = "pdf"


def run_detail(folder: Path) -> str:
    """The narrative detail the run's scenario asked for (``summary`` by default)."""
    scenario = folder / "scenario.yaml"
    if not scenario.is_file():
        return "summary"
    outputs = (yaml.safe_load(scenario.read_text()) or {}).get("outputs") or {}
    return str(outputs.get("detail", "summary"))


def pdf_job(stage: Path, record: Any, folder: Path, home: Path, db_url: str) -> ReportJob:
    """The job that makes the site's PDF of ``record`` (current when its file exists)."""
    digest = digest_of(record.model_dump_json())
    return ReportJob(
        KIND,
        stage / "pdf" / f"{record.run_id}.{digest}.pdf",
        {
            "run_id": record.run_id,
            "home": str(home),
            "db_url": db_url,
            "detail": run_detail(folder),
        },
        digest,
    )


def make_pdf(job: ReportJob) -> Path:
    """Write the PDF of ``job`` (atomically), removing older PDFs of the same run."""
    params = job.parameters
    store = open_store(params["db_url"], home=params["home"])
    try:
        record = store.load_run(params["run_id"])
    finally:
        store.close()
    job.output.parent.mkdir(parents=True, exist_ok=True)
    partial = job.output.with_suffix(".partial")
    partial.write_bytes(run_pdf(record, params["detail"]))
    for stale in job.output.parent.glob(f"{record.run_id}.*.pdf"):
        stale.unlink()
    os.replace(partial, job.output)
    return job.output
