"""Values of the earlier Timepoint template format, converted: body and stress states, names,
facts, voices, traits and units."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

#: a body or stress key and value -> (section, field, value, how it was approximated) or None
BodyRule = Callable[[str, Any], "tuple[str, str, float, str] | None"]


def embodied_value(key: str, value: Any) -> tuple[str, str, float, str] | None:
    if key == "pain_level":
        return "physical", "pain", unit(value), ""
    if key == "fever":
        fever = float(value)
        if fever > 1:
            return "physical", "fever", celsius(fever), f"{fever} °C as fever {celsius(fever)}"
        return "physical", "fever", unit(fever), ""
    if key == "fatigue":
        return "physical", "stamina", unit(1 - float(value)), "stamina = 1 - fatigue"
    if key == "age":
        return "physical", "age", float(value), ""
    if key == "consciousness":
        energy = round(100 * unit(value), 1)
        return "cognitive", "energy", energy, f"cognitive energy {energy} of 100"
    return None


def stress_value(key: str, value: Any) -> tuple[str, str, float, str] | None:
    if key == "heart_rate" and isinstance(value, int | float):
        arousal = unit((float(value) - 60) / 80)
        return "cognitive", "arousal", arousal, f"{value} bpm as arousal {arousal}"
    if key in {"cortisol_level", "perspiration"} and isinstance(value, str):
        arousal = 0.8 if value.lower() in {"elevated", "high", "visible", "heavy"} else 0.4
        return "cognitive", "arousal", arousal, f"{value!r} as arousal {arousal}"
    if key in {"decision_quality_modifier", "voice_steadiness"}:
        return "cognitive", "confidence", unit(value), f"confidence {unit(value)}"
    return None


def slug_id(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_")
    return slug if not slug or slug[0].isalpha() else "t_" + slug


def display_name(identifier: str) -> str:
    words = [w.capitalize() for w in identifier.split("_")]
    return " ".join("Dr." if w == "Dr" else w for w in words)


def tidy(text: str) -> str:
    """Trailing spaces removed from every line (they would force quoted YAML)."""
    return "\n".join(line.rstrip() for line in str(text).strip().splitlines())


def fact_text(item: Any) -> str:
    text = str(item).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def voice_text(guide: Any, examples: Any) -> str:
    parts = []
    if isinstance(guide, Mapping):
        for key, value in guide.items():
            shown = "; ".join(map(str, value)) if isinstance(value, list) else str(value)
            parts.append(f"{key.replace('_', ' ')}: {shown}")
    if examples:
        parts.append("examples: " + " | ".join(str(e) for e in examples))
    return "\n".join(parts)


def is_trait(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and -1 <= value <= 1


def unit(value: Any) -> float:
    return round(min(1.0, max(0.0, float(value))), 3)


def celsius(degrees: float) -> float:
    """Body temperature in °C -> fever in [0, 1] (37 °C is none, 41 °C is the maximum)."""
    return unit((degrees - 37.0) / 4.0)
