"""Prices per action: the models the gateway would choose for a scenario, at registry prices.

Offline runs are free, so a :class:`Pricer` made with ``free=True`` prices every call at zero.
"""

from __future__ import annotations

import json

from timepoint.llm.base import ActionType
from timepoint.llm.gateway import ModelGateway
from timepoint.llm.registry import Registry
from timepoint.llm.testing import ScriptedModel
from timepoint.scenario.schema import Scenario
from timepoint.settings import Settings


class Pricer:
    """Prices per action for a scenario's models section, the way the gateway would choose."""

    def __init__(self, settings: Settings, registry: Registry, free: bool):
        self.settings = settings
        self.registry = registry
        self.free = free
        self._chains: dict[str, dict[ActionType, list[str]]] = {}

    def chain(self, scenario: Scenario, action: ActionType) -> list[str]:
        key = json.dumps(scenario.models.model_dump(mode="json"), sort_keys=True)
        if key not in self._chains:
            gateway = ModelGateway(
                ScriptedModel(),
                registry=self.registry,
                models=scenario.models,
                forced_model=self.settings.model,
            )
            self._chains[key] = {a: gateway.chain(a)[0] for a in ActionType}
        return self._chains[key][action]

    def usd(self, model: str, prompt: float, completion: float) -> float:
        if self.free:
            return 0.0
        input_price, output_price = self.registry.prices(model)
        return (prompt * input_price + completion * output_price) / 1_000_000
