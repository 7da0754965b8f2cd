"""Which mechanisms exist and which settings model reads ``mechanisms.settings.<id>``.

The settings models live with their mechanisms, above the scenario package; this registry names
them by ``module:Class`` and loads one only when a scenario carries settings for it, so
validating a scenario applies the very checks a run applies, without the scenario package
importing the mechanisms.
"""

from __future__ import annotations

import importlib
from typing import Any

#: the mechanism ids, ``m1`` … ``m18`` (README, "Mechanisms")
MECHANISM_IDS: tuple[str, ...] = tuple(f"m{n}" for n in range(1, 19))

#: mechanism id -> ``module:Class`` of its settings model (a ``MechanismSettings``)
SETTINGS_MODELS: dict[str, str] = {
    "m2": "timepoint.fidelity.training:TrainingSettings",
    "m4": "timepoint.knowledge.validators:ValidatorSettings",
    "m6": "timepoint.fidelity.compression:CompressionSettings",
    "m7": "timepoint.kernel.history_window:HistorySettings",
    "m10": "timepoint.synthesis.scene:SceneSettings",
    "m13": "timepoint.synthesis.relationships:RelationshipSettings",
    "m14": "timepoint.time.circadian:CircadianSettings",
    "m15": "timepoint.synthesis.prospection:ProspectionSettings",
    "m16": "timepoint.synthesis.animism:AnimismSettings",
}


def settings_model(mechanism: str) -> Any:
    """The settings model of ``mechanism`` (a pydantic model class), or ``None`` if it has none."""
    target = SETTINGS_MODELS.get(mechanism.lower())
    if target is None:
        return None
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)
