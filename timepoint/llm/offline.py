"""The offline model: a deterministic, scenario-aware provider that needs no network.

It is the default when no API key is configured. It sees exactly what an HTTP endpoint sees:
the messages and the output schema. Answers are composed from the prompt's machine-readable
block (see :mod:`timepoint.llm.task_data`), are deterministic given ``(seed, request seed,
messages)``, validate against the requested schema, and are labelled ``offline``. Token usage
follows the documented estimate of ~4 characters per token. The same model is served over HTTP
by :mod:`timepoint.llm.offline_server`.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from timepoint.errors import StructuredOutputError
from timepoint.llm.base import ActionType, Completion, Request, Usage, estimate_tokens
from timepoint.llm.offline_compose import compose
from timepoint.llm.offline_outcomes import plant
from timepoint.llm.task_data import TaskData, read_task_data

OFFLINE_MODEL_ID = "offline-composer"


@dataclass(frozen=True)
class PlantedLeak:
    """A fact the offline model deliberately had a speaker use without knowing it."""

    speaker: str
    fact_id: str
    event: str


@dataclass
class OfflineModel:
    """Deterministic provider.

    Args:
        seed: base seed; the same seed and request always give the same answer.
        latency_ms: emulated provider latency per call (for benchmarks).
        jitter_ms: uniform jitter added to the emulated latency.
        leak_rate: probability that a dialog turn uses a fact its speaker does not know, so the
            validators have something to catch. Leaks are listed in ``planted_leaks``.
        outcomes: planted outcome probabilities by question key: a run whose scenario
            description mentions a key ends with ``Outcome <key>: yes`` (with that probability)
            or ``no`` in its last event (see :mod:`timepoint.llm.offline_outcomes`).
    """

    seed: int = 0
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    leak_rate: float = 0.0
    outcomes: dict[str, float] = field(default_factory=dict)
    planted_leaks: list[PlantedLeak] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def provider(self) -> str:
        return "offline"

    @property
    def cache_identity(self) -> str:
        """What distinguishes this provider's answers in a response cache."""
        planted = f":outcomes={sorted(self.outcomes.items())}" if self.outcomes else ""
        return f"offline:seed={self.seed}:leak_rate={self.leak_rate}{planted}"

    def _rng(self, request: Request) -> random.Random:
        # System messages are left out: an HTTP client may append a schema instruction to them.
        material = json.dumps(
            [self.seed, request.seed, [m.content for m in request.messages if m.role != "system"]]
        )
        return random.Random(int.from_bytes(hashlib.sha256(material.encode()).digest()[:8], "big"))

    def complete(self, request: Request) -> Completion:
        started = time.perf_counter()
        rng = self._rng(request)
        task = read_task_data(request.messages)
        payload = compose(task, request.output_schema, rng, leak_rate=self.leak_rate)
        self._record_leaks(task, payload)
        event = task is not None and task.task == ActionType.TEMPORAL_REASONING
        if self.outcomes and event and isinstance(payload, dict):
            plant(task.data, payload, self.outcomes, self.seed, request.seed)  # type: ignore[union-attr]
        parsed = None
        if request.output_schema is not None:
            if not isinstance(payload, dict):
                raise StructuredOutputError(
                    f"offline model has no structured answer for action {request.action!r}"
                )
            parsed = request.output_schema.model_validate(payload)
            text = parsed.model_dump_json()
        else:
            text = payload if isinstance(payload, str) else json.dumps(payload)
        if self.latency_ms or self.jitter_ms:
            time.sleep((self.latency_ms + rng.uniform(0, self.jitter_ms)) / 1000)
        usage = Usage(
            prompt_tokens=sum(estimate_tokens(m.content) for m in request.messages),
            completion_tokens=estimate_tokens(text),
        )
        return Completion(
            text=text,
            parsed=parsed,
            model=OFFLINE_MODEL_ID,
            provider=self.provider,
            usage=usage,
            cost_usd=0.0,
            latency_ms=(time.perf_counter() - started) * 1000,
        )

    def _record_leaks(self, task: TaskData | None, payload: Any) -> None:
        if task is None or task.task != ActionType.DIALOG_SYNTHESIS:
            return
        if not isinstance(payload, dict):
            return
        leaks = [
            PlantedLeak(speaker=turn["speaker"], fact_id=ref, event=task.data.get("event", ""))
            for turn in payload.get("turns", [])
            for ref in turn.get("_leaked", [])
        ]
        for turn in payload.get("turns", []):
            turn.pop("_leaked", None)
        if leaks:
            with self._lock:
                self.planted_leaks.extend(leaks)
