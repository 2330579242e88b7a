"""The expression language: a small, safe subset of Python expressions.

Parsing and checking use ``ast`` (nothing is executed); evaluation uses the
``simpleeval`` library with our own limits on sizes and powers.
"""

from __future__ import annotations

import ast
import json
import math
import operator
import threading
from typing import Any

import simpleeval

from studio.errors import NodeError

FUNCTIONS: dict[str, Any] = {
    "abs": abs,
    "min": min,
    "max": max,
    "round": round,
    "len": len,
    "sum": sum,
    "sorted": sorted,
    "str": str,
    "int": int,
    "float": float,
}
CONSTANTS = {"True": True, "False": False, "None": None}
MAX_RESULT_BYTES = 10 * 1024 * 1024
MAX_POWER_BITS = 1_000_000
MAX_SECONDS = 1.0

_ALLOWED_NODES = (
    ast.Expression, ast.Constant, ast.Name, ast.Load, ast.List, ast.Tuple, ast.Dict,
    ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Subscript, ast.Slice,
    ast.Call,
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow,
    ast.USub, ast.UAdd, ast.Not, ast.And, ast.Or,
    ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot,
)


def check(expr: Any) -> list[str]:
    """Problems with an expression's text (empty when it is allowed)."""
    if not isinstance(expr, str):
        return []
    if not expr.strip():
        return ["expression is empty"]
    if len(expr) > 10_000:
        return ["expression is longer than 10,000 characters"]
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError as exc:
        return [f"expression does not parse: {exc.msg} (column {exc.offset})"]
    except (ValueError, RecursionError, MemoryError):
        return ["expression does not parse"]
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            return [f"expression uses attribute access '.{node.attr}', which is not allowed"]
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            return [f"expression uses the name '{node.id}', which is not allowed"]
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                what = node.func.id if isinstance(node.func, ast.Name) else "that"
                allowed = " ".join(FUNCTIONS)
                return [f"expression calls '{what}', only these calls are allowed: {allowed}"]
            if node.keywords:
                return ["expression passes keyword arguments, which are not allowed"]
        if not isinstance(node, _ALLOWED_NODES):
            return [f"expression uses {type(node).__name__}, which is not allowed"]
    return []


def _safe_pow(a: Any, b: Any) -> Any:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if abs(a) > 1 and b > 0:
            bits = b * math.log2(abs(a))
            if bits > MAX_POWER_BITS:
                raise NodeError(f"power too large ({a} ** {b})")
    return operator.pow(a, b)


def _safe_mult(a: Any, b: Any) -> Any:
    for seq, n in ((a, b), (b, a)):
        if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and len(seq) * n > MAX_RESULT_BYTES:
            raise NodeError("result too large (over 10 MB)")
    return operator.mul(a, b)


def _safe_add(a: Any, b: Any) -> Any:
    if isinstance(a, (str, list, tuple)) and isinstance(b, (str, list, tuple)):
        if len(a) + len(b) > MAX_RESULT_BYTES:
            raise NodeError("result too large (over 10 MB)")
    return operator.add(a, b)


def evaluate(expr: str, names: dict[str, Any]) -> Any:
    """Evaluate an allowed expression with ``names``; every failure is a ``NodeError``."""
    problems = check(expr)
    if problems:
        raise NodeError(problems[0])
    operators = dict(simpleeval.DEFAULT_OPERATORS)
    operators.update({ast.Pow: _safe_pow, ast.Mult: _safe_mult, ast.Add: _safe_add})
    evaluator = simpleeval.EvalWithCompoundTypes(
        operators=operators, functions=FUNCTIONS, names={**names, **CONSTANTS}
    )
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["value"] = evaluator.eval(expr.strip())
        except NodeError as exc:
            outcome["error"] = str(exc)
        except simpleeval.NameNotDefined as exc:
            outcome["error"] = f"unknown name '{exc.name}' (use a, b, c or a run input)"
        except simpleeval.InvalidExpression as exc:
            outcome["error"] = str(exc)
        except ZeroDivisionError:
            outcome["error"] = "division by zero"
        except (TypeError, ValueError, KeyError, IndexError, OverflowError) as exc:
            outcome["error"] = f"{type(exc).__name__}: {exc}"
        except (MemoryError, RecursionError):
            outcome["error"] = "expression needs too much memory"

    # A worker thread bounds the time: simpleeval cannot be interrupted, but our
    # limits keep any single operation small, so an abandoned thread ends soon.
    worker = threading.Thread(target=work, daemon=True, name="expression")
    worker.start()
    worker.join(MAX_SECONDS)
    if worker.is_alive():
        raise NodeError(f"expression took more than {MAX_SECONDS:g} second")
    if "error" in outcome:
        raise NodeError(f"expression failed: {outcome['error']}")
    value = outcome.get("value")
    if isinstance(value, tuple):
        value = list(value)
    try:
        size = len(json.dumps(value))
    except (TypeError, ValueError):
        return value  # the engine reports values JSON cannot hold
    if size > MAX_RESULT_BYTES:
        raise NodeError("expression result too large (over 10 MB)")
    return value
