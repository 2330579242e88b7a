"""The engine's pure decisions, case by case (studio/engine/decide.py)."""

from __future__ import annotations

from typing import Any

import pytest

from studio.engine import decide
from studio.engine.decide import InEdge
from studio.status import Event, RunStatus

E1 = InEdge("a", "value", "x")
E2 = InEdge("b", "value", "y")


@pytest.mark.parametrize(
    ("node_type", "edges", "statuses", "outputs", "skip"),
    [
        ("math", [], {}, {}, False),  # no inputs: runs
        ("math", [E1], {"a": "completed"}, {"a": {"value": 1}}, False),
        ("math", [E1], {"a": "skipped"}, {}, True),  # upstream skipped
        ("math", [E1], {"a": "completed"}, {"a": {"other": 1}}, True),  # port not produced (branch)
        ("math", [E1, E2], {"a": "completed", "b": "skipped"}, {"a": {"value": 1}}, True),
        ("merge", [E1, E2], {"a": "completed", "b": "skipped"}, {"a": {"value": 1}}, False),
        ("merge", [E1, E2], {"a": "skipped", "b": "skipped"}, {}, True),
        ("merge", [], {}, {}, False),
    ],
)
def test_skip_rule(node_type: str, edges: list[InEdge], statuses: dict[str, str],
                   outputs: dict[str, dict[str, Any]], skip: bool) -> None:
    assert decide.should_skip(node_type, edges, statuses, outputs) is skip


def test_readiness_follows_done_nodes() -> None:
    preds = {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]}
    ready = decide.Readiness(preds, dict.fromkeys(preds, False))
    assert ready.candidates == {"a"}
    ready.done("a")
    assert ready.candidates == {"b", "c"}
    ready.done("b")
    assert ready.candidates == {"c"}
    ready.done("b")  # told twice: counted once
    assert ready.candidates == {"c"}
    ready.done("c")
    assert ready.candidates == {"d"}


def test_readiness_from_a_resumed_state() -> None:
    preds = {"a": [], "b": ["a"], "c": ["b"]}
    ready = decide.Readiness(preds, {"a": True, "b": False, "c": False})
    assert ready.candidates == {"b"}


@pytest.mark.parametrize(
    ("node", "before", "skip_once", "step", "holds"),
    [
        ("n", {"n"}, set(), False, True),
        ("n", {"n"}, {"n"}, False, False),  # the breakpoint the run was paused at
        ("n", {"n"}, set(), True, False),  # a step runs the node
        ("n", set(), set(), False, False),
    ],
)
def test_breakpoint_before(node: str, before: set[str], skip_once: set[str], step: bool, holds: bool) -> None:
    assert decide.holds_before(node, before, skip_once, step) is holds


@pytest.mark.parametrize(
    ("node", "after", "until", "holds"),
    [("n", {"n"}, None, True), ("n", set(), "n", True), ("n", {"m"}, "m", False)],
)
def test_hold_after(node: str, after: set[str], until: str | None, holds: bool) -> None:
    assert decide.holds_after(node, after, until) is holds


def test_downstream_and_order() -> None:
    succ = {"a": ["c", "b"], "b": ["d"], "c": ["d"], "d": [], "e": []}
    assert decide.downstream(succ, ["b"]) == {"d"}
    assert decide.downstream(succ, ["a"]) == {"b", "c", "d"}
    assert decide.topological_order(succ, succ) == ["a", "b", "c", "d", "e"]


@pytest.mark.parametrize(
    ("args", "status", "event"),
    [
        ({"all_done": True, "request": "stop", "failed": ["x"]}, RunStatus.COMPLETED, Event.RUN_COMPLETED),
        ({"request": "interrupt", "failed": ["x"]}, RunStatus.INTERRUPTED, Event.RUN_INTERRUPTED),
        ({"request": "stop", "failed": ["x"]}, RunStatus.CANCELLED, Event.RUN_CANCELLED),
        ({"request": "pause", "failed": ["x"]}, RunStatus.FAILED, Event.RUN_FAILED),
        ({"failed": ["x"], "paused_before": ["y"]}, RunStatus.FAILED, Event.RUN_FAILED),
        ({"request": "pause"}, RunStatus.PAUSED, Event.PAUSED),
        ({"paused_before": ["y"]}, RunStatus.PAUSED, Event.PAUSED),
    ],
)
def test_outcome(args: dict[str, Any], status: RunStatus, event: Event) -> None:
    full = {"all_done": False, "request": None, "failed": [], "pause_reason": None, "hold_reasons": [],
            "paused_before": [], **args}
    end = decide.outcome(**full)
    assert (end.status, end.event) == (status, event)


def test_paused_outcome_tells_why_and_where() -> None:
    end = decide.outcome(all_done=False, request=None, failed=[], pause_reason=None,
                         hold_reasons=["breakpoint before 'b'", "after 'c'"], paused_before=["b"])
    assert end.detail == {"reason": "breakpoint before 'b'; after 'c'", "before": ["b"]}
    assert end.paused_before == ["b"]
    assert decide.outcome(all_done=False, request="pause", failed=[], pause_reason="step",
                          hold_reasons=["x"], paused_before=[]).detail["reason"] == "step"
