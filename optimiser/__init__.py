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
"""

from .errors import BudgetshiftError, InstanceError, Problem, SolverError
from .instance import Instance
from .loading import load, load_data, parse_override
from .output import read_result
from .results import TABLES, Result
from .solve import SolverOptions, Status, build_lp, build_model, solve, solve_model
from .verify import Verification, verify_tables

__version__ = "0.1.0"

__all__ = [
    "BudgetshiftError", "Instance", "InstanceError", "Problem", "Result", "SolverError", "SolverOptions",
    "Status", "TABLES", "Verification", "build_lp", "build_model", "load", "load_data", "parse_override",
    "read_result", "solve", "solve_model", "verify_tables",
]
