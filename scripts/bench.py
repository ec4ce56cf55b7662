#!/usr/bin/env python
"""Benchmark the whole pipeline against HiGHS's own solve time, on generated instances of growing size.

For each size it generates (once, cached) an instance with scripts/generate_instance.py and, in a
fresh process, times every stage separately: load and validate, build, translate (HiGHS model
passed in), HiGHS's own solve time (as HiGHS reports it), result extraction, verification; and the
peak memory of that process. The headline figure is total time / HiGHS time.

    python scripts/bench.py                          # 10k, 25k, 50k, 100k variables
    python scripts/bench.py --sizes 10000 500000 --json bench.json
    python scripts/bench.py --sweep 100000           # also an 11-point shift sweep, cold vs warm
    python scripts/bench.py --sizes --points-per-second 100000   # sweep throughput: in-process, workers, Dask
    python scripts/bench.py --sizes 500000 1000000 --linopy      # the same model in linopy, beside ours

Instances are generated with the places mix by default (``--mix system`` for the single-system mix
of earlier figures).

Heavy by design: it is not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("BUDGETSHIFT_BENCH_DIR", "/tmp/budgetshift-bench"))


def instance_for(size: int, seed: int, mix: str = "places") -> Path:
    """The generated instance of about ``size`` variables (cached). Without admission targets: they
    would cost two extra solves per instance to set (see generate_instance.add_binding_targets)."""
    path = CACHE / (f"gen_{size}_{seed}_csv.yaml" if mix == "system" else f"gen_{mix}_{size}_{seed}_csv.yaml")
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(ROOT / "scripts" / "generate_instance.py"), "--variables", str(size),
                        "--mix", mix, "--seed", str(seed), "--no-targets", "--csv", "--out", str(path)], check=True)
    return path


def child(args: list[str]) -> dict:
    """Run one measurement in a fresh process; its figures are the last line it prints."""
    out = subprocess.run([sys.executable] + args, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def measure(path: str) -> dict:
    """Run in a child process: time each stage of one solve."""
    sys.path.insert(0, str(ROOT))
    import optimiser
    from optimiser.solving.results import extract
    from optimiser.solving.highs import SolverOptions, build_lp, load, run_highs

    t = {}
    t0 = time.perf_counter()
    inst = optimiser.load(path)
    t["load_validate"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    lp = build_lp(inst)
    t["build"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = load(lp, SolverOptions())
    t["translate"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    raw = run_highs(lp, SolverOptions(), model=model)
    wall_solve = time.perf_counter() - t0
    t["highs"] = raw.solver_seconds
    t["solve_overhead"] = max(0.0, wall_solve - raw.solver_seconds)
    del model  # as optimiser.solve does: HiGHS's memory is freed before the result tables are made
    t0 = time.perf_counter()
    result = extract(inst, lp, raw)
    t["extract"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    check = result.verify() if result.has_plan else None
    t["verify"] = time.perf_counter() - t0
    total = sum(v for k, v in t.items())
    return {
        "variables": lp.n_cols, "constraints": lp.n_rows, "nonzeros": lp.nnz, "status": result.status.value,
        "objective": result.objective,
        "verified": None if check is None else check.ok, "seconds": t, "total_seconds": total,
        "ratio_total_to_highs": total / t["highs"] if t["highs"] > 0 else None,
        "outside_highs_seconds": total - t["highs"],
        "peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "build_steps_seconds": getattr(lp, "step_seconds", {}),
    }


def sweep(path: str, points: int = 11, cold_sweep: bool = True) -> dict:
    """The shift target from 0 to 10 points: one warm Session solving the points in turn, the same
    with Session.solve_many (validation, building and extraction overlapping HiGHS), and cold (a
    fresh solve per point), each against one cold solve of the instance."""
    sys.path.insert(0, str(ROOT))
    import optimiser

    inst = optimiser.load(path)
    values = [10.0 * k / (points - 1) for k in range(points)]
    variants = [{"shift_policies[0].increase_pp": v} for v in values]
    t0 = time.perf_counter()
    one = optimiser.solve(inst)
    one_cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    session = optimiser.Session(inst)
    warm = [session.solve(v) for v in variants]
    warm_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    overlapped = list(optimiser.Session(inst).solve_many(variants))
    many_s = time.perf_counter() - t0
    cold_s, same = None, None
    if cold_sweep:
        t0 = time.perf_counter()
        cold = [optimiser.solve(inst.with_overrides(v)) for v in variants]
        cold_s = time.perf_counter() - t0
        same = all(a.status == b.status and (a.objective is None or abs(a.objective - b.objective)
                                             <= 1e-7 * max(1, abs(a.objective))) for a, b in zip(cold, warm))
    return {"points": points, "one_cold_solve_seconds": one_cold, "warm_sweep_seconds": warm_s,
            "solve_many_seconds": many_s, "cold_sweep_seconds": cold_s, "warm_over_one_cold": warm_s / one_cold,
            "solve_many_over_one_cold": many_s / one_cold, "same_answers": same,
            "solve_many_same_as_warm": all(a.status == b.status and a.objective == b.objective
                                           for a, b in zip(warm, overlapped)),
            "highs_seconds_one_cold": round(one.stats["highs_seconds"], 4),
            "highs_seconds_warm": [round(r.stats["highs_seconds"], 4) for r in warm],
            "highs_seconds_solve_many": [round(r.stats["highs_seconds"], 4) for r in overlapped],
            "statuses": [r.status.value for r in warm], "first_status": one.status.value}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000, 25_000, 50_000, 100_000])
    ap.add_argument("--points-per-second", type=int, metavar="SIZE",
                    help="also run scripts/bench_sweep.py at this size (points per second in-process, with "
                         "local workers and on a local Dask cluster)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mix", choices=("places", "system"), default="places",
                    help="generated instances: many places (default) or one system (see generate_instance.py)")
    ap.add_argument("--linopy", action="store_true",
                    help="also build and solve the same model in linopy (scripts/bench_linopy.py), in a fresh "
                         "process, and check that its optimal cost equals ours (needs the 'bench' extra)")
    ap.add_argument("--sweep", type=int, metavar="SIZE", help="also run an 11-point warm sweep at this size")
    ap.add_argument("--no-cold-sweep", action="store_true", help="with --sweep: skip solving every point cold")
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--child-sweep", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        print(json.dumps(measure(a.child)))
        return
    if a.child_sweep:
        print(json.dumps(sweep(a.child_sweep, cold_sweep=not a.no_cold_sweep)))
        return
    rows = []
    head = (f"{'target':>9} {'vars':>9} {'rows':>9} {'nnz':>10} {'load':>7} {'build':>7} {'transl':>7} "
            f"{'HiGHS':>8} {'extract':>7} {'verify':>7} {'total':>8} {'ratio':>6} {'peak MB':>8}"
            + (f" | {'linopy build':>12} {'HiGHS':>8} {'total':>8} {'ratio':>6} {'peak MB':>8}" if a.linopy else ""))
    print(head)
    for size in a.sizes:
        path = instance_for(size, a.seed, a.mix)
        r = child([__file__, "--child", str(path)])
        r["target_variables"] = size
        rows.append(r)
        s = r["seconds"]
        line = (f"{size:>9} {r['variables']:>9} {r['constraints']:>9} {r['nonzeros']:>10} {s['load_validate']:>7.2f} "
                f"{s['build']:>7.2f} {s['translate']:>7.2f} {s['highs']:>8.2f} {s['extract']:>7.2f} {s['verify']:>7.2f} "
                f"{r['total_seconds']:>8.2f} {r['ratio_total_to_highs']:>6.3f} {r['peak_memory_mb']:>8.0f}")
        if a.linopy:
            lin = child([str(ROOT / "scripts" / "bench_linopy.py"), str(path)])
            lin["same_objective"] = abs(lin["objective"] - r["objective"]) <= 1e-6 * max(1.0, abs(r["objective"]))
            r["linopy"] = lin
            line += (f" | {lin['seconds']['build']:>12.2f} {lin['seconds']['highs']:>8.2f} {lin['total_seconds']:>8.2f} "
                     f"{lin['ratio_total_to_highs']:>6.3f} {lin['peak_memory_mb']:>8.0f}"
                     + ("" if lin["same_objective"] else f"  OBJECTIVES DIFFER: {lin['objective']} vs {r['objective']}"))
        print(line, flush=True)
    doc = {"runs": rows}
    if len(rows) > 1 and rows[0]["outside_highs_seconds"] > 0:
        # growth of the time outside HiGHS with model size (log-log slope; 1 = linear), over the
        # whole range and between consecutive sizes
        import math

        def slope(a0: dict, a1: dict) -> float:
            return math.log(a1["outside_highs_seconds"] / a0["outside_highs_seconds"]) / \
                math.log(a1["variables"] / a0["variables"])

        doc["outside_highs_growth_exponent"] = slope(rows[0], rows[-1])
        doc["outside_highs_growth_steps"] = [
            {"from": a0["variables"], "to": a1["variables"], "exponent": slope(a0, a1)} for a0, a1 in zip(rows, rows[1:])]
        steps = ", ".join(f"{d['from']:,}->{d['to']:,}: {d['exponent']:.2f}" for d in doc["outside_highs_growth_steps"])
        print(f"time outside HiGHS grows as size^{doc['outside_highs_growth_exponent']:.2f} ({steps})")
    if a.sweep:
        path = instance_for(a.sweep, a.seed, a.mix)
        cmd = [sys.executable, __file__, "--child-sweep", str(path)] + (["--no-cold-sweep"] if a.no_cold_sweep else [])
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        doc["sweep"] = json.loads(out.strip().splitlines()[-1])
        sw = doc["sweep"]
        cold = "skipped" if sw["cold_sweep_seconds"] is None else f"{sw['cold_sweep_seconds']:.2f}s"
        print(f"11-point shift sweep at {a.sweep} variables: one cold solve {sw['one_cold_solve_seconds']:.2f}s; "
              f"warm, point by point {sw['warm_sweep_seconds']:.2f}s ({sw['warm_over_one_cold']:.2f}x one cold "
              f"solve); warm with solve_many {sw['solve_many_seconds']:.2f}s ({sw['solve_many_over_one_cold']:.2f}x); "
              f"cold sweep {cold}; same answers: {sw['same_answers']} (solve_many as warm: "
              f"{sw['solve_many_same_as_warm']})")
    if a.points_per_second:
        subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_sweep.py"), "--variables",
                        str(a.points_per_second)], check=True)
    if a.json:
        a.json.write_text(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
