"""Report notebooks executed by worker processes that keep one kernel each."""

from __future__ import annotations

import json

import pytest

from timepoint.errors import ReportError
from timepoint.report.execute import ReportJob, digest_of, is_current
from timepoint.report.workers import execute_reports

pytestmark = pytest.mark.slow


def _costs(tmp_path, name: str, digest: str = "d1") -> ReportJob:
    home = tmp_path / "runs"
    params = {"run_ids": [], "home": str(home), "db_url": f"sqlite:///{home / 'timepoint.db'}"}
    return ReportJob("costs", tmp_path / "stage" / f"{name}.ipynb", params, digest)


def test_workers_execute_reuse_current_notebooks_and_report_progress(tmp_path):
    jobs = [_costs(tmp_path, "a"), _costs(tmp_path, "b", digest_of("other inputs"))]
    lines: list[str] = []
    outputs = execute_reports(jobs, workers=2, progress=lines.append)
    assert outputs == [j.output for j in jobs] and all(is_current(j) for j in jobs)
    executed = json.loads(jobs[0].output.read_text())
    assert executed["metadata"]["timepoint"]["digest"] == "d1"
    assert lines[0] == "0 of 2 report notebooks current, 2 to execute"
    assert [line.split()[:2] for line in lines[1:]] == [["[1/2]", "costs"], ["[2/2]", "costs"]]
    before = jobs[0].output.stat().st_mtime_ns
    lines.clear()
    execute_reports(jobs, workers=2, progress=lines.append)
    assert lines == ["2 of 2 report notebooks current, 0 to execute"]
    assert jobs[0].output.stat().st_mtime_ns == before


def test_a_failing_notebook_is_named_and_the_others_still_run(tmp_path):
    home = tmp_path / "runs"
    broken = ReportJob(
        "run",
        tmp_path / "stage" / "runs" / "nope.ipynb",
        {"run_id": "nope", "home": str(home), "db_url": f"sqlite:///{home / 'timepoint.db'}"},
        "d",
    )
    fine = _costs(tmp_path, "fine")
    with pytest.raises(ReportError, match=r"report notebook 'run' for nope failed: RunNotFound"):
        execute_reports([broken, fine], workers=1)
    assert is_current(fine)
    assert broken.output.with_suffix(".failed.ipynb").is_file()
