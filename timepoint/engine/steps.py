"""The per-timepoint mechanism steps, in the order a simulation runs them.

Before the dialog: circadian readings and presence costs (M14), non-human behaviour (M16), the
scene (M10, which names what M16 produced), expectations (M15, which read the scene). Then the
dialog (M11 with information conservation). After it: narrated influence inserted into the dialog
(M16), the scene's mood after the dialog (M10), the energy of the turns (M14), the scoring of the
parent's expectations (M15), relationships and contradictions (M13), and the validators (M4),
which see every change made before them. A mechanism listed in ``mechanisms.disabled`` is
skipped; who is asleep is decided when the timepoint's fidelity is planned.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from timepoint.knowledge.validators import run_validators
from timepoint.synthesis.animism import animate, narrate
from timepoint.synthesis.dialog import synthesize_dialog
from timepoint.synthesis.prospection import form_expectations, score_expectations
from timepoint.synthesis.relationships import update_relationships
from timepoint.synthesis.scene import build_scene, update_from_dialog
from timepoint.time.circadian import apply_circadian, settle_exertion
from timepoint.world import Timepoint

if TYPE_CHECKING:
    from timepoint.engine.simulation import Simulation

Step = Callable[["Simulation", Timepoint], None]


def circadian_step(sim: Simulation, tp: Timepoint) -> None:
    if sim.scenario.mechanisms.enabled("m14"):
        apply_circadian(sim.state, tp)


def animism_step(sim: Simulation, tp: Timepoint) -> None:
    if sim.scenario.mechanisms.enabled("m16") and sim.scenario.entities.animism > 0:
        animate(sim.ctx, sim.state, tp)


def scene_step(sim: Simulation, tp: Timepoint) -> None:
    if sim.scenario.mechanisms.enabled("m10"):
        scene = build_scene(sim.state, tp)
        sim.state.scenes = [s for s in sim.state.scenes if s.timepoint_id != tp.id] + [scene]
        sim.state.ledger.count("M10", "scenes")
        sim.state.ledger.count("M10", "entities in scenes", len(scene.present))


def prospection_step(sim: Simulation, tp: Timepoint) -> None:
    if sim.scenario.mechanisms.enabled("m15"):
        form_expectations(sim.ctx, sim.state, tp)


def dialog_step(sim: Simulation, tp: Timepoint) -> None:
    if sim.scenario.mechanisms.enabled("m11"):
        synthesize_dialog(sim.ctx, sim.state, tp)


def narration_step(sim: Simulation, tp: Timepoint) -> None:
    if sim.scenario.mechanisms.enabled("m16"):
        narrate(sim.state, tp)


def scene_after_step(sim: Simulation, tp: Timepoint) -> None:
    if sim.scenario.mechanisms.enabled("m10"):
        update_from_dialog(sim.state, tp)


def exertion_step(sim: Simulation, tp: Timepoint) -> None:
    if sim.scenario.mechanisms.enabled("m14"):
        settle_exertion(sim.state, tp)


def expectation_step(sim: Simulation, tp: Timepoint) -> None:
    if sim.scenario.mechanisms.enabled("m15"):
        score_expectations(sim.state, tp)


def relationships_step(sim: Simulation, tp: Timepoint) -> None:
    if sim.scenario.mechanisms.enabled("m13"):
        update_relationships(sim.state, tp)


def validators_step(sim: Simulation, tp: Timepoint) -> None:
    if sim.scenario.mechanisms.enabled("m4"):
        run_validators(sim.state, tp)


TIMEPOINT_STEPS: tuple[tuple[str, Step], ...] = (
    ("circadian", circadian_step),
    ("animism", animism_step),
    ("scene", scene_step),
    ("prospection", prospection_step),
    ("dialog", dialog_step),
    ("narration", narration_step),
    ("scene after dialog", scene_after_step),
    ("exertion", exertion_step),
    ("expectation scoring", expectation_step),
    ("relationships", relationships_step),
    ("validators", validators_step),
)
