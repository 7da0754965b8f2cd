"""Shared fixtures: every test gets its own TIMEPOINT_HOME and the offline model.

Mechanism and mode tests (``test_mech_*``, ``test_modes_*``) that take the ``settings`` fixture
run twice: with the embedded offline model, and over HTTP against the offline model served on
127.0.0.1 through the OpenAI-compatible client. Their assertions are the same, so every effect
they check reaches the model through the prompt alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from timepoint.commands.offline_server import offline_server
from timepoint.llm.base import LanguageModel
from timepoint.llm.offline import OfflineModel
from timepoint.llm.offline_server import OfflineServer
from timepoint.llm.openai_compat import OpenAICompatibleModel
from timepoint.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
JEFFERSON = SCENARIOS / "showcase" / "jefferson_dinner.yaml"
CHANNELS = ("in-process", "http")
_BOTH_CHANNELS = ("test_mech_", "test_modes_")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    module = metafunc.module.__name__.rpartition(".")[2]
    if "channel" in metafunc.fixturenames and module.startswith(_BOTH_CHANNELS):
        metafunc.parametrize("channel", CHANNELS)


@pytest.fixture
def channel(request: pytest.FixtureRequest) -> str:
    """How a test's runs reach the model: ``in-process`` unless parametrized."""
    return getattr(request, "param", "in-process")


@pytest.fixture(scope="session")
def offline_endpoint() -> Iterator[OfflineServer]:
    """The offline model served over HTTP on 127.0.0.1 for the whole session."""
    with offline_server() as server:
        yield server


@pytest.fixture
def settings(tmp_path: Path, channel: str, request: pytest.FixtureRequest) -> Settings:
    """Settings whose home (runs and database) is a fresh temporary folder.

    On the ``http`` channel they point at the offline endpoint, as a user's settings would.
    """
    home = tmp_path / "runs"
    if channel == "in-process":
        return Settings(home=home)
    server: OfflineServer = request.getfixturevalue("offline_endpoint")
    return Settings(home=home, base_url=server.url, api_key=SecretStr("offline-endpoint"))


@pytest.fixture
def channel_model(channel: str, request: pytest.FixtureRequest) -> Iterator[LanguageModel]:
    """The channel's provider: the embedded offline model, or the HTTP client to its endpoint."""
    if channel == "in-process":
        yield OfflineModel(seed=0)
        return
    server: OfflineServer = request.getfixturevalue("offline_endpoint")
    with OpenAICompatibleModel(server.url, "k", default_model="offline-composer") as client:
        yield client
