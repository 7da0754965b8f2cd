"""Progress output: plain, rate-limited lines in a stream that is not a terminal, and numbers
that are true (full only when finished, never more jobs running than the backend runs)."""

from __future__ import annotations

import io

import pytest

import timepoint as tp
from timepoint.batch.progress import BarProgress as BatchBar
from timepoint.kernel.progress import BarProgress, LineProgress, ProgressEvent, Ticker
from timepoint.settings import Settings

from .conftest import SCENARIOS


class Clock:
    """Seconds that advance only when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_non_terminal_stream_gets_plain_lines_at_most_every_few_seconds():
    out, clock = io.StringIO(), Clock()
    lines = LineProgress("timepoint run", stream=out, interval=5.0, clock=clock)
    lines.emit(ProgressEvent("entities"))
    for done in range(200):  # a burst of events inside one interval
        clock.now += 0.01
        lines.emit(ProgressEvent("timepoints", f"{done + 1}/200", done, 200))
    clock.now += 5.0
    lines.emit(ProgressEvent("finish"))
    lines.close()
    text = out.getvalue()
    assert "\r" not in text
    assert text.splitlines() == [
        "timepoint run: entities (0/1)",
        "timepoint run: finish (0/200)",
        "timepoint run: done in 7.0s",
    ]


def test_the_bar_is_full_only_when_the_run_completed():
    out, clock = io.StringIO(), Clock()
    lines = LineProgress("portal", stream=out, interval=0.0, clock=clock)
    lines.emit(ProgressEvent("timepoints", "portal step 0 backward", 4, 4))  # search done
    lines.emit(ProgressEvent("paths", "writing main", 0, 3))  # but paths are still written
    lines.close(completed=False)
    assert out.getvalue().splitlines() == [
        "portal: timepoints portal step 0 backward (3/4)",
        "portal: paths writing main (0/3)",
        "portal: stopped at paths writing main (0/3)",
    ]


def test_bar_progress_picks_lines_for_a_captured_stream():
    out = io.StringIO()
    bar = BarProgress("timepoint run", stream=out)
    bar.emit(ProgressEvent("timepoints", "1/3", 0, 3))
    bar.close(completed=False)
    bar.close()  # a second close changes nothing
    assert out.getvalue().splitlines() == [
        "timepoint run: timepoints 1/3 (0/3)",
        "timepoint run: stopped at timepoints 1/3 (0/3)",
    ]


def test_ticker_writes_one_line_into_a_captured_stream():
    out = io.StringIO()
    with Ticker("timepoint ask: answering", interval=0.01, stream=out):
        pass
    assert out.getvalue() == "timepoint ask: answering\n"


def test_batch_lines_never_show_more_running_jobs_than_slots():
    out, clock = io.StringIO(), Clock()
    bar = BatchBar(4, "batch_x", cap_usd=1.0, slots=2, stream=out, interval=5.0, clock=clock)
    bar.update(finished=0, completed=0, failed=0, running=4, spent_usd=0.0)
    clock.now += 1
    bar.update(finished=1, completed=1, failed=0, running=3, spent_usd=0.01)  # within 5 s
    clock.now += 10
    bar.update(finished=4, completed=3, failed=1, running=0, spent_usd=0.04)
    bar.close()
    assert out.getvalue().splitlines() == [
        "batch_x: 0/4 jobs finished, ok 0 failed 0 running 2 queued 2 $0.0000/1.00",
        "batch_x: 4/4 jobs finished, ok 3 failed 1 running 0 $0.0400/1.00",
    ]


@pytest.mark.parametrize("scenario", ["jefferson_dinner", "mars_mission_portal"])
def test_a_real_run_logs_a_few_true_lines(tmp_path, scenario):
    out = io.StringIO()
    progress = BarProgress("timepoint run", stream=out)
    tp.run(
        SCENARIOS / "showcase" / f"{scenario}.yaml",
        settings=Settings(home=tmp_path / "runs"),
        progress=progress,
    )
    progress.close()
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert lines[0] == "timepoint run: entities (0/1)"
    assert lines[-1].startswith("timepoint run: done in ")
    assert len(lines) <= 4  # an offline run takes seconds: one line per 5 s at most, and the end
    for line in lines[:-1]:
        done, total = line.rpartition("(")[2].rstrip(")").split("/")
        assert int(done) < int(total)
