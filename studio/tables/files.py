"""Reading and writing table files: CSV/TSV, JSON lines, Excel and Parquet (CONTRACT 2b)."""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from studio.errors import NodeError
from studio.tables.frame import datetime_text, from_rows, json_columns, normalize
from studio.tables.kinds import DEFAULT_MISSING, infer, infer_frame

DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "bar"}
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


@dataclass
class CsvOptions:
    """What the ``read_file`` params say about a CSV file (``None``: detect)."""

    delimiter: str | None = None
    encoding: str | None = None
    header: bool = True
    missing: Sequence[str] = DEFAULT_MISSING


# -- text and encoding --------------------------------------------------------------------

def decode(raw: bytes, encoding: str | None, name: str) -> str:
    """File bytes as text: UTF-8 (BOM or not) and UTF-16 with a BOM are detected, else cp1252."""
    if encoding:
        codec = _codec(encoding)
        try:
            return raw.decode("utf-8-sig" if codec == "utf-8" else codec)
        except UnicodeDecodeError as exc:
            raise NodeError(f"{name} is not {encoding} text (byte {exc.start + 1} does not fit)") from None
    for bom, codec in _BOMS:
        if raw.startswith(bom):
            try:
                return raw[len(bom):].decode(codec)
            except UnicodeDecodeError as exc:
                raise NodeError(f"{name} is not {codec} text (byte {exc.start + 1} does not fit)") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        # Windows-1252, with its five unassigned bytes read as Latin-1 (nothing is refused).
        return raw.decode("cp1252", errors="latin1_fallback")


def _codec(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise NodeError(f"unknown encoding '{encoding}' (for example utf-8, cp1252, latin-1, utf-16)") from None


def _latin1_fallback(exc: UnicodeError) -> tuple[str, int]:
    assert isinstance(exc, UnicodeDecodeError)
    return exc.object[exc.start:exc.end].decode("latin-1"), exc.end


codecs.register_error("latin1_fallback", _latin1_fallback)


def detect_delimiter(text: str) -> str:
    """The delimiter among , ; tab | that splits the first lines most consistently."""
    sample = text[:65536]
    lines = sample.splitlines()[:50]
    if len(sample) == 65536 and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut short
    best, best_score = ",", (0, 0, 0)
    for candidate in DELIMITERS:
        try:
            counts = [len(row) for row in csv.reader(lines, delimiter=candidate) if row]
        except csv.Error:
            continue
        if not counts or max(counts) < 2:
            continue
        common = max(set(counts), key=counts.count)
        score = (counts.count(common), common, -DELIMITERS.index(candidate))
        if common >= 2 and score > best_score:
            best, best_score = candidate, score
    return best


# -- reading ------------------------------------------------------------------------------

def read_csv(source: bytes | Path, options: CsvOptions, name: str, log: Callable[[str], None]) -> pl.DataFrame:
    """A CSV (or TSV) file as a table, every column in one kind (CONTRACT 2b, Reading).

    ``source`` is the file (read by the parser itself, memory-mapped, when it is UTF-8)
    or its bytes.
    """
    if isinstance(source, Path):
        with open(source, "rb") as fh:
            start = fh.read(65536)
        utf8 = (options.encoding is None or _codec(options.encoding) == "utf-8") and not start.startswith(
            (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
        data: bytes | Path = source if utf8 else source.read_bytes()
        text = None if utf8 else decode(data, options.encoding, name)  # type: ignore[arg-type]
    else:
        start = source[:65536]
        data, text = _as_utf8(source, options.encoding, name)
    if b"\n" not in start and b"\r" in start:
        # Old Mac line endings (a lone CR between lines): read as newlines.
        text = (text if text is not None else decode(_bytes(data), options.encoding, name)).replace("\r", "\n")
    if text is not None:
        data = text.encode("utf-8")
    head = text[:65536] if text is not None else start.decode("utf-8", errors="ignore")
    delimiter = options.delimiter or detect_delimiter(head.lstrip("\ufeff"))
    if delimiter in DELIMITER_NAMES.values():
        delimiter = {v: k for k, v in DELIMITER_NAMES.items()}[delimiter]
    if len(delimiter) != 1:
        raise NodeError(f"delimiter must be one character (got {delimiter!r})")
    if not head.strip() and (len(start) < 65536 or not _bytes(data).strip()):
        return pl.DataFrame()

    def by_python() -> pl.DataFrame:
        return _python_cells(text if text is not None else decode(_bytes(data), None, name), delimiter, name)

    try:
        cells = _parse(data, delimiter)
    except pl.exceptions.PolarsError as exc:
        # Polars refuses an unterminated quote, a row longer than the first and a quote
        # inside an unquoted cell; Python's csv module reads the last and names the line
        # of the others. Bytes that are not UTF-8 are Windows-1252 (unless `encoding`).
        if text is None and "utf-8" in str(exc):
            if options.encoding is not None:
                raise NodeError(f"{name} is not {options.encoding} text") from None
            text = decode(_bytes(data), None, name)
            data = text.encode("utf-8")
            try:
                cells = _parse(data, delimiter)
            except pl.exceptions.PolarsError:
                cells = by_python()
        else:
            cells = by_python()
    cells = _without_blank_lines(cells, lambda: text if text is not None else decode(_bytes(data), None, name),
                                 delimiter)
    if options.header:
        first = cells.row(0) if cells.height else ()
        names = unique_names([c if c is not None else "" for c in first], log)
        cells = cells.slice(1)
    else:
        names = [f"column_{i + 1}" for i in range(cells.width)]
    cells.columns = names
    missing = list(options.missing)
    if missing:
        cells = cells.with_columns(pl.when(pl.col(n).is_in(missing)).then(None).otherwise(pl.col(n)).alias(n)
                                   for n in names)
    return infer_frame(cells)


def _without_blank_lines(cells: pl.DataFrame, text: Callable[[], str], delimiter: str) -> pl.DataFrame:
    """Blank lines are not rows (as pandas and KNIME read them); a line of empty cells is.

    The parser gives both as rows of empty cells, so only when such rows exist is the
    text read again with Python's csv module, which tells them apart.
    """
    if not cells.height or not cells.select(pl.all_horizontal(pl.all() == "").any()).item():
        return cells
    reader = csv.reader(io.StringIO(text(), newline=""), delimiter=delimiter)
    blank = [i for i, row in enumerate(reader) if not row]
    if not blank:
        return cells
    return cells.with_row_index("__row__").filter(~pl.col("__row__").is_in(blank)).drop("__row__")


def _bytes(data: bytes | Path) -> bytes:
    return data.read_bytes() if isinstance(data, Path) else data


def _parse(data: bytes | Path, delimiter: str) -> pl.DataFrame:
    return pl.read_csv(
        data, has_header=False, separator=delimiter, infer_schema=False, empty_string_is_null=False,
        truncate_ragged_lines=False, raise_if_empty=False, quote_char='"',
    )


def _as_utf8(raw: bytes, encoding: str | None, name: str) -> tuple[bytes, str | None]:
    """The file as UTF-8 bytes for the parser, and its text when it had to be decoded."""
    if (encoding is None or _codec(encoding) == "utf-8") and not raw.startswith(
            (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # The parser checks UTF-8 itself (read_csv retries with the decoded text if not).
        return (raw[len(codecs.BOM_UTF8):] if raw.startswith(codecs.BOM_UTF8) else raw), None
    text = decode(raw, encoding, name)
    return text.encode("utf-8"), text


def _python_cells(text: str, delimiter: str, name: str) -> pl.DataFrame:
    """The file read by Python's csv module, when Polars refused it.

    Python's reader takes a quote inside an unquoted cell as text (``12" pizza``), as
    pandas does; an unterminated quote, or a row longer than the first, fails naming
    its line. Slower than Polars, so used only for files Polars refuses.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[list[str]] = []
    width = None
    start_line = 1
    try:
        for row in reader:
            if row:
                if width is None:
                    width = len(row)
                elif len(row) > width:
                    raise NodeError(f"{name} line {start_line} has {len(row)} cells, more than the {width} of the first row")
                rows.append(row)
            start_line = reader.line_num + 1
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise NodeError(f"{name} line {start_line} has a quote that is never closed") from None
        raise NodeError(f"{name} line {reader.line_num}: {exc}") from None
    width = width or 0
    columns = [pl.Series(f"column_{i + 1}", [r[i] if i < len(r) else None for r in rows], dtype=pl.String)
               for i in range(width)]
    return pl.DataFrame(columns)


def unique_names(names: Sequence[str], log: Callable[[str], None]) -> list[str]:
    """Header names made unique (``value``, ``value_2``); an empty one is ``column_N``."""
    result: list[str] = []
    seen: set[str] = set()
    for position, original in enumerate(names, start=1):
        name = original if original.strip() else ""
        if not name:
            name = f"column_{position}"
            log(f"column {position} has no name in the header: called it '{name}'")
        if name in seen:
            n = 2
            while f"{name}_{n}" in seen:
                n += 1
            log(f"column {position} repeats the name '{name}': called it '{name}_{n}'")
            name = f"{name}_{n}"
        seen.add(name)
        result.append(name)
    return result


def read_jsonl(raw: bytes, name: str) -> pl.DataFrame:
    rows = []
    for line_no, line in enumerate(decode(raw, None, name).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise NodeError(f"{name} line {line_no} is not valid JSON ({exc})") from None
        if not isinstance(row, dict):
            raise NodeError(f"{name} line {line_no} is not an object (JSON lines hold one row per line)")
        rows.append(row)
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    return from_rows([{c: row.get(c) for c in columns} for row in rows])


def read_excel(path: Path, sheet: Any, log: Callable[[str], None]) -> pl.DataFrame:
    """One sheet of an ``.xlsx`` file (``sheet``: a name or a 0-based index; the first when unset)."""
    import fastexcel

    try:
        reader = fastexcel.read_excel(str(path))
        names = reader.sheet_names
        if sheet is None or sheet == "":
            chosen: Any = 0
        elif isinstance(sheet, int) and not isinstance(sheet, bool):
            if not 0 <= sheet < len(names):
                raise NodeError(f"{path.name} has no sheet {sheet} (it has {len(names)}: {', '.join(names)})")
            chosen = sheet
        else:
            if str(sheet) not in names:
                raise NodeError(f"{path.name} has no sheet '{sheet}' (sheets: {', '.join(names)})")
            chosen = str(sheet)
        frame = reader.load_sheet(chosen, header_row=None).to_polars()
    except NodeError:
        raise
    except Exception as exc:  # noqa: BLE001 - fastexcel raises its own error kinds
        raise NodeError(f"{path.name} cannot be read as an Excel workbook: {_first_line(exc)}") from None
    return _excel_table(frame, log)


def _excel_table(frame: pl.DataFrame, log: Callable[[str], None]) -> pl.DataFrame:
    """Cells read with no header: the first row names the columns, each column gets one kind."""
    if frame.height == 0:
        return pl.DataFrame()
    header = [_header_text(v) for v in frame.row(0)]
    body = frame.slice(1)
    body.columns = unique_names(header, log)
    columns = []
    for name in body.columns:
        series = body[name]
        if series.dtype == pl.String:
            series = infer(series.set(series.is_in(list(DEFAULT_MISSING)), None))  # type: ignore[arg-type]
        if series.dtype.is_float():
            present = series.drop_nulls()
            if present.len() and (present == present.round(0)).all() and present.abs().max() < 2**53:  # type: ignore[operator]
                series = series.cast(pl.Int64)  # Excel keeps every number as a float
        elif isinstance(series.dtype, pl.Datetime):
            present = series.drop_nulls()
            if present.len() and (present.dt.truncate("1d") == present).all():
                series = series.dt.date()  # Excel keeps dates as midnight times
        columns.append(series)
    return normalize(pl.DataFrame(columns))


def _header_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def read_parquet(raw: bytes, name: str) -> pl.DataFrame:
    try:
        return normalize(pl.read_parquet(io.BytesIO(raw)))
    except pl.exceptions.PolarsError as exc:
        raise NodeError(f"{name} is not a readable Parquet file: {_first_line(exc)}") from None


# -- writing ------------------------------------------------------------------------------

def csv_text(df: pl.DataFrame, delimiter: str = ",") -> str:
    """CSV with a header (also when empty); integers as read, floats with a decimal point kept."""
    # With one column, an empty line would read back as a blank line (no row at all):
    # a missing cell is written as "" there, which reads back as missing.
    null = '""' if df.width == 1 else ""
    return _text_columns(df).write_csv(separator=delimiter, null_value=null, line_terminator="\n")


def _text_columns(df: pl.DataFrame) -> pl.DataFrame:
    # Polars writes floats in their shortest round-trip text with the point kept (0.0, 5.0).
    fixes = []
    for name, dtype in df.schema.items():
        col = pl.col(name)
        if dtype.is_float():
            fixes.append(pl.when(col.is_finite()).then(col).otherwise(None))
        elif isinstance(dtype, pl.Datetime):
            fixes.append(datetime_text(col, dtype, df[name]))
    return df.with_columns(fixes) if fixes else df


def write_jsonl(df: pl.DataFrame) -> str:
    rows = json_columns(df).to_dicts()
    return "".join(json.dumps(r, ensure_ascii=False, allow_nan=False) + "\n" for r in rows)


def write_excel(df: pl.DataFrame, path: Path, sheet: Any) -> None:
    name = str(sheet) if isinstance(sheet, str) and sheet else "Sheet1"
    # Excel has no time zones: aware datetimes are written as their UTC time.
    out = df.with_columns(
        pl.col(c).dt.replace_time_zone(None)
        for c, d in df.schema.items() if isinstance(d, pl.Datetime) and d.time_zone
    )
    out = out.with_columns(
        pl.when(pl.col(c).is_finite()).then(pl.col(c)).otherwise(None)
        for c, d in out.schema.items() if d.is_float()
    )
    out.write_excel(
        str(path), worksheet=name, autofit=True, table_style=None, autofilter=False,
        dtype_formats={pl.Float64: "General", pl.Int64: "0", pl.Date: "yyyy-mm-dd",
                       pl.Datetime: "yyyy-mm-dd hh:mm:ss"},
    )


def write_parquet(df: pl.DataFrame, path: Path) -> None:
    df.write_parquet(str(path), compression="zstd")
