"""Executing a run: scheduling on worker threads, checkpoints, breakpoints, pause, stop."""

from __future__ import annotations

import builtins
import copy
import functools
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.engine import decide, owner
from studio.engine.executors import NodeExecutor, check_executor, make_executor
from studio.engine.state import captured_state, parse_edits, stale_nodes
from studio.engine.tasks import NodeResult, NodeTask, run_task
from studio.errors import (
    BadStatePath,
    CorruptCheckpoint,
    InvalidWorkflow,
    RunBusy,
    StudioError,
    UnknownCheckpoint,
    UnknownNode,
    UsageError,
)
from studio.model import Edge, Workflow, matches, validate_data
from studio.model.types import coerce, is_frame, type_of
from studio.nodes import get, specs
from studio.status import RESUMABLE as RESUMABLE_STATUSES
from studio.store import (
    COMPLETED,
    FAILED,
    SKIPPED,
    NewCheckpoint,
    NewEvent,
    RunRecord,
    Snapshot,
    StateIndex,
    Store,
    short_id,
)
from studio.store.checkpoints import Item, RunWriter, Written
from studio.store.state import base_due

log = logging.getLogger("studio.engine")
EventListener = Callable[[dict[str, Any]], None]
STARTED_FLUSH_SECONDS = 0.05
RESUMABLE = tuple(sorted(RESUMABLE_STATUSES))
_ATOMIC = (int, float, str, bool, type(None))
#: Node types so cheap and free of side effects that handing them to a worker thread
#: costs more than running them: with the local executor they run on the coordinator.
INLINE_TYPES = frozenset({"input", "constant", "math", "compare", "text", "get_field", "branch", "merge", "check"})


@dataclass
class Breakpoints:
    """The breakpoints a run carries: before and after nodes."""

    before: set[str] = field(default_factory=set)
    after: set[str] = field(default_factory=set)

    def to_json(self) -> dict[str, list[str]]:
        return {"before": sorted(self.before), "after": sorted(self.after)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Breakpoints:
        return cls(set(data.get("before", [])), set(data.get("after", [])))


def check_workflow(workflow: Workflow) -> None:
    problems = validate_data(workflow.to_dict(), specs())
    if problems:
        raise InvalidWorkflow(problems)


def check_node_flags(workflow: Workflow, before: Iterable[str], after: Iterable[str], until: str | None) -> None:
    """Every node named by --break-before, --break-after and --until must exist."""
    for flag, nodes in (("--break-before", before), ("--break-after", after), ("--until", [until] if until else [])):
        for node in nodes:
            if node not in workflow.nodes:
                raise UnknownNode(f"{flag} {node}: the workflow has no node '{node}'")


class Execution:
    """One session of executing a run, from a start or a resume until it stops.

    Build it with ``new_run`` or ``resume_run`` (no I/O), then call ``execute()``
    on the thread that should coordinate (never the GUI thread). ``pause()``,
    ``stop()`` and ``interrupt()`` may be called from any thread.
    """

    def __init__(
        self, store: Store, *, workers: int = 4, executor: str = "local", on_event: EventListener | None = None
    ) -> None:
        if workers < 1:
            raise UsageError("--workers must be at least 1")
        check_executor(executor)
        self.store = store
        self.workers = workers
        self.executor = executor
        self._runner: NodeExecutor | None = None
        self.on_event = on_event
        self.run_id: str | None = None
        self._setup: Callable[[], Snapshot | None] = lambda: None
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._request: str | None = None  # "pause" | "stop" | "interrupt"
        self._pause_reason: str | None = None
        self._paused_before: set[str] = set()
        self._held: set[str] = set()  # nodes that must not start in this session
        self._hold_reasons: list[str] = []
        self.workflow = Workflow()
        self.breakpoints = Breakpoints()
        self.until: str | None = None
        self.step = False
        self._skip_once: set[str] = set()
        self._started_at = time.perf_counter()
        self._started: list[NewEvent] = []  # node_started events not yet written
        self._owned: str | None = None
        self._index = StateIndex()
        self._outputs: dict[str, dict[str, Any]] = {}
        self._writer: RunWriter | None = None
        self._readiness: decide.Readiness | None = None  # set when the loop starts
        self._in_edges: dict[str, list[Edge]] = {}
        self._succ: dict[str, list[str]] = {}
        self._done: queue.SimpleQueue[Future[NodeResult]] = queue.SimpleQueue()
        self.rows: int | None = None  # the returned state shows only the first N rows of each table

    # -- construction ------------------------------------------------------------------

    @classmethod
    def new_run(
        cls,
        store: Store,
        workflow: Workflow,
        *,
        inputs: dict[str, Any] | None = None,
        break_before: Iterable[str] = (),
        break_after: Iterable[str] = (),
        until: str | None = None,
        breakpoints: bool = True,
        workers: int = 4,
        executor: str = "local",
        on_event: EventListener | None = None,
    ) -> Execution:
        ex = cls(store, workers=workers, executor=executor, on_event=on_event)
        ex.workflow = workflow
        ex.until = until
        before, after = list(break_before), list(break_after)

        def setup() -> Snapshot:
            check_workflow(workflow)
            check_node_flags(workflow, before, after, until)
            try:
                json.dumps(inputs or {}, allow_nan=False)
            except (TypeError, ValueError):
                raise UsageError("run inputs must be JSON values") from None
            run_inputs = {**(workflow.inputs or {}), **(inputs or {})}
            ex.breakpoints = Breakpoints(
                set(before) | (set(workflow.breakpoints()) if breakpoints else set()), set(after)
            )
            run_id = short_id("r")
            ex._own(run_id)
            base = StateIndex(inputs=run_inputs).to_base()
            [(cp, events)] = store.create_run(
                run_id=run_id,
                workflow=str(workflow.path) if workflow.path else "",
                workflow_json=_compact(workflow),
                name=workflow.name,
                breakpoints=ex.breakpoints.to_json(),
                owner=owner.me(),
                first=NewCheckpoint("run_started", None, {}, base=base),
                events=[NewEvent("run_started", None, {
                    "workflow": str(workflow.path or ""), "inputs": run_inputs,
                    "breakpoints": ex.breakpoints.to_json(), "until": until,
                })],
            )
            ex.run_id = run_id  # only now can other threads look the run up
            ex._writer = store.writer(run_id)
            ex._emit(events, cp)
            assert cp is not None
            return Snapshot(run_id, cp["id"], 0, StateIndex(inputs=run_inputs), {})

        ex._setup = setup
        return ex

    @classmethod
    def resume_run(
        cls,
        store: Store,
        run_id: str,
        *,
        workflow: Workflow | None = None,
        from_checkpoint: str | None = None,
        set: dict[str, Any] | None = None,  # noqa: A002 - the contract's name
        break_before: Iterable[str] = (),
        break_after: Iterable[str] = (),
        until: str | None = None,
        clear_breakpoints: bool = False,
        step: bool = False,
        workers: int = 4,
        executor: str = "local",
        on_event: EventListener | None = None,
    ) -> Execution:
        ex = cls(store, workers=workers, executor=executor, on_event=on_event)
        ex.until = until
        ex.step = step
        before, after = list(break_before), list(break_after)

        def setup() -> Snapshot | None:
            started = time.perf_counter()
            rec = owner.recover(store, store.get_run(run_id))
            wf = workflow or load_run_workflow(rec)
            ex.workflow = wf
            compact = _compact(wf)
            if compact != rec.workflow_json:  # the run's own copy was checked when it was stored
                check_workflow(wf)
            check_node_flags(wf, before, after, until)
            latest = store.latest_checkpoint(run_id)
            fork = False
            if from_checkpoint is not None:
                found = store.find_checkpoint(from_checkpoint)
                if found["run_id"] != run_id:
                    raise UnknownCheckpoint(f"checkpoint '{from_checkpoint}' does not belong to run '{run_id}'")
                fork = rec.status == "completed" or latest is None or found["id"] != latest["id"]
            if rec.status == "running" and not fork:
                raise RunBusy(f"run '{run_id}' is being run by process {rec.owner_pid} on {rec.owner_host}")
            if rec.status == "completed" and not fork:
                if set:
                    raise BadStatePath(f"run '{run_id}' is completed: use --from CHECKPOINT to fork it and set values")
                if until:
                    raise UsageError(f"--until {until}: node '{until}' already completed")
                ex.run_id = run_id
                return None
            snapshot = store.load(run_id, from_checkpoint if fork else None)
            entry = snapshot.index.nodes.get(until) if until else None
            if entry is not None and entry.status in (COMPLETED, SKIPPED):
                raise UsageError(f"--until {until}: node '{until}' already completed")
            edit = parse_edits(set, wf, snapshot) if set else None
            stale = stale_nodes(run_workflow_copy(rec), wf, snapshot.index) if compact != rec.workflow_json else []
            carried = Breakpoints() if clear_breakpoints else Breakpoints.from_json(rec.breakpoints)
            ex.breakpoints = Breakpoints(carried.before | builtins.set(before), carried.after | builtins.set(after))
            ex._index, ex._outputs = snapshot.index, snapshot.outputs
            first_seq = 1 if fork else snapshot.seq + 1
            then: list[Item] = []
            if stale:
                then.append(ex._stage(
                    first_seq + len(then), NewCheckpoint("state_edited", None, {"reset": stale}),
                    [NewEvent("state_edited", None, {"stale": stale, "reason": "workflow changed"})],
                ))
            if edit is not None:
                then.append(ex._stage(first_seq + len(then), edit, [NewEvent("state_edited", edit.node, {"set": set})]))
            recovery_ms = round((time.perf_counter() - started) * 1000, 3)
            then.append((None, [NewEvent("resumed", None, {
                "from_checkpoint": snapshot.checkpoint_id, "from_status": rec.status,
                "recovery_ms": recovery_ms, "step": step, "until": until,
                "breakpoints": ex.breakpoints.to_json(),
            })]))
            written: list[Written] | None
            if fork:
                new_id = short_id("r")
                ex._own(new_id)
                written = store.create_run(
                    run_id=new_id,
                    workflow=rec.workflow,
                    workflow_json=compact,
                    name=rec.name,
                    breakpoints=ex.breakpoints.to_json(),
                    owner=owner.me(),
                    first=NewCheckpoint("forked", None, {}, base=snapshot.index.to_base()),
                    events=[NewEvent("forked", None, {"parent_run": run_id, "parent_checkpoint": snapshot.checkpoint_id,
                                                      "parent_seq": snapshot.seq})],
                    parent_run=run_id,
                    parent_checkpoint=snapshot.checkpoint_id,
                    then=then,
                )
                ex.run_id = new_id
                cp0 = written[0][0]
                assert cp0 is not None
                snapshot = Snapshot(new_id, cp0["id"], 0, ex._index, ex._outputs)
            else:
                ex._own(run_id)
                extra: dict[str, Any] = {"breakpoints": ex.breakpoints.to_json()}
                if compact != rec.workflow_json:
                    extra["workflow_json"] = compact
                written = store.claim_run(
                    run_id, owner.me(), allowed=RESUMABLE, expect=(rec.version, snapshot.seq), then=then, **extra,
                )
                if written is None:
                    ex._disown()
                    raise RunBusy(f"run '{run_id}' was taken over or changed by another command meanwhile")
                ex.run_id = run_id
                ex._skip_once = builtins.set(rec.paused_before)
            ex._writer = store.writer(ex.run_id)
            for cp, events in written:
                ex._emit(events, cp)
            log.debug("resumed run %s from seq %d in %.1f ms", ex.run_id, snapshot.seq, recovery_ms)
            return snapshot

        ex._setup = setup
        return ex

    # -- control from other threads ----------------------------------------------------

    def pause(self) -> None:
        """Stop at the next node boundary; a running delay is cut short."""
        self._ask("pause")

    def stop(self) -> None:
        """Cancel the run at the next node boundary (it stays resumable)."""
        self._ask("stop")

    def interrupt(self) -> None:
        """Ctrl-C: stop at once, leave the run ``interrupted`` and resumable."""
        self._ask("interrupt")

    def _ask(self, what: str) -> None:
        with self._lock:
            rank = {"pause": 1, "stop": 2, "interrupt": 3}
            if self._request is None or rank[what] > rank[self._request]:
                self._request = what
        self._cancel.set()
        runner = self._runner
        if runner is not None:
            runner.cut_short()

    # -- the run -----------------------------------------------------------------------

    def execute(self) -> dict[str, Any]:
        """Run until completed, paused, failed, cancelled or interrupted; the captured state."""
        try:
            snapshot = self._setup()
            if snapshot is None:  # resuming a completed run changes nothing
                assert self.run_id is not None
                return self.state()
            self._loop(snapshot)
            return self.state()
        finally:
            self._disown()

    def _own(self, run_id: str) -> None:
        """This process runs ``run_id`` now (other commands in it must not think it dead)."""
        owner.mark_active(run_id, True)
        self._owned = run_id

    def _disown(self) -> None:
        if self._owned is not None:
            owner.mark_active(self._owned, False)
            self._owned = None

    def state(self) -> dict[str, Any]:
        assert self.run_id is not None
        rec = self.store.get_run(self.run_id)
        snapshot = self.store.load(self.run_id, table_rows=self.rows)
        return captured_state(self.workflow, snapshot, rec.status, rows=self.rows)

    def _loop(self, snapshot: Snapshot) -> None:
        wf = self.workflow
        self._index = snapshot.index
        self._outputs = snapshot.outputs
        self._in_edges = {n: [] for n in wf.nodes}
        self._succ = {n: [] for n in wf.nodes}
        preds: dict[str, list[str]] = {n: [] for n in wf.nodes}
        for e in wf.edges:
            if e.target in self._in_edges and e.source in wf.nodes:
                self._in_edges[e.target].append(e)
                self._succ[e.source].append(e.target)
                preds[e.target].append(e.source)
        order = {n: i for i, n in enumerate(decide.topological_order(wf.nodes, self._succ))}
        self._readiness = decide.Readiness(preds, {n: self._is_done(n) for n in wf.nodes})
        failed_now: set[str] = set()
        stepped: list[str] = []
        running: dict[Future[NodeResult], str] = {}
        lease_at = time.time() + owner.HEARTBEAT_SECONDS
        self._runner = make_executor(self.executor, self.workers, self._cancel, f"studio-{self.run_id}")
        if self._cancel.is_set():
            self._runner.cut_short()
        try:
            while True:
                started = self._schedule(order, running, failed_now, stepped)
                if not running:
                    if started:
                        continue
                    break
                # A quick node's start is written with its result (one transaction);
                # a slow one's start is written on its own after a moment.
                timeout = STARTED_FLUSH_SECONDS if self._started else owner.HEARTBEAT_SECONDS
                try:
                    finished = [self._done.get(timeout=timeout)]
                except queue.Empty:
                    finished = []
                    self._flush_started()
                # Group commit: every node finished by now goes in one transaction.
                while True:
                    try:
                        finished.append(self._done.get_nowait())
                    except queue.Empty:
                        break
                if finished:
                    results = [fut.result() for fut in finished]
                    nodes = [running.pop(fut) for fut in finished]
                    self._finish(results, failed_now)
                    if self.step and any(n in stepped for n in nodes):
                        self._want_pause("step")
                if time.time() >= lease_at:
                    self.store.heartbeat(self.run_id or "", time.time() + owner.LEASE_SECONDS)
                    lease_at = time.time() + owner.HEARTBEAT_SECONDS
        finally:
            self._runner.close()
        self._flush_started()
        self._conclude()

    def _is_done(self, node: str) -> bool:
        entry = self._index.nodes.get(node)
        return entry is not None and entry.status in decide.DONE

    def _flush_started(self) -> None:
        if self._started:
            events, self._started = self._started, []
            for cp, written in self._commit([(None, events)]):
                self._emit(written, cp)

    def _want_pause(self, reason: str) -> None:
        with self._lock:
            if self._pause_reason is None:
                self._pause_reason = reason

    def _halting(self) -> bool:
        with self._lock:
            return self._request is not None or self._pause_reason is not None

    def _schedule(
        self,
        order: dict[str, int],
        running: dict[Future[NodeResult], str],
        failed_now: set[str],
        stepped: list[str],
    ) -> bool:
        """Skip what must be skipped and start what is ready; whether anything changed."""
        assert self._readiness is not None
        busy = set(running.values())
        progressed = False
        ready = sorted(
            (n for n in self._readiness.candidates if n not in busy and n not in failed_now and n not in self._held),
            key=(lambda n: n) if self.step else order.__getitem__,
        )
        to_start: list[str] = []
        for node in ready:
            if self._halting() or (self.step and stepped):
                break
            if self._should_skip(node):
                self._commit_skip(node)
                progressed = True
                if self.step:
                    stepped.append(node)
                    self._want_pause("step")
                elif decide.holds_after(node, self.breakpoints.after, self.until):
                    self._hold_after(node)
                continue
            if decide.holds_before(node, self.breakpoints.before, self._skip_once, self.step):
                # Hold this node; branches that do not depend on it still run (deterministic).
                self._held.add(node)
                self._paused_before.add(node)
                self._hold_reasons.append(f"breakpoint before '{node}'")
                continue
            to_start.append(node)
            if self.step:
                stepped.append(node)
        if to_start:
            self._started.extend(NewEvent("node_started", n) for n in to_start)
            for node in to_start:
                self._skip_once.discard(node)
                running[self._submit(node)] = node
            progressed = True
        return progressed

    def _should_skip(self, node: str) -> bool:
        statuses = {e.source: self._index.nodes[e.source].status for e in self._in_edges[node]}
        edges = [decide.InEdge(e.source, e.source_port, e.target_port) for e in self._in_edges[node]]
        return decide.should_skip(self.workflow.nodes[node].type, edges, statuses, self._outputs)

    def _prepare(self, node_id: str) -> NodeTask | NodeResult:
        """Gather and check a node's inputs (on the coordinating thread); a result if they do not fit."""
        node = self.workflow.nodes[node_id]
        node_type = get(node.type)
        if node_type is None:
            return NodeResult(node_id, error=f"unknown node type '{node.type}'")
        spec = node_type.spec
        inputs: dict[str, Any] = {}
        by_port = {e.target_port: e for e in self._in_edges[node_id]}
        for port in spec.inputs:
            edge = by_port.get(port.name)
            if edge is not None:
                if edge.source_port not in self._outputs.get(edge.source, {}):
                    continue  # merge: that side was skipped
                value = coerce(self._outputs[edge.source][edge.source_port], port.type)
            elif port.name in node.params:
                value = node.params[port.name]
            else:
                continue
            if not matches(value, port.type):
                return NodeResult(node_id, error=f"input '{port.name}' needs {port.type}, got {type_of(value)}")
            # A node gets its own copy of what it could change; plain values and tables
            # (DataFrames are immutable for our purposes) are handed on as they are.
            inputs[port.name] = _private(value)
        params = {p.name: p.default for p in spec.params if p.default is not None}
        params.update({k: _private(v) for k, v in node.params.items()})
        run_inputs = self._index.inputs
        return NodeTask(node_id, node.type, inputs, params,
                        {k: _private(v) for k, v in run_inputs.items()} if run_inputs else {},
                        self._folder)

    def _submit(self, node_id: str) -> Future[NodeResult]:
        prepared = self._prepare(node_id)
        if isinstance(prepared, NodeResult):
            done: Future[NodeResult] = Future()
            done.set_result(prepared)
            self._done.put(done)
            return done
        if self.executor == "local" and prepared.type in INLINE_TYPES:
            inline: Future[NodeResult] = Future()
            inline.set_result(run_task(prepared, self._cancel))
            self._done.put(inline)
            return inline
        assert self._runner is not None  # set by _loop before anything is scheduled
        fut = self._runner.submit(prepared)
        fut.add_done_callback(self._done.put)
        return fut

    @functools.cached_property
    def _folder(self) -> str:
        return str(self.workflow.folder)

    def _finish(self, results: list[NodeResult], failed_now: set[str]) -> None:
        """Commit finished nodes (on the coordinating thread, all in one transaction)."""
        items: list[tuple[NewCheckpoint, list[NewEvent]]] = []
        for result in results:
            node = result.node
            if result.cancelled:
                continue  # cut short: not committed, runs again in full on resume
            logs = [NewEvent("log", node, {"line": line}) for line in result.logs]
            detail = {"duration": round(result.duration, 6)}
            if result.error is not None:
                failed_now.add(node)
                cp = NewCheckpoint("node_failed", node, {"node": node, "status": FAILED, "error": result.error})
                items.append((cp, [*logs, NewEvent("node_failed", node, {**detail, "error": result.error})]))
                continue
            output_id = short_id("o")
            cp = NewCheckpoint(
                "node_completed", node, {"node": node, "status": COMPLETED, "output": output_id},
                outputs={output_id: {"node": node, "data": result.outputs}},
            )
            items.append((cp, [*logs, NewEvent("node_completed", node, detail)]))
        self._write_checkpoints(items)
        for cp, _ in items:
            if cp.event == "node_completed" and decide.holds_after(cp.node or "", self.breakpoints.after, self.until):
                self._hold_after(cp.node or "")

    def _hold_after(self, node: str) -> None:
        """Break after ``node``: nothing downstream of it starts in this session."""
        self._held |= decide.downstream(self._succ, [node])
        self._hold_reasons.append(f"after '{node}'")

    def _commit_skip(self, node: str) -> None:
        cp = NewCheckpoint("node_skipped", node, {"node": node, "status": SKIPPED})
        self._write_checkpoints([(cp, [NewEvent("node_skipped", node, {"reason": "an input was not produced"})])])

    def _stage(self, seq: int, cp: NewCheckpoint, events: list[NewEvent]) -> Item:
        """Apply checkpoint ``seq`` to the in-memory state; what to write for it."""
        self._index.apply(cp.delta)
        for item in (cp.outputs or {}).values():
            self._outputs[item["node"]] = item["data"]
        for node in cp.delta.get("reset", ()):
            self._outputs.pop(node, None)
        if base_due(seq):
            cp.base = self._index.to_base()
        return cp, events

    def _write_checkpoints(self, items: list[tuple[NewCheckpoint, list[NewEvent]]]) -> None:
        """Apply checkpoints to the in-memory state and commit them, with their events, at once."""
        if not items:
            return
        assert self._writer is not None
        seq = self._writer.next_checkpoint_seq
        staged: list[Item] = []
        if self._started:
            staged.append((None, self._started))
            self._started = []
        touched: list[str] = []
        for i, (cp, events) in enumerate(items):
            staged.append(self._stage(seq + i, cp, events))
            touched.extend(self._touched(cp.delta))
        for cp_info, written in self._commit(staged):
            self._emit(written, cp_info)
        if self._readiness is not None:
            for node in touched:
                if self._is_done(node):
                    self._readiness.done(node)

    def _commit(self, items: list[Item]) -> list[Written]:
        assert self._writer is not None
        return self._writer.commit(items)

    @staticmethod
    def _touched(delta: dict[str, Any]) -> list[str]:
        nodes = list(delta.get("outputs", {}))
        if "node" in delta:
            nodes.append(delta["node"])
        return nodes

    def _conclude(self) -> None:
        """Record how the session ended."""
        with self._lock:
            request, reason = self._request, self._pause_reason
        end = decide.outcome(
            all_done=all(self._is_done(n) for n in self.workflow.nodes),
            request=request,
            failed=self._index.with_status(FAILED),
            pause_reason=reason,
            hold_reasons=self._hold_reasons,
            # A breakpoint the run was already stopped at, and that has not run yet
            # (a step ran another node), does not fire again either.
            paused_before=self._paused_before | {n for n in self._skip_once if not self._is_done(n)},
        )
        detail = {**end.detail, "elapsed": round(time.perf_counter() - self._started_at, 6)}
        events = self.store.update_run(
            self.run_id or "", [NewEvent(end.event, None, detail)], status=end.status,
            paused_before=end.paused_before, owner_pid=None, lease_until=None,
        )
        self._emit(events)

    def _emit(self, events: Sequence[Mapping[str, Any]], checkpoint: Mapping[str, Any] | None = None) -> None:
        if self.on_event is None:
            return
        for ev in events:
            item = dict(ev)
            if checkpoint is not None:
                item["checkpoint"] = checkpoint
            try:
                self.on_event(item)
            except Exception:  # noqa: BLE001 - a listener must not break the run
                log.exception("event listener failed")


def _private(value: Any) -> Any:
    """A value a node may change without changing the stored state: plain values and tables as they are."""
    if isinstance(value, _ATOMIC) or is_frame(value):
        return value
    return copy.deepcopy(value)


def _compact(workflow: Workflow) -> str:
    return json.dumps(workflow.to_dict(), ensure_ascii=False, separators=(",", ":"))


def load_run_workflow(rec: RunRecord) -> Workflow:
    """The workflow to resume with: the file if it is still there, else the stored copy."""
    path = Path(rec.workflow) if rec.workflow else None
    if path is not None and path.is_file():
        return Workflow.load(path)
    return run_workflow_copy(rec).copy()


def run_workflow_copy(rec: RunRecord) -> Workflow:
    """The workflow exactly as the run last used it (shared: read it, do not change it)."""
    try:
        return _parse_stored_workflow(rec.workflow_json, rec.workflow)
    except (ValueError, TypeError, StudioError):
        raise CorruptCheckpoint(f"the stored workflow of run '{rec.id}' is damaged") from None


@functools.lru_cache(maxsize=16)
def _parse_stored_workflow(text: str, path: str) -> Workflow:
    # ``studio state`` on a 1,000-node run spent half its time parsing the same copy again.
    wf = Workflow.from_dict(json.loads(text))
    wf.path = Path(path) if path else None
    return wf
