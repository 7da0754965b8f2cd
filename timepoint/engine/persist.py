"""Writing a run folder: ``runs/<run_id>/`` appears complete or not at all."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import yaml

from timepoint.engine.record import RunRecord
from timepoint.llm.base import CallRecord
from timepoint.scenario.schema import Scenario


def write_run_folder(
    home: Path,
    record: RunRecord,
    scenario: Scenario,
    calls: Sequence[CallRecord],
    extra_files: dict[str, str | bytes] | None = None,
) -> Path:
    """Write every file into a hidden temporary folder, then rename it into place."""
    home.mkdir(parents=True, exist_ok=True)
    final = home / record.run_id
    staging = home / f".{record.run_id}.partial"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    try:
        (staging / "scenario.yaml").write_text(
            yaml.dump(
                scenario.model_dump(mode="json"),
                Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper),
                sort_keys=False,
                allow_unicode=True,
            )
        )
        (staging / "run.json").write_text(record.model_dump_json(indent=1))
        with (staging / "llm_calls.jsonl").open("w") as handle:
            for call in calls:
                handle.write(call.model_dump_json() + "\n")
        for name, content in (extra_files or {}).items():
            path = staging / name
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)
        if final.exists():
            shutil.rmtree(final)
        os.replace(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final
