"""Run-level mechanism steps after the mode has produced its timepoints, in order.

Progressive training (M2) runs first so that the entities it enriches are compressed with
their new knowledge; on-demand entities (M9) that generated text mentioned are created before
compression for the same reason; tensor compression (M6) fits across every entity of the run;
the exposure-source note (M3) comes last, after every exposure has been recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from timepoint.fidelity.compression import compress
from timepoint.fidelity.training import TrainingPolicy, train
from timepoint.synthesis.on_demand import materialize_mentions

if TYPE_CHECKING:
    from timepoint.engine.simulation import Simulation

Finisher = Callable[["Simulation"], None]


def progressive_training(sim: Simulation) -> None:
    """M2: query counts from the run, then elevation and enrichment past the thresholds."""

    scenario = sim.scenario
    if not scenario.mechanisms.enabled("m2"):
        return
    policy = TrainingPolicy.from_settings(scenario.mechanisms.settings.get("m2", {}))
    elevations = train(sim.ctx, sim.state, policy)
    if elevations:
        sim.state.extras["training"] = [e.model_dump(mode="json") for e in elevations]


def mentioned_entities(sim: Simulation) -> None:
    """M9: numbered crowd members that events or dialog mention but the run lacks."""

    if sim.scenario.mechanisms.enabled("m9"):
        materialize_mentions(sim.ctx, sim.state)


def tensor_compression(sim: Simulation) -> None:
    """M6: fit the tensor codebook across the run's entities and record its size and quality."""

    if not sim.scenario.mechanisms.enabled("m6") or not sim.state.entities:
        return
    components = sim.scenario.mechanisms.settings.get("m6", {}).get("components")
    tensors = compress(sim.state, components)
    sim.state.extras["tensors"] = tensors
    size, quality = tensors["size"], tensors["quality"]
    ledger = sim.state.ledger
    ledger.set("M6", "entities compressed", len(tensors["entities"]))
    ledger.set("M6", "bytes before", size["bytes_before"])
    ledger.set("M6", "bytes after", size["bytes_after"])
    ledger.set("M6", "codebook bytes", size["codebook_bytes"])
    ledger.set("M6", "tokens before", size["tokens_before"])
    ledger.set("M6", "tokens after", size["tokens_after"])
    ledger.set("M6", f"recall@{quality['k']}", quality["recall_at_k"])
    ledger.set("M6", f"recall@{quality['k']} uncompressed", quality["recall_at_k_uncompressed"])


def exposure_sources(sim: Simulation) -> None:
    sources = {e.source.split(":")[0] for e in sim.state.exposures.events}
    sim.state.ledger.note("M3", f"from {len(sources)} kinds of source")


FINISH_STEPS: tuple[tuple[str, Finisher], ...] = (
    ("progressive training", progressive_training),
    ("on-demand entities", mentioned_entities),
    ("tensor compression", tensor_compression),
    ("exposure sources", exposure_sources),
)
