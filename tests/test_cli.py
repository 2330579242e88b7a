"""The command line: exit codes, one-line messages, and refused commands that change nothing."""

from __future__ import annotations

import hashlib
import json
import signal
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from flows import chain, edge, events, node, spawn, studio, wait_until, write_flow

from studio import api
from studio.cli import main
from studio.model.spec import NodeSpec, PortSpec
from studio.nodes import NodeType, registry


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "runs.db"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def snapshot_db(db: Path, run_id: str) -> tuple[Any, ...]:
    return (api.checkpoints(run_id, db=db), api.history(run_id, db=db),
            [r["status"] for r in api.runs(db=db)])


@pytest.fixture
def paused(tmp_path: Path, db: Path) -> str:
    return api.run(chain(tmp_path, 6), db=db, break_before=["n3"])["run_id"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["resume", "r-nope"], "unknown run 'r-nope'"),
        (["state", "r-nope"], "unknown run 'r-nope'"),
        (["step", "r-nope"], "unknown run 'r-nope'"),
        (["history", "r-nope"], "unknown run 'r-nope'"),
        (["checkpoints", "r-nope"], "unknown run 'r-nope'"),
        (["state", "{run}", "--checkpoint", "c-nope"], "unknown checkpoint 'c-nope'"),
        (["resume", "{run}", "--from", "c-nope"], "unknown checkpoint 'c-nope'"),
        (["resume", "{run}", "--set", "foo=1"], "use outputs.NODE.PORT=VALUE"),
        (["resume", "{run}", "--set", "outputs.ghost.value=1"], "no node 'ghost'"),
        (["resume", "{run}", "--set", "outputs.n1.nothing=1"], "no output port 'nothing'"),
        (["resume", "{run}", "--set", "outputs.n5.result=1"], "has not completed"),
        (["resume", "{run}", "--set", "novalue"], "NAME=VALUE"),
        (["resume", "{run}", "--break-before", "ghost"], "ghost"),
        (["resume", "{run}", "--until", "n1"], "already completed"),
        (["resume", "{run}", "--workers", "0"], "at least 1"),
        (["resume", "{run}", "--executor", "nowhere"], "executor"),
        (["cleanup"], "--keep"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_refused_commands_change_nothing(
    capsys: pytest.CaptureFixture[str], db: Path, paused: str, args: list[str], needle: str
) -> None:
    before = snapshot_db(db, paused)
    code, out, err = cli(capsys, *[a.replace("{run}", paused) for a in args], "--db", str(db))
    assert code == 2
    assert needle in err
    assert len(err.strip().splitlines()) == 1
    assert out == ""
    assert snapshot_db(db, paused) == before


def test_run_refuses_unknown_breakpoint_node(capsys: pytest.CaptureFixture[str], tmp_path: Path, db: Path) -> None:
    flow = chain(tmp_path, 3)
    for flag in ("--break-before", "--break-after", "--until"):
        code, _, err = cli(capsys, "run", str(flow), flag, "missing_node", "--db", str(db))
        assert code == 2 and "missing_node" in err
    assert api.runs(db=db) == []


def test_foreign_and_unreadable_databases(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    text = tmp_path / "notes.db"
    text.write_text("my shopping list\n")
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("create table accounts (id integer, name text)")
    con.commit()
    con.close()
    for path in (text, other):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        for args in (["runs"], ["run", str(chain(tmp_path, 2))], ["cleanup", "--keep", "1"]):
            code, _, err = cli(capsys, *args, "--db", str(path))
            assert code == 2, args
            assert "not a Studio database" in err and len(err.strip().splitlines()) == 1
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


def test_database_urls_other_than_sqlite_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "runs", "--db", "postgresql+psycopg://user:secret@nowhere/db")
    assert code == 2 and "only SQLite" in err and "secret" not in err


def test_missing_database_is_created(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "sub" / "new.db"
    code, out, _ = cli(capsys, "--json", "runs", "--db", str(target))
    assert code == 0 and json.loads(out) == [] and target.exists()


def test_corrupt_checkpoint_is_reported_never_used(capsys: pytest.CaptureFixture[str], db: Path, paused: str) -> None:
    cps = api.checkpoints(paused, db=db)
    con = sqlite3.connect(db)
    con.execute("update studio_checkpoint set delta = replace(delta, 'n1', 'n9') where id = ?", (cps[2]["id"],))
    con.commit()
    con.close()
    before = snapshot_db(db, paused)
    for args in (["state", paused], ["resume", paused], ["step", paused]):
        code, _, err = cli(capsys, *args, "--db", str(db))
        assert code == 2 and "checksum" in err
    assert snapshot_db(db, paused) == before
    code, out, _ = cli(capsys, "state", paused, "--checkpoint", cps[1]["id"], "--json", "--db", str(db))
    assert code == 0 and json.loads(out)["completed"] == ["n0"]  # earlier checkpoints still read


def test_completed_run(capsys: pytest.CaptureFixture[str], tmp_path: Path, db: Path) -> None:
    done = api.run(chain(tmp_path, 3), db=db)
    run_id = done["run_id"]
    before = snapshot_db(db, run_id)
    code, out, _ = cli(capsys, "resume", run_id, "--json", "--db", str(db))
    assert code == 0 and json.loads(out)["outputs"] == done["outputs"]
    assert snapshot_db(db, run_id) == before
    code, _, err = cli(capsys, "resume", run_id, "--set", "outputs.n1.result=5", "--db", str(db))
    assert code == 2 and "--from" in err
    first = api.checkpoints(run_id, db=db)[1]["id"]
    code, out, _ = cli(capsys, "resume", run_id, "--from", first, "--set", "outputs.n0.value=10",
                       "--json", "--db", str(db))
    forked = json.loads(out)
    assert code == 0 and forked["run_id"] != run_id and forked["outputs"]["n2"] == {"result": 12}
    assert snapshot_db(db, run_id)[:2] == before[:2]  # the original is untouched
    assert [r["parent_run"] for r in api.runs(db=db)] == [None, run_id]


def test_exit_codes_and_json_anywhere(capsys: pytest.CaptureFixture[str], tmp_path: Path, db: Path) -> None:
    flow = write_flow(tmp_path, "greet", [node("who", "input", name="who"),
                                          node("say", "text", template="Hi {who} x{n}", values={})],
                      [], inputs={"n": 1})
    code, out, _ = cli(capsys, "--json", "run", str(flow), "--input", "who=Ada", "--input", "n=[1,2]",
                       "--db", str(db))
    assert code == 0
    st = json.loads(out)
    assert st["inputs"] == {"n": [1, 2], "who": "Ada"}
    assert st["outputs"]["who"] == {"value": "Ada"}
    code, out, _ = cli(capsys, "run", str(chain(tmp_path, 3)), "--until", "n1", "--json", "--db", str(db))
    assert code == 3 and json.loads(out)["next"] == ["n2"]
    logged = write_flow(tmp_path, "logged", [node("v", "constant", value=3), node("say", "log", message="v is")],
                        [edge("v", "say")])
    code, out, err = cli(capsys, "run", str(logged), "--db", str(db))
    assert code == 0 and "say: v is 3" in err and "completed" in out
    failing = write_flow(tmp_path, "bad", [node("x", "fail", message="nope")], [])
    code, out, err = cli(capsys, "run", str(failing), "--db", str(db))
    assert code == 4 and "nope" in out
    code, out, _ = cli(capsys, "runs", "--db", str(db), "--json")
    assert [r["status"] for r in json.loads(out)] == ["completed", "paused", "completed", "failed"]


def test_validate_command(capsys: pytest.CaptureFixture[str], tmp_path: Path, examples: Path) -> None:
    files = sorted(str(p) for p in examples.glob("*.flow.json"))
    code, out, err = cli(capsys, "validate", *files)
    assert code == 0 and err == "" and out.count(": valid\n") == len(files)
    cases = {"missing.json": None, "empty.json": "", "broken.json": "{nope", "list.json": "[1, 2]"}
    for name, text in cases.items():
        path = tmp_path / name
        if text is not None:
            path.write_text(text)
        code, out, err = cli(capsys, "validate", str(path))
        assert code == 2 and len(err.strip().splitlines()) == 1, (name, err)
    bad = write_flow(tmp_path, "two", [node("a", "math", op="plus"), node("a", "nosuch")], [])
    code, _, err = cli(capsys, "validate", str(bad))
    assert code == 2 and len(err.strip().splitlines()) >= 2
    code, _, err = cli(capsys, "run", str(bad))
    assert code == 2 and "plus" in err


def test_value_json_cannot_hold_fails_that_node(tmp_path: Path, db: Path) -> None:
    spec = NodeSpec("make_set", "Make set", "Test", "Returns a set.", outputs=(PortSpec("value", "any"),))
    types = registry()
    types["make_set"] = NodeType(spec, lambda inputs, params, ctx: {"value": {1, 2}})
    try:
        flow = write_flow(tmp_path, "set", [node("s", "make_set"), node("ok", "constant", value=1)], [])
        st = api.run(flow, db=db)
    finally:
        del types["make_set"]
    assert st["status"] == "failed"
    assert st["errors"]["s"] == "node 's' produced a value of type 'set' that cannot be stored as JSON"
    assert st["outputs"]["ok"] == {"value": 1}


def test_live_owner_refuses_resume_and_ctrl_c_interrupts(tmp_path: Path, db: Path) -> None:
    flow = write_flow(tmp_path, "slow", [node("a", "constant", value=1), node("wait", "delay", seconds=120),
                                         node("z", "log")], [edge("a", "wait"), edge("wait", "z")])
    proc = spawn("run", str(flow), db=db)
    wait_until(lambda: bool(api.runs(db=db)) and bool(
        events(api.history(api.runs(db=db)[0]["id"], db=db), "node_started", "wait")), what="delay start")
    run_id = api.runs(db=db)[0]["id"]
    for args in (["resume", run_id], ["step", run_id], ["resume", run_id, "--set", "inputs.x=1"]):
        refused = studio(*args, db=db)
        assert refused.returncode == 2 and "being run by process" in refused.stderr
        assert "Traceback" not in refused.stderr
    assert api.runs(db=db)[0]["status"] == "running"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert api.runs(db=db)[0]["status"] == "interrupted"
    assert events(api.history(run_id, db=db), "run_interrupted")
    data = json.loads(flow.read_text())
    data["nodes"][1]["params"]["seconds"] = 0
    flow.write_text(json.dumps(data))
    resumed = studio("resume", run_id, "--json", db=db)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["outputs"]["z"] == {"value": 1}


def test_edit_and_continue_reruns_only_changed_nodes(tmp_path: Path, db: Path) -> None:
    flow = write_flow(
        tmp_path, "edit",
        [node("a", "constant", value=60), node("side", "expression", expr="a + 1"),
         node("limit", "compare", op="le", b=50), node("ok", "check", message="over budget"),
         node("done", "log")],
        [edge("a", "side", "value", "a"), edge("a", "limit", "value", "a"), edge("a", "ok", "value", "value"),
         edge("limit", "ok", "result", "condition"), edge("ok", "done", "value", "value")],
    )
    st = api.run(flow, db=db)
    assert st["status"] == "failed" and st["failed"] == ["ok"]
    data = json.loads(flow.read_text())
    data["nodes"][2]["params"]["b"] = 100  # the user raises the budget in the file
    flow.write_text(json.dumps(data))
    proc = studio("resume", st["run_id"], "--json", db=db)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["outputs"]["done"] == {"value": 60}
    hist = api.history(st["run_id"], db=db)
    started = [e["node"] for e in events(hist, "node_started")]
    assert started.count("a") == 1 and started.count("side") == 1
    assert started.count("limit") == 2 and started.count("ok") == 2
    assert events(hist, "state_edited")[0]["detail"]["stale"] == ["limit", "ok"]
