"""Executing one report notebook with papermill, cached by what it shows.

A :class:`ReportJob` names a report kind, its parameters, where the executed notebook goes and
a digest of its inputs (the stored record, the batch rows...). An executed notebook whose
metadata carries the same digest and template version is reused, so rebuilding a site only
executes what changed. :mod:`timepoint.report.workers` runs many jobs in parallel.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from timepoint.errors import ReportError
from timepoint.report.templates import TEMPLATE_VERSION, report_notebook

KERNEL = "python3"


@dataclass(frozen=True)
class ReportJob:
    """One report notebook to execute: ``kind``, papermill ``parameters``, ``output`` path and
    the ``digest`` of its inputs (empty: always execute). ``source`` is a notebook file to
    execute instead of the packaged template of ``kind`` (pages added by higher layers)."""

    kind: str
    output: Path
    parameters: dict[str, Any] = field(default_factory=dict)
    digest: str = ""
    source: Path | None = None


def digest_of(*parts: Any) -> str:
    """A short, stable hash of JSON-serializable ``parts``."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def is_current(job: ReportJob) -> bool:
    """True when ``job.output`` exists and was executed from the same inputs and template
    (for a ``pdf`` job, whose file is named by its digest: when the file exists)."""
    if not job.digest or not job.output.is_file():
        return False
    if job.kind == "pdf":
        return True
    try:
        meta = json.loads(job.output.read_text()).get("metadata", {}).get("timepoint", {})
    except (OSError, ValueError):
        return False
    return meta.get("digest") == job.digest and meta.get("template_version") == TEMPLATE_VERSION


def execute_report(job: ReportJob, cwd: str | None = None, km: Any = None) -> Path:
    """Execute one report notebook into ``job.output`` (written atomically); in the running
    kernel of ``km`` (a ``jupyter_client`` kernel manager) when given, else in a new one.

    Raises:
        ReportError: papermill is missing, or a cell failed (the message names the notebook
            and the error; the failed notebook is kept beside the output as ``*.failed.ipynb``).
    """
    try:
        import nbformat
        import papermill
    except ImportError as error:
        raise ReportError(
            f"report notebooks need papermill and nbformat ({error}); install the notebooks "
            "extra: pip install 'timepoint[notebooks]'"
        ) from None
    job.output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="timepoint-report-") as tmp:
        source = Path(tmp) / f"{job.kind}.ipynb"
        executed = Path(tmp) / "executed.ipynb"
        template = (
            nbformat.read(job.source, as_version=4)
            if job.source is not None
            else report_notebook(job.kind)
        )
        nbformat.write(template, source)
        try:
            papermill.execute_notebook(
                str(source),
                str(executed),
                parameters=job.parameters,
                kernel_name=KERNEL,
                progress_bar=False,
                log_output=False,
                cwd=cwd or tmp,
                **({"km": km} if km is not None else {}),
            )
        except papermill.PapermillExecutionError as error:
            failed = job.output.with_suffix(".failed.ipynb")
            if executed.exists():
                os.replace(executed, failed)
            raise ReportError(
                f"report notebook {job.kind!r} for {job.output.stem} failed: {error.ename}: "
                f"{error.evalue} (executed notebook kept at {failed})"
            ) from None
        notebook = nbformat.read(executed, as_version=4)
        notebook.metadata["timepoint"] = {
            "report": job.kind,
            "template_version": TEMPLATE_VERSION,
            "digest": job.digest,
            "parameters": job.parameters,
        }
        nbformat.write(notebook, executed)
        os.replace(executed, job.output)
    return job.output


def job_json(job: ReportJob) -> str:
    """``job`` as one line of JSON (what a worker process reads)."""
    spec = {"kind": job.kind, "output": str(job.output), "parameters": job.parameters}
    source = str(job.source) if job.source is not None else None
    return json.dumps({**spec, "digest": job.digest, "source": source})


def job_from_json(line: str) -> ReportJob:
    """The job :func:`job_json` wrote."""
    spec = json.loads(line)
    source = Path(spec["source"]) if spec.get("source") else None
    return ReportJob(spec["kind"], Path(spec["output"]), spec["parameters"], spec["digest"], source)
