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
import sys
import types

#: Where each public name lives: ``import optimiser`` imports none of it (pandas, scipy, networkx,
#: pydantic and HiGHS load only when a name is first used; see :func:`__getattr__`).
_API = {
    "Comparison": "compare", "compare": "compare",
    "Explanation": "explain", "explain": "explain",
    "BudgetshiftError": "errors", "InstanceError": "errors", "Problem": "errors", "SolverError": "errors",
    "Instance": "instance",
    "load": "loading", "load_data": "loading", "parse_override": "loading",
    "read_result": "output",
    "pareto": "pareto",
    "Pooling": "pooling", "pooling": "pooling",
    "write_report": "report",
    "TABLES": "results", "Result": "results",
    "Session": "session",
    "SolverOptions": "solve", "Status": "solve", "build_lp": "solve", "build_model": "solve", "solve": "solve",
    "solve_model": "solve",
    "sweep": "sweep",
    "uncertainty": "uncertainty",
    "Verification": "verify", "verify_tables": "verify",
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


class _Package(types.ModuleType):
    """``optimiser`` itself. Seven functions share their module's name (``optimiser.solve`` is the
    function, in :mod:`optimiser.solve`); importing such a module sets the package attribute to the
    module, which an eager ``from .solve import solve`` used to overwrite at once. Lazily, the
    function is kept instead (and fetched by :func:`__getattr__` on first use)."""

    def __setattr__(self, name: str, value) -> None:
        if name in _API and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


__version__ = "0.1.0"

__all__ = [
    "BudgetshiftError", "Comparison", "Explanation", "Instance", "InstanceError", "Problem", "Result", "Session", "SolverError", "SolverOptions",
    "Status", "TABLES", "Verification", "build_lp", "build_model", "compare", "explain", "load", "load_data", "parse_override",
    "read_result", "solve", "solve_model", "verify_tables", "write_report",
    "pareto", "pooling", "Pooling", "sweep", "uncertainty",
]
