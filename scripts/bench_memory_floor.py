#!/usr/bin/env python
"""The memory floor of a solve: HiGHS alone on the same model, in a process that holds nothing else.

Builds the generated instance of about ``--variables`` variables once (cached, as scripts/bench.py
does), saves the programme's arrays, and then in a fresh process that imports only numpy and
highspy passes those arrays to HiGHS and solves with its defaults. The peak resident memory of that
process is what HiGHS needs for the model: no modelling layer can bring a whole solve below it.

    python scripts/bench_memory_floor.py --variables 1000000

Heavy by design (one full solve): it is not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
import numpy as np, highspy
d = np.load(sys.argv[1])
n, m = len(d["cost"]), len(d["row_lower"])
h = highspy.Highs()
h.setOptionValue("output_flag", False)
h.passModel(n, m, len(d["value"]), int(highspy.MatrixFormat.kColwise), int(highspy.ObjSense.kMinimize), 0.0,
            d["cost"], d["col_lower"], d["col_upper"], d["row_lower"], d["row_upper"],
            d["start"], d["index"], d["value"], np.zeros(n, dtype=np.int32))
del d
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t0 = time.perf_counter()
h.run()
print(json.dumps({"peak_before_solve_mb": before, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "seconds": time.perf_counter() - t0, "status": h.modelStatusToString(h.getModelStatus()),
                  "objective": h.getInfo().objective_function_value}))
"""


def save_arrays(instance: Path, out: Path) -> dict:
    sys.path.insert(0, str(ROOT))
    import numpy as np

    import optimiser
    from optimiser.solving.highs import build_lp

    lp = build_lp(optimiser.load(instance))
    if lp.sense != "min" or lp.is_mip:
        raise SystemExit("the floor is measured on minimising LPs (the generated instances are)")
    a = lp.matrix()
    lo, hi = lp.col_bounds()
    rlo, rhi = lp.row_bounds()
    np.savez(out, cost=lp.objective, col_lower=lo, col_upper=hi, row_lower=rlo, row_upper=rhi,
             start=a.indptr.astype(np.int32), index=a.indices.astype(np.int32), value=a.data)
    return {"variables": lp.n_cols, "constraints": lp.n_rows, "nonzeros": int(a.nnz)}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variables", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mix", choices=("places", "system"), default="places")
    a = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT / "scripts"))
    from bench import CACHE, instance_for

    path = instance_for(a.variables, a.seed, a.mix)
    arrays = CACHE / f"{path.stem}_arrays.npz"
    size = save_arrays(path, arrays)
    out = subprocess.run([sys.executable, "-c", CHILD, str(arrays)], check=True, capture_output=True,
                         text=True).stdout
    doc = {**size, **json.loads(out.strip().splitlines()[-1])}
    print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
