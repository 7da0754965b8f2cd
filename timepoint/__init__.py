"""Timepoint: LLM-driven temporal simulation."""

from timepoint.errors import TimepointError

__all__ = ["TimepointError"]
__version__ = "0.1.0"
