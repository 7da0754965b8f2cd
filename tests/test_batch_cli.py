"""``timepoint batch`` and ``timepoint sweep`` from the shell."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from timepoint.store import open_store

from .test_batch_specs import write_scenario


def _cli(*args: str, home, stdin: str = "") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIMEPOINT_", "OPENROUTER"))}
    env["TIMEPOINT_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "timepoint.cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _batch_file(tmp_path, **changes):
    write_scenario(tmp_path)
    file = tmp_path / "seeds.yaml"
    body = {"scenario": "village_well.yaml", "id": "seeds", "grid": {"seed": "0..2"}, **changes}
    file.write_text(yaml.safe_dump(body))
    return file


def test_dry_run_prints_the_estimate_and_starts_nothing(tmp_path):
    file = _batch_file(tmp_path)
    home = tmp_path / "runs"
    result = _cli("batch", str(file), "--dry-run", home=home)
    assert result.returncode == 0, result.stderr
    assert "3 jobs, ~18 LLM calls" in result.stdout
    assert "estimated cost: $0.0000 – $0.0000" in result.stdout
    assert "budget cap: $100.00" in result.stdout
    assert not (home / "timepoint.db").exists() or not open_store(home=home).batches()


def test_without_yes_and_without_a_terminal_nothing_runs(tmp_path):
    file = _batch_file(tmp_path)
    result = _cli("batch", str(file), home=tmp_path / "runs", stdin="y\n")
    assert result.returncode == 2
    assert "pass --yes" in result.stderr


def test_batch_command_runs_the_file_and_names_the_resume_command_on_trouble(tmp_path):
    file = _batch_file(tmp_path, budget_usd=None)
    home = tmp_path / "runs"
    result = _cli("batch", str(file), "--yes", "--workers", "2", "--quiet", home=home)
    assert result.returncode == 0, result.stderr
    assert "batch seeds completed" in result.stdout and "3 completed" in result.stdout
    rows = open_store(home=home).jobs("seeds")
    assert [r["status"] for r in rows] == ["completed"] * 3
    again = _cli("batch", str(file), "--yes", "--quiet", home=home)
    assert again.returncode == 2 and "--resume seeds" in again.stderr
    resumed = _cli("batch", str(file), "--yes", "--quiet", "--resume", "seeds", home=home)
    assert resumed.returncode == 0 and "3 already completed" in resumed.stdout


def test_bad_batch_file_is_a_one_line_user_error(tmp_path):
    file = _batch_file(tmp_path, workres=3)
    result = _cli("batch", str(file), "--dry-run", home=tmp_path / "runs")
    assert result.returncode == 2
    assert "unknown key 'workres'; did you mean 'workers'?" in result.stderr
    assert "Traceback" not in result.stderr


def _notebook(path):
    notebook = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell('scenario = ""\nseed = 0')
    parameters.metadata["tags"] = ["parameters"]
    body = nbformat.v4.new_code_cell(
        "import timepoint as tp\n"
        "if seed == 2:\n"
        "    raise ValueError('seed 2 is refused by this notebook')\n"
        "run = tp.run(scenario, seed=seed)\n"
        "print(run.run_id)"
    )
    notebook.cells = [parameters, body]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    notebook.metadata["language_info"] = {"name": "python"}
    nbformat.write(notebook, str(path))
    return path


@pytest.mark.slow
def test_sweep_executes_the_notebook_per_grid_point_and_links_runs(tmp_path):
    scenario = write_scenario(tmp_path)
    notebook = _notebook(tmp_path / "run_scenario.ipynb")
    home = tmp_path / "runs"
    result = _cli(
        "sweep",
        str(notebook),
        "--grid",
        "seed=0..2",
        "--param",
        f"scenario={scenario}",
        "--workers",
        "2",
        "--quiet",
        home=home,
    )
    assert result.returncode == 1, result.stderr
    assert "2 completed, 1 failed" in result.stdout
    store = open_store(home=home)
    (batch,) = store.batches()
    assert batch["batch_id"].startswith("sweep-")
    rows = store.jobs(batch["batch_id"])
    by_seed = {r["spec_json"]["parameters"]["seed"]: r for r in rows}
    for seed in (0, 1):
        row = by_seed[seed]
        assert row["status"] == "completed"
        assert store.load_run(row["run_id"]).seed == seed
        output = home / "sweeps" / batch["batch_id"] / f"{row['job_id']}.ipynb"
        executed = nbformat.read(str(output), as_version=4)
        injected = [
            c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])
        ]
        assert f"seed = {seed}" in injected[0].source
    failed = by_seed[2]
    assert (failed["status"], failed["error_class"], failed["step"]) == (
        "failed",
        "ValueError",
        "cell 2",
    )
    assert "refused" in failed["message"]
    listed = result.stdout.split("executed notebooks:\n", 1)[1].splitlines()
    assert [line.split()[:2] for line in listed] == [
        ["seed=0", "completed"],
        ["seed=1", "completed"],
        ["seed=2", "failed"],
    ], "every executed notebook is printed with its parameters, in grid order"
    for line, seed in zip(listed, (0, 1, 2), strict=True):
        output = home / "sweeps" / batch["batch_id"] / f"{by_seed[seed]['job_id']}.ipynb"
        assert Path(line.split()[2]).resolve() == output.resolve()
    assert f"run {by_seed[0]['run_id']}" in listed[0]
