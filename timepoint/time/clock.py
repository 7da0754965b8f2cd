"""Calendar arithmetic for timepoint steps (minute … year); it lives with the scenario schema,
whose range check uses it."""

from __future__ import annotations

from timepoint.scenario.clock import advance

__all__ = ["advance"]
