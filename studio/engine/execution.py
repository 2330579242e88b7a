"""Executing a run: scheduling on worker threads, checkpoints, breakpoints, pause, stop."""

from __future__ import annotations

import builtins
import copy
import functools
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx

from studio.engine import owner
from studio.engine.executors import NodeExecutor, check_executor, make_executor
from studio.engine.state import captured_state, parse_edits, stale_nodes
from studio.engine.tasks import NodeResult, NodeTask
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

log = logging.getLogger("studio.engine")
EventListener = Callable[[dict[str, Any]], None]
STARTED_FLUSH_SECONDS = 0.05
BASE_EVERY = 200  # a full index every so many checkpoints keeps loading any state fast
RESUMABLE = ("paused", "failed", "interrupted", "cancelled")


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
        self._since_base = 0
        self._owned: str | None = None
        self._index = StateIndex()
        self._outputs: dict[str, dict[str, Any]] = {}
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
            cp, events = store.create_run(
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
            ex._emit(events, cp)
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
            stale = stale_nodes(run_workflow_copy(rec), wf, snapshot.index)
            carried = Breakpoints() if clear_breakpoints else Breakpoints.from_json(rec.breakpoints)
            ex.breakpoints = Breakpoints(carried.before | builtins.set(before), carried.after | builtins.set(after))
            if fork:
                new_id = short_id("r")
                ex._own(new_id)
                cp, events = store.create_run(
                    run_id=new_id,
                    workflow=rec.workflow,
                    workflow_json=_compact(wf),
                    name=rec.name,
                    breakpoints=ex.breakpoints.to_json(),
                    owner=owner.me(),
                    first=NewCheckpoint("forked", None, {}, base=snapshot.index.to_base()),
                    events=[NewEvent("forked", None, {"parent_run": run_id, "parent_checkpoint": snapshot.checkpoint_id,
                                                      "parent_seq": snapshot.seq})],
                    parent_run=run_id,
                    parent_checkpoint=snapshot.checkpoint_id,
                )
                ex.run_id = new_id
                ex._emit(events, cp)
                snapshot = Snapshot(new_id, cp["id"], 0, snapshot.index, snapshot.outputs)
            else:
                ex._own(run_id)
                claimed = store.claim_run(
                    run_id, owner.me(), allowed=RESUMABLE, expect=(rec.version, snapshot.seq),
                    breakpoints=ex.breakpoints.to_json(), workflow_json=_compact(wf),
                )
                if not claimed:
                    ex._disown()
                    raise RunBusy(f"run '{run_id}' was taken over or changed by another command meanwhile")
                ex.run_id = run_id
                ex._skip_once = builtins.set(rec.paused_before)
            assert ex.run_id is not None
            if stale:
                ex._write_checkpoint(
                    snapshot,
                    NewCheckpoint("state_edited", None, {"reset": stale}),
                    [NewEvent("state_edited", None, {"stale": stale, "reason": "workflow changed"})],
                )
            if edit is not None:
                ex._write_checkpoint(snapshot, edit, [NewEvent("state_edited", edit.node, {"set": set})])
            recovery_ms = round((time.perf_counter() - started) * 1000, 3)
            log.debug("resumed run %s from seq %d in %.1f ms", ex.run_id, snapshot.seq, recovery_ms)
            events = store.add_events(ex.run_id, [NewEvent("resumed", None, {
                "from_checkpoint": snapshot.checkpoint_id, "from_status": rec.status,
                "recovery_ms": recovery_ms, "step": step, "until": until,
                "breakpoints": ex.breakpoints.to_json(),
            })])
            ex._emit(events)
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
        self._since_base = 0
        graph = self._graph = wf.graph()
        order = {n: i for i, n in enumerate(nx.lexicographical_topological_sort(graph))}
        self._in_edges: dict[str, list[Edge]] = {n: [] for n in wf.nodes}
        for e in wf.edges:
            if e.target in self._in_edges and e.source in wf.nodes:
                self._in_edges[e.target].append(e)
        self._succ = {n: set(graph.successors(n)) for n in wf.nodes}
        # Incremental readiness: how many upstream nodes each node still waits for.
        self._waiting = {n: sum(1 for p in graph.predecessors(n) if not self._is_done(p)) for n in wf.nodes}
        self._candidates = {n for n, count in self._waiting.items() if count == 0 and not self._is_done(n)}
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
                done, _ = wait(list(running), timeout=timeout, return_when=FIRST_COMPLETED)
                for fut in done:
                    node = running.pop(fut)
                    self._finish(fut.result(), failed_now)
                    if self.step and node in stepped:
                        self._want_pause("step")
                if not done:
                    self._flush_started()
                if time.time() >= lease_at:
                    self.store.heartbeat(self.run_id or "", time.time() + owner.LEASE_SECONDS)
                    lease_at = time.time() + owner.HEARTBEAT_SECONDS
        finally:
            self._runner.close()
        self._flush_started()
        self._conclude()

    def _is_done(self, node: str) -> bool:
        entry = self._index.nodes.get(node)
        return entry is not None and entry.status in (COMPLETED, SKIPPED)

    def _mark_done(self, node: str) -> None:
        """A node completed or was skipped: its successors may now be ready."""
        if not hasattr(self, "_candidates"):
            return  # still setting up; the loop computes readiness from the index
        self._candidates.discard(node)
        for succ in self._succ.get(node, ()):
            self._waiting[succ] -= 1
            if self._waiting[succ] == 0 and not self._is_done(succ):
                self._candidates.add(succ)

    def _flush_started(self) -> None:
        if self._started:
            events, self._started = self._started, []
            self._emit(self.store.add_events(self.run_id or "", events))

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
        busy = set(running.values())
        progressed = False
        ready = sorted(
            (n for n in self._candidates if n not in busy and n not in failed_now and n not in self._held),
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
                elif node in self.breakpoints.after or node == self.until:
                    self._hold_after(node)
                continue
            if node in self.breakpoints.before and node not in self._skip_once and not self.step:
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
        edges = self._in_edges[node]
        missing = [e for e in edges if e.source_port not in self._outputs.get(e.source, {})
                   or self._index.nodes[e.source].status != COMPLETED]
        if self.workflow.nodes[node].type == "merge":
            return bool(edges) and len(missing) == len(edges)
        return bool(missing)

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
            # A table (DataFrame) is immutable for our purposes: handed on as it is, not copied.
            inputs[port.name] = value if is_frame(value) else copy.deepcopy(value)
        params = {p.name: p.default for p in spec.params if p.default is not None}
        params.update(copy.deepcopy(node.params))
        return NodeTask(node_id, node.type, inputs, params, copy.deepcopy(self._index.inputs),
                        str(self.workflow.folder))

    def _submit(self, node_id: str) -> Future[NodeResult]:
        prepared = self._prepare(node_id)
        if isinstance(prepared, NodeResult):
            done: Future[NodeResult] = Future()
            done.set_result(prepared)
            return done
        assert self._runner is not None  # set by _loop before anything is scheduled
        return self._runner.submit(prepared)

    def _finish(self, result: NodeResult, failed_now: set[str]) -> None:
        """Commit a finished node (on the coordinating thread, in one transaction)."""
        node = result.node
        if result.cancelled:
            return  # cut short: not committed, runs again in full on resume
        logs = [NewEvent("log", node, {"line": line}) for line in result.logs]
        detail = {"duration": round(result.duration, 6)}
        if result.error is not None:
            failed_now.add(node)
            cp = NewCheckpoint("node_failed", node, {"node": node, "status": FAILED, "error": result.error})
            self._write_checkpoint(None, cp, [*logs, NewEvent("node_failed", node, {**detail, "error": result.error})])
            return
        output_id = short_id("o")
        cp = NewCheckpoint(
            "node_completed", node, {"node": node, "status": COMPLETED, "output": output_id},
            outputs={output_id: {"node": node, "data": result.outputs}},
        )
        self._write_checkpoint(None, cp, [*logs, NewEvent("node_completed", node, detail)])
        if node in self.breakpoints.after or node == self.until:
            self._hold_after(node)

    def _hold_after(self, node: str) -> None:
        """Break after ``node``: nothing downstream of it starts in this session."""
        self._held |= nx.descendants(self._graph, node)
        self._hold_reasons.append(f"after '{node}'")

    def _commit_skip(self, node: str) -> None:
        cp = NewCheckpoint("node_skipped", node, {"node": node, "status": SKIPPED})
        self._write_checkpoint(None, cp, [NewEvent("node_skipped", node, {"reason": "an input was not produced"})])

    def _write_checkpoint(
        self, snapshot: Snapshot | None, cp: NewCheckpoint, events: list[NewEvent], **run_fields: Any
    ) -> None:
        """Apply a checkpoint to the in-memory state and commit it with its events."""
        if snapshot is not None:
            self._index, self._outputs = snapshot.index, snapshot.outputs
        was_done = {n for n in self._touched(cp.delta) if self._is_done(n)}
        self._index.apply(cp.delta)
        for item in (cp.outputs or {}).values():
            self._outputs[item["node"]] = item["data"]
        for node in cp.delta.get("reset", ()):
            self._outputs.pop(node, None)
        self._since_base += 1
        if self._since_base >= BASE_EVERY:
            cp.base = self._index.to_base()
            self._since_base = 0
        run_fields.setdefault("lease_until", time.time() + owner.LEASE_SECONDS)
        started, self._started = self._started, []
        written, events_out = self.store.commit(self.run_id or "", cp, [*started, *events], **run_fields)
        self._emit(events_out[: len(started)])
        self._emit(events_out[len(started):], written)
        for node in self._touched(cp.delta):
            if node not in was_done and self._is_done(node):
                self._mark_done(node)

    @staticmethod
    def _touched(delta: dict[str, Any]) -> list[str]:
        nodes = list(delta.get("outputs", {}))
        if "node" in delta:
            nodes.append(delta["node"])
        return nodes

    def _conclude(self) -> None:
        """Record how the session ended."""
        index = self._index
        with self._lock:
            request, reason = self._request, self._pause_reason
        all_done = all(
            (e := index.nodes.get(n)) is not None and e.status in (COMPLETED, SKIPPED) for n in self.workflow.nodes
        )
        failed = index.with_status(FAILED)
        paused_before: list[str] = []
        detail: dict[str, Any]
        if all_done:
            status, event, detail = "completed", "run_completed", {}
        elif request == "interrupt":
            status, event, detail = "interrupted", "run_interrupted", {"reason": "stopped by Ctrl-C"}
        elif request == "stop":
            status, event, detail = "cancelled", "run_cancelled", {}
        elif failed:
            status, event, detail = "failed", "run_failed", {"failed": failed}
        else:
            status, event = "paused", "paused"
            # A breakpoint the run was already stopped at, and that has not run yet
            # (a step ran another node), does not fire again either.
            paused_before = sorted(self._paused_before | {n for n in self._skip_once if not self._is_done(n)})
            why = [reason] if reason else self._hold_reasons
            detail = {"reason": "; ".join(why) or "pause requested", "before": paused_before}
        detail["elapsed"] = round(time.perf_counter() - self._started_at, 6)
        events = self.store.update_run(
            self.run_id or "", [NewEvent(event, None, detail)], status=status,
            paused_before=paused_before, owner_pid=None, lease_until=None,
        )
        self._emit(events)

    def _emit(self, events: list[dict[str, Any]], checkpoint: dict[str, Any] | None = None) -> None:
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
