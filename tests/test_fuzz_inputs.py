"""Property-based fuzzing of what a user types: scenario files and ``--set`` values.

Whatever the input, ``timepoint validate`` and ``timepoint run`` answer with an exit code and
plain lines, never an exception (which the console would show as a traceback), and never hang:
each example has a deadline. A file ``validate`` refuses is refused by ``run`` too, and ``run``
then writes nothing.
"""

from __future__ import annotations

import string
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from timepoint.cli import main
from timepoint.problems import _model_in
from timepoint.scenario.schema import Scenario

FUZZ = settings(
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
BASE: dict[str, Any] = {
    "id": "fuzz",
    "title": "Fuzz",
    "description": "A scenario under fuzzing.",
    "timepoints": {"count": 1},
    "entities": {"count": 2},
}


def schema_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every dotted field path of ``model``, sections included."""
    paths = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        paths.append(path)
        inner = _model_in(field.annotation)
        if inner is not None:
            paths += schema_paths(inner, f"{path}.")
    return paths


PATHS = [
    *schema_paths(Scenario),
    "mechanisms.settings.m14.night_start_hour",
    "mechanisms.settings.m14.activities",
    "mechanisms.settings.m2.queries",
    "mechanisms.settings.m6.components.context",
    "mechanisms.settings.m99",
    "entities.roster.0.id",
    "entities.roster.0.traits.calm",
    "entities.roster.0.profile",
    "models.actions.dialog_synthesis",
]
WORDS = [
    "pearl", "portal", "branching", "cyclical", "human", "animal", "primary", "hour", "year",
    "m14", "pdf", "exe", "2025-01-01T09:00:00+00:00", "9999-12-31T23:00:00+00:00", "1790-06-20",
    "llama-3.1-8b", "a/b", ".", "..", "/", "~", "", " ",
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-3, max_value=30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(WORDS),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from([p.rpartition(".")[2] for p in PATHS]), inner, max_size=4)
    ),
    max_leaves=12,
)


def with_value(data: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """``data`` with ``value`` at ``dotted``, making mappings on the way (replacing scalars)."""
    result = dict(data)
    node = result
    *parents, leaf = dotted.split(".")
    for key in parents:
        child = node.get(key)
        node[key] = dict(child) if isinstance(child, dict) else {}
        node = node[key]
    node[leaf] = value
    return result


@st.composite
def structured_files(draw: st.DrawFn) -> str:
    """A valid small scenario with a few fields set to arbitrary values, dumped as YAML."""
    data = dict(BASE)
    for dotted, value in draw(st.lists(st.tuples(st.sampled_from(PATHS), values), max_size=4)):
        data = with_value(data, dotted, value)
    return yaml.safe_dump(data, allow_unicode=True)


FRAGMENTS = [
    "id: fuzz\n", "title: t\n", "description: d\n", "timepoints:\n", "  count: 1\n", "&a ",
    "*a ", "[", "]", "{", "}", ": ", "\n", "- ", "  ", "<<: ", "!!python/object:os.system ",
    "'", '"', "#", "extends: ", "other.yaml", "?", "|", ">", "%YAML 1.1\n", "---\n", "...\n",
    "\t", "\\u0000", "seed: ", "99999999999999999999999", ".inf", ".nan", "~", "é", "\ufeff",
]  # fmt: skip
raw_files = st.one_of(
    st.lists(st.sampled_from(FRAGMENTS), max_size=30).map("".join),
    st.text(max_size=200),
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Runs go below a fresh home, with the offline model."""
    for name in ("TIMEPOINT_DB_URL", "TIMEPOINT_LLM_API_KEY", "OPENROUTER_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("TIMEPOINT_LLM_REGISTRY", raising=False)
    home = tmp_path / "runs"
    monkeypatch.setenv("TIMEPOINT_HOME", str(home))
    return home


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """Exit code and everything printed; ``main`` raising fails the example."""
    code = main(list(argv))
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "Traceback" not in text
    return code, text


def run_folders(home: Path) -> set[str]:
    return {p.name for p in home.glob("2*")} if home.exists() else set()


@settings(FUZZ, max_examples=150, deadline=timedelta(seconds=2))
@given(text=st.one_of(structured_files(), raw_files))
def test_validate_answers_every_file_with_lines_and_an_exit_code(tmp_path, capsys, text):
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8")
    code, output = cli(capsys, "validate", str(path))
    assert code in (0, 2)
    lines = output.strip().splitlines()
    if code == 2:
        assert lines and all(line.strip() for line in lines)


@settings(FUZZ, max_examples=60, deadline=timedelta(seconds=10))
@given(text=st.one_of(structured_files(), raw_files))
def test_run_refuses_what_validate_refuses_and_never_raises(tmp_path, capsys, home, text):
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8")
    valid, _ = cli(capsys, "validate", str(path))
    before = run_folders(home)
    code, output = cli(capsys, "run", str(path), "--quiet", "--set", "timepoints.count=1")
    if valid == 2:
        assert code == 2, output
        assert run_folders(home) == before, "a refused scenario left a run folder"
    else:
        assert code in (0, 1, 2), output


set_paths = st.one_of(
    st.sampled_from(PATHS),
    st.lists(
        st.one_of(st.sampled_from([p.rpartition(".")[2] for p in PATHS]), st.sampled_from("0123")),
        min_size=1,
        max_size=4,
    ).map(".".join),
    st.text(alphabet=string.ascii_lowercase + "._0", max_size=12),
)
set_values = st.one_of(
    values.map(lambda v: yaml.safe_dump(v, default_flow_style=True).strip()),
    st.lists(st.sampled_from(FRAGMENTS), max_size=8).map("".join),
    st.text(max_size=20),
)


@settings(FUZZ, max_examples=80, deadline=timedelta(seconds=10))
@given(pairs=st.lists(st.tuples(set_paths, set_values), min_size=1, max_size=3))
def test_run_answers_every_set_value_without_raising(tmp_path, capsys, home, pairs):
    path = tmp_path / "base.yaml"
    path.write_text(yaml.safe_dump(BASE), encoding="utf-8")
    argv = ["run", str(path), "--quiet"]
    for dotted, value in pairs:
        argv += ["--set", f"{dotted}={value}"]
    before = run_folders(home)
    code, output = cli(capsys, *argv)
    assert code in (0, 1, 2), output
    if code == 2:
        assert run_folders(home) == before, "a refused override left a run folder"
