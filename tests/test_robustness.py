"""Concurrency, damaged data and odd input: found by review, kept fixed by these tests."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from flows import BackgroundRun, chain, edge, events, node, slow_flow, spawn, studio, write_flow

from studio import api
from studio.errors import BadStatePath, RunBusy, StudioError


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "runs.db"


def test_refused_resume_in_the_same_process_leaves_the_live_run_alone(tmp_path: Path, db: Path) -> None:
    background = BackgroundRun(slow_flow(tmp_path), db)
    run_id = background.wait_started("wait")
    for call in (lambda: api.resume(run_id, db=db), lambda: api.step(run_id, db=db),
                 lambda: api.edit_state(run_id, {"inputs.x": 1}, db=db)):
        with pytest.raises(RunBusy):
            call()
        assert api.runs(db=db)[0]["status"] == "running"  # still alive, not "interrupted"
    background.execution.stop()
    assert background.join(30)["status"] == "cancelled"
    assert not events(api.history(run_id, db=db), "run_interrupted")


def test_concurrent_steps_never_commit_a_node_twice(tmp_path: Path, db: Path) -> None:
    run_id = api.run(chain(tmp_path, 12), db=db, break_before=["n1"])["run_id"]
    procs = [spawn("step", run_id, db=db) for _ in range(8)]
    for p in procs:
        p.communicate(timeout=120)
        assert p.returncode in (0, 2, 3)
    hist = api.history(run_id, db=db)
    done = [e["node"] for e in events(hist, "node_completed")]
    assert len(done) == len(set(done))
    seqs = [c["seq"] for c in api.checkpoints(run_id, db=db)]
    assert seqs == list(range(len(seqs)))
    st = api.resume(run_id, db=db)
    assert st["status"] == "completed" and st["outputs"]["n11"] == {"result": 12}


def test_new_database_opened_by_many_processes_at_once(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.db"
    procs = [spawn("runs", "--json", db=fresh) for _ in range(8)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert json.loads(out) == []


def test_breakpoints_given_to_resume_stay_with_the_run(tmp_path: Path, db: Path) -> None:
    flow = chain(tmp_path, 6)
    st = api.run(flow, db=db, break_before=["n1"])
    run_id = st["run_id"]
    st = api.resume(run_id, db=db, break_before=["n2", "n4"])
    assert st["next"] == ["n2"]
    st = api.resume(run_id, db=db)
    assert st["next"] == ["n4"]  # the breakpoint added by the earlier resume still holds
    st = api.run(flow, db=db, break_before=["n1", "n4"])
    st = api.resume(st["run_id"], db=db, clear_breakpoints=True, until="n2")
    assert st["next"] == ["n3"]
    assert api.resume(st["run_id"], db=db)["status"] == "completed"  # n4's breakpoint is gone


def test_uninterrupted_and_resumed_runs_see_the_same_values(tmp_path: Path, db: Path) -> None:
    flow = write_flow(tmp_path, "keys", [node("a", "expression", expr="{1: 'one'}"),
                                         node("b", "expression", expr="a['1']")],
                      [edge("a", "b", "result", "a")])
    straight = api.run(flow, db=db)
    paused = api.run(flow, db=db, break_before=["b"])
    resumed = api.resume(paused["run_id"], db=db)
    assert straight["status"] == resumed["status"] == "completed"
    assert straight["outputs"] == resumed["outputs"] == {"a": {"result": {"1": "one"}}, "b": {"result": "one"}}


def test_set_values_must_fit_the_port(tmp_path: Path, db: Path) -> None:
    run_id = api.run(chain(tmp_path, 5), db=db, break_before=["n3"])["run_id"]
    before = api.checkpoints(run_id, db=db)
    with pytest.raises(BadStatePath, match="takes number, got text"):
        api.resume(run_id, db=db, set={"outputs.n2.result": "abc"})
    assert api.checkpoints(run_id, db=db) == before


def test_editing_a_completed_node_keeps_the_completed_order(tmp_path: Path, db: Path) -> None:
    run_id = api.run(chain(tmp_path, 5), db=db, break_before=["n3"])["run_id"]
    st = api.edit_state(run_id, {"outputs.n0.value": 5, "outputs.n1.result": 7}, db=db)
    assert st["completed"] == ["n0", "n1", "n2"]
    assert st["outputs"]["n1"] == {"result": 7}


def test_resume_after_an_edited_file_does_not_rerun_twice(tmp_path: Path, db: Path) -> None:
    flow = chain(tmp_path, 6)
    run_id = api.run(flow, db=db, break_before=["n2", "n5"])["run_id"]
    data = json.loads(flow.read_text())
    data["nodes"][3]["params"]["b"] = 10
    flow.write_text(json.dumps(data))
    assert api.resume(run_id, db=db)["next"] == ["n5"]
    done = api.resume(run_id, db=db)
    assert done["outputs"]["n5"] == {"result": 15}
    started = [e["node"] for e in events(api.history(run_id, db=db), "node_started")]
    assert started.count("n3") == 1 and started.count("n4") == 1


def test_damaged_rows_are_clear_errors(tmp_path: Path, db: Path) -> None:
    good = api.run(chain(tmp_path, 3), db=db)["run_id"]
    bad = api.run(chain(tmp_path, 3, name="other"), db=db, break_before=["n2"])["run_id"]
    con = sqlite3.connect(db)
    con.execute("update studio_run set breakpoints = 'nope', workflow_json = '{' where id = ?", (bad,))
    con.execute("update studio_event set detail = '{bad' where run_id = ? and seq = 0", (bad,))
    con.commit()
    con.close()
    assert [r["id"] for r in api.runs(db=db)] == [good, bad]  # one damaged run hides nothing else
    for args in (["resume", bad], ["state", bad], ["history", bad]):
        proc = studio(*args, db=db)
        assert proc.returncode == 2 and "damaged" in proc.stderr and "Traceback" not in proc.stderr
    assert api.state(good, db=db)["status"] == "completed"


def test_refused_cleanup_deletes_nothing(tmp_path: Path, db: Path) -> None:
    first = api.run(chain(tmp_path, 6), db=db)["run_id"]
    second = api.run(chain(tmp_path, 6, name="second"), db=db)["run_id"]
    con = sqlite3.connect(db)
    con.execute("update studio_checkpoint set delta = replace(delta, 'n1', 'n9') where run_id = ? and seq = 2",
                (second,))
    con.commit()
    con.close()
    with pytest.raises(StudioError, match="checksum"):
        api.cleanup(db=db, keep=1)
    assert len(api.checkpoints(first, db=db)) == 7 and len(api.checkpoints(second, db=db)) == 7


@pytest.mark.parametrize(("args", "needle"), [
    (["cleanup", "--older-than", "nan"], "--older-than"),
    (["cleanup", "--older-than", "1e9"], "--older-than"),
    (["runs", "--db", "sqlite://"], "in-memory"),
])
def test_odd_numbers_and_urls(db: Path, args: list[str], needle: str) -> None:
    proc = studio(*args, db=db) if "--db" not in args else _studio_raw(*args)
    assert proc.returncode == 2 and needle in proc.stderr and "Traceback" not in proc.stderr


def _studio_raw(*args: str) -> Any:
    import os
    import subprocess
    import sys

    from flows import ROOT

    return subprocess.run([sys.executable, "-m", "studio", *args], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)


def test_non_json_numbers_on_the_command_line_are_text(tmp_path: Path, db: Path) -> None:
    flow = write_flow(tmp_path, "echo", [node("x", "input", name="x")], [])
    proc = studio("run", str(flow), "--input", "x=NaN", "--json", db=db)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["outputs"]["x"] == {"value": "NaN"}
    proc = studio("run", str(flow), "--input", "x=1e400", "--json", db=db)
    assert json.loads(proc.stdout)["outputs"]["x"] == {"value": "1e400"}
