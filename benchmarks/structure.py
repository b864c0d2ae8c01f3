"""Figures of the code's structure, for the restructuring's before/after (not timed).

    python benchmarks/structure.py [ROOT]     (ROOT: a checkout; default: this one)

Prints the modules per folder, the import cycles between condor_nb's modules (imports
inside functions included, ``if TYPE_CHECKING:`` blocks excluded), and how many imports
of condor_nb's own modules sit inside functions.
"""

from __future__ import annotations

import ast
import sys
from collections import Counter
from pathlib import Path

PACKAGE = "condor_nb"


def modules(root: Path) -> dict[str, Path]:
    found = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(path: Path, name: str, known: set[str]) -> list[tuple[str, bool]]:
    """(imported module, inside a function) for each import of a condor_nb module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    out: list[tuple[str, bool]] = []

    def resolve(module: str, names: list[str]) -> list[str]:
        targets = [f"{module}.{n}" for n in names if f"{module}.{n}" in known]
        return targets or ([module] if module in known else [])

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.split(".")[0] == PACKAGE:
                        out.extend((t, inner) for t in resolve(alias.name, []))
            elif isinstance(child, ast.ImportFrom):
                module = child.module or ""
                if child.level:
                    base = name.split(".")[: len(name.split(".")) - child.level + is_package]
                    module = ".".join([*base, module] if module else base)
                if module.split(".")[0] == PACKAGE:
                    targets = resolve(module, [a.name for a in child.names])
                    out.extend((t, inner) for t in targets)
            visit(child, inner)

    visit(tree, False)
    return [(t, f) for t, f in out if t != name]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def connect(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                connect(w)
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

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def main(root: Path) -> None:
    mods = modules(root)
    known = set(mods)
    folders = Counter(str(p.parent.relative_to(root)) for p in mods.values())
    print(f"modules: {len(mods)}")
    for folder, n in sorted(folders.items()):
        print(f"  {folder:28} {n}")
    graph: dict[str, set[str]] = {}
    in_function = 0
    for name, path in mods.items():
        found = imports(path, name, known)
        in_function += sum(1 for _, inner in found if inner)
        # A package's __init__ is not imported by importing its submodule's name alone,
        # but importing a submodule runs it: an edge module -> its package is implied.
        graph[name] = {t for t, _ in found}
    print(f"in-function imports of {PACKAGE} modules: {in_function}")
    found_cycles = cycles(graph)
    print(f"import cycles (strongly connected groups of modules): {len(found_cycles)}")
    for group in found_cycles:
        print("  " + " <-> ".join(group))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1])
