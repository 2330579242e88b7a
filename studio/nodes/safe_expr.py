"""The expression language: a small, safe subset of Python expressions.

Parsing and checking use ``ast`` (nothing is executed); evaluation uses the
``simpleeval`` library with our own limits on sizes and powers.
"""

from __future__ import annotations

import ast
import math
import numbers
import operator
import threading
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

import simpleeval

from studio.errors import NodeError

MAX_RESULT_BYTES = 10 * 1024 * 1024
MAX_POWER_BITS = 1_000_000
MAX_SECONDS = 1.0
MAX_ROUND_DIGITS = 400
_TOO_LARGE = "result too large (over 10 MB)"


def estimate_size(value: Any, limit: int = MAX_RESULT_BYTES) -> int:
    """About how many bytes ``value`` takes as JSON; stops counting soon after ``limit``.

    Shared parts count every time they appear (as they would once written out),
    but are measured once, so ``[[big] * 1000] * 1000`` is cheap to measure.
    """
    try:
        return _size(value, limit, {})
    except RecursionError:
        return limit + 1


def _size(value: Any, budget: int, memo: dict[int, int]) -> int:
    if isinstance(value, str):
        return len(value) + 2
    if isinstance(value, bool) or value is None:
        return 5
    if isinstance(value, int):
        return value.bit_length() // 3 + 2
    if isinstance(value, float):
        return 8
    if isinstance(value, (list, tuple, set, frozenset, Mapping)):
        key = id(value)
        if key in memo:
            return memo[key]
        items: Any = value
        total = 2 + len(value)
        if isinstance(value, Mapping):
            items = [*value.keys(), *value.values()]
        for item in items:
            if total > budget:
                break
            total += _size(item, budget - total, memo)
        memo[key] = total
        return total
    if callable(value):
        raise NodeError("a function can only be called, not used as a value")
    if isinstance(value, (bytes, bytearray, complex)):
        raise NodeError(f"{type(value).__name__} values are not allowed")
    return 8


def _check_size(value: Any) -> Any:
    if estimate_size(value) > MAX_RESULT_BYTES:
        raise NodeError(_TOO_LARGE)
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real)


def _safe_str(*args: Any) -> str:
    if args:
        _check_size(args[0])
    return str(*args)


def _safe_round(number: Any, ndigits: Any = None) -> Any:
    if ndigits is not None and isinstance(ndigits, int) and abs(ndigits) > MAX_ROUND_DIGITS:
        raise NodeError(f"round() digits must be between -{MAX_ROUND_DIGITS} and {MAX_ROUND_DIGITS}")
    return round(number, ndigits)


def _safe_sum(values: Any, start: Any = 0) -> Any:
    items = list(values)
    if not all(_is_number(v) for v in [*items, start]):
        raise NodeError("sum() needs numbers")
    return sum(items, start)


def _text_arg(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise NodeError(f"{name}() needs text")
    return value


def _replace(text: Any, old: Any, new: Any) -> str:
    result = _text_arg(text, "replace").replace(_text_arg(old, "replace"), _text_arg(new, "replace"))
    return _check_size(result)  # type: ignore[no-any-return]


def _substring(text: Any, start: Any, length: Any = None) -> str:
    text = _text_arg(text, "substring")
    if not isinstance(start, int) or (length is not None and not isinstance(length, int)):
        raise NodeError("substring() needs whole numbers for its start and length")
    return text[start:] if length is None else text[start:start + max(length, 0)]


def _date_part(index: int, name: str) -> Callable[[Any], Any]:
    def part(value: Any) -> Any:
        if value is None:
            return None
        text = _text_arg(value, name)[:10]
        try:
            return [int(p) for p in date.fromisoformat(text).isoformat().split("-")][index]
        except ValueError:
            raise NodeError(f"{name}() needs a date like 2024-05-01 (got {_short(value)})") from None
    return part


def _coalesce(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": abs,
    "min": min,
    "max": max,
    "round": _safe_round,
    "len": len,
    "sum": _safe_sum,
    "sorted": sorted,
    "str": _safe_str,
    "int": int,
    "float": float,
    "upper": lambda s: _text_arg(s, "upper").upper(),
    "lower": lambda s: _text_arg(s, "lower").lower(),
    "trim": lambda s: _text_arg(s, "trim").strip(),
    "replace": _replace,
    "contains": lambda s, part: _text_arg(part, "contains") in _text_arg(s, "contains"),
    "starts_with": lambda s, part: _text_arg(s, "starts_with").startswith(_text_arg(part, "starts_with")),
    "ends_with": lambda s, part: _text_arg(s, "ends_with").endswith(_text_arg(part, "ends_with")),
    "length": len,
    "substring": _substring,
    "is_missing": lambda value: value is None,
    "coalesce": _coalesce,
    "year": _date_part(0, "year"),
    "month": _date_part(1, "month"),
    "day": _date_part(2, "day"),
    "today": lambda: date.today().isoformat(),
}
#: The only names an expression may call (the contract's lists, sections 2 and 2b).
ALLOWED_CALLS = frozenset(FUNCTIONS)
CONSTANTS = {"True": True, "False": False, "None": None}

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
        return [" ".join(f"expression does not parse: {exc.msg} (column {exc.offset})".split())]
    except (ValueError, RecursionError, MemoryError):
        return ["expression does not parse"]
    nodes = list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.Attribute):
            return [f"expression uses attribute access '.{node.attr}', which is not allowed"]
    for node in nodes:
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            return [f"expression uses the name '{node.id}', which is not allowed"]
    allowed = " ".join(sorted(ALLOWED_CALLS))
    for node in nodes:
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                return [f"expression calls something that is not a function name, only these calls are allowed: {allowed}"]
            if node.func.id not in ALLOWED_CALLS:
                return [f"expression calls '{node.func.id}', only these calls are allowed: {allowed}"]
            if node.keywords:
                return ["expression passes keyword arguments, which are not allowed"]
    for node in nodes:
        if isinstance(node, ast.Constant) and not isinstance(
            node.value, (str, int, float, bool, type(None))
        ):
            what = {bytes: "bytes", complex: "complex numbers"}.get(type(node.value), "'...'")
            return [f"expression uses {what}, which is not allowed"]
    for node in nodes:
        if not isinstance(node, _ALLOWED_NODES):
            return [f"expression uses {_NODE_WORDS.get(type(node).__name__, type(node).__name__)}, which is not allowed"]
    return []


_NODE_WORDS = {
    "Lambda": "a lambda",
    "ListComp": "a comprehension",
    "SetComp": "a comprehension",
    "DictComp": "a comprehension",
    "GeneratorExp": "a generator",
    "NamedExpr": "':='",
    "JoinedStr": "an f-string",
    "Set": "a set",
    "Starred": "'*'",
    "Await": "await",
    "Yield": "yield",
}


def _safe_pow(a: Any, b: Any) -> Any:
    if _is_number(a) and _is_number(b):
        if abs(a) > 1 and b > 0:
            if b > MAX_POWER_BITS or b * math.log2(abs(a)) > MAX_POWER_BITS:
                raise NodeError(f"power too large ({_short(a)} ** {_short(b)})")
        if a == 0 and b < 0:
            raise ZeroDivisionError
    result = operator.pow(a, b)
    if isinstance(result, complex):
        raise NodeError(f"{_short(a)} ** {_short(b)} has no real result")
    return result


def _safe_mult(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int):
        if a.bit_length() + b.bit_length() > MAX_POWER_BITS:
            raise NodeError("number too large")
        return a * b
    for seq, n in ((a, b), (b, a)):
        if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and n > 0:
            if n > MAX_RESULT_BYTES or estimate_size(seq) * n > MAX_RESULT_BYTES:
                raise NodeError(_TOO_LARGE)
    return operator.mul(a, b)


def _safe_add(a: Any, b: Any) -> Any:
    if isinstance(a, (str, list, tuple)) and isinstance(b, (str, list, tuple)):
        if estimate_size(a) + estimate_size(b) > MAX_RESULT_BYTES:
            raise NodeError(_TOO_LARGE)
    return operator.add(a, b)


def _safe_mod(a: Any, b: Any) -> Any:
    if isinstance(a, str):
        raise NodeError("'%' formatting of text is not allowed (use + and str())")
    return operator.mod(a, b)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 30 else text[:27] + "..."


def _one_line(text: str) -> str:
    return " ".join(text.split())


def evaluate(expr: str, names: dict[str, Any]) -> Any:
    """Evaluate an allowed expression with ``names``; every failure is a ``NodeError``."""
    problems = check(expr)
    if problems:
        raise NodeError(problems[0])
    if not isinstance(expr, str):
        raise NodeError("expression must be text")
    operators = dict(simpleeval.DEFAULT_OPERATORS)
    operators.update(
        {ast.Pow: _safe_pow, ast.Mult: _safe_mult, ast.Add: _safe_add, ast.Mod: _safe_mod}
    )
    evaluator = simpleeval.EvalWithCompoundTypes(
        operators=operators, functions=dict(FUNCTIONS), names={**names, **CONSTANTS}
    )
    # simpleeval adds list/tuple/dict/set to its functions; the language does not have them.
    evaluator.functions = dict(FUNCTIONS)
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            value = evaluator.eval(expr.strip())
            if isinstance(value, tuple):
                value = list(value)
            outcome["value"] = _check_size(value)
        except NodeError as exc:
            outcome["error"] = str(exc)
        except simpleeval.NameNotDefined as exc:
            outcome["error"] = f"unknown name '{exc.name}' (use a, b, c or a run input)"
        except simpleeval.InvalidExpression as exc:
            outcome["error"] = str(exc)
        except ZeroDivisionError:
            outcome["error"] = "division by zero"
        except (MemoryError, RecursionError):
            outcome["error"] = "expression needs too much memory"
        except Exception as exc:  # noqa: BLE001 - every failure is the node's failure
            outcome["error"] = f"{type(exc).__name__}: {exc}"

    # A worker thread bounds the time: simpleeval cannot be interrupted, but our
    # limits keep any single operation small, so an abandoned thread ends soon.
    worker = threading.Thread(target=work, daemon=True, name="expression")
    worker.start()
    worker.join(MAX_SECONDS)
    if worker.is_alive():
        raise NodeError(f"expression took more than {MAX_SECONDS:g} second")
    if "error" in outcome:
        raise NodeError(_one_line(f"expression failed: {outcome['error']}"))
    return outcome.get("value")
