"""Tables benchmark: a 1,000,000-row CSV through a durable Studio run, against pandas.

    python benchmarks/bench_tables.py [--rows 1000000] [--repeat 3]

Generates a CSV (~90 MB at a million rows: integers, floats, text codes with
leading zeros, ISO dates, 5 % missing cells), then times, in this one process,
read → filter → add_column → aggregate by a text column → write CSV:

- as a durable Studio run (``studio.api.run``, synchronous=FULL, every node's
  table stored in the run's database), and
- as the same pipeline in pandas, storing nothing (``pip install -e '.[bench]'``).

Peak memory is measured for each in a fresh child process (``ru_maxrss``), so
one does not inherit the other's heap. It prints the ratios, the database growth
(also after a second run on the same file), ``add_column`` alone, and how long
loading the run's state for display takes (what the GUI does).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REGIONS = ["Zürich", "Berlin", "Oslo", "Åland", "Lisboa", "Kraków", "Reykjavík", "Málaga", "Bergen",
           "Dublin", "Gent", "Tallinn", "Tromsø", "Évora", "Porto", "Lyon", "Graz", "Turku", "Cork", "Split"]
STATUS = ["shipped", "open", "returned", "cancelled"]


def generate(path: Path, rows: int, seed: int = 7) -> None:
    rnd = random.Random(seed)

    def maybe(text: str) -> str:
        return "" if rnd.random() < 0.05 else text

    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("order_id,customer,sku,region,day,price,units,discount,status,note\n")
        for i in range(rows):
            fh.write(
                f"{i + 1},{rnd.randrange(100000):05d},SKU-{rnd.randrange(5000):04d},{maybe(rnd.choice(REGIONS))},"
                f"{maybe(f'2024-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}')},"
                f"{maybe(f'{rnd.uniform(1, 500):.2f}')},{maybe(str(rnd.randint(1, 20)))},"
                f"{rnd.choice(('0.0', '0.05', '0.1', '0.15'))},{rnd.choice(STATUS)},"
                f"order {i % 977} for a customer\n"
            )


def workflow(csv: Path, out: Path) -> dict[str, Any]:
    def n(node_id: str, type_: str, **params: Any) -> dict[str, Any]:
        return {"id": node_id, "type": type_, "params": params}

    def e(a: str, ap: str, b: str, bp: str) -> dict[str, str]:
        return {"source": a, "source_port": ap, "target": b, "target_port": bp}

    return {
        "format": "studio.workflow", "version": 1, "name": "bench tables",
        "nodes": [
            n("read", "read_file", path=str(csv)),
            n("shipped", "filter_rows", column="status", op="eq", value="shipped"),
            n("total", "add_column", name="total", expr="price * units"),
            n("per_region", "aggregate", group_by="region", aggregations=[
                {"column": "total", "func": "sum"}, {"column": "total", "func": "mean"}, {"func": "rows"}]),
            n("save", "write_file", path=str(out)),
        ],
        "edges": [e("read", "data", "shipped", "table"), e("shipped", "table", "total", "table"),
                  e("total", "table", "per_region", "table"), e("per_region", "table", "save", "data")],
    }


def studio_pipeline(flow: Path, db: Path) -> dict[str, Any]:
    from studio import api

    state = api.run(flow, db=db, rows=0)
    assert state["status"] == "completed", state
    return state


def pandas_pipeline(csv: Path, out: Path) -> None:
    import pandas as pd

    df = pd.read_csv(csv, dtype={"customer": str})  # keep the codes' leading zeros, as Studio does
    df = df[df["status"] == "shipped"].copy()
    df["total"] = df["price"] * df["units"]
    result = df.groupby("region", sort=False, dropna=False).agg(
        sum_total=("total", "sum"), mean_total=("total", "mean"), rows=("total", "size")).reset_index()
    result.to_csv(out, index=False)


def db_size(db: Path) -> int:
    return sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))


def child_peak(kind: str, work: Path) -> float:
    """Peak resident memory (MiB) of one pipeline run in a fresh process."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import bench_tables as b; from pathlib import Path; "
        "w = Path(sys.argv[2]); "
        "b.studio_pipeline(w / 'bench.flow.json', w / 'peak.db') if sys.argv[3] == 'studio' else "
        "b.pandas_pipeline(w / 'bench.csv', w / 'peak-pandas.csv'); "
        "print(b.peak_kib())"
    )
    done = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent), str(work), kind],
                          capture_output=True, text=True, check=True)
    for leftover in work.glob("peak.db*"):
        leftover.unlink()
    return int(done.stdout.strip().splitlines()[-1]) / 1024


def peak_kib() -> int:
    """This process's peak resident memory (VmHWM; unlike ru_maxrss it starts again at exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="studio-bench-tables-"))
    csv = work / "bench.csv"
    generate(csv, args.rows)
    csv_bytes = csv.stat().st_size
    flow = work / "bench.flow.json"
    flow.write_text(json.dumps(workflow(csv, work / "report.csv")), encoding="utf-8")
    print(f"{args.rows:,} rows, CSV {csv_bytes / 2**20:.1f} MiB, in {work}")

    # Warm up: imports and first-call costs are not what is compared.
    studio_pipeline(flow, work / "warm.db")
    pandas_pipeline(csv, work / "report-pandas.csv")
    studio_times, pandas_times, growth = [], [], []
    for i in range(args.repeat):
        db = work / f"run{i}.db"
        started = time.perf_counter()
        studio_pipeline(flow, db)
        studio_times.append(time.perf_counter() - started)
        growth.append(db_size(db))
        started = time.perf_counter()
        pandas_pipeline(csv, work / "report-pandas.csv")
        pandas_times.append(time.perf_counter() - started)

    # The same workflow twice on the same file into one database: no second copy of its tables.
    shared = work / "shared.db"
    studio_pipeline(flow, shared)
    first = db_size(shared)
    studio_pipeline(flow, shared)
    second = db_size(shared)

    from studio import api
    from studio.store import open_store
    from studio.tables.frame import columns_of

    run_id = api.runs(db=shared)[-1]["id"]
    store = open_store(shared)
    started = time.perf_counter()
    snap = store.load(run_id, table_rows=200)
    shown = time.perf_counter() - started
    started = time.perf_counter()
    api.state(run_id, db=shared, rows=100)
    state_rows = time.perf_counter() - started

    import polars as pl

    from studio.tables.files import CsvOptions, read_csv
    from studio.tables.ops import add_column

    table = read_csv(csv.read_bytes(), CsvOptions(), csv.name, lambda line: None)
    add_times = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        add_column(table, "total", "price * units", {})
        add_times.append(time.perf_counter() - started)
    assert isinstance(table, pl.DataFrame) and columns_of(table)

    studio_peak = child_peak("studio", work)
    pandas_peak = child_peak("pandas", work)
    s, p = statistics.median(studio_times), statistics.median(pandas_times)
    print(f"read → filter → add_column → aggregate → write, median of {args.repeat}:")
    print(f"  Studio, durable run : {s:6.2f} s   peak {studio_peak:7.0f} MiB")
    print(f"  pandas, nothing kept: {p:6.2f} s   peak {pandas_peak:7.0f} MiB")
    print(f"  ratio Studio/pandas : time {s / p:.2f}x   memory {studio_peak / pandas_peak:.2f}x")
    print(f"  database growth     : {statistics.median(growth) / 2**20:.1f} MiB = "
          f"{statistics.median(growth) / csv_bytes:.2f}x the CSV")
    print(f"  same run again      : +{(second - first) / 2**20:.2f} MiB (first {first / 2**20:.1f} MiB)")
    print(f"  add_column price * units alone: {statistics.median(add_times) * 1000:.0f} ms")
    print(f"  load state for display (schema + 200-row preview): {shown * 1000:.0f} ms"
          f" ({len(snap.tables)} tables); api.state --rows 100: {state_rows * 1000:.0f} ms")
    print(f"  (peak of this benchmark process: {peak_kib() / 1024:.0f} MiB; pid {os.getpid()})")


if __name__ == "__main__":
    main()
