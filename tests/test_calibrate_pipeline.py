"""The calibration proof, small: forecasts of synthetic questions with planted probabilities
are calibrated (``benchmarks/calibration_pipeline.py`` runs it at full size with the tighter
targets of the issue: corrected slope 1 ± 0.1, coverage ≥ 85%)."""

from __future__ import annotations

import importlib.util
import sys

from .conftest import ROOT


def _pipeline():
    """benchmarks/calibration_pipeline.py as a module (the benchmarks are scripts)."""
    spec = importlib.util.spec_from_file_location(
        "calibration_pipeline", ROOT / "benchmarks" / "calibration_pipeline.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_synthetic_forecasts_are_calibrated_and_cover_the_truth(tmp_path):
    proof = _pipeline().prove(200, 12, workers=2, seed=1, folder=tmp_path)
    assert proof.questions == 200 and proof.runs == 12
    assert abs(proof.corrected_slope - 1) <= 0.3
    assert proof.raw_slope < proof.corrected_slope  # sampling noise flattens the raw slope
    assert proof.coverage >= 0.8
    assert proof.brier < 0.22
