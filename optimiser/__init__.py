"""budgetshift: least-cost plans for shifting health and care budgets upstream.

Python API (the CLI is a thin shell over these)::

    import optimiser
    inst = optimiser.load("instances/kent.yaml", overrides={"horizon.discount_rate": 0.03})
    result = optimiser.solve(inst)          # one Result whatever the outcome
    result.status, result.objective         # Status.OPTIMAL, 1.23e10
    result.allocation                       # pandas DataFrame (also sector_shares, flows, outcomes, ...)
    result.verify()                         # recompute every figure from the tables alone
    result.write("out/kent")                # CSV + JSON, atomically

    model = optimiser.build_model(inst)     # the Pyomo model, to extend before solving
    result = optimiser.solve_model(model, inst)

    cmp = optimiser.compare("kent.yaml", scenarios=["no_shift", "agreed_5pp"])   # side by side
    cmp.side_by_side("outcomes"), cmp.input_differences, cmp.write("out/cmp")
    optimiser.write_report(cmp, "report.html")   # self-contained HTML with plots

    optimiser.sweep(inst, vary={"targets[0].at_most": "60:100:10"})   # many plans: tidy DataFrames
    optimiser.pareto(inst, "admissions", points=11)                    # cost-outcome frontier
    optimiser.uncertainty(inst, samples=200, seed=1)                   # sampled inputs, central plan
    optimiser.pooling(inst).summary          # siloed vs pooled budget holders: the value of pooling
"""

from .compare import Comparison, compare
from .explain import Explanation, explain
from .errors import BudgetshiftError, InstanceError, Problem, SolverError
from .instance import Instance
from .loading import load, load_data, parse_override
from .output import read_result
from .pareto import pareto
from .pooling import Pooling, pooling
from .report import write_report
from .results import TABLES, Result
from .session import Session
from .solve import SolverOptions, Status, build_lp, build_model, solve, solve_model
from .sweep import sweep
from .uncertainty import uncertainty
from .verify import Verification, verify_tables

__version__ = "0.1.0"

__all__ = [
    "BudgetshiftError", "Comparison", "Explanation", "Instance", "InstanceError", "Problem", "Result", "Session", "SolverError", "SolverOptions",
    "Status", "TABLES", "Verification", "build_lp", "build_model", "compare", "explain", "load", "load_data", "parse_override",
    "read_result", "solve", "solve_model", "verify_tables", "write_report",
    "pareto", "pooling", "Pooling", "sweep", "uncertainty",
]
