"""Benchmark of the expression language: µs per evaluation against a plain Python lambda.

Run: .venv/bin/python bench/bench_expressions.py

Prints, for a few typical expressions, the median over several runs of the time per evaluation
of the compiled expression, of a plain Python lambda computing the same thing in the same run,
and their ratio; also the same checked tree walked by our simpleeval evaluator (what ran before
expressions were compiled into functions), bare simpleeval with its default operators on the
same pre-parsed tree, and the load-time cost of checking and of compiling into a function.
The budget is 5 µs per guard evaluation.
"""

from __future__ import annotations

import statistics
import sys
import timeit
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import simpleeval
from fulfil.engine.expressions import ExprType, compile_expr, compile_template
from fulfil.engine.expressions.compiler import compile_tree
from fulfil.engine.expressions.evaluator import evaluate_tree
from fulfil.engine.model import Expr, Template

RUNS = 7
NUMBER = 20_000
BUDGET_US = 5.0

ENV = {
    "attempt": ExprType.INT,
    "outcome": ExprType.STRING,
    "client": ExprType.STRING,
    "effective_date": ExprType.DATE,
}
DATA: dict[str, Any] = {
    "attempt": 1,
    "outcome": "no_answer",
    "client": "Acme",
    "effective_date": date(2026, 3, 1),
}


def per_call_us(function: Callable[[], Any]) -> float:
    """Median µs per call over RUNS runs of NUMBER calls."""
    times = timeit.Timer(function).repeat(repeat=RUNS, number=NUMBER)
    return statistics.median(times) / NUMBER * 1e6


def row(label: str, ours: float, baseline: float) -> None:
    print(f"{label:<50} {ours:8.2f} µs  lambda {baseline:6.3f} µs  ratio {ours / baseline:6.1f}x")


def main() -> None:
    print(f"median of {RUNS} runs x {NUMBER:,} evaluations; Python {sys.version.split()[0]}")
    guard_source = "attempt < 3 and outcome != 'reached'"
    guard = compile_expr(Expr(guard_source), ENV, expect=ExprType.BOOL)
    guard_lambda = lambda v: v["attempt"] < 3 and v["outcome"] != "reached"  # noqa: E731
    guard_us = per_call_us(lambda: guard.evaluate(DATA))
    guard_base = per_call_us(lambda: guard_lambda(DATA))
    row(f"guard  {guard_source}", guard_us, guard_base)

    walked = compile_expr(Expr(guard_source), ENV, expect=ExprType.BOOL)
    walked_us = per_call_us(lambda: evaluate_tree(guard_source, walked._tree, DATA))
    row("  same, the tree walked by our evaluator", walked_us, guard_base)
    print(f"{'  compiled against walked':<50} {guard_us / walked_us:8.2f}x")

    bare = simpleeval.SimpleEval(names=DATA)
    tree = bare.parse(guard_source)
    bare_us = per_call_us(lambda: bare.eval(guard_source, previously_parsed=tree))
    row("  same, bare simpleeval (default operators)", bare_us, guard_base)

    cases: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
        ("attempt + 1", lambda v: v["attempt"] + 1),
        ("effective_date - days(14)", lambda v: v["effective_date"] - timedelta(days=14)),
        ("outcome in ['reached', 'left_voicemail']", lambda v: v["outcome"] in ["reached", "x"]),
    ]
    for source, baseline in cases:
        compiled = compile_expr(Expr(source), ENV)
        row(
            f"expr   {source}",
            per_call_us(lambda c=compiled: c.evaluate(DATA)),
            per_call_us(lambda b=baseline: b(DATA)),
        )
        row(
            "  same, walked by our evaluator",
            per_call_us(lambda c=compiled, s=source: evaluate_tree(s, c._tree, DATA)),
            per_call_us(lambda b=baseline: b(DATA)),
        )

    template = compile_template(Template("Call {attempt}: {outcome} for {client}"), ENV)
    row(
        "template  Call {attempt}: {outcome} for {client}",
        per_call_us(lambda: template.render(DATA)),
        per_call_us(lambda: f"Call {DATA['attempt']}: {DATA['outcome']} for {DATA['client']}"),
    )

    compile_us = (
        statistics.median(
            timeit.Timer(lambda: compile_expr(Expr(guard_source), ENV)).repeat(RUNS, 1_000)
        )
        / 1_000
        * 1e6
    )
    print(f"{'check (load time) of the guard':<50} {compile_us:8.2f} µs")
    function_us = (
        statistics.median(timeit.Timer(lambda: compile_tree(walked._tree)).repeat(RUNS, 1_000))
        / 1_000
        * 1e6
    )
    print(f"{'compile into a function (first evaluation)':<50} {function_us:8.2f} µs")
    verdict = "within" if guard_us <= BUDGET_US else "OVER"
    print(f"guard evaluation {guard_us:.2f} µs: {verdict} the {BUDGET_US:.0f} µs budget")


if __name__ == "__main__":
    main()
