"""Typed reading of ``mechanisms.settings["mNN"]``: the constants a mechanism lets scenarios tune.

Each mechanism declares its constants as a :class:`MechanismSettings` model with the reference
defaults. Values of the wrong type stop the run with a :class:`~timepoint.errors.ScenarioError`
that names the key; keys a mechanism does not know (typos, or keys carried over from templates of
the earlier format) are not fatal but are reported in the run record under
``evidence.ignored_settings`` with the closest known key.
"""

from __future__ import annotations

import difflib
from collections.abc import MutableMapping
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from timepoint.errors import ScenarioError
from timepoint.scenario.schema import Scenario


class MechanismSettings(BaseModel):
    """Base of a mechanism's tunable constants; unknown keys are ignored here and reported."""

    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)


SettingsT = TypeVar("SettingsT", bound=MechanismSettings)


def read_settings(
    scenario: Scenario,
    key: str,
    model: type[SettingsT],
    ignored: MutableMapping[str, list[str]] | None = None,
) -> SettingsT:
    """The settings of mechanism ``key`` (e.g. ``"m14"``) as ``model``.

    Args:
        scenario: the resolved scenario.
        key: the mechanism key under ``mechanisms.settings``.
        model: the mechanism's settings class.
        ignored: where to report unknown keys (``state.evidence.ignored_settings``);
            ``None`` skips reporting.

    Raises:
        ScenarioError: a known key holds a value of the wrong type or out of range.
    """
    raw = scenario.mechanisms.settings.get(key, {})
    try:
        settings = model.model_validate(raw)
    except ValidationError as error:
        problems = [
            f"mechanisms.settings.{'.'.join([key, *(str(p) for p in e['loc'])])}: "
            f"{e['msg']} (received {e.get('input')!r}); fix the value or remove the key"
            for e in error.errors()
        ]
        raise ScenarioError(problems) from error
    if ignored is not None:
        unknown = sorted(set(raw) - set(model.model_fields))
        if unknown:
            ignored[key] = [_hint(name, model) for name in unknown]
    return settings


def _hint(name: str, model: type[MechanismSettings]) -> str:
    close = difflib.get_close_matches(name, list(model.model_fields), n=1)
    return f"{name} (did you mean {close[0]!r}?)" if close else name
