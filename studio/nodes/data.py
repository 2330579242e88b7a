"""Built-in node types for files and tables (CONTRACT sections 2 and 2b).

Tables travel as Polars DataFrames; the work is in ``studio.tables``. A table
input may also arrive as JSON rows (from a ``constant``, an ``expression`` or
``--set``): it is turned into a table first.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.model.spec import NodeSpec, ParamSpec, PortSpec
from studio.model.types import is_frame
from studio.nodes import safe_expr
from studio.nodes.base import NodeContext, NodeType, fail, lazy_module
from studio.tables import names as ops_names
from studio.tables.names import DEFAULT_MISSING

if TYPE_CHECKING:
    from studio.tables import files, frame, ops
else:
    # Polars is imported on first use (by the first table node that runs), not at start-up.
    files, frame, ops = (lazy_module(f"studio.tables.{name}") for name in ("files", "frame", "ops"))

FORMATS = ("text", "json", "jsonl", "csv", "tsv", "excel", "parquet")
_EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".txt": "text", ".json": "json", ".jsonl": "jsonl",
               ".xlsx": "excel", ".parquet": "parquet"}
TABLE_FORMATS = ("jsonl", "csv", "tsv", "excel", "parquet")

Inputs = dict[str, Any]
Params = dict[str, Any]


def _format(params: Params, path: Path) -> str:
    fmt = params.get("format")
    if fmt:
        if fmt not in FORMATS:
            raise fail(f"unknown format {fmt!r} (use {', '.join(FORMATS)})")
        return str(fmt)
    return _EXTENSIONS.get(path.suffix.lower(), "text")


def _read_bytes(path: Path, *, check_only: bool = False) -> bytes:
    """The file's bytes (or, with ``check_only``, only that it can be opened), or a clear failure."""
    try:
        if check_only:
            with open(path, "rb"):
                return b""
        return path.read_bytes()
    except FileNotFoundError:
        raise fail(f"file not found: {path}") from None
    except IsADirectoryError:
        raise fail(f"{path} is a folder, not a file") from None
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:  # e.g. a NUL character in the path
        raise fail(f"cannot read {path!r}: {exc}") from None


def _csv_options(params: Params, fmt: str) -> files.CsvOptions:
    delimiter = params.get("delimiter") or ("\t" if fmt == "tsv" else None)
    missing = params.get("missing", DEFAULT_MISSING)
    if not isinstance(missing, list | tuple) or not all(isinstance(m, str) for m in missing):
        raise fail("param 'missing' must be a list of texts, like [\"\", \"NA\"]")
    header = params.get("header", True)
    return files.CsvOptions(delimiter=delimiter, encoding=params.get("encoding") or None,
                            header=bool(header), missing=tuple(missing))


def _read_file(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, Any]:
    path = ctx.resolve(params["path"])
    fmt = _format(params, path)
    if fmt in ("excel", "csv", "tsv"):
        _read_bytes(path, check_only=True)  # these readers open the file themselves
    if fmt == "excel":
        return {"data": files.read_excel(path, params.get("sheet"), ctx.log)}
    if fmt in ("csv", "tsv"):
        try:
            return {"data": files.read_csv(path, _csv_options(params, fmt), path.name, ctx.log)}
        except OSError as exc:
            raise fail(f"cannot read {path}: {exc.strerror}") from None
    raw = _read_bytes(path)
    if fmt == "jsonl":
        return {"data": files.read_jsonl(raw, path.name)}
    if fmt == "parquet":
        return {"data": files.read_parquet(raw, path.name)}
    text = files.decode(raw, params.get("encoding") or None, path.name)
    if fmt == "json":
        try:
            return {"data": json.loads(text)}
        except json.JSONDecodeError as exc:
            raise fail(f"{path.name} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    return {"data": text}


def _write_file(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, Any]:
    path = ctx.resolve(params["path"])
    data = inputs["data"]
    fmt = _format(params, path)
    if fmt in TABLE_FORMATS:
        table = frame.as_frame(data, "input 'data'") if not is_frame(data) else data
        if fmt in ("excel", "parquet"):
            _atomic(path, lambda tmp: (files.write_excel(table, tmp, params.get("sheet")) if fmt == "excel"
                                       else files.write_parquet(table, tmp)))
            return {"path": str(path.resolve())}
        if fmt == "jsonl":
            text = files.write_jsonl(table)
        else:
            delimiter = params.get("delimiter") or ("\t" if fmt == "tsv" else ",")
            text = files.csv_text(table, delimiter)
    elif fmt == "json":
        value = frame.to_rows(data) if is_frame(data) else data
        try:
            text = json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
        except (TypeError, ValueError) as exc:
            raise fail(f"data cannot be written as JSON: {exc}") from None
    elif is_frame(data):
        text = files.csv_text(data)
    else:
        text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    _atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8", newline=""))
    return {"path": str(path.resolve())}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: Permissions of a new file as the user's umask wants them (mkstemp would make it 0600).
_NEW_FILE_MODE = 0o666 & ~_umask()


def _atomic(path: Path, write: Any) -> None:
    """Write through a temporary file in the same folder, then rename over the target."""
    tmp: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        tmp = Path(name)
        write(tmp)
        try:
            mode = path.stat().st_mode & 0o7777  # an existing file keeps its permissions
        except FileNotFoundError:
            mode = _NEW_FILE_MODE
        os.chmod(tmp, mode)
        tmp.replace(path)
    except (OSError, ValueError) as exc:
        if tmp is not None:
            with contextlib.suppress(OSError, ValueError):
                tmp.unlink(missing_ok=True)  # best effort: the write already failed
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise fail(f"cannot write {path}: {reason}") from None


# -- table nodes --------------------------------------------------------------------------

def _table(inputs: Inputs, port: str = "table") -> Any:
    return frame.as_frame(inputs.get(port), f"input '{port}'")


def _filter_rows(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, Any]:
    df = _table(inputs)
    if df.width == 0:
        return {"table": df}  # an empty table given as [] stays empty
    condition = params.get("condition")
    if condition:
        return {"table": ops.filter_condition(df, condition, ctx.run_inputs)}
    return {"table": ops.filter_rows(df, params["column"], params["op"], params.get("value"),
                                     ignore_case=bool(params.get("ignore_case")))}


def _sort_rows(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, Any]:
    df = _table(inputs)
    if df.width == 0:
        return {"table": df}
    by = params.get("by")
    if by:
        if not isinstance(by, list) or not all(isinstance(b, dict) and isinstance(b.get("column"), str) for b in by):
            raise fail("param 'by' must be a list of {column, descending}")
        keys = [(b["column"], bool(b.get("descending"))) for b in by]
    else:
        keys = [(params["column"], bool(params.get("descending")))]
    return {"table": ops.sort(df, keys)}


def _aggregate(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, Any]:
    df = _table(inputs)
    group_by = ops.as_list(params.get("group_by"), "group_by")
    return {"table": ops.aggregate(df, group_by, ops.aggregation_list(params))}


def _join(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, Any]:
    left, right = _table(inputs, "left"), _table(inputs, "right")
    on = ops.as_list(params.get("on"), "on")
    left_on = on or ops.as_list(params.get("left_on"), "left_on")
    right_on = on or ops.as_list(params.get("right_on"), "right_on")
    return {"table": ops.join(left, right, left_on, right_on, params.get("how") or "inner")}


def _append(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, Any]:
    return {"table": ops.append(_table(inputs, "a"), _table(inputs, "b"))}


def _select_columns(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, Any]:
    return {"table": ops.select_columns(
        _table(inputs), ops.as_list(params.get("columns"), "columns") or None,
        params.get("rename") or None, ops.as_list(params.get("drop"), "drop"),
    )}


def _add_column(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, Any]:
    return {"table": ops.add_column(_table(inputs), params["name"], params["expr"], ctx.run_inputs)}


def _distinct(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, Any]:
    return {"table": ops.distinct(_table(inputs), ops.as_list(params.get("columns"), "columns"))}


def _limit(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, Any]:
    return {"table": ops.limit(_table(inputs), params["count"], params.get("offset", 0))}


def _fill_missing(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, Any]:
    return {"table": ops.fill_missing(_table(inputs), ops.as_list(params.get("columns"), "columns"),
                                      params.get("value"))}


def _drop_missing(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, Any]:
    return {"table": ops.drop_missing(_table(inputs), ops.as_list(params.get("columns"), "columns"))}


def _convert_types(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, Any]:
    return {"table": ops.convert_types(_table(inputs), params["column"], params["to"],
                                       params.get("format") or None, params.get("on_error") or "fail")}


def _pivot(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, Any]:
    return {"table": ops.pivot(_table(inputs), ops.as_list(params.get("index"), "index"), params["columns"],
                               params.get("values"), params.get("func") or "sum")}


def _unpivot(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, Any]:
    return {"table": ops.unpivot(_table(inputs), ops.as_list(params.get("columns"), "columns"),
                                 params.get("name") or "variable", params.get("value") or "value")}


# -- static checks of params --------------------------------------------------------------

def _check_filter(params: Params) -> list[str]:
    condition = params.get("condition")
    if condition not in (None, ""):
        if not isinstance(condition, str):
            return ["param 'condition' must be a row expression (text)"]
        if params.get("column"):
            return ["give either 'condition' or 'column'/'op'/'value', not both"]
        return safe_expr.check(condition)
    missing = [p for p in ("column", "op") if p not in params]
    if missing:
        return [f"missing required param '{missing[0]}' (or give a 'condition' instead)"]
    if params.get("op") not in ("is_missing", "not_missing") and "value" not in params:
        return ["missing required param 'value'"]
    return []


def _check_sort(params: Params) -> list[str]:
    by = params.get("by")
    if by:
        if not isinstance(by, list) or not all(isinstance(b, dict) and isinstance(b.get("column"), str) for b in by):
            return ["param 'by' must be a list of {column, descending} (each with a column)"]
        return []
    if "column" not in params:
        return ["missing required param 'column' (or give 'by' for several columns)"]
    return []


def _check_limit(params: Params) -> list[str]:
    for name in ("count", "offset"):
        value = params.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or value != int(value):
            return [f"param '{name}' must be a whole number of rows, 0 or more"]
    return []


def _check_add_column(params: Params) -> list[str]:
    name = params.get("name")
    if isinstance(name, str) and not name.strip():
        return ["param 'name' is empty (name the new column)"]
    return safe_expr.check(params.get("expr"))


def _is_columns(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))


def _check_aggregate(params: Params) -> list[str]:
    group_by = params.get("group_by")
    if group_by not in (None, "") and not _is_columns(group_by):
        return ["param 'group_by' must be a column name or a list of column names"]
    items = params.get("aggregations")
    if items:
        if not isinstance(items, list):
            return ["param 'aggregations' must be a list of {column, func, as}"]
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                return [f"aggregations[{i}] must be an object with column, func and optionally as"]
            if item.get("func") not in ops_names.AGGREGATE_FUNCS:
                return [f"aggregations[{i}]: func {item.get('func')!r} is not one of "
                        f"{' '.join(ops_names.AGGREGATE_FUNCS)}"]
            if item.get("func") != "rows" and not isinstance(item.get("column"), str):
                return [f"aggregations[{i}]: '{item['func']}' needs a column"]
        return []
    if "func" not in params:
        return ["missing required param 'func' (or give 'aggregations')"]
    if params.get("func") != "rows" and "column" not in params:
        return ["missing required param 'column'"]
    return []


def _check_join(params: Params) -> list[str]:
    if params.get("on"):
        return []
    if params.get("left_on") and params.get("right_on"):
        return []
    return ["give 'on' (a column both sides have) or both 'left_on' and 'right_on'"]


TABLE_IN = (PortSpec("table", "table"),)
TABLE_OUT = (PortSpec("table", "table"),)
COLUMNS_HELP = "a column name or a list of them"


def _table_node(type_id: str, label: str, description: str, params: tuple[ParamSpec, ...], run: Any,
                inputs: tuple[PortSpec, ...] = TABLE_IN, checks: tuple[Any, ...] = ()) -> NodeType:
    return NodeType(NodeSpec(type_id, label, "Tables", description, inputs=inputs, outputs=TABLE_OUT,
                             params=params, param_checks=checks), run)


DATA_NODES = [
    NodeType(
        NodeSpec(
            "read_file", "Read file", "Files",
            "Reads a text, JSON, CSV, TSV, Excel or Parquet file (tables come out with typed columns).",
            outputs=(PortSpec("data", "any"),),
            params=(
                ParamSpec("path", "path", required=True, default=""),
                ParamSpec("format", "text", choices=FORMATS, description="from the file name when not set"),
                ParamSpec("delimiter", "text", description="csv: , ; tab or | (detected when not set)"),
                ParamSpec("encoding", "text", description="utf-8, utf-16 or cp1252 are detected; e.g. latin-1"),
                ParamSpec("header", "bool", default=True, description="the first row names the columns"),
                ParamSpec("missing", "list", default=list(DEFAULT_MISSING), description="texts read as missing cells"),
                ParamSpec("sheet", "any", description="excel: a sheet name or a 0-based index (the first when not set)"),
            ),
        ),
        _read_file,
    ),
    NodeType(
        NodeSpec(
            "write_file", "Write file", "Files", "Writes data to a text, JSON, CSV, TSV, Excel or Parquet file.",
            inputs=(PortSpec("data", "any"),),
            outputs=(PortSpec("path", "text"),),
            params=(
                ParamSpec("path", "path", required=True, default=""),
                ParamSpec("format", "text", choices=FORMATS, description="from the file name when not set"),
                ParamSpec("delimiter", "text", description="csv: the delimiter to write (default ,)"),
                ParamSpec("sheet", "text", description="excel: the sheet's name (default Sheet1)"),
            ),
        ),
        _write_file,
    ),
    _table_node(
        "filter_rows", "Filter rows", "Keeps the rows whose column matches a value, or a condition.",
        (
            ParamSpec("column", "text", default=""),
            ParamSpec("op", "text", default="gt", choices=ops_names.FILTER_OPS),
            ParamSpec("value", "any", default=0),
            ParamSpec("ignore_case", "bool", default=False, description="text: ignore upper/lower case"),
            ParamSpec("condition", "expression", description="instead of column/op/value: e.g. price * units > 100"),
        ),
        _filter_rows, checks=(_check_filter,),
    ),
    _table_node(
        "sort_rows", "Sort rows", "Sorts the rows by one column, or by several.",
        (
            ParamSpec("column", "text", default=""),
            ParamSpec("descending", "bool", default=False),
            ParamSpec("by", "list", description="several columns: [{column, descending}]"),
        ),
        _sort_rows, checks=(_check_sort,),
    ),
    _table_node(
        "aggregate", "Aggregate", "Counts, sums, averages (and more) a column, optionally per group.",
        (
            ParamSpec("column", "text", default=""),
            ParamSpec("func", "text", default="sum", choices=ops_names.AGGREGATE_FUNCS),
            ParamSpec("group_by", "any", description=COLUMNS_HELP),
            ParamSpec("aggregations", "list", description="several at once: [{column, func, as}]"),
        ),
        _aggregate, checks=(_check_aggregate,),
    ),
    _table_node(
        "join", "Join", "Matches the rows of two tables on key columns, like a lookup.",
        (
            ParamSpec("on", "any", description="key column(s) with the same name on both sides"),
            ParamSpec("left_on", "any", description="key column(s) of the left table"),
            ParamSpec("right_on", "any", description="key column(s) of the right table"),
            ParamSpec("how", "text", default="inner", choices=ops_names.JOIN_HOWS),
        ),
        _join, inputs=(PortSpec("left", "table"), PortSpec("right", "table")), checks=(_check_join,),
    ),
    _table_node(
        "append", "Append", "Puts the rows of b under the rows of a.",
        (), _append, inputs=(PortSpec("a", "table"), PortSpec("b", "table")),
    ),
    _table_node(
        "select_columns", "Select columns", "Keeps, reorders, renames or drops columns.",
        (
            ParamSpec("columns", "list", description="the columns to keep, in order (all when not set)"),
            ParamSpec("rename", "object", description="old name → new name"),
            ParamSpec("drop", "list", description="columns to leave out"),
        ),
        _select_columns,
    ),
    _table_node(
        "add_column", "Add column", "Computes a new column from the others, like price * units.",
        (
            ParamSpec("name", "text", required=True, default="new_column"),
            ParamSpec("expr", "expression", required=True, default=""),
        ),
        _add_column, checks=(_check_add_column,),
    ),
    _table_node(
        "distinct", "Distinct rows", "Keeps the first row of each set of equal rows.",
        (ParamSpec("columns", "list", description="compare only these columns (all when not set)"),),
        _distinct,
    ),
    _table_node(
        "limit", "Limit rows", "Keeps a number of rows, optionally after skipping some.",
        (ParamSpec("count", "number", required=True, default=10), ParamSpec("offset", "number", default=0)),
        _limit, checks=(_check_limit,),
    ),
    _table_node(
        "fill_missing", "Fill missing", "Puts a value into missing cells.",
        (ParamSpec("columns", "list", description="only these columns (all when not set)"),
         ParamSpec("value", "any", required=True, default=0)),
        _fill_missing,
    ),
    _table_node(
        "drop_missing", "Drop missing", "Leaves out rows that have missing cells.",
        (ParamSpec("columns", "list", description="only look at these columns (any column when not set)"),),
        _drop_missing,
    ),
    _table_node(
        "convert_types", "Convert types", "Changes the kind of a column (number, text, yes/no, date).",
        (
            ParamSpec("column", "text", required=True, default=""),
            ParamSpec("to", "text", required=True, default="number", choices=ops_names.CONVERT_KINDS),
            ParamSpec("format", "text", description="how dates are written, e.g. %d/%m/%Y"),
            ParamSpec("on_error", "text", default="fail", choices=("fail", "missing")),
        ),
        _convert_types,
    ),
    _table_node(
        "pivot", "Pivot", "Turns the values of one column into columns (a cross table).",
        (
            ParamSpec("index", "any", required=True, default="", description="the column(s) that stay as rows"),
            ParamSpec("columns", "text", required=True, default="", description="its values become columns"),
            ParamSpec("values", "text", description="the column to aggregate"),
            ParamSpec("func", "text", default="sum", choices=ops_names.AGGREGATE_FUNCS),
        ),
        _pivot,
    ),
    _table_node(
        "unpivot", "Unpivot", "Turns columns into rows of name and value.",
        (
            ParamSpec("columns", "list", required=True, default=[]),
            ParamSpec("name", "text", default="variable"),
            ParamSpec("value", "text", default="value"),
        ),
        _unpivot,
    ),
]
