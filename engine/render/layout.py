"""A layered ("Sugiyama-lite") layout of a directed graph, for the built-in SVG diagrams.

The steps, each a small function:

1. back links: a depth-first search from the root finds the links that close a cycle;
2. layers: the longest path from the root over the graph with those links reversed (networkx);
3. ranks: layer `k` is rank `2k`; a link going down gets a point at every rank it crosses, and
   its label is a point of its own on the odd rank nearest its middle, so labels take room in
   the ordering and never sit on a box;
4. order: barycenter sweeps up and down, keeping the order with the fewest crossings;
5. x: each row pulled towards its neighbours, without overlaps (isotonic regression);
6. links going up (back links) are routed as round-cornered brackets on the side with the
   fewest boxes in the way, nested outside everything they pass; self-loops are left to the
   writer, which
   reserves their room in the item's width.

Everything is deterministic: no set iteration, ties broken by input order.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from typing import Literal

import networkx as nx

Point = tuple[float, float]
Kind = Literal["down", "up", "self"]
MARGIN = 16.0


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle: top-left corner and size."""

    x: float
    y: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height

    @property
    def cx(self) -> float:
        return self.x + self.width / 2

    @property
    def cy(self) -> float:
        return self.y + self.height / 2

    def overlaps(self, other: Box) -> bool:
        """Whether the two rectangles share an inner point (touching edges do not count)."""
        return (
            self.x < other.right
            and other.x < self.right
            and self.y < other.bottom
            and other.y < self.bottom
        )

    def shifted(self, dx: float, dy: float) -> Box:
        return replace(self, x=self.x + dx, y=self.y + dy)


@dataclass(frozen=True)
class Item:
    """A node to place: the whole room it takes, and its body (drawn box) at the room's left.

    The room is wider than the body when the writer puts something on the body's right (a
    self-loop and its label); links attach to the body.
    """

    name: str
    width: float
    height: float
    body_width: float
    body_height: float


@dataclass(frozen=True)
class Link:
    """A link to route, with the size of its label (0 x 0 for none)."""

    source: str
    dest: str
    label_width: float = 0.0
    label_height: float = 0.0


@dataclass(frozen=True)
class Route:
    """How a link is drawn.

    `down`: `points` are the source port, the points it passes and the target port; the path is
    a vertical-tangent curve through them. `up`: `points` are the corners of a bracket (out
    sideways, up, back in), joined by straight lines. `self`: no points (the writer draws the
    loop beside the body).
    """

    kind: Kind
    points: tuple[Point, ...] = ()
    label: Box | None = None


@dataclass(frozen=True)
class Layout:
    """Where everything goes: items' rooms and bodies by name, routes in the links' order."""

    rooms: dict[str, Box]
    bodies: dict[str, Box]
    routes: tuple[Route, ...]
    width: float
    height: float


@dataclass
class _Slot:
    key: str
    width: float
    height: float
    anchor: float  # x offset of the point where links attach
    weight: float = 1.0
    preds: list[str] = field(default_factory=list)
    succs: list[str] = field(default_factory=list)
    left: float = 0.0
    top: float = 0.0
    row: tuple[float, float] = (0.0, 0.0)  # top and bottom of the slot's row


def discovery_order(names: list[str], links: list[Link], root: str | None) -> list[str]:
    """Names in depth-first discovery order from the root, then from the others in order."""
    succs: dict[str, list[str]] = {n: [] for n in names}
    for link in links:
        succs[link.source].append(link.dest)
    seen: dict[str, None] = {}
    starts = ([root] if root in succs else []) + names
    for start in starts:
        stack = [start]
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen[node] = None
            stack.extend(reversed([s for s in succs[node] if s not in seen]))
    return list(seen)


def back_links(names: list[str], links: list[Link], root: str | None) -> list[int]:
    """Indices of the links that close a cycle in a depth-first search from the root."""
    out: dict[str, list[int]] = {n: [] for n in names}
    for index, link in enumerate(links):
        if link.source != link.dest:
            out[link.source].append(index)
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    back: list[int] = []
    for start in ([root] if root in out else []) + names:
        if start in state:
            continue
        state[start] = 1
        stack = [(start, iter(out[start]))]
        while stack:
            node, pending = stack[-1]
            index = next(pending, -1)
            if index < 0:
                state[node] = 2
                stack.pop()
                continue
            dest = links[index].dest
            if state.get(dest) == 1:
                back.append(index)
            elif dest not in state:
                state[dest] = 1
                stack.append((dest, iter(out[dest])))
    return sorted(back)


def layers(names: list[str], links: list[Link], back: list[int]) -> dict[str, int]:
    """Longest-path layer of each name over the links, back links reversed, self-loops out."""
    dag = nx.DiGraph()
    dag.add_nodes_from(names)
    reversed_ = set(back)
    for index, link in enumerate(links):
        if link.source == link.dest:
            continue
        pair = (link.dest, link.source) if index in reversed_ else (link.source, link.dest)
        dag.add_edge(*pair)
    layer: dict[str, int] = {}
    for node in nx.lexicographical_topological_sort(dag, key=names.index):
        layer[node] = max((layer[p] + 1 for p in dag.predecessors(node)), default=0)
    return layer


def _chain(
    rows: list[list[_Slot]], slots: dict[str, _Slot], index: int, link: Link, a: int, b: int
) -> list[str]:
    """Add the points of a down link from layer a to layer b; returns their keys, in order."""
    middle = a + b if (a + b) % 2 else a + b - 1
    keys = []
    for rank in range(2 * a + 1, 2 * b):
        key = f"\0{index}:{rank}"
        if rank == middle and link.label_width:
            slot = _Slot(key, link.label_width, link.label_height, link.label_width / 2, 2.0)
        else:
            slot = _Slot(key, 8.0, 0.0, 4.0, 2.0)
        rows[rank].append(slot)
        slots[key] = slot
        keys.append(key)
    return keys


def crossings(rows: list[list[_Slot]], slots: dict[str, _Slot]) -> int:
    """The number of crossings between consecutive rows (pairwise count)."""
    total = 0
    for upper in rows[:-1]:
        pos = {s.key: i for i, s in enumerate(upper)}
        pairs = [(pos[s.key], _index(slots, t)) for s in upper for t in s.succs]
        for i, (a1, b1) in enumerate(pairs):
            total += sum(1 for a2, b2 in pairs[i + 1 :] if (a1 - a2) * (b1 - b2) < 0)
    return total


def _index(slots: dict[str, _Slot], key: str) -> int:
    return int(slots[key].left)  # during ordering, `left` holds the index in the row


def _renumber(rows: list[list[_Slot]]) -> None:
    for row in rows:
        for i, slot in enumerate(row):
            slot.left = float(i)


def _sweep(rows: list[list[_Slot]], slots: dict[str, _Slot], downward: bool) -> None:
    ranks = range(1, len(rows)) if downward else range(len(rows) - 2, -1, -1)
    for rank in ranks:

        def barycenter(slot: _Slot) -> tuple[float, float]:
            near = slot.preds if downward else slot.succs
            if not near:
                return (slot.left, slot.left)
            return (sum(slots[k].left for k in near) / len(near), slot.left)

        rows[rank].sort(key=barycenter)
        for i, slot in enumerate(rows[rank]):
            slot.left = float(i)


def order(rows: list[list[_Slot]], slots: dict[str, _Slot], sweeps: int = 8) -> None:
    """Reorder each row by barycenter sweeps, keeping the order with the fewest crossings."""
    _renumber(rows)
    best = [list(row) for row in rows]
    fewest = crossings(rows, slots)
    for sweep in range(sweeps):
        if fewest == 0:
            break
        _sweep(rows, slots, downward=sweep % 2 == 0)
        count = crossings(rows, slots)
        if count < fewest:
            fewest, best = count, [list(row) for row in rows]
    rows[:] = best
    _renumber(rows)


def pack(
    desired: list[float], widths: list[float], weights: list[float], gap: float
) -> list[float]:
    """Lefts closest (weighted least squares) to `desired`, in order, at least `gap` apart."""
    offsets, total = [], 0.0
    for width in widths:
        offsets.append(total)
        total += width + gap
    blocks: list[list[float]] = []  # [weighted sum, weight, count]
    for want, offset, weight in zip(desired, offsets, weights, strict=True):
        blocks.append([(want - offset) * weight, weight, 1])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            top = blocks.pop()
            blocks[-1] = [blocks[-1][0] + top[0], blocks[-1][1] + top[1], blocks[-1][2] + top[2]]
    values = [b[0] / b[1] for b in blocks for _ in range(int(b[2]))]
    return [v + o for v, o in zip(values, offsets, strict=True)]


def place_x(rows: list[list[_Slot]], slots: dict[str, _Slot], gap: float, rounds: int = 6) -> None:
    """Give every slot a left: packed, then pulled towards its neighbours' anchors."""
    for row in rows:
        x = 0.0
        for slot in row:
            slot.left, x = x, x + slot.width + gap
    for step in range(rounds * 2):
        downward = step % 2 == 0
        for row in rows if downward else reversed(rows):
            desired = []
            for slot in row:
                near = slot.preds if downward else slot.succs
                if near:
                    mean = sum(slots[k].left + slots[k].anchor for k in near) / len(near)
                    desired.append(mean - slot.anchor)
                else:
                    desired.append(slot.left)
            widths, weights = [s.width for s in row], [s.weight for s in row]
            for slot, left in zip(row, pack(desired, widths, weights, gap), strict=True):
                slot.left = left


def place_y(rows: list[list[_Slot]], gap: float) -> list[tuple[float, float]]:
    """Give every slot a top, centred in its row; returns each row's (top, height)."""
    spans, y = [], MARGIN
    for row in rows:
        height = max((s.height for s in row), default=0.0)
        for slot in row:
            slot.top = y + (height - slot.height) / 2
            slot.row = (y, y + height)
        spans.append((y, height))
        y += height + gap
    return spans


Rows = list[list[_Slot]]


def _build(
    items: list[Item], links: list[Link], layer: dict[str, int], up: set[int]
) -> tuple[Rows, dict[str, _Slot], dict[int, list[str]]]:
    depth = max(layer.values(), default=0)
    rows: list[list[_Slot]] = [[] for _ in range(2 * depth + 1)]
    slots: dict[str, _Slot] = {}
    for item in items:
        slot = _Slot(item.name, item.width, item.height, item.body_width / 2)
        rows[2 * layer[item.name]].append(slot)
        slots[item.name] = slot
    chains: dict[int, list[str]] = {}
    for index, link in enumerate(links):
        if link.source == link.dest or index in up:
            continue
        a, b = layer[link.source], layer[link.dest]
        keys = [link.source, *_chain(rows, slots, index, link, a, b), link.dest]
        for upper, lower in itertools.pairwise(keys):
            slots[upper].succs.append(lower)
            slots[lower].preds.append(upper)
        chains[index] = keys
    return rows, slots, chains


def _initial_order(rows: list[list[_Slot]], slots: dict[str, _Slot], found: list[str]) -> None:
    """Row 0 in discovery order, each next row by its predecessors' places."""
    rank = {name: i for i, name in enumerate(found)}
    rows[0].sort(key=lambda s: rank.get(s.key, 0))
    _renumber(rows[:1])
    for row in rows[1:]:

        def key(slot: _Slot) -> tuple[float, int]:
            if not slot.preds:
                return (float("inf"), rank.get(slot.key, 0))
            return (min(slots[p].left for p in slot.preds), rank.get(slot.key, 0))

        row.sort(key=key)
        for i, slot in enumerate(row):
            slot.left = float(i)


def _body(item: Item, slot: _Slot) -> Box:
    top = slot.top + (item.height - item.body_height) / 2
    return Box(slot.left, top, item.body_width, item.body_height)


def _ports(box: Box, count: int) -> list[float]:
    """x of `count` ports spread along the middle 60% of a box's side."""
    span = box.width * 0.6
    return [box.cx - span / 2 + span * (k + 1) / (count + 1) for k in range(count)]


def _down_routes(
    links: list[Link],
    chains: dict[int, list[str]],
    slots: dict[str, _Slot],
    bodies: dict[str, Box],
) -> dict[int, Route]:
    """Routes of the down links: through their points, ports spread by where they go."""
    outs: dict[str, list[int]] = {}
    ins: dict[str, list[int]] = {}
    for index in chains:
        outs.setdefault(links[index].source, []).append(index)
        ins.setdefault(links[index].dest, []).append(index)
    port: dict[tuple[int, str], float] = {}

    def centre(key: str) -> float:
        return slots[key].left + slots[key].anchor

    for name, group in outs.items():
        group.sort(key=lambda i: (centre(chains[i][1]), i))
        for i, x in zip(group, _ports(bodies[name], len(group)), strict=True):
            port[(i, "out")] = x
    for name, group in ins.items():
        group.sort(key=lambda i: (centre(chains[i][-2]), i))
        for i, x in zip(group, _ports(bodies[name], len(group)), strict=True):
            port[(i, "in")] = x
    routes: dict[int, Route] = {}
    for index, keys in chains.items():
        source, dest = bodies[keys[0]], bodies[keys[-1]]
        out, into = port[(index, "out")], port[(index, "in")]
        # straight down through every row, turning only between rows: no box is crossed
        points: list[Point] = [(out, source.bottom), (out, slots[keys[0]].row[1])]
        label = None
        for key in keys[1:-1]:
            slot = slots[key]
            x = slot.left + slot.anchor
            if slot.height:
                label = Box(slot.left, slot.top, slot.width, slot.height)
            points += [(x, slot.row[0]), (x, slot.row[1])]
        points += [(into, slots[keys[-1]].row[0]), (into, dest.y)]
        routes[index] = Route("down", tuple(points), label)
    return routes


def _side_cost(side: int, link: Link, rooms: dict[str, Box], bodies: dict[str, Box]) -> float:
    """How bad leaving on a side is (+1 right, -1 left): boxes passed in the ends' rows."""
    cost = 0.0
    for name in (link.source, link.dest):
        body, room = bodies[name], rooms[name]
        if (room.right if side > 0 else -room.x) > (body.right if side > 0 else -body.x) + 0.5:
            cost += 1000.0  # something (a self-loop) is drawn on that side of the body
        for other, box in rooms.items():
            beside = box.x >= body.right if side > 0 else box.right <= body.x
            if other != name and beside and box.y <= body.cy <= box.bottom:
                cost += 1.0
    return cost


@dataclass
class _Sides:
    """The room taken on the sides so far, and the ports used on each side of each body."""

    obstacles: list[Box]
    used: dict[tuple[str, int], int] = field(default_factory=dict)

    def count(self, name: str, side: int) -> int:
        """How many ports of that side of that body are taken (then one more is)."""
        count = self.used.get((name, side), 0)
        self.used[(name, side)] = count + 1
        return count

    def port(self, name: str, side: int) -> float:
        """The y offset, from the middle of a body's side, of a new port there."""
        return (0.0, -9.0, 9.0, -18.0, 18.0)[self.count(name, side) % 5]


def _up_ends(
    link: Link,
    side: int,
    bodies: dict[str, Box],
    rows: dict[str, tuple[float, float]],
    gap: float,
    sides: _Sides,
) -> tuple[list[Point], list[Point]]:
    """Where a back link leaves its source and reaches its target, when boxes are beside them.

    It leaves the source's top (near the side it goes to) into the gap above the source's
    row, and reaches the target's bottom from the gap below the target's row: gaps hold no box.
    """
    source, dest = bodies[link.source], bodies[link.dest]

    def near_side(box: Box, name: str) -> float:
        inset = 8.0 + 7.0 * (sides.count(name, 2 * side) % 3)
        return box.right - inset if side > 0 else box.x + inset

    px, qx = near_side(source, link.source), near_side(dest, link.dest)
    sy, ty = rows[link.source][0] - gap / 2, rows[link.dest][1] + gap / 2
    return [(px, source.y), (px, sy)], [(qx, ty), (qx, dest.bottom)]


def _up_route(
    link: Link,
    layout: tuple[dict[str, Box], dict[str, Box], dict[str, tuple[float, float]]],
    gap: float,
    sides: _Sides,
) -> Route:
    """A bracket on one side, out past every box between its ends, its label beyond it.

    It leaves and reaches the boxes by their sides when nothing stands beside them in their
    rows, else through the gaps between rows (`_up_ends`).
    """
    rooms, bodies, rows = layout
    source, dest = bodies[link.source], bodies[link.dest]
    cost, flipped = min((_side_cost(s, link, rooms, bodies), -s) for s in (1, -1))
    side = -flipped
    if cost:
        start, end = _up_ends(link, side, bodies, rows, gap, sides)
    else:
        sx, tx = (source.right, dest.right) if side > 0 else (source.x, dest.x)
        start = [(sx, source.cy + sides.port(link.source, side))]
        end = [(tx, dest.cy + sides.port(link.dest, side))]
    (sx, sy), (tx, ty) = start[-1], end[0]
    low, high = min(sy, ty), max(sy, ty)
    band = [b for b in sides.obstacles if b.y < high and b.bottom > low]
    xs = [x for x, _ in start + end]
    if side > 0:
        extreme = max([b.right for b in band] + xs) + 14.0
        label = Box(extreme + 4.0, (sy + ty - link.label_height) / 2, link.label_width, 0.0)
        taken = Box(min(xs), low, extreme - min(xs), high - low)
    else:
        extreme = min([b.x for b in band] + xs) - 14.0
        label = Box(extreme - 4.0 - link.label_width, (sy + ty - link.label_height) / 2, 0, 0)
        label = replace(label, width=link.label_width)
        taken = Box(extreme, low, max(xs) - extreme, high - low)
    label = replace(label, height=link.label_height)
    sides.obstacles += [taken, label] if link.label_width else [taken]
    points = (*start, (extreme, sy), (extreme, ty), *end)
    return Route("up", points, label if link.label_width else None)


def _shift(route: Route, dx: float, dy: float) -> Route:
    points = tuple((x + dx, y + dy) for x, y in route.points)
    label = route.label.shifted(dx, dy) if route.label else None
    return Route(route.kind, points, label)


def _finish(rooms: dict[str, Box], bodies: dict[str, Box], routes: list[Route]) -> Layout:
    """Move everything so that the drawing starts at the margin; measure it."""
    boxes = list(rooms.values()) + [r.label for r in routes if r.label]
    xs = [b.x for b in boxes] + [x for r in routes for x, _ in r.points]
    ys = [b.y for b in boxes] + [y for r in routes for _, y in r.points]
    ends_x = [b.right for b in boxes] + [x for r in routes for x, _ in r.points]
    ends_y = [b.bottom for b in boxes] + [y for r in routes for _, y in r.points]
    dx, dy = MARGIN - min(xs, default=0.0), MARGIN - min(ys, default=0.0)
    return Layout(
        rooms={k: b.shifted(dx, dy) for k, b in rooms.items()},
        bodies={k: b.shifted(dx, dy) for k, b in bodies.items()},
        routes=tuple(_shift(r, dx, dy) for r in routes),
        width=max(ends_x, default=0.0) + dx + MARGIN,
        height=max(ends_y, default=0.0) + dy + MARGIN,
    )


def layered_layout(
    items: list[Item],
    links: list[Link],
    *,
    root: str | None = None,
    gap_x: float = 28.0,
    gap_y: float = 30.0,
) -> Layout:
    """Lay out items and links top-down from the root (or from the items without inputs).

    Args:
        items: the nodes, in a stable order (ties are broken by it).
        links: the links between items' names; a name may link to itself.
        root: the item to start the search for back links from, drawn in the first layer.
        gap_x: the least horizontal room between two slots of a row.
        gap_y: the room between two rows (a row of items, then a row of labels, and so on).
    """
    names = [item.name for item in items]
    layer = layers(names, links, back_links(names, links, root))
    up = {
        i
        for i, link in enumerate(links)
        if link.source != link.dest and layer[link.source] >= layer[link.dest]
    }
    rows, slots, chains = _build(items, links, layer, up)
    _initial_order(rows, slots, discovery_order(names, links, root))
    order(rows, slots)
    place_x(rows, slots, gap_x)
    place_y(rows, gap_y)
    rooms = {i.name: Box(slots[i.name].left, slots[i.name].top, i.width, i.height) for i in items}
    bodies = {i.name: _body(i, slots[i.name]) for i in items}
    row_of = {i.name: slots[i.name].row for i in items}
    by_index = _down_routes(links, chains, slots, bodies)
    sides = _Sides(list(rooms.values()) + [r.label for r in by_index.values() if r.label])
    span = {i: abs(layer[links[i].source] - layer[links[i].dest]) for i in up}
    for index in sorted(up, key=lambda i: (span[i], i)):
        by_index[index] = _up_route(links[index], (rooms, bodies, row_of), gap_y, sides)
    routes = [by_index.get(i, Route("self")) for i in range(len(links))]
    return _finish(rooms, bodies, routes)
