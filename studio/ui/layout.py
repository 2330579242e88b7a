"""Auto-layout: a layered (left to right) placement of the workflow graph."""

from __future__ import annotations

from collections.abc import Callable

import networkx as nx

from studio.model.workflow import Workflow

COLUMN_GAP = 90.0
ROW_GAP = 40.0


def layered_positions(
    workflow: Workflow,
    size_of: Callable[[str], tuple[float, float]],
    origin: tuple[float, float] = (0.0, 0.0),
) -> dict[str, tuple[float, float]]:
    """Top-left positions: a column per longest-path layer, rows ordered to reduce crossings.

    ``size_of(node_id)`` gives a node's (width, height) on the canvas. Nodes in cycles
    (an invalid workflow) are laid out as best as can be: each cycle counts as one node.
    """
    graph = nx.DiGraph()
    graph.add_nodes_from(workflow.nodes)
    graph.add_edges_from((e.source, e.target) for e in workflow.edges
                         if e.source in workflow.nodes and e.target in workflow.nodes)
    condensed = nx.condensation(graph)
    position = {node_id: i for i, node_id in enumerate(workflow.nodes)}
    members: dict[int, list[str]] = {c: sorted(condensed.nodes[c]["members"], key=position.__getitem__)
                                     for c in condensed.nodes}
    layer: dict[int, int] = {}
    for c in nx.topological_sort(condensed):
        preds = list(condensed.predecessors(c))
        layer[c] = max((layer[p] + 1 for p in preds), default=0)
    # Sources without successors-to-be float next to their first consumer, not in column 0.
    for c in reversed(list(nx.topological_sort(condensed))):
        succs = list(condensed.successors(c))
        if succs and not list(condensed.predecessors(c)):
            layer[c] = max(layer[c], min(layer[s] for s in succs) - 1)

    columns: dict[int, list[str]] = {}
    for c in sorted(layer, key=lambda c: (layer[c], position[members[c][0]])):
        columns.setdefault(layer[c], []).extend(members[c])

    rank: dict[str, float] = {}
    for col in sorted(columns):
        ids = columns[col]
        if col > 0:
            def barycentre(node_id: str) -> float:
                preds = [rank[p] for p in graph.predecessors(node_id) if p in rank]
                return sum(preds) / len(preds) if preds else float(position[node_id])

            ids.sort(key=barycentre)
        for i, node_id in enumerate(ids):
            rank[node_id] = float(i)

    positions: dict[str, tuple[float, float]] = {}
    x = origin[0]
    for col in sorted(columns):
        ids = columns[col]
        width = max(size_of(n)[0] for n in ids)
        total = sum(size_of(n)[1] for n in ids) + ROW_GAP * (len(ids) - 1)
        y = origin[1] - total / 2
        for node_id in ids:
            positions[node_id] = (round(x), round(y))
            y += size_of(node_id)[1] + ROW_GAP
        x += width + COLUMN_GAP
    return positions
