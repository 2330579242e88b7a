"""Checkpointing cost of Workflow Studio vs raw SQLite vs LangGraph's SQLite saver.

Run by hand:  python benchmarks/bench_checkpoints.py [--quick] [--small 1000] [--large 10000]

Every figure comes from this one process on this machine, so the ratios mean
something even where the absolute times do not: each Studio time is divided by
the raw-SQLite floor (one ~70-byte INSERT + COMMIT per node, WAL mode, the same
synchronous setting, the same folder) measured a moment before.

Sections (each one is independent: a failure prints its error and the rest go on):

* floor      raw SQLite, synchronous=FULL and NORMAL
* chain      constant -> math add -> ... (``chain_file``), durable FULL and relaxed NORMAL
* fan-out    1 source -> N math nodes, workers=4, FULL; write transactions counted
             by tracing every SQLite connection the store opens
* langgraph  the same chain and fan-out on LangGraph + SqliteSaver (extra ``bench``)
* storage    DB bytes per node; a growing-list chain vs its outputs written once
* reads      store.history + store.checkpoints, store.load of first/middle/last
* resume     api.resume of a run paused before its last node: time until that
             node's code starts (the node type is wrapped in this process only)
* cli        ``studio --help`` and ``studio runs --db X`` cold starts

At the end a table: figure | measured | target | met?. The machine's load makes
single figures noisy; cheap ones are the median of 3 runs (``--repeat``).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import json
import operator
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypedDict

from studio import api
from studio.store import Store

# -- results -----------------------------------------------------------------------------

ROWS: list[tuple[str, str, str, bool | None]] = []  # figure, measured, target, met?


def row(figure: str, measured: str, target: str, met: bool | None) -> None:
    ROWS.append((figure, measured, target, met))
    mark = {True: "yes", False: "NO", None: "-"}[met]
    print(f"    -> {figure}: {measured}   (target {target}: {mark})", flush=True)


def section(name: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Run a section; an error is printed (and put in the table) instead of stopping everything."""

    def wrap(fn: Callable[..., None]) -> Callable[..., None]:
        def run(*args: Any, **kwargs: Any) -> None:
            print(f"\n== {name} ==", flush=True)
            started = time.perf_counter()
            try:
                fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - one broken section must not stop the others
                traceback.print_exc(limit=4, file=sys.stdout)
                ROWS.append((f"[{name}]", f"ERROR: {type(exc).__name__}: {str(exc)[:80]}", "-", False))
            print(f"   ({name}: {time.perf_counter() - started:.1f} s)", flush=True)
            gc.collect()
        return run

    return wrap


def median(values: list[float]) -> float:
    return statistics.median(values)


def fmt_ms(x: float) -> str:
    return f"{x:.3f} ms" if x < 1 else f"{x:.1f} ms"


def spread(values: list[float], unit: str = "ms", digits: int = 3) -> str:
    return "[" + ", ".join(f"{v:.{digits}f}" for v in values) + f"] {unit}"


# -- workflow files ----------------------------------------------------------------------


def write_flow(folder: Path, name: str, nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> Path:
    path = folder / f"{name}.flow.json"
    path.write_text(json.dumps({"format": "studio.workflow", "version": 1, "nodes": nodes, "edges": edges}))
    return path


def chain_file(folder: Path, n: int) -> Path:
    nodes: list[dict[str, Any]] = [{"id": "n0", "type": "constant", "params": {"value": 1}}]
    edges = []
    for i in range(1, n):
        nodes.append({"id": f"n{i}", "type": "math", "params": {"op": "add", "b": 1}})
        edges.append({"source": f"n{i - 1}", "source_port": "value" if i == 1 else "result",
                      "target": f"n{i}", "target_port": "a"})
    return write_flow(folder, f"chain{n}", nodes, edges)


def fanout_file(folder: Path, width: int) -> Path:
    """One constant source, ``width`` math nodes that each add 1 to it (no edges between them)."""
    nodes: list[dict[str, Any]] = [{"id": "src", "type": "constant", "params": {"value": 1}}]
    edges = []
    for i in range(width):
        nodes.append({"id": f"f{i}", "type": "math", "params": {"op": "add", "b": 1}})
        edges.append({"source": "src", "source_port": "value", "target": f"f{i}", "target_port": "a"})
    return write_flow(folder, f"fanout{width}", nodes, edges)


def growing_list_file(folder: Path, n: int) -> Path:
    """constant [] -> expression ``a + [len(a)]`` -> ...: node i outputs the list [0, 1, ..., i-1]."""
    nodes: list[dict[str, Any]] = [{"id": "n0", "type": "constant", "params": {"value": []}}]
    edges = []
    for i in range(1, n):
        nodes.append({"id": f"n{i}", "type": "expression", "params": {"expr": "a + [len(a)]"}})
        edges.append({"source": f"n{i - 1}", "source_port": "value" if i == 1 else "result",
                      "target": f"n{i}", "target_port": "a"})
    return write_flow(folder, f"list{n}", nodes, edges)


def db_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


# -- studio helpers ----------------------------------------------------------------------


class Fresh:
    """A new database file per use, and the shared store api.run will use for it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    def path(self, name: str) -> Path:
        self.count += 1
        return self.folder / f"{name}-{self.count}.db"


def studio_store(db: Path, durable: bool) -> Store:
    """A ``Store(db, durable=...)`` that ``api.run(db=db)`` uses too.

    api.run opens its store with ``open_store(db)`` (always durable); a relaxed store is
    put in that cache by hand. Whether it took is checked by ``check_sync``.
    """
    store = Store(db, durable=durable)
    try:
        from studio.store import db as store_db

        store_db._stores[(store.url, True)] = store  # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001 - the store module is being rewritten
        print(f"    (could not share the store with api.run: {exc})")
    return store


def check_sync(db: Path, durable: bool) -> str:
    """The synchronous setting of the connections api.run writes with (FULL=2, NORMAL=1)."""
    store = api.get_store(db)
    want = 2 if durable else 1
    try:
        raw = store.engine.raw_connection()
        try:
            got = raw.cursor().execute("PRAGMA synchronous").fetchone()[0]
        finally:
            raw.close()
    except Exception as exc:  # noqa: BLE001
        return f"synchronous not checked ({exc})"
    name = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(got, str(got))
    if got != want:
        return f"WARNING: api.run wrote with synchronous={name}, not the mode asked for"
    return f"synchronous={name} checked"


def close_store(db: Path) -> None:
    try:
        from studio.store import db as store_db

        url = f"sqlite:///{db.expanduser().resolve()}"
        for key in [k for k in list(store_db._stores) if k[0] == url]:
            store_db._stores.pop(key).close()
    except Exception:  # noqa: BLE001 - only frees memory and file handles
        pass


def run_flow(flow: Path, db: Path, *, durable: bool, workers: int = 1, **kwargs: Any) -> tuple[dict[str, Any], float]:
    studio_store(db, durable)
    start = time.perf_counter()
    state = api.run(flow, db=db, workers=workers, **kwargs)
    return state, time.perf_counter() - start


# -- SQLite statement tracing (counts write transactions whatever the store's code) ------


@contextlib.contextmanager
def traced_sqlite() -> Iterator[list[str]]:
    """Every statement of every sqlite3 connection opened inside the block."""
    seen: list[str] = []
    original = sqlite3.connect
    modules = (sqlite3, sqlite3.dbapi2)  # SQLAlchemy connects through sqlite3.dbapi2

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        con = original(*args, **kwargs)
        con.set_trace_callback(seen.append)
        return con

    for module in modules:
        module.connect = connect  # type: ignore[assignment]
    try:
        yield seen
    finally:
        for module in modules:
            module.connect = original  # type: ignore[assignment]


def count_writes(statements: list[str]) -> dict[str, int]:
    upper = [s.lstrip().upper() for s in statements]
    return {
        "begin_immediate": sum(s.startswith("BEGIN IMMEDIATE") for s in upper),
        "begin_any": sum(s.startswith("BEGIN") for s in upper),
        "commit": sum(s.startswith("COMMIT") or s.startswith("END") for s in upper),
        "statements": len(upper),
    }


# -- raw SQLite floor --------------------------------------------------------------------


def floor_row(i: int) -> str:
    """A ~70-byte checkpoint row, like one node's."""
    return json.dumps({"run": "r_6f1c2a9e", "node": f"n{i}", "event": "node_completed", "result": i})


def bench_raw(folder: Path, n: int, durable: bool) -> dict[str, float]:
    """The floor: one INSERT per node in its own transaction, nothing else."""
    db = folder / f"raw-{'full' if durable else 'normal'}-{n}-{time.monotonic_ns()}.db"
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
    con.execute("CREATE TABLE cp (run TEXT, seq INTEGER, data TEXT, PRIMARY KEY (run, seq))")
    start = time.perf_counter()
    for i in range(n):
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT INTO cp VALUES (?, ?, ?)", ("r", i, floor_row(i)))
        con.execute("COMMIT")
    elapsed = time.perf_counter() - start
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    size = db_size(db)
    for p in folder.glob(db.name + "*"):
        p.unlink()
    return {"per_node_ms": elapsed / n * 1000, "db_bytes": size}


# -- LangGraph ---------------------------------------------------------------------------
# The states are module-level: LangGraph reads their (string) annotations with this module's names.


class ChainState(TypedDict, total=False):
    outputs: dict[str, Any]
    value: int


def merge_dicts(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    return {**a, **b}


class FanoutState(TypedDict, total=False):
    value: int
    results: Annotated[dict[str, int], merge_dicts]
    done: Annotated[int, operator.add]


def langgraph_available() -> bool:
    try:
        import langgraph.checkpoint.sqlite  # noqa: F401
        import langgraph.graph  # noqa: F401
    except ImportError:
        return False
    return True


def bench_langgraph_chain(folder: Path, n: int, *, keep_outputs: bool) -> dict[str, float]:
    """A chain of n nodes on LangGraph with SqliteSaver.

    ``keep_outputs``: the state holds every node's output like a Studio checkpoint does
    (the original figure of this benchmark; its state grows with n); otherwise the state
    is one number, the least any engine could checkpoint.
    """
    from langgraph.checkpoint.sqlite import SqliteSaver
    from langgraph.graph import END, START, StateGraph

    State = ChainState

    def make(i: int) -> Any:
        if keep_outputs:
            def step(state: State) -> dict[str, Any]:
                prev = state["outputs"].get(f"n{i - 1}", {"result": 0})["result"]
                return {"outputs": {**state["outputs"], f"n{i}": {"result": prev + 1}}}
        else:
            def step(state: State) -> dict[str, Any]:
                return {"value": state.get("value", 0) + 1}
        return step

    graph = StateGraph(State)
    for i in range(n):
        graph.add_node(f"n{i}", make(i))
    graph.add_edge(START, "n0")
    for i in range(1, n):
        graph.add_edge(f"n{i - 1}", f"n{i}")
    graph.add_edge(f"n{n - 1}", END)
    db = folder / f"langgraph-chain-{n}-{keep_outputs}.db"
    con = sqlite3.connect(db, check_same_thread=False)
    saver = SqliteSaver(con)
    app = graph.compile(checkpointer=saver)
    start = time.perf_counter()
    out = app.invoke({"outputs": {}, "value": 0}, {"configurable": {"thread_id": "t"}, "recursion_limit": n + 10})
    elapsed = time.perf_counter() - start
    if keep_outputs:
        assert out["outputs"][f"n{n - 1}"]["result"] == n
    else:
        assert out["value"] == n
    con.close()
    size = db_size(db)
    return {"per_node_ms": elapsed / n * 1000, "db_bytes": size, "elapsed_s": elapsed}


def bench_langgraph_fanout(folder: Path, width: int) -> dict[str, float]:
    """1 source -> ``width`` parallel nodes (each adds 1 to the source's value) on SqliteSaver."""
    from langgraph.checkpoint.sqlite import SqliteSaver
    from langgraph.graph import END, START, StateGraph

    State = FanoutState

    def source(state: State) -> dict[str, Any]:
        return {"value": 1}

    def make(i: int) -> Any:
        def leaf(state: State) -> dict[str, Any]:
            return {"results": {f"f{i}": state["value"] + 1}, "done": 1}
        return leaf

    graph = StateGraph(State)
    graph.add_node("src", source)
    graph.add_edge(START, "src")
    for i in range(width):
        graph.add_node(f"f{i}", make(i))
        graph.add_edge("src", f"f{i}")
        graph.add_edge(f"f{i}", END)
    db = folder / f"langgraph-fanout-{width}.db"
    con = sqlite3.connect(db, check_same_thread=False)
    saver = SqliteSaver(con)
    app = graph.compile(checkpointer=saver)
    start = time.perf_counter()
    out = app.invoke({"results": {}, "done": 0}, {"configurable": {"thread_id": "t"}, "recursion_limit": 100})
    elapsed = time.perf_counter() - start
    assert out["done"] == width and len(out["results"]) == width
    con.close()
    return {"per_node_ms": elapsed / (width + 1) * 1000, "db_bytes": db_size(db), "elapsed_s": elapsed}


# -- the benchmark -----------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace, folder: Path) -> None:
        self.args = args
        self.folder = folder
        self.fresh = Fresh(folder)
        self.floor: dict[tuple[bool, int], float] = {}  # (durable, n) -> ms per node
        self.chain: dict[tuple[bool, int], dict[str, Any]] = {}  # (durable, n) -> figures
        self.flows: dict[tuple[str, int], Path] = {}
        self.lg_chain: dict[tuple[bool, int], dict[str, float]] = {}

    @property
    def sizes(self) -> list[int]:
        return [self.args.small, self.args.large]

    def flow(self, kind: str, n: int) -> Path:
        key = (kind, n)
        if key not in self.flows:
            maker = {"chain": chain_file, "fanout": fanout_file, "list": growing_list_file}[kind]
            self.flows[key] = maker(self.folder, n)
        return self.flows[key]

    def repeats(self, n: int) -> int:
        return self.args.repeat if n <= self.args.small else 1

    def floor_ms(self, durable: bool, n: int | None = None) -> float:
        if n is not None and (durable, n) in self.floor:
            return self.floor[(durable, n)]
        found = [v for (d, _), v in self.floor.items() if d == durable]
        if not found:
            raise RuntimeError("no raw-SQLite floor measured")
        return median(found)

    # -- sections ----------------------------------------------------------------------

    @section("raw SQLite floor")
    def floors(self) -> None:
        print(f"  one INSERT of a {len(floor_row(500))}-byte row + COMMIT per node, WAL, in {self.folder}")
        for durable in (True, False):
            mode = "FULL" if durable else "NORMAL"
            for n in self.sizes:
                runs = [bench_raw(self.folder, n, durable)["per_node_ms"] for _ in range(max(self.repeats(n), 3))]
                self.floor[(durable, n)] = median(runs)
                print(f"  synchronous={mode:6} N={n:>6}: {median(runs):.4f} ms/node  {spread(runs, digits=4)}")

    @section("chain")
    def chains(self) -> None:
        for durable in (True, False):
            mode = "FULL (durable)" if durable else "NORMAL (durable=False)"
            for n in self.sizes:
                times: list[float] = []
                ratios: list[float] = []
                floors: list[float] = []
                last: dict[str, Any] = {}
                for _ in range(self.repeats(n)):
                    # A floor run right before each Studio run: the machine's load drifts.
                    floors.append(bench_raw(self.folder, n, durable)["per_node_ms"])
                    db = self.fresh.path(f"chain-{'full' if durable else 'normal'}-{n}")
                    state, elapsed = run_flow(self.flow("chain", n), db, durable=durable)
                    assert state["status"] == "completed", state["status"]
                    assert state["outputs"][f"n{n - 1}"]["result"] == n
                    times.append(elapsed / n * 1000)
                    ratios.append(times[-1] / floors[-1])
                    sync = check_sync(db, durable)
                    if last:
                        self._drop(last["db"])
                    last = {"db": db, "run_id": state["run_id"]}
                    gc.collect()
                last["per_node_ms"] = median(times)
                self.chain[(durable, n)] = last
                self.floor[(durable, n)] = median([*floors, self.floor.get((durable, n), median(floors))])
                ratio = median(ratios)
                print(f"  {mode} N={n:>6}: {median(times):.3f} ms/node {spread(times)}"
                      f"  = {ratio:.2f}x its floor (median of per-run ratios; floor runs beside them"
                      f" {spread(floors, digits=4)}); {sync}")
                if durable:
                    row(f"chain FULL per node, N={n}", f"{median(times):.3f} ms = {ratio:.2f}x floor",
                        "<= 1.25x floor", ratio <= 1.25)
                else:
                    row(f"chain NORMAL per node, N={n}", f"{median(times):.3f} ms = {ratio:.2f}x floor",
                        "<= 3x floor", ratio <= 3)
            small, large = (self.chain.get((durable, n)) for n in self.sizes)
            if small and large:
                growth = large["per_node_ms"] / small["per_node_ms"]
                label = "FULL" if durable else "NORMAL"
                row(f"chain {label} flat in N ({self.args.large} vs {self.args.small})",
                    f"{growth:.2f}x per node", "<= 1.25x", growth <= 1.25)

    def _drop(self, db: Path) -> None:
        close_store(db)
        for p in db.parent.glob(db.name + "*"):
            with contextlib.suppress(OSError):
                p.unlink()

    @section("fan-out")
    def fanout(self) -> None:
        width = self.args.fanout
        flow = self.flow("fanout", width)
        times, floors, ratios = [], [], []
        for _ in range(self.args.repeat):
            floors.append(bench_raw(self.folder, width + 1, True)["per_node_ms"])
            db = self.fresh.path(f"fanout-{width}")
            state, elapsed = run_flow(flow, db, durable=True, workers=4)
            assert state["status"] == "completed", state["status"]
            assert all(state["outputs"][f"f{i}"]["result"] == 2 for i in range(width))
            times.append(elapsed / (width + 1) * 1000)
            ratios.append(times[-1] / floors[-1])
            self._drop(db)
        per_node = median(times)
        ratio = median(ratios)
        self.fanout_ms = per_node
        print(f"  1 source -> {width} math nodes, workers=4, FULL: {per_node:.3f} ms/node {spread(times)}"
              f" = {ratio:.2f}x floor (floor runs beside them {spread(floors, digits=4)})")
        row(f"fan-out {width} FULL per node", f"{per_node:.3f} ms = {ratio:.2f}x floor", "<= 0.5x floor", ratio <= 0.5)
        # Write transactions: one more run, every statement of its connections traced.
        db = self.fresh.path(f"fanout-traced-{width}")
        with traced_sqlite() as seen:
            state, _ = run_flow(flow, db, durable=True, workers=4)
            cps = len(api.checkpoints(state["run_id"], db=db))
        counts = count_writes(seen)
        self._drop(db)
        tx = counts["begin_immediate"] or counts["begin_any"]
        print(f"  traced run: {counts['begin_immediate']} BEGIN IMMEDIATE, {counts['begin_any']} BEGIN of any kind,"
              f" {counts['commit']} COMMIT, {counts['statements']} statements; {cps} checkpoints"
              f" (including the opening of the store and the run's start/end)")
        row(f"fan-out {width} write transactions", f"{tx} ({tx / (width + 1):.2f} per node, {cps} checkpoints)",
            "(informational; fewer than nodes = batched)", None)

    @section("LangGraph (SqliteSaver)")
    def langgraph(self) -> None:
        if not langgraph_available():
            print("  not installed (pip install -e '.[bench]')")
            ROWS.append(("LangGraph", "not installed", "-", None))
            return
        from importlib.metadata import version

        print(f"  langgraph {version('langgraph')}, langgraph-checkpoint-sqlite {version('langgraph-checkpoint-sqlite')}")
        floor = self.floor_ms(True, self.args.small)
        # Fan-out.
        width = self.args.lg_fanout
        lg = bench_langgraph_fanout(self.folder, width)
        print(f"  fan-out 1 -> {width}: {lg['per_node_ms']:.3f} ms/node ({lg['elapsed_s']:.1f} s,"
              f" {lg['db_bytes'] / 1024:.0f} KiB)")
        if hasattr(self, "fanout_ms"):
            speedup = lg["per_node_ms"] / self.fanout_ms
            note = "" if width == self.args.fanout else f" (LangGraph at {width} nodes, Studio at {self.args.fanout})"
            row(f"fan-out vs LangGraph ({width} nodes)", f"Studio {speedup:.1f}x faster{note}", ">= 10x", speedup >= 10)
        # Chains.
        sizes = [self.args.small] + ([self.args.large] if self.args.langgraph_large else [])
        for n in sizes:
            for keep in (True, False):
                if keep and n > self.args.small:
                    continue  # the state of every output grows with n: quadratic, minutes at 10,000
                lg = bench_langgraph_chain(self.folder, n, keep_outputs=keep)
                self.lg_chain[(keep, n)] = lg
                what = "state = every output" if keep else "state = one number"
                print(f"  chain N={n:>6} ({what}): {lg['per_node_ms']:.3f} ms/node, {lg['db_bytes'] / 1024:.0f} KiB"
                      f" = {lg['per_node_ms'] / floor:.1f}x floor")
        if not self.args.langgraph_large:
            print(f"  (chain N={self.args.large} not run: each LangGraph checkpoint records every node's channel"
                  f" version, so its cost grows with the graph; --langgraph-large runs it)")
        for n in sizes:
            ours = self.chain.get((True, n))
            if ours is None:
                continue
            keep = (True, n) in self.lg_chain
            lg = self.lg_chain[(True, n)] if keep else self.lg_chain[(False, n)]
            speedup = lg["per_node_ms"] / ours["per_node_ms"]
            bound = lg["per_node_ms"] / self.floor_ms(True, n)
            fraction = speedup / bound  # = floor / Studio
            state_kind = "outputs state" if keep else "one-number state"
            db = ours["db"]
            smaller = lg["db_bytes"] / db_size(db) if db.exists() else float("nan")
            print(f"  N={n}: Studio {speedup:.2f}x faster than LangGraph ({state_kind}), {smaller:.1f}x smaller DB;"
                  f" an engine at the floor would be {bound:.1f}x faster; Studio gets {fraction:.0%} of that")
            row(f"chain vs LangGraph, N={n}", f"Studio {speedup:.2f}x faster ({state_kind})", ">= 6x", speedup >= 6)
            row(f"chain: share of best-any-engine bound (LG/floor={bound:.1f}x), N={n}",
                f"{fraction:.0%}", ">= 80%", fraction >= 0.8)

    @section("storage")
    def storage(self) -> None:
        sizes: dict[int, int] = {}
        empty = self.fresh.path("empty")
        Store(empty, durable=True).reclaim_space()
        empty_bytes = db_size(empty)
        self._drop(empty)
        for n in self.sizes:
            found = self.chain.get((True, n))
            if found is None:
                db = self.fresh.path(f"chain-size-{n}")
                state, _ = run_flow(self.flow("chain", n), db, durable=True)
                found = {"db": db, "run_id": state["run_id"]}
                self.chain[(True, n)] = found
            store = api.get_store(found["db"])
            store.reclaim_space()
            sizes[n] = db_size(found["db"])
            per = sizes[n] / n
            print(f"  chain N={n:>6}: {sizes[n] / 1024:.0f} KiB = {per:.0f} B/node"
                  f" ({(sizes[n] - empty_bytes) / n:.0f} B/node above an empty database of {empty_bytes / 1024:.0f} KiB)")
            row(f"DB bytes per node, chain N={n}", f"{per:.0f} B", "<= 300 B", per <= 300)
        small, large = self.sizes
        if small in sizes and large in sizes and large > small:
            marginal = (sizes[large] - sizes[small]) / (large - small)
            print(f"  marginal cost from N={small} to N={large}: {marginal:.0f} B/node (linear if close to the above)")
            row("DB bytes per extra node (linearity)", f"{marginal:.0f} B", "<= 300 B", marginal <= 300)
        # A chain whose outputs grow: node i outputs the list [0 .. i-1].
        n = self.args.list_nodes
        db = self.fresh.path(f"list-{n}")
        state, elapsed = run_flow(self.flow("list", n), db, durable=True)
        assert state["status"] == "completed", state["status"]
        assert state["outputs"][f"n{n - 1}"]["result"] == list(range(n - 1))
        once = sum(len(json.dumps(out, separators=(",", ":"))) for out in state["outputs"].values())
        store = api.get_store(db)
        store.reclaim_space()
        total = db_size(db)
        stored = total - empty_bytes
        print(f"  growing list, {n} steps ({elapsed / n * 1000:.2f} ms/node): outputs written once = {once / 1024:.0f} KiB;"
              f" database = {total / 1024:.0f} KiB ({stored / 1024:.0f} KiB above an empty one)")
        row(f"growing list {n}: DB / outputs once", f"{total / once:.2f}x ({stored / once:.2f}x above empty DB)",
            "<= 2x", total / once <= 2)
        self._drop(db)

    @section("reads")
    def reads(self) -> None:
        for n in self.sizes:
            found = self.chain.get((True, n))
            if found is None:
                print(f"  no {n}-node run (the chain section failed)")
                continue
            store = api.get_store(found["db"])
            run_id = found["run_id"]
            hist, cps_t = [], []
            for _ in range(3):
                t0 = time.perf_counter()
                events = store.history(run_id)
                t1 = time.perf_counter()
                cps = store.checkpoints(run_id)
                t2 = time.perf_counter()
                hist.append((t1 - t0) * 1000)
                cps_t.append((t2 - t1) * 1000)
            both = median([h + c for h, c in zip(hist, cps_t, strict=True)])
            list_target, load_target = (20, 10) if n <= 1000 else (100, 50)
            print(f"  N={n:>6}: history ({len(events)} events) {spread(hist, digits=1)},"
                  f" checkpoints ({len(cps)}) {spread(cps_t, digits=1)}")
            row(f"history + checkpoints, N={n}",
                f"{both:.1f} ms ({median(hist):.1f} + {median(cps_t):.1f})", f"< {list_target} ms", both < list_target)
            loads = {}
            for name, cp in (("first", cps[0]), ("middle", cps[len(cps) // 2]), ("last", cps[-1])):
                ts = []
                for _ in range(3):
                    t0 = time.perf_counter()
                    snap = store.load(run_id, cp["id"])
                    ts.append((time.perf_counter() - t0) * 1000)
                loads[name] = median(ts)
                print(f"    load {name:6} (seq {cp['seq']}, {len(snap.outputs)} outputs): {spread(ts, digits=1)}")
            worst = max(loads.values())
            row(f"store.load first/middle/last, N={n}",
                " / ".join(f"{v:.1f}" for v in loads.values()) + " ms", f"< {load_target} ms", worst < load_target)
            t0 = time.perf_counter()
            api.state(run_id, db=found["db"])
            print(f"    api.state (latest, with recovery and the captured state): {(time.perf_counter() - t0) * 1000:.1f} ms")

    @section("resume")
    def resume(self) -> None:
        hook = NodeStartHook("math")
        with hook:
            for n in self.sizes:
                last = f"n{n - 1}"
                flow = self.flow("chain", n)
                to_start, totals = [], []
                for _ in range(self.repeats(n)):
                    db = self.fresh.path(f"resume-{n}")
                    state, _ = run_flow(flow, db, durable=True, break_before=[last])
                    assert state["status"] == "paused", state["status"]
                    hook.arm(last)
                    t0 = time.perf_counter()
                    done = api.resume(state["run_id"], db=db, workers=1)
                    t_end = time.perf_counter()
                    assert done["status"] == "completed", done["status"]
                    assert done["outputs"][last]["result"] == n
                    totals.append((t_end - t0) * 1000)
                    if hook.started is not None:
                        to_start.append((hook.started - t0) * 1000)
                    self._drop(db)
                target = 50 if n <= 1000 else 300
                if to_start:
                    first = median(to_start)
                    print(f"  N={n:>6}: resume -> first node starts {spread(to_start, digits=1)};"
                          f" whole resume (1 node + commit + end) {spread(totals, digits=1)}")
                    row(f"resume until first node starts, N={n}", f"{first:.1f} ms", f"< {target} ms", first < target)
                else:
                    whole = median(totals)
                    print(f"  N={n:>6}: node start not seen ({hook.problem}); whole resume {spread(totals, digits=1)}")
                    row(f"resume (whole, 1 node left), N={n}", f"{whole:.1f} ms", f"< {target} ms", whole < target)

    @section("CLI cold start")
    def cli(self) -> None:
        exe = Path(sys.executable).parent / "studio"
        studio_cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "studio"]
        db = self.fresh.path("cli")
        Store(db, durable=True).close()
        try:
            api.run(self.flow("chain", 10), db=db, workers=1)
        finally:
            close_store(db)
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}

        def timed(cmd: list[str]) -> tuple[float, list[float]]:
            subprocess.run(cmd, capture_output=True, env=env, check=False)  # warm the file cache
            ts = []
            for _ in range(5):
                t0 = time.perf_counter()
                proc = subprocess.run(cmd, capture_output=True, env=env, check=False)
                ts.append((time.perf_counter() - t0) * 1000)
                if proc.returncode != 0:
                    raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.decode()[-300:]}")
            return median(ts), ts

        base, base_ts = timed([sys.executable, "-c", "pass"])
        print(f"  python -c pass       : {base:.0f} ms  {spread(base_ts, digits=0)}")
        row("python -c pass (baseline)", f"{base:.0f} ms", "-", None)
        for label, cmd, target in (
            ("studio --help", [*studio_cmd, "--help"], 150),
            ("studio runs --db X", [*studio_cmd, "runs", "--db", str(db)], 250),
        ):
            ms, ts = timed(cmd)
            print(f"  {label:21}: {ms:.0f} ms  {spread(ts, digits=0)} ({ms - base:.0f} ms above python)")
            row(f"{label} (median of 5)", f"{ms:.0f} ms", f"< {target} ms", ms < target)


class NodeStartHook:
    """Notes when a node type's code is first called for a given node (this process only)."""

    def __init__(self, node_type: str) -> None:
        self.node_type = node_type
        self.started: float | None = None
        self.problem = ""
        self._node: str | None = None
        self._table: dict[str, Any] | None = None
        self._original: Any = None

    def arm(self, node: str) -> None:
        self._node, self.started = node, None

    def __enter__(self) -> NodeStartHook:
        try:
            from studio.nodes.registry import registry

            table = registry()
            original = table[self.node_type]

            def run(inputs: dict[str, Any], params: dict[str, Any], ctx: Any) -> dict[str, Any]:
                if self.started is None and getattr(ctx, "node_id", None) == self._node:
                    self.started = time.perf_counter()
                return original.run(inputs, params, ctx)

            table[self.node_type] = dataclasses.replace(original, run=run)
            self._table, self._original = table, original
        except Exception as exc:  # noqa: BLE001 - then only the whole resume is timed
            self.problem = f"could not wrap the node type: {exc}"
        return self

    def __exit__(self, *exc: object) -> None:
        if self._table is not None:
            self._table[self.node_type] = self._original


def print_table() -> None:
    print("\n== summary ==")
    headers = ("figure", "measured", "target", "met?")
    cells = [(f, m, t, {True: "yes", False: "NO", None: "-"}[ok]) for f, m, t, ok in ROWS]
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line)
    print("-+-".join("-" * w for w in widths))
    for c in cells:
        print(" | ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)))
    met = sum(1 for *_, ok in ROWS if ok is True)
    judged = sum(1 for *_, ok in ROWS if ok is not None)
    print(f"\n{met} of {judged} targets met")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (300 / 1,000 nodes), one run each")
    parser.add_argument("--small", "--nodes", type=int, default=None, help="the small chain (default 1,000)")
    parser.add_argument("--large", type=int, default=None, help="the large chain (default 10,000)")
    parser.add_argument("--fanout", type=int, default=None, help="fan-out width (default 1,000)")
    parser.add_argument("--lg-fanout", type=int, default=None, help="LangGraph fan-out width (default = --fanout)")
    parser.add_argument("--list-nodes", type=int, default=None, help="growing-list steps (default 1,000)")
    parser.add_argument("--repeat", type=int, default=None, help="runs of the cheap figures (median; default 3)")
    parser.add_argument("--langgraph-large", action="store_true",
                        help="also LangGraph's chain at the large size (its checkpoints grow with the graph:"
                             " quadratic, ~15 minutes at 10,000 nodes)")
    parser.add_argument("--only", default="", help="comma-separated sections: floor,chain,fanout,langgraph,"
                                                   "storage,reads,resume,cli")
    parser.add_argument("--dir", default=None, help="folder for the databases (default: a temporary one)")
    parser.add_argument("--relaxed", action="store_true", help=argparse.SUPPRESS)  # both modes are always measured
    args = parser.parse_args()
    quick = args.quick
    args.small = args.small or (300 if quick else 1000)
    args.large = args.large or (1000 if quick else 10000)
    args.fanout = args.fanout or (300 if quick else 1000)
    args.lg_fanout = args.lg_fanout or args.fanout
    args.list_nodes = args.list_nodes or (300 if quick else 1000)
    args.repeat = args.repeat or (1 if quick else 3)
    only = {s.strip() for s in args.only.split(",") if s.strip()}

    started = time.perf_counter()
    print(f"Workflow Studio checkpoint benchmark: python {sys.version.split()[0]}, {os.cpu_count()} cpus,"
          f" load average {os.getloadavg()[0]:.2f}")
    print(f"sizes: chains {args.small:,} and {args.large:,}; fan-out {args.fanout:,} (LangGraph {args.lg_fanout:,});"
          f" growing list {args.list_nodes:,}; median of {args.repeat} for the cheap figures")
    base = Path(args.dir) if args.dir else None
    if base is not None:
        base.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="studio-bench-", dir=base)
    try:
        bench = Bench(args, Path(tmp))
        for name, step in (
            ("floor", bench.floors), ("chain", bench.chains), ("fanout", bench.fanout),
            ("langgraph", bench.langgraph), ("storage", bench.storage), ("reads", bench.reads),
            ("resume", bench.resume), ("cli", bench.cli),
        ):
            if not only or name in only or (name == "floor" and only - {"cli"}):
                step()
    finally:
        try:
            from studio.store import db as store_db

            for key in list(store_db._stores):
                store_db._stores.pop(key).close()
        except Exception:  # noqa: BLE001
            pass
        shutil.rmtree(tmp, ignore_errors=True)
    print_table()
    print(f"(total {time.perf_counter() - started:.0f} s, load average now {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
