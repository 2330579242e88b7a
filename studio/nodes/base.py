"""What a node type is: its declaration (``NodeSpec``) plus the code that runs it."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.errors import NodeError
from studio.model.spec import NodeSpec


class Cancelled(Exception):  # noqa: N818 - it is a signal, not an error
    """Raised by a node whose work was cut short by pause or stop; it is not committed."""


@dataclass
class NodeContext:
    """What a running node may know about its run."""

    node_id: str
    workflow_dir: Path
    run_inputs: dict[str, Any] = field(default_factory=dict)
    log: Callable[[str], None] = lambda line: None
    cancel: threading.Event = field(default_factory=threading.Event)

    def resolve(self, path: str) -> Path:
        """A param path, relative to the workflow file's folder."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else self.workflow_dir / p


RunFunction = Callable[[dict[str, Any], dict[str, Any], NodeContext], dict[str, Any]]


@dataclass(frozen=True)
class NodeType:
    """A node type: ``run(inputs, params, ctx)`` returns the outputs it produced."""

    spec: NodeSpec
    run: RunFunction

    @property
    def type(self) -> str:
        return self.spec.type


def lazy_module(name: str) -> Any:
    """A module imported when one of its names is first used (keeps start-up light)."""

    class Lazy:
        def __getattr__(self, attr: str) -> Any:
            return getattr(importlib.import_module(name), attr)

    return Lazy()


def fail(message: str) -> NodeError:
    """A node failure with a one-line message (``raise fail("...")``)."""
    return NodeError(" ".join(message.split()))
