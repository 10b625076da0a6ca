"""A layered ("Sugiyama-lite") layout of a directed graph, for the built-in SVG diagrams.

The steps, each a small function:

1. back links: a depth-first search from the root finds the links that close a cycle;
2. layers: the longest path from the root over the graph with those links reversed (networkx);
3. ranks: layer `k` is rank `2k`; a link going down gets a point at every rank it crosses, and
   its label is a point of its own on the odd rank nearest its middle, so labels take room in
   the ordering and never sit on a box;
4. order: barycenter sweeps up and down, keeping the order with the fewest crossings;
5. x: each row pulled towards its neighbours, without overlaps (isotonic regression);
6. links are routed (`engine/render/routing.py`): down through their points, up (back links)
   as round-cornered brackets on the side with the fewest boxes in the way, nested outside
   everything they pass; self-loops are left to the writer, which reserves their room in the
   item's width.

The geometry (`Box`, `Item`, `Link`, `Route`, `Layout`) lives in `engine/render/geometry.py`
and is importable from here too.

Everything is deterministic: no set iteration, ties broken by input order.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import networkx as nx

from .geometry import FRAME_PAD, MARGIN, Box, Item, Kind, Layout, Link, Point, Route, Slot
from .routing import Sides, down_routes, up_route

__all__ = [
    "MARGIN",
    "Box",
    "Item",
    "Kind",
    "Layout",
    "Link",
    "Point",
    "Route",
    "back_links",
    "crossings",
    "discovery_order",
    "group_frames",
    "keep_together",
    "layered_layout",
    "layers",
    "order",
    "pack",
    "place_x",
    "place_y",
]


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
    rows: list[list[Slot]], slots: dict[str, Slot], index: int, link: Link, a: int, b: int
) -> list[str]:
    """Add the points of a down link from layer a to layer b; returns their keys, in order."""
    middle = a + b if (a + b) % 2 else a + b - 1
    keys = []
    for rank in range(2 * a + 1, 2 * b):
        key = f"\0{index}:{rank}"
        if rank == middle and link.label_width:
            slot = Slot(key, link.label_width, link.label_height, link.label_width / 2, 2.0)
        else:
            slot = Slot(key, 8.0, 0.0, 4.0, 2.0)
        rows[rank].append(slot)
        slots[key] = slot
        keys.append(key)
    return keys


def crossings(rows: list[list[Slot]], slots: dict[str, Slot]) -> int:
    """The number of crossings between consecutive rows (pairwise count)."""
    total = 0
    for upper in rows[:-1]:
        pos = {s.key: i for i, s in enumerate(upper)}
        pairs = [(pos[s.key], _index(slots, t)) for s in upper for t in s.succs]
        for i, (a1, b1) in enumerate(pairs):
            total += sum(1 for a2, b2 in pairs[i + 1 :] if (a1 - a2) * (b1 - b2) < 0)
    return total


def _index(slots: dict[str, Slot], key: str) -> int:
    return int(slots[key].left)  # during ordering, `left` holds the index in the row


def _renumber(rows: list[list[Slot]]) -> None:
    for row in rows:
        for i, slot in enumerate(row):
            slot.left = float(i)


def _sweep(rows: list[list[Slot]], slots: dict[str, Slot], downward: bool) -> None:
    ranks = range(1, len(rows)) if downward else range(len(rows) - 2, -1, -1)
    for rank in ranks:

        def barycenter(slot: Slot) -> tuple[float, float]:
            near = slot.preds if downward else slot.succs
            if not near:
                return (slot.left, slot.left)
            return (sum(slots[k].left for k in near) / len(near), slot.left)

        rows[rank].sort(key=barycenter)
        for i, slot in enumerate(rows[rank]):
            slot.left = float(i)


def order(rows: list[list[Slot]], slots: dict[str, Slot], sweeps: int = 8) -> None:
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


def keep_together(rows: list[list[Slot]], paths: Mapping[str, tuple[str, ...]]) -> None:
    """Reorder each row so that the slots of one group (a compound state) sit side by side,
    at every level: each group takes the mean place of its slots, and the slots outside
    groups (other items, link points) keep theirs. `paths` gives an item's groups, outermost
    first."""
    for row in rows:
        place = {id(slot): float(i) for i, slot in enumerate(row)}
        means: dict[tuple[str, ...], float] = {}
        for depth in range(max((len(paths.get(s.key, ())) for s in row), default=0)):
            members: dict[tuple[str, ...], list[float]] = {}
            for slot in row:
                path = paths.get(slot.key, ())
                if len(path) > depth:
                    members.setdefault(path[: depth + 1], []).append(place[id(slot)])
            for prefix, found in members.items():
                means[prefix] = sum(found) / len(found)

        keys: dict[int, tuple[tuple[float, str], ...]] = {}
        for slot in row:
            path = paths.get(slot.key, ())
            steps = [(means[path[: d + 1]], path[d]) for d in range(len(path))]
            keys[id(slot)] = (*steps, (place[id(slot)], ""))
        row.sort(key=lambda slot: keys[id(slot)])
        for i, slot in enumerate(row):
            slot.left = float(i)


def clear_groups(
    rows: list[list[Slot]],
    paths: Mapping[str, tuple[str, ...]],
    items: set[str],
    pad: float,
    gap: float,
) -> None:
    """Move the items outside a group sideways, out of the room its frame takes: from its
    first row to its last, wider by `pad` for each level of groups inside it, and `gap`
    more. Innermost groups first, so an outer group's room holds the inner frames. Each row
    keeps its order: what lies beyond a moved item moves with it."""
    found = dict.fromkeys(g for p in paths.values() for g in p)  # in the items' order
    groups = sorted(found, key=lambda g: -_level(paths, g))
    for group in groups:
        inside = {k for k, p in paths.items() if group in p}
        depth = max(len(p) - p.index(group) for k, p in paths.items() if k in inside)
        reach = pad * depth + gap
        spans = [i for i, row in enumerate(rows) if any(s.key in inside for s in row)]
        members = [s for row in rows for s in row if s.key in inside]
        left = min(s.left for s in members) - reach
        right = max(s.left + s.width for s in members) + reach
        for row in rows[spans[0] : spans[-1] + 1]:
            ranks = [i for i, s in enumerate(row) if s.key in inside]
            for i, slot in enumerate(row):
                if slot.key not in items or slot.key in inside:
                    continue
                before = i < ranks[0] if ranks else slot.left + slot.width / 2 < (left + right) / 2
                if before and slot.left + slot.width > left:
                    shift = slot.left + slot.width - left
                    for other in row[: i + 1]:
                        other.left -= shift
                elif not before and slot.left < right:
                    shift = right - slot.left
                    for other in row[i:]:
                        other.left += shift


def _level(paths: Mapping[str, tuple[str, ...]], group: str) -> int:
    """How deep a group is (0: at the top)."""
    return next(p.index(group) for p in paths.values() if group in p)


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


def place_x(rows: list[list[Slot]], slots: dict[str, Slot], gap: float, rounds: int = 6) -> None:
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


def place_y(rows: list[list[Slot]], gap: float) -> list[tuple[float, float]]:
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


Rows = list[list[Slot]]


def _build(
    items: list[Item], links: list[Link], layer: dict[str, int], up: set[int]
) -> tuple[Rows, dict[str, Slot], dict[int, list[str]]]:
    depth = max(layer.values(), default=0)
    rows: list[list[Slot]] = [[] for _ in range(2 * depth + 1)]
    slots: dict[str, Slot] = {}
    for item in items:
        slot = Slot(item.name, item.width, item.height, item.body_width / 2)
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


def _initial_order(rows: list[list[Slot]], slots: dict[str, Slot], found: list[str]) -> None:
    """Row 0 in discovery order, each next row by its predecessors' places."""
    rank = {name: i for i, name in enumerate(found)}
    rows[0].sort(key=lambda s: rank.get(s.key, 0))
    _renumber(rows[:1])
    for row in rows[1:]:

        def key(slot: Slot) -> tuple[float, int]:
            if not slot.preds:
                return (float("inf"), rank.get(slot.key, 0))
            return (min(slots[p].left for p in slot.preds), rank.get(slot.key, 0))

        row.sort(key=key)
        for i, slot in enumerate(row):
            slot.left = float(i)


def _body(item: Item, slot: Slot) -> Box:
    top = slot.top + (item.height - item.body_height) / 2
    return Box(slot.left, top, item.body_width, item.body_height)


def _shift(route: Route, dx: float, dy: float) -> Route:
    points = tuple((x + dx, y + dy) for x, y in route.points)
    label = route.label.shifted(dx, dy) if route.label else None
    return Route(route.kind, points, label)


def group_frames(rooms: Mapping[str, Box], paths: Mapping[str, tuple[str, ...]]) -> dict[str, Box]:
    """The frame of each group: round the rooms of its items, FRAME_PAD wider for each level
    of groups inside it."""
    frames: dict[str, Box] = {}
    for group in dict.fromkeys(g for p in paths.values() for g in p):
        inside = [k for k, p in paths.items() if group in p and k in rooms]
        if not inside:
            continue
        pad = FRAME_PAD * max(len(paths[k]) - paths[k].index(group) for k in inside)
        boxes = [rooms[k] for k in inside]
        left, top = min(b.x for b in boxes) - pad, min(b.y for b in boxes) - pad
        right, bottom = max(b.right for b in boxes) + pad, max(b.bottom for b in boxes) + pad
        frames[group] = Box(left, top, right - left, bottom - top)
    return frames


def _finish(
    rooms: dict[str, Box],
    bodies: dict[str, Box],
    routes: list[Route],
    frames: dict[str, Box] | None = None,
) -> Layout:
    """Move everything so that the drawing starts at the margin; measure it."""
    frames = frames or {}
    boxes = list(rooms.values()) + [r.label for r in routes if r.label] + list(frames.values())
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
        frames={k: b.shifted(dx, dy) for k, b in frames.items()},
    )


def layered_layout(
    items: list[Item],
    links: list[Link],
    *,
    root: str | None = None,
    gap_x: float = 28.0,
    gap_y: float = 30.0,
    groups: Mapping[str, tuple[str, ...]] | None = None,
) -> Layout:
    """Lay out items and links top-down from the root (or from the items without inputs).

    Args:
        items: the nodes, in a stable order (ties are broken by it).
        links: the links between items' names; a name may link to itself.
        root: the item to start the search for back links from, drawn in the first layer.
        gap_x: the least horizontal room between two slots of a row.
        gap_y: the room between two rows (a row of items, then a row of labels, and so on).
        groups: item name -> the groups it is drawn in, outermost first: a group's items are
            kept side by side in each row (`keep_together`), so a frame can go round them.
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
    if groups:
        keep_together(rows, groups)
    place_x(rows, slots, gap_x)
    if groups:
        clear_groups(rows, groups, set(names), FRAME_PAD, gap_x / 2)
    place_y(rows, gap_y)
    rooms = {i.name: Box(slots[i.name].left, slots[i.name].top, i.width, i.height) for i in items}
    bodies = {i.name: _body(i, slots[i.name]) for i in items}
    row_of = {i.name: slots[i.name].row for i in items}
    by_index = down_routes(links, chains, slots, bodies)
    sides = Sides(list(rooms.values()) + [r.label for r in by_index.values() if r.label])
    span = {i: abs(layer[links[i].source] - layer[links[i].dest]) for i in up}
    for index in sorted(up, key=lambda i: (span[i], i)):
        by_index[index] = up_route(links[index], (rooms, bodies, row_of), gap_y, sides)
    routes = [by_index.get(i, Route("self")) for i in range(len(links))]
    return _finish(rooms, bodies, routes, group_frames(rooms, groups or {}))
