"""Property: however a run is paused, stepped and resumed, it ends as an uninterrupted run does."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from flows import edge, node, write_flow
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio import api

_counter = itertools.count()


@st.composite
def workflows(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    size = draw(st.integers(min_value=2, max_value=9))
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, str]] = []
    for i in range(size):
        preds = draw(st.lists(st.integers(0, i - 1), max_size=2, unique=True)) if i else []
        if not preds:
            nodes.append(node(f"n{i}", "constant", value=draw(st.integers(-5, 5))))
            continue
        ports = ["a", "b"][: len(preds)]
        kind = draw(st.sampled_from(["expression", "branch"])) if len(preds) == 1 else "expression"
        if kind == "branch":
            # The value goes out on one side only: downstream of the other side is skipped.
            nodes.append(node(f"n{i}", "branch", condition=draw(st.booleans())))
            edges.append(edge(f"n{preds[0]}", f"n{i}", _out(nodes[preds[0]]), "value"))
            continue
        nodes.append(node(f"n{i}", "expression", expr=" + ".join([*ports, str(i)])))
        for p, port in zip(preds, ports, strict=True):
            edges.append(edge(f"n{p}", f"n{i}", _out(nodes[p]), port))
    return nodes, edges


def _out(n: dict[str, Any]) -> str:
    return {"constant": "value", "expression": "result", "branch": "true"}[n["type"]]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flow=workflows(), data=st.data())
def test_any_pause_pattern_ends_like_an_uninterrupted_run(tmp_path: Path, flow: Any, data: st.DataObject) -> None:
    nodes, edges = flow
    folder = tmp_path / f"case{next(_counter)}"
    folder.mkdir()
    path = write_flow(folder, "prop", nodes, edges)
    db = folder / "runs.db"
    reference = api.run(path, db=db)
    ids = [n["id"] for n in nodes]
    breaks = data.draw(st.lists(st.sampled_from(ids), unique=True, max_size=3), label="break_before")
    state = api.run(path, db=db, break_before=breaks)
    for _ in range(3 * len(ids) + 3):
        if state["status"] != "paused":
            break
        if data.draw(st.booleans(), label="step"):
            before = len(state["completed"]) + len(state["skipped"])
            state = api.step(state["run_id"], db=db)
            assert len(state["completed"]) + len(state["skipped"]) == before + 1
        else:
            state = api.resume(state["run_id"], db=db)
    assert state["status"] == reference["status"] == "completed"
    assert state["outputs"] == reference["outputs"]
    assert sorted(state["skipped"]) == sorted(reference["skipped"])
    assert api.state(state["run_id"], db=db) == state
