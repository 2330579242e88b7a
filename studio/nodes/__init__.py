"""Node types: the built-ins and those registered by plugins.

``studio.nodes.registry`` is the registry module (so tests and tools can reach
``studio.nodes.registry.entry_points``); calling it, ``studio.nodes.registry()``,
still gives all node types by id, like ``studio.nodes.all_types()``.
"""

from studio.nodes import registry
from studio.nodes.base import Cancelled, NodeContext, NodeType, fail
from studio.nodes.registry import BUILTIN_TYPES, all_types, get, specs

__all__ = [
    "BUILTIN_TYPES",
    "Cancelled",
    "NodeContext",
    "NodeType",
    "all_types",
    "fail",
    "get",
    "registry",
    "specs",
]
