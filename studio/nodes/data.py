"""Built-in node types for files and tables."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import re
import statistics
from pathlib import Path
from typing import Any

from studio.model.spec import NodeSpec, ParamSpec, PortSpec
from studio.model.types import format_number, is_table
from studio.nodes.base import NodeContext, NodeType, fail
from studio.nodes.core import COMPARE_NAMES, compare_values

FORMATS = ("text", "json", "csv")
AGGREGATE_FUNCS = ("count", "sum", "mean", "min", "max")
_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")


def parse_cell(text: str) -> Any:
    """A CSV cell: numbers become numbers, everything else stays text."""
    stripped = text.strip()
    if re.match(r"^[+-]?0\d", stripped):
        return text  # codes such as 007 or 01234 keep their leading zeros
    if _INT.match(stripped) and len(stripped) < 300:
        return int(stripped)
    if _FLOAT.match(stripped):
        value = float(stripped)
        if math.isfinite(value):
            return value
    return text


def _format(params: dict[str, Any], path: Path) -> str:
    fmt = params.get("format")
    if fmt:
        if fmt not in FORMATS:
            raise fail(f"unknown format {fmt!r} (use text, json or csv)")
        return str(fmt)
    suffix = path.suffix.lower().lstrip(".")
    return suffix if suffix in FORMATS else "text"


def _read_file(inputs: dict[str, Any], params: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
    path = ctx.resolve(params["path"])
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise fail(f"file not found: {path}") from None
    except IsADirectoryError:
        raise fail(f"{path} is a folder, not a file") from None
    except UnicodeDecodeError:
        raise fail(f"{path} is not a UTF-8 text file") from None
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:  # e.g. a NUL character in the path
        raise fail(f"cannot read {path!r}: {exc}") from None
    fmt = _format(params, path)
    if fmt == "json":
        try:
            return {"data": json.loads(text)}
        except json.JSONDecodeError as exc:
            raise fail(f"{path.name} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(text))
        rows = []
        for line_no, row in enumerate(reader, start=2):
            if None in row:
                raise fail(f"{path.name} line {line_no} has more cells than the header")
            rows.append({k: parse_cell(v) if v is not None else "" for k, v in row.items()})
        return {"data": rows}
    return {"data": text}


def _write_file(inputs: dict[str, Any], params: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
    path = ctx.resolve(params["path"])
    data = inputs["data"]
    fmt = _format(params, path)
    if fmt == "json":
        try:
            text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        except (TypeError, ValueError) as exc:
            raise fail(f"data cannot be written as JSON: {exc}") from None
    elif fmt == "csv":
        if not is_table(data):
            raise fail("csv format needs a table (a list of objects with the same keys)")
        buffer = io.StringIO()
        columns = list(data[0]) if data else []
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in data:
            writer.writerow({k: _cell_text(v) for k, v in row.items()})
        text = buffer.getvalue()
    else:
        text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except (OSError, ValueError) as exc:
        with contextlib.suppress(OSError, ValueError):
            tmp.unlink(missing_ok=True)  # best effort: the write already failed
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise fail(f"cannot write {path}: {reason}") from None
    return {"path": str(path)}


def _cell_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return format_number(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)


def _table(inputs: dict[str, Any]) -> list[dict[str, Any]]:
    table: Any = inputs.get("table")
    if not is_table(table):
        raise fail("input 'table' must be a table (a list of objects with the same keys)")
    return list(table)


def _column(table: list[dict[str, Any]], column: Any) -> None:
    if table and column not in table[0]:
        raise fail(f"no column '{column}' (columns: {', '.join(map(str, table[0]))})")


def _filter_rows(inputs: dict[str, Any], params: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
    table, column = _table(inputs), params["column"]
    _column(table, column)
    op, value = params["op"], params.get("value")
    return {"table": [row for row in table if compare_values(op, row[column], value)]}


def _sort_rows(inputs: dict[str, Any], params: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
    table, column = _table(inputs), params["column"]
    _column(table, column)
    try:
        ordered = sorted(table, key=lambda row: row[column], reverse=bool(params.get("descending")))
    except TypeError:
        raise fail(
            f"column '{column}' mixes kinds of values (such as numbers and text), so it cannot be sorted"
        ) from None
    return {"table": ordered}


def _aggregate(inputs: dict[str, Any], params: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
    table, column, func = _table(inputs), params["column"], params["func"]
    if func not in AGGREGATE_FUNCS:
        raise fail(f"unknown aggregate func {func!r}")
    group_by = params.get("group_by") or None
    _column(table, column)
    if group_by:
        _column(table, group_by)
    groups: dict[Any, list[Any]] = {}
    for row in table:
        key = row[group_by] if group_by else None
        if isinstance(key, (list, dict)):
            key = json.dumps(key, sort_keys=True)
        groups.setdefault(key, []).append(row[column])
    result_name = f"{func}_{column}" if func != "count" else "count"
    rows = []
    for key, values in groups.items():
        out: dict[str, Any] = {group_by: key} if group_by else {}
        out[result_name] = _reduce(func, column, values)
        rows.append(out)
    if not group_by and not rows:
        rows = [{result_name: _reduce(func, column, [])}]
    return {"table": rows}


def _reduce(func: str, column: str, values: list[Any]) -> Any:
    if func == "count":
        return len(values)
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if len(numbers) != len(values):
        raise fail(f"column '{column}' has values that are not numbers, so '{func}' cannot use it")
    if not numbers:
        return 0 if func == "sum" else None
    if func == "sum":
        return sum(numbers)
    if func == "mean":
        return statistics.fmean(numbers)
    return min(numbers) if func == "min" else max(numbers)


DATA_NODES = [
    NodeType(
        NodeSpec(
            "read_file", "Read file", "Files", "Reads a text, JSON or CSV file (CSV becomes a table).",
            outputs=(PortSpec("data", "any"),),
            params=(
                ParamSpec("path", "path", required=True, default=""),
                ParamSpec("format", "text", choices=FORMATS, description="text, json or csv; from the file name when not set"),
            ),
        ),
        _read_file,
    ),
    NodeType(
        NodeSpec(
            "write_file", "Write file", "Files", "Writes data to a text, JSON or CSV file.",
            inputs=(PortSpec("data", "any"),),
            outputs=(PortSpec("path", "text"),),
            params=(
                ParamSpec("path", "path", required=True, default=""),
                ParamSpec("format", "text", choices=FORMATS, description="text, json or csv; from the file name when not set"),
            ),
        ),
        _write_file,
    ),
    NodeType(
        NodeSpec(
            "filter_rows", "Filter rows", "Tables", "Keeps the rows whose column compares true with a value.",
            inputs=(PortSpec("table", "table"),),
            outputs=(PortSpec("table", "table"),),
            params=(
                ParamSpec("column", "text", required=True, default=""),
                ParamSpec("op", "text", required=True, default="gt", choices=COMPARE_NAMES),
                ParamSpec("value", "any", required=True, default=0),
            ),
        ),
        _filter_rows,
    ),
    NodeType(
        NodeSpec(
            "sort_rows", "Sort rows", "Tables", "Sorts the rows of a table by one column.",
            inputs=(PortSpec("table", "table"),),
            outputs=(PortSpec("table", "table"),),
            params=(
                ParamSpec("column", "text", required=True, default=""),
                ParamSpec("descending", "bool", default=False),
            ),
        ),
        _sort_rows,
    ),
    NodeType(
        NodeSpec(
            "aggregate", "Aggregate", "Tables",
            "Counts, sums or averages a column, optionally per group.",
            inputs=(PortSpec("table", "table"),),
            outputs=(PortSpec("table", "table"),),
            params=(
                ParamSpec("column", "text", required=True, default=""),
                ParamSpec("func", "text", required=True, default="sum",
                          choices=AGGREGATE_FUNCS),
                ParamSpec("group_by", "text"),
            ),
        ),
        _aggregate,
    ),
]
