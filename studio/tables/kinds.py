"""Deciding a column's kind from its text, for the whole column at once (never cell by cell)."""

from __future__ import annotations

import polars as pl

#: Texts read as missing unless the workflow gives its own ``missing`` list.
DEFAULT_MISSING = ("", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "#N/A")

_NUMBER = r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$"
_INTEGER = r"^\s*[+-]?\d+\s*$"
# A code such as 007, 00 or -01 keeps its leading zero (0 and 0.5 are numbers).
_CODE = r"^\s*[+-]?0\d"
_BOOL = r"^(?i:true|false)$"
_DATE = r"^\d{4}-\d{2}-\d{2}$"
_DATETIME = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$"
_AWARE = r"(Z|[+-]\d{2}:?\d{2})$"


def infer(series: pl.Series) -> pl.Series:
    """The column in its kind: number, bool, date, datetime, else text as it was."""
    present = series.drop_nulls()
    if present.len() == 0:
        return series
    if present.str.contains(_NUMBER).all() and not present.str.contains(_CODE).any():
        parsed = parse_number(series, integer=present.str.contains(_INTEGER).all())
        if parsed is not None:
            return parsed
    for kind in ("bool", "date", "datetime"):
        parsed = parse_kind(series, kind, present=present)
        if parsed is not None:
            return parsed
    return series


def parse_number(series: pl.Series, *, integer: bool) -> pl.Series | None:
    stripped = series.str.strip_chars()
    if integer:
        as_int = stripped.cast(pl.Int64, strict=False)
        if as_int.null_count() == series.null_count():
            return as_int
    as_float = stripped.cast(pl.Float64, strict=False)
    if as_float.null_count() != series.null_count() or not as_float.drop_nulls().is_finite().all():
        return None
    return as_float


def parse_kind(series: pl.Series, kind: str, *, present: pl.Series | None = None) -> pl.Series | None:
    """The text column as ``bool``, ``date`` or ``datetime`` when every cell is one, else None."""
    present = series.drop_nulls() if present is None else present
    if kind == "bool":
        if present.str.contains(_BOOL).all():
            return series.str.to_lowercase() == "true"
        return None
    if kind == "date":
        if not present.str.contains(_DATE).all():
            return None
        parsed = series.str.to_date("%Y-%m-%d", strict=False)
        return parsed if parsed.null_count() == series.null_count() else None
    if kind == "datetime":
        if not present.str.contains(_DATETIME).all():
            return None
        aware = present.str.contains(_AWARE)
        if aware.any() and not aware.all():
            return None  # some cells with an offset, some without: left as text
        text = _iso(series)
        fmt = "%Y-%m-%dT%H:%M:%S%.f" + ("%z" if aware.all() else "")
        try:
            parsed = text.str.to_datetime(fmt, strict=False, time_unit="us")
        except pl.exceptions.PolarsError:
            return None
        if parsed.null_count() != series.null_count():
            return None
        return parsed.dt.convert_time_zone("UTC") if aware.all() else parsed
    return None


def _iso(series: pl.Series) -> pl.Series:
    """Datetimes in one shape: ``T`` between date and time, seconds present, ``Z`` as ``+00:00``."""
    text = series.str.replace(r"^(\d{4}-\d{2}-\d{2}) ", "${1}T")
    text = text.str.replace(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})(Z|[+-]|$)", "${1}:00${2}")
    text = text.str.replace(r"Z$", "+00:00")
    return text.str.replace(r"([+-]\d{2})(\d{2})$", "${1}:${2}")
