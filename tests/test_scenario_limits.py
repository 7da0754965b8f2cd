"""Hostile scenario files are refused quickly, with the file, the limit passed and the fix:
alias bombs, deep nesting, long ``extends:`` chains, large, binary or non-UTF-8 files."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from timepoint.cli import main
from timepoint.errors import ScenarioError
from timepoint.scenario import limits
from timepoint.scenario.loader import load_scenario

from .timing import seconds

HEAD = "id: tiny\ntitle: Tiny\ndescription: A tiny scenario.\n"


def alias_bomb(levels: int = 9) -> str:
    """The billion-laughs document: each anchor repeats the previous one nine times."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for n in range(1, levels):
        lines.append(f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 9) + "]")
    return "\n".join(lines)


def validate(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], float]:
    started = time.perf_counter()
    code = main(["validate", str(path)])
    elapsed = time.perf_counter() - started
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out.strip().splitlines(), elapsed


def test_an_alias_bomb_as_the_title_is_refused_at_once(tmp_path, capsys):
    bomb = alias_bomb()
    assert len(bomb) < 1024
    path = tmp_path / "bomb.yaml"
    path.write_text(
        "id: tiny\ndescription: d\n" + bomb.replace("a0: ", "x: ", 1) + "\ntitle: *a8\n"
    )
    code, lines, elapsed = validate(path, capsys)
    assert code == 2 and elapsed < seconds(2)
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}:")
    assert "more than 50,000 values once aliases are expanded" in lines[0]
    assert "instead of repeating anchors" in lines[0]


def test_an_alias_bomb_under_mechanism_settings_is_refused(tmp_path, capsys):
    indented = "\n".join("    " + line for line in alias_bomb().splitlines())
    path = tmp_path / "bomb.yaml"
    path.write_text(HEAD + "mechanisms:\n  settings:\n    m14:\n" + indented + "\n")
    code, lines, elapsed = validate(path, capsys)
    assert code == 2 and elapsed < seconds(2)
    assert "once aliases are expanded" in lines[0]


def test_too_many_aliases_are_refused_even_when_small(tmp_path):
    path = tmp_path / "many.yaml"
    path.write_text(HEAD + "x: &x 1\nevents: [" + ", ".join(["*x"] * 300) + "]\n")
    with pytest.raises(ScenarioError, match=r"more than 200 aliases"):
        load_scenario(path)


def test_a_few_anchors_still_work(tmp_path):
    path = tmp_path / "anchors.yaml"
    path.write_text(
        HEAD + "entities:\n  roster:\n"
        "    - &person {id: ann, role: primary, goals: [win]}\n"
        "    - {<<: *person, id: bob}\n"
    )
    roster = load_scenario(path).entities.roster
    assert [(e.id, e.goals) for e in roster] == [("ann", ["win"]), ("bob", ["win"])]


@pytest.mark.parametrize(
    "nested",
    [
        "timepoints:\n  events: " + "[" * 20_000 + "]" * 20_000,
        "mechanisms:\n  settings:\n    m14:\n"
        + "".join("  " * (n + 3) + f"k{n}:\n" for n in range(200)),
    ],
    ids=["flow-20000", "block-200"],
)
def test_deep_nesting_is_refused_without_recursion_error(tmp_path, capsys, nested):
    path = tmp_path / "deep.yaml"
    path.write_text(HEAD + nested + "\n")
    code, lines, elapsed = validate(path, capsys)
    assert code == 2 and elapsed < seconds(2)
    assert len(lines) == 1
    assert "nested deeper than 32, the limit for a scenario; flatten the structure" in lines[0]


def test_a_1500_file_extends_chain_is_refused(tmp_path, capsys):
    for n in range(1500):
        text = f"extends: c{n + 1}.yaml\n" if n < 1499 else HEAD
        (tmp_path / f"c{n}.yaml").write_text(text)
    code, lines, _ = validate(tmp_path / "c0.yaml", capsys)
    assert code == 2
    assert lines == [
        f"{tmp_path / 'c0.yaml'}: extends: the chain of bases is longer than 16 files "
        f"(it reaches {tmp_path / 'c16.yaml'}); merge some bases into one"
    ]


def test_a_base_extended_many_times_over_is_refused(tmp_path, capsys):
    # each level extends the next one eight times: 8**8 reads without a limit
    for n in range(8):
        (tmp_path / f"d{n}.yaml").write_text(f"extends: [{', '.join([f'd{n + 1}.yaml'] * 8)}]\n")
    (tmp_path / "d8.yaml").write_text(HEAD)
    code, lines, elapsed = validate(tmp_path / "d0.yaml", capsys)
    assert code == 2 and elapsed < seconds(2)
    assert "resolving it reads more than 64 files" in lines[0]


def test_a_short_chain_still_resolves(tmp_path):
    for n in range(10):
        (tmp_path / f"c{n}.yaml").write_text(f"extends: c{n + 1}.yaml\nseed: {n}\n")
    (tmp_path / "c10.yaml").write_text(HEAD)
    assert load_scenario(tmp_path / "c0.yaml").seed == 0


def test_a_large_file_is_refused_before_it_is_parsed(tmp_path, capsys):
    path = tmp_path / "large.yaml"
    path.write_text(HEAD + "timepoints:\n  location: " + "x" * limits.MAX_FILE_BYTES + "\n")
    code, lines, _ = validate(path, capsys)
    assert code == 2
    assert lines == [
        f"{path}: the file is larger than 256 KiB, the limit for a scenario; shorten it or move "
        "shared parts into a base file named by 'extends:'"
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (HEAD.encode("utf-16"), "the file is UTF-16 text; save it as UTF-8 text"),
        (HEAD.encode("utf-32"), "the file is UTF-32 text; save it as UTF-8 text"),
        (
            HEAD.replace("Tiny\n", "Café\n").encode("latin-1"),
            "2:11: byte 0xe9 is not UTF-8 (a Latin-1 or Windows file?); save it as UTF-8 text",
        ),
        (bytes(range(256)), "the file is binary, not YAML text; save it as UTF-8 text"),
    ],
    ids=["utf-16", "utf-32", "latin-1", "binary"],
)
def test_files_that_are_not_utf8_text_are_refused(tmp_path, capsys, content, message):
    path = tmp_path / "odd.yaml"
    path.write_bytes(content)
    code, lines, _ = validate(path, capsys)
    assert code == 2
    separator = ":" if message[0].isdigit() else ": "
    assert lines == [f"{path}{separator}{message}"]


def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes(HEAD.encode("utf-8-sig"))
    assert load_scenario(path).title == "Tiny"


def test_a_key_given_twice_is_refused_with_both_lines(tmp_path, capsys):
    path = tmp_path / "twice.yaml"
    path.write_text(HEAD + "timepoints:\n  count: 2\n  count: 5\n")
    code, lines, _ = validate(path, capsys)
    assert code == 2
    assert lines == [f"{path}:6:3: key 'count' appears twice (first at line 5); keep one"]


def test_merge_keys_may_repeat_what_they_merge(tmp_path):
    path = tmp_path / "merge.yaml"
    path.write_text(HEAD + "base: &b {count: 2}\ntimepoints:\n  <<: *b\n  count: 4\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert all("appears twice" not in p for p in caught.value.problems)


def test_a_flood_of_problems_is_cut_short(tmp_path, capsys):
    path = tmp_path / "flood.yaml"
    path.write_text(HEAD + "".join(f"unknown_{n}: 1\n" for n in range(500)))
    code, lines, elapsed = validate(path, capsys)
    assert code == 2 and elapsed < seconds(5)
    assert len(lines) == 51
    assert lines[-1] == f"{path}: … and 450 more problems; fix these first"
