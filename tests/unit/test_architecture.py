"""The package's shape: no import cycles between its modules, and no module too long to read as one concept.

Imports are read from the source (AST), so the ones inside functions and under `if TYPE_CHECKING:` count
too: an import hidden in a function is still a dependency, and a cycle through one is still a cycle.
Parent packages that Python imports implicitly (`a.b.c` runs `a/__init__` and `a/b/__init__`) are not edges;
an explicit `from xlqe_lite import X` is (it runs the package's `__init__`).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from support.common import REPO

PACKAGE = REPO / "python" / "xlqe_lite"
NAME = "xlqe_lite"
MAX_LINES = 500
# Modules allowed past MAX_LINES, each with the reason it is still one concept.
LONG_MODULES: dict[str, str] = {}


def _modules() -> dict[str, tuple[Path, bool]]:
    found: dict[str, tuple[Path, bool]] = {}
    for path in sorted(PACKAGE.rglob("*.py")) + sorted(PACKAGE.rglob("*.pyi")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        found.setdefault(".".join(parts), (path, is_package))
    return found


def import_graph() -> dict[str, set[str]]:
    """module -> the package's modules it imports (at any depth of its code)."""
    modules = _modules()

    def owner(name: str) -> str:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name

    graph: dict[str, set[str]] = {}
    for module, (path, is_package) in modules.items():
        if path.suffix == ".pyi":
            graph[module] = set()
            continue
        here = module.split(".") if is_package else module.split(".")[:-1]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets.update(owner(a.name) for a in node.names if a.name.split(".")[0] == NAME)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = ".".join(here[: len(here) - node.level + 1] + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                if base.split(".")[0] != NAME:
                    continue
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    # `from pkg import sub` imports the submodule; `from pkg import name` runs pkg/__init__.
                    targets.add(full if full in modules else owner(base))
        targets.discard(module)
        targets.discard("")
        graph[module] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _path_in(component: list[str], graph: dict[str, set[str]]) -> list[str]:
    """One cycle through the component's first module, to show in the failure."""
    start = component[0]
    members = set(component)
    trail = [start]
    seen = {start}
    while True:
        nxt = sorted(w for w in graph[trail[-1]] if w in members)
        back = [w for w in nxt if w == start]
        if back and len(trail) > 1:
            return trail + [start]
        fresh = [w for w in nxt if w not in seen]
        if not fresh:
            return trail
        trail.append(fresh[0])
        seen.add(fresh[0])


def test_the_graph_sees_function_level_imports() -> None:
    graph = import_graph()
    # models/verification.py imports the encoder inside verify(); the graph must hold that edge.
    assert "xlqe_lite.models.encoder" in graph["xlqe_lite.models.verification"]
    # The Rust core imports its exception classes from errors.py, so errors imports nothing of the package.
    assert not {m for m in graph["xlqe_lite.errors"] if m.startswith("xlqe_lite")}, graph["xlqe_lite.errors"]


def test_no_import_cycles() -> None:
    graph = import_graph()
    found = cycles(graph)
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(_path_in(c, graph)) for c in found)


def test_a_toy_cycle_is_found() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_length(path: Path) -> None:
    rel = str(path.relative_to(PACKAGE))
    lines = len(path.read_text(encoding="utf-8").splitlines())
    if rel in LONG_MODULES:
        return
    assert lines <= MAX_LINES, f"{rel} has {lines} lines (> {MAX_LINES}): split it by concept, or list it in LONG_MODULES with a reason"
