"""``timepoint forecast`` and ``timepoint resolve`` from the shell."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import yaml

from timepoint.store import open_store

from .test_batch_specs import write_scenario


def _cli(*args: str, home) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIMEPOINT_", "OPENROUTER"))}
    env["TIMEPOINT_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "timepoint.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _question_set(tmp_path):
    write_scenario(tmp_path)
    path = tmp_path / "wells.yaml"
    common = {"scenario": "village_well.yaml"}
    path.write_text(
        yaml.safe_dump(
            {
                "questions": [
                    {
                        **common,
                        "id": "gather",
                        "question": "Do the elders gather?",
                        "outcome": {"kind": "event", "pattern": "gather at"},
                        "resolution": True,
                        "market_probability": 0.7,
                    },
                    {
                        **common,
                        "id": "dragon",
                        "question": "Does a dragon appear?",
                        "outcome": {"kind": "event", "pattern": "dragon"},
                        "resolution": False,
                    },
                ]
            }
        )
    )
    return path


def test_forecast_then_resolve_prints_forecasts_and_scores(tmp_path):
    path = _question_set(tmp_path)
    home = tmp_path / "runs"
    done = _cli("forecast", str(path), "--n", "3", "--json", "--quiet", home=home)
    assert done.returncode == 0, done.stderr
    forecasts = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(f["question_id"], f["probability"], f["runs"]) for f in forecasts] == [
        ("gather", 1.0, 3),
        ("dragon", 0.0, 3),
    ]
    resolved = _cli("resolve", str(path), home=home)
    assert resolved.returncode == 0, resolved.stderr
    assert "gather: yes; p = 1.00 from 3/3 runs" in resolved.stdout
    assert "wells: 2 scored; brier 0.000" in resolved.stdout
    store = open_store(None, home=home)
    assert {q["question_id"]: q["resolution"] for q in store.questions("wells")} == {
        "gather": 1.0,
        "dragon": 0.0,
    }
    card = json.loads(_cli("resolve", str(path), "--json", home=home).stdout)
    assert card["scores"]["questions"] == 2 and card["rows"][0]["run_ids"]


def test_a_bad_question_set_exits_2_with_the_problem(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("questions: []\n")
    done = _cli("forecast", str(path), home=tmp_path / "runs")
    assert done.returncode == 2
    assert "bad.yaml: questions" in done.stderr
