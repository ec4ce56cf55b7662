"""Emit a :class:`~formulations.lp.LinearProgram` as a Pyomo ``ConcreteModel``.

Each variable block becomes an indexed ``Var`` and each constraint block an indexed
``Constraint`` of the same name, indexed by the block's planner keys, e.g.
``model.activity["acute_inpatient", 2027]`` or ``model.pooled_budget[2027]``. A caller may add
variables, constraints or objective terms of their own and solve with
:func:`optimiser.solve_model`.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression

from .lp import LinearProgram


def key_tuples(index) -> list:
    cols = [index[c].tolist() for c in index.columns]
    if len(cols) == 1:
        return cols[0]
    return list(zip(*cols))


def _bound(v: float):
    return None if not np.isfinite(v) else float(v)


def to_pyomo(lp: LinearProgram) -> pyo.ConcreteModel:
    m = pyo.ConcreteModel(name=lp.name)
    col_vars: list = [None] * lp.n_cols
    for name, block in lp.variables.items():
        keys = key_tuples(block.index)
        var = pyo.Var(keys, domain=pyo.Integers if block.integer else pyo.Reals, dense=True)
        var.doc = block.description
        m.add_component(name, var)
        for k, key in enumerate(keys):
            v = var[key]
            v.setlb(_bound(block.lower[k]))
            v.setub(_bound(block.upper[k]))
            col_vars[block.start + k] = v

    a = lp.matrix().tocsr()
    for name, block in lp.constraints.items():
        keys = key_tuples(block.index)
        exprs = {}
        for k, key in enumerate(keys):
            r = block.start + k
            lo, hi = a.indptr[r], a.indptr[r + 1]
            expr = LinearExpression(
                constant=0.0, linear_coefs=a.data[lo:hi].tolist(),
                linear_vars=[col_vars[j] for j in a.indices[lo:hi]],
            ) if hi > lo else None
            lb, ub = _bound(block.lower[k]), _bound(block.upper[k])
            if expr is None:  # an empty row: 0 must lie within its bounds
                ok = (lb is None or lb <= 0.0) and (ub is None or ub >= 0.0)
                exprs[key] = pyo.Constraint.Feasible if ok else pyo.Constraint.Infeasible
            elif lb is not None and ub is not None and lb == ub:
                exprs[key] = expr == lb
            else:
                exprs[key] = pyo.inequality(lb, expr, ub) if (lb is not None and ub is not None) else (
                    expr >= lb if lb is not None else (expr <= ub if ub is not None else pyo.Constraint.Skip))
        con = pyo.Constraint(keys, rule=lambda _m, *key: exprs[key[0] if len(key) == 1 else key])
        con.doc = block.description
        m.add_component(name, con)

    c = lp.objective
    nz = np.flatnonzero(c)
    obj_expr = LinearExpression(constant=float(lp.objective_offset), linear_coefs=c[nz].tolist(),
                                linear_vars=[col_vars[j] for j in nz])
    m.objective = pyo.Objective(expr=obj_expr, sense=pyo.minimize if lp.sense == "min" else pyo.maximize)
    if not lp.is_mip:  # a MIP has none: its duals come from the LP with its integers fixed (optimiser.solve_model)
        m.dual = pyo.Suffix(direction=pyo.Suffix.IMPORT)
    # keep the link back to the labelled programme for result extraction
    m._budgetshift_lp = lp
    m._budgetshift_cols = col_vars
    return m
