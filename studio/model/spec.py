"""Declarations of node types: their ports and params (no behaviour here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PortSpec:
    """One input or output port of a node type."""

    name: str
    type: str = "any"
    required: bool = True
    description: str = ""
    #: What the inspector offers for an unconnected input (kept in ``params`` once set).
    default: Any = None


@dataclass(frozen=True)
class ParamSpec:
    """One parameter a node type reads from its ``params``."""

    name: str
    type: str = "any"
    required: bool = False
    default: Any = None
    choices: tuple[Any, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class NodeSpec:
    """What a node type looks like from outside: for validation, the palette, the inspector."""

    type: str
    label: str
    category: str
    description: str
    inputs: tuple[PortSpec, ...] = ()
    outputs: tuple[PortSpec, ...] = ()
    params: tuple[ParamSpec, ...] = ()
    #: Extra static check of a node's params; returns problems (used by ``expression``).
    param_checks: tuple[Any, ...] = field(default=(), compare=False)

    def input(self, name: str) -> PortSpec | None:
        return next((p for p in self.inputs if p.name == name), None)

    def output(self, name: str) -> PortSpec | None:
        return next((p for p in self.outputs if p.name == name), None)

    def param(self, name: str) -> ParamSpec | None:
        return next((p for p in self.params if p.name == name), None)
