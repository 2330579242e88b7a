"""Row expressions: the safe expression language compiled to Polars column expressions.

``price * units`` or ``row["unit price"] > 5 and city == "Oslo"`` become one
Polars expression that works on whole columns at once; no Python runs per row.
The text is checked by ``safe_expr.check`` first (same sandbox as node
expressions: no attributes, no dunders, only the listed calls).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import polars as pl

from studio.errors import NodeError


@dataclass
class _Value:
    """A compiled operand: its expression, and the Python value when it is a literal."""

    expr: pl.Expr
    literal: bool = False
    value: Any = None
    dtype: Any = None  # the column's dtype when the operand is a plain column


def compile_expr(text: str, schema: Mapping[str, Any], names: Mapping[str, Any]) -> pl.Expr:
    """The Polars expression for ``text``; columns by name, then run inputs as constants."""
    return _compile(text, schema, names)[0]


def _compile(text: str, schema: Mapping[str, Any], names: Mapping[str, Any],
             empty: frozenset[str] = frozenset()) -> tuple[pl.Expr, list[pl.Expr]]:
    from studio.nodes import safe_expr  # (studio.nodes imports the table nodes, which import this)

    problems = safe_expr.check(text)
    if problems:
        raise NodeError(problems[0])
    tree = ast.parse(text.strip(), mode="eval")
    compiler = _Compiler(schema, names, empty)
    result = compiler.value(tree.body)
    if result.literal and isinstance(result.value, (list, dict)):
        raise NodeError("a row expression must give one value per row, not a list or an object")
    return result.expr, compiler.overflow


#: Whole-number results must stay within 64 bits (beyond, they would wrap around).
_INT_LIMIT = 9.2e18


def evaluate(df: pl.DataFrame, text: str, names: Mapping[str, Any]) -> pl.Series:
    """The expression over every row of ``df`` (a one-line failure when it cannot be)."""
    # A column with no values at all is text by the reading rules, but computing with it
    # should give missing cells, not a kind error: its cells are plain missing values here.
    empty = frozenset(c for c in df.columns if df.height and df[c].null_count() == df.height)
    expr, overflow = _compile(text, df.schema, names, empty)
    try:
        found = df.select(expr.alias("__result__"), *(o.any().alias(f"__over{i}__") for i, o in enumerate(overflow)))
    except (pl.exceptions.PolarsError, OverflowError, ValueError, TypeError) as exc:
        raise NodeError(f"expression failed: {_polars_message(exc)}") from None
    if any(found[f"__over{i}__"][0] for i in range(len(overflow))):
        raise NodeError("expression failed: a whole number would be too large (over 9.2e18); "
                        "use float(...) to compute with decimals")
    out = found["__result__"]
    if out.dtype.is_float() and bool(out.is_infinite().any()):
        raise NodeError("expression failed: a result is too large (beyond about 1.8e308)")
    if out.len() != df.height:  # a constant expression: one value for every row
        out = pl.select(pl.repeat(out[0] if out.len() else None, df.height, dtype=out.dtype)).to_series()
    return out


def _polars_message(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    if "cannot compare" in first or "arithmetic" in first or "not supported" in first or "cannot" in first:
        return " ".join(first.split()) + " (a column holds another kind of value than the expression expects)"
    return " ".join(first.split())


def _literal(value: Any) -> _Value:
    if isinstance(value, (list, tuple)):
        return _Value(pl.lit(None), literal=True, value=list(value))
    if isinstance(value, dict):
        return _Value(pl.lit(None), literal=True, value=value)
    if isinstance(value, int) and not isinstance(value, bool):
        if not -(2**63) <= value < 2**63:
            raise NodeError("expression failed: a whole number would be too large (over 9.2e18)")
        return _Value(pl.lit(value, dtype=pl.Int64), literal=True, value=value, dtype=pl.Int64)
    if isinstance(value, float):
        return _Value(pl.lit(value), literal=True, value=value, dtype=pl.Float64)
    if isinstance(value, str):
        return _Value(pl.lit(value), literal=True, value=value, dtype=pl.String)
    return _Value(pl.lit(value), literal=True, value=value)


class _Compiler:
    def __init__(self, schema: Mapping[str, Any], names: Mapping[str, Any],
                 empty: frozenset[str] = frozenset()) -> None:
        self.schema = schema
        self.names = names
        self.empty = empty
        #: Conditions that mean a whole-number result went beyond 64 bits (checked after).
        self.overflow: list[pl.Expr] = []

    def column(self, name: str) -> _Value:
        if name not in self.schema:
            cols = ", ".join(self.schema) or "none"
            raise NodeError(f"no column '{name}' (columns: {cols})")
        if name in self.empty:
            return _Value(pl.lit(None), dtype=pl.Null)
        return _Value(pl.col(name), dtype=self.schema[name])

    def value(self, node: ast.AST) -> _Value:
        method: Callable[[Any], _Value] | None = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise NodeError(f"expression uses {type(node).__name__}, which row expressions do not support")
        return method(node)

    def _Constant(self, node: ast.Constant) -> _Value:  # noqa: N802 - named after the ast class
        return _literal(node.value)

    def _Name(self, node: ast.Name) -> _Value:  # noqa: N802
        if node.id in self.schema:
            return self.column(node.id)
        if node.id in self.names:
            return _literal(self.names[node.id])
        if node.id in ("True", "False", "None"):
            return _literal({"True": True, "False": False, "None": None}[node.id])
        if node.id == "row":
            raise NodeError('use row["column name"] to reach a column')
        cols = ", ".join(self.schema) or "none"
        raise NodeError(f"unknown name '{node.id}' (columns: {cols})")

    def _Subscript(self, node: ast.Subscript) -> _Value:  # noqa: N802
        if isinstance(node.value, ast.Name) and node.value.id == "row" and "row" not in self.schema:
            key = node.slice
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                return self.column(key.value)
            raise NodeError('row[...] needs a column name in quotes, like row["unit price"]')
        base = self.value(node.value)
        if base.literal and isinstance(base.value, (list, str, dict)):
            index = self.value(node.slice)
            if index.literal:
                try:
                    return _literal(base.value[index.value])
                except (IndexError, KeyError, TypeError):
                    raise NodeError("index not found in the value") from None
        raise NodeError('indexing in a row expression works as row["column"] (use substring for text)')

    def _List(self, node: ast.List) -> _Value:  # noqa: N802
        items = [self.value(e) for e in node.elts]
        if not all(i.literal for i in items):
            raise NodeError("a list in a row expression can only hold fixed values")
        return _literal([i.value for i in items])

    _Tuple = _List

    def _UnaryOp(self, node: ast.UnaryOp) -> _Value:  # noqa: N802
        operand = self.value(node.operand)
        if isinstance(node.op, ast.Not):
            return _Value(~operand.expr, dtype=pl.Boolean)
        if operand.literal and isinstance(operand.value, (int, float)) and not isinstance(operand.value, bool):
            return _literal(-operand.value if isinstance(node.op, ast.USub) else operand.value)
        if isinstance(node.op, ast.USub):
            return _Value(-operand.expr, dtype=operand.dtype)
        return _Value(operand.expr, dtype=operand.dtype)

    def _BoolOp(self, node: ast.BoolOp) -> _Value:  # noqa: N802
        parts = [self.value(v).expr for v in node.values]
        result = parts[0]
        for part in parts[1:]:
            result = result & part if isinstance(node.op, ast.And) else result | part
        return _Value(result)

    def _BinOp(self, node: ast.BinOp) -> _Value:  # noqa: N802
        left, right = self.value(node.left), self.value(node.right)
        a, b = left.expr, right.expr
        op = node.op
        both_int = _is_int(left.dtype) and _is_int(right.dtype)
        if isinstance(op, (ast.Add, ast.Sub, ast.Mult)):
            combine = {ast.Add: lambda x, y: x + y, ast.Sub: lambda x, y: x - y,
                       ast.Mult: lambda x, y: x * y}[type(op)]
            if both_int:
                self.overflow.append(combine(a.cast(pl.Float64), b.cast(pl.Float64)).abs() >= _INT_LIMIT)
                return _Value(combine(a, b), dtype=pl.Int64)
            dtype: Any = pl.Float64 if (_is_number(left.dtype) and _is_number(right.dtype)) else None
            if isinstance(op, ast.Add) and left.dtype == pl.String and right.dtype == pl.String:
                dtype = pl.String
            return _Value(combine(a, b), dtype=dtype)
        if isinstance(op, (ast.Div, ast.FloorDiv, ast.Mod)):
            # Dividing by zero gives a missing cell, not infinity.
            if isinstance(op, ast.Div):
                result = a.cast(pl.Float64) / b
            elif isinstance(op, ast.FloorDiv):
                result = a // b
            else:
                result = a % b
            return _Value(pl.when(b == 0).then(None).otherwise(result))
        if isinstance(op, ast.Pow):
            if both_int and right.literal and right.value >= 0:
                self.overflow.append(a.cast(pl.Float64).pow(b).abs() >= _INT_LIMIT)
                return _Value(a.pow(b), dtype=pl.Int64)
            return _Value(a.cast(pl.Float64).pow(b), dtype=pl.Float64)
        raise NodeError(f"row expressions do not support {type(op).__name__}")

    def _Compare(self, node: ast.Compare) -> _Value:  # noqa: N802
        result: pl.Expr | None = None
        left = self.value(node.left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self.value(comparator)
            part = self.compare(op, left, right)
            result = part if result is None else result & part
            left = right
        assert result is not None
        return _Value(result)

    def compare(self, op: ast.cmpop, left: _Value, right: _Value) -> pl.Expr:
        if isinstance(op, (ast.In, ast.NotIn)):
            if right.literal and isinstance(right.value, list):
                values = [_coerce(v, left.dtype) for v in right.value]
                found = left.expr.is_in(pl.Series(values).implode()) if values else pl.lit(False)
                found = pl.when(left.expr.is_null()).then(None).otherwise(found)
            elif left.literal and isinstance(left.value, str):
                found = _text(right).str.contains(left.value, literal=True)
            else:
                raise NodeError(
                    "'in' needs a fixed list on its right (city in [\"Oslo\", \"Bern\"]) "
                    "or fixed text on its left (\"x\" in code)"
                )
            return ~found if isinstance(op, ast.NotIn) else found
        if isinstance(op, (ast.Is, ast.IsNot)):
            if not (right.literal and right.value is None):
                raise NodeError("'is' only works as 'is None' (use is_missing(x))")
            return left.expr.is_null() if isinstance(op, ast.Is) else left.expr.is_not_null()
        a, b = left.expr, right.expr
        if right.literal and left.dtype is not None:
            b = pl.lit(_coerce(right.value, left.dtype))
        if left.literal and right.dtype is not None:
            a = pl.lit(_coerce(left.value, right.dtype))
        if isinstance(op, ast.Eq):
            return a == b
        if isinstance(op, ast.NotEq):
            return a != b
        if isinstance(op, ast.Lt):
            return a < b
        if isinstance(op, ast.LtE):
            return a <= b
        if isinstance(op, ast.Gt):
            return a > b
        return a >= b

    def _IfExp(self, node: ast.IfExp) -> _Value:  # noqa: N802
        test, body, orelse = self.value(node.test), self.value(node.body), self.value(node.orelse)
        # A missing condition gives a missing cell (not the else side).
        return _Value(pl.when(test.expr.is_null()).then(None).when(test.expr).then(body.expr)
                      .otherwise(orelse.expr))

    def _Call(self, node: ast.Call) -> _Value:  # noqa: N802
        assert isinstance(node.func, ast.Name)
        name = node.func.id
        args = [self.value(a) for a in node.args]
        make = _FUNCTIONS.get(name)
        if make is None:
            raise NodeError(f"'{name}' cannot be used in a row expression")
        try:
            return _Value(make(*args), dtype=_RESULT_KINDS.get(name))
        except TypeError:
            raise NodeError(f"{name}() got the wrong number of values") from None


def _coerce(value: Any, dtype: Any) -> Any:
    """A literal read in the column's kind (``"2008-01-01"`` on a date column is a date)."""
    if not isinstance(value, str) or dtype is None:
        return value
    try:
        if dtype == pl.Date:
            return date.fromisoformat(value)
        if isinstance(dtype, pl.Datetime):
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed
    except ValueError:
        raise NodeError(f"'{value}' is not a date like 2024-05-01") from None
    return value


def _text(v: _Value) -> pl.Expr:
    return v.expr if v.dtype is None or v.dtype == pl.String else v.expr.cast(pl.String)


def _lit_text(v: _Value, what: str) -> str:
    if not v.literal or not isinstance(v.value, str):
        raise NodeError(f"{what} must be fixed text in quotes")
    return v.value


def _int_arg(v: _Value, what: str) -> int:
    if not v.literal or isinstance(v.value, bool) or not isinstance(v.value, int):
        raise NodeError(f"{what} must be a whole number")
    return v.value


def _date_part(part: str) -> Callable[[_Value], pl.Expr]:
    def make(v: _Value) -> pl.Expr:
        expr = v.expr
        if v.dtype == pl.Null:
            return pl.lit(None, dtype=pl.Int64)
        if v.dtype == pl.String:
            expr = expr.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
        return getattr(expr.dt, part)().cast(pl.Int64)
    return make


def _is_int(dtype: Any) -> bool:
    return dtype is not None and dtype.is_integer()


def _is_number(dtype: Any) -> bool:
    return dtype is not None and dtype.is_numeric()


def _horizontal(pick: Callable[[list[pl.Expr]], pl.Expr]) -> Callable[..., pl.Expr]:
    """min/max over several values: missing when any value is missing (as other operations)."""
    def make(*values: _Value) -> pl.Expr:
        exprs = [v.expr for v in values]
        return pl.when(pl.any_horizontal([e.is_null() for e in exprs])).then(None).otherwise(pick(exprs))
    return make


def _round(v: _Value, digits: _Value | None = None) -> pl.Expr:
    if digits is None:
        return v.expr.round(0).cast(pl.Int64)
    places = _int_arg(digits, "round()'s digits")
    if not 0 <= places <= 15:
        raise NodeError("round() digits must be between 0 and 15 in a row expression")
    return v.expr.round(places)


def _substring(v: _Value, start: _Value, length: _Value | None = None) -> pl.Expr:
    return _text(v).str.slice(_int_arg(start, "substring()'s start"),
                              None if length is None else _int_arg(length, "substring()'s length"))


def _sum(*values: _Value) -> pl.Expr:
    if len(values) == 1 and values[0].literal and isinstance(values[0].value, list):
        return pl.lit(sum(values[0].value))
    return pl.sum_horizontal([v.expr for v in values])


def _no_rows(name: str) -> Callable[..., pl.Expr]:
    def make(*args: _Value) -> pl.Expr:
        raise NodeError(f"{name}() does not work on a table's rows")
    return make


_FUNCTIONS: dict[str, Callable[..., pl.Expr]] = {
    "abs": lambda v: v.expr.abs(),
    "min": _horizontal(pl.min_horizontal),
    "max": _horizontal(pl.max_horizontal),
    "round": _round,
    "len": lambda v: _text(v).str.len_chars().cast(pl.Int64),
    "length": lambda v: _text(v).str.len_chars().cast(pl.Int64),
    "sum": _sum,
    "sorted": _no_rows("sorted"),
    "str": lambda v: _text(v),
    "int": lambda v: (v.expr.str.strip_chars() if v.dtype == pl.String else v.expr).cast(pl.Int64),
    "float": lambda v: (v.expr.str.strip_chars() if v.dtype == pl.String else v.expr).cast(pl.Float64),
    "upper": lambda v: _text(v).str.to_uppercase(),
    "lower": lambda v: _text(v).str.to_lowercase(),
    "trim": lambda v: _text(v).str.strip_chars(),
    "replace": lambda v, old, new: _text(v).str.replace_all(
        _lit_text(old, "replace()'s text to find"), _lit_text(new, "replace()'s new text"), literal=True),
    "contains": lambda v, part: _text(v).str.contains(_lit_text(part, "contains()'s text"), literal=True),
    "starts_with": lambda v, part: _text(v).str.starts_with(_lit_text(part, "starts_with()'s text")),
    "ends_with": lambda v, part: _text(v).str.ends_with(_lit_text(part, "ends_with()'s text")),
    "substring": _substring,
    "is_missing": lambda v: v.expr.is_null(),
    "coalesce": lambda *vs: pl.coalesce([v.expr for v in vs]),
    "year": _date_part("year"),
    "month": _date_part("month"),
    "day": _date_part("day"),
    "today": lambda: pl.lit(date.today()),
}

#: What some functions give, so that operations on their results know the kind.
_RESULT_KINDS: dict[str, Any] = {
    "today": pl.Date, "year": pl.Int64, "month": pl.Int64, "day": pl.Int64, "len": pl.Int64,
    "length": pl.Int64, "upper": pl.String, "lower": pl.String, "trim": pl.String, "replace": pl.String,
    "substring": pl.String, "str": pl.String, "int": pl.Int64, "float": pl.Float64,
    "contains": pl.Boolean, "starts_with": pl.Boolean, "ends_with": pl.Boolean, "is_missing": pl.Boolean,
}
