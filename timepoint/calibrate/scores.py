"""Scores of probability forecasts against yes/no outcomes, in plain numpy.

Every function takes forecasts ``p`` in [0, 1] and outcomes ``y`` in {0, 1} (sequences of the
same length). Lower is better for the Brier score, the fair Brier score, the log score (the
mean negative log-likelihood) and ECE; higher is better for the Brier skill score.

- :func:`brier`: mean of ``(p − y)²``.
- :func:`fair_brier`: Ferro (2014)'s fair Brier score of raw ensembles, so that ensembles of
  different sizes can be compared: for ``k`` yes of ``m`` members it is
  ``(k/m − y)² − k(m − k) / (m²(m − 1))``.
- :func:`brier_skill`: ``1 − BS / BS_ref`` against a reference forecast: ``"climatology"``
  (the outcomes' base rate), a constant such as 0.5, or one probability per question (a market).
- :func:`log_score`: mean of ``−ln p`` when yes and ``−ln(1 − p)`` when no (natural log).
- :func:`murphy`: the decomposition ``BS = reliability − resolution + uncertainty``, exact when
  forecasts are grouped by their distinct values.
- :func:`ece`: expected calibration error over bins (see :mod:`timepoint.calibrate.reliability`).
- :func:`recalibration`: intercept and slope of a logistic fit of ``y`` on ``logit(p)``; a
  calibrated forecaster has intercept 0 and slope 1.
- :func:`ensemble_slope`: the linear reliability slope of ensemble shares ``k/m``, raw and
  corrected for the ensembles' own sampling noise (which flattens the raw slope).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from timepoint.errors import CalibrationError

Floats = NDArray[np.float64]
#: forecasts are clipped to [EPS, 1 − EPS] before taking logarithms
EPS = 1e-6


def as_arrays(p: Sequence[float] | Floats, y: Sequence[float] | Floats) -> tuple[Floats, Floats]:
    """Forecasts and outcomes as float arrays, checked.

    Raises:
        CalibrationError: different lengths, no forecasts, a probability outside [0, 1] or an
            outcome other than 0 or 1.
    """
    forecasts = np.asarray(p, dtype=float)
    outcomes = np.asarray(y, dtype=float)
    if forecasts.ndim != 1 or forecasts.shape != outcomes.shape:
        raise CalibrationError(
            f"{forecasts.size} forecasts and {outcomes.size} outcomes: give one outcome per "
            "forecast, as flat sequences"
        )
    if forecasts.size == 0:
        raise CalibrationError("no forecasts to score; resolve some questions first")
    if np.any(~np.isfinite(forecasts)) or np.any((forecasts < 0) | (forecasts > 1)):
        raise CalibrationError("a forecast probability is outside [0, 1]; give probabilities")
    if np.any((outcomes != 0) & (outcomes != 1)):
        raise CalibrationError("an outcome is neither 0 nor 1; give 1 for yes and 0 for no")
    return forecasts, outcomes


def brier(p: Sequence[float] | Floats, y: Sequence[float] | Floats) -> float:
    """The Brier score: mean squared difference between forecast and outcome."""
    forecasts, outcomes = as_arrays(p, y)
    return float(np.mean((forecasts - outcomes) ** 2))


def fair_brier(
    yes: Sequence[int] | NDArray[np.int64],
    members: Sequence[int] | NDArray[np.int64],
    y: Sequence[float] | Floats,
) -> float:
    """Ferro's fair Brier score of raw ensembles: ``yes[i]`` of ``members[i]`` runs said yes.

    The ordinary Brier score of ``k/m`` penalizes small ensembles for their sampling noise; the
    correction ``k(m − k)/(m²(m − 1))`` removes that, so the expected score is the one an
    infinitely large ensemble would get.

    Raises:
        CalibrationError: an ensemble of fewer than 2 members, or ``yes`` outside ``0..m``.
    """
    k = np.asarray(yes, dtype=float)
    m = np.asarray(members, dtype=float)
    if k.shape != m.shape:
        raise CalibrationError(f"{k.size} yes counts and {m.size} ensemble sizes: give one each")
    if np.any(m < 2):
        raise CalibrationError("the fair Brier score needs ensembles of at least 2 runs")
    if np.any((k < 0) | (k > m)):
        raise CalibrationError("a yes count is negative or larger than its ensemble")
    shares, outcomes = as_arrays(k / m, y)
    correction = k * (m - k) / (m * m * (m - 1))
    return float(np.mean((shares - outcomes) ** 2 - correction))


def reference_forecasts(
    reference: str | float | Sequence[float] | Floats, outcomes: Floats
) -> Floats:
    """The reference forecast per question: ``"climatology"`` (the base rate of ``outcomes``),
    a constant probability, or one probability per question.

    Raises:
        CalibrationError: an unknown name, or a reference of the wrong length or range.
    """
    if isinstance(reference, str):
        if reference != "climatology":
            raise CalibrationError(
                f"reference {reference!r}: give 'climatology', a probability such as 0.5, or "
                "one probability per question (a market price)"
            )
        return np.full_like(outcomes, outcomes.mean())
    if isinstance(reference, int | float):
        return as_arrays(np.full_like(outcomes, float(reference)), outcomes)[0]
    return as_arrays(np.asarray(reference, dtype=float), outcomes)[0]


def brier_skill(
    p: Sequence[float] | Floats,
    y: Sequence[float] | Floats,
    reference: str | float | Sequence[float] | Floats = "climatology",
) -> float:
    """The Brier skill score ``1 − BS / BS_ref``: 1 is perfect, 0 no better than the reference.

    Raises:
        CalibrationError: the reference scores 0 (it was perfect), so skill is undefined.
    """
    forecasts, outcomes = as_arrays(p, y)
    base = float(np.mean((reference_forecasts(reference, outcomes) - outcomes) ** 2))
    if base == 0:
        raise CalibrationError(
            "the reference forecast is perfect (Brier score 0; e.g. climatology when every "
            "outcome is the same), so Brier skill is undefined; score more varied questions"
        )
    return 1.0 - float(np.mean((forecasts - outcomes) ** 2)) / base


def log_score(p: Sequence[float] | Floats, y: Sequence[float] | Floats) -> float:
    """Mean negative log-likelihood (natural log) of the outcomes; forecasts are clipped to
    [1e-6, 1 − 1e-6], so use smoothed (Jeffreys) probabilities for ensembles."""
    forecasts, outcomes = as_arrays(p, y)
    clipped = np.clip(forecasts, EPS, 1 - EPS)
    likelihood = np.where(outcomes == 1, clipped, 1 - clipped)
    return float(-np.mean(np.log(likelihood)))


@dataclass(frozen=True)
class Murphy:
    """Murphy's decomposition of the Brier score: ``brier = reliability − resolution +
    uncertainty`` (exact when forecasts are grouped by distinct value)."""

    reliability: float
    resolution: float
    uncertainty: float
    brier: float


def murphy(p: Sequence[float] | Floats, y: Sequence[float] | Floats) -> Murphy:
    """Reliability, resolution and uncertainty, grouping forecasts by their distinct values."""
    forecasts, outcomes = as_arrays(p, y)
    total = forecasts.size
    base = outcomes.mean()
    reliability = resolution = 0.0
    for value in np.unique(forecasts):
        chosen = forecasts == value
        count = int(chosen.sum())
        observed = outcomes[chosen].mean()
        reliability += count * (value - observed) ** 2
        resolution += count * (observed - base) ** 2
    return Murphy(
        reliability=float(reliability / total),
        resolution=float(resolution / total),
        uncertainty=float(base * (1 - base)),
        brier=float(np.mean((forecasts - outcomes) ** 2)),
    )


def recalibration(
    p: Sequence[float] | Floats, y: Sequence[float] | Floats, iterations: int = 50
) -> tuple[float, float]:
    """``(intercept, slope)`` of the logistic regression ``P(y) = σ(a + b·logit p)``.

    Fitted by Newton–Raphson (forecasts clipped to [1e-6, 1 − 1e-6]). A slope below 1 means
    overconfident forecasts, above 1 underconfident ones.

    Raises:
        CalibrationError: the outcomes are all the same, so no slope can be fitted.
    """
    forecasts, outcomes = as_arrays(p, y)
    if outcomes.min() == outcomes.max():
        raise CalibrationError("every outcome is the same; a recalibration slope needs both")
    clipped = np.clip(forecasts, EPS, 1 - EPS)
    design = np.column_stack([np.ones_like(clipped), np.log(clipped / (1 - clipped))])

    def loglik(b: Floats) -> float:
        z = design @ b
        return float(np.sum(outcomes * z - np.logaddexp(0.0, z)))

    beta = np.array([0.0, 1.0])
    for _ in range(iterations):
        fitted = np.exp(-np.logaddexp(0.0, -(design @ beta)))
        gradient = design.T @ (outcomes - fitted)
        hessian = design.T @ (design * (fitted * (1 - fitted))[:, None])
        step = np.linalg.solve(hessian + 1e-9 * np.eye(2), gradient)
        current = loglik(beta)
        while loglik(beta + step) < current and np.max(np.abs(step)) > 1e-12:
            step = step / 2
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            break
    return float(beta[0]), float(beta[1])


def ensemble_slope(
    yes: Sequence[int] | NDArray[np.int64],
    members: int,
    y: Sequence[float] | Floats,
) -> tuple[float, float]:
    """``(raw, corrected)`` slopes of the linear regression of outcomes on ensemble shares.

    A share ``k/m`` is the ensemble's probability plus binomial noise of variance
    ``p(1 − p)/m``, which flattens the raw slope by ``var(p)/var(k/m)`` (regression dilution).
    The corrected slope divides ``cov(k/m, y)`` by ``var(k/m)`` minus the noise variance,
    estimated without bias as ``mean(k/m · (1 − k/m)) / (m − 1)``. A calibrated ensemble has
    a corrected slope of 1.

    Raises:
        CalibrationError: fewer than 2 members, or shares without spread beyond the noise.
    """
    if members < 2:
        raise CalibrationError("the corrected slope needs ensembles of at least 2 runs")
    shares, outcomes = as_arrays(np.asarray(yes, dtype=float) / members, y)
    spread = float(np.var(shares))
    noise = float(np.mean(shares * (1 - shares))) / (members - 1)
    if spread <= 0 or spread <= noise:
        raise CalibrationError(
            "the ensemble shares vary no more than their sampling noise; use more questions "
            "with probabilities spread over (0, 1)"
        )
    covariance = float(np.mean((shares - shares.mean()) * (outcomes - outcomes.mean())))
    return covariance / spread, covariance / (spread - noise)
