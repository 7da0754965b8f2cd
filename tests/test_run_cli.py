"""``timepoint run`` on the command line: what it prints when answers come from the cache and
when a run fails."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from timepoint.commands.offline_server import offline_server
from timepoint.llm.offline_server import OfflineServer

from .conftest import JEFFERSON, ROOT


def timepoint(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "timepoint.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def endpoint_env(home: Path, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIMEPOINT_", "OPENROUTER"))}
    env.update(
        TIMEPOINT_HOME=str(home), TIMEPOINT_LLM_BASE_URL=url, TIMEPOINT_LLM_API_KEY="local-key"
    )
    return env


def test_a_rerun_says_its_answers_were_replayed_from_the_cache(
    tmp_path: Path, offline_endpoint: OfflineServer
):
    env = endpoint_env(tmp_path / "runs", offline_endpoint.url)
    first = timepoint("run", str(JEFFERSON), "--quiet", env=env)
    assert first.returncode == 0, first.stderr
    assert "replayed" not in first.stdout and " LLM calls, " in first.stdout
    again = timepoint("run", str(JEFFERSON), "--quiet", env=env)
    assert again.returncode == 0, again.stderr
    assert "LLM calls, all replayed from the cache, 0 new tokens" in again.stdout


def test_a_failed_run_message_is_the_last_thing_on_the_terminal(
    tmp_path: Path, offline_endpoint: OfflineServer
):
    env = endpoint_env(tmp_path / "runs", offline_endpoint.url)
    failed = timepoint("run", str(JEFFERSON), "--set", "budget.max_tokens=300", env=env)
    assert failed.returncode == 1
    last = failed.stderr.replace("\r", "\n").strip().splitlines()[-2:]
    assert last[0].startswith("run ") and "failed at step" in last[0], "not glued to the bar"
    assert last[1].startswith("partial record: ")


def test_commands_that_wait_for_a_model_show_that_they_are_waiting(tmp_path: Path):
    with offline_server(latency_ms=2500) as slow:
        env = endpoint_env(tmp_path / "runs", slow.url)
        written = timepoint("new", "A chess match between two rivals in Reykjavik in 1972", env=env)
    assert written.returncode == 0, written.stderr
    assert "timepoint new: waiting for the model" in written.stderr
    assert "id:" in written.stdout


def test_python_dash_m_timepoint_is_the_command_line(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIMEPOINT_")}
    env["TIMEPOINT_HOME"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "timepoint", "validate", str(JEFFERSON)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "jefferson_dinner" in result.stdout + result.stderr
