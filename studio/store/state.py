"""The captured state of a run as an index folded from checkpoint deltas."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from studio.status import NodeStatus

COMPLETED, FAILED, SKIPPED = NodeStatus.COMPLETED, NodeStatus.FAILED, NodeStatus.SKIPPED
#: Below this many checkpoints a run keeps no full index but its first.
FIRST_BASE = 512


def base_due(seq: int) -> bool:
    """Whether checkpoint ``seq`` also stores the full index.

    At powers of two from ``FIRST_BASE`` on: the indexes stored add up to at most
    twice the final one (linear in the run's length, not quadratic), and loading any
    checkpoint folds at most half of the checkpoints before it.
    """
    return seq >= FIRST_BASE and seq & (seq - 1) == 0


@dataclass
class NodeEntry:
    """Where one node stands: its status, the id of its stored outputs, its error."""

    status: str
    output: str | None = None
    error: str | None = None


@dataclass
class StateIndex:
    """Run inputs plus, per finished node, its entry; dict order is the order things happened."""

    inputs: dict[str, Any] = field(default_factory=dict)
    nodes: dict[str, NodeEntry] = field(default_factory=dict)

    def apply(self, delta: dict[str, Any]) -> None:
        """Fold one checkpoint's delta into the index."""
        for node in delta.get("reset", ()):
            self.nodes.pop(node, None)
        if "inputs" in delta:
            self.inputs.update(copy.deepcopy(delta["inputs"]))
        for node, output_id in delta.get("outputs", {}).items():
            entry = self.nodes.get(node)
            if entry is not None and entry.status == COMPLETED:
                entry.output = output_id  # an edit of a completed node keeps its place
            else:
                self._set(node, NodeEntry(COMPLETED, output=output_id))
        if "node" in delta:
            self._set(
                delta["node"],
                NodeEntry(delta["status"], output=delta.get("output"), error=delta.get("error")),
            )

    def _set(self, node: str, entry: NodeEntry) -> None:
        # Re-insert so that dict order follows the latest change (a failed node that
        # later completes moves to the end of ``completed``).
        self.nodes.pop(node, None)
        self.nodes[node] = entry

    def with_status(self, status: str) -> list[str]:
        return [n for n, e in self.nodes.items() if e.status == status]

    def output_ids(self) -> set[str]:
        return {e.output for e in self.nodes.values() if e.output}

    def to_base(self) -> dict[str, Any]:
        return {
            "inputs": copy.deepcopy(self.inputs),
            "nodes": [[n, e.status, e.output, e.error] for n, e in self.nodes.items()],
        }

    @classmethod
    def from_base(cls, base: dict[str, Any]) -> StateIndex:
        index = cls(inputs=copy.deepcopy(base.get("inputs") or {}))
        for node, status, output, error in base.get("nodes", []):
            index.nodes[node] = NodeEntry(status, output, error)
        return index

    def copy(self) -> StateIndex:
        return StateIndex.from_base(self.to_base())


@dataclass
class Snapshot:
    """The state at one checkpoint, with the outputs loaded.

    Table ports hold Polars DataFrames. ``tables`` describes each of them as stored,
    ``"NODE.PORT" -> {"rows", "columns", "hash"}`` (the full row count even when only
    the first ``table_rows`` rows were decoded: such a snapshot is for display, never
    for resuming).
    """

    run_id: str
    checkpoint_id: str
    seq: int
    index: StateIndex
    outputs: dict[str, dict[str, Any]]
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    table_rows: int | None = None
