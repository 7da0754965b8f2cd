"""Timepoint: LLM-driven temporal simulation.

The root API is small on purpose; ``tests/test_public_api.py`` pins it.
"""

from timepoint.engine.run import Run, load_run
from timepoint.engine.runner import RunFailed, run
from timepoint.errors import TimepointError
from timepoint.scenario.schema import Scenario

__all__ = ["Run", "RunFailed", "Scenario", "TimepointError", "load_run", "run"]
__version__ = "0.1.0"
