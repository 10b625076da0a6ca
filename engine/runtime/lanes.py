"""The store-wide check: every lane of the event sequence is whole, and every history has a row.

Each placed event has a position 1, 2, 3... in its lane and names (in its seal) the event before
it there. A deleted instance or a cut history leaves a hole in a lane, and the event after the
hole names the last missing event, so the report can say whose history lost what; a lane
whose table row says it goes further than its events lost its last events. Events are read in
pages, so a large store is never held in memory (docs/audit.md). `walk_lanes` can start each
lane after a place already checked (a verify mark): it reads only the places after it.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..store.base import LaneLink, LaneRecord, Transaction
from .views import VerifyProblem

__all__ = ["check_lanes", "orphans", "walk_lanes"]

_PAGE = 1000


def _placed(tx: Transaction, after: tuple[int, int] = (-1, 0)) -> Iterator[LaneLink]:
    """The placed events after `after`, in (lane, pos) order: every lane's, from there on."""
    while True:
        page = tx.lane_links(after, _PAGE)
        yield from page
        if len(page) < _PAGE:
            return
        after = (page[-1].lane, page[-1].pos)


def _from(tx: Transaction, start: dict[int, LaneLink]) -> Iterator[LaneLink] | None:
    """Each lane's places from its `start` on (that place first, read again to see it is still
    there), or from its first where it has none; None when a start is not where it was."""
    lanes = sorted({lane.lane for lane in tx.lanes()} | set(start))
    links: list[Iterator[LaneLink]] = []
    for lane in lanes:
        known = start.get(lane)
        after = (lane, known.pos - 1) if known else (lane, 0)
        if known:
            here = tx.lane_links(after, 1)
            if not here or (here[0][:4], here[0].key) != (known[:4], known.key):
                return None
        links.append(_one_lane(tx, lane, after))
    return (link for lane in links for link in lane)


def _one_lane(tx: Transaction, lane: int, after: tuple[int, int]) -> Iterator[LaneLink]:
    for link in _placed(tx, after):
        if link.lane != lane:
            return
        yield link


def _lost(
    tx: Transaction, lane: int, first: int, last: int, named: tuple[str, int] | None
) -> VerifyProblem:
    """A hole of positions first..last in a lane; `named` is the event last in it, if known."""
    span = f"position {first}" if first == last else f"positions {first}-{last}"
    hole = f"lane {lane} {span} missing"
    if named is None:
        return VerifyProblem("", None, f"{hole} (events deleted)")
    instance, seq = named
    record = tx.get_instance(instance)
    events = tx.events(instance)
    if record is None and not events:
        return VerifyProblem(
            instance, 1, f"instance deleted: {hole}, the last of them its event {seq}"
        )
    have = events[-1].seq if events else 0
    if have < seq:
        return VerifyProblem(
            instance,
            have + 1,
            f"history cut after event {have}: {hole}, the last of them its event {seq}",
        )
    if all(event.seq != seq for event in events):
        which = "" if first == last else ", the last of them its place"
        return VerifyProblem(instance, seq, f"deleted from its history: {hole}{which}")
    return VerifyProblem(
        instance, seq, f"is not at lane {lane} {span}, where its lane places it (moved?)"
    )


def check_lanes(tx: Transaction) -> tuple[list[VerifyProblem], int]:
    """Holes, broken links and downgrades in every lane; and how many placed events."""
    problems, count, _ = _check(tx, _placed(tx), {})
    return problems, count


def walk_lanes(
    tx: Transaction, start: dict[int, LaneLink] | None = None
) -> tuple[list[VerifyProblem], int, dict[int, LaneLink]]:
    """`check_lanes`, each lane read after the place `start` gives for it (checked before:
    its positions up to there are taken as whole); the problems, how many places were read,
    and the last place of each lane. A start no longer where it was reads every lane."""
    places = _from(tx, start) if start else None
    if places is None:
        return _check(tx, _placed(tx), {})
    return _check(tx, places, start or {})


def _check(
    tx: Transaction, places: Iterator[LaneLink], start: dict[int, LaneLink]
) -> tuple[list[VerifyProblem], int, dict[int, LaneLink]]:
    problems: list[VerifyProblem] = []
    heads = {lane.lane: lane for lane in tx.lanes()}
    last: dict[int, LaneLink] = {}
    keyed = {lane for lane, link in start.items() if link.key}
    count = 0
    for event in places:
        count += 1
        lane, pos = event.lane, event.pos
        before = last.get(lane)
        if before is None and lane in start:  # the start itself, read again
            last[lane] = event
            continue
        expected = before.pos + 1 if before else 1
        named = None if event.after_instance is None else (event.after_instance, event.after_seq)
        if pos > expected:
            problems.append(_lost(tx, lane, expected, pos - 1, named))  # type: ignore[arg-type]
        elif named != ((before.instance, before.seq) if before else None):
            problems.append(
                VerifyProblem(
                    event.instance,
                    event.seq,
                    f"its seal puts it after {_name(named)} in lane {lane}, but position "  # type: ignore[arg-type]
                    f"{pos - 1} holds {_name((before.instance, before.seq) if before else None)} "
                    "(moved or replaced?)",
                )
            )
        if event.key:
            keyed.add(lane)
        elif lane in keyed:
            problems.append(
                VerifyProblem(
                    event.instance, event.seq, f"is unkeyed after keyed events of lane {lane}"
                )
            )
        last[lane] = event
    for lane in sorted(set(heads) | set(last)):
        problems += _tail(tx, lane, heads.get(lane), last.get(lane))
    return problems, count, last


def _tail(
    tx: Transaction, lane: int, head: LaneRecord | None, last: LaneLink | None
) -> list[VerifyProblem]:
    """The lane's row against its last stored event."""
    end = last.pos if last else 0
    if head is None:
        return [VerifyProblem("", None, f"lane {lane} has events but no row (row deleted?)")]
    if head.pos > end:
        return [_lost(tx, lane, end + 1, head.pos, (head.instance, head.seq))]
    if head.pos < end or (last and (head.instance, head.seq) != (last.instance, last.seq)):
        return [
            VerifyProblem(
                "",
                None,
                f"lane {lane}'s row says it ends at position {head.pos} with "
                f"{_name((head.instance, head.seq))}, its events end at {end} (row edited?)",
            )
        ]
    return []


def orphans(tx: Transaction) -> list[VerifyProblem]:
    """Histories whose instance row is gone."""
    found = []
    for instance in tx.history_ids():
        if tx.get_instance(instance) is None:
            events = tx.events(instance)
            first = events[0].seq if events else 1
            found.append(
                VerifyProblem(
                    instance,
                    first,
                    f"instance row deleted: {len(events)} history event(s) remain without it",
                )
            )
    return found


def _name(ref: tuple[str, int] | None) -> str:
    return "nothing (the lane's start)" if ref is None else f"event {ref[1]} of '{ref[0]}'"
