"""Built-in node types for values, logic, timing and logging."""

from __future__ import annotations

import json
import math
import operator
import re
import time
from collections.abc import Callable
from typing import Any

from studio.model.spec import NodeSpec, ParamSpec, PortSpec
from studio.model.types import format_number, is_frame
from studio.nodes import safe_expr
from studio.nodes.base import Cancelled, NodeContext, NodeType, fail

Inputs = dict[str, Any]
Params = dict[str, Any]


def _input(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, Any]:
    name = params["name"]
    if name in ctx.run_inputs:
        return {"value": ctx.run_inputs[name]}
    if "default" in params:
        return {"value": params["default"]}
    raise fail(f"run input '{name}' is not given and the node has no default")


def _constant(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, Any]:
    return {"value": params.get("value")}


def _div(a: float, b: float) -> float:
    if b == 0:
        raise fail("division by zero")
    result = a / b
    return int(result) if isinstance(a, int) and isinstance(b, int) and result.is_integer() else result


def _mod(a: float, b: float) -> float:
    if b == 0:
        raise fail("modulo by zero")
    return a % b


def _pow(a: float, b: float) -> float:
    if abs(a) > 1 and b > 0 and (
        b > safe_expr.MAX_POWER_BITS or b * math.log2(abs(a)) > safe_expr.MAX_POWER_BITS
    ):
        raise fail(f"power too large ({format_number(a)} ** {format_number(b)})")
    if a == 0 and b < 0:
        raise fail("zero cannot be raised to a negative power")
    result = a**b
    if isinstance(result, complex):
        raise fail(f"{a} ** {b} has no real result")
    return result


MATH_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": _div,
    "pow": _pow,
    "mod": _mod,
    "min": min,
    "max": max,
}
COMPARE_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}


def _number(value: Any, port: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise fail(f"input '{port}' must be a number (got {_kind(value)})")
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _math(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, Any]:
    op = params.get("op")
    if op not in MATH_OPS:
        raise fail(f"unknown math op {op!r}")
    a, b = _number(inputs.get("a"), "a"), _number(inputs.get("b"), "b")
    try:
        result = MATH_OPS[op](a, b)
    except OverflowError:
        raise fail("number too large") from None
    if isinstance(result, float) and not math.isfinite(result):
        raise fail("result is not a finite number")
    return {"result": result}


def compare_values(op: str, a: Any, b: Any) -> bool:
    """Compare two values; ordering values of different kinds is a clear failure."""
    if op not in COMPARE_OPS:
        raise fail(f"unknown compare op {op!r}")
    try:
        return bool(COMPARE_OPS[op](a, b))
    except TypeError:
        raise fail(f"cannot compare {_kind(a)} with {_kind(b)} using '{op}'") from None


def _compare(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, Any]:
    return {"result": compare_values(params["op"], as_json(inputs["a"]), as_json(inputs["b"]))}


def as_json(value: Any) -> Any:
    """A table as its JSON rows (what expressions and paths see); other values as they are."""
    if is_frame(value):
        from studio.tables.frame import to_rows

        return to_rows(value)
    return value


def _expression(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, Any]:
    names: dict[str, Any] = dict(ctx.run_inputs)
    names.update({k: as_json(inputs[k]) for k in ("a", "b", "c") if k in inputs})
    return {"result": safe_expr.evaluate(params["expr"], names)}


_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _text(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, Any]:
    values = inputs.get("values")
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise fail(f"input 'values' must be an object of names and values (got {_kind(values)})")

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if key in values:
            value = values[key]
        elif key in ctx.run_inputs:
            value = ctx.run_inputs[key]
        else:
            raise fail(f"template names '{{{key}}}' but no value or run input has that name")
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return format_number(value)
        if isinstance(value, str):
            return value
        return json.dumps(as_json(value), ensure_ascii=False, default=str)

    return {"text": _PLACEHOLDER.sub(fill, params["template"])}


def get_path(data: Any, path: str) -> Any:
    """Follow a dotted path (``a.b.0``) into objects and lists."""
    value = data
    walked: list[str] = []
    for part in [p for p in str(path).split(".") if p != ""]:
        walked.append(part)
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and re.fullmatch(r"-?\d+", part) and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            raise fail(f"path '{'.'.join(walked)}' not found in the data")
    return value


def _get_field(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, Any]:
    return {"value": get_path(as_json(inputs.get("data")), params.get("path", ""))}


def _branch(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, Any]:
    side = "true" if inputs["condition"] else "false"
    return {side: inputs.get("value")}


def _merge(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, Any]:
    if "a" in inputs:
        return {"value": inputs["a"]}
    return {"value": inputs.get("b")}


def _check(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, Any]:
    if not inputs["condition"]:
        raise fail(params.get("message") or "check failed")
    return {"value": inputs.get("value")}


#: Longest single wait ``Event.wait`` accepts everywhere (longer waits loop).
_MAX_WAIT = 3600.0


def _delay(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, Any]:
    seconds = params.get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise fail(f"param 'seconds' must be a number (got {_kind(seconds)})")
    if not math.isfinite(seconds) or seconds < 0:
        raise fail(f"param 'seconds' must be a finite number of seconds, not {seconds}")
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if ctx.cancel.wait(min(max(left, 0.0), _MAX_WAIT)):
            raise Cancelled()
        if left <= _MAX_WAIT:
            break
    return {"value": inputs.get("value")}


def _fail(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, Any]:
    raise fail(params.get("message") or "this node always fails")


def _log(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, Any]:
    value = inputs.get("value")
    message = params.get("message") or ""
    shown = value if isinstance(value, str) else _short_json(value)
    ctx.log(f"{message} {shown}".strip() if message else shown)
    return {"value": value}


def _short_json(value: Any) -> str:
    if is_frame(value):
        rows, cols = value.shape
        return f"a table of {rows:,} rows and {cols} columns ({', '.join(value.columns[:8])})"
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 2000 else text[:1997] + "..."


ANY_IN = PortSpec("value", "any", required=False)
NUMBER_OPS = tuple(MATH_OPS)
COMPARE_NAMES = tuple(COMPARE_OPS)

CORE_NODES = [
    NodeType(
        NodeSpec(
            "input", "Input", "Values", "Reads a run input by name, or its default when the run has none.",
            outputs=(PortSpec("value", "any"),),
            params=(ParamSpec("name", "text", required=True), ParamSpec("default", "any")),
        ),
        _input,
    ),
    NodeType(
        NodeSpec(
            "constant", "Constant", "Values", "Gives a fixed value you type in.",
            outputs=(PortSpec("value", "any"),),
            params=(ParamSpec("value", "any", required=True, default=""),),
        ),
        _constant,
    ),
    NodeType(
        NodeSpec(
            "math", "Math", "Values", "Adds, subtracts, multiplies or divides two numbers.",
            inputs=(PortSpec("a", "number", default=0), PortSpec("b", "number", default=0)),
            outputs=(PortSpec("result", "number"),),
            params=(ParamSpec("op", "text", required=True, default="add", choices=NUMBER_OPS),),
        ),
        _math,
    ),
    NodeType(
        NodeSpec(
            "compare", "Compare", "Logic", "Compares two values and gives true or false.",
            inputs=(PortSpec("a", "any"), PortSpec("b", "any")),
            outputs=(PortSpec("result", "bool"),),
            params=(ParamSpec("op", "text", required=True, default="eq", choices=COMPARE_NAMES),),
        ),
        _compare,
    ),
    NodeType(
        NodeSpec(
            "expression", "Expression", "Values",
            "Computes a formula from a, b, c and the run inputs, like a spreadsheet cell.",
            inputs=(PortSpec("a", "any", False), PortSpec("b", "any", False), PortSpec("c", "any", False)),
            outputs=(PortSpec("result", "any"),),
            params=(ParamSpec("expr", "expression", required=True, default="a"),),
            param_checks=(lambda params: safe_expr.check(params.get("expr")),),
        ),
        _expression,
    ),
    NodeType(
        NodeSpec(
            "text", "Text", "Values", "Fills a template like 'Hello {name}' with values.",
            inputs=(PortSpec("values", "object", default={}),),
            outputs=(PortSpec("text", "text"),),
            params=(ParamSpec("template", "text", required=True, default="Hello {name}"),),
        ),
        _text,
    ),
    NodeType(
        NodeSpec(
            "get_field", "Get field", "Values", "Picks one value out of a structure by a path like 'a.b.0'.",
            inputs=(PortSpec("data", "any"),),
            outputs=(PortSpec("value", "any"),),
            params=(ParamSpec("path", "text", required=True, default=""),),
        ),
        _get_field,
    ),
    NodeType(
        NodeSpec(
            "branch", "Branch", "Logic", "Sends the value out on the true or the false side only.",
            inputs=(PortSpec("condition", "bool"), PortSpec("value", "any")),
            outputs=(PortSpec("true", "any"), PortSpec("false", "any")),
        ),
        _branch,
    ),
    NodeType(
        NodeSpec(
            "merge", "Merge", "Logic", "Joins two paths again: gives a if it arrived, else b.",
            inputs=(PortSpec("a", "any", False), PortSpec("b", "any", False)),
            outputs=(PortSpec("value", "any"),),
        ),
        _merge,
    ),
    NodeType(
        NodeSpec(
            "check", "Check", "Logic", "Stops the run with a message when the condition is false.",
            inputs=(PortSpec("value", "any"), PortSpec("condition", "bool")),
            outputs=(PortSpec("value", "any"),),
            params=(ParamSpec("message", "text", default="check failed"),),
        ),
        _check,
    ),
    NodeType(
        NodeSpec(
            "delay", "Delay", "Flow", "Waits a number of seconds, then passes the value on.",
            inputs=(ANY_IN,),
            outputs=(PortSpec("value", "any"),),
            params=(ParamSpec("seconds", "number", required=True, default=1),),
        ),
        _delay,
    ),
    NodeType(
        NodeSpec(
            "fail", "Fail", "Flow", "Always fails with a message; handy to try out recovery.",
            inputs=(ANY_IN,),
            params=(ParamSpec("message", "text", default="this node always fails"),),
        ),
        _fail,
    ),
    NodeType(
        NodeSpec(
            "log", "Log", "Flow", "Writes the value to the run log and passes it on.",
            inputs=(PortSpec("value", "any"),),
            outputs=(PortSpec("value", "any"),),
            params=(ParamSpec("message", "text", default=""),),
        ),
        _log,
    ),
]
