"""Import scenario templates written in the earlier Timepoint JSON format.

Every key of the template is either mapped (see :mod:`timepoint.scenario.legacy_convert`) or
returned in :attr:`LegacyImport.unmapped` with its value and the reason, so nothing disappears
silently. Conversions that had to interpret a value (a trait given only by name, a fever in
degrees Celsius) are listed in :attr:`LegacyImport.notes`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from timepoint.errors import ScenarioError
from timepoint.scenario.legacy_convert import TemplateConverter
from timepoint.scenario.legacy_keys import KeyRow, Unmapped
from timepoint.scenario.loader import display_path, scenario_from_data
from timepoint.scenario.schema import Scenario
from timepoint.scenario.writer import to_yaml

__all__ = ["KeyRow", "LegacyImport", "Unmapped", "import_template", "import_template_file"]


@dataclass(frozen=True)
class LegacyImport:
    """The result of importing one template.

    Attributes:
        scenario: The validated scenario.
        unmapped: Keys without a counterpart, in template order.
        notes: Values that were interpreted on the way (one line each).
        source: The template's name, for the file header.
        rows: Every key of the template as mapped, approximated (how) or unsupported (why).
    """

    scenario: Scenario
    unmapped: list[Unmapped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    source: str = "template"
    rows: list[KeyRow] = field(default_factory=list)

    def table(self) -> str:
        """The import table: mapped keys grouped by section, then one line per approximated
        key (how) and per unsupported key (why)."""
        mapped: dict[str, list[str]] = {}
        for row in self.rows:
            if row.status == "mapped":
                section, _, rest = row.path.partition(".")
                mapped.setdefault(section, []).append(rest or section)
        lines = [f"{'status':<13} {'key':<44} how / why"]
        for section, keys in mapped.items():
            shown = ", ".join(_collapse(keys))
            lines.append(f"{'mapped':<13} {section:<44} {shown}")
        for row in self.rows:
            if row.status != "mapped":
                lines.append(f"{row.status:<13} {row.path:<44} {row.detail}")
        counts = {s: sum(r.status == s for r in self.rows) for s in _STATUSES}
        lines.append(", ".join(f"{n} {s}" for s, n in counts.items()))
        return "\n".join(lines)

    def to_yaml(self) -> str:
        """The scenario as YAML with a comment block listing unmapped keys and notes."""
        header = [f"imported from {self.source} (earlier Timepoint template format)"]
        for item in self.unmapped:
            reason = f"  ({item.reason})" if item.reason else ""
            header.append(f"not mapped: {item.path} = {_short(item.value)}{reason}")
        if self.notes:
            header.append("notes:")
            header.extend(f"  - {note}" for note in self.notes)
        return to_yaml(self.scenario, header=header)


def import_template_file(path: str | Path) -> LegacyImport:
    """Read and convert a template file.

    Raises:
        ScenarioError: The file is missing, is not JSON, or converts to an invalid scenario.
    """
    path = Path(path)
    label = display_path(path)
    if not path.is_file():
        raise ScenarioError([f"{label}: no such file"])
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ScenarioError([f"{label}:{error.lineno}:{error.colno}: {error.msg}"]) from None
    return import_template(data, source=label, fallback_id=path.stem)


def import_template(
    data: Mapping[str, Any], source: str = "template", fallback_id: str = "imported"
) -> LegacyImport:
    """Convert an earlier-format template mapping to a validated scenario.

    Args:
        data: The parsed JSON template.
        source: Label used in error lines and the YAML header.
        fallback_id: Scenario id when the template has no ``world_id``.

    Raises:
        ScenarioError: The template is not a mapping, or the converted scenario is invalid.
    """
    if not isinstance(data, Mapping):
        raise ScenarioError([f"{source}: a template is a JSON object, got {type(data).__name__}"])
    converter = TemplateConverter(data, fallback_id)
    try:
        mapping = converter.convert()
    except (TypeError, ValueError, AttributeError) as error:
        raise ScenarioError(
            [f"{source}: a value does not have the type the earlier format uses ({error})"]
        ) from None
    scenario = scenario_from_data(mapping, source=f"{source} (converted)")
    return LegacyImport(scenario, converter.unmapped(), converter.notes, source, converter.rows())


_STATUSES = ("mapped", "approximated", "unsupported")


def _collapse(keys: list[str]) -> list[str]:
    """Leaf paths shortened to their first part, each once (``entity_roster.ann.role`` ->
    ``entity_roster``)."""
    return list(dict.fromkeys(key.split(".")[0] for key in keys))


def _short(value: Any, limit: int = 90) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"
