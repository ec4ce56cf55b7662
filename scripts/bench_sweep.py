#!/usr/bin/env python
"""Points per second of a parameter sweep: in this process (warm), in local worker processes, and
on a local Dask cluster, on a generated instance.

    python scripts/bench_sweep.py                                   # 100,000 variables, 8 points
    python scripts/bench_sweep.py --variables 10000 --points 16 --workers 2 --json sweep.json

The instance is made (once, cached beside scripts/bench.py's) by scripts/generate_instance.py
with --variables N --no-targets, and the sweep moves the prevention shift
(``shift_policies[0].increase_pp``) over ``--points`` values from 0 to 4 points. Each way of
running solves the same points; the table shows the wall time (including starting the worker
processes or the cluster), points per second, and whether the answers (status and cost of every
point) equal the in-process run's. For Dask it also shows the time with a cluster already running
(what a long-lived cluster costs per sweep).

Heavy by design: it is not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("BUDGETSHIFT_BENCH_DIR", "/tmp/budgetshift-bench"))
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def instance_for(size: int, seed: int) -> Path:
    path = CACHE / f"gen_{size}_{seed}.yaml"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(ROOT / "scripts" / "generate_instance.py"), "--variables", str(size),
                        "--seed", str(seed), "--no-targets", "--out", str(path)], check=True)
    return path


def same(a, b) -> bool:
    import numpy as np

    if list(a["status"]) != list(b["status"]):
        return False
    x, y = a["discounted_cost"].to_numpy(dtype=float), b["discounted_cost"].to_numpy(dtype=float)
    return bool(np.all((np.isnan(x) & np.isnan(y)) | (np.abs(x - y) <= 1e-7 * np.maximum(1, np.abs(x)))))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variables", type=int, default=100_000, help="size of the generated instance (default 100000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--points", type=int, default=8, help="points of the sweep")
    ap.add_argument("--workers", type=int, default=None, help="local processes and Dask workers (default: cores)")
    ap.add_argument("--skip", nargs="*", default=[], choices=["local", "processes", "dask"], help="ways to skip")
    ap.add_argument("--json", type=Path, help="write the figures here")
    a = ap.parse_args(argv)

    import distributed

    import optimiser
    from optimiser.analyses.execution import available_cores

    workers = a.workers or available_cores()
    path = instance_for(a.variables, a.seed)
    t0 = time.perf_counter()
    inst = optimiser.load(path)
    load_s = time.perf_counter() - t0
    lp = optimiser.build_lp(inst)
    values = [round(4.0 * k / max(1, a.points - 1), 6) for k in range(a.points)]
    vary = {"shift_policies[0].increase_pp": values}
    print(f"instance {path} ({lp.n_cols:,} variables, {lp.n_rows:,} rows), loaded in {load_s:.2f}s; "
          f"{a.points} points; {available_cores()} cores; {workers} workers")
    rows, ref = [], None

    def record(mode, n, table, seconds, note=""):
        nonlocal ref
        if ref is None:
            ref = table
        rows.append({"mode": mode, "workers": n, "points": len(table), "seconds": round(seconds, 3),
                     "points_per_second": round(len(table) / seconds, 4), "same_answers": same(ref, table),
                     "statuses": table["status"].value_counts().to_dict(), "note": note})
        r = rows[-1]
        print(f"  {mode:<34} {n:>3} workers {r['seconds']:>9.2f}s {r['points_per_second']:>9.4f} points/s "
              f"same={r['same_answers']} {note}", flush=True)

    if "local" not in a.skip:
        t0 = time.perf_counter()
        t = optimiser.sweep(inst, vary=vary)
        record("in-process (warm Session)", 1, t, time.perf_counter() - t0)
    if "processes" not in a.skip:
        t0 = time.perf_counter()
        t = optimiser.sweep(inst, vary=vary, workers=workers)
        record("local processes", workers, t, time.perf_counter() - t0, "incl. starting the pool")
    if "dask" not in a.skip:
        t0 = time.perf_counter()
        t = optimiser.sweep(inst, vary=vary, backend="dask", workers=workers)
        record("dask LocalCluster", workers, t, time.perf_counter() - t0, "incl. starting the cluster")
        with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                      dashboard_address=":0") as cluster, distributed.Client(cluster) as client:
            client.wait_for_workers(workers)
            t0 = time.perf_counter()
            t = optimiser.sweep(inst, vary=vary, backend="dask", client=client)
            record("dask, cluster already running", workers, t, time.perf_counter() - t0)
    if a.json:
        a.json.write_text(json.dumps({"instance": str(path), "variables": lp.n_cols, "rows": lp.n_rows,
                                      "cores": available_cores(), "runs": rows}, indent=2, default=str))


if __name__ == "__main__":
    main()
