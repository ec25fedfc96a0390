#!/usr/bin/env python3
"""Fails when the Rust core's modules import each other in a circle.

Reads every `rust_core/src/**/*.rs` as text and collects its `crate::room` and `super::file` paths (in `use`
lines and in code). Two graphs are checked:

- rooms: the crate's top-level modules (`analysis`, `index`, `storage`, ...): an edge a -> b when a file of
  room a names `crate::b`;
- files within a room: an edge a -> b when `a.rs` names `super::b` (the room's `mod.rs` is left out: it
  declares its files, and they name the handle it defines, which is how a Rust module is built, not a cycle).

`python` (the bindings) may use everything and nothing uses it; it is checked like any other room.
Prints each graph's edges with `-v`; exits 1 with the cycle found.
"""

import re
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "rust_core" / "src"
PATH = re.compile(r"\b(crate|super)::(?:\{([^}]*)\}|(\w+))")


def strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return "\n".join(line.split("//")[0] for line in text.splitlines())


def names(text: str, kind: str) -> set[str]:
    out = set()
    for m in PATH.finditer(strip_comments(text)):
        if m.group(1) != kind:
            continue
        if m.group(3):
            out.add(m.group(3))
        else:  # crate::{a::X, b}
            out.update(part.strip().split("::")[0] for part in m.group(2).split(",") if part.strip())
    return out


def room_of(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".rs")


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def main() -> int:
    verbose = "-v" in sys.argv
    files = sorted(SRC.rglob("*.rs"))
    # Names at the crate root that are not rooms (lib.rs's re-exports, e.g. crate::Result) are not edges.
    known = {room_of(f) for f in files} - {"lib"}
    rooms: dict[str, set[str]] = {}
    within: dict[str, dict[str, set[str]]] = {}
    for f in files:
        text = f.read_text()
        room = room_of(f)
        if room == "lib":
            continue
        rooms.setdefault(room, set()).update(r for r in names(text, "crate") if r in known and r != room)
        if f.parent != SRC and f.name != "mod.rs":
            siblings = {p.stem for p in f.parent.glob("*.rs")} | {p.name for p in f.parent.iterdir() if p.is_dir()}
            key = str(f.parent.relative_to(SRC))
            graph = within.setdefault(key, {})
            graph.setdefault(f.stem, set()).update(n for n in names(text, "super") if n in siblings and n != f.stem)
    graphs = {"rooms": rooms, **{f"files of {k}/": g for k, g in sorted(within.items())}}
    failed = False
    for title, graph in graphs.items():
        if verbose:
            edges = [f"{a} -> {b}" for a in sorted(graph) for b in sorted(graph[a])]
            print(f"{title}: " + (", ".join(edges) or "no edges"))
        cycle = find_cycle(graph)
        if cycle:
            print(f"module cycle in {title}: {' -> '.join(cycle)}")
            failed = True
    if not failed:
        print(f"no module cycles ({len(files)} files, {len(graphs)} graphs)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
