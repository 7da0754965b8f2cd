"""``timepoint validate``: exit codes and one line per file or problem."""

from __future__ import annotations

import re

from timepoint.cli import main

from .conftest import JEFFERSON, SCENARIOS

VALID = """\
id: tiny
title: Tiny
description: A tiny scenario.
"""


def test_valid_file_prints_ok_line_and_exits_zero(capsys):
    assert main(["validate", str(JEFFERSON)]) == 0
    out = capsys.readouterr().out.strip()
    assert re.fullmatch(
        r"ok  \S*jefferson_dinner\.yaml  \(jefferson_dinner, pearl, 3 entities, [0-9a-f]{12}\)",
        out,
    )


def test_ok_line_shows_the_config_hash_prefix(tmp_path, capsys):
    from timepoint.scenario.loader import load_scenario

    path = tmp_path / "tiny.yaml"
    path.write_text(VALID, encoding="utf-8")
    assert main(["validate", str(path)]) == 0
    expected = load_scenario(path).config_hash[:12]
    assert capsys.readouterr().out.strip().endswith(f"(tiny, pearl, 3 entities, {expected})")


def test_invalid_file_prints_every_problem_and_exits_two(tmp_path, capsys):
    good = tmp_path / "good.yaml"
    good.write_text(VALID, encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(VALID + "timepoints: {cuont: 3, unit: hours}\n", encoding="utf-8")
    assert main(["validate", str(good), str(bad)]) == 2
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert lines[0].startswith("ok  ")
    assert sorted(lines[1:]) == [
        f"{bad}: timepoints.cuont: unknown key; did you mean 'count'? allowed: count, start, "
        "step, unit, before, after, expand, location, events",
        f"{bad}: timepoints.unit: 'hours' is not one of minute, hour, day, week, month, year",
    ]
    assert "Traceback" not in captured.out + captured.err


def test_malformed_and_missing_files_exit_two_without_traceback(tmp_path, capsys):
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: [\n", encoding="utf-8")
    assert main(["validate", str(broken), str(tmp_path / "absent.yaml")]) == 2
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert lines[0].startswith(f"{broken}:2:1: ")
    assert lines[1] == f"{tmp_path / 'absent.yaml'}: no such file"
    assert "Traceback" not in captured.err


def test_a_folder_stands_for_its_yaml_files(capsys):
    assert main(["validate", str(SCENARIOS / "portal")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4
    assert all(line.startswith("ok  ") and ", portal, " in line for line in lines)


def test_an_empty_folder_is_a_user_error(tmp_path, capsys):
    assert main(["validate", str(tmp_path)]) == 2
    assert "no .yaml files" in capsys.readouterr().err
