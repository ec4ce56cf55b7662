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

import importlib

#: Where each public name lives: ``import optimiser`` imports none of it (pandas, scipy, networkx,
#: pydantic and HiGHS load only when a name is first used; see :func:`__getattr__`).
_API = {
    "Comparison": "analyses.compare", "compare": "analyses.compare",
    "Explanation": "analyses.explain", "explain": "analyses.explain",
    "BudgetshiftError": "errors", "InstanceError": "errors", "Problem": "errors", "SolverError": "errors",
    "Instance": "input.instance",
    "load": "input.loading", "load_data": "input.loading", "parse_override": "input.paths",
    "read_result": "output.files",
    "pareto": "analyses.pareto",
    "Pooling": "analyses.pooling", "pooling": "analyses.pooling",
    "write_report": "analyses.report_sources",
    "TABLES": "solving.results", "Result": "solving.results",
    "Session": "solving.session",
    "SolverOptions": "solving.highs", "Status": "solving.highs", "build_lp": "solving.highs", "build_model": "solving.solve", "solve": "solving.solve",
    "solve_model": "solving.solve",
    "sweep": "analyses.sweep",
    "uncertainty": "analyses.uncertainty",
    "Verification": "solving.verify", "verify_tables": "solving.verify",
}


def __getattr__(name: str):
    """The public API, imported on first use (PEP 562)."""
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))


__version__ = "0.1.0"

__all__ = [
    "BudgetshiftError", "Comparison", "Explanation", "Instance", "InstanceError", "Problem", "Result", "Session", "SolverError", "SolverOptions",
    "Status", "TABLES", "Verification", "build_lp", "build_model", "compare", "explain", "load", "load_data", "parse_override",
    "read_result", "solve", "solve_model", "verify_tables", "write_report",
    "pareto", "pooling", "Pooling", "sweep", "uncertainty",
]
