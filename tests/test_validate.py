"""Validation: every case of CONTRACT section 1, one line each, and never a traceback."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import studio.nodes
from studio.model import NodeSpec, PortSpec, Workflow, can_connect, read_json_file, validate_data
from studio.model.types import PORT_TYPES

SPECS = studio.nodes.specs()


def base() -> dict[str, Any]:
    """A small valid workflow: constant -> math -> text -> log, with an expression."""
    return {
        "format": "studio.workflow",
        "version": 1,
        "name": "Base",
        "inputs": {"threshold": 10},
        "nodes": [
            {"id": "c", "type": "constant", "params": {"value": 2}, "position": [0, 0]},
            {"id": "m", "type": "math", "params": {"op": "add", "b": 3}},
            {"id": "t", "type": "text", "params": {"template": "Total {x}", "values": {"x": 1}}},
            {"id": "e", "type": "expression", "params": {"expr": "a * 2 + threshold"}},
            {"id": "l", "type": "log", "label": "Show", "params": {"message": "got"},
             "breakpoint": False},
        ],
        "edges": [
            {"source": "c", "source_port": "value", "target": "m", "target_port": "a"},
            {"source": "m", "source_port": "result", "target": "e", "target_port": "a"},
            {"source": "e", "source_port": "result", "target": "l", "target_port": "value"},
        ],
        "notes": [{"text": "hi", "position": [0, -80]}],
    }


def node(data: dict[str, Any], node_id: str) -> dict[str, Any]:
    return next(n for n in data["nodes"] if n["id"] == node_id)


def problems_of(change: Callable[[dict[str, Any]], Any]) -> list[str]:
    data = base()
    change(data)
    found = validate_data(data, SPECS)
    for line in found:
        assert isinstance(line, str) and line and "\n" not in line, line
    # Validation of the model's save gives the same answer as the file itself.
    assert validate_data(Workflow.from_dict(copy.deepcopy(data)).to_dict(), SPECS) == found
    return found


def only_problem(change: Callable[[dict[str, Any]], Any], *words: str) -> str:
    found = problems_of(change)
    assert len(found) == 1, found
    for word in words:
        assert word in found[0], (word, found[0])
    return found[0]


def test_base_is_valid() -> None:
    assert problems_of(lambda d: None) == []


@pytest.mark.parametrize("name", ["hello", "csv-report", "debugging-demo", "orders-report"])
def test_examples_validate_clean(examples: Path, name: str) -> None:
    data = read_json_file(examples / f"{name}.flow.json")
    assert validate_data(data, SPECS) == []


def test_top_level_must_be_an_object() -> None:
    for data in ([], "x", 1, None):
        found = validate_data(data, SPECS)
        assert len(found) == 1 and "object" in found[0]


# -- format and version -------------------------------------------------------------------


@pytest.mark.parametrize("value", ["studio.flow", "", None, 1, ["studio.workflow"]])
def test_bad_format(value: Any) -> None:
    only_problem(lambda d: d.__setitem__("format", value), "format")


def test_missing_format() -> None:
    only_problem(lambda d: d.pop("format"), "format")


@pytest.mark.parametrize("value", [2, 0, "1", None, True, 1.5])
def test_bad_version(value: Any) -> None:
    only_problem(lambda d: d.__setitem__("version", value), "version")


def test_missing_version() -> None:
    only_problem(lambda d: d.pop("version"), "version")


# -- nodes --------------------------------------------------------------------------------


def test_unknown_node_type() -> None:
    only_problem(lambda d: node(d, "t").__setitem__("type", "teleport"), "'t'", "teleport", "type")


def test_duplicate_id() -> None:
    def dup(d: dict[str, Any]) -> None:
        d["nodes"].append({"id": "t", "type": "constant", "params": {"value": 1}})

    only_problem(dup, "'t'", "duplicate")


@pytest.mark.parametrize("bad_id", ["1abc", "-x", "a b", "a.b", "", "a\n", "ünï", 7, None])
def test_bad_id(bad_id: Any) -> None:
    def change(d: dict[str, Any]) -> None:
        d["nodes"].append({"id": bad_id, "type": "constant", "params": {"value": 1}})

    line = only_problem(change, "id")
    assert "node #6" in line


@pytest.mark.parametrize("good_id", ["a", "_x", "A-1_b", "node_2"])
def test_good_ids(good_id: str) -> None:
    assert problems_of(
        lambda d: d["nodes"].append({"id": good_id, "type": "constant", "params": {"value": 1}})
    ) == []


def test_nodes_missing_or_not_a_list() -> None:
    only_problem(lambda d: (d.pop("nodes"), d.pop("edges")), "nodes")
    assert any("nodes" in p for p in problems_of(lambda d: d.__setitem__("nodes", {"a": 1})))


def test_node_not_an_object() -> None:
    only_problem(lambda d: d["nodes"].append("oops"), "node #6")


@pytest.mark.parametrize(
    ("key", "value", "word"),
    [("params", [1], "params"), ("label", 5, "label"), ("breakpoint", "yes", "breakpoint"),
     ("position", [1], "position"), ("position", ["a", "b"], "position")],
)
def test_bad_node_fields(key: str, value: Any, word: str) -> None:
    only_problem(lambda d: node(d, "c").__setitem__(key, value), "'c'", word)


# -- edges --------------------------------------------------------------------------------


def test_edge_to_missing_node() -> None:
    def change(d: dict[str, Any]) -> None:
        d["edges"].append({"source": "c", "source_port": "value", "target": "ghost", "target_port": "a"})

    only_problem(change, "edge c.value -> ghost.a", "'ghost'")


def test_edge_from_missing_node() -> None:
    def change(d: dict[str, Any]) -> None:
        d["edges"].append({"source": "ghost", "source_port": "x", "target": "t", "target_port": "values"})

    only_problem(change, "ghost.x -> t.values", "'ghost'")


def test_edge_to_missing_input_port() -> None:
    def change(d: dict[str, Any]) -> None:
        d["edges"].append({"source": "c", "source_port": "value", "target": "t", "target_port": "nope"})

    only_problem(change, "c.value -> t.nope", "'t'", "input", "'nope'")


def test_edge_from_missing_output_port() -> None:
    def change(d: dict[str, Any]) -> None:
        d["edges"].append({"source": "c", "source_port": "out", "target": "t", "target_port": "values"})

    only_problem(change, "c.out -> t.values", "'c'", "output", "'out'")


def test_edge_with_odd_names_stays_one_line() -> None:
    def change(d: dict[str, Any]) -> None:
        d["edges"].append(
            {"source": "c", "source_port": "value", "target": "x\ny", "target_port": "p\rq"}
        )

    only_problem(change, "no node")


@pytest.mark.parametrize("edge", [{"source": "c"}, "c->t", 5, {"source": 1, "source_port": "value",
                                                              "target": "t", "target_port": "values"}])
def test_malformed_edge(edge: Any) -> None:
    only_problem(lambda d: d["edges"].append(edge), "edge #4")


def test_edges_not_a_list() -> None:
    found = problems_of(lambda d: d.__setitem__("edges", {"a": 1}))
    assert found[0] == "'edges' must be a list"
    # without its edges, the inputs they fed are reported too
    assert any("'m'" in p and "'a'" in p for p in found)


def test_two_edges_into_one_input() -> None:
    def change(d: dict[str, Any]) -> None:
        d["nodes"].append({"id": "c2", "type": "constant", "params": {"value": 5}})
        d["edges"].append({"source": "c2", "source_port": "value", "target": "m", "target_port": "a"})

    only_problem(change, "c2.value -> m.a", "'m.a'", "already")


def test_incompatible_port_types() -> None:
    # compare.result (bool) into math.b (number)
    def change(d: dict[str, Any]) -> None:
        d["nodes"].append({"id": "cmp", "type": "compare", "params": {"op": "eq", "a": 1, "b": 1}})
        d["edges"].append({"source": "cmp", "source_port": "result", "target": "m", "target_port": "b"})

    only_problem(change, "cmp.result -> m.b", "incompatible", "bool", "number")


def test_text_into_number_refused() -> None:
    def change(d: dict[str, Any]) -> None:
        d["edges"].append({"source": "t", "source_port": "text", "target": "m", "target_port": "b"})

    only_problem(change, "t.text -> m.b", "incompatible", "text", "number")


def test_number_into_text_allowed() -> None:
    # No built-in input is text-typed, so use a node type that has one.
    shout = NodeSpec("shout", "Shout", "Test", "Shouts.", inputs=(PortSpec("t", "text"),),
                     outputs=(PortSpec("t", "text"),))
    specs = {**SPECS, "shout": shout}
    data = base()
    data["nodes"].append({"id": "s", "type": "shout", "params": {}})
    data["edges"].append({"source": "m", "source_port": "result", "target": "s", "target_port": "t"})
    assert validate_data(data, specs) == []
    # and back: text into a number input is refused
    data["nodes"].append({"id": "m2", "type": "math", "params": {"op": "add", "a": 1}})
    data["edges"].append({"source": "s", "source_port": "t", "target": "m2", "target_port": "b"})
    found = validate_data(data, specs)
    assert len(found) == 1
    assert "s.t -> m2.b" in found[0] and "text" in found[0] and "number" in found[0]
    assert can_connect("number", "text")
    assert not can_connect("text", "number")


def test_port_type_rules() -> None:
    for t in PORT_TYPES:
        assert can_connect("any", t) and can_connect(t, "any") and can_connect(t, t)
    for src, dst in [("text", "number"), ("bool", "number"), ("list", "object"), ("object", "table"),
                     ("number", "bool"), ("text", "bool"), ("bool", "text")]:
        assert not can_connect(src, dst), (src, dst)


def test_any_output_connects_to_typed_inputs() -> None:
    def change(d: dict[str, Any]) -> None:
        d["edges"].append({"source": "c", "source_port": "value", "target": "m", "target_port": "b"})

    assert problems_of(change) == []


def test_cycle() -> None:
    # m -> e already exists; e -> m closes the loop (constant has no inputs to loop into)
    def change(d: dict[str, Any]) -> None:
        d["edges"].append({"source": "e", "source_port": "result", "target": "m", "target_port": "b"})

    line = only_problem(change, "cycle")
    assert "m -> e -> m" in line or "e -> m -> e" in line


def test_longer_cycle_names_every_node() -> None:
    def change(d: dict[str, Any]) -> None:
        d["nodes"].append({"id": "x", "type": "expression", "params": {"expr": "a"}})
        d["edges"].append({"source": "l", "source_port": "value", "target": "x", "target_port": "a"})
        d["edges"].append({"source": "x", "source_port": "result", "target": "m", "target_port": "b"})

    line = only_problem(change, "cycle")
    for node_id in ("m", "e", "l", "x"):
        assert f"{node_id} ->" in line


def test_self_loop_is_a_cycle() -> None:
    def change(d: dict[str, Any]) -> None:
        d["edges"].append({"source": "m", "source_port": "result", "target": "m", "target_port": "b"})

    only_problem(change, "cycle", "m -> m")


# -- inputs and params -----------------------------------------------------------------------


def test_missing_required_param() -> None:
    only_problem(lambda d: node(d, "t")["params"].pop("template"), "'t'", "template", "missing")


def test_missing_params_object_means_no_params() -> None:
    found = problems_of(lambda d: node(d, "t").pop("params"))
    assert found == [
        "node 't': input 'values' is not connected and not set in params",
        "node 't': missing required param 'template'",
    ]


def test_missing_required_unconnected_input() -> None:
    only_problem(lambda d: node(d, "m")["params"].pop("b"), "'m'", "'b'", "not connected")


def test_unconnected_input_set_in_params_is_fine() -> None:
    def change(d: dict[str, Any]) -> None:
        d["nodes"].append({"id": "solo", "type": "math", "params": {"op": "mul", "a": 2, "b": 4}})

    assert problems_of(change) == []


def test_input_param_of_wrong_type() -> None:
    only_problem(lambda d: node(d, "m")["params"].__setitem__("b", "three"), "'m'", "'b'", "number")


@pytest.mark.parametrize(
    ("node_id", "param", "value", "word"),
    [
        ("t", "template", 5, "text"),
        ("l", "message", ["x"], "text"),
        ("e", "expr", 3, "expression"),
    ],
)
def test_param_of_wrong_type(node_id: str, param: str, value: Any, word: str) -> None:
    only_problem(lambda d: node(d, node_id)["params"].__setitem__(param, value), f"'{node_id}'",
                 f"'{param}'", word)


def test_param_of_wrong_type_bool_and_number() -> None:
    def change(d: dict[str, Any]) -> None:
        d["nodes"].append({"id": "s", "type": "sort_rows", "params": {"column": "a", "descending": "yes",
                                                                        "table": []}})
        d["nodes"].append({"id": "w", "type": "delay", "params": {"seconds": "1"}})

    found = problems_of(change)
    assert len(found) == 2
    assert "'s'" in found[0] and "'descending'" in found[0] and "true or false" in found[0]
    assert "'w'" in found[1] and "'seconds'" in found[1] and "number" in found[1]


def test_empty_file_path() -> None:
    def change(d: dict[str, Any]) -> None:
        d["nodes"].append({"id": "r", "type": "read_file", "params": {"path": " "}})

    only_problem(change, "'r'", "'path'", "empty")


@pytest.mark.parametrize(
    ("type_name", "params", "param"),
    [
        ("math", {"op": "plus", "a": 1, "b": 2}, "op"),
        ("compare", {"op": "==", "a": 1, "b": 2}, "op"),
        ("read_file", {"path": "x", "format": "xml"}, "format"),
        ("aggregate", {"column": "x", "func": "mode", "table": []}, "func"),
        ("filter_rows", {"column": "x", "op": "like", "value": 1, "table": []}, "op"),
    ],
)
def test_value_outside_choices(type_name: str, params: dict[str, Any], param: str) -> None:
    def change(d: dict[str, Any]) -> None:
        d["nodes"].append({"id": "n", "type": type_name, "params": params})

    only_problem(change, "'n'", f"'{param}'", "must be one of")


@pytest.mark.parametrize(
    ("expr", "word"),
    [
        ("a +", "parse"),
        ("a.real", "attribute"),
        ("__import__('os')", "__import__"),
        ("open('x')", "open"),
        ("getattr(a, 'x')", "getattr"),
        ("[x for x in a]", "comprehension"),
        ("lambda: 1", "lambda"),
        ("", "empty"),
    ],
)
def test_bad_expression(expr: str, word: str) -> None:
    only_problem(lambda d: node(d, "e")["params"].__setitem__("expr", expr), "'e'", word)


def test_validation_never_executes_anything(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    data = base()
    node(data, "e")["params"]["expr"] = f"open({str(marker)!r}, 'w')"
    data["nodes"].append({"id": "w", "type": "write_file", "params": {"path": str(marker)},
                          })
    data["edges"].append({"source": "c", "source_port": "value", "target": "w", "target_port": "data"})
    assert validate_data(data, SPECS)
    assert not marker.exists()


def test_reports_every_problem() -> None:
    def change(d: dict[str, Any]) -> None:
        d["version"] = 7
        node(d, "t")["type"] = "nope"
        node(d, "m")["params"]["op"] = "plus"
        node(d, "e")["params"]["expr"] = "a.b"
        d["edges"].append({"source": "c", "source_port": "value", "target": "ghost", "target_port": "a"})

    found = problems_of(change)
    assert len(found) == 5
    assert any("version" in p for p in found)
    assert any("'t'" in p and "nope" in p for p in found)
    assert any("'m'" in p and "'op'" in p for p in found)
    assert any("'e'" in p and "attribute" in p for p in found)
    assert any("ghost" in p for p in found)


def test_bad_notes_name_inputs() -> None:
    only_problem(lambda d: d.__setitem__("notes", "x"), "notes")
    only_problem(lambda d: d["notes"].append(3), "note #2")
    only_problem(lambda d: d["notes"][0].__setitem__("text", 5), "note #1", "text")
    only_problem(lambda d: d.__setitem__("name", 5), "name")
    only_problem(lambda d: d.__setitem__("inputs", [1]), "inputs")


def test_unknown_keys_are_allowed() -> None:
    def change(d: dict[str, Any]) -> None:
        d["author"] = "me"
        node(d, "c")["color"] = "red"
        node(d, "c")["params"]["unused"] = 1
        d["edges"][0]["style"] = "dashed"

    assert problems_of(change) == []


# -- never a traceback ------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False) | st.text(max_size=6)
    | st.sampled_from(["c", "m", "t", "e", "l", "value", "result", "a", "b", "math", "text", "any"]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(
        st.sampled_from(["id", "type", "params", "source", "source_port", "target", "target_port",
                         "op", "expr", "value", "x"]) | st.text(max_size=4),
        children,
        max_size=4,
    ),
    max_leaves=12,
)


def _containers(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths to every dict and list inside ``value``."""
    found: list[tuple[Any, ...]] = []
    if isinstance(value, (dict, list)):
        found.append(path)
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for k, v in items:
            found.extend(_containers(v, (*path, k)))
    return found


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for k in path:
        value = value[k]
    return value


mutation = st.tuples(
    st.sampled_from(["delete", "replace", "add_node", "add_edge", "insert"]),
    st.integers(0, 10_000),
    st.integers(0, 10_000),
    json_values,
    st.sampled_from(sorted(SPECS)),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutation, min_size=1, max_size=6))
def test_random_mutations_never_raise(mutations: list[tuple[str, int, int, Any, str]]) -> None:
    data: Any = base()
    for kind, i, j, value, type_name in mutations:
        places = _containers(data)
        if not places:
            data = value
            continue
        target = _at(data, places[i % len(places)])
        if kind == "delete" and target:
            keys = list(target) if isinstance(target, dict) else list(range(len(target)))
            del target[keys[j % len(keys)]]
        elif kind == "replace":
            if target:
                keys = list(target) if isinstance(target, dict) else list(range(len(target)))
                target[keys[j % len(keys)]] = value
            else:
                data = value
        elif kind == "add_node" and isinstance(data, dict) and isinstance(data.get("nodes"), list):
            data["nodes"].append({"id": f"j{j % 7}", "type": type_name, "params": value
                                  if isinstance(value, dict) else {"x": value}})
        elif kind == "add_edge" and isinstance(data, dict) and isinstance(data.get("edges"), list):
            ids = ["c", "m", "t", "e", "l", f"j{i % 7}"]
            data["edges"].append({"source": ids[i % 6], "source_port": str(value)[:6],
                                  "target": ids[j % 6], "target_port": ["a", "b", "value", "x"][j % 4]})
        elif kind == "insert" and isinstance(target, dict):
            target[str(value)[:5]] = value
        elif kind == "insert" and isinstance(target, list):
            target.insert(j % (len(target) + 1), value)

    snapshot = json.dumps(data, sort_keys=True)
    found = validate_data(data, SPECS)
    assert isinstance(found, list) and all(isinstance(p, str) and "\n" not in p for p in found)
    assert json.dumps(data, sort_keys=True) == snapshot  # validation does not change the data
    if isinstance(data, dict):
        wf = Workflow.from_dict(data)
        saved = wf.to_dict()
        # what the model saves validates exactly like the file it came from
        assert validate_data(saved, SPECS) == found
        assert json.loads(json.dumps(saved)) == saved
        assert isinstance(Workflow.from_dict(saved).to_dict(), dict)
