"""Executing report notebooks with papermill, cached by what they show.

A :class:`ReportJob` names a report kind, its parameters, where the executed notebook goes and
a digest of its inputs (the stored record, the batch rows...). An executed notebook whose
metadata carries the same digest and template version is reused, so rebuilding a site only
executes what changed. Several notebooks run in parallel worker processes, each with its own
kernel.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
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
    """True when ``job.output`` exists and was executed from the same inputs and template."""
    if not job.digest or not job.output.is_file():
        return False
    try:
        meta = json.loads(job.output.read_text()).get("metadata", {}).get("timepoint", {})
    except (OSError, ValueError):
        return False
    return meta.get("digest") == job.digest and meta.get("template_version") == TEMPLATE_VERSION


def execute_report(job: ReportJob, cwd: str | None = None) -> Path:
    """Execute one report notebook into ``job.output`` (written atomically).

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


def _job_json(job: ReportJob) -> str:
    spec = {"kind": job.kind, "output": str(job.output), "parameters": job.parameters}
    source = str(job.source) if job.source is not None else None
    return json.dumps({**spec, "digest": job.digest, "source": source})


def _execute_in_subprocess(job: ReportJob) -> None:
    """Execute ``job`` in a fresh interpreter (``python -m timepoint.report.execute``)."""
    result = subprocess.run(
        [sys.executable, "-m", "timepoint.report.execute", _job_json(job)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise ReportError(lines[-1] if lines else f"report {job.kind!r} failed")


def execute_reports(jobs: Sequence[ReportJob], *, workers: int | None = None) -> list[Path]:
    """Execute every job whose output is not current; returns every job's output path.

    With more than one notebook to execute and ``workers`` > 1 (default: up to 4, bounded by
    the CPU count), notebooks run in parallel, each in its own interpreter and kernel.

    Raises:
        ReportError: a notebook failed (see :func:`execute_report`).
    """
    pending = [job for job in jobs if not is_current(job)]
    workers = workers or min(4, os.cpu_count() or 1)
    if len(pending) > 1 and workers > 1:
        with ThreadPoolExecutor(max_workers=min(workers, len(pending))) as pool:
            list(pool.map(_execute_in_subprocess, pending))
    else:
        for job in pending:
            execute_report(job)
    return [job.output for job in jobs]


def main(argv: list[str] | None = None) -> int:
    """Worker entry point: execute the job given as JSON; errors go to stderr, exit code 1."""
    spec = json.loads((argv if argv is not None else sys.argv[1:])[0])
    source = Path(spec["source"]) if spec.get("source") else None
    job = ReportJob(spec["kind"], Path(spec["output"]), spec["parameters"], spec["digest"], source)
    try:
        execute_report(job)
    except ReportError as error:
        print(f"ReportError: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
