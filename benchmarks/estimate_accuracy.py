"""How well the batch estimate brackets what runs really spend, over the scenario library.

Run: ``python benchmarks/estimate_accuracy.py [--seed 1] [--scenarios PATH ...]``

For every scenario in ``scenarios/**/*.yaml`` that validates on its own (bases meant to be
extended are skipped), the estimate of a one-job batch (``tp.estimate_batch``, the same figures
``timepoint batch --dry-run`` prints) is compared with an actual run of that job: the offline
model billed at registry list prices (``PricedOfflineModel``), so the spend is in dollars as it
would be with an endpoint. The estimate rehearses each configuration with seeds 0 and 1000
(``REHEARSAL_SEEDS``); the actual runs use ``--seed`` (default 1), a seed the rehearsals did not
see.

Prints per scenario the estimate (low, mid, high) against the actual spend, in USD and in
tokens, then the two rates (targets): the share of scenarios whose actual spend lies in
[low, high] (≥ 90%) and the share whose midpoint is within 25% of it (≥ 90%).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: targets: share of scenarios inside the range, and with the midpoint within MID_TOLERANCE
INSIDE_TARGET = 0.9
MID_TARGET = 0.9
MID_TOLERANCE = 0.25


@dataclass(frozen=True)
class Comparison:
    """One scenario's estimate against one actual run."""

    scenario: str
    low: float
    mid: float
    high: float
    actual: float
    tokens_low: int
    tokens_mid: int
    tokens_high: int
    tokens_actual: int

    @property
    def inside(self) -> bool:
        return self.low <= self.actual <= self.high

    @property
    def mid_error(self) -> float:
        return abs(self.mid - self.actual) / self.actual if self.actual else 0.0

    @property
    def tokens_inside(self) -> bool:
        return self.tokens_low <= self.tokens_actual <= self.tokens_high


def library(root: Path = ROOT / "scenarios") -> list[Path]:
    """The library's scenarios that validate on their own."""
    from timepoint.errors import ScenarioError
    from timepoint.scenario.loader import load_scenario

    paths = []
    for path in sorted(root.rglob("*.yaml")):
        try:
            load_scenario(path)
        except ScenarioError:
            continue
        paths.append(path)
    return paths


def compare(path: Path, seed: int, home: Path) -> Comparison:
    """The estimate of one job of ``path`` against a priced offline run of it with ``seed``."""
    import timepoint as tp
    from timepoint.batch.testing import PricedOfflineModel
    from timepoint.engine.runner import RunFailed
    from timepoint.settings import Settings
    from timepoint.store import open_store

    settings = Settings(home=home)
    grid = tp.expand_grid(path, {"seed": [seed]})
    estimate = tp.estimate_batch(grid, settings=settings, model=partial(PricedOfflineModel))
    store = open_store(home=home)
    try:
        record = tp.run(
            path, model=PricedOfflineModel(seed=seed), store=store, seed=seed, settings=settings
        ).record
    except RunFailed as failure:
        record = failure.run.record
    finally:
        store.close()
    usage = record.usage
    return Comparison(
        scenario=str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path),
        low=estimate.usd_low,
        mid=estimate.usd_expected,
        high=estimate.usd_high,
        actual=usage.cost_usd,
        tokens_low=estimate.tokens_low,
        tokens_mid=estimate.tokens,
        tokens_high=estimate.tokens_high,
        tokens_actual=usage.prompt_tokens + usage.completion_tokens,
    )


def rates(comparisons: list[Comparison]) -> tuple[float, float]:
    """(share inside the range, share with the midpoint within :data:`MID_TOLERANCE`)."""
    n = max(1, len(comparisons))
    inside = sum(c.inside for c in comparisons) / n
    close = sum(c.mid_error <= MID_TOLERANCE for c in comparisons) / n
    return inside, close


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scenarios", type=Path, nargs="*", default=None)
    args = parser.parse_args()
    paths = args.scenarios or library()
    comparisons = []
    print(
        f"{'scenario':<56} {'low $':>9} {'mid $':>9} {'high $':>9} {'actual $':>9} "
        f"{'mid err':>7}  {'tokens low–mid–high':>26} {'actual':>7}"
    )
    with tempfile.TemporaryDirectory(prefix="timepoint-estimate-accuracy-") as folder:
        for index, path in enumerate(paths):
            c = compare(path, args.seed, Path(folder) / str(index))
            comparisons.append(c)
            mark = " " if c.inside else "✗"
            print(
                f"{c.scenario:<56} {c.low:9.5f} {c.mid:9.5f} {c.high:9.5f} {c.actual:9.5f}"
                f"{mark} {c.mid_error:6.0%}  {c.tokens_low:>8}–{c.tokens_mid:>8}–"
                f"{c.tokens_high:>8} {c.tokens_actual:>7}{' ' if c.tokens_inside else '✗'}",
                flush=True,
            )
    inside, close = rates(comparisons)
    tokens_inside = sum(c.tokens_inside for c in comparisons) / max(1, len(comparisons))
    print(
        f"{len(comparisons)} scenarios, seed {args.seed}: actual spend inside [low, high] "
        f"{inside:.0%} (target ≥ {INSIDE_TARGET:.0%}; tokens {tokens_inside:.0%}); midpoint "
        f"within {MID_TOLERANCE:.0%} {close:.0%} (target ≥ {MID_TARGET:.0%})"
    )
    return 0 if inside >= INSIDE_TARGET and close >= MID_TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
