"""The layers of `engine/` and the one-way rule between them (docs/architecture.md).

A part is a package of `engine/` (`runtime`, `store`, `definition`...) or one of the modules at
its top (`frozen`, `lazy`, `errors`, `model`). The parts stand on floors; a part imports only
parts on floors below its own, never one beside it or above it. Imports inside functions count
too: a function that imports upward hides the same dependency. Only imports under
`TYPE_CHECKING` (annotations, never run) are left out. Inside a part, modules do not import each
other in a cycle, counting the imports inside functions too: a function-local import that
closes a cycle hides it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import pytest

ENGINE = Path(__file__).resolve().parent.parent / "engine"

# bottom to top; the parts on one floor do not import each other
FLOORS: list[tuple[str, ...]] = [
    ("frozen", "lazy"),
    ("errors",),
    ("model",),
    ("clock",),
    ("expressions", "store"),
    ("audit", "messages"),
    ("definition",),
    ("people",),
    ("runtime", "render"),
    ("checking", "worker"),
    ("testing",),
    ("lsp", "web"),
    ("commands",),
]
FLOOR = {part: level for level, parts in enumerate(FLOORS) for part in parts}


@dataclass(frozen=True)
class Import:
    source: str  # the importing module, `runtime.executor`
    target: str  # the imported module, `store.base`
    where: str  # engine/runtime/executor.py:12
    module_level: bool

    @property
    def edge(self) -> tuple[str, str]:
        return part(self.source), part(self.target)


def part(module: str) -> str:
    """`runtime` for `runtime.views`, `model` for `model`."""
    return module.split(".", 1)[0]


def _imports(tree: ast.Module) -> list[tuple[ast.ImportFrom, bool]]:
    """Every `from` import with whether it runs when the module is imported; none under
    `TYPE_CHECKING`."""
    found: list[tuple[ast.ImportFrom, bool]] = []

    def visit(node: ast.AST, module_level: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for other in child.orelse:
                    visit(other, module_level)
                continue
            inside = module_level and not isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
            )
            if isinstance(child, ast.ImportFrom):
                found.append((child, module_level))
            visit(child, inside)

    visit(tree, True)
    return found


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(ENGINE.rglob("*.py")):
        parts = list(path.relative_to(ENGINE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts:  # engine/__init__.py is no part
            found[".".join(parts)] = path
    return found


def engine_imports() -> list[Import]:
    """Every import between modules of `engine/`, resolved to the module it names."""
    modules = _modules()
    found = []
    for name, path in modules.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        for node, module_level in _imports(ast.parse(path.read_text("utf-8"))):
            if node.level == 0:
                continue  # another distribution's module
            base = package[: len(package) - (node.level - 1)]
            origin = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:
                named = f"{origin}.{alias.name}" if origin else alias.name
                target = named if named in modules else origin
                if target and target != name:
                    where = f"engine/{path.relative_to(ENGINE)}:{node.lineno}"
                    found.append(Import(name, target, where, module_level))
    return found


def part_graph(imports: list[Import]) -> nx.DiGraph:
    graph = nx.DiGraph()
    for one in imports:
        source, dest = one.edge
        graph.add_node(source)
        if source != dest:
            graph.add_edge(source, dest, where=one.where)
    return graph


def upward(imports: list[Import]) -> list[str]:
    """The imports of a part on a floor not below the importer's, each said in a line."""
    lines = []
    for one in imports:
        source, dest = one.edge
        if source != dest and FLOOR[dest] >= FLOOR[source]:
            beside = "beside it" if FLOOR[dest] == FLOOR[source] else "above it"
            lines.append(f"{one.where}: {source} imports {dest} ({beside}: {one.target})")
    return lines


def test_every_part_stands_on_a_floor() -> None:
    """A new package must be given its floor: the rule has no default."""
    parts = {part(name) for name in _modules()}
    assert parts == set(FLOOR), f"parts without a floor: {sorted(parts - set(FLOOR))}"


def test_no_part_imports_upward_or_beside() -> None:
    """Each part imports only the floors below it (the message names each import at fault)."""
    lines = upward(engine_imports())
    assert not lines, "imports against the layers of engine/:\n  " + "\n  ".join(lines)


def cycle_inside_a_part(imports: list[Import]) -> list[str]:
    """One cycle of imports between modules of one part (at module level or inside functions),
    each step in a line; empty when there is none."""
    graph = nx.DiGraph()
    for one in imports:
        if part(one.source) == part(one.target):
            graph.add_edge(one.source, one.target, where=one.where)
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return []
    return [f"{a} -> {b} ({graph.edges[a, b]['where']})" for a, b in cycle]


def test_no_cycle_inside_a_part() -> None:
    """Inside a part, modules import each other in no cycle, inside functions or not."""
    steps = cycle_inside_a_part(engine_imports())
    assert not steps, "an import cycle inside a part:\n  " + "\n  ".join(steps)


def test_the_rule_sees_the_imports_it_is_about() -> None:
    """The graph holds the edges the floors are about, and a planted upward import, an import
    beside, or one inside a function, is reported."""
    imports = engine_imports()
    graph = part_graph(imports)
    assert graph.has_edge("runtime", "store") and not graph.has_edge("store", "runtime")
    assert graph.has_edge("runtime", "definition") and graph.has_edge("web", "runtime")
    planted = [
        Import("store.sqlite", "runtime.engine", "planted:1", True),
        Import("render.dot", "runtime.views", "planted:2", False),
        Import("clock.clocks", "model", "fine:3", True),
    ]
    lines = upward(planted)
    assert [line.split(":")[0] for line in lines] == ["planted", "planted"]
    assert "above it" in lines[0] and "beside it" in lines[1]
    closing = [
        Import("runtime.executor", "runtime.tasks", "planted:4", True),
        Import("runtime.tasks", "runtime.executor", "planted:5", False),
    ]
    assert len(cycle_inside_a_part(closing)) == 2  # a function's import closes it
    assert cycle_inside_a_part(closing[:1]) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def f():\n    from ..store import base\n", [False]),
        ("from ..store import base\n", [True]),
        ("if TYPE_CHECKING:\n    from ..store import base\n", []),
        ("try:\n    from ..store import base\nexcept ImportError:\n    pass\n", [True]),
    ],
)
def test_imports_are_read_where_they_run(source: str, expected: list[bool]) -> None:
    """Function-local imports are found (not module level); `TYPE_CHECKING` ones are not."""
    assert [level for _, level in _imports(ast.parse(source))] == expected
