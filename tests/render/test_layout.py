"""The layered layout: back links, layers, ordering, packing, and no overlaps on any graph."""

from __future__ import annotations

import itertools

from fulfil.engine.render.layout import (
    Box,
    Item,
    Layout,
    Link,
    back_links,
    layered_layout,
    layers,
    pack,
)
from hypothesis import given
from hypothesis import strategies as st


def items(*names: str, width: float = 80.0) -> list[Item]:
    return [Item(n, width, 40.0, width, 40.0) for n in names]


def boxes_of(layout: Layout) -> list[Box]:
    """Every room and every label of a layout."""
    return [*layout.rooms.values(), *(r.label for r in layout.routes if r.label)]


def test_back_links_are_the_links_closing_a_cycle_from_the_root() -> None:
    """A DFS from the root marks the links into nodes on its stack; self-loops are not."""
    links = [Link("a", "b"), Link("b", "c"), Link("c", "a"), Link("b", "b"), Link("a", "c")]
    assert back_links(["a", "b", "c"], links, "a") == [2]
    # from b: b -> c -> a, then a -> b and a -> c both point at nodes on the stack
    assert back_links(["a", "b", "c"], links, "b") == [0, 4]


def test_layers_are_longest_paths_from_the_root() -> None:
    """A shortcut a->c does not pull c up: c sits below b, the longest path's end."""
    links = [Link("a", "b"), Link("b", "c"), Link("a", "c"), Link("c", "a")]
    assert layers(["a", "b", "c"], links, [3]) == {"a": 0, "b": 1, "c": 2}


def test_pack_keeps_order_and_gaps_as_close_as_possible_to_the_wishes() -> None:
    """Two slots wanting the same place are pushed apart evenly, around that place."""
    assert pack([100.0, 100.0], [20.0, 20.0], [1.0, 1.0], 10.0) == [85.0, 115.0]
    assert pack([0.0, 500.0], [20.0, 20.0], [1.0, 1.0], 10.0) == [0.0, 500.0]


def test_ordering_removes_avoidable_crossings() -> None:
    """Two parallel chains given in crossing order come out uncrossed: a1 over b1, a2 over b2."""
    names = ["r", "a1", "b1", "b2", "a2"]
    links = [Link("r", "a1"), Link("r", "b1"), Link("a1", "a2"), Link("b1", "b2")]
    layout = layered_layout(items(*names), links, root="r")
    x = {name: box.cx for name, box in layout.bodies.items()}
    assert (x["a1"] < x["b1"]) == (x["a2"] < x["b2"])


def test_layers_go_down_and_back_links_go_up_on_a_side() -> None:
    """Each layer is below the previous one; a back link is a bracket outside both boxes."""
    links = [Link("a", "b", 50, 14), Link("b", "c", 50, 14), Link("c", "a", 50, 14)]
    layout = layered_layout(items("a", "b", "c"), links, root="a")
    a, b, c = (layout.bodies[n] for n in "abc")
    assert a.bottom < b.y and b.bottom < c.y
    down, up = layout.routes[0], layout.routes[2]
    assert down.kind == "down" and down.points[0] == (a.cx, a.bottom)
    assert down.points[-1] == (b.cx, b.y)
    assert up.kind == "up" and up.label is not None
    xs = [x for x, _ in up.points]
    assert max(xs) > max(a.right, c.right) or min(xs) < min(a.x, c.x)


def test_self_loops_take_no_route() -> None:
    """A link from a node to itself is left to the writer."""
    layout = layered_layout(items("a"), [Link("a", "a", 40, 14)], root="a")
    assert layout.routes[0].kind == "self"


@st.composite
def graphs(draw: st.DrawFn) -> tuple[list[Item], list[Link]]:
    """Random graphs of up to 14 nodes of random sizes, with cycles, self-loops and labels."""
    count = draw(st.integers(1, 14))
    names = [f"n{i}" for i in range(count)]
    sizes = st.tuples(st.floats(30, 200), st.floats(20, 70), st.floats(0, 120))
    nodes = []
    for name in names:
        width, height, extra = draw(sizes)
        nodes.append(Item(name, width + extra, height, width, height))
    ends = st.sampled_from(names)
    label = st.tuples(st.floats(0, 160), st.floats(0, 60))
    raw = draw(st.lists(st.tuples(ends, ends, label), max_size=30))
    links = [Link(a, b, w, h if w else 0.0) for a, b, (w, h) in raw]
    return nodes, links


@given(graphs())
def test_no_two_boxes_or_labels_overlap_on_random_graphs(graph: tuple[list[Item], list[Link]]):
    """Rooms and labels never overlap, and everything lies inside the layout's size."""
    nodes, links = graph
    layout = layered_layout(nodes, links, root=nodes[0].name)
    drawn = boxes_of(layout)
    for one, other in itertools.combinations(drawn, 2):
        assert not one.overlaps(other), (one, other)
    for box in drawn:
        assert box.x >= 0 and box.y >= 0
        assert box.right <= layout.width and box.bottom <= layout.height
    for route in layout.routes:
        for x, y in route.points:
            assert 0 <= x <= layout.width and 0 <= y <= layout.height


@given(graphs())
def test_layout_is_a_function_of_its_input(graph: tuple[list[Item], list[Link]]) -> None:
    """The same graph twice gives the same layout."""
    nodes, links = graph
    assert layered_layout(nodes, links) == layered_layout(list(nodes), list(links))
