"""The forecasting pipeline checked against questions whose true probability is known.

Run: ``python benchmarks/calibration_pipeline.py [--questions 1000] [--n 40] [--workers 2]``

Draws ``--questions`` true probabilities uniformly over (0.02, 0.98) and a resolution for each
from its probability. The offline model is built with those probabilities planted (a
construction parameter, like its leak rate): a run whose scenario names a question's key ends
with ``Outcome <key>: yes`` with that probability, and nothing but the prompt tells the model
which questions a run is about. ``tp``'s forecasting then runs as for any question set: one
batch (each group of 100 questions shares its ``--n`` runs), an event extractor per question,
``p̂ = k/N`` with a 90% Wilson interval.

Prints the reliability slopes (linear, raw and corrected for the ensembles' sampling noise;
logistic recalibration of the Jeffreys-smoothed forecasts), the share of 90% Wilson intervals
that cover the true probability, and the scores. Targets: corrected slope 1 ± 0.1, coverage
≥ 85%.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from timepoint.calibrate.forecast import Forecast, forecast_many
from timepoint.calibrate.scores import brier, ensemble_slope, log_score, recalibration
from timepoint.calibrate.synthetic import planted, write_synthetic_set
from timepoint.llm.offline import OfflineModel
from timepoint.settings import Settings

SLOPE_TOLERANCE = 0.1
COVERAGE_TARGET = 0.85


@dataclass(frozen=True)
class Proof:
    """What the check found."""

    questions: int
    runs: int
    raw_slope: float
    corrected_slope: float
    logistic_slope: float
    coverage: float
    brier: float
    log_score: float
    seconds: float

    def describe(self) -> str:
        slope_ok = abs(self.corrected_slope - 1) <= SLOPE_TOLERANCE
        cover_ok = self.coverage >= COVERAGE_TARGET
        return "\n".join(
            [
                f"questions: {self.questions}, runs per question: {self.runs}, "
                f"{self.seconds:.0f} s",
                f"reliability slope, linear, raw:       {self.raw_slope:.3f}",
                f"reliability slope, linear, corrected: {self.corrected_slope:.3f}  "
                f"(target 1 ± {SLOPE_TOLERANCE}: {'met' if slope_ok else 'MISSED'})",
                f"reliability slope, logistic (Jeffreys): {self.logistic_slope:.3f}",
                f"90% Wilson intervals covering the true p: {self.coverage:.1%}  "
                f"(target ≥ {COVERAGE_TARGET:.0%}: {'met' if cover_ok else 'MISSED'})",
                f"Brier score: {self.brier:.4f}; log score: {self.log_score:.4f}",
            ]
        )


def prove(
    questions: int, n: int, *, workers: int = 2, seed: int = 0, folder: Path | None = None
) -> Proof:
    """Forecast ``questions`` synthetic questions from ``n`` runs each and compare."""
    rng = np.random.default_rng(seed)
    truth = rng.uniform(0.02, 0.98, questions)
    outcomes = rng.random(questions) < truth
    with tempfile.TemporaryDirectory(prefix="timepoint-calibration-") as tmp:
        base = folder or Path(tmp)
        question_set = write_synthetic_set(base / "questions", truth, outcomes)
        started = time.perf_counter()
        forecasts: list[Forecast] = forecast_many(
            question_set.questions,
            n=n,
            budget_cap=None,
            parallel_workers=workers,
            model=partial(OfflineModel, outcomes=planted(truth)),
            settings=Settings(home=base / "runs"),
        )
        seconds = time.perf_counter() - started
    shares = np.array([f.probability for f in forecasts])
    smoothed = np.array([f.smoothed for f in forecasts])
    yes = np.array([f.yes_runs for f in forecasts])
    y = outcomes.astype(float)
    raw, corrected = ensemble_slope(yes, n, y)
    covered = [f.lower <= p <= f.upper for f, p in zip(forecasts, truth, strict=True)]
    return Proof(
        questions=questions,
        runs=n,
        raw_slope=raw,
        corrected_slope=corrected,
        logistic_slope=recalibration(smoothed, y)[1],
        coverage=float(np.mean(covered)),
        brier=brier(shares, y),
        log_score=log_score(smoothed, y),
        seconds=seconds,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=1000, help="synthetic questions")
    parser.add_argument("--n", type=int, default=40, help="runs per question")
    parser.add_argument("--workers", type=int, default=2, help="batch workers")
    parser.add_argument("--seed", type=int, default=0, help="seed of the true probabilities")
    args = parser.parse_args()
    print(prove(args.questions, args.n, workers=args.workers, seed=args.seed).describe())


if __name__ == "__main__":
    main()
