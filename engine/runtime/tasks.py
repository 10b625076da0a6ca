"""A request's tasks: starting them, releasing them, and the request's rules when one ends.

A request is a process with `tasks:`. Starting it starts one instance per task in the same
transaction; a task instance's id is `<request id>.<task name>` and its record names its
`parent` and `task`. A task is *completed* when it reached a terminal state whose `outcome` is
succeeded (the default). A task whose `depends_on` are not all completed is *waiting*: it is in
no queue, people cannot fire its triggers, and its timers are not armed. When its last
dependency completes it is *released* (a `released` event) and the timers of the state it is in
start counting then.

When a task reaches a terminal state, its request's rules are evaluated (`succeeded`/`failed` of a
named task or the indicator; `any_failed` on the first failure; `all_completed` when the last task
ends, whatever its outcome) and their triggers are fired as actor `rule`, roles bypassed. Firings a
closed target refuses are skipped and recorded in the request's `rule` event; any other refusal is
a definition mistake and refuses the whole step.

Why a task's outcome reaches its request in the same transaction and not through the outbox:
the request and its tasks live in one store, so one transaction can hold the task's transition,
the releases and the rules' firings, and either all of them happen or none. A request never
misses (or sees twice) an outcome, and nothing has to dedupe deliveries or retry them, which an
outbox would need for exactly-once. The cost is a longer transaction, bounded by the request's
size. Reactions a rule's firings set off (another task ending) wait on a per-request agenda and
run after the current rule's firings, in order, so a rule never sees a half-applied earlier rule;
a terminal state is reached once, so the agenda is finite, and chains across levels (a request
that is itself a task) are cut at MAX_RULE_DEPTH with an error rather than looping.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..errors import DataError, ExecutionError, InstanceClosed
from ..expressions import CompiledExpr, compile_expr
from ..frozen import frozen
from ..model import Rule, Task
from ..store.base import InstanceRecord, Transaction
from .compiled import CompiledProcess
from .definitions import Definitions
from .history import HistoryChain
from .step import builtins
from .views import ChildView

if TYPE_CHECKING:
    from .executor import Executor, Outcome

__all__ = ["MAX_RULE_DEPTH", "TaskReader", "TaskRunner", "outcome_of", "task_instance_id"]

MAX_RULE_DEPTH = 8
SUCCEEDED, FAILED = "succeeded", "failed"


def task_instance_id(parent_id: str, task: str) -> str:
    """The id of a request's task instance: `<request id>.<task name>`."""
    return f"{parent_id}.{task}"


def outcome_of(cp: CompiledProcess, state: str) -> str | None:
    """`succeeded` or `failed` for a terminal state (succeeded unless it says), else None."""
    if state not in cp.terminal:
        return None
    spec = cp.process.find_state(state)
    if spec is None:  # the engine's Cancelled: the task did not do its work
        return FAILED
    return spec.outcome or SUCCEEDED


def rule_label(rule: Rule, process_tasks: tuple[Task, ...]) -> str:
    """How a rule is named in history and errors, e.g. `succeeded(obtain_access)`."""
    if rule.when not in (SUCCEEDED, FAILED):
        return rule.when
    return f"{rule.when}({_rule_task(rule, process_tasks) or '?'})"


def _rule_task(rule: Rule, tasks: tuple[Task, ...]) -> str | None:
    if rule.task is not None:
        return rule.task
    return next((t.name for t in tasks if t.indicator), None)


class TaskReader:
    """Reads requests and their tasks as one transaction sees them; each request is read once.

    Make a new one after writing: it caches what it read.
    """

    def __init__(self, tx: Transaction, definitions: Definitions) -> None:
        self.tx = tx
        self.definitions = definitions
        self._requests: dict[str, tuple[CompiledProcess, dict[str, InstanceRecord]] | None] = {}

    def compiled(self, record: InstanceRecord) -> CompiledProcess:
        """The definition the instance is pinned to."""
        return self.definitions.for_instance(self.tx, record.process, record.version)

    def request(self, parent_id: str) -> tuple[CompiledProcess, dict[str, InstanceRecord]] | None:
        """The request's definition and its task instances by task name."""
        if parent_id not in self._requests:
            parent = self.tx.get_instance(parent_id)
            found = None
            if parent is not None:
                kids = {k.task: k for k in self.tx.children(parent_id) if k.task is not None}
                found = (self.compiled(parent), kids)
            self._requests[parent_id] = found
        return self._requests[parent_id]

    def task(self, record: InstanceRecord) -> Task | None:
        """The `Task` a task instance was started for (None for a stand-alone instance)."""
        if record.parent is None or record.task is None:
            return None
        request = self.request(record.parent)
        return None if request is None else request[0].process.find_task(record.task)

    def outcome(self, record: InstanceRecord) -> str | None:
        """`succeeded`/`failed` once the instance is terminal, else None."""
        return outcome_of(self.compiled(record), record.state)

    def waiting_on(self, record: InstanceRecord) -> tuple[str, ...]:
        """The dependencies of a task that have not completed (empty: released)."""
        task = self.task(record)
        if task is None or not task.depends_on or record.parent is None:
            return ()
        request = self.request(record.parent)
        kids = request[1] if request is not None else {}
        return tuple(
            dep
            for dep in task.depends_on
            if dep not in kids or self.outcome(kids[dep]) != SUCCEEDED
        )

    def is_waiting(self, record: InstanceRecord) -> bool:
        """A task still waiting: not terminal, and some dependency has not completed."""
        return record.state not in self.compiled(record).terminal and bool(self.waiting_on(record))

    def views(self, record: InstanceRecord) -> tuple[ChildView, ...]:
        """The views of a request's task instances, in the order its tasks are declared."""
        order = {t.name: i for i, t in enumerate(self.compiled(record).process.tasks)}
        kids = sorted(self.tx.children(record.id), key=lambda k: (order.get(k.task or ""), k.id))
        views = []
        for kid in kids:
            cp = self.compiled(kid)
            status, reason = cp.status(kid.state)
            pending = self.waiting_on(kid)
            terminal = kid.state in cp.terminal
            views.append(
                ChildView(
                    kid.id,
                    kid.task,
                    kid.process,
                    kid.state,
                    status,
                    reason,
                    waiting=bool(pending) and not terminal,
                    released=not pending,
                    waiting_on=() if terminal else pending,
                    terminal=terminal,
                )
            )
        return tuple(views)


@frozen
class _Firing:
    """A matched rule waiting on its request's agenda."""

    rule: Rule
    label: str
    parent: str
    by: str  # the task instance whose end matched it


class TaskRunner:
    """What an `Executor` does for requests and their tasks, inside the event's transaction:
    starts a request's tasks, and when one ends releases the tasks waiting on it and runs the
    request's rules."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        self._data: dict[tuple[str, int], dict[str, tuple[tuple[str, CompiledExpr], ...]]] = {}
        self._agendas: dict[tuple[int, str], deque[_Firing]] = {}

    @property
    def definitions(self) -> Definitions:
        return self.executor.definitions

    # starting -------------------------------------------------------------------------------
    def _task_data(self, cp: CompiledProcess, task: Task) -> tuple[tuple[str, CompiledExpr], ...]:
        per_process = self._data.setdefault(cp.key, {})
        if task.name not in per_process:
            per_process[task.name] = tuple(
                (name, compile_expr(expr, cp.env)) for name, expr in task.data
            )
        return per_process[task.name]

    def start_tasks(
        self,
        tx: Transaction,
        cp: CompiledProcess,
        record: InstanceRecord,
        variables: Mapping[str, Any],
        *,
        actor: str,
        now: datetime,
    ) -> None:
        """Start every task of a request that was just inserted; waiting ones arm no timers."""
        for task in cp.process.tasks:
            data: dict[str, Any] = {}
            for name, expr in self._task_data(cp, task):
                value = expr.evaluate(variables)
                if value is not None:
                    data[name] = value
            try:
                self.executor.start(
                    tx,
                    task.process,
                    data,
                    instance_id=task_instance_id(record.id, task.name),
                    actor=actor,
                    role=None,
                    now=now,
                    parent=record.id,
                    task=task.name,
                    waiting_on=task.depends_on,
                )
            except DataError as exc:
                raise DataError(
                    f"task '{task.name}' of {cp.process.id} ({task.loc}): {exc}",
                    instance=record.id,
                ) from None

    # reacting -------------------------------------------------------------------------------
    def task_ended(
        self,
        tx: Transaction,
        child: InstanceRecord,
        cp: CompiledProcess,
        now: datetime,
        outcome: Outcome,
        depth: int,
    ) -> None:
        """A task reached a terminal state: release its dependants, run its request's rules."""
        if child.parent is None:
            return
        if depth >= MAX_RULE_DEPTH:
            raise ExecutionError(
                f"the rules of request '{child.parent}' set off further rules {MAX_RULE_DEPTH} "
                "levels deep; a rule's trigger keeps ending tasks whose rules fire again",
                instance=child.id,
            )
        reader = TaskReader(tx, self.definitions)
        request = reader.request(child.parent)
        if request is None:
            return
        pcp, kids = request
        result = outcome_of(cp, child.state)
        if result == SUCCEEDED:
            self._release(tx, reader, pcp, kids, child, now)
        firings = [
            _Firing(rule, rule_label(rule, pcp.process.tasks), child.parent, child.id)
            for rule in self._matching(pcp, reader, kids, child, result)
        ]
        if not firings:
            return
        key = (id(tx), child.parent)
        agenda = self._agendas.get(key)
        if agenda is not None:
            agenda.extend(firings)  # the rule being run finishes first
            return
        agenda = self._agendas[key] = deque(firings)
        try:
            while agenda:
                self._run(tx, agenda.popleft(), now, outcome, depth)
        finally:
            del self._agendas[key]

    def _matching(
        self,
        pcp: CompiledProcess,
        reader: TaskReader,
        kids: dict[str, InstanceRecord],
        child: InstanceRecord,
        result: str | None,
    ) -> Iterator[Rule]:
        others = [k for k in kids.values() if k.id != child.id]
        for rule in pcp.process.rules:
            if rule.when in (SUCCEEDED, FAILED):
                hit = child.task == _rule_task(rule, pcp.process.tasks) and result == rule.when
            elif rule.when == "any_failed":
                hit = result == FAILED and all(reader.outcome(k) != FAILED for k in others)
            else:  # all_completed: this task is the last one to end
                hit = all(reader.outcome(k) is not None for k in others)
            if hit:
                yield rule

    def _release(
        self,
        tx: Transaction,
        reader: TaskReader,
        pcp: CompiledProcess,
        kids: dict[str, InstanceRecord],
        child: InstanceRecord,
        now: datetime,
    ) -> None:
        for task in pcp.process.tasks:
            kid = kids.get(task.name)
            if child.task not in task.depends_on or kid is None:
                continue
            if kid.state in reader.compiled(kid).terminal or reader.waiting_on(kid):
                continue
            self._release_one(tx, reader.compiled(kid), kid, child, now)

    def _release_one(
        self,
        tx: Transaction,
        cp: CompiledProcess,
        kid: InstanceRecord,
        by: InstanceRecord,
        now: datetime,
    ) -> None:
        record = tx.get_instance(kid.id) or kid
        variables = {**cp.codec.decode(record.data), **builtins(record.state, now, "system", None)}
        # the timers of the state the task waited in count from its release, not its creation
        notes = self.executor.arming.enter(tx, cp, record.id, record.state, variables, now)
        detail: dict[str, Any] = {"after": by.task, "by": by.id}
        if notes:
            detail["timers"] = notes
        chain = HistoryChain(tx, record, self.executor.keys)
        chain.add("released", at=now, actor="system", detail=detail)
        chain.save(record)

    def _target(self, tx: Transaction, firing: _Firing, target: str) -> str | None:
        if target == "parent":
            return firing.parent
        return next((k.id for k in tx.children(firing.parent) if k.task == target), None)

    def _run(
        self, tx: Transaction, firing: _Firing, now: datetime, outcome: Outcome, depth: int
    ) -> None:
        fired: list[dict[str, str]] = []
        skipped: list[dict[str, str]] = []
        for target, trigger in firing.rule.fire:
            target_id = self._target(tx, firing, target)
            if target_id is None:
                skipped.append({"target": target, "trigger": trigger, "reason": "no such task"})
                continue
            try:
                result = self.executor.fire(
                    tx,
                    target_id,
                    trigger,
                    None,
                    actor="rule",
                    role=None,
                    now=now,
                    internal=True,
                    detail={"rule": firing.label, "by": firing.by},
                    depth=depth + 1,
                )
            except InstanceClosed as closed:
                skipped.append({"target": target, "trigger": trigger, "reason": str(closed)})
                continue
            except ExecutionError as exc:
                raise ExecutionError(
                    f"rule '{firing.label}' of request '{firing.parent}' ({firing.rule.loc}) "
                    f"could not fire '{trigger}' on {target}: {exc}",
                    instance=target_id,
                    trigger=trigger,
                ) from None
            outcome.sheets |= result.sheets
            outcome.messages += result.messages
            fired.append({"target": target, "trigger": trigger})
        parent = tx.get_instance(firing.parent)
        if parent is not None:
            detail: dict[str, Any] = {"rule": firing.label, "by": firing.by, "fired": fired}
            if skipped:
                detail["skipped"] = skipped
            chain = HistoryChain(tx, parent, self.executor.keys)
            chain.add("rule", at=now, actor="rule", detail=detail)
            chain.save(parent)
