"""The workflow model: file round trip, file errors, edit events, no Qt below the UI."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import studio.nodes
from studio.errors import StudioError, WorkflowFileError
from studio.model import Edge, Node, Note, Workflow, read_json_file, validate_data

EXAMPLE_NAMES = ["hello", "csv-report", "debugging-demo", "orders-report"]


def write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


# -- round trip ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_examples_round_trip(examples: Path, tmp_path: Path, name: str) -> None:
    source = examples / f"{name}.flow.json"
    original = json.loads(source.read_text(encoding="utf-8"))
    wf = Workflow.load(source)
    target = tmp_path / "saved.flow.json"
    wf.save(target)
    saved = json.loads(target.read_text(encoding="utf-8"))
    assert saved == original
    # same key order, same node order
    assert list(saved) == list(original)
    assert [n["id"] for n in saved["nodes"]] == [n["id"] for n in original["nodes"]]
    for a, b in zip(saved["nodes"], original["nodes"], strict=True):
        assert list(a) == list(b)
    # saving again gives the very same text
    text = target.read_text(encoding="utf-8")
    Workflow.load(target).save(target)
    assert target.read_text(encoding="utf-8") == text


def test_params_saved_exactly_and_unknown_keys_kept(tmp_path: Path) -> None:
    data = {
        "author": {"name": "Ada", "tags": ["x"]},
        "format": "studio.workflow",
        "version": 1,
        "nodes": [
            {"type": "math", "id": "m", "params": {"op": "add", "a": 1, "b": 2.5},
             "color": "red", "x-meta": [1, {"k": None}]},
            {"id": "c", "type": "constant", "params": {}},
            {"id": "d", "type": "delay", "params": {"seconds": 1.0}},
            {"id": "n", "type": "text"},
        ],
        "edges": [
            {"target": "d", "target_port": "value", "source": "c", "source_port": "value",
             "style": "dashed"},
        ],
        "zzz": 1,
        "notes": [{"text": "t", "position": [1.5, -2], "color": "yellow"}, {"text": "no position"}],
    }
    path = write(tmp_path / "in.flow.json", data)
    wf = Workflow.load(path)
    # no defaults were added to params
    assert wf.nodes["c"].params == {}
    assert wf.nodes["d"].params == {"seconds": 1.0}
    out = tmp_path / "out.flow.json"
    wf.save(out)
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert saved == data
    assert list(saved) == list(data)
    assert [list(n) for n in saved["nodes"]] == [list(n) for n in data["nodes"]]
    assert list(saved["edges"][0]) == list(data["edges"][0])


def test_new_workflow_writes_a_complete_file(tmp_path: Path) -> None:
    wf = Workflow(name="New")
    wf.add_node(Node("c", "constant", {"value": 1}, position=(10.0, 20.0)))
    wf.add_node(Node("l", "log"))
    wf.add_edge(Edge("c", "value", "l", "value"))
    wf.add_note(Note("hello", (1.0, 2.5)))
    path = wf.save(tmp_path / "new.flow.json")
    data = read_json_file(path)
    assert data == {
        "format": "studio.workflow",
        "version": 1,
        "name": "New",
        "nodes": [
            {"id": "c", "type": "constant", "params": {"value": 1}, "position": [10, 20]},
            {"id": "l", "type": "log", "params": {}},
        ],
        "edges": [{"source": "c", "source_port": "value", "target": "l", "target_port": "value"}],
        "notes": [{"text": "hello", "position": [1, 2.5]}],
    }
    assert validate_data(data, studio.nodes.specs()) == []
    assert wf.path == path.resolve()
    assert not list(tmp_path.glob("*.tmp"))


def test_a_file_with_problems_loses_nothing_on_save(tmp_path: Path) -> None:
    """Files with problems can be opened; saving them keeps every byte of content."""
    data = {
        "format": "studio.workflow",
        "version": 2,
        "name": 5,
        "inputs": [1],
        "nodes": [
            {"id": "a", "type": "constant", "params": {"value": 1}, "label": 3, "position": "here",
             "breakpoint": "yes"},
            {"id": "a", "type": "log", "params": {}},
            {"id": 7, "type": "log"},
            "junk",
            {"id": "b", "type": ["x"], "params": []},
        ],
        "edges": [{"source": "a"}, 3, {"source": "a", "source_port": "value", "target": "b",
                                       "target_port": "value"}],
        "notes": [{"text": 5, "position": None}, "x"],
    }
    path = write(tmp_path / "bad.flow.json", data)
    wf = Workflow.load(path)
    assert list(wf.nodes) == ["a"]
    wf.save()
    assert json.loads(path.read_text(encoding="utf-8")) == data
    specs = studio.nodes.specs()
    assert validate_data(wf.to_dict(), specs) == validate_data(data, specs)


def test_edits_replace_bad_values(tmp_path: Path) -> None:
    data = {"format": "studio.workflow", "version": 1,
            "nodes": [{"id": "a", "type": "constant", "label": 3, "position": "x", "params": [1]}]}
    wf = Workflow.from_dict(data)
    wf.set_label("a", "A")
    wf.move_node("a", (1.0, 2.0))
    wf.set_param("a", "value", 9)
    node = wf.to_dict()["nodes"][0]
    assert node == {"id": "a", "type": "constant", "label": "A", "position": [1, 2], "params": {"value": 9}}


def test_from_dict_refuses_non_objects() -> None:
    with pytest.raises(WorkflowFileError):
        Workflow.from_dict([])  # type: ignore[arg-type]


def test_copy_is_independent() -> None:
    wf = Workflow.from_dict({"format": "studio.workflow", "version": 1,
                             "nodes": [{"id": "a", "type": "constant", "params": {"value": [1]}}]})
    other = wf.copy()
    other.set_param("a", "value", [2])
    assert wf.nodes["a"].params == {"value": [1]}
    assert other.to_dict() != wf.to_dict()


# -- reading files -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, ["no such file"]),
        (b"", ["empty"]),
        (b"   \n\t ", ["empty"]),
        (b'{"format": ', ["invalid JSON", "line 1"]),
        (b'{"a": 1,\n "b": }', ["invalid JSON", "line 2"]),
        (b"[1, 2]", ["object", "list"]),
        (b'"text"', ["object"]),
        (b"42", ["object"]),
        (b"null", ["object"]),
        (b"\xff\xfe\x00\x00", ["UTF-8"]),
        (b"[" * 100_000, ["JSON"]),
        (b'{"a": NaN}', ["NaN"]),
        (b'{"a": -Infinity}', ["Infinity"]),
        (b'{"a": 1e999}', ["too large"]),
        (b'{"a": ' + b"1" * 5000 + b"}", ["digits"]),
    ],
)
def test_read_json_file_errors_are_one_line(tmp_path: Path, content: bytes | None, words: list[str]) -> None:
    path = tmp_path / "w.flow.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(WorkflowFileError) as info:
        read_json_file(path)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    assert "w.flow.json" in message
    for word in words:
        assert word in message
    assert isinstance(info.value, StudioError) and info.value.exit_code == 2
    with pytest.raises(WorkflowFileError):
        Workflow.load(path)


def test_read_a_folder(tmp_path: Path) -> None:
    with pytest.raises(WorkflowFileError) as info:
        read_json_file(tmp_path)
    assert "folder" in str(info.value)


def test_read_json_file_ok(tmp_path: Path) -> None:
    path = write(tmp_path / "ok.json", {"a": [1, "é", 2.5]})
    assert read_json_file(path) == {"a": [1, "é", 2.5]}
    assert read_json_file(str(path)) == {"a": [1, "é", 2.5]}


def test_load_resolves_relative_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub" / "w.flow.json", {"format": "studio.workflow", "version": 1, "nodes": []})
    monkeypatch.chdir(tmp_path)
    wf = Workflow.load("sub/w.flow.json")
    assert wf.folder == (tmp_path / "sub").resolve()


# -- edit events -------------------------------------------------------------------------


def test_edit_methods_tell_listeners() -> None:
    wf = Workflow()
    events: list[tuple[str, Any]] = []

    def listener(event: str, payload: Any) -> None:
        events.append((event, payload))

    wf.subscribe(listener)
    a, b = Node("a", "constant", {"value": 1}), Node("b", "log")
    wf.add_node(a)
    wf.add_node(b, index=0)
    assert list(wf.nodes) == ["b", "a"]
    edge = Edge("a", "value", "b", "value")
    wf.add_edge(edge)
    wf.set_param("a", "value", 2)
    wf.set_param("a", "value", ...)
    assert "value" not in wf.nodes["a"].params
    wf.set_label("a", "A")
    wf.move_node("a", (5, 6))
    wf.set_breakpoint("a", True)
    assert wf.breakpoints() == ["a"]
    note = Note("n")
    wf.add_note(note)
    wf.change_note(note, text="m", position=(1, 2))
    assert wf.remove_note(note) == 0
    removed, index, removed_edges = wf.remove_node("a")
    assert removed is a and index == 1 and removed_edges == [(0, edge)]
    assert wf.edges == []

    assert [e for e, _ in events] == [
        "node_added", "node_added", "edge_added", "node_changed", "node_changed", "node_changed",
        "node_moved", "node_changed", "note_added", "note_changed", "note_removed",
        "edge_removed", "node_removed",
    ]
    assert events[0][1] is a and events[1][1] is b and events[2][1] == edge
    assert all(p is a for e, p in events[3:8])
    assert events[8][1] is note and note.text == "m" and note.position == (1, 2)

    wf.unsubscribe(listener)
    wf.add_node(Node("c", "constant"))
    assert len(events) == 13


def test_edit_helpers() -> None:
    wf = Workflow()
    wf.add_node(Node("math", "math"))
    wf.add_node(Node("x", "math"))
    wf.add_edge(Edge("math", "result", "x", "a"))
    assert wf.new_id("math") == "math_2"
    assert wf.new_id("3d view") == "n_3d_view"
    assert wf.would_cycle("x", "math") and wf.would_cycle("x", "x")
    assert not wf.would_cycle("math", "x")
    assert wf.edge_into("x", "a") == Edge("math", "result", "x", "a")
    assert wf.edges_from("math") == wf.edges_into("x") == wf.edges
    with pytest.raises(ValueError):
        wf.add_node(Node("x", "log"))
    g = wf.graph()
    assert set(g.nodes) == {"math", "x"} and g.has_edge("math", "x")


# -- layers without Qt -------------------------------------------------------------------


def test_non_gui_layers_import_without_pyside6() -> None:
    modules = ["studio.errors", "studio.model", "studio.nodes"]
    modules += [
        name
        for name in ("studio.engine", "studio.store", "studio.api", "studio.cli")
        if importlib.util.find_spec(name) is not None
    ]
    code = (
        "import sys, importlib\n"
        "sys.modules['PySide6'] = None\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "import studio.nodes, studio.model\n"
        "assert len(studio.nodes.specs()) >= 18\n"
        "bad = sorted(m for m in sys.modules if m.startswith(('PySide6', 'shiboken')) and sys.modules[m])\n"
        "assert not bad, bad\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
