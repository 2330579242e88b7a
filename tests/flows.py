"""Small helpers to write workflow files and wait on conditions in engine tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def node(node_id: str, type_: str, breakpoint: bool | None = None, **params: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"id": node_id, "type": type_, "params": params}
    if breakpoint is not None:
        out["breakpoint"] = breakpoint
    return out


def edge(src: str, dst: str, sport: str = "value", dport: str = "value") -> dict[str, str]:
    return {"source": src, "source_port": sport, "target": dst, "target_port": dport}


def write_flow(
    folder: Path, name: str, nodes: list[dict[str, Any]], edges: list[dict[str, str]],
    inputs: dict[str, Any] | None = None,
) -> Path:
    data: dict[str, Any] = {"format": "studio.workflow", "version": 1, "name": name}
    if inputs is not None:
        data["inputs"] = inputs
    data["nodes"] = nodes
    data["edges"] = edges
    path = folder / f"{name}.flow.json"
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def chain(folder: Path, length: int = 6, name: str = "chain", **first: Any) -> Path:
    """constant n0 = 1, then n1..n{length-1} each adding 1: the last result is ``length``."""
    nodes = [node("n0", "constant", value=1, **first)]
    edges = []
    for i in range(1, length):
        nodes.append(node(f"n{i}", "math", op="add", b=1))
        edges.append(edge(f"n{i - 1}", f"n{i}", "value" if i == 1 else "result", "a"))
    return write_flow(folder, name, nodes, edges)


def wait_until(condition: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    """Poll ``condition`` until it holds (tests never sleep a fixed time and hope)."""
    deadline = time.monotonic() + timeout
    tick = threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        tick.wait(0.02)


def studio(*args: str, db: Path, check: bool = False) -> subprocess.CompletedProcess[str]:
    """Run the real ``studio`` command in a child process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "studio", *args, "--db", str(db)],
        capture_output=True, text=True, env=env, timeout=120,
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def spawn(*args: str, db: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "studio", *args, "--db", str(db)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )


def events(history: list[dict[str, Any]], kind: str, node_id: str | None = None) -> list[dict[str, Any]]:
    return [e for e in history if e["event"] == kind and (node_id is None or e["node"] == node_id)]


def slow_flow(folder: Path, seconds: float = 30) -> Path:
    """constant a → delay wait → log z: a run that sits in ``wait``."""
    return write_flow(folder, "slow", [node("a", "constant", value=1), node("wait", "delay", seconds=seconds),
                                       node("z", "log")], [edge("a", "wait"), edge("wait", "z")])


class BackgroundRun:
    """``api.run`` on a thread of this process, with its ``Execution`` at hand."""

    def __init__(self, flow: Path, db: Path, **options: Any) -> None:
        from studio import api

        self.holder: list[Any] = []
        self.result: dict[str, Any] = {}
        self.db = db
        self.thread = threading.Thread(
            target=lambda: self.result.update(api.run(flow, db=db, on_execution=self.holder.append, **options))
        )
        self.thread.start()

    @property
    def execution(self) -> Any:
        return self.holder[0]

    def wait_started(self, node_id: str) -> str:
        """Wait until ``node_id`` has started; the run id."""
        from studio import api

        wait_until(lambda: bool(self.holder) and self.execution.run_id is not None
                   and bool(events(api.history(self.execution.run_id, db=self.db), "node_started", node_id)),
                   what=f"{node_id} to start")
        return str(self.execution.run_id)

    def join(self, timeout: float = 60) -> dict[str, Any]:
        self.thread.join(timeout)
        return self.result
