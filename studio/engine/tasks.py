"""One node's work as plain JSON-able data, and the code that runs it anywhere.

The coordinator prepares a ``NodeTask`` (inputs gathered and checked); a worker
thread, or a Dask worker process, runs it with ``run_task``. What crosses a process
boundary is the same JSON the checkpoints hold.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from studio.errors import NodeError
from studio.nodes import Cancelled, NodeContext, get

log = logging.getLogger("studio.engine")


@dataclass
class NodeTask:
    """Everything a node needs to run: its type, inputs, params and run inputs."""

    node: str
    type: str
    inputs: dict[str, Any]
    params: dict[str, Any]
    run_inputs: dict[str, Any]
    workflow_dir: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> NodeTask:
        return cls(**json.loads(text))


@dataclass
class NodeResult:
    """How a node ended: outputs (as stored), an error, or cut short."""

    node: str
    outputs: dict[str, Any] | None = None
    error: str | None = None
    cancelled: bool = False
    logs: list[str] = field(default_factory=list)
    duration: float = 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> NodeResult:
        return cls(**json.loads(text))


def run_task(task: NodeTask, cancel: threading.Event) -> NodeResult:
    """Call the node's code; every failure becomes a one-line error, never an exception."""
    result = NodeResult(task.node)
    started = time.perf_counter()
    try:
        node_type = get(task.type)
        if node_type is None:
            raise NodeError(f"unknown node type '{task.type}'")
        ctx = NodeContext(
            node_id=task.node,
            workflow_dir=Path(task.workflow_dir),
            run_inputs=task.run_inputs,
            log=result.logs.append,
            cancel=cancel,
        )
        outputs = node_type.run(task.inputs, task.params, ctx)
        declared = {p.name for p in node_type.spec.outputs}
        # Keep exactly what the checkpoint holds, so a resumed run sees what an
        # uninterrupted one saw (JSON turns int keys into text, tuples into lists).
        result.outputs = as_stored(task.node, {k: v for k, v in (outputs or {}).items() if k in declared})
    except Cancelled:
        result.cancelled = True
    except NodeError as exc:
        result.error = str(exc) or "node failed"
    except Exception as exc:  # noqa: BLE001 - a node's bug must not take the run down
        log.debug("node %s raised", task.node, exc_info=True)
        result.error = f"{type(exc).__name__}: {exc}".splitlines()[0]
    result.duration = time.perf_counter() - started
    return result


def run_task_json(task_json: str, cancel_event: str | None = None) -> str:
    """The entry point on a Dask worker: JSON in, JSON out.

    ``cancel_event`` names a Dask ``Event`` that the coordinator sets on pause or
    stop; a watcher passes it on to the node (a running ``delay`` is cut short).
    """
    cancel = threading.Event()
    if cancel_event is not None:
        from distributed import Event

        remote = Event(cancel_event)

        def watch() -> None:
            while not cancel.is_set():
                try:
                    if remote.wait(timeout=0.2):
                        cancel.set()
                except Exception:  # noqa: BLE001 - scheduler gone: the task is being dropped anyway
                    return

        threading.Thread(target=watch, daemon=True, name="studio-cancel-watch").start()
    try:
        return run_task(NodeTask.from_json(task_json), cancel).to_json()
    finally:
        cancel.set()  # ends the watcher


def as_stored(node_id: str, outputs: dict[str, Any]) -> dict[str, Any]:
    """The outputs as they come back from the database, or a clear failure naming the node."""
    try:
        return json.loads(json.dumps(outputs, allow_nan=False))  # type: ignore[no-any-return]
    except ValueError as exc:
        if "integer string conversion" in str(exc):
            raise NodeError(f"node '{node_id}' produced a number too large to store (over 4300 digits)") from None
        raise NodeError(
            f"node '{node_id}' produced a number that is not finite (NaN or infinity), which JSON cannot hold"
        ) from None
    except TypeError:
        raise NodeError(
            f"node '{node_id}' produced a value of type '{_find_bad(outputs)}' that cannot be stored as JSON"
        ) from None
    except RecursionError:
        raise NodeError(f"node '{node_id}' produced a value nested too deeply to store") from None


def _find_bad(value: Any) -> str:
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                return type(k).__name__
            found = _find_bad(v)
            if found:
                return found
        return ""
    if isinstance(value, list):
        return next((f for f in (_find_bad(v) for v in value) if f), "")
    if value is None or isinstance(value, (str, int, float, bool)):
        return ""
    return type(value).__name__
