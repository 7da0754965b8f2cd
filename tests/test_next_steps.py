"""The next steps ``timepoint run`` prints (and so ``./scripts/demo.sh``) work as printed."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

import timepoint as tp
from timepoint.commands.next_steps import next_steps, program
from timepoint.settings import Settings

from .conftest import JEFFERSON, ROOT


def test_the_program_is_spelled_so_this_shell_finds_it(tmp_path: Path) -> None:
    venv = tmp_path / ".venv" / "bin" / "timepoint"
    assert program(str(venv), cwd=tmp_path) == ".venv/bin/timepoint"
    assert program("/opt/elsewhere/bin/timepoint", cwd=tmp_path) == "/opt/elsewhere/bin/timepoint"
    assert program("/x/timepoint/cli.py", cwd=tmp_path).endswith(" -m timepoint.cli")


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[tp.Run, Path]:
    home = tmp_path_factory.mktemp("steps") / "runs"
    return tp.run(JEFFERSON, settings=Settings(home=home)), home


def test_every_printed_step_runs_as_printed(stored: tuple[tp.Run, Path]) -> None:
    run, home = stored
    command = f"{sys.executable} -m timepoint.cli"
    steps = next_steps(run.record, command, report=True, cwd=ROOT)
    assert any(" site serve" in s for s in steps) and any(" ask " in s for s in steps)
    env = {**os.environ, "TIMEPOINT_HOME": str(home), "PYTHONPATH": str(ROOT)}
    for step in steps:
        argv = shlex.split(step.partition("    #")[0])
        if argv[-1].endswith(".ipynb"):  # JupyterLab: the notebook and jupyter are there
            assert (ROOT / argv[-1]).is_file() and argv[:2] == [str(Path(argv[0])), "lab"]
            continue
        if argv[-1] == "serve":  # a server: it must parse, so ask for its help
            argv.append("--help")
        done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
        assert done.returncode == 0, (step, done.stderr)
    answered = tp.load_run(run.run_id, settings=Settings(home=home)).record.answers
    assert len(answered) == 1


def test_the_demo_prints_venv_paths(stored: tuple[tp.Run, Path]) -> None:
    steps = next_steps(stored[0].record, ".venv/bin/timepoint", report=True, cwd=ROOT)
    assert steps[0].startswith(".venv/bin/timepoint site serve")
    assert steps[-1].startswith(".venv/bin/jupyter lab notebooks/explore_run.ipynb")
    demo = (ROOT / "scripts" / "demo.sh").read_text()
    assert ".venv/bin/timepoint run " in demo and "--report" in demo
