"""From an ensemble of yes/no runs to a probability: the raw share, a Wilson interval and a
Jeffreys-smoothed estimate.

With ``k`` runs of ``n`` answering *yes*, the forecast is ``p̂ = k/n``. The Wilson score
interval covers the ensemble's own probability of *yes* at the requested level without
collapsing to a point at 0 or 1; the Jeffreys estimate ``(k + ½)/(n + 1)`` (the mean of the
Beta(k + ½, n − k + ½) posterior) never reaches 0 or 1, so log scores stay finite.
"""

from __future__ import annotations

import math
from statistics import NormalDist

from timepoint.errors import CalibrationError


def _check(k: int, n: int) -> None:
    if n < 1 or not 0 <= k <= n:
        raise CalibrationError(f"an ensemble of {n} runs with {k} yes: give n >= 1 and 0 <= k <= n")


def share(k: int, n: int) -> float:
    """The raw ensemble probability ``k/n``."""
    _check(k, n)
    return k / n


def wilson(k: int, n: int, level: float = 0.9) -> tuple[float, float]:
    """The Wilson score interval of ``k`` successes in ``n`` trials at ``level`` (two-sided).

    Raises:
        CalibrationError: ``n < 1``, ``k`` outside ``0..n`` or ``level`` outside (0, 1).
    """
    _check(k, n)
    if not 0 < level < 1:
        raise CalibrationError(f"level={level}: give a coverage strictly between 0 and 1")
    z = NormalDist().inv_cdf(0.5 + level / 2)
    p = k / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def jeffreys(k: int, n: int) -> float:
    """The Jeffreys-smoothed probability ``(k + 0.5) / (n + 1)``, strictly inside (0, 1)."""
    _check(k, n)
    return (k + 0.5) / (n + 1)
