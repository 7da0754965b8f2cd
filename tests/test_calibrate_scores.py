"""Scores, intervals and reliability bins against small cases computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from timepoint.calibrate.ensemble import jeffreys, share, wilson
from timepoint.calibrate.reliability import ece, reliability
from timepoint.calibrate.scores import (
    brier,
    brier_skill,
    fair_brier,
    log_score,
    murphy,
    recalibration,
)
from timepoint.errors import CalibrationError

P = [0.9, 0.9, 0.2, 0.2, 0.2, 0.6]
Y = [1, 0, 0, 0, 1, 1]


def test_brier_is_the_mean_squared_error():
    # (0.01 + 0.81 + 0.04 + 0.04 + 0.64 + 0.16) / 6
    assert brier(P, Y) == pytest.approx(1.70 / 6)


def test_fair_brier_removes_the_ensemble_sampling_term():
    # 3 of 4 said yes, outcome yes: (0.75-1)^2 - 3*1/(16*3) = 0.0625 - 0.0625 = 0
    # 1 of 2 said yes, outcome no: (0.5)^2 - 1*1/(4*1) = 0
    assert fair_brier([3, 1], [4, 2], [1, 0]) == pytest.approx(0.0)
    # 2 of 5, outcome yes: (0.4-1)^2 - 2*3/(25*4) = 0.36 - 0.06
    assert fair_brier([2], [5], [1]) == pytest.approx(0.30)
    with pytest.raises(CalibrationError, match="at least 2 runs"):
        fair_brier([1], [1], [1])


def test_fair_brier_is_unbiased_for_the_infinite_ensemble():
    rng = np.random.default_rng(1)
    truth, m = 0.3, 4
    k = rng.binomial(m, truth, size=200_000)
    y = rng.binomial(1, 0.7, size=k.size)
    infinite = 0.7 * (truth - 1) ** 2 + 0.3 * truth**2
    assert fair_brier(k, np.full_like(k, m), y) == pytest.approx(infinite, abs=0.005)
    assert brier(k / m, y) > infinite + 0.04  # the raw score is biased by 0.21/4


def test_brier_skill_against_climatology_a_constant_and_a_market():
    base = np.mean(Y)  # 0.5, so climatology and 0.5 agree: BS_ref = 0.25
    assert base == 0.5
    assert brier_skill(P, Y) == pytest.approx(1 - (1.70 / 6) / 0.25)
    assert brier_skill(P, Y, 0.5) == pytest.approx(1 - (1.70 / 6) / 0.25)
    market = [1, 0, 0, 0, 1, 1]
    with pytest.raises(CalibrationError, match="perfect"):
        brier_skill(P, Y, market)
    assert brier_skill(Y, Y, [0.5] * 6) == 1.0
    with pytest.raises(CalibrationError, match="climatology"):
        brier_skill(P, Y, "persistence")


def test_log_score_is_the_mean_negative_log_likelihood():
    expected = -(math.log(0.9) + math.log(0.1) + 2 * math.log(0.8) + math.log(0.2)) / 6
    expected -= math.log(0.6) / 6
    assert log_score(P, Y) == pytest.approx(expected)
    assert math.isfinite(log_score([0.0], [1]))


def test_murphy_decomposition_adds_up_and_matches_hand_values():
    parts = murphy(P, Y)
    # groups: 0.9 -> obs 0.5 (n2); 0.2 -> 1/3 (n3); 0.6 -> 1 (n1); base 0.5
    rel = (2 * 0.4**2 + 3 * (0.2 - 1 / 3) ** 2 + 1 * 0.4**2) / 6
    res = (2 * 0**2 + 3 * (1 / 3 - 0.5) ** 2 + 1 * 0.5**2) / 6
    assert (parts.reliability, parts.resolution, parts.uncertainty) == pytest.approx(
        (rel, res, 0.25)
    )
    assert parts.reliability - parts.resolution + parts.uncertainty == pytest.approx(parts.brier)


def test_ece_and_reliability_bins():
    # uniform 2 bins: [0,.5): forecasts .2,.2,.2 obs 1/3 ; [.5,1]: .9,.9,.6 mean .8 obs 2/3
    assert ece(P, Y, bins=2) == pytest.approx(0.5 * abs(1 / 3 - 0.2) + 0.5 * abs(2 / 3 - 0.8))
    found = reliability(P, Y, bins=2, bootstrap=200)
    assert [(b.lower, b.upper, b.count) for b in found] == [(0.0, 0.5, 3), (0.5, 1.0, 3)]
    assert found[1].mean_forecast == pytest.approx(0.8)
    for b in found:
        assert 0 <= b.band_low <= b.observed <= b.band_high <= 1
    quantile = reliability(P, Y, bins=3, strategy="quantile", bootstrap=0)
    assert sum(b.count for b in quantile) == 6
    assert [b.count for b in quantile] == [4, 2]  # edges 0, 0.2, 0.7, 1: the first is empty
    with pytest.raises(CalibrationError, match="'uniform' or 'quantile'"):
        reliability(P, Y, strategy="log")  # type: ignore[arg-type]


def test_wilson_interval_and_jeffreys_estimate():
    low, high = wilson(7, 10, level=0.95)
    assert (low, high) == pytest.approx((0.3968, 0.8922), abs=1e-4)  # textbook values
    assert wilson(0, 10, 0.9)[0] == 0.0 and wilson(10, 10, 0.9)[1] == 1.0
    assert share(3, 12) == 0.25
    assert jeffreys(0, 10) == pytest.approx(0.5 / 11)
    with pytest.raises(CalibrationError, match="n >= 1"):
        wilson(1, 0)


def test_recalibration_recovers_slope_one_for_calibrated_forecasts():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.02, 0.98, 4000)
    y = rng.binomial(1, p)
    intercept, slope = recalibration(p, y)
    assert abs(intercept) < 0.15 and abs(slope - 1) < 0.12
    overconfident = np.clip(0.5 + 1.6 * (p - 0.5), 0.001, 0.999)
    assert recalibration(overconfident, y)[1] < 0.8


def test_bad_inputs_name_the_fix():
    with pytest.raises(CalibrationError, match="one outcome per forecast"):
        brier([0.1, 0.2], [1])
    with pytest.raises(CalibrationError, match="outside \\[0, 1\\]"):
        brier([1.2], [1])
    with pytest.raises(CalibrationError, match="1 for yes and 0 for no"):
        brier([0.2], [2])


def test_bootstrap_bands_cover_a_calibrated_forecasters_true_frequency_at_their_level():
    rng = np.random.default_rng(7)
    covered = total = 0
    for _ in range(60):
        p = rng.uniform(0, 1, 300)
        y = (rng.uniform(0, 1, 300) < p).astype(float)  # outcomes drawn from the forecasts
        for b in reliability(p, y, bins=5, bootstrap=300, level=0.9, seed=int(rng.integers(1e6))):
            in_bin = (p >= b.lower) & ((p < b.upper) | (b.upper == 1.0))
            truth = p[in_bin].mean()  # calibrated: the bin's true frequency is its mean forecast
            covered += b.band_low <= truth <= b.band_high
            total += 1
    assert total == 300
    assert 0.84 <= covered / total <= 0.96, covered / total
