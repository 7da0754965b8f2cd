"""Settings from the environment and the ``timepoint models`` command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from timepoint.cli import main
from timepoint.errors import ConfigurationError
from timepoint.settings import DEFAULT_BASE_URL, Settings


def test_defaults_are_offline_and_say_so() -> None:
    settings = Settings.from_env({})
    assert settings.offline
    assert settings.base_url == DEFAULT_BASE_URL
    assert settings.home == Path("runs")
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
