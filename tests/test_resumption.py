"""The twelve scenarios of the original resumption request, through the public API/CLI."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import Any

import pytest
from flows import (
    BackgroundRun,
    chain,
    edge,
    events,
    node,
    slow_flow,
    spawn,
    studio,
    wait_until,
    write_flow,
)

from studio import api


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "runs.db"


def test_basic_resumption(tmp_path: Path, db: Path) -> None:
    flow = chain(tmp_path, 6)
    paused = api.run(flow, db=db, break_before=["n3"])
    assert paused["status"] == "paused"
    assert paused["completed"] == ["n0", "n1", "n2"]
    assert paused["next"] == ["n3"]
    assert paused["outputs"] == {"n0": {"value": 1}, "n1": {"result": 2}, "n2": {"result": 3}}
    done = api.resume(paused["run_id"], db=db)
    assert done["status"] == "completed"
    assert done["next"] == []
    assert done["outputs"]["n5"] == {"result": 6}
    assert done["completed"] == [f"n{i}" for i in range(6)]


def test_checkpointer_integration(tmp_path: Path, db: Path) -> None:
    flow = chain(tmp_path, 4)
    proc = studio("run", str(flow), "--break-after", "n2", "--json", db=db)
    assert proc.returncode == 3, proc.stderr
    run_id = json.loads(proc.stdout)["run_id"]
    # This process finds the other process's run and reads every checkpoint.
    cps = api.checkpoints(run_id, db=db)
    assert [c["seq"] for c in cps] == [0, 1, 2, 3]
    assert [c["event"] for c in cps] == ["run_started"] + ["node_completed"] * 3
    assert cps[0]["node"] is None and cps[3]["node"] == "n2"
    for i, cp in enumerate(cps):
        st = api.state(run_id, db=db, checkpoint=cp["id"])
        assert st["seq"] == i
        assert st["completed"] == [f"n{k}" for k in range(i)]
        assert st.get("latest", True) is (i == 3)
    # ... and another process reads a checkpoint this process names.
    proc = studio("state", run_id, "--checkpoint", cps[2]["id"], "--json", db=db)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["outputs"] == {"n0": {"value": 1}, "n1": {"result": 2}}


def test_partial_results(tmp_path: Path, db: Path) -> None:
    flow = write_flow(
        tmp_path, "partial",
        [
            node("start", "constant", value=5),
            node("is_big", "compare", op="gt", b=3),
            node("route", "branch"),
            node("big", "expression", expr="a * 2"),
            node("small", "expression", expr="a + 1"),
            node("after_small", "log"),
            node("broken", "check", message="boom", condition=False),
            node("after_broken", "log"),
        ],
        [
            edge("start", "is_big", "value", "a"),
            edge("is_big", "route", "result", "condition"),
            edge("start", "route", "value", "value"),
            edge("route", "big", "true", "a"),
            edge("route", "small", "false", "a"),
            edge("small", "after_small", "result", "value"),
            edge("start", "broken", "value", "value"),
            edge("broken", "after_broken", "value", "value"),
        ],
    )
    st = api.run(flow, db=db, workers=1)
    assert st["status"] == "failed"
    assert set(st["completed"]) == {"start", "is_big", "route", "big"}
    assert st["completed"].index("start") < st["completed"].index("is_big") < st["completed"].index("route")
    assert st["skipped"] == ["small", "after_small"]
    assert st["failed"] == ["broken"]
    assert st["errors"] == {"broken": "boom"}
    assert st["next"] == ["broken"]  # a failed node counts as next; after_broken stays pending
    assert "after_broken" not in st["outputs"] and "small" not in st["outputs"]
    assert st["outputs"]["big"] == {"result": 10}


def test_resumption_cleanup(tmp_path: Path, db: Path) -> None:
    done = api.run(chain(tmp_path, 6), db=db)
    run_id = done["run_id"]
    cps = api.checkpoints(run_id, db=db)
    assert len(cps) == 7
    assert api.cleanup(db=db, run=run_id, keep=3, dry_run=True)["deleted"] == 4
    assert len(api.checkpoints(run_id, db=db)) == 7  # a dry run deletes nothing
    result = api.cleanup(db=db, run=run_id, keep=3)
    assert result["deleted"] == 4
    left = api.checkpoints(run_id, db=db)
    assert [c["id"] for c in left] == [c["id"] for c in cps[-3:]]
    # The oldest kept checkpoint still has the whole state.
    assert api.state(run_id, db=db, checkpoint=left[0]["id"])["outputs"]["n3"] == {"result": 4}
    cleanup_events = events(api.history(run_id, db=db), "cleanup")
    assert len(cleanup_events) == 1 and cleanup_events[0]["detail"]["deleted"] == 4

    # A paused run keeps the checkpoint it resumes from, even with --keep 0.
    paused = api.run(chain(tmp_path, 5, name="p"), db=db, break_before=["n4"])
    failed = api.run(write_flow(tmp_path, "f", [node("a", "constant", value=1), node("b", "fail")],
                                [edge("a", "b")]), db=db)
    assert failed["status"] == "failed"
    result = api.cleanup(db=db, keep=0)
    assert result["deleted"] == 3 + 4 + 2  # completed run: all 3 left; paused: 5 - 1; failed: 3 - 1
    assert len(api.checkpoints(paused["run_id"], db=db)) == 1
    assert len(api.checkpoints(failed["run_id"], db=db)) == 1
    assert api.checkpoints(run_id, db=db) == []
    resumed = api.resume(paused["run_id"], db=db)
    assert resumed["status"] == "completed" and resumed["outputs"]["n4"] == {"result": 5}


def test_cleanup_options(tmp_path: Path, db: Path) -> None:
    done = api.run(chain(tmp_path, 3), db=db)
    paused = api.run(chain(tmp_path, 3, name="p"), db=db, break_before=["n2"])
    assert api.cleanup(db=db, keep=0, older_than_days=1)["deleted"] == 0  # nothing that old
    assert api.cleanup(db=db, keep=0, completed=True)["deleted"] == 4
    assert len(api.checkpoints(paused["run_id"], db=db)) == 3
    assert api.checkpoints(done["run_id"], db=db) == []


def test_resumption_history(tmp_path: Path, db: Path) -> None:
    flow = write_flow(
        tmp_path, "hist",
        [node("a", "constant", value=2), node("b", "check", message="too small", condition=False),
         node("c", "log"), node("d", "branch", condition=False), node("e", "log")],
        [edge("a", "b"), edge("b", "c"), edge("a", "d", "value", "value"), edge("d", "e", "true", "value")],
    )
    first = api.run(flow, db=db, workers=1, break_before=["c"])
    run_id = first["run_id"]
    assert first["status"] == "failed"
    edited = api.resume(run_id, db=db, set={"outputs.b.value": 3})
    assert edited["status"] == "paused" and edited["next"] == ["c"]  # the run keeps its breakpoints
    assert api.resume(run_id, db=db)["status"] == "completed"
    cps = api.checkpoints(run_id, db=db)
    fork = api.resume(run_id, db=db, from_checkpoint=cps[1]["id"], clear_breakpoints=True)
    api.cleanup(db=db, run=run_id, keep=2)
    hist = api.history(run_id, db=db)
    assert [e["seq"] for e in hist] == list(range(len(hist)))
    kinds = [e["event"] for e in hist]
    assert kinds[0] == "run_started"
    for kind in ("node_started", "node_completed", "node_failed", "node_skipped", "paused",
                 "resumed", "state_edited", "log", "run_failed", "run_completed", "cleanup"):
        assert kind in kinds, kind
    assert kinds.index("node_failed") < kinds.index("state_edited") < kinds.index("resumed", kinds.index("state_edited"))
    assert all(e["time"] for e in hist)
    assert all("duration" in e["detail"] for e in hist if e["event"] in ("node_completed", "node_failed"))
    fork_hist = api.history(fork["run_id"], db=db)
    assert fork_hist[0]["event"] == "forked"
    assert fork_hist[0]["detail"]["parent_run"] == run_id
    assert fork_hist[0]["detail"]["parent_checkpoint"] == cps[1]["id"]


def test_error_recovery(tmp_path: Path, db: Path) -> None:
    flow = write_flow(
        tmp_path, "recover",
        [node("limit", "input", name="limit"), node("ok", "expression", expr="limit * 10"),
         node("ratio", "expression", expr="1 / limit"), node("out", "log")],
        [edge("ratio", "out", "result", "value")],
        inputs={"limit": 0},
    )
    failed = api.run(flow, db=db)
    run_id = failed["run_id"]
    assert failed["status"] == "failed"
    assert failed["failed"] == ["ratio"] and "division by zero" in failed["errors"]["ratio"]
    assert failed["outputs"]["ok"] == {"result": 0}  # the finished sibling is kept
    assert "out" not in failed["outputs"] and failed["next"] == ["ratio"]
    proc = studio("resume", run_id, "--set", "inputs.limit=4", "--json", db=db)
    assert proc.returncode == 0, proc.stderr
    done = json.loads(proc.stdout)
    assert done["status"] == "completed"
    assert done["outputs"]["ratio"] == {"result": 0.25}
    assert done["outputs"]["out"] == {"value": 0.25}
    assert done["outputs"]["ok"] == {"result": 0}  # completed nodes are not re-run
    hist = api.history(run_id, db=db)
    assert len(events(hist, "node_started", "ok")) == 1
    assert len(events(hist, "node_started", "ratio")) == 2


def test_concurrent_resumption(tmp_path: Path, db: Path) -> None:
    ids = [
        api.run(chain(tmp_path, 5, name=f"c{i}"), db=db, break_before=["n3"])["run_id"] for i in range(6)
    ]
    results: dict[str, dict[str, Any]] = {}

    def resume_in_thread(run_id: str) -> None:
        results[run_id] = api.resume(run_id, db=db)

    threads = [threading.Thread(target=resume_in_thread, args=(r,)) for r in ids[:3]]
    procs = [spawn("resume", r, "--json", db=db) for r in ids[3:]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for r, p in zip(ids[3:], procs, strict=True):
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        results[r] = json.loads(out)
    assert len(results) == 6
    for r in ids:
        assert results[r]["status"] == "completed"
        assert results[r]["outputs"]["n4"] == {"result": 5}
        assert [c["seq"] for c in api.checkpoints(r, db=db)] == list(range(6))


def test_multiple_resumption_points(tmp_path: Path, db: Path) -> None:
    flow = chain(tmp_path, 7)
    data = json.loads(flow.read_text())
    data["nodes"][2]["breakpoint"] = True  # break before n2, from the file
    flow.write_text(json.dumps(data))
    st = api.run(flow, db=db, break_before=["n4"], break_after=["n5"])
    run_id = st["run_id"]
    stops = [(st["status"], st["next"])]
    while st["status"] == "paused":
        st = api.resume(run_id, db=db)
        stops.append((st["status"], st["next"]))
    assert stops == [("paused", ["n2"]), ("paused", ["n4"]), ("paused", ["n6"]), ("completed", [])]
    # step runs exactly one node each time
    st = api.run(flow, db=db, breakpoints=False, break_before=["n1"])
    before = len(st["completed"])
    stepped = api.step(st["run_id"], db=db)
    assert stepped["status"] == "paused"
    assert stepped["completed"] == st["completed"] + ["n1"]
    assert len(stepped["completed"]) == before + 1
    while stepped["status"] == "paused":
        stepped = api.step(st["run_id"], db=db)
    assert stepped["status"] == "completed" and stepped["outputs"]["n6"] == {"result": 7}


def test_resumption_with_modification(tmp_path: Path, db: Path) -> None:
    flow = write_flow(
        tmp_path, "modify",
        [node("A", "input", name="x"), node("B", "math", op="mul", b=2), node("C", "math", op="add", b=0),
         node("D", "expression", expr="a + x")],
        [edge("A", "B", "value", "a"), edge("B", "C", "result", "a"), edge("C", "D", "result", "a")],
        inputs={"x": 1},
    )
    st = api.run(flow, db=db, break_before=["C"])
    run_id = st["run_id"]
    assert st["outputs"]["B"] == {"result": 2}
    proc = studio("resume", run_id, "--set", "outputs.B.result=10", "--set", "inputs.x=5", "--json", db=db)
    assert proc.returncode == 0, proc.stderr
    done = json.loads(proc.stdout)
    assert done["outputs"]["C"] == {"result": 10}
    assert done["outputs"]["D"] == {"result": 15}
    assert done["inputs"] == {"x": 5}
    assert done["outputs"]["A"] == {"value": 1}  # A is not re-run
    edits = [c for c in api.checkpoints(run_id, db=db) if c["event"] == "state_edited"]
    assert len(edits) == 1 and edits[0]["node"] == "B"
    assert events(api.history(run_id, db=db), "state_edited")[0]["detail"]["set"] == {
        "outputs.B.result": 10, "inputs.x": 5,
    }


def test_interruption_and_resumption(tmp_path: Path, db: Path) -> None:
    flow = write_flow(
        tmp_path, "interrupt",
        [node("a", "constant", value=3), node("b", "math", op="mul", b=4), node("c", "expression", expr="a - 2"),
         node("d", "math", op="add"), node("e", "log", message="total")],
        [edge("a", "b", "value", "a"), edge("a", "c", "value", "a"), edge("b", "d", "result", "a"),
         edge("c", "d", "result", "b"), edge("d", "e", "result", "value")],
    )
    reference = api.run(flow, db=db)
    for stop_at in ["a", "b", "c", "d", "e"]:
        st = api.run(flow, db=db, break_before=[stop_at])
        assert st["status"] == "paused" and stop_at in st["next"]
        st = api.resume(st["run_id"], db=db)
        assert st["status"] == "completed"
        assert st["outputs"] == reference["outputs"]

    # pause() from another thread cuts a delay short; it runs again in full on resume.
    slow = slow_flow(tmp_path)
    background = BackgroundRun(slow, db)
    background.wait_started("wait")
    background.execution.pause()
    result = background.join(30)
    assert result["status"] == "paused" and result["next"] == ["wait"]
    assert "wait" not in result["outputs"]
    fixed = json.loads(slow.read_text())
    fixed["nodes"][1]["params"]["seconds"] = 0
    slow.write_text(json.dumps(fixed))
    st = api.resume(result["run_id"], db=db)
    assert st["status"] == "completed" and st["outputs"]["z"] == {"value": 1}


def test_crash_recovery(tmp_path: Path, db: Path) -> None:
    flow = write_flow(
        tmp_path, "crash",
        [node("a", "constant", value=7), node("b", "math", op="add", b=1), node("wait", "delay", seconds=60),
         node("c", "math", op="mul", b=2)],
        [edge("a", "b", "value", "a"), edge("b", "wait", "result", "value"), edge("wait", "c", "value", "a")],
    )
    proc = spawn("run", str(flow), db=db)
    run_id: list[str] = []

    def delay_started() -> bool:
        if not run_id:
            found = api.runs(db=db)
            if not found:
                return False
            run_id.append(found[0]["id"])
        return bool(events(api.history(run_id[0], db=db), "node_started", "wait"))

    wait_until(delay_started, what="the delay node to start in the child")
    assert api.runs(db=db)[0]["status"] == "running"  # the child is alive: not interrupted
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    listed = api.runs(db=db)
    assert listed[0]["status"] == "interrupted"
    assert events(api.history(run_id[0], db=db), "run_interrupted")
    # make the delay short so that the resume finishes quickly
    data = json.loads(flow.read_text())
    data["nodes"][2]["params"]["seconds"] = 0
    flow.write_text(json.dumps(data))
    done = api.resume(run_id[0], db=db)
    assert done["status"] == "completed"
    assert done["outputs"]["c"] == {"result": 16}
    hist = api.history(run_id[0], db=db)
    assert len(events(hist, "node_started", "a")) == 1
    assert len(events(hist, "node_started", "b")) == 1
    assert len(events(hist, "node_started", "wait")) == 2  # only the node that was running runs again


def test_complex_state(tmp_path: Path, db: Path) -> None:
    flow = write_flow(
        tmp_path, "complex",
        [
            node("src", "constant", value=[{"k": "x", "v": 1}, {"k": "y", "v": 5}, {"k": "x", "v": 7}]),
            node("flag", "constant", value=True),
            node("route", "branch"),
            node("yes", "aggregate", column="v", func="sum", group_by="k"),
            node("no", "sort_rows", column="v"),
            node("join", "merge"),
            node("count", "expression", expr="len(a)"),
            node("p1", "expression", expr="a * 2"),
            node("p2", "expression", expr="a * 3"),
            node("bad", "fail", message="branch three broke"),
            node("after_bad", "log"),
            node("wait", "delay", seconds=0),
            node("total", "math", op="add"),
        ],
        [
            edge("flag", "route", "value", "condition"),
            edge("src", "route", "value", "value"),
            edge("route", "yes", "true", "table"),
            edge("route", "no", "false", "table"),
            edge("yes", "join", "table", "a"),
            edge("no", "join", "table", "b"),
            edge("join", "count", "value", "a"),
            edge("count", "p1", "result", "a"),
            edge("count", "p2", "result", "a"),
            edge("count", "bad", "result", "value"),
            edge("count", "wait", "result", "value"),
            edge("p1", "total", "result", "a"),
            edge("p2", "total", "result", "b"),
            edge("wait", "after_bad", "value", "value"),
        ],
    )
    st = api.run(flow, db=db, break_before=["total"])
    run_id = st["run_id"]
    assert st["status"] == "failed"  # a breakpoint reached while another branch failed
    assert st["skipped"] == ["no"]
    assert st["failed"] == ["bad"]
    assert st["outputs"]["yes"] == {"table": [{"k": "x", "sum_v": 8}, {"k": "y", "sum_v": 5}]}
    assert st["outputs"]["join"] == {"value": st["outputs"]["yes"]["table"]}
    assert {"p1", "p2", "after_bad", "count"} <= set(st["completed"])
    assert "total" in st["next"] and "bad" in st["next"]
    again = api.state(run_id, db=db)
    assert again == st  # everything reconstructed from the database
    fixed = api.resume(run_id, db=db, set={"outputs.count.result": 2}, clear_breakpoints=True)
    assert fixed["status"] == "failed"  # bad fails again on resume, total completes
    assert fixed["outputs"]["total"] == {"result": 2 * 2 + 2 * 3}
    data = json.loads(flow.read_text())
    data["nodes"][9] = node("bad", "log")
    flow.write_text(json.dumps(data))
    done = api.resume(run_id, db=db)
    assert done["status"] == "completed"
    assert done["outputs"]["bad"] == {"value": 2}
