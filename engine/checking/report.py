"""What `fulfil check` found: findings with their location and shortest scenario.

A `Finding` is one problem of a definition (its `kind` says which); a `CheckReport` holds them
with the size of the exploration, and prints as text (the CLI's output) or as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import UNKNOWN, Location
from .scenario import scenario_yaml

__all__ = ["KINDS", "CheckReport", "Finding"]

#: The kinds of findings, in the order they are reported.
KINDS = (
    "invariant",
    "error",
    "trap",
    "guard_overlap",
    "never_fires",
    "timer_never_fires",
)


@dataclass(frozen=True)
class Finding:
    """One problem the explorer found.

    Attributes:
        kind: one of KINDS: `invariant` (an invariant is false in a reachable configuration),
            `error` (an expression or action fails at run time), `trap` (a reachable
            configuration from which no terminal state can be reached), `guard_overlap` (two
            transitions of one trigger enabled at once), `never_fires` (a transition that
            never fired within the depth), `timer_never_fires`.
        message: what is wrong, in the process owner's words.
        location: the state, transition, timer or invariant at fault.
        scenario: the shortest scenario showing it (None when nothing reaches it).
    """

    kind: str
    message: str
    location: Location = UNKNOWN
    scenario: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The finding as JSON-ready values."""
        return {
            "kind": self.kind,
            "location": str(self.location),
            "message": self.message,
            "scenario": self.scenario,
        }

    def lines(self) -> list[str]:
        """The finding as text: a `KIND FILE:LINE:COL: message` line, then the scenario."""
        out = [f"{self.kind} {self.location}: {self.message}"]
        if self.scenario is not None:
            out.append("  shortest scenario:")
            out.extend("    " + line for line in scenario_yaml(self.scenario).splitlines())
        return out


AUTO_DEPTH = 8  # where a depth chosen from the process starts ...
MAX_AUTO_DEPTH = 16  # ... and the deepest it goes


@dataclass(frozen=True)
class CheckReport:
    """The result of `explore`.

    Attributes:
        process: the process id.
        file: the definition's file.
        depth: the number of events explored after the start.
        configurations: how many distinct configurations were reached.
        exhausted: True when every configuration was expanded (nothing lies beyond the depth).
        seconds: how long the exploration took.
        findings: what was found, by kind, then by location.
        chosen: the depth was chosen from the process (no `--depth`), not given.
    """

    process: str
    file: str
    depth: int
    configurations: int
    exhausted: bool
    seconds: float
    findings: tuple[Finding, ...] = field(default=())
    chosen: bool = False

    @property
    def ok(self) -> bool:
        """Whether nothing was found."""
        return not self.findings

    def summary(self) -> str:
        """One line: what was explored and how many findings."""
        scope = "all of them" if self.exhausted else f"up to {self.depth} events"
        if self.chosen and not self.exhausted:
            scope += f" (the depth chosen: {self._why_depth()})"
        count = len(self.findings)
        found = "no findings" if not count else f"{count} finding{'s' if count > 1 else ''}"
        return (
            f"{self.process} ({self.file}): {self.configurations} configurations, {scope}, "
            f"{self.seconds:.2f} s: {found}"
        )

    def _why_depth(self) -> str:
        silent = any(f.kind in ("never_fires", "timer_never_fires") for f in self.findings)
        if not silent:
            if self.depth == AUTO_DEPTH:
                return "every transition and timer fires within it"
            return f"the first from {AUTO_DEPTH} within which every transition and timer fires"
        if self.depth >= MAX_AUTO_DEPTH:
            return "the most it goes; give --depth N to search deeper"
        return "the search ended there"

    def lines(self) -> list[str]:
        """The report as text lines: the findings, then the summary."""
        out: list[str] = []
        for finding in self.findings:
            out.extend(finding.lines())
        out.append(self.summary())
        return out

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready values."""
        return {
            "process": self.process,
            "file": self.file,
            "depth": self.depth,
            "configurations": self.configurations,
            "exhausted": self.exhausted,
            "depth_chosen": self.chosen,
            "seconds": round(self.seconds, 3),
            "findings": [f.to_json() for f in self.findings],
        }
