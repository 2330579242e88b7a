"""Checkpointing cost of a long chain: Workflow Studio vs raw SQLite vs LangGraph's SQLite saver.

Run by hand:  python benchmarks/bench_checkpoints.py [--nodes 1000] [--relaxed]

Every figure comes from this one process on this machine, so the ratios mean
something even where the absolute times do not. LangGraph is measured only when
``langgraph`` and ``langgraph-checkpoint-sqlite`` are installed (extra ``bench``).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from studio import api
from studio.store import Store


def chain_file(folder: Path, n: int) -> Path:
    nodes: list[dict[str, Any]] = [{"id": "n0", "type": "constant", "params": {"value": 1}}]
    edges = []
    for i in range(1, n):
        nodes.append({"id": f"n{i}", "type": "math", "params": {"op": "add", "b": 1}})
        edges.append({"source": f"n{i - 1}", "source_port": "value" if i == 1 else "result",
                      "target": f"n{i}", "target_port": "a"})
    path = folder / "chain.flow.json"
    path.write_text(json.dumps({"format": "studio.workflow", "version": 1, "nodes": nodes, "edges": edges}))
    return path


def db_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def bench_studio(folder: Path, n: int, durable: bool) -> dict[str, float]:
    db = folder / "studio.db"
    store = Store(db, durable=durable)
    from studio.store import db as store_db

    store_db._stores[(store.url, True)] = store  # api.run uses this store (durable or relaxed)
    flow = chain_file(folder, n)
    start = time.perf_counter()
    state = api.run(flow, db=db, workers=1)
    elapsed = time.perf_counter() - start
    assert state["status"] == "completed" and state["outputs"][f"n{n - 1}"]["result"] == n
    load_start = time.perf_counter()
    api.state(state["run_id"], db=db)
    load = time.perf_counter() - load_start
    cps = api.checkpoints(state["run_id"], db=db)
    mid = time.perf_counter()
    api.state(state["run_id"], db=db, checkpoint=cps[len(cps) // 2]["id"])
    load_mid = time.perf_counter() - mid
    store.reclaim_space()
    return {"per_node_ms": elapsed / n * 1000, "db_bytes": db_size(db), "load_latest_ms": load * 1000,
            "load_middle_ms": load_mid * 1000}


def bench_raw(folder: Path, n: int, durable: bool) -> dict[str, float]:
    """The floor: one INSERT per node in its own durable transaction, nothing else."""
    db = folder / "raw.db"
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
    con.execute("CREATE TABLE cp (run TEXT, seq INTEGER, data TEXT, PRIMARY KEY (run, seq))")
    start = time.perf_counter()
    for i in range(n):
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT INTO cp VALUES (?, ?, ?)", ("r", i, json.dumps({"node": f"n{i}", "result": i})))
        con.execute("COMMIT")
    elapsed = time.perf_counter() - start
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return {"per_node_ms": elapsed / n * 1000, "db_bytes": db_size(db)}


def bench_langgraph(folder: Path, n: int) -> dict[str, float] | None:
    try:
        from typing import TypedDict

        from langgraph.checkpoint.sqlite import SqliteSaver
        from langgraph.graph import END, START, StateGraph
    except ImportError:
        return None

    class State(TypedDict):
        outputs: dict[str, Any]

    def make(i: int) -> Any:
        def step(state: State) -> dict[str, Any]:
            prev = state["outputs"].get(f"n{i - 1}", {"result": 0})["result"]
            return {"outputs": {**state["outputs"], f"n{i}": {"result": prev + 1}}}
        return step

    graph = StateGraph(State)
    for i in range(n):
        graph.add_node(f"n{i}", make(i))
    graph.add_edge(START, "n0")
    for i in range(1, n):
        graph.add_edge(f"n{i - 1}", f"n{i}")
    graph.add_edge(f"n{n - 1}", END)
    db = folder / "langgraph.db"
    con = sqlite3.connect(db, check_same_thread=False)
    saver = SqliteSaver(con)
    app = graph.compile(checkpointer=saver)
    start = time.perf_counter()
    out = app.invoke({"outputs": {}}, {"configurable": {"thread_id": "t"}, "recursion_limit": n + 10})
    elapsed = time.perf_counter() - start
    assert out["outputs"][f"n{n - 1}"]["result"] == n
    con.close()
    return {"per_node_ms": elapsed / n * 1000, "db_bytes": db_size(db)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--relaxed", action="store_true", help="synchronous=NORMAL instead of FULL")
    args = parser.parse_args()
    durable = not args.relaxed
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        raw = bench_raw(folder, args.nodes, durable)
        ours = bench_studio(folder, args.nodes, durable)
        lang = bench_langgraph(folder, args.nodes)
    mode = "durable (synchronous=FULL)" if durable else "relaxed (synchronous=NORMAL)"
    print(f"{args.nodes}-node chain, {mode}, one process")
    print(f"  raw SQLite insert  : {raw['per_node_ms']:.3f} ms/node, {raw['db_bytes'] / 1024:.0f} KiB")
    print(f"  Workflow Studio    : {ours['per_node_ms']:.3f} ms/node, {ours['db_bytes'] / 1024:.0f} KiB"
          f"  ({ours['per_node_ms'] / raw['per_node_ms']:.2f}x raw SQLite)")
    print(f"    load latest state: {ours['load_latest_ms']:.1f} ms; middle checkpoint: {ours['load_middle_ms']:.1f} ms")
    if lang is None:
        print("  LangGraph          : not installed (pip install -e '.[bench]')")
    else:
        print(f"  LangGraph SqliteSaver: {lang['per_node_ms']:.3f} ms/node, {lang['db_bytes'] / 1024:.0f} KiB"
              f"  (Studio is {lang['per_node_ms'] / ours['per_node_ms']:.2f}x faster,"
              f" {lang['db_bytes'] / ours['db_bytes']:.1f}x smaller)")


if __name__ == "__main__":
    main()
