"""Tables through whole runs: the orders example, the CLI, --rows and the stored state."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from studio import api
from studio.resources_path import example


def copy_example(tmp_path: Path) -> Path:
    for name in ("orders-report.flow.json", "orders.csv", "customers.csv"):
        shutil.copy(example(name), tmp_path / name)
    return tmp_path / "orders-report.flow.json"


def test_orders_example_gives_the_sales_per_country(tmp_path: Path) -> None:
    flow = copy_example(tmp_path)
    state = api.run(flow, db=tmp_path / "s.db", rows=2)
    assert state["status"] == "completed", state["errors"]
    # Worked out by hand from orders.csv: UK = 2*18.50 + 39.90 + 6*7.25, and so on;
    # the Netherlands' two orders have no units, 099 is not a known customer.
    assert (tmp_path / "orders-report.csv").read_text(encoding="utf-8") == (
        "country,sales,orders,average_order\n"
        "Portugal,168.8,2,84.4\n"
        "Norway,122.0,2,61.0\n"
        "United Kingdom,120.4,3,40.13333333333333\n"
        "France,79.5,2,39.75\n"
        "Unknown,25.0,1,25.0\n"
    )
    tables = state["tables"]
    assert tables["orders.data"]["rows"] == 12
    assert {c["name"]: c["kind"] for c in tables["orders.data"]["columns"]} == {
        "order_id": "number", "customer_id": "text", "order_date": "date", "product": "text",
        "unit_price": "number", "units": "number"}
    assert len(state["outputs"]["orders"]["data"]) == 2  # --rows 2
    assert state["outputs"]["orders"]["data"][0]["customer_id"] == "007"
    excel = api.run(_reader(tmp_path, "orders-report.xlsx"), db=tmp_path / "s.db")
    assert excel["outputs"]["read"]["data"][0] == {
        "country": "Portugal", "sales": 168.8, "orders": 2, "average_order": 84.4}


def _reader(folder: Path, name: str) -> Path:
    flow = folder / "read.flow.json"
    flow.write_text(json.dumps({"format": "studio.workflow", "version": 1, "nodes": [
        {"id": "read", "type": "read_file", "params": {"path": name}}], "edges": []}), encoding="utf-8")
    return flow


def test_cli_reports_a_bad_csv_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text('a,b\n1,"2\n3,4\n', encoding="utf-8")
    flow = _reader(tmp_path, "bad.csv")
    done = subprocess.run([sys.executable, "-m", "studio", "run", str(flow), "--db", str(tmp_path / "s.db")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 4
    said = done.stdout + done.stderr
    assert "Traceback" not in said
    assert "bad.csv line 2 has a quote that is never closed" in said


def test_state_rows_and_tables_from_the_cli(tmp_path: Path) -> None:
    flow = copy_example(tmp_path)
    db = tmp_path / "s.db"
    run_id = api.run(flow, db=db)["run_id"]
    done = subprocess.run([sys.executable, "-m", "studio", "state", run_id, "--rows", "1", "--json", "--db", str(db)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    state = json.loads(done.stdout)
    assert len(state["outputs"]["with_customer"]["table"]) == 1
    assert state["tables"]["with_customer.table"]["rows"] == 12
    assert state["tables"]["per_country.table"]["columns"][0] == {"name": "country", "kind": "text"}


def test_cleanup_gives_the_table_bytes_back_to_the_file_system(tmp_path: Path) -> None:
    import random

    rnd = random.Random(3)
    lines = ["id,code,amount"] + [f"{i},{rnd.randrange(10**6):06d},{rnd.random():.6f}" for i in range(30_000)]
    (tmp_path / "big.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    flow = _reader(tmp_path, "big.csv")
    db = tmp_path / "s.db"
    api.run(flow, db=db, rows=0)

    def on_disk() -> int:  # the database and its write-ahead log
        return sum(p.stat().st_size for p in tmp_path.glob("s.db*"))

    before = on_disk()
    result = api.cleanup(db=db, keep=0, completed=True)
    assert result["deleted"] == 2 and result["tables_deleted"] == 1
    assert on_disk() < before / 2
