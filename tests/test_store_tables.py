"""Table outputs in the store: stored once by content, shown with their kinds, cut with
``--rows``, checked when read, freed by cleanup; and schema upgrades with Alembic."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from flows import ROOT, edge, node, studio, write_flow

from studio import api
from studio.cli import main
from studio.engine.tasks import NodeResult, NodeTask
from studio.errors import CorruptCheckpoint
from studio.store import Store
from studio.store.migrate import head
from studio.store.schema import HEAD_REVISION, SCHEMA_VERSION

FIXTURE = ROOT / "tests" / "fixtures" / "v1"
CSV = (
    "region,day,amount,ok\n"
    "North,2024-05-01,10,true\n"
    "South,2024-05-02,25.5,false\n"
    "North,2024-05-03,7,true\n"
    "East,2024-05-04,12,false\n"
    "West,2024-05-05,3,true\n"
)
KINDS = [{"name": "region", "kind": "text"}, {"name": "day", "kind": "date"},
         {"name": "amount", "kind": "number"}, {"name": "ok", "kind": "bool"}]


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def table_flow(folder: Path, csv: str = CSV, name: str = "tables", **flags: Any) -> Path:
    """read (a table) -> same (log: the very same frame) and copy (limit: an equal new frame) -> big."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sales.csv").write_text(csv, encoding="utf-8")
    return write_flow(
        folder, name,
        [node("read", "read_file", path="sales.csv"), node("same", "log", message="pass"),
         node("copy", "limit", count=1000), node("big", "filter_rows", column="amount", op="gt", value=8, **flags)],
        [edge("read", "same", "data", "value"), edge("read", "copy", "data", "table"),
         edge("same", "big", "value", "table")],
    )


def query(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def stored_tables(db: Path) -> dict[str, int]:
    return dict(query(db, "select hash, size_bytes from studio_table"))  # type: ignore[arg-type]


# -- stored once ---------------------------------------------------------------------------

def test_the_same_table_from_several_nodes_and_runs_is_stored_once(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    flow = table_flow(tmp_path)
    first = api.run(flow, db=db)
    assert first["status"] == "completed"
    # read, same and copy hold one table, big another: two stored tables for four outputs.
    assert len(stored_tables(db)) == 2
    refs = dict(query(db, "select node, tables from studio_output"))
    assert json.loads(refs["read"])["data"] == json.loads(refs["same"])["value"] == json.loads(refs["copy"])["table"]
    second = api.run(flow, db=db)
    assert second["status"] == "completed" and second["outputs"] == first["outputs"]
    assert len(stored_tables(db)) == 2
    assert query(db, "select count(*) from studio_output")[0][0] == 8


def test_state_shows_tables_as_rows_with_their_kinds(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    state = api.run(table_flow(tmp_path), db=db)
    assert state["outputs"]["read"]["data"][0] == {"region": "North", "day": "2024-05-01", "amount": 10.0, "ok": True}
    assert state["outputs"]["big"]["table"] == [
        {"region": "North", "day": "2024-05-01", "amount": 10.0, "ok": True},
        {"region": "South", "day": "2024-05-02", "amount": 25.5, "ok": False},
        {"region": "East", "day": "2024-05-04", "amount": 12.0, "ok": False},
    ]
    assert state["tables"] == {
        "read.data": {"rows": 5, "columns": KINDS}, "same.value": {"rows": 5, "columns": KINDS},
        "copy.table": {"rows": 5, "columns": KINDS}, "big.table": {"rows": 3, "columns": KINDS},
    }
    assert api.state(state["run_id"], db=db) == state
    json.dumps(state, allow_nan=False)  # the captured state is plain JSON


def test_rows_cuts_tables_in_outputs_but_tables_tells_the_full_count(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = tmp_path / "runs.db"
    flow = table_flow(tmp_path, breakpoint=True)
    code, out, _ = cli(capsys, "run", str(flow), "--rows", "2", "--json", "--db", str(db))
    state = json.loads(out)
    assert code == 3 and len(state["outputs"]["read"]["data"]) == 2
    assert state["tables"]["read.data"]["rows"] == 5
    run_id = state["run_id"]
    code, out, _ = cli(capsys, "state", run_id, "--rows", "2", "--json", "--db", str(db))
    assert code == 0 and json.loads(out) == state
    code, out, _ = cli(capsys, "state", run_id, "--json", "--db", str(db))
    assert code == 0 and len(json.loads(out)["outputs"]["read"]["data"]) == 5
    code, out, _ = cli(capsys, "resume", run_id, "--rows", "1", "--json", "--db", str(db))
    state = json.loads(out)
    assert code == 0 and state["outputs"]["big"]["table"] == [
        {"region": "North", "day": "2024-05-01", "amount": 10.0, "ok": True}]
    assert state["tables"]["big.table"] == {"rows": 3, "columns": KINDS}
    assert api.state(run_id, db=db, rows=0)["outputs"]["copy"] == {"table": []}
    code, _, err = cli(capsys, "state", run_id, "--rows", "-1", "--db", str(db))
    assert code == 2 and "--rows" in err


def test_rows_reads_only_the_first_rows_of_a_big_table(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    lines = ["id,name"] + [f"{i},n{i % 7}" for i in range(20_000)]
    (tmp_path / "big.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    flow = write_flow(tmp_path, "big", [node("read", "read_file", path="big.csv")], [])
    run_id = api.run(flow, db=db, rows=3)["run_id"]
    store = Store(db)
    try:
        snap = store.load(run_id, table_rows=3)
        assert snap.outputs["read"]["data"].height == 3
        info = snap.tables["read.data"]
        assert info["rows"] == 20_000 and info["columns"] == [{"name": "id", "kind": "number"},
                                                              {"name": "name", "kind": "text"}]
        table = store.table_info(info["hash"])
        assert table["rows"] == 20_000 and table["columns"] == info["columns"] and table["size_bytes"] > 0
        rows = store.table_slice(info["hash"], 19_990, 50)
        assert rows["id"].to_list() == list(range(19_990, 20_000))
        full = store.load(run_id).outputs["read"]["data"]
        assert isinstance(full, pl.DataFrame) and full.height == 20_000
    finally:
        store.close()


# -- --set of a table ----------------------------------------------------------------------

def test_set_of_a_table_keeps_its_column_kinds(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    run_id = api.run(table_flow(tmp_path, breakpoint=True), db=db)["run_id"]
    rows = [{"region": "Far", "day": "2025-01-31", "amount": 99, "ok": None},
            {"region": "Near", "day": None, "amount": 1, "ok": True}]
    code, out, err = cli(capsys, "resume", run_id, "--set", f"outputs.same.value={json.dumps(rows)}",
                         "--json", "--db", str(db))
    assert code == 0, err
    state = json.loads(out)
    assert state["outputs"]["same"]["value"] == rows
    assert state["outputs"]["big"]["table"] == rows[:1]
    assert state["tables"]["same.value"] == {"rows": 2, "columns": KINDS}
    assert state["tables"]["big.table"]["columns"] == KINDS  # the date stayed a date downstream
    store = Store(db)
    try:
        frame = store.load(run_id).outputs["big"]["table"]
        assert frame.schema["day"] == pl.Date
    finally:
        store.close()


def test_set_of_a_table_is_still_checked(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    run_id = api.run(table_flow(tmp_path, breakpoint=True), db=db)["run_id"]
    before = api.checkpoints(run_id, db=db)
    code, _, err = cli(capsys, "resume", run_id, "--set", "outputs.copy.table=5", "--db", str(db))
    assert code == 2 and "takes table" in err
    code, _, err = cli(capsys, "resume", run_id, "--set", 'outputs.copy.table=[{"a": 1}, {"b": 2}]',
                       "--db", str(db))
    assert code == 2 and "takes table" in err
    assert api.checkpoints(run_id, db=db) == before


# -- damage ----------------------------------------------------------------------------------

def test_a_damaged_table_is_reported_and_never_used(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    run_id = api.run(table_flow(tmp_path, breakpoint=True), db=db)["run_id"]
    digest, blob = query(db, "select hash, data from studio_table")[0]
    damaged = bytearray(blob)
    damaged[len(damaged) // 2] ^= 0xFF
    con = sqlite3.connect(db)
    con.execute("update studio_table set data = ? where hash = ?", (bytes(damaged), digest))
    con.commit()
    con.close()
    before = (api.checkpoints(run_id, db=db), api.history(run_id, db=db), stored_tables(db))
    for args in (["state", run_id], ["resume", run_id], ["step", run_id], ["state", run_id, "--rows", "1"]):
        code, _, err = cli(capsys, *args, "--db", str(db))
        assert code == 2 and "checksum" in err and "stored table" in err, (args, err)
        assert len(err.strip().splitlines()) == 1
    assert (api.checkpoints(run_id, db=db), api.history(run_id, db=db), stored_tables(db)) == before
    assert api.state(run_id, db=db, checkpoint=api.checkpoints(run_id, db=db)[0]["id"])["outputs"] == {}
    proc = studio("resume", run_id, db=db)
    assert proc.returncode == 2 and "checksum" in proc.stderr and "Traceback" not in proc.stderr
    store = Store(db)
    try:
        with pytest.raises(CorruptCheckpoint, match="checksum"):
            store.table_slice(digest, 0, 2)
    finally:
        store.close()


def test_a_damaged_table_reference_fails_the_output_checksum(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    run_id = api.run(table_flow(tmp_path), db=db)["run_id"]
    big = query(db, "select tables from studio_output where node = 'big'")[0][0]
    other = query(db, "select tables from studio_output where node = 'read'")[0][0]
    con = sqlite3.connect(db)
    con.execute("update studio_output set tables = ? where node = 'big'",
                (json.dumps({"table": json.loads(other)["data"]}),))
    con.commit()
    con.close()
    assert big != other
    proc = studio("state", run_id, db=db)
    assert proc.returncode == 2 and "node 'big' failed their checksum" in proc.stderr


# -- cleanup ---------------------------------------------------------------------------------

def test_cleanup_frees_tables_no_output_refers_to(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    one = api.run(table_flow(tmp_path / "one"), db=db)["run_id"]
    other_csv = CSV.replace("North", "Nord")
    two = api.run(table_flow(tmp_path / "two", other_csv), db=db)["run_id"]
    three = api.run(table_flow(tmp_path / "three", other_csv), db=db)["run_id"]  # shares two's tables
    sizes = stored_tables(db)
    assert len(sizes) == 4
    of_one = {h for (refs,) in query(db, "select tables from studio_output where run_id = ?", one)
              for h in json.loads(refs).values()}
    result = api.cleanup(db=db, run=one, keep=0)
    assert result["tables_deleted"] == 2 and result["table_bytes"] == sum(sizes[h] for h in of_one)
    assert result["bytes"] >= result["table_bytes"]
    assert set(stored_tables(db)) == set(sizes) - of_one
    result = api.cleanup(db=db, run=two, keep=0)
    assert result["tables_deleted"] == 0 and len(stored_tables(db)) == 2  # three still refers to them
    assert api.state(three, db=db)["tables"]["big.table"]["rows"] == 3
    result = api.cleanup(db=db, keep=0, completed=True)
    assert result["tables_deleted"] == 2 and stored_tables(db) == {}


# -- the wire format for Dask --------------------------------------------------------------

def test_tables_cross_to_workers_as_arrow_bytes() -> None:
    frame = pl.DataFrame({"day": [None, "2024-05-01"], "n": [1, 2]}).with_columns(pl.col("day").str.to_date())
    task = NodeTask("big", "filter_rows", {"table": frame, "n": 3}, {"column": "n"}, {}, "/tmp")
    wire = json.loads(task.to_json())
    assert wire["inputs"] == {"table": None, "n": 3} and isinstance(wire["tables"]["table"], str)
    back = NodeTask.from_json(task.to_json())
    assert back.inputs["table"].equals(frame) and back.inputs["table"].schema == frame.schema
    result = NodeResult("big", outputs={"table": frame, "count": 2}, logs=["x"], duration=0.5)
    again = NodeResult.from_json(result.to_json())
    assert list(again.outputs or {}) == ["table", "count"] and again.outputs["table"].equals(frame)  # type: ignore[index]
    assert (again.logs, again.duration) == (["x"], 0.5)
    assert NodeResult.from_json(NodeResult("big", error="boom").to_json()).error == "boom"


# -- schema upgrades -------------------------------------------------------------------------

def v1_copy(tmp_path: Path) -> Path:
    target = tmp_path / "v1"
    target.mkdir()
    for name in ("v1.db", "v1.flow.json", "small.csv"):
        shutil.copy(FIXTURE / name, target / name)
    return target / "v1.db"


def raw_v1(db: Path) -> dict[str, Any]:
    """What the version-1 file holds, read with plain SQL before Studio opens it."""
    runs = query(db, "select id, workflow, status, created_at, updated_at, parent_run from studio_run "
                     "order by created_at, id")
    events = {r[0]: [] for r in runs}  # type: dict[str, list[dict[str, Any]]]
    for run_id, seq, time, event, node_id, detail in query(
            db, "select run_id, seq, time, event, node, detail from studio_event order by run_id, seq"):
        events[run_id].append({"seq": seq, "time": time, "event": event, "node": node_id,
                               "detail": json.loads(detail)})
    outputs = {(run_id, n): json.loads(data)
               for run_id, n, data in query(db, "select run_id, node, data from studio_output")}
    return {"runs": runs, "events": events, "outputs": outputs}


def test_a_version_1_database_is_upgraded_in_place(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = v1_copy(tmp_path)
    before = raw_v1(db)
    done, paused = (r[0] for r in before["runs"])
    caplog.set_level(logging.INFO, logger="studio.store")
    runs = api.runs(db=db)
    assert [m for m in caplog.messages if "upgraded" in m] != []
    assert [(r["id"], r["workflow"], r["status"], r["created_at"], r["updated_at"], r["parent_run"])
            for r in runs] == before["runs"]
    assert query(db, "select version_num from alembic_version") == [(HEAD_REVISION,)]
    assert query(db, "select value from studio_meta where key = 'schema_version'") == [(str(SCHEMA_VERSION),)]
    for run_id in (done, paused):
        assert api.history(run_id, db=db) == before["events"][run_id]
        state = api.state(run_id, db=db)
        assert state["outputs"] == {n: data for (r, n), data in before["outputs"].items() if r == run_id}
        assert state["tables"] == {}  # version-1 outputs stay JSON rows
    assert api.state(paused, db=db)["next"] == ["total"]
    resumed = api.resume(paused, db=db)
    assert resumed["status"] == "completed" and resumed["completed"] == ["read", "big", "total"]
    assert resumed["outputs"]["total"]["table"] == api.state(done, db=db)["outputs"]["total"]["table"]
    assert resumed["tables"]["total.table"]["rows"] == 2
    assert len(stored_tables(db)) == 1


def test_a_second_open_of_an_upgraded_database_does_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = v1_copy(tmp_path)
    caplog.set_level(logging.INFO, logger="studio.store")
    Store(db).close()
    assert sum("upgraded" in m for m in caplog.messages) == 1
    schema = query(db, "select type, name, sql from sqlite_master order by name")
    main_bytes = db.read_bytes()
    caplog.clear()
    Store(db).close()
    assert not [m for m in caplog.messages if "upgraded" in m]
    assert query(db, "select type, name, sql from sqlite_master order by name") == schema
    assert query(db, "select version_num from alembic_version") == [(HEAD_REVISION,)]
    assert db.read_bytes() == main_bytes


def test_a_database_stamped_with_an_older_revision_is_upgraded(tmp_path: Path) -> None:
    db = v1_copy(tmp_path)
    con = sqlite3.connect(db)
    con.execute("create table alembic_version (version_num varchar(32) not null primary key)")
    con.execute("insert into alembic_version values ('0001_baseline')")
    con.commit()
    con.close()
    assert len(api.runs(db=db)) == 2
    assert query(db, "select version_num from alembic_version") == [(HEAD_REVISION,)]
    assert "tables" in [r[1] for r in query(db, "pragma table_info(studio_output)")]


def test_a_new_database_starts_at_the_head_revision(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    assert api.runs(db=db) == []
    assert head() == HEAD_REVISION  # the migration scripts and the store agree on the head
    assert query(db, "select version_num from alembic_version") == [(HEAD_REVISION,)]
    assert query(db, "select value from studio_meta where key = 'schema_version'") == [(str(SCHEMA_VERSION),)]


@pytest.mark.parametrize(("sql", "needle"), [
    ("update alembic_version set version_num = '0099_from_the_future'", "0099_from_the_future"),
    ("update studio_meta set value = '99' where key = 'schema_version'", "schema 99"),
])
def test_a_newer_database_is_refused_and_left_untouched(tmp_path: Path, sql: str, needle: str) -> None:
    db = tmp_path / "newer.db"
    Store(db).close()
    con = sqlite3.connect(db)
    con.execute(sql)
    con.commit()
    con.close()
    content = db.read_bytes()
    for args in (["runs"], ["state", "r-x"]):
        proc = studio(*args, db=db)
        assert proc.returncode == 2, proc.stderr
        assert "newer Workflow Studio" in proc.stderr and needle in proc.stderr and "Traceback" not in proc.stderr
    assert db.read_bytes() == content


def test_several_processes_opening_a_version_1_file_upgrade_it_once(tmp_path: Path) -> None:
    db = v1_copy(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen([sys.executable, "-m", "studio", "runs", "--json", "--debug", "--db", str(db)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for _ in range(3)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err for _, err in results]
    assert len({out for out, _ in results}) == 1 and len(json.loads(results[0][0])) == 2
    assert sum(err.count("upgraded") for _, err in results) == 1
    assert query(db, "select version_num from alembic_version") == [(HEAD_REVISION,)]
