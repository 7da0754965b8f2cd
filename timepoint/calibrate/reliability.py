"""Reliability diagrams and the expected calibration error.

Forecasts are put into bins, either of equal width over [0, 1] (``uniform``) or holding
about equal numbers of forecasts (``quantile``). Each bin reports its mean forecast and the
observed frequency of *yes*; a calibrated forecaster's bins lie on the diagonal. The band of
each bin is a bootstrap interval of its observed frequency: questions are resampled with
replacement (bin edges fixed) and the band holds the central ``level`` of the resampled
frequencies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from timepoint.calibrate.scores import Floats, as_arrays
from timepoint.errors import CalibrationError

Strategy = Literal["uniform", "quantile"]


@dataclass(frozen=True)
class Bin:
    """One bin of a reliability diagram."""

    lower: float
    upper: float
    count: int
    mean_forecast: float
    observed: float
    band_low: float
    band_high: float


def bin_edges(forecasts: Floats, bins: int, strategy: Strategy) -> Floats:
    """Edges of ``bins`` bins: equal width over [0, 1], or at the forecasts' quantiles.

    Raises:
        CalibrationError: fewer than one bin or an unknown strategy.
    """
    if bins < 1:
        raise CalibrationError(f"bins={bins}: give at least 1 bin")
    if strategy == "uniform":
        return np.linspace(0.0, 1.0, bins + 1)
    if strategy == "quantile":
        edges = np.quantile(forecasts, np.linspace(0.0, 1.0, bins + 1))
        edges[0], edges[-1] = 0.0, 1.0
        return np.asarray(np.unique(edges), dtype=float)
    raise CalibrationError(f"strategy {strategy!r}: give 'uniform' or 'quantile'")


def assign(forecasts: Floats, edges: Floats) -> np.ndarray:
    """The bin index of each forecast; the last bin includes 1."""
    return np.clip(np.searchsorted(edges, forecasts, side="right") - 1, 0, edges.size - 2)


def ece(
    p: Sequence[float] | Floats,
    y: Sequence[float] | Floats,
    bins: int = 10,
    strategy: Strategy = "uniform",
) -> float:
    """Expected calibration error: ``Σ n_b/N · |observed_b − mean forecast_b|`` over bins."""
    forecasts, outcomes = as_arrays(p, y)
    edges = bin_edges(forecasts, bins, strategy)
    index = assign(forecasts, edges)
    total = 0.0
    for b in np.unique(index):
        chosen = index == b
        total += chosen.sum() * abs(outcomes[chosen].mean() - forecasts[chosen].mean())
    return float(total / forecasts.size)


def reliability(
    p: Sequence[float] | Floats,
    y: Sequence[float] | Floats,
    bins: int = 10,
    strategy: Strategy = "uniform",
    *,
    bootstrap: int = 1000,
    level: float = 0.9,
    seed: int = 0,
) -> list[Bin]:
    """The non-empty bins of a reliability diagram, with bootstrap bands.

    Args:
        p: forecast probabilities.
        y: outcomes (1 yes, 0 no).
        bins: number of bins.
        strategy: ``uniform`` (equal width) or ``quantile`` (equal counts).
        bootstrap: resamples for the bands (0: bands equal the observed frequency).
        level: central coverage of the bands.
        seed: seed of the resampling.
    """
    forecasts, outcomes = as_arrays(p, y)
    if not 0 < level < 1:
        raise CalibrationError(f"level={level}: give a coverage strictly between 0 and 1")
    edges = bin_edges(forecasts, bins, strategy)
    index = assign(forecasts, edges)
    rng = np.random.default_rng(seed)
    samples = [rng.integers(0, forecasts.size, forecasts.size) for _ in range(bootstrap)]
    found = []
    for b in np.unique(index):
        chosen = index == b
        observed = float(outcomes[chosen].mean())
        resampled = [outcomes[s][index[s] == b].mean() for s in samples if np.any(index[s] == b)]
        if resampled:
            low, high = np.quantile(resampled, [(1 - level) / 2, (1 + level) / 2])
        else:
            low = high = observed
        found.append(
            Bin(
                lower=float(edges[b]),
                upper=float(edges[b + 1]),
                count=int(chosen.sum()),
                mean_forecast=float(forecasts[chosen].mean()),
                observed=observed,
                band_low=float(low),
                band_high=float(high),
            )
        )
    return found
