"""Where the bundled resources (examples, icons, styles) live, installed or not."""

from __future__ import annotations

import contextlib
from importlib.resources import files
from pathlib import Path


def resources_dir() -> Path:
    """The ``resources`` folder, shipped inside the package as ``studio.resources``."""
    with contextlib.suppress(ModuleNotFoundError):
        path = Path(str(files("studio.resources")))
        if (path / "examples").is_dir():
            return path
    # A source checkout run without installing: the folder beside the package.
    return Path(__file__).resolve().parent.parent / "resources"


def example(name: str) -> Path:
    """A bundled example workflow by file name (``hello.flow.json``)."""
    return resources_dir() / "examples" / name


def icon(name: str) -> Path:
    return resources_dir() / "icons" / name
