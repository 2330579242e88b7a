"""The Python API: one function per CLI command, with the same JSON-shaped results.

Bad input raises ``studio.errors.StudioError`` (one line); a node that fails does
not raise: the result has ``"status": "failed"``. Safe to call from any thread.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.errors import BadStatePath, RunBusy, StudioError, UsageError

# The model, the engine, the store and the node types are imported by the functions
# that use them, so that ``import studio.api`` stays fast and ``studio runs`` loads
# only what listing runs needs.
if TYPE_CHECKING:
    from studio.engine import Execution
    from studio.engine.execution import EventListener
    from studio.model import Workflow
    from studio.store import Store

ExecutionHook = Callable[["Execution"], None]

__all__ = [
    "checkpoints", "cleanup", "default_db", "edit_state", "history", "resume", "run", "runs",
    "state", "step", "validate",
]


def default_db() -> Path:
    """``$STUDIO_DB``, else ``studio.db`` in the user data folder."""
    env = os.environ.get("STUDIO_DB")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("studio", appauthor=False)) / "studio.db"


def get_store(db: str | Path | None = None) -> Store:
    from studio.store import open_store

    return open_store(db if db is not None else default_db())


def validate(file: str | Path) -> list[str]:
    """Every problem of a workflow file, one line each; empty when valid."""
    from studio.model.workflow import read_json_file

    try:
        data = read_json_file(Path(file))
    except StudioError as exc:
        return [str(exc)]
    from studio.model.validate import validate_data
    from studio.nodes import specs

    return validate_data(data, specs())


def load_workflow(file: str | Path | Workflow) -> Workflow:
    from studio.model.workflow import Workflow

    if isinstance(file, Workflow):
        return file
    return Workflow.load(file)


def run(
    file: str | Path | Workflow,
    *,
    db: str | Path | None = None,
    inputs: dict[str, Any] | None = None,
    break_before: Iterable[str] = (),
    break_after: Iterable[str] = (),
    until: str | None = None,
    breakpoints: bool = True,
    workers: int = 4,
    executor: str = "local",
    rows: int | None = None,
    on_event: EventListener | None = None,
    on_execution: ExecutionHook | None = None,
) -> dict[str, Any]:
    """Start a new run of a workflow; the captured state where it stopped.

    ``rows`` cuts each table in the state's ``outputs`` to its first N rows.
    """
    _check_rows(rows)
    from studio.engine import Execution

    ex = Execution.new_run(
        get_store(db), load_workflow(file), inputs=inputs, break_before=break_before,
        break_after=break_after, until=until, breakpoints=breakpoints, workers=workers,
        executor=executor, on_event=on_event,
    )
    return _execute(ex, on_execution, rows)


def _check_rows(rows: int | None) -> None:
    if rows is not None and (isinstance(rows, bool) or not isinstance(rows, int) or rows < 0):
        raise UsageError("--rows takes a number of rows, 0 or more")


def _execute(ex: Execution, hook: ExecutionHook | None, rows: int | None = None) -> dict[str, Any]:
    ex.rows = rows
    if hook is not None:
        hook(ex)
    return ex.execute()


def resume(
    run_id: str,
    *,
    db: str | Path | None = None,
    from_checkpoint: str | None = None,
    set: dict[str, Any] | None = None,  # noqa: A002 - the contract's name
    break_before: Iterable[str] = (),
    break_after: Iterable[str] = (),
    until: str | None = None,
    clear_breakpoints: bool = False,
    workers: int = 4,
    executor: str = "local",
    workflow: str | Path | Workflow | None = None,
    rows: int | None = None,
    on_event: EventListener | None = None,
    on_execution: ExecutionHook | None = None,
) -> dict[str, Any]:
    """Continue a run (or fork it, from an earlier checkpoint); the captured state."""
    _check_rows(rows)
    from studio.engine import Execution

    ex = Execution.resume_run(
        get_store(db), run_id, workflow=load_workflow(workflow) if workflow is not None else None,
        from_checkpoint=from_checkpoint, set=set, break_before=break_before,
        break_after=break_after, until=until, clear_breakpoints=clear_breakpoints,
        workers=workers, executor=executor, on_event=on_event,
    )
    return _execute(ex, on_execution, rows)


def step(
    run_id: str, *, db: str | Path | None = None, executor: str = "local",
    workflow: str | Path | Workflow | None = None, rows: int | None = None,
    on_event: EventListener | None = None, on_execution: ExecutionHook | None = None,
) -> dict[str, Any]:
    """Run exactly one more node (the first of ``next``), then pause."""
    _check_rows(rows)
    from studio.engine import Execution

    ex = Execution.resume_run(
        get_store(db), run_id, step=True, workers=1, executor=executor,
        workflow=load_workflow(workflow) if workflow is not None else None, on_event=on_event,
    )
    return _execute(ex, on_execution, rows)


def state(
    run_id: str, *, db: str | Path | None = None, checkpoint: str | None = None, rows: int | None = None
) -> dict[str, Any]:
    """The captured state at the latest checkpoint, or at ``checkpoint``.

    With ``rows`` only the first N rows of each table are read and shown (``tables``
    still tells each table's full row count).
    """
    _check_rows(rows)
    from studio.engine import captured_state, recover, run_workflow_copy

    store = get_store(db)
    rec = recover(store, store.get_run(run_id))
    snapshot = store.load(run_id, checkpoint, table_rows=rows)
    is_latest = checkpoint is None  # load() without a checkpoint reads the latest one
    if not is_latest:
        latest = store.latest_checkpoint(run_id)
        is_latest = latest is not None and latest["id"] == snapshot.checkpoint_id
    return captured_state(run_workflow_copy(rec), snapshot, rec.status, latest=is_latest, rows=rows)


def checkpoints(run_id: str, *, db: str | Path | None = None) -> list[dict[str, Any]]:
    from studio.engine.owner import recover

    store = get_store(db)
    recover(store, store.get_run(run_id))
    return [dict(c) for c in store.checkpoints(run_id)]


def history(run_id: str, *, db: str | Path | None = None) -> list[dict[str, Any]]:
    from studio.engine.owner import recover

    store = get_store(db)
    recover(store, store.get_run(run_id))
    return store.history(run_id)


def runs(*, db: str | Path | None = None) -> list[dict[str, Any]]:
    """Every run, oldest first; runs whose process died are marked ``interrupted``."""
    from studio.engine.owner import recover_all

    return [r.public() for r in recover_all(get_store(db))]


def cleanup(
    *,
    db: str | Path | None = None,
    run: str | None = None,
    keep: int | None = None,
    older_than_days: float | None = None,
    completed: bool = False,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Delete old checkpoints; never the one a paused or failed run resumes from."""
    if keep is None and older_than_days is None:
        raise UsageError("cleanup needs --keep N or --older-than DAYS")
    if keep is not None and keep < 0:
        raise UsageError("--keep must be 0 or more")
    if older_than_days is not None and not (0 <= older_than_days <= 100_000):
        raise UsageError("--older-than takes a number of days from 0 to 100000")
    from studio.engine.owner import recover, recover_all

    store = get_store(db)
    if run is not None:
        recover(store, store.get_run(run))
    else:
        recover_all(store)
    return store.cleanup(run=run, keep=keep, older_than_days=older_than_days, completed=completed, dry_run=dry_run)


def edit_state(
    run_id: str, set: dict[str, Any], *, db: str | Path | None = None, rows: int | None = None  # noqa: A002
) -> dict[str, Any]:
    """Edit a paused, failed or interrupted run's state without resuming it (writes a checkpoint)."""
    _check_rows(rows)
    from studio.engine import parse_edits, recover, run_workflow_copy
    from studio.store import NewEvent

    store = get_store(db)
    rec = recover(store, store.get_run(run_id))
    if rec.status == "running":
        raise RunBusy(f"run '{run_id}' is running: pause it before editing its state")
    if rec.status == "completed":
        raise BadStatePath(f"run '{run_id}' is completed: fork it from a checkpoint to change values")
    wf = run_workflow_copy(rec)
    snapshot = store.load(run_id)
    cp = parse_edits(set, wf, snapshot)
    store.commit(run_id, cp, [NewEvent("state_edited", cp.node, {"set": set})])
    return state(run_id, db=db, rows=rows)
