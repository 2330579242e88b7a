"""Start-up cost: the commands that need no engine do not import the heavy libraries.

Each check runs the CLI in a fresh interpreter (so nothing an earlier test imported
counts) and asks which of the slow-to-import libraries ended up in ``sys.modules``.
No timings are asserted: only what was imported.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from flows import chain

HEAVY = ("sqlalchemy", "sqlmodel", "networkx", "pydantic", "polars", "PySide6")

PROBE = """
import contextlib, io, json, sys
import studio.cli
args = json.loads(sys.argv[1])
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    try:
        code = studio.cli.main(args)
    except SystemExit as exc:
        code = exc.code
heavy = json.loads(sys.argv[2])
print(json.dumps({"code": code, "loaded": sorted(m for m in heavy if m in sys.modules),
                  "studio": sorted(m for m in sys.modules if m.startswith("studio."))}))
"""


def imported(*args: str) -> dict[str, object]:
    """Run ``studio ARGS`` through ``studio.cli.main`` in a child; its exit code and imports."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(list(args)), json.dumps(HEAVY)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--help"], 0),
        (["runs", "--help"], 0),
        (["run", "--help"], 0),
        (["--version"], 0),
        (["bogus"], 2),  # an unknown command: a usage error
        (["run"], 2),  # a missing argument
        (["runs", "--db"], 2),  # --db without a path
    ],
)
def test_help_and_usage_errors_import_nothing_heavy(args: list[str], code: int) -> None:
    result = imported(*args)
    assert result["code"] == code
    assert result["loaded"] == []
    # Nor the engine or the store: parsing the command line needs neither.
    studio_modules = result["studio"]
    assert isinstance(studio_modules, list)
    assert not [m for m in studio_modules if m.startswith(("studio.engine", "studio.store"))]


def test_listing_runs_imports_nothing_heavy(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    flow = chain(tmp_path, 2)
    # A first process creates the database (and may need more to do so).
    first = imported("run", str(flow), "--db", str(db))
    assert first["code"] == 0
    result = imported("runs", "--db", str(db))
    assert result["code"] == 0
    assert result["loaded"] == []


def test_validating_a_file_needs_no_database_or_tables(tmp_path: Path) -> None:
    result = imported("validate", str(chain(tmp_path, 3)))
    assert result["code"] == 0
    loaded = result["loaded"]
    assert isinstance(loaded, list)
    assert not set(loaded) & {"sqlalchemy", "sqlmodel", "pydantic", "polars", "PySide6"}
