"""One node's work as plain JSON-able data, and the code that runs it anywhere.

The coordinator prepares a ``NodeTask`` (inputs gathered and checked); a worker
thread, or a Dask worker process, runs it with ``run_task``. What crosses a process
boundary is the same JSON the checkpoints hold, except tables: a port holding a
DataFrame goes as Arrow IPC bytes (base64, under ``"tables"`` beside the JSON ports),
never as JSON rows.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from studio.errors import NodeError
from studio.model.types import is_frame
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
        inputs, tables = _pack(self.inputs)
        data = {**asdict(_replace_inputs(self, inputs)), "tables": tables}
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> NodeTask:
        data = json.loads(text)
        data["inputs"] = _unpack(data["inputs"], data.pop("tables", None))
        return cls(**data)


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
        outputs, tables = _pack(self.outputs) if self.outputs is not None else (None, {})
        data = {
            "node": self.node, "outputs": outputs, "error": self.error, "cancelled": self.cancelled,
            "logs": list(self.logs), "duration": self.duration, "tables": tables,
        }
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> NodeResult:
        data = json.loads(text)
        tables = data.pop("tables", None)
        if data.get("outputs") is not None:
            data["outputs"] = _unpack(data["outputs"], tables)
        return cls(**data)


def _replace_inputs(task: NodeTask, inputs: dict[str, Any]) -> NodeTask:
    return NodeTask(task.node, task.type, inputs, task.params, task.run_inputs, task.workflow_dir)


def _pack(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Ports as JSON, with each table port's value in ``tables`` as base64 Arrow IPC instead.

    The JSON keeps a ``None`` in a table port's place so that the ports keep their order.
    """
    plain: dict[str, Any] = {}
    tables: dict[str, str] = {}
    for port, value in values.items():
        if is_frame(value):
            from studio.tables.frame import to_ipc

            plain[port] = None
            tables[port] = base64.b64encode(to_ipc(value)).decode("ascii")
        else:
            plain[port] = value
    return plain, tables


def _unpack(plain: dict[str, Any], tables: dict[str, str] | None) -> dict[str, Any]:
    if not tables:
        return plain
    from studio.tables.frame import from_ipc

    values = dict(plain)
    for port, packed in tables.items():
        values[port] = from_ipc(base64.b64decode(packed))
    return values


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
    """The outputs as they come back from the database, or a clear failure naming the node.

    A table port (a DataFrame) is passed on as it is; every other value goes through JSON.
    """
    frames = {port: value for port, value in outputs.items() if is_frame(value)}
    for port, df in frames.items():
        _check_storable(node_id, port, df)
    plain = {port: value for port, value in outputs.items() if port not in frames}
    try:
        stored: dict[str, Any] = json.loads(json.dumps(plain, allow_nan=False))
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
    if not frames:
        return stored
    return {port: frames[port] if port in frames else stored[port] for port in outputs}


def _check_storable(node_id: str, port: str, df: Any) -> None:
    """A table whose columns Parquet cannot hold (Python objects) fails the node, not the store."""
    for name, dtype in df.schema.items():
        if dtype.base_type().__name__ == "Object":
            raise NodeError(
                f"node '{node_id}' produced a table on port '{port}' whose column '{name}' holds "
                "Python objects, which cannot be stored"
            )


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
