"""Scenes (M10): environment, atmosphere and crowd of each timepoint, computed, not asked for.

One :class:`~timepoint.world.Scene` per timepoint, built before its dialog from the place, the
hour and the states of the entities present (awake, at ``scene`` resolution or above):

- environment: location, capacity (``m10.capacity`` or twice the people present, at least 10),
  lighting by hour (daylight, or lamps indoors), temperature (a daily swing around
  ``temperature_c``, warmest at 15h), weather, acoustics (from the noise unless given);
- atmosphere: tension = ``base_tension`` + (1 − base) · noisy-OR of ½·negativity over the pairs
  present, where a pair's negativity comes from its latest relationship on the causal path (low
  trust, negative affinity) or, before any, from a declared rival/enemy relation; plus the
  tension effects of animistic entities (M16). Formality from ``m10.formality``; valence and
  arousal are the means over the beings present (humans and animals); cohesion =
  max(0, 1 − tension − .3·formality); energy = mean energy/100 · (½ + ½·arousal);
- crowd: background entities present plus ``crowd_size`` unnamed people; density against the
  capacity; mood distribution over the crowd's (else everyone's) valence/arousal quadrants;
  movement and noise from density and arousal.

After the dialog, :func:`update_from_dialog` sets the scene's ``after`` atmosphere from the turns'
tones (:data:`~timepoint.synthesis.relationships.TONE_EFFECTS`, mean effect × ``tone_weight``),
appends the change to the description, and moves the speakers' valence and arousal a
``contagion`` fraction toward the room's new mood. The description (without an LLM call) names
every entity at ``scene`` resolution or above, who is asleep, and what non-human entities do; it
feeds the dialog prompt.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from itertools import combinations

from pydantic import Field

from timepoint.kernel.mechanism_settings import MechanismSettings, read_settings
from timepoint.kernel.state import WorldState
from timepoint.synthesis.relationships import TONE_EFFECTS, declared_relations, latest_on_path
from timepoint.world import (
    Atmosphere,
    Crowd,
    Entity,
    EntityKind,
    EntityRole,
    Environment,
    Relationship,
    ResolutionLevel,
    Scene,
    Timepoint,
)

_BEINGS = frozenset({EntityKind.HUMAN, EntityKind.ANIMAL})


class SceneSettings(MechanismSettings):
    """M10 constants."""

    location: str = ""
    capacity: int | None = Field(None, ge=1)
    indoor: bool = True
    weather: str = "fair"
    temperature_c: float = 20.0
    temperature_swing: float = Field(4.0, ge=0)
    acoustics: str = ""
    formality: float = Field(0.5, ge=0, le=1)
    crowd_size: int = Field(0, ge=0)
    base_tension: float = Field(0.1, ge=0, le=1)
    relation_negativity: dict[str, float] = Field(
        default_factory=lambda: {"rival": 0.6, "enemy": 1.0}
    )
    low_trust: float = Field(0.35, ge=-1, le=1)
    tone_weight: float = Field(2.0, ge=0)
    contagion: float = Field(0.3, ge=0, le=1)


def settings_of(state: WorldState) -> SceneSettings:
    return read_settings(state.scenario, "m10", SceneSettings, state.evidence.ignored_settings)


def cohesion(tension: float, formality: float) -> float:
    """The reference formula: max(0, 1 − tension − .3·formality)."""
    return round(max(0.0, 1.0 - tension - 0.3 * formality), 4)


def pair_negativity(state: WorldState, tp: Timepoint, a: str, b: str) -> float:
    """How hostile the pair (a, b) is at ``tp``, in [0, 1] (see the module notes)."""
    return _negativity(
        (min(a, b), max(a, b)),
        latest_on_path(state, tp.id, include_self=False),
        declared_relations(state),
        settings_of(state),
    )


def _negativity(
    key: tuple[str, str],
    latest: Mapping[tuple[str, str], Relationship],
    declared: dict[tuple[str, str], str],
    settings: SceneSettings,
) -> float:
    record = latest.get(key)
    if record is not None:
        distrust = (settings.low_trust - record.trust) / (settings.low_trust + 1)
        return round(min(1.0, max(0.0, distrust, -record.affinity)), 4)
    return settings.relation_negativity.get(declared.get(key, ""), 0.0)


def build_scene(state: WorldState, tp: Timepoint) -> Scene:
    """The scene of ``tp`` before its dialog."""
    settings = settings_of(state)
    present = [
        e
        for e in tp.entities_present
        if e in state.entities and state.resolution(e, tp.id) >= ResolutionLevel.SCENE
    ]
    beings = [state.entities[e] for e in present if state.entities[e].kind in _BEINGS]
    hour = tp.timestamp.hour
    influences = state.evidence.animism.get(tp.id, [])

    latest = latest_on_path(state, tp.id, include_self=False)
    declared = declared_relations(state)
    calm = 1.0
    for pair in combinations(sorted(present), 2):
        calm *= 1.0 - 0.5 * _negativity(pair, latest, declared, settings)
    tension = settings.base_tension + (1 - settings.base_tension) * (1 - calm)
    tension = _unit(tension + sum(r.tension_effect for r in influences))
    valence = _mean([e.cognitive.valence for e in beings], 0.0)
    arousal = _mean([e.cognitive.arousal for e in beings], 0.3)
    energy = _mean([e.cognitive.energy / 100 for e in beings], 0.5) * (0.5 + 0.5 * arousal)
    atmosphere = Atmosphere(
        tension=round(tension, 4),
        formality=settings.formality,
        valence=round(max(-1.0, min(1.0, valence)), 4),
        arousal=round(_unit(arousal), 4),
        cohesion=cohesion(tension, settings.formality),
        energy=round(_unit(energy), 4),
    )
    crowd = _crowd(state, present, settings, atmosphere)
    environment = Environment(
        location=settings.location or tp.location or state.scenario.timepoints.location,
        capacity=crowd[1],
        lighting=_lighting(hour, settings.indoor),
        temperature_c=round(
            settings.temperature_c
            + settings.temperature_swing * math.cos(2 * math.pi * (hour - 15) / 24),
            1,
        ),
        weather=settings.weather,
        acoustics=settings.acoustics or _acoustics(crowd[0].noise),
    )
    scene = Scene(
        timepoint_id=tp.id,
        environment=environment,
        atmosphere=atmosphere,
        crowd=crowd[0],
        present=present,
    )
    return scene.model_copy(update={"description": describe(state, tp, scene)})


def describe(state: WorldState, tp: Timepoint, scene: Scene) -> str:
    """One paragraph naming who is there, who sleeps, what non-humans do, and the mood."""
    env, mood = scene.environment, scene.atmosphere
    names = [f"{state.entities[e].name} ({_label(state.entities[e])})" for e in scene.present]
    circadian = state.evidence.circadian.get(tp.id, {})
    asleep = [
        state.entities[e].name
        for e in tp.entities_present
        if e in circadian and circadian[e].asleep and e in state.entities
    ]
    parts = [
        f"{env.location or 'An unnamed place'} at {tp.timestamp:%H:%M}: "
        f"{_light_word(env.lighting)} light, {env.temperature_c:.0f}°C, {env.weather}, "
        f"{env.acoustics}.",
        "Present: " + (", ".join(names) or "no one awake") + ".",
    ]
    if scene.crowd.size:
        parts.append(f"A crowd of {scene.crowd.size}, {scene.crowd.movement}.")
    if asleep:
        parts.append("Asleep: " + ", ".join(asleep) + ".")
    for row in state.evidence.animism.get(tp.id, []):
        parts.append(f"{row.name}: {row.influence}")
    parts.append(
        f"The mood is {_mood_word(mood)} (tension {mood.tension:.2f}, "
        f"cohesion {mood.cohesion:.2f})."
    )
    return " ".join(parts)


def update_from_dialog(state: WorldState, tp: Timepoint) -> Scene | None:
    """Set ``after`` on ``tp``'s scene from its dialog's tones; returns the updated scene."""
    settings = settings_of(state)
    index = next((i for i, s in enumerate(state.scenes) if s.timepoint_id == tp.id), None)
    dialog = next((d for d in state.dialogs if d.timepoint_id == tp.id), None)
    if index is None or dialog is None:
        return None
    spoken = [t for t in dialog.turns if t.tone != "narrated"]
    if not spoken:
        return None
    scene = state.scenes[index]
    before = scene.atmosphere
    effects = [TONE_EFFECTS.get(t.tone.lower(), TONE_EFFECTS["neutral"]) for t in spoken]
    weight = settings.tone_weight
    tension = _unit(before.tension + weight * _mean([e.tension for e in effects], 0.0))
    arousal = _unit(before.arousal + weight * _mean([e.arousal for e in effects], 0.0))
    valence = max(-1.0, min(1.0, before.valence + weight * _mean([e.valence for e in effects], 0)))
    after = before.model_copy(
        update={
            "tension": round(tension, 4),
            "arousal": round(arousal, 4),
            "valence": round(valence, 4),
            "cohesion": cohesion(tension, before.formality),
            "energy": round(_unit(before.energy + 0.5 * (arousal - before.arousal)), 4),
        }
    )
    note = (
        f" After the exchange the mood is {_mood_word(after)} "
        f"(tension {before.tension:.2f} → {after.tension:.2f})."
    )
    updated = scene.model_copy(update={"after": after, "description": scene.description + note})
    state.scenes[index] = updated
    for speaker in dict.fromkeys(t.speaker for t in spoken):
        entity = state.entities.get(speaker)
        if entity is not None:
            state.set_entity(_toward(entity, after, settings.contagion))
    state.ledger.count("M10", "scenes updated by dialog tone")
    return updated


def _toward(entity: Entity, mood: Atmosphere, rate: float) -> Entity:
    cog = entity.cognitive
    return entity.model_copy(
        update={
            "cognitive": cog.model_copy(
                update={
                    "valence": round(cog.valence + rate * (mood.valence - cog.valence), 4),
                    "arousal": round(cog.arousal + rate * (mood.arousal - cog.arousal), 4),
                }
            )
        }
    )


def _crowd(
    state: WorldState, present: list[str], settings: SceneSettings, mood: Atmosphere
) -> tuple[Crowd, int]:
    background = [e for e in present if state.entities[e].role is EntityRole.BACKGROUND]
    size = len(background) + settings.crowd_size
    people = len(present) + settings.crowd_size
    capacity = settings.capacity or max(10, 2 * people)
    density = _unit(people / capacity)
    members = [state.entities[e] for e in background if state.entities[e].kind in _BEINGS] or [
        state.entities[e] for e in present if state.entities[e].kind in _BEINGS
    ]
    quadrants = {"excited": 0, "content": 0, "agitated": 0, "subdued": 0}
    for member in members:
        pleasant = member.cognitive.valence >= 0
        roused = member.cognitive.arousal >= 0.5
        key = ("excited" if roused else "content") if pleasant else "agitated" if roused else ""
        quadrants[key or "subdued"] += 1
    total = sum(quadrants.values())
    distribution = {k: round(v / total, 3) for k, v in quadrants.items() if v} if total else {}
    if mood.arousal > 0.7:
        movement = "surging"
    elif mood.arousal < 0.35 and density < 0.6:
        movement = "still"
    else:
        movement = "milling" if density < 0.6 else "pressing"
    noise = _unit(0.05 + 0.4 * density + 0.3 * mood.arousal + 0.02 * len(present))
    crowd = Crowd(
        size=size,
        density=round(density, 4),
        mood=distribution,
        movement=movement,
        noise=round(noise, 4),
    )
    return crowd, capacity


def _lighting(hour: int, indoor: bool) -> float:
    daylight = max(0.0, math.sin(math.pi * (hour - 6) / 12)) if 6 < hour < 18 else 0.0
    floor = 0.45 if indoor else 0.05
    return round(max(floor, 0.95 * daylight), 3)


def _light_word(lighting: float) -> str:
    if lighting >= 0.75:
        return "bright"
    if lighting >= 0.4:
        return "soft"
    return "dim" if lighting >= 0.2 else "dark"


def _acoustics(noise: float) -> str:
    if noise < 0.3:
        return "hushed"
    if noise < 0.55:
        return "conversational"
    return "noisy" if noise < 0.8 else "deafening"


def _mood_word(mood: Atmosphere) -> str:
    if mood.tension >= 0.6:
        return "hostile"
    if mood.tension >= 0.35:
        return "tense"
    if mood.valence >= 0.2:
        return "warm"
    return "calm" if mood.arousal < 0.5 else "lively"


def _label(entity: Entity) -> str:
    if entity.kind is EntityKind.HUMAN:
        return entity.role.value
    return entity.kind.value


def _mean(values: list[float], default: float) -> float:
    return sum(values) / len(values) if values else default


def _unit(value: float) -> float:
    return min(1.0, max(0.0, value))
