"""Settings from the environment and the ``timepoint models`` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from timepoint.cli import main
from timepoint.errors import ConfigurationError
from timepoint.llm.registry import Registry
from timepoint.settings import DEFAULT_BASE_URL, Settings, project_root

from .conftest import ROOT


def test_defaults_are_offline_and_say_so(tmp_path: Path) -> None:
    settings = Settings.from_env({}, cwd=tmp_path)
    assert settings.offline
    assert settings.base_url == DEFAULT_BASE_URL
    assert settings.home == tmp_path / "runs"
    assert settings.model is None and settings.rpm is None and settings.db_url is None
    assert settings.describe() == (
        "LLM: offline model (no API key set; set TIMEPOINT_LLM_API_KEY to use an endpoint)"
    )


def test_environment_is_read_and_the_key_never_prints() -> None:
    settings = Settings.from_env(
        {
            "OPENROUTER_API_KEY": "sk-or-hidden",
            "TIMEPOINT_LLM_BASE_URL": "http://127.0.0.1:8080/v1/",
            "TIMEPOINT_LLM_MODEL": "llama-3.1-8b",
            "TIMEPOINT_LLM_RPM": "30",
            "TIMEPOINT_HOME": "/tmp/tp",
            "TIMEPOINT_DB_URL": "postgresql://db/tp",
            "TIMEPOINT_LLM_REGISTRY": "",
        }
    )
    assert not settings.offline
    assert settings.api_key is not None and settings.api_key.get_secret_value() == "sk-or-hidden"
    assert settings.base_url == "http://127.0.0.1:8080/v1"
    assert (settings.model, settings.rpm, settings.db_url) == (
        "llama-3.1-8b",
        30,
        "postgresql://db/tp",
    )
    assert settings.registry_path is None
    for text in (repr(settings), str(settings), settings.describe(), settings.model_dump_json()):
        assert "sk-or-hidden" not in text
    assert "llama-3.1-8b" in settings.describe() and "30 requests/minute" in settings.describe()
    preferred = Settings.from_env({"OPENROUTER_API_KEY": "a", "TIMEPOINT_LLM_API_KEY": "b"})
    assert preferred.api_key is not None and preferred.api_key.get_secret_value() == "b"


def test_the_store_is_found_from_any_folder_of_the_project(tmp_path: Path) -> None:
    root = tmp_path / "project"
    deep = root / "notebooks" / "drafts"
    deep.mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "timepoint"\n')
    (root / "notebooks" / "pyproject.toml").write_text('[project]\nname = "other"\n')
    for folder in (root, root / "notebooks", deep):
        settings = Settings.from_env({}, cwd=folder)
        assert settings.home == root / "runs", folder
        assert settings.describe_store() == (
            f"store: {root / 'runs'} (project root {root}, found by pyproject.toml)"
        )
    assert project_root(deep) == (root, "pyproject.toml")
    assert Settings.from_env({}, cwd=ROOT / "notebooks").home == ROOT / "runs"


def test_a_timepoint_marker_makes_a_project_root_and_timepoint_home_wins(tmp_path: Path) -> None:
    (tmp_path / ".timepoint").touch()
    (tmp_path / "analysis").mkdir()
    assert Settings.from_env({}, cwd=tmp_path / "analysis").home == tmp_path / "runs"
    chosen = Settings.from_env({"TIMEPOINT_HOME": "/srv/tp"}, cwd=tmp_path / "analysis")
    assert chosen.home == Path("/srv/tp")
    assert chosen.describe_store() == "store: /srv/tp (TIMEPOINT_HOME)"
    url = Settings.from_env({"TIMEPOINT_DB_URL": "postgresql://me:pw@db/tp"}, cwd=tmp_path)
    assert url.describe_store().startswith("store: postgresql://db/tp (TIMEPOINT_DB_URL)")


def test_commands_say_which_store_they_use(tmp_path: Path) -> None:
    notebooks = ROOT / "notebooks"
    env = {k: v for k, v in os.environ.items() if k not in ("TIMEPOINT_HOME", "TIMEPOINT_DB_URL")}
    done = subprocess.run(
        [sys.executable, "-m", "timepoint.cli", "runs", "--limit", "1"],
        cwd=notebooks,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stderr.splitlines()[0] == (
        f"store: {ROOT / 'runs'} (project root {ROOT}, found by pyproject.toml)"
    )
    env["TIMEPOINT_HOME"] = str(tmp_path / "elsewhere")
    done = subprocess.run(
        [sys.executable, "-m", "timepoint.cli", "runs"],
        cwd=notebooks,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stderr.splitlines()[0] == f"store: {tmp_path / 'elsewhere'} (TIMEPOINT_HOME)"


def test_bad_numbers_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="TIMEPOINT_LLM_RPM='fast' is not a whole number"):
        Settings.from_env({"TIMEPOINT_LLM_RPM": "fast"})
    with pytest.raises(ConfigurationError, match="must be positive"):
        Settings.from_env({"TIMEPOINT_LLM_TIMEOUT": "-1"})


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.model = "x"  # type: ignore[misc]


def test_models_command_prints_registry_and_choices(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--preference", "quality"]) == 0
    out = capsys.readouterr().out
    assert "llama-3.1-405b" in out and "qwen (explicit only)" in out
    assert "selection (quality):" in out
    assert "portal_backward_reasoning" in out


def test_models_command_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert len(payload["models"]) == 12
    assert {row["action"] for row in payload["selection"]} >= {"dialog_synthesis", "general"}
    assert all(row["model"] not in row["fallbacks"] for row in payload["selection"])


def test_models_command_reports_a_bad_registry_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "--registry", str(tmp_path / "none.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_cli_and_models_command_import_no_heavy_modules() -> None:
    code = (
        "import sys, timepoint.cli, timepoint.commands.models, timepoint.llm; "
        "heavy = {'pandas', 'dask', 'altair', 'papermill'} & set(sys.modules); "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_bad_registry_entry_names_the_file_the_entry_and_the_field(tmp_path: Path) -> None:
    path = tmp_path / "models.yaml"
    path.write_text(
        "models:\n"
        "  - {id: local-qwen, openrouter_id: qwen, license: apache-2.0, context_window: 8192,\n"
        "     max_output: 512, input_usd_per_m: 0, output_usd_per_m: 0, speed: 0.5,\n"
        "     qualty: 0.5, capabilities: [dialog, telepathy]}\n"
    )
    assert main(["models", "--registry", str(path)]) == 2
    with pytest.raises(ConfigurationError) as caught:
        Registry.load(path)
    message = str(caught.value)
    assert f"{path}: models[0]: qualty: unknown key; did you mean 'quality'?" in message
    assert f"{path}: models[0]: quality: required field is missing" in message
    assert f"{path}: models[0]: capabilities[1]: 'telepathy' is not one of" in message
