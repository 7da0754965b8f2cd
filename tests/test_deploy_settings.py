"""What a container reads: secrets from files, the Dask scheduler from Dask's own variable."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from timepoint.commands import serve
from timepoint.commands.worker import batch_target
from timepoint.errors import ConfigurationError
from timepoint.settings import Settings

URL = "postgresql://timepoint@postgres:5432/timepoint"


def test_the_database_password_comes_from_a_file_and_never_prints(tmp_path: Path) -> None:
    secret = tmp_path / "db_password"
    secret.write_text("p@ss:w/rd\n")  # characters a URL must escape; the newline is dropped
    settings = Settings.from_env(
        {"TIMEPOINT_DB_URL": URL, "TIMEPOINT_DB_PASSWORD_FILE": str(secret)}
    )
    assert settings.db_url == "postgresql://timepoint:p%40ss%3Aw%2Frd@postgres:5432/timepoint"
    for text in (repr(settings), str(settings), settings.describe_store()):
        assert "p%40ss" not in text and "p@ss" not in text


@pytest.mark.parametrize(
    ("url", "content", "expected"),
    [
        (None, "pw", "TIMEPOINT_DB_URL is not"),
        (URL, "\n", "the file is empty"),
        ("postgresql://postgres:5432/timepoint", "pw", "names no user"),
        ("postgresql://timepoint:s3cr3t@postgres/timepoint", "pw", "already holds a password"),
    ],
)
def test_a_password_file_that_does_not_fit_the_url_is_refused(
    tmp_path: Path, url: str | None, content: str, expected: str
) -> None:
    secret = tmp_path / "db_password"
    secret.write_text(content)
    environ = {"TIMEPOINT_DB_PASSWORD_FILE": str(secret)}
    if url:
        environ["TIMEPOINT_DB_URL"] = url
    with pytest.raises(ConfigurationError, match=expected) as error:
        Settings.from_env(environ)
    assert "s3cr3t" not in str(error.value)


def test_a_missing_secret_file_names_the_variable_and_the_fix(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(ConfigurationError, match=r"TIMEPOINT_LLM_API_KEY_FILE=.*mount the secret"):
        Settings.from_env({"TIMEPOINT_LLM_API_KEY_FILE": str(missing)})


def test_the_endpoint_key_comes_from_a_file_unless_the_variable_is_set(tmp_path: Path) -> None:
    key = tmp_path / "key"
    key.write_text("sk-from-file\n")
    from_file = Settings.from_env({"TIMEPOINT_LLM_API_KEY_FILE": str(key)})
    assert from_file.api_key is not None
    assert from_file.api_key.get_secret_value() == "sk-from-file"
    both = Settings.from_env(
        {"TIMEPOINT_LLM_API_KEY_FILE": str(key), "TIMEPOINT_LLM_API_KEY": "sk-env"}
    )
    assert both.api_key is not None and both.api_key.get_secret_value() == "sk-env"


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    serve.register(parser)
    return parser.parse_args(list(argv))


@pytest.mark.parametrize(
    ("argv", "scheduler", "expected"),
    [
        ((), None, ("local", None)),
        ((), "tcp://scheduler:8786", ("dask", "tcp://scheduler:8786")),
        (("--cluster", "tcp://other:8786"), "tcp://scheduler:8786", ("dask", "tcp://other:8786")),
        (("--backend", "local"), "tcp://scheduler:8786", ("local", None)),
        (("--backend", "dask"), None, ("dask", None)),  # a LocalCluster
    ],
)
def test_dask_scheduler_address_sends_batches_to_that_scheduler(
    argv: tuple[str, ...], scheduler: str | None, expected: tuple[str, str | None]
) -> None:
    environ = {"DASK_SCHEDULER_ADDRESS": scheduler} if scheduler else {}
    settings = Settings.from_env(environ)
    assert batch_target(_args(*argv), settings) == expected
    command = serve.worker_command(_args(*argv), settings)
    assert command[command.index("--backend") + 1] == expected[0]
    assert (expected[1] in command) if expected[1] else "--cluster" not in command
