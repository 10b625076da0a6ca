"""Time loading and validating a generated definition of 1,000 states and 5,000 transitions.

The whole path of `load_text` (engine.definition: safe parse with locations, JSON Schema, model,
expression and graph checks) is timed as the median of 5 runs, next to the baseline of a plain
`yaml.load(text, CSafeLoader)` of the same text in the same run, and its CPU time (steadier
than wall time on a busy machine); then each stage on its own, and a 200-line definition
(target: under 20 ms). Usage:

    .venv/bin/python bench/bench_validate.py [STATES] [TRANSITIONS]
"""

from __future__ import annotations

import gc
import hashlib
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import yaml
from fulfil.engine.definition.builder import build_process
from fulfil.engine.definition.loader import load_text
from fulfil.engine.definition.validate import process_problems
from fulfil.engine.definition.validate.schema import schema_problems
from fulfil.engine.definition.yamlsource import parse

HEADER = """\
# yaml-language-server: $schema=../schemas/process.schema.json
id: generated
version: 1
title: Generated process for the benchmark
roles:
  clerk: {title: Clerk, manager: lead}
  lead: {contact: "lead@example.com"}
fields:
  attempt: {type: int, default: 0}
  outcome: {type: enum, values: [reached, no_answer]}
  log: {type: text}
  email: {type: string}
"""


def generate(states: int, transitions: int, seed: int = 7) -> str:
    """YAML text of a valid process: a chain from the initial to the terminal state plus
    random edges; a third of the transitions have guards, a fifth have actions, a seventh take
    `outcome` as input (which the guards read), every tenth state a timer."""
    rng = random.Random(seed)
    edges = [(i, i + 1) for i in range(states - 1)]
    while len(edges) < transitions:
        edges.append((rng.randrange(states - 1), rng.randrange(states)))
    out = [HEADER, "states:\n"]
    for i in range(states):
        out.append(f"  s{i}:\n")
        out.append("    initial: true\n" if i == 0 else f"    status: Step {i}\n")
        if i == states - 1:
            out.append("    terminal: true\n")
        elif i % 10 == 0:
            out.append("    owner: clerk\n    timers:\n")
            out.append(f"      - {{name: nudge, after: 7d, trigger: t{i}}}\n")
    out.append("transitions:\n")
    for n, (a, b) in enumerate(edges):
        out.append(
            f"  - trigger: t{a if n < states - 1 else n}\n    source: s{a}\n    dest: s{b}\n"
        )
        if n >= states - 1 and n % 3 == 0:
            out.append(f"    guard: \"attempt < {n} and outcome != 'reached'\"\n")
        if n % 7 == 0:
            out.append("    input: [outcome]\n")  # data that may change what guards read
        if n % 5 == 0:
            out.append("    roles: [clerk]\n    actions:\n")
            out.append('      - set: {attempt: "attempt + 1"}\n')
            out.append('      - append: {field: log, line: "Call {attempt}: {outcome}"}\n')
            out.append('      - notify: {to: [email], cc: [lead], subject: "Attempt {attempt}"}\n')
    return "".join(out)


def median_seconds(
    func: Callable[[], Any],
    runs: int = 5,
    *,
    paused: bool = False,
    clock: Callable[[], float] = time.perf_counter,
) -> float:
    """The median time of `runs` calls (with `paused`, the cyclic GC off, as in load_text);
    wall time unless `clock` is `time.process_time` (CPU time: steadier on a busy machine)."""
    times = []
    for _ in range(runs):
        if paused:
            gc.disable()
        start = clock()
        func()
        times.append(clock() - start)
        gc.enable()
    return statistics.median(times)


def main(states: int = 1000, transitions: int = 5000) -> None:
    text = generate(states, transitions)
    lines = text.count("\n")
    baseline = median_seconds(lambda: yaml.load(text, Loader=yaml.CSafeLoader))
    total = median_seconds(lambda: load_text(text, "generated.yaml"))
    print(f"{states} states, {transitions} transitions, {lines} lines of YAML")
    quiet = median_seconds(lambda: yaml.load(text, Loader=yaml.CSafeLoader), paused=True)
    print(f"  baseline yaml.load(CSafeLoader)        {baseline:.3f} s  ({quiet:.3f} s with GC off)")
    ratio = total / baseline
    cpu = median_seconds(lambda: load_text(text, "generated.yaml"), clock=time.process_time)
    print(
        f"  load_text (parse+schema+model+checks)  {total:.3f} s  = {ratio:.1f}x baseline"
        f"  ({cpu:.3f} s CPU)"
    )
    print("  stages, GC off as in load_text:")
    source = parse(text, "generated.yaml")
    digest = hashlib.sha256(text.encode()).hexdigest()
    process, _ = build_process(source, digest)
    stages: dict[str, Callable[[], Any]] = {
        "parse with locations": lambda: parse(text, "generated.yaml"),
        "JSON Schema": lambda: schema_problems(source),
        "build model": lambda: build_process(source, digest),
        "checks (expressions, graph)": lambda: process_problems(process, locate=source.locate),
    }
    for name, func in stages.items():
        print(f"    {name:30} {median_seconds(func, paused=True):.3f} s")
    verdict = "OK" if total < 1.0 else "SLOW"
    margin = "with margin" if total <= 0.6 else "without margin (aim: 0.6 s)"
    print(f"  target < 1 s: {verdict}, {margin}")
    small = generate(14, 36)
    small_lines = small.count("\n")
    small_time = median_seconds(lambda: load_text(small, "small.yaml"), runs=21)
    verdict = "OK" if small_time < 0.020 else "SLOW"
    millis = small_time * 1000
    print(f"{small_lines}-line definition: load_text {millis:.1f} ms (target < 20 ms: {verdict})")


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:3]))
