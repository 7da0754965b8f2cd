"""Executing many report notebooks in parallel, each worker keeping one kernel.

Starting an interpreter, papermill and a Jupyter kernel, then importing Timepoint and altair,
costs several seconds; a report notebook itself runs in one or two. So each worker is one
process (``python -m timepoint.report.workers``) with one kernel that executes notebook after
notebook (and makes the site's PDFs, :mod:`timepoint.report.site_pdf`, without the kernel):
the parent writes a job per line (:func:`~timepoint.report.execute.job_json`) to the
worker's stdin and reads one result line back. Report notebooks assign every name they use
(their ``parameters`` cell first), so one notebook's names do not leak into the next's output.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from timepoint.errors import ReportError, TimepointError
from timepoint.report import site_pdf
from timepoint.report.execute import (
    KERNEL,
    ReportJob,
    execute_report,
    is_current,
    job_from_json,
    job_json,
)

#: the prefix of a worker's result lines (anything else on its stdout is ignored)
RESULT = "timepoint-result "
#: notebooks one more worker must have to pay for its start (a kernel starts in the time a
#: warm kernel executes about this many report notebooks)
JOBS_PER_WORKER = 6


class KernelWorker:
    """One worker process and its kernel; :meth:`run` executes a job in it."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "timepoint.report.workers"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )

    def run(self, job: ReportJob) -> None:
        """Execute ``job``; raises ReportError with the worker's message when it failed."""
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        stdin.write(job_json(job) + "\n")
        stdin.flush()
        for line in stdout:
            if line.startswith(RESULT):
                error = json.loads(line[len(RESULT) :]).get("error")
                if error:
                    raise ReportError(error)
                return
        raise ReportError(f"the report worker stopped while executing {job.output.stem}")

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def _label(job: ReportJob) -> str:
    return "costs" if job.kind == "costs" else f"{job.output.parent.name}/{job.output.stem}"


def execute_reports(
    jobs: Sequence[ReportJob],
    *,
    workers: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """Execute every job whose output is not current; returns every job's output path.

    Up to ``workers`` worker processes (default: up to 4, bounded by the CPU count), each
    with one kernel; one worker per :data:`JOBS_PER_WORKER` notebooks, since starting a
    kernel costs more than a few notebooks do. ``progress`` gets a line saying how many are
    current and one per executed notebook (``[3/12] runs/<run_id> 1.4 s``).

    Raises:
        ReportError: a notebook failed (the first failure; the others still ran).
    """
    say = progress or (lambda line: None)
    pending = [job for job in jobs if not is_current(job)]
    current = len(jobs) - len(pending)
    say(f"{current} of {len(jobs)} report notebooks current, {len(pending)} to execute")
    if not pending:
        return [job.output for job in jobs]
    todo: queue.Queue[ReportJob] = queue.Queue()
    for job in pending:
        todo.put(job)
    failures: list[ReportError] = []
    done = [0]
    lock = threading.Lock()

    def work() -> None:
        worker = KernelWorker()
        try:
            while True:
                try:
                    job = todo.get_nowait()
                except queue.Empty:
                    return
                began = time.monotonic()
                try:
                    worker.run(job)
                except ReportError as error:
                    failures.append(error)
                    worker.close()
                    worker = KernelWorker()
                    continue
                with lock:
                    done[0] += 1
                    seconds = time.monotonic() - began
                    say(f"[{done[0]}/{len(pending)}] {_label(job)} {seconds:.1f} s")
        finally:
            worker.close()

    allowed = workers or min(4, os.cpu_count() or 1)
    count = min(allowed, max(1, -(-len(pending) // JOBS_PER_WORKER)))
    threads = [threading.Thread(target=work, daemon=True) for _ in range(max(1, count))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return [job.output for job in jobs]


def serve_jobs(lines: IO[str], out: IO[str]) -> None:
    """The worker loop: execute each job read from ``lines`` in one kernel, answer on ``out``."""
    km: Any = None
    try:
        for line in lines:
            if not line.strip():
                continue
            job = job_from_json(line)
            if job.kind == site_pdf.KIND:
                try:
                    site_pdf.make_pdf(job)
                    answer: dict[str, str] = {}
                except TimepointError as error:
                    answer = {"error": f"PDF of {job.output.stem}: {error}"}
                out.write(RESULT + json.dumps(answer) + "\n")
                out.flush()
                continue
            if km is None:
                from jupyter_client import KernelManager

                km = KernelManager(kernel_name=KERNEL)
                km.start_kernel()
            try:
                execute_report(job, km=km)
                answer = {}
            except ReportError as error:
                answer = {"error": str(error)}
            out.write(RESULT + json.dumps(answer) + "\n")
            out.flush()
    finally:
        if km is not None:
            km.shutdown_kernel(now=True)


if __name__ == "__main__":
    serve_jobs(sys.stdin, sys.stdout)
