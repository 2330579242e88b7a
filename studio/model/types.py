"""Port and param value types: compatibility between ports and checks of values."""

from __future__ import annotations

from typing import Any

PORT_TYPES = ("any", "number", "text", "bool", "list", "table", "object")
#: Param-only types: ``path`` is text naming a file, ``expression`` is text in the expression language.
PARAM_TYPES = PORT_TYPES + ("path", "expression")


def can_connect(source_type: str, target_type: str) -> bool:
    """Whether an output of ``source_type`` may feed an input of ``target_type``."""
    if source_type == "any" or target_type == "any" or source_type == target_type:
        return True
    if source_type == "number" and target_type == "text":
        return True
    # A table is a list of objects, so it is also a list.
    return source_type == "table" and target_type == "list"


def type_of(value: Any) -> str:
    """The port type name that best describes a JSON value."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "text"
    if is_frame(value):
        return "table"
    if isinstance(value, list):
        return "table" if is_table(value) and value else "list"
    if isinstance(value, dict):
        return "object"
    if value is None:
        return "null"
    return type(value).__name__


def is_frame(value: Any) -> bool:
    """A table held as a Polars DataFrame (checked without importing Polars)."""
    kind = type(value)
    return kind.__name__ == "DataFrame" and kind.__module__.startswith("polars")


def is_table(value: Any) -> bool:
    """A table: a DataFrame, or (as JSON) a list of objects that all have the same keys."""
    if is_frame(value):
        return True
    if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
        return False
    return not value or all(row.keys() == value[0].keys() for row in value)


def matches(value: Any, type_name: str) -> bool:
    """Whether ``value`` is acceptable for a port or param of ``type_name``."""
    if type_name == "any":
        return True
    if type_name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if type_name in ("text", "path", "expression"):
        return isinstance(value, str)
    if type_name == "bool":
        return isinstance(value, bool)
    if type_name == "list":
        return isinstance(value, list) or is_frame(value)
    if type_name == "table":
        return is_table(value)
    if type_name == "object":
        return isinstance(value, dict)
    return False


def coerce(value: Any, type_name: str) -> Any:
    """Convert ``value`` for an input of ``type_name`` (only number→text converts)."""
    if type_name == "text" and matches(value, "number"):
        return format_number(value)
    return value


def format_number(value: float | int) -> str:
    """Numbers as a person writes them: ``3`` not ``3.0``."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return str(value)


def is_position(value: Any) -> bool:
    """A canvas position as the file holds it: ``[x, y]`` numbers."""
    return isinstance(value, list) and len(value) == 2 and all(matches(v, "number") for v in value)
