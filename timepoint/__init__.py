"""Timepoint: LLM-driven temporal simulation.

The root API is small on purpose; ``tests/test_public_api.py`` pins it. Names are imported on
first use so that ``import timepoint`` (and the CLI's start-up) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from timepoint.errors import TimepointError

if TYPE_CHECKING:
    from timepoint.batch import estimate_batch, expand_grid, run_batch
    from timepoint.calibrate import forecast, load_questions
    from timepoint.engine.run import Run, compare, load_run
    from timepoint.engine.runner import RunFailed, run
    from timepoint.scenario.schema import Scenario

_LAZY: dict[str, str] = {
    "Run": "timepoint.engine.run",
    "load_run": "timepoint.engine.run",
    "RunFailed": "timepoint.engine.runner",
    "run": "timepoint.engine.runner",
    "Scenario": "timepoint.scenario.schema",
    "compare": "timepoint.engine.run",
    "estimate_batch": "timepoint.batch",
    "forecast": "timepoint.calibrate",
    "load_questions": "timepoint.calibrate",
    "expand_grid": "timepoint.batch",
    "run_batch": "timepoint.batch",
}

__all__ = [
    "Run",
    "RunFailed",
    "Scenario",
    "TimepointError",
    "compare",
    "estimate_batch",
    "expand_grid",
    "forecast",
    "load_questions",
    "load_run",
    "run",
    "run_batch",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'timepoint' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
