"""Packages form layers: each imports only from its own layer and the ones below it, and no two
packages import each other, directly or around a loop. Read from the source with ``ast``, so
imports inside functions and under ``TYPE_CHECKING`` count too."""

from __future__ import annotations

import ast
from collections import defaultdict

from .conftest import ROOT

#: the stack, bottom first; a package may import from its own layer and every layer below
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"errors", "problems", "redaction", "world"}),
    frozenset({"settings"}),
    frozenset({"llm"}),
    frozenset({"scenario", "store"}),
    frozenset({"kernel"}),
    frozenset({"fidelity"}),
    frozenset({"knowledge"}),
    frozenset({"synthesis"}),
    frozenset({"time"}),
    frozenset({"report"}),
    frozenset({"engine"}),
    frozenset({"batch", "calibrate", "service", "commands", "cli", "view", "__init__", "__main__"}),
)
RANK = {package: n for n, layer in enumerate(LAYERS) for package in layer}
PACKAGE = ROOT / "timepoint"


def package_of(module: str) -> str:
    """``timepoint.llm.base`` -> ``llm``; ``timepoint`` -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports() -> list[tuple[str, str, str]]:
    """(importing package, imported package, where) for every import of a timepoint module."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(ROOT)
        source = package_of(".".join(relative.with_suffix("").parts))
        for node in ast.walk(ast.parse(path.read_text(), str(relative))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            for target in targets:
                if target == "timepoint" or target.startswith("timepoint."):
                    found.append((source, package_of(target), f"{relative}:{node.lineno}"))
    return found


def test_every_package_has_a_layer():
    packages = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()}
    packages = {p for p in packages if not p.startswith((".", "_")) or p == "__init__"}
    packages -= {"py", "typed"}  # py.typed, if any
    assert packages - {"__pycache__"} <= set(RANK), set(packages) - set(RANK)


def test_no_import_runs_up_the_stack():
    upward = [
        f"{where}: {source} imports {target}"
        for source, target, where in imports()
        if RANK[target] > RANK[source]
    ]
    assert upward == []


def test_no_two_packages_import_each_other_around_a_loop():
    graph: dict[str, set[str]] = defaultdict(set)
    for source, target, _ in imports():
        if source != target:
            graph[source].add(target)

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph[start]:
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    loops = {p for p in list(graph) if reaches(p, p, {p})}
    assert loops == set(), sorted(loops)


#: optional heavy dependencies a function may import when it needs them (extras of the package)
LAZY_ALLOWED = frozenset(
    {
        "altair",
        "distributed",
        "IPython",
        "jupyter_client",
        "jinja2",
        "joblib",
        "nbconvert",
        "nbformat",
        "pandas",
        "papermill",
        "pyarrow",
        "tqdm",
        "typst",
        "vl_convert",
    }
)


def test_functions_import_only_optional_heavy_dependencies():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.ImportFrom):
                    names = [node.module or "."]
                elif isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                else:
                    continue
                for name in names:
                    if name.split(".")[0] not in LAZY_ALLOWED:
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name}")
    assert found == []
