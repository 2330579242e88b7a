"""Deciding a column's kind from its text, for the whole column at once (never cell by cell)."""

from __future__ import annotations

import polars as pl

from studio.tables.names import CODE_PATTERN as _CODE
from studio.tables.names import DATE_PATTERN as _DATE
from studio.tables.names import DEFAULT_MISSING
from studio.tables.names import INTEGER_PATTERN as _INTEGER
from studio.tables.names import NUMBER_PATTERN as _NUMBER

__all__ = ["DEFAULT_MISSING", "infer", "infer_frame", "parse_kind", "parse_number"]

_BOOL = r"^(?i:true|false)$"
_DATETIME = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$"
_AWARE = r"(Z|[+-]\d{2}:?\d{2})$"


def infer(series: pl.Series) -> pl.Series:
    """The column in its kind: number, bool, date, datetime, else text as it was."""
    return infer_frame(pl.DataFrame([series])).to_series()


_SAMPLE = 2000


def _guess(sample: pl.Series) -> str:
    """The kind a column's first non-missing cells suggest (checked on the whole column after)."""
    if sample.str.contains(_NUMBER).all() and not sample.str.contains(_CODE).any():
        return "number"
    for kind, pattern in (("bool", _BOOL), ("date", _DATE), ("datetime", _DATETIME)):
        if sample.str.contains(pattern).all():
            return kind
    return "text"


def _whole_column(name: str, kind: str) -> pl.Expr:
    """A check over the whole column that the guessed kind holds (nulls are ignored).

    Numbers are checked by parsing them (Polars' parser takes exactly the contract's
    numbers, plus inf/nan, which are refused after); here only that none is a code.
    """
    col = pl.col(name)
    if kind == "number":
        # Cheap prefix tests first: only a cell starting with 0, a sign or a space can be a code.
        maybe = col.str.starts_with("0") | col.str.starts_with("-") | col.str.starts_with("+") | col.str.starts_with(" ")
        return (~(maybe & col.str.contains(_CODE)).any()).alias(name)
    pattern = {"bool": _BOOL, "date": _DATE, "datetime": _DATETIME}[kind]
    return col.str.contains(pattern).all().alias(name)


def infer_frame(cells: pl.DataFrame) -> pl.DataFrame:
    """Every text column in its kind, decided for the whole column (CONTRACT 2b).

    A sample of each column's first cells suggests a kind; parallel passes over all
    columns then check it, so a text column costs no pass at all.
    """
    guesses: dict[str, str] = {}
    for name in cells.columns:
        sample = cells[name].head(_SAMPLE * 4).drop_nulls().head(_SAMPLE)
        if sample.dtype == pl.String and sample.len():
            kind = _guess(sample)
            if kind != "text":
                guesses[name] = kind
    if not guesses:
        return cells
    checks = cells.select(_whole_column(n, k) for n, k in guesses.items()).row(0, named=True)
    numbers = [n for n, k in guesses.items() if k == "number" and checks[n]]
    parsed: dict[str, pl.Series] = {}
    if numbers:
        # Integers first, then floats for the columns that are not all whole numbers.
        as_int = cells.select(pl.col(n).cast(pl.Int64, strict=False) for n in numbers)
        not_int = [n for n in numbers if as_int[n].null_count() != cells[n].null_count()]
        parsed = {n: as_int[n] for n in numbers if n not in not_int}
        # Whole numbers too big for 64 bits stay text (their exact digits), never rounded floats.
        pointed = cells.select(pl.col(n).str.contains("[.eE]").any() for n in not_int).row(0) if not_int else ()
        floats = [n for n, has_point in zip(not_int, pointed, strict=True) if has_point]
        for n in not_int:
            if n not in floats:
                checks[n] = False  # handled below as text unless the careful path finds numbers
        if floats:
            as_float = cells.select(pl.col(n).cast(pl.Float64, strict=False) for n in floats)
            for n in floats:
                column = as_float[n]
                if column.null_count() == cells[n].null_count() and column.drop_nulls().is_finite().all():
                    parsed[n] = column
    columns = []
    for name in cells.columns:
        series = cells[name]
        guess = guesses.get(name)
        result: pl.Series | None = parsed.get(name)
        if result is None and guess is not None:
            if guess == "number" and checks[name]:
                # Spaces around the numbers, or the sample misled: the careful way.
                result = parse_number(series, integer=not series.str.contains("[.eE]").any())
            elif guess != "number" and checks[name]:
                result = parse_kind(series, guess, checked=True)
            if result is None:
                fallback = _fallback(series)
                if fallback == "number":
                    result = parse_number(series, integer=not series.str.contains("[.eE]").any())
                elif fallback is not None:
                    result = parse_kind(series, fallback)
        columns.append(result if result is not None else series)
    return pl.DataFrame(columns)


def _fallback(series: pl.Series) -> str | None:
    present = series.drop_nulls()
    kind = _guess(present)
    return None if kind == "text" else kind


def parse_number(series: pl.Series, *, integer: bool) -> pl.Series | None:
    """The column as numbers when every cell is one (CONTRACT 2b), else None."""
    present = series.drop_nulls()
    if not present.str.contains(_NUMBER).all() or present.str.contains(_CODE).any():
        return None
    stripped = series.str.strip_chars()
    if integer and not stripped.str.contains(_INTEGER).all():
        integer = False
    if integer:
        as_int = stripped.cast(pl.Int64, strict=False)
        if as_int.null_count() == series.null_count():
            return as_int
        return None  # whole numbers beyond 64 bits: kept as text
    as_float = stripped.cast(pl.Float64, strict=False)
    if as_float.null_count() != series.null_count() or not as_float.drop_nulls().is_finite().all():
        return None
    return as_float


def parse_kind(series: pl.Series, kind: str, *, present: pl.Series | None = None,
               checked: bool = False) -> pl.Series | None:
    """The text column as ``bool``, ``date`` or ``datetime`` when every cell is one, else None.

    ``checked``: every cell is already known to match the kind's pattern.
    """
    present = series.drop_nulls() if present is None else present
    if kind == "bool":
        if checked or present.str.contains(_BOOL).all():
            return series.str.to_lowercase() == "true"
        return None
    if kind == "date":
        if not checked and not present.str.contains(_DATE).all():
            return None
        parsed = series.str.to_date("%Y-%m-%d", strict=False)
        return parsed if parsed.null_count() == series.null_count() else None
    if kind == "datetime":
        if not checked and not present.str.contains(_DATETIME).all():
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
