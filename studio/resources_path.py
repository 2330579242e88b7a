"""Where the bundled resources (examples, icons, styles) live, installed or not."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def resources_dir() -> Path:
    """The ``resources`` folder, shipped inside the package as ``studio.resources``."""
    try:
        path = Path(str(files("studio.resources")))
        if (path / "examples").is_dir():
            return path
    except ModuleNotFoundError:
        pass
    return Path(__file__).resolve().parent.parent / "resources"


def example(name: str) -> Path:
    """A bundled example workflow by file name (``hello.flow.json``)."""
    return resources_dir() / "examples" / name


def icon(name: str) -> Path:
    return resources_dir() / "icons" / name
