"""Frozen tutorials: each tutorial notebook executed once, its outputs committed, Quarto-style.

The tutorials in ``notebooks/tutorials/`` take 20–35 s each to execute, so the site never
executes them: ``timepoint site freeze-tutorials`` does, once, into
``_freeze/tutorials/<name>.ipynb`` (what Quarto's ``execute: freeze: true`` does with its
``_freeze/`` folder). A frozen copy is the executed notebook with the SHA-256 of the source
notebook it came from in its metadata (``timepoint.freeze.source_sha256``); it is *current*
while that hash matches the source, and the command executes only tutorials whose copy is
missing or stale (``--all`` executes every one).

Frozen copies are kept small and stable: a chart output keeps its Vega-Lite specification and
drops its SVG and PNG pictures (the site draws the specification), papermill's timings and
injected-parameters cell are removed, and the temporary store the tutorial ran against is
written as ``runs``. Tutorials are executed with the offline model: ``TIMEPOINT_*`` and
``OPENROUTER*`` variables are not passed to the kernel, so no key is used and no endpoint
called.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from timepoint.errors import ReportError
from timepoint.report.execute import KERNEL, ReportJob, execute_report

#: the command that executes stale tutorials again (printed wherever a copy is stale)
REFREEZE = "timepoint site freeze-tutorials"
SOURCE_DIR = Path("notebooks") / "tutorials"
FREEZE_DIR = Path("_freeze") / "tutorials"
#: outputs that repeat a chart the Vega-Lite specification beside them already holds
PICTURES = ("image/svg+xml", "image/png")
#: what the temporary store of a freeze is called in the frozen outputs
STORE_PLACEHOLDER = "runs"
#: environment variables a freeze does not pass on (keys, endpoints, the user's store)
PRIVATE_ENV = ("TIMEPOINT_", "OPENROUTER")

State = Literal["current", "stale", "missing"]


@dataclass(frozen=True)
class Tutorials:
    """Where a project's tutorials are: ``source`` notebooks and their ``frozen`` copies."""

    source: Path
    frozen: Path

    @classmethod
    def of(cls, root: Path) -> Tutorials:
        """The tutorials of the project in ``root``: ``notebooks/tutorials`` and
        ``_freeze/tutorials``."""
        return cls(root / SOURCE_DIR, root / FREEZE_DIR)

    def names(self) -> list[str]:
        """Every tutorial's name (its notebook's stem), in order; none without the folder."""
        if not self.source.is_dir():
            return []
        return sorted(p.stem for p in self.source.glob("*.ipynb") if not p.name.startswith("."))

    def notebook(self, name: str) -> Path:
        return self.source / f"{name}.ipynb"

    def frozen_copy(self, name: str) -> Path:
        return self.frozen / f"{name}.ipynb"

    def refreeze_command(self, name: str) -> str:
        """The command that freezes ``name`` again."""
        return f"{REFREEZE} {name}"


def source_hash(path: Path) -> str:
    """SHA-256 of a notebook's content (its JSON with sorted keys, so line endings and
    indentation do not count)."""
    content = json.loads(path.read_text(encoding="utf-8"))
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def frozen_hash(path: Path) -> str | None:
    """The source hash a frozen copy records, or None (no file, or not a frozen copy)."""
    try:
        metadata = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, ValueError):
        return None
    recorded = metadata.get("timepoint", {}).get("freeze", {}).get("source_sha256")
    return recorded if isinstance(recorded, str) else None


def freeze_state(tutorials: Tutorials, name: str) -> State:
    """``current`` (the copy was executed from this source), ``stale`` or ``missing``."""
    recorded = frozen_hash(tutorials.frozen_copy(name))
    if recorded is None:
        return "missing"
    return "current" if recorded == source_hash(tutorials.notebook(name)) else "stale"


def slim(notebook: Any, home: str) -> Any:
    """``notebook`` (an executed nbformat node, changed in place and returned) without what
    a frozen copy need not keep: pictures beside a Vega-Lite output, papermill's timings
    and injected parameters; ``home`` (the temporary store) is written as ``runs``."""
    import nbformat

    notebook.cells = [
        cell
        for cell in notebook.cells
        if "injected-parameters" not in cell.get("metadata", {}).get("tags", [])
    ]
    for cell in notebook.cells:
        for key in ("papermill", "execution"):
            cell.metadata.pop(key, None)
        for output in cell.get("outputs", []):
            data = output.get("data") or {}
            if any(key.startswith("application/vnd.vegalite") for key in data):
                for picture in PICTURES:
                    data.pop(picture, None)
    notebook.metadata.pop("papermill", None)
    text = json.dumps(notebook).replace(json.dumps(home)[1:-1], STORE_PLACEHOLDER)
    return nbformat.from_dict(json.loads(text))


def _offline_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(PRIVATE_ENV)}


def freeze_one(tutorials: Tutorials, name: str) -> Path:
    """Execute tutorial ``name`` in a new kernel (offline, against a temporary store) and
    write its frozen copy atomically; returns the copy's path.

    Raises:
        ReportError: papermill is missing, or a cell failed (the executed notebook is kept
            in the temporary folder as ``timepoint-freeze/<name>.failed.ipynb``).
    """
    import nbformat
    from jupyter_client import KernelManager

    source = tutorials.notebook(name)
    if not source.is_file():
        known = ", ".join(tutorials.names()) or "none"
        raise ReportError(f"no tutorial {name!r} in {tutorials.source}; known: {known}")
    digest = source_hash(source)
    target = tutorials.frozen_copy(name)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="timepoint-freeze-") as tmp:
        home = str(Path(tmp) / "runs")
        # outside the temporary folder, so a failed execution's notebook is kept to read
        executed = Path(tempfile.gettempdir()) / "timepoint-freeze" / f"{name}.ipynb"
        km = KernelManager(kernel_name=KERNEL)
        km.start_kernel(
            cwd=str(tutorials.source.resolve()), env=_offline_env(), stderr=subprocess.DEVNULL
        )
        try:
            job = ReportJob("tutorial", executed, {"home": home}, "", source)
            execute_report(job, km=km)
        except ReportError as error:
            raise ReportError(
                f"tutorial {name} failed, its frozen copy is unchanged: {error}"
            ) from None
        finally:
            km.shutdown_kernel(now=True)
        notebook = slim(nbformat.read(executed, as_version=4), home)
        executed.unlink()
    notebook.metadata["timepoint"] = {
        "freeze": {
            "source": f"{SOURCE_DIR.as_posix()}/{source.name}",
            "source_sha256": digest,
            "command": tutorials.refreeze_command(name),
        }
    }
    partial = target.with_name(f".{target.name}.partial")
    nbformat.write(notebook, partial)
    os.replace(partial, target)
    return target


def select(tutorials: Tutorials, names: Sequence[str] = ()) -> list[str]:
    """``names`` checked against the tutorials there are (every tutorial when empty).

    Raises:
        ReportError: a name that is not a tutorial (the message lists the known ones).
    """
    known = tutorials.names()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ReportError(
            f"no tutorial {', '.join(map(repr, unknown))} in {tutorials.source}; "
            f"known: {', '.join(known) or 'none'}"
        )
    return list(names) or known


def freeze_tutorials(
    tutorials: Tutorials,
    names: Sequence[str] = (),
    *,
    everything: bool = False,
    progress: Callable[[str], None] | None = None,
) -> list[str]:
    """Execute every tutorial (or those in ``names``) whose frozen copy is missing or stale,
    or all of them with ``everything``; returns the names executed.

    Raises:
        ReportError: an unknown name, or a tutorial that failed (the tutorials before it are
            frozen; its copy is left as it was).
    """
    say = progress or (lambda line: None)
    chosen = select(tutorials, names)
    states = {n: freeze_state(tutorials, n) for n in chosen}
    todo = [n for n in chosen if everything or states[n] != "current"]
    current = sum(state == "current" for state in states.values())
    say(f"{current} of {len(chosen)} frozen tutorials current, {len(todo)} to run")
    for count, name in enumerate(todo, 1):
        say(f"[{count}/{len(todo)}] {name} ({states[name]}) …")
        path = freeze_one(tutorials, name)
        say(f"[{count}/{len(todo)}] {name} frozen: {path} ({path.stat().st_size // 1024} KiB)")
    return todo
