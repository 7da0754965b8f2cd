"""The README's examples work as written: its Python blocks run in order against the offline model,
and every ``timepoint`` command in its shell blocks names a real sub-command with valid arguments.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from timepoint import cli
from timepoint.store import open_store

from .conftest import ROOT

README = ROOT / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
#: repository folders whose paths the shell examples may name (anything else is an output or
#: a placeholder)
REPO_DIRS = ("batches", "benchmarks", "docs", "notebooks", "questions", "scenarios", "scripts")


def blocks(language: str) -> list[tuple[int, str]]:
    """(first line of the code in README.md, code) for every ``language`` block, in order."""
    text = README.read_text()
    return [
        (text.count("\n", 0, match.start(2)) + 1, match.group(2))
        for match in FENCE.finditer(text)
        if match.group(1) == language
    ]


def shell_lines() -> list[tuple[int, list[str], str]]:
    """(README line, argv, comment) of every command line in the bash blocks."""
    commands = []
    for first, code in blocks("bash"):
        for offset, line in enumerate(code.splitlines()):
            argv = shlex.split(line, comments=True)
            if argv:
                comment = line.partition(" #")[2]
                commands.append((first + offset, argv, comment))
    return commands


def shell_commands() -> list[tuple[int, list[str]]]:
    return [(line, argv) for line, argv, _ in shell_lines()]


def timepoint_commands() -> list[tuple[int, list[str]]]:
    return [(line, argv[1:]) for line, argv in shell_commands() if argv[0] == "timepoint"]


def by_line(cases: list[tuple]) -> list:
    return [pytest.param(*case, id=f"README.md:{case[0]}") for case in cases]


def command_path(args: list[str]) -> list[str]:
    """The sub-command (and, for ``site``, its action) that ``args`` selects."""
    if args[0] == "site":
        return args[:2]
    return args[:1]


# Runs every Python block in one namespace, compiled against README.md so that a traceback
# names the README line that failed.
HARNESS = """
import json, sys
namespace = {"__name__": "__readme__"}
for line, code in json.load(sys.stdin):
    exec(compile("\\n" * (line - 1) + code, "README.md", "exec"), namespace)
"""


def test_readme_has_python_and_timepoint_examples():
    assert len(blocks("python")) >= 3
    assert {"run", "ask", "branch", "batch", "site"} <= {
        args[0] for _, args in timepoint_commands()
    }


def test_quick_start_is_the_two_scripts():
    text = README.read_text()
    quick_start = text[text.index("## Quick start") :]
    first_block = FENCE.search(quick_start)
    assert first_block.group(1) == "bash"
    commands = [shlex.split(line, comments=True) for line in first_block.group(2).splitlines()]
    assert [argv for argv in commands if argv] == [["./scripts/demo.sh"], ["./scripts/test.sh"]]
    for script in ("demo.sh", "test.sh"):
        assert os.access(ROOT / "scripts" / script, os.X_OK), script


def help_text(path: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as exit_:
        cli.main([*path, "--help"])
    assert exit_.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize(
    "path",
    sorted({tuple(command_path(args)) for _, args in timepoint_commands()}),
    ids=" ".join,
)
def test_every_timepoint_command_in_the_readme_has_help(path, capsys):
    assert help_text(path, capsys).startswith(f"usage: timepoint {' '.join(path)}")


@pytest.mark.parametrize(
    ("line", "args", "comment"),
    by_line([(n, a[1:], c) for n, a, c in shell_lines() if a[0] == "timepoint" and "--" in c]),
)
def test_options_named_in_comments_exist(line, args, comment, capsys):
    usage = help_text(command_path(args), capsys)
    for option in re.findall(r"--[a-z][a-z-]*", comment):
        assert re.search(rf"{option}\b", usage), f"README.md:{line}: no {option}"


@pytest.mark.parametrize(("line", "args"), by_line(timepoint_commands()))
def test_every_timepoint_command_in_the_readme_parses(line, args, capsys):
    # the parser main() builds, used without running the command
    parser = cli._build_parser(args[0])
    try:
        parsed = parser.parse_args(args)
    except SystemExit:
        pytest.fail(f"README.md:{line}: timepoint {shlex.join(args)}: {capsys.readouterr().err}")
    assert callable(parsed.handler)


@pytest.mark.parametrize(("line", "argv"), by_line(shell_commands()))
def test_shell_examples_call_programs_the_virtualenv_installs(line, argv):
    # The README runs its examples with .venv/bin on PATH; nothing else may be assumed there.
    program = argv[0].removeprefix(".venv/bin/")
    if program == "export":  # a shell builtin
        return
    if "/" in program:
        assert (ROOT / program).is_file(), f"README.md:{line}: no {program}"
    else:
        venv_bin = Path(sys.executable).parent
        assert (venv_bin / program).is_file(), f"README.md:{line}: {program} not in {venv_bin}"


@pytest.mark.parametrize(("line", "argv"), by_line(shell_commands()))
def test_files_named_by_shell_examples_exist(line, argv):
    outputs = {argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg in ("-o", "--out")}
    for arg in argv:
        relative = arg.removeprefix("./")
        if arg in outputs or relative.split("/")[0] not in REPO_DIRS:
            continue
        assert list(ROOT.glob(relative)), f"README.md:{line}: {arg} does not exist"


@pytest.mark.parametrize(
    ("line", "argv"), by_line([(n, a) for n, a in shell_commands() if a[0] == "papermill"])
)
def test_papermill_examples_set_parameters_the_notebook_declares(line, argv):
    import nbformat

    notebook = nbformat.read(ROOT / argv[1], as_version=4)
    [cell] = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    declared = set(re.findall(r"^(\w+)\s*=", cell.source, re.MULTILINE))
    given = {argv[i + 1] for i, arg in enumerate(argv) if arg == "-p"}
    assert given and given <= declared, f"README.md:{line}: {given - declared} not parameters"


def test_python_examples_run_in_order_with_the_offline_model(tmp_path):
    home = tmp_path / "runs"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIMEPOINT_", "OPENROUTER"))}
    env["TIMEPOINT_HOME"] = str(home)
    done = subprocess.run(
        [sys.executable, "-c", HARNESS],
        input=json.dumps(blocks("python")),
        cwd=ROOT,  # the examples name scenarios relative to the repository
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    store = open_store(home=home)
    try:
        runs = store.list_runs()
        batches = {b["batch_id"]: b["status"] for b in store.batches()}
    finally:
        store.close()
    # the offline model, embedded or served on loopback by the example that shows the endpoint
    assert {r.provider for r in runs} <= {"offline", "openai-compatible"}
    assert {r.status for r in runs} == {"completed"}
    assert len(batches) == 4  # three in the batch examples, one forecast
    assert {batches["one-by-one"], batches["dask"]} == {"completed"}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("line", "argv"), by_line([(n, a) for n, a in shell_commands() if a[0] == "papermill"])
)
def test_papermill_examples_run_from_the_repository_folder(line, argv, tmp_path):
    import nbformat

    # as written, run from the repository folder; only the output notebook goes elsewhere
    output = tmp_path / Path(argv[2]).name
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIMEPOINT_", "OPENROUTER"))}
    env["TIMEPOINT_HOME"] = str(tmp_path / "runs")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(
        [argv[0], argv[1], str(output), *argv[3:]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"README.md:{line}: {done.stderr[-3000:]}"
    notebook = nbformat.read(output, as_version=4)
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    if "calibration" in argv[1]:
        store = open_store(home=tmp_path / "runs")
        try:
            assert store.forecasts(), f"README.md:{line}: the notebook forecast nothing"
        finally:
            store.close()
