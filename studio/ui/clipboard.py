"""Copy and paste: a selection as the workflow file format's JSON, pasted with fresh ids."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from studio.model.workflow import FORMAT, VERSION, Edge, Node, Note, Workflow


def selection_json(workflow: Workflow, node_ids: Iterable[str], notes: Iterable[Note] = ()) -> str:
    """The chosen nodes, the edges between them, and notes, as a workflow file."""
    chosen = [n for n in workflow.nodes if n in set(node_ids)]
    inside = set(chosen)
    data: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "nodes": [workflow.nodes[n].to_dict() for n in chosen],
        "edges": [e.to_dict() for e in workflow.edges if e.source in inside and e.target in inside],
    }
    note_list = [n.to_dict() for n in notes]
    if note_list:
        data["notes"] = note_list
    return json.dumps(data, indent=2, ensure_ascii=False)


def parse_clipboard(text: str) -> Workflow | None:
    """The clipboard's text as a workflow, or ``None`` when it is not one."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("nodes"), list):
        return None
    return Workflow.from_dict(data)


def prepare_paste(
    target: Workflow, pasted: Workflow, offset: tuple[float, float]
) -> tuple[list[Node], list[Edge], list[Note]]:
    """Nodes (with ids unused in ``target``), edges between them, notes, all moved by ``offset``."""
    taken = set(target.nodes)
    renamed: dict[str, str] = {}
    nodes: list[Node] = []
    probe = Workflow()
    for node in pasted.nodes.values():
        probe.nodes = {k: Node(k, "") for k in taken}
        new_id = probe.new_id(node.id)
        taken.add(new_id)
        renamed[node.id] = new_id
        x, y = node.position or (0.0, 0.0)
        nodes.append(Node.from_dict({**node.to_dict(), "id": new_id,
                                     "position": [x + offset[0], y + offset[1]]}))
    edges = [
        Edge(renamed[e.source], e.source_port, renamed[e.target], e.target_port)
        for e in pasted.edges if e.source in renamed and e.target in renamed
    ]
    notes = [
        Note(n.text, (n.position[0] + offset[0], n.position[1] + offset[1]), dict(n.extra))
        for n in pasted.notes or []
    ]
    return nodes, edges, notes
