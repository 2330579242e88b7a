"""The engine's pure decisions: what is ready, what is skipped, where to hold, how a run ends.

No store, no threads, no clock: every function here takes plain values and returns
plain values, so each rule has a table of cases in ``tests/test_decide.py``. The
``Execution`` in ``execution.py`` does the I/O and the concurrency around them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from studio.status import Event, NodeStatus, RunStatus

DONE = frozenset({NodeStatus.COMPLETED, NodeStatus.SKIPPED})


@dataclass(frozen=True)
class InEdge:
    """An edge into a node, as far as the decisions need it."""

    source: str
    source_port: str
    target_port: str


def should_skip(
    node_type: str,
    in_edges: Iterable[InEdge],
    statuses: Mapping[str, str],
    outputs: Mapping[str, Mapping[str, Any]],
) -> bool:
    """A node is skipped when an input it needs was not produced.

    Every upstream node is done (completed or skipped) when this is asked. A ``merge``
    node runs when at least one of its inputs was produced; other nodes need all of
    theirs.
    """
    edges = list(in_edges)
    missing = [
        e for e in edges
        if statuses.get(e.source) != NodeStatus.COMPLETED or e.source_port not in outputs.get(e.source, {})
    ]
    if node_type == "merge":
        return bool(edges) and len(missing) == len(edges)
    return bool(missing)


class Readiness:
    """Which nodes may start: those not done whose upstream nodes are all done.

    Kept incrementally: ``done(node)`` is O(its successors), so a run of n nodes
    spends O(n + edges) in total on readiness.
    """

    def __init__(self, predecessors: Mapping[str, Iterable[str]], is_done: Mapping[str, bool]) -> None:
        self._succ: dict[str, list[str]] = {n: [] for n in predecessors}
        self._waiting: dict[str, int] = {}
        self._done = {n for n, d in is_done.items() if d}
        for node, preds in predecessors.items():
            count = 0
            for p in preds:
                self._succ.setdefault(p, []).append(node)
                if p not in self._done:
                    count += 1
            self._waiting[node] = count
        self.candidates = {n for n, c in self._waiting.items() if c == 0 and n not in self._done}

    def done(self, node: str) -> None:
        """``node`` completed or was skipped: its successors may now be ready."""
        if node in self._done:
            return
        self._done.add(node)
        self.candidates.discard(node)
        for succ in self._succ.get(node, ()):
            self._waiting[succ] -= 1
            if self._waiting[succ] == 0 and succ not in self._done:
                self.candidates.add(succ)


def downstream(successors: Mapping[str, Iterable[str]], starts: Iterable[str]) -> set[str]:
    """Every node reachable from ``starts`` (not the starts themselves unless reached again)."""
    seen: set[str] = set()
    todo = deque(starts)
    while todo:
        for succ in successors.get(todo.popleft(), ()):
            if succ not in seen:
                seen.add(succ)
                todo.append(succ)
    return seen


def holds_before(node: str, breakpoints_before: set[str], skip_once: set[str], step: bool) -> bool:
    """Whether a ready node stops at its breakpoint (not when stepping, not right after pausing there)."""
    return node in breakpoints_before and node not in skip_once and not step


def holds_after(node: str, breakpoints_after: set[str], until: str | None) -> bool:
    """Whether nothing downstream of a finished ``node`` may start in this session."""
    return node in breakpoints_after or node == until


@dataclass(frozen=True)
class Outcome:
    """How a session of running ends: the run's status, its history event and the event's detail."""

    status: RunStatus
    event: Event
    detail: dict[str, Any] = field(default_factory=dict)
    paused_before: list[str] = field(default_factory=list)


def outcome(
    *,
    all_done: bool,
    request: str | None,
    failed: list[str],
    pause_reason: str | None,
    hold_reasons: list[str],
    paused_before: Iterable[str],
) -> Outcome:
    """The first rule that applies decides: completed, Ctrl-C, Stop, a failure, else paused."""
    if all_done:
        return Outcome(RunStatus.COMPLETED, Event.RUN_COMPLETED)
    if request == "interrupt":
        return Outcome(RunStatus.INTERRUPTED, Event.RUN_INTERRUPTED, {"reason": "stopped by Ctrl-C"})
    if request == "stop":
        return Outcome(RunStatus.CANCELLED, Event.RUN_CANCELLED)
    if failed:
        return Outcome(RunStatus.FAILED, Event.RUN_FAILED, {"failed": list(failed)})
    before = sorted(paused_before)
    why = [pause_reason] if pause_reason else hold_reasons
    return Outcome(
        RunStatus.PAUSED, Event.PAUSED,
        {"reason": "; ".join(why) or "pause requested", "before": before}, before,
    )


def topological_order(nodes: Iterable[str], successors: Mapping[str, Iterable[str]]) -> list[str]:
    """Nodes in dependency order, ties broken by id (the order ready nodes start in)."""
    import heapq

    nodes = list(nodes)
    indegree = dict.fromkeys(nodes, 0)
    for n in nodes:
        for succ in successors.get(n, ()):
            indegree[succ] += 1
    heap = [n for n, d in indegree.items() if d == 0]
    heapq.heapify(heap)
    order: list[str] = []
    while heap:
        n = heapq.heappop(heap)
        order.append(n)
        for succ in successors.get(n, ()):
            indegree[succ] -= 1
            if indegree[succ] == 0:
                heapq.heappush(heap, succ)
    return order
