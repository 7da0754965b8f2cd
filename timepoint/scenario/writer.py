"""Write scenarios as readable YAML, atomically.

Only values that differ from the schema defaults are written (plus the required ones), in the
schema's field order, so generated files read like hand-written ones and load back to the same
scenario (same ``config_hash``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from timepoint.scenario.schema import Scenario


class _Dumper(yaml.SafeDumper):
    """Block-style YAML; long strings folded; multi-line strings as literal blocks."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _represent_str)


def scenario_to_mapping(scenario: Scenario) -> dict[str, Any]:
    """The JSON-compatible mapping of ``scenario`` without default values."""
    data = scenario.model_dump(mode="json", exclude_defaults=True)
    for required in ("id", "title", "description"):
        data.setdefault(required, getattr(scenario, required))
    ordered = {key: data[key] for key in Scenario.model_fields if key in data}
    return ordered


def to_yaml(data: dict[str, Any] | Scenario, header: Iterable[str] = ()) -> str:
    """YAML text for a scenario (or scenario mapping), preceded by ``header`` comment lines.

    Args:
        data: A :class:`Scenario` (defaults are left out) or a plain mapping (written as is).
        header: Lines written as ``# …`` comments at the top of the file.
    """
    mapping = scenario_to_mapping(data) if isinstance(data, Scenario) else data
    body = yaml.dump(
        mapping, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=96, indent=2
    )
    lines = [line for entry in header for line in (entry.splitlines() or [""])]
    comments = "".join(f"# {line}".rstrip() + "\n" for line in lines)
    return comments + body


def write_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename.

    A reader never sees a half-written file, and a failure leaves any previous file intact.
    Missing parent folders are created.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target
