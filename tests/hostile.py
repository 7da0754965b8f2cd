"""Hostile input for the report site: a scenario whose every text field carries HTML and
Markdown that would run script if it reached a page as markup, and a model whose dialog and
summaries carry the same.

Every payload sets ``window.__pwned`` (to its own number) when it runs, so a browser test can
tell whether any did; the source-level checks look for the elements and attributes instead.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

import timepoint as tp
from timepoint.llm.base import ActionType, Request
from timepoint.llm.offline import OfflineModel
from timepoint.llm.testing import ScriptedModel
from timepoint.report.site import build_site
from timepoint.settings import Settings

from .conftest import SCENARIOS

PAYLOADS = (
    "<script>window.__pwned=1</script>",
    '"><img src=x onerror="window.__pwned=2">',
    '\'><svg onload="window.__pwned=3"></svg>',
    "</title><script>window.__pwned=4</script>",
    "[click me](javascript:window.__pwned=5)",
    "` <script>window.__pwned=6</script> `",
    '<iframe srcdoc="<script>parent.__pwned=7</script>"></iframe>',
    '<details open ontoggle="window.__pwned=8">x</details>',
    "| <b onmouseover=window.__pwned=9>x</b> |",
    "<a href=javascript:window.__pwned=10>link</a>",
    "<style>body{display:none}</style><base href=//evil.invalid/>",
)
HOSTILE = " ".join(PAYLOADS)
#: the payloads that fit a title (titles are capped at 200 characters)
HOSTILE_TITLE = " ".join(PAYLOADS[:4])
#: tags no page of the site may contain (as elements) when built from hostile input
FORBIDDEN_TAGS = {"iframe", "svg", "details", "base", "object", "embed", "b"}


def hostile_scenario(folder: Path, scenario_id: str = "hostile") -> Path:
    """A branching scenario (so it has a paths page) with ``HOSTILE_TITLE`` in its title and
    ``HOSTILE`` in its description, entity names, descriptions, voices, goals and knowledge,
    location, events and branch question; written to ``folder`` and returned."""
    entities = [
        {
            "id": f"person_{i}",
            "name": f"{payload} Person {i}",
            "role": "primary",
            "description": HOSTILE,
            "voice": HOSTILE,
            "goals": [HOSTILE],
            "knowledge": [f"{payload} fact {i}", HOSTILE],
        }
        for i, payload in enumerate(PAYLOADS[:3])
    ]
    scenario = {
        "extends": str(SCENARIOS / "base" / "branching.yaml"),
        "id": scenario_id,
        "title": HOSTILE_TITLE,
        "description": HOSTILE,
        "entities": {"count": 3, "initial_resolution": "dialog", "roster": entities},
        "timepoints": {
            "count": 3,
            "start": "2025-04-08T10:00:00+00:00",
            "location": HOSTILE,
            "events": [HOSTILE, f"{PAYLOADS[1]} second event"],
        },
        "temporal": {"branching": {"branches": 1, "path_count": 2}},
        "mechanisms": {"settings": {"m12": {"critical_question": HOSTILE}}},
    }
    path = folder / f"{scenario_id}.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(scenario, sort_keys=False))
    return path


def hostile_model(seed: int = 0) -> ScriptedModel:
    """The offline model's answers with ``HOSTILE`` put into every dialog turn, every
    summary and every scene's description: model output as a hostile model would give it."""
    offline = OfflineModel(seed=seed)

    def answer(request: Request) -> str:
        text = offline.complete(request).text
        if request.action not in (ActionType.DIALOG_SYNTHESIS, ActionType.SUMMARIZATION):
            return text
        payload: Any = json.loads(text)
        if request.action is ActionType.SUMMARIZATION:
            payload["summary"] = f"{HOSTILE}\n\n{payload['summary']}"
        for turn in payload.get("turns", []):
            turn["text"] = f"{HOSTILE} {turn['text']}"
            turn["tone"] = PAYLOADS[0]
        return json.dumps(payload)

    return ScriptedModel([answer], repeat_last=True, provider="offline")


def build_hostile_site(root: Path) -> tuple[Path, Any, Any, Any]:
    """A site built (nbconvert) under ``root`` from the hostile scenario: a run by the hostile
    model (run page and paths page), a second run compared with it, a batch of one job, and
    the costs page. Returns the site folder, both runs and the batch summary."""
    settings = Settings(home=root / "runs")
    scenario = hostile_scenario(root / "scenarios")
    first = tp.run(scenario, model=hostile_model(), settings=settings)
    second = tp.run(scenario, settings=settings, seed=2)
    batch = tp.run_batch(
        tp.expand_grid(scenario, {"seed": [4]}),
        parallel_workers=1,
        settings=settings,
        progress=False,
    )
    site = build_site(
        settings=settings,
        renderer="nbconvert",
        out=root / "_site",
        compare=[(first.run_id, second.run_id)],
    )
    return site, first, second, batch
