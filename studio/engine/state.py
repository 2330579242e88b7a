"""Captured state as users see it, state edits (``--set``), and stale nodes after edits."""

from __future__ import annotations

import json
from typing import Any

from studio.errors import BadStatePath
from studio.model import Workflow, matches
from studio.model.types import is_frame, is_table, type_of
from studio.nodes import specs
from studio.store import COMPLETED, FAILED, SKIPPED, NewCheckpoint, Snapshot, StateIndex, short_id

DONE = (COMPLETED, SKIPPED)


def next_nodes(workflow: Workflow, index: StateIndex) -> list[str]:
    """Nodes that would start first from this state, sorted by id."""
    done = {n for n, e in index.nodes.items() if e.status in DONE}
    preds: dict[str, set[str]] = {n: set() for n in workflow.nodes}
    for e in workflow.edges:
        if e.target in preds:
            preds[e.target].add(e.source)
    return sorted(n for n in workflow.nodes if n not in done and preds[n] <= done)


def captured_state(
    workflow: Workflow, snapshot: Snapshot, status: str, *, latest: bool = True, rows: int | None = None
) -> dict[str, Any]:
    """The JSON shape of CONTRACT section 3.

    Tables appear in ``outputs`` as JSON rows (only the first ``rows`` when given) and
    in ``tables`` as ``{"rows", "columns"}``, the full count as stored.
    """
    index = snapshot.index
    outputs, tables = _outputs_as_json(snapshot, rows)
    state: dict[str, Any] = {
        "run_id": snapshot.run_id,
        "checkpoint_id": snapshot.checkpoint_id,
        "seq": snapshot.seq,
        "status": status,
        "next": next_nodes(workflow, index),
        "completed": index.with_status(COMPLETED),
        "skipped": index.with_status(SKIPPED),
        "failed": index.with_status(FAILED),
        "inputs": index.inputs,
        "outputs": outputs,
        "errors": {n: e.error for n, e in index.nodes.items() if e.status == FAILED and e.error},
        "tables": tables,
    }
    if not latest:
        state["latest"] = False
    return state


def _outputs_as_json(
    snapshot: Snapshot, rows: int | None
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    outputs: dict[str, dict[str, Any]] = {}
    tables: dict[str, dict[str, Any]] = {}
    for node, ports in snapshot.outputs.items():
        if not any(is_frame(v) for v in ports.values()):
            outputs[node] = ports
            continue
        from studio.tables.frame import columns_of, to_rows

        shown: dict[str, Any] = {}
        for port, value in ports.items():
            if not is_frame(value):
                shown[port] = value
                continue
            shown[port] = to_rows(value, rows)
            stored = snapshot.tables.get(f"{node}.{port}")
            if stored is not None:
                tables[f"{node}.{port}"] = {"rows": stored["rows"], "columns": stored["columns"]}
            else:  # not (yet) read from the store
                tables[f"{node}.{port}"] = {"rows": value.height, "columns": columns_of(value)}
        outputs[node] = shown
    return outputs, tables


def parse_edits(
    edits: dict[str, Any], workflow: Workflow, snapshot: Snapshot
) -> NewCheckpoint:
    """Check every ``--set`` path and value; a ``state_edited`` checkpoint for all of them."""
    if not isinstance(edits, dict) or not edits:
        raise BadStatePath("nothing to set")
    new_inputs: dict[str, Any] = {}
    new_outputs: dict[str, dict[str, Any]] = {}
    for path, value in edits.items():
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            raise BadStatePath(f"--set {path}: the value cannot be stored as JSON") from None
        parts = str(path).split(".")
        if len(parts) == 2 and parts[0] == "inputs" and parts[1]:
            new_inputs[parts[1]] = value
            continue
        if len(parts) != 3 or parts[0] != "outputs" or not all(parts):
            raise BadStatePath(
                f"--set {path}: use outputs.NODE.PORT=VALUE or inputs.NAME=VALUE"
            )
        _, node, port = parts
        if node not in workflow.nodes:
            raise BadStatePath(f"--set {path}: the workflow has no node '{node}'")
        entry = snapshot.index.nodes.get(node)
        if entry is None or entry.status not in (COMPLETED, FAILED):
            raise BadStatePath(f"--set {path}: node '{node}' has not completed or failed yet")
        spec = specs().get(workflow.nodes[node].type)
        if spec is None or spec.output(port) is None:
            ports = ", ".join(p.name for p in spec.outputs) if spec else ""
            raise BadStatePath(f"--set {path}: node '{node}' has no output port '{port}' (ports: {ports or 'none'})")
        port_type = spec.output(port).type  # type: ignore[union-attr]
        if not matches(value, port_type):
            raise BadStatePath(
                f"--set {path}: port '{port}' of node '{node}' takes {port_type}, got {type_of(value)}"
            )
        base = new_outputs.get(node)
        if base is None:
            base = dict(snapshot.outputs.get(node, {})) if entry.status == COMPLETED else {}
        old = snapshot.outputs.get(node, {}).get(port)
        if (port_type == "table" or is_frame(old)) and isinstance(value, list) and is_table(value):
            value = _as_table(path, value, old)
        base[port] = value
        new_outputs[node] = base
    output_ids = {node: short_id("o") for node in new_outputs}
    delta: dict[str, Any] = {}
    if new_inputs:
        delta["inputs"] = new_inputs
    if new_outputs:
        delta["outputs"] = output_ids
    return NewCheckpoint(
        "state_edited",
        next(iter(new_outputs), None),
        delta,
        outputs={output_ids[n]: {"node": n, "data": data} for n, data in new_outputs.items()},
    )


def _as_table(path: str, rows: list[Any], old: Any) -> Any:
    """JSON rows set on a table port, as a table with the replaced table's column kinds (dates stay dates)."""
    from studio.tables.frame import columns_of, from_rows

    try:
        return from_rows(rows, like=columns_of(old) if is_frame(old) else None)
    except Exception as exc:  # noqa: BLE001 - any odd value is refused in one line
        raise BadStatePath(f"--set {path}: the rows cannot be made a table ({type(exc).__name__}: {exc})"
                           .splitlines()[0]) from None


def stale_nodes(old: Workflow, new: Workflow, index: StateIndex) -> list[str]:
    """Finished nodes that must run again because they, or something upstream, changed.

    Linear in the size of the workflows: one pass over each one's edges.
    """
    from studio.engine.decide import downstream

    def signatures(wf: Workflow) -> dict[str, str]:
        incoming: dict[str, list[str]] = {n: [] for n in wf.nodes}
        for e in wf.edges:
            if e.target in incoming:
                incoming[e.target].append(str(e))
        return {
            n: json.dumps([node.type, node.params, sorted(incoming[n])], sort_keys=True, default=str)
            for n, node in wf.nodes.items()
        }

    before, after = signatures(old), signatures(new)
    changed = {n for n, sig in after.items() if before.get(n) != sig}
    if not changed:
        return []
    successors: dict[str, list[str]] = {n: [] for n in new.nodes}
    for e in new.edges:
        if e.source in successors and e.target in new.nodes:
            successors[e.source].append(e.target)
    stale = changed | downstream(successors, changed)
    return [n for n in index.nodes if n in stale]
