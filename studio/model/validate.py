"""Validation of a workflow file: every problem, one line each, nothing executed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from studio.model.spec import NodeSpec
from studio.model.types import can_connect, is_position, matches
from studio.model.workflow import FORMAT, ID_PATTERN, VERSION


def validate_data(data: Any, specs: Mapping[str, NodeSpec]) -> list[str]:
    """All problems of a parsed workflow file (an empty list when it is valid)."""
    if not isinstance(data, dict):
        return ["the top level must be a JSON object"]
    problems: list[str] = []
    fmt, version = data.get("format"), data.get("version")
    if "format" not in data:
        problems.append(f"'format' is missing (expected {FORMAT!r})")
    elif not isinstance(fmt, str) or fmt != FORMAT:
        problems.append(f"unknown format {_describe(fmt)} (expected {FORMAT!r})")
    if "version" not in data:
        problems.append(f"'version' is missing (expected {VERSION})")
    elif not isinstance(version, int) or isinstance(version, bool) or version != VERSION:
        problems.append(f"unknown version {_describe(version)} (expected {VERSION})")
    if "name" in data and not isinstance(data["name"], str):
        problems.append("'name' must be text")
    if "inputs" in data and not isinstance(data["inputs"], dict):
        problems.append("'inputs' must be an object of names and values")
    if "notes" in data:
        _check_notes(data["notes"], problems)

    nodes = _check_nodes(data.get("nodes"), specs, problems)
    edges = _check_edges(data.get("edges"), nodes, specs, problems)
    _check_inputs_and_params(nodes, edges, specs, problems)
    _check_cycles(nodes, edges, problems)
    return problems


def _check_nodes(
    raw: Any, specs: Mapping[str, NodeSpec], problems: list[str]
) -> dict[str, dict[str, Any]]:
    """Structural checks of ``nodes``; returns the usable nodes by id."""
    nodes: dict[str, dict[str, Any]] = {}
    if raw is None:
        problems.append("'nodes' is missing")
        return nodes
    if not isinstance(raw, list):
        problems.append("'nodes' must be a list")
        return nodes
    for i, node in enumerate(raw):
        if not isinstance(node, dict):
            problems.append(f"node #{i + 1}: must be an object")
            continue
        node_id = node.get("id")
        if not isinstance(node_id, str) or not ID_PATTERN.match(node_id):
            problems.append(
                f"node #{i + 1}: id {_describe(node_id)} is not valid (letters, digits, '_' and '-', "
                "not starting with a digit or '-')"
            )
            continue
        if node_id in nodes:
            problems.append(f"node '{node_id}': duplicate id")
            continue
        node_type = node.get("type")
        if not isinstance(node_type, str) or node_type not in specs:
            problems.append(f"node '{node_id}': unknown type {_describe(node_type)}")
        if "params" in node and not isinstance(node["params"], dict):
            problems.append(f"node '{node_id}': 'params' must be an object")
        if "label" in node and not isinstance(node["label"], str):
            problems.append(f"node '{node_id}': 'label' must be text")
        if "breakpoint" in node and not isinstance(node["breakpoint"], bool):
            problems.append(f"node '{node_id}': 'breakpoint' must be true or false")
        if "position" in node and not is_position(node["position"]):
            problems.append(f"node '{node_id}': 'position' must be [x, y]")
        nodes[node_id] = node
    return nodes


def _check_edges(
    raw: Any,
    nodes: dict[str, dict[str, Any]],
    specs: Mapping[str, NodeSpec],
    problems: list[str],
) -> list[tuple[str, str, str, str]]:
    """Structural and type checks of ``edges``; returns the usable edges."""
    edges: list[tuple[str, str, str, str]] = []
    if raw is None:
        return edges
    if not isinstance(raw, list):
        problems.append("'edges' must be a list")
        return edges
    fed: dict[tuple[str, str], str] = {}
    for i, edge in enumerate(raw):
        keys = ("source", "source_port", "target", "target_port")
        if not isinstance(edge, dict) or not all(isinstance(edge.get(k), str) for k in keys):
            problems.append(f"edge #{i + 1}: needs text fields source, source_port, target, target_port")
            continue
        src, sport, dst, dport = (edge[k] for k in keys)
        name = f"edge {_word(src)}.{_word(sport)} -> {_word(dst)}.{_word(dport)}"
        ok = True
        for end, port, outward in ((src, sport, True), (dst, dport, False)):
            if end not in nodes:
                problems.append(f"{name}: no node {_quoted(end)}")
                ok = False
                continue
            spec = _spec(nodes[end], specs)
            if spec is None:
                ok = False
                continue
            found = spec.output(port) if outward else spec.input(port)
            if found is None:
                kind = "output" if outward else "input"
                problems.append(
                    f"{name}: node '{end}' ({spec.type}) has no {kind} port {_quoted(port)}"
                )
                ok = False
        if not ok:
            continue
        if (dst, dport) in fed:
            problems.append(
                f"{name}: input '{dst}.{dport}' already has an edge from {fed[(dst, dport)]}"
            )
            continue
        fed[(dst, dport)] = f"{src}.{_word(sport)}"
        out_port = specs[nodes[src]["type"]].output(sport)
        in_port = specs[nodes[dst]["type"]].input(dport)
        assert out_port is not None and in_port is not None
        if not can_connect(out_port.type, in_port.type):
            problems.append(
                f"{name}: incompatible port types ({out_port.type} output into {in_port.type} input)"
            )
        # Even a mistyped edge connects its input (no "not connected" on top) and can loop.
        edges.append((src, sport, dst, dport))
    return edges


def _check_inputs_and_params(
    nodes: dict[str, dict[str, Any]],
    edges: list[tuple[str, str, str, str]],
    specs: Mapping[str, NodeSpec],
    problems: list[str],
) -> None:
    connected = {(dst, dport) for _, _, dst, dport in edges}
    for node_id, node in nodes.items():
        spec = _spec(node, specs)
        params = node.get("params")
        if spec is None or not isinstance(params, (dict, type(None))):
            continue
        params = params or {}
        for port in spec.inputs:
            if (node_id, port.name) in connected:
                continue
            if port.name in params:
                if not matches(params[port.name], port.type):
                    problems.append(
                        f"node '{node_id}': param '{port.name}' must be {_a(port.type)} "
                        f"(got {_describe(params[port.name])})"
                    )
            elif port.required:
                problems.append(
                    f"node '{node_id}': input '{port.name}' is not connected and not set in params"
                )
        for param in spec.params:
            if param.name not in params:
                if param.required:
                    problems.append(f"node '{node_id}': missing required param '{param.name}'")
                continue
            value = params[param.name]
            if not matches(value, param.type):
                problems.append(
                    f"node '{node_id}': param '{param.name}' must be {_a(param.type)} (got {_describe(value)})"
                )
            elif param.type == "path" and not value.strip():
                problems.append(f"node '{node_id}': param '{param.name}' is empty (name a file)")
            elif param.choices and value not in param.choices:
                options = ", ".join(str(c) for c in param.choices)
                problems.append(
                    f"node '{node_id}': param '{param.name}' is {_describe(value)}, "
                    f"must be one of {options}"
                )
        for check in spec.param_checks:
            try:
                found = list(check(params))
            except Exception as exc:  # noqa: BLE001 - a plugin's check must not break validation
                found = [f"cannot check params ({type(exc).__name__}: {exc})"]
            problems.extend(_one_line(f"node '{node_id}': {msg}") for msg in found)


def _check_cycles(
    nodes: dict[str, dict[str, Any]],
    edges: list[tuple[str, str, str, str]],
    problems: list[str],
) -> None:
    import networkx as nx  # here, not at the top: the CLI starts faster without it

    g = nx.DiGraph()
    g.add_nodes_from(nodes)
    g.add_edges_from((src, dst) for src, _, dst, _ in edges)
    for cycle in nx.simple_cycles(g):
        path = " -> ".join([*cycle, cycle[0]])
        problems.append(f"cycle: {path} (workflows must not loop back)")
        break


def _check_notes(notes: Any, problems: list[str]) -> None:
    if not isinstance(notes, list):
        problems.append("'notes' must be a list of objects")
        return
    for i, note in enumerate(notes):
        if not isinstance(note, dict):
            problems.append(f"note #{i + 1}: must be an object")
            continue
        if "text" in note and not isinstance(note["text"], str):
            problems.append(f"note #{i + 1}: 'text' must be text")
        if "position" in note and not is_position(note["position"]):
            problems.append(f"note #{i + 1}: 'position' must be [x, y]")


def _spec(node: dict[str, Any], specs: Mapping[str, NodeSpec]) -> NodeSpec | None:
    node_type = node.get("type")
    return specs.get(node_type) if isinstance(node_type, str) else None


def _word(text: str) -> str:
    """A name from the file as it can appear in a one-line message."""
    return text if ID_PATTERN.match(text) else _describe(text)


def _quoted(text: str) -> str:
    return f"'{text}'" if ID_PATTERN.match(text) else _describe(text)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _a(type_name: str) -> str:
    return {
        "any": "any value",
        "number": "a number",
        "text": "text",
        "path": "a file path (text)",
        "expression": "an expression (text)",
        "bool": "true or false",
        "list": "a list",
        "table": "a table (list of objects with the same keys)",
        "object": "an object",
    }.get(type_name, type_name)


def _describe(value: Any) -> str:
    text = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."
