"""No import cycles between labwarden's modules, counting the imports inside functions too: a
cycle hidden in a function is still two modules that cannot be understood, tested or loaded
one without the other."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).parents[1] / "src"
PACKAGE = "labwarden"

def module_names() -> dict[str, Path]:
    found = {}
    for path in (SRC / PACKAGE).rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The labwarden modules `name` imports anywhere in its body: `from a.b import c` is an
    import of a.b.c when c is a module, else of a.b."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")[:len(name.split(".")) - node.level + is_package]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                child = f"{base}.{alias.name}"
                found.add(child if child in modules else base)
    return {m for m in found if m in modules and m != name}


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = module_names()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def test_no_import_cycles():
    found = set(cycles(import_graph()))
    assert found == set(), "import cycles: " + "; ".join(" <-> ".join(sorted(c)) for c in found)


def test_the_firewall_package_never_imports_the_host_collectors():
    graph = import_graph()
    for name in graph:
        if name.startswith("labwarden.sources.firewall"):
            assert not {m for m in graph[name] if m.startswith("labwarden.sources.live")}, name


def test_cycle_finder_sees_a_function_level_cycle(tmp_path):
    """The finder itself: two modules importing each other, one only inside a function."""
    package = tmp_path / PACKAGE
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from labwarden.b import thing\n")
    (package / "b.py").write_text("def thing():\n    from labwarden import a\n    return a\n")
    modules = {"labwarden": package / "__init__.py", "labwarden.a": package / "a.py",
               "labwarden.b": package / "b.py"}
    graph = {name: imports_of(name, path, modules) for name, path in modules.items()}
    assert cycles(graph) == [frozenset({"labwarden.a", "labwarden.b"})]
