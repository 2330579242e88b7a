"""Nodes on Dask workers: the coordinator keeps checkpoints, so everything behaves as with local."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import distributed  # the test extra installs it: a missing Dask fails here, never skips
import pytest
from flows import BackgroundRun, edge, events, node, slow_flow, studio, write_flow

from studio import api


def _comparable(state: dict[str, Any]) -> dict[str, Any]:
    """The state without ids; parallel branches may finish in another order."""
    out = {k: v for k, v in state.items() if k not in ("run_id", "checkpoint_id")}
    for key in ("completed", "skipped", "failed"):
        out[key] = sorted(out[key])
    return out


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """An existing Dask scheduler with one worker on this machine (loopback only)."""
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                       dashboard_address=None, protocol="tcp://", host="127.0.0.1")
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


def _flow(folder: Path) -> Path:
    return write_flow(
        folder, "mixed",
        [node("src", "constant", value=[{"k": "x", "v": 2}, {"k": "y", "v": 3}]),
         node("flag", "constant", value=False), node("route", "branch"),
         node("yes", "aggregate", column="v", func="sum"), node("no", "sort_rows", column="v", descending=True),
         node("join", "merge"), node("count", "expression", expr="len(a) * 10"),
         node("broken", "fail", message="expected"), node("say", "log", message="count")],
        [edge("flag", "route", "value", "condition"), edge("src", "route", "value", "value"),
         edge("route", "yes", "true", "table"), edge("route", "no", "false", "table"),
         edge("yes", "join", "table", "a"), edge("no", "join", "table", "b"),
         edge("join", "count", "value", "a"), edge("count", "say", "result", "value"),
         edge("src", "broken", "value", "value")],
    )


def test_dask_scheduler_gives_the_same_state_as_local(tmp_path: Path, scheduler: str) -> None:
    flow = _flow(tmp_path)
    db = tmp_path / "runs.db"
    local = api.run(flow, db=db)
    address = "dask://" + scheduler.removeprefix("tcp://")
    remote = api.run(flow, db=db, executor=address)
    assert local["status"] == "failed" and _comparable(remote) == _comparable(local)
    assert remote["outputs"]["say"] == {"value": 20}
    assert sorted(c["event"] for c in api.checkpoints(remote["run_id"], db=db)) == sorted(
        c["event"] for c in api.checkpoints(local["run_id"], db=db)
    )
    assert events(api.history(remote["run_id"], db=db), "log")[0]["detail"]["line"] == "count 20"
    # breakpoints, step and resume behave as with local
    paused = api.run(flow, db=db, executor=address, break_before=["count"])
    assert "count" in paused["next"] and "count" not in paused["outputs"]
    started_before = len(events(api.history(paused["run_id"], db=db), "node_started"))
    api.step(paused["run_id"], db=db, executor=address)
    assert len(events(api.history(paused["run_id"], db=db), "node_started")) == started_before + 1
    final = api.resume(paused["run_id"], db=db, executor=address, set={"outputs.join.value": [1]},
                       clear_breakpoints=True)
    assert final["outputs"]["say"] == {"value": 10}


def test_pause_cuts_a_delay_on_dask_short(tmp_path: Path, scheduler: str) -> None:
    flow = slow_flow(tmp_path, seconds=60)
    db = tmp_path / "runs.db"
    background = BackgroundRun(flow, db, executor="dask://" + scheduler.removeprefix("tcp://"))
    background.wait_started("wait")
    background.execution.pause()
    result = background.join(60)
    assert result["status"] == "paused" and result["next"] == ["wait"]
    data = json.loads(flow.read_text())
    data["nodes"][1]["params"]["seconds"] = 0
    flow.write_text(json.dumps(data))
    assert api.resume(result["run_id"], db=db)["outputs"]["z"] == {"value": 1}


def test_cli_starts_a_local_cluster_for_the_run(tmp_path: Path) -> None:
    flow = write_flow(tmp_path, "tiny", [node("a", "constant", value=4), node("b", "math", op="mul", b=3)],
                      [edge("a", "b", "value", "a")])
    proc = studio("run", str(flow), "--executor", "dask", "--workers", "1", "--json", db=tmp_path / "r.db")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["outputs"]["b"] == {"result": 12}


def test_unreachable_scheduler_is_one_line(tmp_path: Path) -> None:
    flow = write_flow(tmp_path, "tiny", [node("a", "constant", value=1)], [])
    proc = studio("run", str(flow), "--executor", "dask://127.0.0.1:9", db=tmp_path / "r.db")
    assert proc.returncode == 2 and "cannot reach" in proc.stderr and "Traceback" not in proc.stderr


def test_tables_on_dask_worker_processes_match_local(tmp_path: Path) -> None:
    """A CSV pipeline on worker processes: tables cross as Arrow bytes, kinds and codes intact."""
    (tmp_path / "sales.csv").write_text(
        "code,region,day,units\n007,North,2024-01-03,4\n012,South,2024-02-01,NA\n007,North,,2\n",
        encoding="utf-8")
    flow = write_flow(tmp_path, "tables", [
        node("read", "read_file", path="sales.csv"),
        node("known", "filter_rows", column="units", op="not_missing"),
        node("double", "add_column", name="twice", expr="units * 2"),
        node("per_code", "aggregate", group_by="code", aggregations=[{"column": "twice", "func": "sum"}]),
    ], [edge("read", "known", "data", "table"), edge("known", "double", "table", "table"),
        edge("double", "per_code", "table", "table")])
    db = tmp_path / "r.db"
    local = api.run(flow, db=db)
    proc = studio("run", str(flow), "--executor", "dask", "--workers", "1", "--json", db=db)
    assert proc.returncode == 0, proc.stderr
    remote = json.loads(proc.stdout)
    assert _comparable(remote) == _comparable(local)
    assert remote["outputs"]["per_code"]["table"] == [{"code": "007", "sum_twice": 12}]
    assert remote["tables"]["read.data"]["columns"][2] == {"name": "day", "kind": "date"}
