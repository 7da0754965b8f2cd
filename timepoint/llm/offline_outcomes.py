"""Planted outcomes: the offline model can be built to make named questions come true with
known probabilities, so the forecasting pipeline can be checked against the truth.

A question is named by a key such as ``syn-042``. When the scenario a prompt describes
mentions the key (as a whole word of its description) and the prompt asks for the run's last
moment, the model decides the outcome once per run (from its own seed, the run's seed and the
key) and writes it into the event it composes: ``Outcome syn-042: yes.`` The outcome reaches the
run record as the event text, and an event extractor (``pattern: "Outcome syn-042: yes"``)
reads it back. Nothing but the prompt tells the model which question a run is about.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Mapping
from typing import Any


def mentioned(key: str, text: str) -> bool:
    """Whether ``key`` appears in ``text`` as a whole word (``syn-1`` is not in ``syn-10``)."""
    return re.search(rf"(?<![\w-]){re.escape(key)}(?![\w-])", text) is not None


def decide(key: str, probability: float, model_seed: int, run_seed: int | None) -> bool:
    """The run's outcome of ``key``: yes with ``probability``, fixed by the seeds and key."""
    material = f"{model_seed}:{run_seed}:{key}".encode()
    draw = random.Random(int.from_bytes(hashlib.sha256(material).digest()[:8], "big")).random()
    return draw < probability


def plant(
    data: Mapping[str, Any],
    payload: dict[str, Any],
    outcomes: Mapping[str, float],
    model_seed: int,
    run_seed: int | None,
) -> None:
    """Append the outcome of every planted key the scenario mentions to the last moment's
    event in ``payload`` (an event answer composed from ``data``)."""
    index, count = int(data.get("index", 0)), max(1, int(data.get("count", 1)))
    if index != count - 1 or "event" not in payload:
        return
    description = str((data.get("scenario") or {}).get("description", ""))
    for key, probability in outcomes.items():
        if mentioned(key, description):
            yes = decide(key, probability, model_seed, run_seed)
            payload["event"] = f"{payload['event']} Outcome {key}: {'yes' if yes else 'no'}."
