"""Node types: the built-ins and those registered by plugins."""

from studio.nodes.base import Cancelled, NodeContext, NodeType, fail
from studio.nodes.registry import BUILTIN_TYPES, get, registry, specs

__all__ = ["BUILTIN_TYPES", "Cancelled", "NodeContext", "NodeType", "fail", "get", "registry", "specs"]
