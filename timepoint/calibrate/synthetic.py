"""Synthetic questions whose true probability is known, to check the pipeline itself.

Each question is named by a key (``syn-0042``) and has a probability ``p``. The offline model
is built with those probabilities planted (``OfflineModel(outcomes={key: p})``, see
:mod:`timepoint.llm.offline_outcomes`); a run whose scenario description mentions the key ends
with ``Outcome syn-0042: yes`` with probability ``p``, and the question's event extractor reads
that from the run record. Keys are grouped into a few scenarios (each description names up to
``group_size`` keys), so one ensemble of runs answers a whole group: every run decides each of
its keys independently.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from timepoint.calibrate.questions import QuestionSet, load_questions

#: the tiny forward scenario every synthetic group is simulated with
BASE: dict[str, object] = {
    "title": "A synthetic council",
    "seed": 0,
    "entities": {
        "count": 2,
        "roster": [
            {"id": "ada", "name": "Ada", "role": "primary", "knowledge": ["The vote is near."]},
            {"id": "bo", "name": "Bo", "role": "primary", "knowledge": ["The tally is close."]},
        ],
    },
    "timepoints": {"count": 1},
}


def key(index: int) -> str:
    """The key of synthetic question ``index``: ``syn-0042``."""
    return f"syn-{index:04d}"


def write_synthetic_set(
    folder: Path,
    probabilities: Sequence[float],
    resolutions: Sequence[bool] | None = None,
    *,
    group_size: int = 100,
) -> QuestionSet:
    """Write scenarios and a question set (``folder/synthetic.yaml``) for ``probabilities``.

    Args:
        folder: where the files go (created).
        probabilities: the true probability of each question, in order of their keys.
        resolutions: each question's outcome, if resolved.
        group_size: keys per scenario (descriptions stay under the 5,000-character limit).
    """
    folder.mkdir(parents=True, exist_ok=True)
    questions = []
    for start in range(0, len(probabilities), group_size):
        keys = [key(i) for i in range(start, min(start + group_size, len(probabilities)))]
        name = f"group_{start // group_size:03d}"
        scenario = {
            **BASE,
            "id": name,
            "description": "A council weighs synthetic questions " + " ".join(keys) + ".",
        }
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(scenario), encoding="utf-8")
        for offset, name_key in enumerate(keys):
            index = start + offset
            questions.append(
                {
                    "id": name_key,
                    "question": f"Does synthetic question {name_key} come true?",
                    "scenario": f"{name}.yaml",
                    "outcome": {"kind": "event", "pattern": f"Outcome {name_key}: yes"},
                    **({"resolution": bool(resolutions[index])} if resolutions is not None else {}),
                }
            )
    path = folder / "synthetic.yaml"
    body = {"id": "synthetic", "title": "Synthetic questions", "questions": questions}
    path.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    return load_questions(path)


def planted(probabilities: Sequence[float]) -> dict[str, float]:
    """The planted outcome probabilities by key, for ``OfflineModel(outcomes=...)``."""
    return {key(i): float(p) for i, p in enumerate(probabilities)}
