"""The workflow as plain Python: nodes, edges, notes, inputs, and the file format."""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.errors import WorkflowFileError
from studio.model.types import is_position

if TYPE_CHECKING:
    import networkx as nx

FORMAT = "studio.workflow"
VERSION = 1
ID_PATTERN = re.compile(r"\A[A-Za-z_][A-Za-z0-9_-]*\Z")

_NODE_KEYS = ("id", "type", "label", "params", "position", "breakpoint")
_TOP_KEYS = ("format", "version", "name", "inputs", "nodes", "edges", "notes")
_EDGE_KEYS = ("source", "source_port", "target", "target_port")
_NOTE_KEYS = ("text", "position")

Listener = Callable[[str, Any], None]


@dataclass
class Node:
    """One box on the canvas: an instance of a node type with its params."""

    id: str
    type: str
    params: dict[str, Any] = field(default_factory=dict)
    label: str | None = None
    position: tuple[float, float] | None = None
    #: ``None`` means the key was absent from the file (same as ``False``).
    breakpoint: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: Known keys whose value in the file was not usable; saved back while unset.
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    #: The keys in the order the file had them (``None`` for a node made here).
    keys: tuple[str, ...] | None = field(default=None, repr=False, compare=False)

    @property
    def title(self) -> str:
        return self.label or self.id

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.label is not None:
            out["label"] = self.label
        elif "label" in self.raw:
            out["label"] = copy.deepcopy(self.raw["label"])
        if self.params or self.keys is None or "params" in self.keys:
            out["params"] = copy.deepcopy(self.params)
            if not self.params and "params" in self.raw:
                out["params"] = copy.deepcopy(self.raw["params"])
        if self.position is not None:
            out["position"] = [_plain_number(v) for v in self.position]
        elif "position" in self.raw:
            out["position"] = copy.deepcopy(self.raw["position"])
        if self.breakpoint is not None:
            out["breakpoint"] = bool(self.breakpoint)
        elif "breakpoint" in self.raw:
            out["breakpoint"] = copy.deepcopy(self.raw["breakpoint"])
        out.update(copy.deepcopy(self.extra))
        return _in_order(out, self.keys)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Node:
        """Build from a node object of the file (whose ``id`` and ``type`` are text)."""
        position: Any = data.get("position")
        pos: tuple[float, float] | None = None
        if is_position(position):
            pos = (position[0], position[1])
        params = data.get("params")
        label = data.get("label")
        bp = data.get("breakpoint")
        raw = {
            k: copy.deepcopy(data[k])
            for k, ok in (
                ("params", isinstance(params, dict)),
                ("label", isinstance(label, str)),
                ("position", pos is not None),
                ("breakpoint", isinstance(bp, bool)),
            )
            if k in data and not ok
        }
        return cls(
            id=str(data.get("id", "")),
            type=str(data.get("type", "")),
            params=copy.deepcopy(params) if isinstance(params, dict) else {},
            label=label if isinstance(label, str) else None,
            position=pos,
            breakpoint=bp if isinstance(bp, bool) else None,
            extra={k: copy.deepcopy(v) for k, v in data.items() if k not in _NODE_KEYS},
            raw=raw,
            keys=tuple(data),
        )


@dataclass(frozen=True)
class Edge:
    """An arrow from an output port to an input port."""

    source: str
    source_port: str
    target: str
    target_port: str
    #: Unknown keys the file had on this edge (kept when saving).
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)
    keys: tuple[str, ...] | None = field(default=None, compare=False, hash=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "source": self.source,
            "source_port": self.source_port,
            "target": self.target,
            "target_port": self.target_port,
        }
        out.update(copy.deepcopy(self.extra))
        return _in_order(out, self.keys)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Edge:
        """Build from an edge object of the file (whose four fields are text)."""
        return cls(
            data["source"], data["source_port"], data["target"], data["target_port"],
            extra={k: copy.deepcopy(v) for k, v in data.items() if k not in _EDGE_KEYS},
            keys=tuple(data),
        )

    def __str__(self) -> str:
        return f"{self.source}.{self.source_port} -> {self.target}.{self.target_port}"


@dataclass
class Note:
    """A sticky comment on the canvas."""

    text: str
    position: tuple[float, float] = (0.0, 0.0)
    extra: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    keys: tuple[str, ...] | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if "text" in self.raw and self.text == _text_of(self.raw["text"]):
            out["text"] = copy.deepcopy(self.raw["text"])
        elif self.keys is None or "text" in self.keys or self.text:
            out["text"] = self.text
        if "position" in self.raw and self.position == (0.0, 0.0):
            out["position"] = copy.deepcopy(self.raw["position"])
        elif self.keys is None or "position" in self.keys or self.position != (0.0, 0.0):
            out["position"] = [_plain_number(v) for v in self.position]
        out.update(copy.deepcopy(self.extra))
        return _in_order(out, self.keys)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Note:
        pos: Any = data.get("position")
        text = data.get("text", "")
        raw = {}
        if "text" in data and not isinstance(text, str):
            raw["text"] = copy.deepcopy(text)
        if "position" in data and not is_position(pos):
            raw["position"] = copy.deepcopy(pos)
        return cls(
            text=_text_of(text),
            position=(pos[0], pos[1]) if is_position(pos) else (0.0, 0.0),
            extra={k: copy.deepcopy(v) for k, v in data.items() if k not in _NOTE_KEYS},
            raw=raw,
            keys=tuple(data),
        )


@dataclass
class Workflow:
    """A whole workflow. Edits go through the methods so listeners (the canvas) hear of them."""

    name: str | None = None
    inputs: dict[str, Any] | None = None
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    notes: list[Note] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    _listeners: list[Listener] = field(default_factory=list, repr=False, compare=False)
    #: What the file held that the model cannot represent (bad values, nodes with a bad or
    #: duplicate id, malformed edges and notes), kept so that saving loses nothing.
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    raw_nodes: list[tuple[int, Any]] = field(default_factory=list, repr=False, compare=False)
    raw_edges: list[tuple[int, Any]] = field(default_factory=list, repr=False, compare=False)
    raw_notes: list[tuple[int, Any]] = field(default_factory=list, repr=False, compare=False)
    keys: tuple[str, ...] | None = field(default=None, repr=False, compare=False)

    # -- file format -------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: Path | None = None) -> Workflow:
        """Build from parsed JSON; tolerant, so that files with problems can still be opened.

        Whatever cannot be represented is kept aside and written back by ``to_dict``,
        so validating ``to_dict()`` finds the same problems as the file itself.
        """
        if not isinstance(data, dict):
            raise WorkflowFileError("workflow file must hold a JSON object at the top level")
        wf = cls(path=path)
        wf.keys = tuple(data)
        for key, expected in (("format", FORMAT), ("version", VERSION)):
            if key in data and (data[key] != expected or type(data[key]) is not type(expected)):
                wf.raw[key] = copy.deepcopy(data[key])
        name = data.get("name")
        wf.name = name if isinstance(name, str) else None
        inputs = data.get("inputs")
        wf.inputs = copy.deepcopy(inputs) if isinstance(inputs, dict) else None
        for key, ok in (
            ("name", isinstance(name, str)),
            ("inputs", isinstance(inputs, dict)),
            ("nodes", isinstance(data.get("nodes"), list)),
            ("edges", isinstance(data.get("edges"), list)),
            ("notes", isinstance(data.get("notes"), list)),
        ):
            if key in data and not ok:
                wf.raw[key] = copy.deepcopy(data[key])
        raw_nodes = data.get("nodes")
        for i, raw in enumerate(raw_nodes if isinstance(raw_nodes, list) else []):
            if (
                isinstance(raw, dict)
                and isinstance(raw.get("id"), str)
                and raw["id"]
                and isinstance(raw.get("type"), str)
                and raw["id"] not in wf.nodes
            ):
                wf.nodes[raw["id"]] = Node.from_dict(raw)
            else:
                wf.raw_nodes.append((i, copy.deepcopy(raw)))
        raw_edges = data.get("edges")
        for i, raw in enumerate(raw_edges if isinstance(raw_edges, list) else []):
            if isinstance(raw, dict) and all(isinstance(raw.get(k), str) for k in _EDGE_KEYS):
                wf.edges.append(Edge.from_dict(raw))
            else:
                wf.raw_edges.append((i, copy.deepcopy(raw)))
        notes = data.get("notes")
        if isinstance(notes, list):
            wf.notes = []
            for i, raw in enumerate(notes):
                if isinstance(raw, dict):
                    wf.notes.append(Note.from_dict(raw))
                else:
                    wf.raw_notes.append((i, copy.deepcopy(raw)))
        wf.extra = {k: copy.deepcopy(v) for k, v in data.items() if k not in _TOP_KEYS}
        return wf

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in (("format", FORMAT), ("version", VERSION)):
            # A file without the key stays without it: saving must not hide a problem
            # that ``studio validate`` reports for the file.
            if self.keys is None or key in self.keys:
                out[key] = copy.deepcopy(self.raw.get(key, value))
        if self.name is not None:
            out["name"] = self.name
        elif "name" in self.raw:
            out["name"] = copy.deepcopy(self.raw["name"])
        if self.inputs is not None:
            out["inputs"] = copy.deepcopy(self.inputs)
        elif "inputs" in self.raw:
            out["inputs"] = copy.deepcopy(self.raw["inputs"])
        nodes = _with_raw([n.to_dict() for n in self.nodes.values()], self.raw_nodes)
        if nodes or self.keys is None or "nodes" in self.keys:
            out["nodes"] = nodes
            if not nodes and "nodes" in self.raw:
                out["nodes"] = copy.deepcopy(self.raw["nodes"])
        edges = _with_raw([e.to_dict() for e in self.edges], self.raw_edges)
        if edges or self.keys is None or "edges" in self.keys:
            out["edges"] = edges
            if not edges and "edges" in self.raw:
                out["edges"] = copy.deepcopy(self.raw["edges"])
        if self.notes is not None:
            out["notes"] = _with_raw([n.to_dict() for n in self.notes], self.raw_notes)
        elif "notes" in self.raw:
            out["notes"] = copy.deepcopy(self.raw["notes"])
        out.update(copy.deepcopy(self.extra))
        return _in_order(out, self.keys)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def load(cls, path: str | Path) -> Workflow:
        """Read a workflow file; raises ``WorkflowFileError`` with one line when unreadable."""
        p = Path(path)
        return cls.from_dict(read_json_file(p), path=p.resolve())

    def save(self, path: str | Path | None = None) -> Path:
        """Write the file atomically (write beside, then rename)."""
        target = Path(path) if path is not None else self.path
        if target is None:
            raise WorkflowFileError("no file name to save the workflow to")
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(self.to_json(), encoding="utf-8")
        tmp.replace(target)
        self.path = target.resolve()
        return target

    @property
    def folder(self) -> Path:
        """The folder that relative paths in params resolve against."""
        return self.path.parent if self.path is not None else Path.cwd()

    # -- queries -----------------------------------------------------------------------

    def graph(self) -> nx.MultiDiGraph:
        """The workflow as a networkx graph (node ids; edges keyed by ports)."""
        import networkx as nx  # here, not at the top: the CLI starts faster without it

        g: nx.MultiDiGraph = nx.MultiDiGraph()
        g.add_nodes_from(self.nodes)
        for e in self.edges:
            if e.source in self.nodes and e.target in self.nodes:
                g.add_edge(e.source, e.target, key=(e.source_port, e.target_port))
        return g

    def edges_into(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.target == node_id]

    def edges_from(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.source == node_id]

    def edge_into(self, node_id: str, port: str) -> Edge | None:
        return next((e for e in self.edges if e.target == node_id and e.target_port == port), None)

    def would_cycle(self, source: str, target: str) -> bool:
        """Whether an edge source → target would close a cycle."""
        if source == target:
            return True
        import networkx as nx

        g = self.graph()
        return target in g and source in g and nx.has_path(g, target, source)

    def new_id(self, base: str) -> str:
        """A fresh node id derived from ``base`` (``math``, ``math_2``, …)."""
        stem = re.sub(r"[^A-Za-z0-9_-]", "_", base) or "node"
        if not re.match(r"[A-Za-z_]", stem[0]):
            stem = "n_" + stem
        if stem not in self.nodes:
            return stem
        i = 2
        while f"{stem}_{i}" in self.nodes:
            i += 1
        return f"{stem}_{i}"

    def breakpoints(self) -> list[str]:
        return [n.id for n in self.nodes.values() if n.breakpoint]

    def copy(self) -> Workflow:
        wf = Workflow.from_dict(self.to_dict(), path=self.path)
        return wf

    # -- edits (each tells the listeners) ----------------------------------------------

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _emit(self, event: str, payload: Any) -> None:
        for listener in list(self._listeners):
            listener(event, payload)

    def add_node(self, node: Node, index: int | None = None) -> None:
        if node.id in self.nodes:
            raise ValueError(f"node id {node.id!r} is already used")
        items = list(self.nodes.items())
        items.insert(len(items) if index is None else index, (node.id, node))
        self.nodes = dict(items)
        self._emit("node_added", node)

    def remove_node(self, node_id: str) -> tuple[Node, int, list[tuple[int, Edge]]]:
        """Remove a node and its edges; returns what is needed to put them back."""
        index = list(self.nodes).index(node_id)
        removed_edges = [(i, e) for i, e in enumerate(self.edges) if node_id in (e.source, e.target)]
        for _, e in reversed(removed_edges):
            self.remove_edge(e)
        node = self.nodes.pop(node_id)
        self._emit("node_removed", node)
        return node, index, removed_edges

    def add_edge(self, edge: Edge, index: int | None = None) -> None:
        self.edges.insert(len(self.edges) if index is None else index, edge)
        self._emit("edge_added", edge)

    def remove_edge(self, edge: Edge) -> int:
        index = self.edges.index(edge)
        del self.edges[index]
        self._emit("edge_removed", edge)
        return index

    def set_param(self, node_id: str, name: str, value: Any) -> None:
        """Set a param; ``value`` of ``...`` (Ellipsis) removes the key."""
        node = self.nodes[node_id]
        node.raw.pop("params", None)
        if value is ...:
            node.params.pop(name, None)
        else:
            node.params[name] = copy.deepcopy(value)
        self._emit("node_changed", node)

    def set_label(self, node_id: str, label: str | None) -> None:
        self.nodes[node_id].label = label
        self.nodes[node_id].raw.pop("label", None)
        self._emit("node_changed", self.nodes[node_id])

    def move_node(self, node_id: str, position: tuple[float, float]) -> None:
        self.nodes[node_id].position = (position[0], position[1])
        self.nodes[node_id].raw.pop("position", None)
        self._emit("node_moved", self.nodes[node_id])

    def set_breakpoint(self, node_id: str, on: bool) -> None:
        self.nodes[node_id].breakpoint = on
        self.nodes[node_id].raw.pop("breakpoint", None)
        self._emit("node_changed", self.nodes[node_id])

    def add_note(self, note: Note, index: int | None = None) -> None:
        if self.notes is None:
            self.notes = []
        self.notes.insert(len(self.notes) if index is None else index, note)
        self._emit("note_added", note)

    def remove_note(self, note: Note) -> int:
        assert self.notes is not None
        index = next(i for i, n in enumerate(self.notes) if n is note)
        del self.notes[index]
        self._emit("note_removed", note)
        return index

    def change_note(self, note: Note, text: str | None = None, position: Iterable[float] | None = None) -> None:
        if text is not None:
            note.text = text
            note.raw.pop("text", None)
        if position is not None:
            x, y = position
            note.position = (x, y)
            note.raw.pop("position", None)
        self._emit("note_changed", note)


def read_json_file(path: str | Path) -> Any:
    """Read and parse a JSON file; every failure is one clean line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorkflowFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise WorkflowFileError(f"{path}: is a folder, not a workflow file") from None
    except UnicodeDecodeError:
        raise WorkflowFileError(f"{path}: not a UTF-8 text file") from None
    except OSError as exc:
        raise WorkflowFileError(f"{path}: cannot read ({exc.strerror})") from None
    if not text.strip():
        raise WorkflowFileError(f"{path}: file is empty")
    try:
        data = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise WorkflowFileError(
            f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise WorkflowFileError(f"{path}: invalid JSON: nested too deeply") from None
    except ValueError as exc:  # too many digits, NaN, Infinity
        raise WorkflowFileError(f"{path}: invalid JSON: {str(exc).split(';')[0]}") from None
    if not isinstance(data, dict):
        raise WorkflowFileError(f"{path}: the top level must be a JSON object, not {_json_kind(data)}")
    return data


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:20]} is too large")
    return value


def _json_kind(value: Any) -> str:
    return {list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )




def _text_of(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _in_order(out: dict[str, Any], keys: tuple[str, ...] | None) -> dict[str, Any]:
    """``out`` with the keys a file had first, in the file's order, then any new keys."""
    if not keys:
        return out
    ordered = {k: out[k] for k in keys if k in out}
    ordered.update((k, v) for k, v in out.items() if k not in ordered)
    return ordered


def _with_raw(items: list[Any], raw: list[tuple[int, Any]]) -> list[Any]:
    """Put back items the model could not represent, at their places in the file."""
    out = list(items)
    for index, value in raw:
        out.insert(min(index, len(out)), copy.deepcopy(value))
    return out


def _plain_number(v: float) -> float | int:
    return int(v) if isinstance(v, float) and v.is_integer() else v
