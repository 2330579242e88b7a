"""Pure data: the workflow graph, ports, types, the file format, validation.

The names below are loaded on first use (PEP 562), so that importing one small
module such as ``studio.model.types`` does not load the workflow file code and
validation as well; ``from studio.model import Workflow`` works as before.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from studio.model.spec import NodeSpec, ParamSpec, PortSpec
    from studio.model.types import PORT_TYPES, can_connect, matches
    from studio.model.validate import validate_data
    from studio.model.workflow import Edge, Node, Note, Workflow, read_json_file

_WHERE = {
    "NodeSpec": "spec",
    "ParamSpec": "spec",
    "PortSpec": "spec",
    "PORT_TYPES": "types",
    "can_connect": "types",
    "matches": "types",
    "validate_data": "validate",
    "Edge": "workflow",
    "Node": "workflow",
    "Note": "workflow",
    "Workflow": "workflow",
    "read_json_file": "workflow",
}

__all__ = [
    "PORT_TYPES",
    "Edge",
    "Node",
    "NodeSpec",
    "Note",
    "ParamSpec",
    "PortSpec",
    "Workflow",
    "can_connect",
    "matches",
    "read_json_file",
    "validate_data",
]


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"studio.model.{where}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
