"""The one-way import rule between the parts of `engine/`: no part imports, at module level,
a part that imports it back (directly or through others).

A part is a package of `engine/` (`runtime`, `store`, `audit`...) or a module at its top
(`loader`, `model`...). Imports inside functions (loaded on first use) and under
`TYPE_CHECKING` do not count: they do not run when the module is imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ENGINE = Path(__file__).resolve().parent.parent / "engine"


def _part(module: str) -> str:
    """`runtime` for `runtime.views`, `loader` for `loader`."""
    return module.split(".", 1)[0]


def _module_level(tree: ast.Module) -> list[ast.ImportFrom]:
    found = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.Try) or (
            isinstance(node, ast.If) and "TYPE_CHECKING" not in ast.unparse(node.test)
        ):
            found += [n for n in node.body if isinstance(n, ast.ImportFrom)]
    return found


def import_graph() -> nx.DiGraph:
    """Parts and the module-level imports between them, each edge with where it is written."""
    graph = nx.DiGraph()
    for path in sorted(ENGINE.rglob("*.py")):
        relative = path.relative_to(ENGINE).with_suffix("")
        parts = list(relative.parts)
        package = parts[:-1]  # where `.` points, for a module and for an __init__ alike
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if not parts:
            continue  # engine/__init__.py
        source = _part(".".join(parts))
        graph.add_node(source)
        for node in _module_level(ast.parse(path.read_text("utf-8"))):
            if node.level == 0:
                continue  # another package's module
            base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
            target = ".".join([*base, *([node.module] if node.module else [])])
            # `from .. import x` up to engine's top names the parts themselves
            targets = [target] if target else [alias.name for alias in node.names]
            for name in targets:
                dest = _part(name)
                if dest != source:
                    where = f"engine/{path.relative_to(ENGINE)}:{node.lineno}"
                    graph.add_edge(source, dest, where=where)
    return graph


def test_the_parts_of_the_engine_import_one_way() -> None:
    """No cycle between the parts of `engine/` (the message shows one, import by import)."""
    graph = import_graph()
    assert {"runtime", "store", "loader", "model", "audit", "web"} <= set(graph)
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return
    steps = [f"{a} -> {b} ({graph.edges[a, b]['where']})" for a, b in cycle]
    raise AssertionError("an import cycle between parts of engine/:\n  " + "\n  ".join(steps))


def test_a_cycle_would_be_found() -> None:
    """The graph holds the edges the rule is about (runtime imports store; store does not
    import runtime), so a cycle written tomorrow would show."""
    graph = import_graph()
    assert graph.has_edge("runtime", "store") and not graph.has_edge("store", "runtime")
    assert graph.has_edge("runtime", "audit") and not graph.has_edge("audit", "runtime")
    planted = graph.copy()
    planted.add_edge("store", "runtime", where="planted")
    assert list(nx.simple_cycles(planted))
