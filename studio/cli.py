"""The ``studio`` command: a thin shell over ``studio.api``.

``studio.api`` (and through it the model, engine and store) is imported by the
command that needs it, not here: ``studio --help`` and a bad command line must
start fast, without SQLAlchemy, networkx, pydantic or polars.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import time
from collections.abc import Callable, Sequence

from studio import __version__
from studio.errors import StudioError, UsageError

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs startup time
if TYPE_CHECKING:
    from typing import Any, NoReturn

    from studio.engine import Execution

EXIT_FOR_STATUS = {"completed": 0, "paused": 3, "failed": 4, "interrupted": 130, "cancelled": 1}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see 'studio {self.prog.split()[-1]} --help')"
                         if " " in self.prog else f"{message} (see 'studio --help')")


def _value(text: str) -> Any:
    """A value from the command line: JSON when it parses, else plain text."""

    def refuse(name: str) -> Any:
        raise ValueError(name)

    try:
        value = json.loads(text, parse_constant=refuse)
    except (ValueError, RecursionError):
        return text
    if isinstance(value, float) and not math.isfinite(value):
        return text  # 1e400 is not a number JSON can hold
    return value


def _pairs(items: Sequence[str] | None, flag: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"{flag} {item}: use {flag} NAME=VALUE")
        out[key] = _value(value)
    return out


def _split_globals(argv: list[str]) -> tuple[list[str], str | None, bool, bool]:
    """Take ``--db``, ``--json`` and ``--debug`` from anywhere on the line."""
    rest: list[str] = []
    db: str | None = None
    as_json = debug = False
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--json":
            as_json = True
        elif arg == "--debug":
            debug = True
        elif arg == "--db":
            if i + 1 >= len(argv):
                raise UsageError("--db needs a path")
            db = argv[i + 1]
            i += 1
        elif arg.startswith("--db="):
            db = arg[len("--db="):]
        else:
            rest.append(arg)
        i += 1
    return rest, db, as_json, debug


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="studio",
        description="Workflow Studio: run and debug workflows. Every command takes --db PATH and --json.",
    )
    p.add_argument("--version", action="version", version=f"studio {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    g = sub.add_parser("gui", help="open the designer")
    g.add_argument("file", nargs="?")

    def rows_flag(q: argparse.ArgumentParser) -> None:
        q.add_argument("--rows", type=int, metavar="N", help="show only the first N rows of each table")

    def run_flags(q: argparse.ArgumentParser) -> None:
        q.add_argument("--break-before", action="append", default=[], metavar="NODE")
        q.add_argument("--break-after", action="append", default=[], metavar="NODE")
        q.add_argument("--until", metavar="NODE")
        q.add_argument("--workers", type=int, default=4)
        q.add_argument("--executor", default="local")
        rows_flag(q)

    r = sub.add_parser("run", help="run a workflow file")
    r.add_argument("file")
    r.add_argument("--input", action="append", default=[], metavar="K=V")
    r.add_argument("--no-breakpoints", action="store_true")
    run_flags(r)

    s = sub.add_parser("resume", help="continue a run, or fork it with --from")
    s.add_argument("run")
    s.add_argument("--from", dest="from_checkpoint", metavar="CHECKPOINT")
    s.add_argument("--set", action="append", default=[], metavar="PATH=V")
    s.add_argument("--clear-breakpoints", action="store_true")
    s.add_argument("--workflow", metavar="FILE", help="resume with this (changed) workflow file")
    run_flags(s)

    st = sub.add_parser("step", help="run exactly one more node, then pause")
    st.add_argument("run")
    st.add_argument("--executor", default="local")
    rows_flag(st)

    sv = sub.add_parser("state", help="captured state of a run")
    sv.add_argument("run")
    sv.add_argument("--checkpoint", metavar="ID")
    rows_flag(sv)

    for name, text in (("checkpoints", "checkpoints of a run"), ("history", "history of a run")):
        sub.add_parser(name, help=text).add_argument("run")
    sub.add_parser("runs", help="all runs")

    c = sub.add_parser("cleanup", help="delete old checkpoints")
    c.add_argument("--run")
    c.add_argument("--keep", type=int)
    c.add_argument("--older-than", type=float, metavar="DAYS")
    c.add_argument("--completed", action="store_true")
    c.add_argument("--dry-run", action="store_true", help="only say what would be deleted")

    v = sub.add_parser("validate", help="check workflow files")
    v.add_argument("files", nargs="+", metavar="FILE")
    return p


class _Progress:
    """A progress line on stderr once a run takes more than a moment."""

    def __init__(self, total: int, quiet: bool = False) -> None:
        self.total = total
        self.quiet = quiet
        self.done = 0
        self.start = time.monotonic()
        self.last = 0.0
        self.tty = sys.stderr.isatty()

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event["event"]
        if kind == "log":
            self._clear()
            sys.stderr.write(f"{event['node']}: {event['detail'].get('line', '')}\n")
            sys.stderr.flush()
            return
        if kind in ("node_completed", "node_failed", "node_skipped"):
            self.done += 1
        if self.quiet or kind not in ("node_started", "node_completed", "node_failed", "node_skipped"):
            return
        now = time.monotonic()
        if now - self.start < 1.0 or (not self.tty and now - self.last < 1.0):
            return
        self.last = now
        count = f"{self.done}/{self.total}" if self.total else f"{self.done} done"
        line = f"[{count}] {kind.replace('_', ' ')}: {event['node']}"
        sys.stderr.write(("\r\x1b[K" + line) if self.tty else line + "\n")
        sys.stderr.flush()

    def _clear(self) -> None:
        if self.tty and self.last:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()

    def finish(self) -> None:
        self._clear()


def _execute(
    call: Callable[..., dict[str, Any]], total: int, as_json: bool, **kwargs: Any
) -> dict[str, Any]:
    """Run an engine command with Ctrl-C turned into a clean interruption."""
    holder: list[Execution] = []
    progress = _Progress(total, quiet=as_json)

    def on_sigint(_sig: int, _frame: Any) -> None:
        if holder:
            holder[0].interrupt()
        else:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        return call(on_execution=holder.append, on_event=progress, **kwargs)
    finally:
        signal.signal(signal.SIGINT, previous)
        progress.finish()


def _node_count(file: str) -> int:
    from studio import api

    try:
        return len(api.load_workflow(file).nodes)
    except StudioError:
        return 0


def _summary(state: dict[str, Any]) -> str:
    status, run_id = state["status"], state["run_id"]
    done = f"{len(state['completed'])} completed, {len(state['skipped'])} skipped"
    if status == "completed":
        return f"run {run_id} completed ({done})"
    if status == "paused":
        nxt = ", ".join(state["next"]) or "-"
        return f"run {run_id} paused ({done}); next: {nxt}. Continue: studio resume {run_id}"
    if status == "failed":
        errors = "; ".join(f"{n}: {m}" for n, m in state["errors"].items())
        return f"run {run_id} failed: {errors}. Fix it, then: studio resume {run_id}"
    return f"run {run_id} {status} ({done}). Continue: studio resume {run_id}"


def _print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    if not rows:
        print("(none)")
        return
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= 60 else text[:57] + "..."
    return str(value)


def _command(args: argparse.Namespace, db: str | None, as_json: bool) -> int:
    out: Any
    cmd = args.command
    if cmd in (None, "gui"):
        from studio.ui.app import main as gui_main

        return gui_main(getattr(args, "file", None), db)
    from studio import api
    if cmd == "validate":
        problems_total = 0
        report = []
        for file in args.files:
            problems = api.validate(file)
            report.append({"file": file, "valid": not problems, "problems": problems})
            for problem in problems:
                line = problem if problem.startswith(str(file)) else f"{file}: {problem}"
                print(line, file=sys.stderr)
            problems_total += len(problems)
            if not problems and not as_json:
                print(f"{file}: valid")
        if as_json:
            print(json.dumps(report if len(report) > 1 else report[0], indent=2))
        return 2 if problems_total else 0
    if cmd in ("run", "resume", "step"):
        if not as_json and args.rows is None:
            args.rows = 0  # only a summary is printed: no table rows are needed
        if cmd == "run":
            state = _execute(
                api.run, _node_count(args.file), as_json, file=args.file, db=db,
                inputs=_pairs(args.input, "--input"), break_before=args.break_before,
                break_after=args.break_after, until=args.until,
                breakpoints=not args.no_breakpoints, workers=args.workers, executor=args.executor,
                rows=args.rows,
            )
        elif cmd == "resume":
            state = _execute(
                api.resume, 0, as_json, run_id=args.run, db=db,
                from_checkpoint=args.from_checkpoint, set=_pairs(args.set, "--set") or None,
                break_before=args.break_before, break_after=args.break_after, until=args.until,
                clear_breakpoints=args.clear_breakpoints, workers=args.workers,
                executor=args.executor, workflow=args.workflow, rows=args.rows,
            )
        else:
            state = _execute(api.step, 0, as_json, run_id=args.run, db=db, executor=args.executor,
                             rows=args.rows)
        if as_json:
            print(json.dumps(state, indent=2, ensure_ascii=False))
        else:
            print(_summary(state))
        return EXIT_FOR_STATUS.get(state["status"], 1)
    if cmd == "state":
        out = api.state(args.run, db=db, checkpoint=args.checkpoint, rows=args.rows)
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    if cmd == "checkpoints":
        out = api.checkpoints(args.run, db=db)
        columns = ["id", "seq", "node", "event", "created_at", "size_bytes"]
    elif cmd == "history":
        out = api.history(args.run, db=db)
        columns = ["seq", "time", "event", "node", "detail"]
    elif cmd == "runs":
        out = api.runs(db=db)
        columns = ["id", "workflow", "status", "created_at", "updated_at", "parent_run"]
    else:  # cleanup
        out = api.cleanup(
            db=db, run=args.run, keep=args.keep, older_than_days=args.older_than,
            completed=args.completed, dry_run=args.dry_run,
        )
        if not as_json:
            verb = "would delete" if out.get("dry_run") else "deleted"
            print(f"{verb} {out['deleted']} checkpoint(s), {out['bytes']} bytes")
            return 0
        columns = []
    if as_json:
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        _print_table(out, columns)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    raw = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in raw
    try:
        rest, db, as_json, debug = _split_globals(raw)
        if debug:
            import logging

            logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s %(message)s")
            logging.getLogger("studio").setLevel(logging.DEBUG)
        args = _parser().parse_args(rest)
        if db is not None and not db:
            raise UsageError("--db needs a path")
        return _command(args, db, as_json)
    except StudioError as exc:
        for line in getattr(exc, "problems", None) or [str(exc)]:
            print(f"studio: {line}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("studio: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:  # noqa: BLE001 - never a traceback unless --debug
        if debug:
            import traceback

            traceback.print_exc()
        print(f"studio: unexpected error: {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
