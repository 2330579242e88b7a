"""The table operations behind the table node types (CONTRACT 2b), on Polars DataFrames.

Missing cells: comparisons never match them, sorting puts them last, aggregates
skip them. Every failure is a one-line ``NodeError`` naming the column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import polars as pl

from studio.errors import NodeError
from studio.tables.frame import cell_text, datetime_text, kind_of, normalize
from studio.tables.kinds import parse_kind, parse_number
from studio.tables.names import AGGREGATE_FUNCS, CONVERT_KINDS, FILTER_OPS, JOIN_HOWS
from studio.tables.rowexpr import evaluate


def need_columns(df: pl.DataFrame, names: Sequence[Any], what: str = "column") -> None:
    for name in names:
        if name not in df.columns:
            cols = ", ".join(df.columns) or "none"
            raise NodeError(f"no {what} '{name}' (columns: {cols})")


def as_list(value: Any, what: str) -> list[str]:
    """A param that may be one column name or a list of them."""
    if value is None or value == "" or value == []:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise NodeError(f"param '{what}' must be a column name or a list of column names")


def _error(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return " ".join((lines[0] if lines else type(exc).__name__).split())


# -- person-friendly order ----------------------------------------------------------------

def text_key(expr: pl.Expr) -> pl.Expr:
    """Text as a person sorts it: ignoring case and accents."""
    return expr.str.normalize("NFKD").str.replace_all(r"\p{M}", "").str.to_lowercase()


def _order_keys(df: pl.DataFrame, column: str) -> list[pl.Expr]:
    if df.schema[column] == pl.String:
        return [text_key(pl.col(column)), pl.col(column)]  # ties broken by the exact text
    return [pl.col(column)]


def sort(df: pl.DataFrame, keys: Sequence[tuple[str, bool]]) -> pl.DataFrame:
    """Stable sort by several columns; missing cells last in both directions."""
    need_columns(df, [c for c, _ in keys])
    exprs: list[pl.Expr] = []
    descending: list[bool] = []
    for column, desc in keys:
        for expr in _order_keys(df, column):
            exprs.append(expr)
            descending.append(desc)
    if not exprs:
        return df
    return df.sort(exprs, descending=descending, nulls_last=True, maintain_order=True)


# -- filter -------------------------------------------------------------------------------

def read_in_kind(value: Any, dtype: Any, column: str) -> Any:
    """A filter value read in the column's kind (``"5"`` on a number column is 5)."""
    kind = kind_of(dtype)
    if value is None:
        return None
    if kind == "number":
        if isinstance(value, bool):
            raise NodeError(f"column '{column}' holds numbers; {value!r} is not a number")
        if isinstance(value, (int, float)):
            return value
        parsed = parse_number(pl.Series([str(value)]), integer=False)
        if parsed is None or parsed[0] is None:
            raise NodeError(f"column '{column}' holds numbers; '{value}' is not a number")
        number = parsed[0]
        return int(number) if float(number).is_integer() and "." not in str(value) and "e" not in str(value).lower() else number
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if str(value).strip().lower() in ("true", "false"):
            return str(value).strip().lower() == "true"
        raise NodeError(f"column '{column}' holds true/false; '{value}' is not true or false")
    if kind in ("date", "datetime"):
        if isinstance(value, str):
            parsed = parse_kind(pl.Series([value]), kind)
            if parsed is None and kind == "datetime":
                parsed = parse_kind(pl.Series([value]), "date")
            if parsed is not None and parsed[0] is not None:
                found = parsed[0]
                if kind == "datetime" and not isinstance(found, datetime) and isinstance(found, date):
                    found = datetime(found.year, found.month, found.day)
                if kind == "datetime" and getattr(dtype, "time_zone", None) and found.tzinfo is None:
                    raise NodeError(f"column '{column}' holds times with a time zone; give '{value}' with one too")
                return found
        raise NodeError(f"column '{column}' holds {kind}s; '{value}' is not like 2024-05-01")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return cell_text(value)
    return str(value)


def filter_rows(df: pl.DataFrame, column: str, op: str, value: Any, *, ignore_case: bool = False) -> pl.DataFrame:
    need_columns(df, [column])
    if op not in FILTER_OPS:
        raise NodeError(f"unknown op '{op}' (use {' '.join(FILTER_OPS)})")
    col = pl.col(column)
    dtype = df.schema[column]
    if op == "is_missing":
        return df.filter(col.is_null())
    if op == "not_missing":
        return df.filter(col.is_not_null())
    text_ops = ("contains", "starts_with", "ends_with", "matches")
    if op in text_ops:
        if not isinstance(value, str):
            value = "" if value is None else str(value)
        target = col if dtype == pl.String else col.cast(pl.String)
        if ignore_case:
            target, value = target.str.to_lowercase(), value.lower()
        if op == "contains":
            cond = target.str.contains(value, literal=True)
        elif op == "starts_with":
            cond = target.str.starts_with(value)
        elif op == "ends_with":
            cond = target.str.ends_with(value)
        else:
            pattern = f"(?i){value}" if ignore_case else value
            try:
                return df.filter(target.str.contains(pattern))
            except pl.exceptions.PolarsError as exc:
                raise NodeError(f"'{value}' is not a valid pattern: {_error(exc)}") from None
        return df.filter(cond)
    if op == "in":
        if not isinstance(value, list):
            raise NodeError("op 'in' needs a list of values, like [\"Oslo\", \"Bern\"]")
        values = [read_in_kind(v, dtype, column) for v in value if v is not None]
        target = col
        if ignore_case and dtype == pl.String:
            target, values = col.str.to_lowercase(), [str(v).lower() for v in values]
        return df.filter(target.is_in(pl.Series(values, dtype=dtype if values else None).implode()))
    if isinstance(value, list):
        raise NodeError(f"op '{op}' compares with one value, not a list (use 'in' for a list)")
    wanted = read_in_kind(value, dtype, column)
    if wanted is None:
        return df.clear()  # nothing equals (or is ordered against) a missing value
    target = col
    if ignore_case and dtype == pl.String:
        target, wanted = col.str.to_lowercase(), str(wanted).lower()
    lit = pl.lit(wanted)
    cond = {
        "eq": target == lit, "ne": target != lit, "lt": target < lit,
        "le": target <= lit, "gt": target > lit, "ge": target >= lit,
    }[op]
    return df.filter(cond)


def filter_condition(df: pl.DataFrame, condition: str, names: Mapping[str, Any]) -> pl.DataFrame:
    mask = evaluate(df, condition, names)
    if mask.dtype != pl.Boolean:
        raise NodeError("the condition must give true or false for each row (a comparison, like price > 5)")
    return df.filter(mask)


# -- aggregate ----------------------------------------------------------------------------

def agg_expr(df: pl.DataFrame, column: str | None, func: str, name: str) -> pl.Expr:
    """One aggregate over a column, skipping missing cells (``rows`` counts rows)."""
    if func not in AGGREGATE_FUNCS:
        raise NodeError(f"unknown func '{func}' (use {' '.join(AGGREGATE_FUNCS)})")
    if func == "rows":
        return pl.len().cast(pl.Int64).alias(name)
    assert column is not None
    need_columns(df, [column])
    col = pl.col(column)
    dtype = df.schema[column]
    kind = kind_of(dtype)
    if func == "count":
        return col.count().cast(pl.Int64).alias(name)
    if func == "count_distinct":
        return col.drop_nulls().n_unique().cast(pl.Int64).alias(name)
    if func in ("first", "last"):
        present = col.drop_nulls()
        return (present.first() if func == "first" else present.last()).alias(name)
    if func in ("min", "max"):
        if dtype == pl.String:
            ordered = col.drop_nulls().sort_by([text_key(col.drop_nulls()), col.drop_nulls()])
            return (ordered.first() if func == "min" else ordered.last()).alias(name)
        return (col.min() if func == "min" else col.max()).alias(name)
    if kind != "number":
        if df[column].null_count() == df.height:
            col = col.cast(pl.Float64)  # no values at all (so read as text): an aggregate over none
        else:
            raise NodeError(f"column '{column}' holds {kind}, so '{func}' cannot use it (it needs numbers)")
    if func == "sum":
        return pl.when(col.count() > 0).then(col.sum()).otherwise(None).alias(name)
    if func == "mean":
        return col.mean().alias(name)
    if func == "median":
        return col.median().alias(name)
    return col.std(ddof=1).alias(name)


def aggregate(df: pl.DataFrame, group_by: Sequence[str], aggregations: Sequence[tuple[str | None, str, str]]) -> pl.DataFrame:
    """One row per group, in order of first appearance (missing keys form one group)."""
    need_columns(df, group_by)
    exprs = [agg_expr(df, column, func, name) for column, func, name in aggregations]
    names = [n for _, _, n in aggregations]
    clash = next((n for n in names if names.count(n) > 1 or n in group_by), None)
    if clash:
        raise NodeError(f"two result columns would be called '{clash}' (give one an 'as' name)")
    try:
        if group_by:
            return df.group_by(list(group_by), maintain_order=True).agg(exprs)
        return df.select(exprs)
    except pl.exceptions.PolarsError as exc:
        raise NodeError(f"cannot aggregate: {_error(exc)}") from None


def aggregation_list(params: Mapping[str, Any]) -> list[tuple[str | None, str, str]]:
    """``aggregations`` or the single ``column``/``func`` of the params, with result names."""
    items = params.get("aggregations")
    if items is None or items == []:
        items = [{"column": params.get("column"), "func": params.get("func")}]
    if not isinstance(items, list):
        raise NodeError("param 'aggregations' must be a list of {column, func, as}")
    result = []
    for item in items:
        if not isinstance(item, dict):
            raise NodeError("each aggregation must be an object with column, func and optionally as")
        func = item.get("func")
        column = item.get("column")
        if func not in AGGREGATE_FUNCS:
            raise NodeError(f"unknown func '{func}' (use {' '.join(AGGREGATE_FUNCS)})")
        if func != "rows" and not isinstance(column, str):
            raise NodeError(f"aggregation '{func}' needs a column")
        name = item.get("as") or ("rows" if func == "rows" else f"{func}_{column}")
        result.append((column if func != "rows" else None, str(func), str(name)))
    return result


# -- join and append ----------------------------------------------------------------------

def join(left: pl.DataFrame, right: pl.DataFrame, left_on: list[str], right_on: list[str], how: str) -> pl.DataFrame:
    """Left rows in order (with their matches in right order), then right-only rows."""
    if how not in JOIN_HOWS:
        raise NodeError(f"unknown how '{how}' (use {' '.join(JOIN_HOWS)})")
    need_columns(left, left_on, "column on the left")
    need_columns(right, right_on, "column on the right")
    if not left_on or len(left_on) != len(right_on):
        raise NodeError("give 'on' (the same columns on both sides) or 'left_on' and 'right_on' of equal length")
    for lc, rc in zip(left_on, right_on, strict=True):
        lk, rk = kind_of(left.schema[lc]), kind_of(right.schema[rc])
        if lk != rk:
            raise NodeError(f"cannot join column '{lc}' ({lk}) with '{rc}' ({rk}): convert one first")
    same = left_on == right_on
    li, ri = "__studio_left_row__", "__studio_right_row__"
    a = left.with_row_index(li)
    b = right.with_row_index(ri)
    # A right join is the outer join without the left-only rows: the same column order
    # (left columns first) as the other three.
    polars_how = {"outer": "full", "right": "full"}.get(how, how)
    try:
        joined = a.join(b, left_on=left_on, right_on=right_on, how=polars_how,  # type: ignore[arg-type]
                        suffix="_right", coalesce=same, nulls_equal=False)
    except pl.exceptions.PolarsError as exc:
        raise NodeError(f"cannot join: {_error(exc)}") from None
    if how == "right":
        joined = joined.filter(pl.col(ri).is_not_null())
    joined = joined.sort([li, ri], nulls_last=True, maintain_order=True)
    return joined.drop([c for c in (li, ri) if c in joined.columns])


def append(a: pl.DataFrame, b: pl.DataFrame) -> pl.DataFrame:
    """Rows of ``a`` then ``b``; a column one side lacks is missing there."""
    for name in set(a.columns) & set(b.columns):
        ka, kb = kind_of(a.schema[name]), kind_of(b.schema[name])
        if ka != kb:
            raise NodeError(f"column '{name}' holds {ka} in 'a' but {kb} in 'b': convert one first")
    try:
        return pl.concat([a, b], how="diagonal_relaxed")
    except pl.exceptions.PolarsError as exc:
        raise NodeError(f"cannot append: {_error(exc)}") from None


# -- columns ------------------------------------------------------------------------------

def select_columns(df: pl.DataFrame, columns: list[str] | None, rename: Mapping[str, str] | None, drop: list[str]) -> pl.DataFrame:
    if columns:
        need_columns(df, columns)
        if len(set(columns)) != len(columns):
            raise NodeError("param 'columns' names a column twice")
        df = df.select(columns)
    if drop:
        need_columns(df, drop)
        df = df.drop(drop)
    if rename:
        if not isinstance(rename, dict) or not all(isinstance(v, str) and v for v in rename.values()):
            raise NodeError("param 'rename' must map old column names to new ones")
        need_columns(df, list(rename))
        final = [rename.get(c, c) for c in df.columns]
        dup = next((n for n in final if final.count(n) > 1), None)
        if dup:
            raise NodeError(f"renaming would give two columns called '{dup}'")
        df = df.rename(dict(rename))
    return df


def add_column(df: pl.DataFrame, name: str, expr: str, names: Mapping[str, Any]) -> pl.DataFrame:
    """The column appended, or replacing one of the same name in place."""
    if not isinstance(name, str) or not name:
        raise NodeError("param 'name' must be the new column's name")
    values = evaluate(df, expr, names).alias(name)
    if values.dtype == pl.Null:
        values = values.cast(pl.String)
    return normalize(df.with_columns(values))


def distinct(df: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    need_columns(df, columns)
    return df.unique(subset=columns or None, keep="first", maintain_order=True)


def limit(df: pl.DataFrame, count: Any, offset: Any) -> pl.DataFrame:
    for what, value in (("count", count), ("offset", offset)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or float(value) != int(value):
            raise NodeError(f"param '{what}' must be a whole number of rows, 0 or more")
    return df.slice(int(offset), int(count))


def fill_missing(df: pl.DataFrame, columns: list[str], value: Any) -> pl.DataFrame:
    need_columns(df, columns)
    fixes = []
    for name in columns or df.columns:
        dtype = df.schema[name]
        kind = kind_of(dtype)
        fits = _fit(value, dtype)
        if fits is _NO_FIT:
            raise NodeError(f"column '{name}' holds {kind}; {_show(value)} does not fit it")
        col = pl.col(name)
        if dtype == pl.Int64 and isinstance(fits, float):
            col = col.cast(pl.Float64)
        fixes.append(col.fill_null(pl.lit(fits)))
    return df.with_columns(fixes)


_NO_FIT = object()


def _fit(value: Any, dtype: Any) -> Any:
    kind = kind_of(dtype)
    if kind == "number":
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else _NO_FIT
    if kind == "bool":
        return value if isinstance(value, bool) else _NO_FIT
    if kind == "text":
        return value if isinstance(value, str) else _NO_FIT
    if isinstance(value, str):
        parsed = parse_kind(pl.Series([value]), kind)
        if parsed is not None and parsed[0] is not None:
            if getattr(dtype, "time_zone", None) and parsed.dtype != dtype:
                return _NO_FIT
            return parsed[0]
    return _NO_FIT


def _show(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else repr(value)


def drop_missing(df: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    need_columns(df, columns)
    return df.drop_nulls(subset=columns or None)


def convert_types(df: pl.DataFrame, column: str, to: str, fmt: str | None, on_error: str) -> pl.DataFrame:
    """A column in another kind; a cell that does not convert fails (or is missing)."""
    need_columns(df, [column])
    if to not in CONVERT_KINDS:
        raise NodeError(f"unknown kind '{to}' (use {' '.join(CONVERT_KINDS)})")
    if on_error not in ("fail", "missing"):
        raise NodeError("param 'on_error' must be 'fail' or 'missing'")
    source = df[column]
    converted = _convert(source, to, fmt)
    bad = converted.is_null() & source.is_not_null()
    if bad.any() and on_error == "fail":
        row = int(bad.arg_max() or 0)  # type: ignore[arg-type]
        raise NodeError(f"column '{column}' row {row + 1}: '{_cell(source[row])}' is not a {to}"
                        + (f" in the format {fmt}" if fmt else ""))
    return df.with_columns(converted.alias(column))


def _cell(value: Any) -> str:
    return cell_text(value)


def _convert(series: pl.Series, to: str, fmt: str | None) -> pl.Series:
    kind = kind_of(series.dtype)
    if to == "text":
        if kind == "text":
            return series
        if kind == "bool":
            return series.cast(pl.String)
        if kind == "date":
            return series.dt.to_string(fmt or "%Y-%m-%d")
        if kind == "datetime":
            if fmt:
                return series.dt.to_string(fmt)
            return pl.select(datetime_text(pl.lit(series), series.dtype, series)).to_series().alias(series.name)
        if series.dtype.is_float():
                return pl.Series(series.name, [None if v is None else cell_text(v) for v in series.to_list()],
                             dtype=pl.String)
        return series.cast(pl.String)
    text = series if kind == "text" else None
    if kind == "number" and to in ("date", "datetime"):
        text = _convert(series, "text", None)  # 19580329 read with a format such as %Y%m%d
    if to == "number":
        if kind == "number":
            return series
        if kind == "bool":
            return series.cast(pl.Int64)
        if text is None:
            return pl.Series(series.name, [None] * series.len(), dtype=pl.Float64)
        cleaned = text.str.strip_chars()
        as_int = cleaned.cast(pl.Int64, strict=False)
        if as_int.null_count() == cleaned.null_count():
            return as_int
        as_float = cleaned.cast(pl.Float64, strict=False)
        return as_float.set(~as_float.is_finite().fill_null(True), None)  # type: ignore[arg-type]
    if to == "bool":
        if kind == "bool":
            return series
        if kind == "number":
            return pl.Series(series.name, [None if v is None else (v != 0) for v in series.to_list()], dtype=pl.Boolean)
        if text is None:
            return pl.Series(series.name, [None] * series.len(), dtype=pl.Boolean)
        low = text.str.strip_chars().str.to_lowercase()
        frame = pl.DataFrame({"t": low})
        return frame.select(
            pl.when(pl.col("t").is_in(["true", "yes", "1"])).then(True)
            .when(pl.col("t").is_in(["false", "no", "0"])).then(False)
            .otherwise(None).alias(series.name)
        ).to_series()
    if to == "date":
        if kind == "date":
            return series
        if kind == "datetime":
            return series.dt.date()
        if text is None:
            return pl.Series(series.name, [None] * series.len(), dtype=pl.Date)
        return text.str.strip_chars().str.to_date(fmt or "%Y-%m-%d", strict=False)
    # datetime
    if kind == "datetime":
        return series
    if kind == "date":
        return series.cast(pl.Datetime("us"))
    if text is None:
        return pl.Series(series.name, [None] * series.len(), dtype=pl.Datetime("us"))
    if fmt:
        return text.str.strip_chars().str.to_datetime(fmt, strict=False, time_unit="us")
    parsed = parse_kind(text.str.strip_chars(), "datetime")
    if parsed is not None:
        return parsed
    return text.str.strip_chars().str.to_datetime(strict=False, time_unit="us")


# -- reshape ------------------------------------------------------------------------------

def pivot(df: pl.DataFrame, index: list[str], columns: str, values: str | None, func: str) -> pl.DataFrame:
    """``index`` columns, then one column per distinct value of ``columns`` (first appearance)."""
    need_columns(df, [*index, columns])
    if not index:
        raise NodeError("param 'index' must name the column(s) that stay as rows")
    value_name = "__studio_value__"
    grouped = aggregate(df, [*index, columns], [(values, func, value_name)])
    labels = grouped[columns]
    names = []
    for v in labels.unique(maintain_order=True).to_list():
        names.append("missing" if v is None else cell_text(v))
    clash = next((n for n in names if n in index), None)
    if clash:
        raise NodeError(f"a value of '{columns}' is also the name of an index column ('{clash}')")
    grouped = grouped.with_columns(
        pl.Series(columns, ["missing" if v is None else _cell(v) for v in labels.to_list()], dtype=pl.String)
    )
    keys = grouped.select(index).unique(maintain_order=True)
    result = keys
    for name in names:
        part = grouped.filter(pl.col(columns) == name).select([*index, pl.col(value_name).alias(name)])
        result = result.join(part, on=index, how="left", nulls_equal=True, maintain_order="left")
    return result


def unpivot(df: pl.DataFrame, columns: list[str], name: str, value: str) -> pl.DataFrame:
    """The listed columns turned into ``name``/``value`` rows (all rows of the first, then the next)."""
    need_columns(df, columns)
    if not columns:
        raise NodeError("param 'columns' must list the columns to turn into rows")
    index = [c for c in df.columns if c not in columns]
    if name == value:
        raise NodeError(f"params 'name' and 'value' are both '{name}': give them different names")
    if name in index or value in index:
        raise NodeError(f"the result would have two columns called '{name if name in index else value}' "
                        "(give 'name' or 'value' another name)")
    kinds = {kind_of(df.schema[c]) for c in columns}
    work = df
    if len(kinds) > 1:
        work = df.with_columns(pl.col(c).pipe(_as_text, df.schema[c]) for c in columns)
    elif kinds == {"number"}:
        if any(df.schema[c].is_float() for c in columns):
            work = df.with_columns(pl.col(c).cast(pl.Float64) for c in columns)
    return work.unpivot(on=columns, index=index, variable_name=name, value_name=value)


def _as_text(expr: pl.Expr, dtype: Any) -> pl.Expr:
    if dtype == pl.Date:
        return expr.dt.to_string("%Y-%m-%d")
    if isinstance(dtype, pl.Datetime):
        return expr.dt.to_string("%Y-%m-%dT%H:%M:%S")
    return expr.cast(pl.String)
