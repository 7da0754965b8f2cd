"""Shared fixtures: every test gets its own TIMEPOINT_HOME and the offline model."""

from __future__ import annotations

from pathlib import Path

import pytest

from timepoint.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
JEFFERSON = SCENARIOS / "showcase" / "jefferson_dinner.yaml"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Offline settings whose home (runs and database) is a fresh temporary folder."""
    return Settings(home=tmp_path / "runs")
