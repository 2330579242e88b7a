"""Pure data: the workflow graph, ports, types, the file format, validation."""

from studio.model.spec import NodeSpec, ParamSpec, PortSpec
from studio.model.types import PORT_TYPES, can_connect, matches
from studio.model.validate import validate_data
from studio.model.workflow import Edge, Node, Note, Workflow, read_json_file

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
