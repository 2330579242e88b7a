"""The registry of node types: the 18 built-ins plus entry-point group ``studio.nodes``."""

from __future__ import annotations

import logging
import sys
import threading
import types
from collections.abc import Mapping
from typing import Any

from studio.model.spec import NodeSpec
from studio.nodes.base import NodeType
from studio.nodes.core import CORE_NODES
from studio.nodes.data import DATA_NODES

log = logging.getLogger("studio.nodes")
ENTRY_POINT_GROUP = "studio.nodes"
BUILTIN_TYPES: tuple[NodeType, ...] = tuple(CORE_NODES + DATA_NODES)

_lock = threading.Lock()
_registry: dict[str, NodeType] | None = None


def entry_points(*, group: str) -> Any:
    """``importlib.metadata.entry_points``, imported only when plugins are first looked up."""
    from importlib.metadata import entry_points as find

    return find(group=group)


def _load_plugins(into: dict[str, NodeType]) -> None:
    """Add third-party node types; a broken plugin is logged and left out, never fatal."""
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
            found = obj() if callable(obj) and not isinstance(obj, NodeType) else obj
            items = found if isinstance(found, (list, tuple)) else [found]
            for item in items:
                if not isinstance(item, NodeType):
                    raise TypeError(f"expected a NodeType, got {type(item).__name__}")
                if item.type in into:
                    log.warning("plugin %s: node type %r already exists, ignored", ep.name, item.type)
                    continue
                into[item.type] = item
        except Exception as exc:  # noqa: BLE001 - a plugin must not break the program
            log.warning("plugin %s could not be loaded: %s", ep.name, exc)


def registry() -> dict[str, NodeType]:
    """All node types by id (built once, then shared)."""
    global _registry
    with _lock:
        if _registry is None:
            found = {t.type: t for t in BUILTIN_TYPES}
            _load_plugins(found)
            _registry = found
        return _registry


#: Same as ``registry()``; the name to use from ``studio.nodes``.
all_types = registry


def specs() -> Mapping[str, NodeSpec]:
    """The declarations of all node types, for validation, the palette and the inspector."""
    return {name: t.spec for name, t in registry().items()}


def get(type_name: str) -> NodeType | None:
    return registry().get(type_name)


class _CallableModule(types.ModuleType):
    """Lets ``studio.nodes.registry()`` keep working although it names this module."""

    def __call__(self) -> dict[str, NodeType]:
        return registry()


sys.modules[__name__].__class__ = _CallableModule
