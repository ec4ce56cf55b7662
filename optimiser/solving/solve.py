"""Build, solve and extract: three public steps behind one convenience call.

* :func:`build_lp` states the model (:mod:`formulations`) as labelled sparse blocks
  (:mod:`optimiser.solving.highs`, with the run of HiGHS itself);
* :func:`solve` passes it straight into HiGHS (highspy) and returns a :class:`~optimiser.solving.results.Result`;
* :func:`build_model` gives the same model as a Pyomo ``ConcreteModel`` for callers who want to add
  constraints of their own, and :func:`solve_model` solves such a model through Pyomo's HiGHS
  interface and returns the same kind of result.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time

import numpy as np

from formulations.lp import LinearProgram

from .highs import (FIXED_INTEGER_DUALS, NO_FIXED_INTEGER_DUALS, RawSolution, SolverOptions, Status, build_lp,
                    run_highs)
from . import results

log = logging.getLogger(__name__)


def build_model(instance):
    """The model as a Pyomo ``ConcreteModel`` (one ``Var``/``Constraint`` per block, planner keys).

    Add constraints of your own, then call :func:`solve_model`::

        m = optimiser.build_model(inst)
        m.cap = pyo.Constraint(expr=m.activity["acute_inpatient", 2027] <= 1e5)
        result = optimiser.solve_model(m, inst)
    """
    from formulations.pyomo_model import to_pyomo

    return to_pyomo(build_lp(instance))


def solve(instance, *, time_limit: float | None = None, threads: int | None = None, log: bool = False,
          log_file: str | None = None, backend: str = "highs", mip_gap: float | None = None):
    """Solve ``instance`` and return one :class:`~optimiser.solving.results.Result`, whatever the outcome.

    ``backend="highs"`` (default) passes the model straight into HiGHS; ``backend="pyomo"`` builds
    the Pyomo model and solves it through Pyomo's HiGHS interface (same answer, slower).
    """
    options = SolverOptions(time_limit=time_limit, threads=threads, log=log, log_file=log_file, mip_gap=mip_gap)
    t0 = time.perf_counter()
    lp = build_lp(instance)
    t1 = time.perf_counter()
    if backend == "pyomo":
        from formulations.pyomo_model import to_pyomo

        model = to_pyomo(lp)
        t_translate = time.perf_counter() - t1
        return solve_model(model, instance, options=options, _timing={"build": t1 - t0, "translate": t_translate})
    if backend != "highs":
        raise ValueError(f"backend must be 'highs' or 'pyomo', not {backend!r}")
    raw = run_highs(lp, options)
    t2 = time.perf_counter()
    timing = {"build": t1 - t0, "translate_and_solve": t2 - t1, "highs": raw.solver_seconds}
    return results.extract(instance, lp, raw, timing=timing, backend="highs")


def solve_model(model, instance, *, options: SolverOptions | None = None, time_limit: float | None = None,
                _timing: dict | None = None):
    """Solve a Pyomo model made by :func:`build_model` (possibly extended) with HiGHS via Pyomo's
    ``appsi_highs`` interface, in the same steps as :func:`run_highs`:

    1. the model as given;
    2. for a mixed-integer model, the LP with every integer variable fixed at its (rounded) value:
       its plan is the one reported and its duals are the duals reported;
    3. the tie-breaks (``lp.tiebreaks``), in turn, on that LP (on the model itself when it has no
       integers), each among the optima of the objectives before it.

    Constraints a caller added to the model take part in every step."""
    import pyomo.environ as pyo

    options = options or SolverOptions(time_limit=time_limit)
    lp: LinearProgram = model._budgetshift_lp
    solver = _pyomo_solver(options)
    t0 = time.perf_counter()
    x = row_value = row_dual = None
    objective = None
    mip = None
    with _pyomo_output(solver, options.log):
        res = solver.solve(model, load_solutions=False)
        status, text = _status_from_pyomo(res)
        if _undecided(res):
            # presolve cannot tell infeasible from unbounded: ask the simplex without presolve, as
            # run_highs does
            solver.options["presolve"] = "off"
            res = solver.solve(model, load_solutions=False)
            status, text = _status_from_pyomo(res)
            solver.options["presolve"] = "on" if options.presolve else "off"
        has_plan = status is Status.OPTIMAL or (status is Status.TIME_LIMIT and len(res.solution) > 0)
        if lp.is_mip:
            mip = _pyomo_mip_info(res, model, has_plan)
        if has_plan:
            model.solutions.load_from(res)
            objective = float(pyo.value(model.objective))
            if lp.is_mip:
                with _integers_fixed(model), _dual_suffix(model):
                    fixed = solver.solve(model, load_solutions=False)
                    if _status_from_pyomo(fixed)[0] is Status.OPTIMAL:
                        model.solutions.load_from(fixed)
                        row_dual = _pyomo_row_duals(model, lp)
                        mip["duals"] = FIXED_INTEGER_DUALS
                        if lp.tiebreaks:
                            _pyomo_tiebreak(model, solver, lp, float(pyo.value(model.objective)), pyo)
                    else:
                        # the plan of step 1 stands (its integers were loaded before fixing)
                        mip["duals"] = NO_FIXED_INTEGER_DUALS
            elif status is Status.OPTIMAL:
                row_dual = _pyomo_row_duals(model, lp)
                if lp.tiebreaks:
                    _pyomo_tiebreak(model, solver, lp, objective, pyo)
            x = np.array([v.value if v.value is not None else 0.0 for v in model._budgetshift_cols])
            row_value = lp.matrix() @ x
    seconds = time.perf_counter() - t0
    raw = RawSolution(status, has_plan, objective, x, row_value, row_dual, None, seconds, 0, text, mip)
    timing = dict(_timing or {})
    timing["pyomo_solve"] = seconds
    timing["highs"] = seconds
    return results.extract(instance, lp, raw, timing=timing, backend="pyomo")


def _pyomo_solver(options: SolverOptions):
    """Pyomo's ``appsi_highs`` with the options :func:`optimiser.solving.highs._highs` gives HiGHS directly."""
    import pyomo.environ as pyo

    solver = pyo.SolverFactory("appsi_highs")
    if options.time_limit is not None:
        solver.options["time_limit"] = float(options.time_limit)
    if options.threads is not None:
        solver.options["threads"] = int(options.threads)
    if options.mip_gap is not None:
        solver.options["mip_rel_gap"] = float(options.mip_gap)
    if not options.presolve:
        solver.options["presolve"] = "off"
    if options.log_file:
        solver.options["log_file"] = str(options.log_file)
    solver.options["random_seed"] = 0
    return solver


def _status_from_pyomo(res) -> tuple[Status, str]:
    from pyomo.opt import TerminationCondition as TC

    tc = res.solver.termination_condition
    status = {TC.optimal: Status.OPTIMAL, TC.infeasible: Status.INFEASIBLE, TC.unbounded: Status.UNBOUNDED,
              TC.infeasibleOrUnbounded: Status.INFEASIBLE, TC.maxTimeLimit: Status.TIME_LIMIT,
              TC.maxIterations: Status.TIME_LIMIT}.get(tc, Status.ERROR)
    return status, str(tc)


def _undecided(res) -> bool:
    from pyomo.opt import TerminationCondition as TC

    return res.solver.termination_condition == TC.infeasibleOrUnbounded


def _pyomo_mip_info(res, model, has_plan: bool) -> dict:
    """Best bound and relative gap (as HiGHS states them: |plan - bound| / |plan|) of a
    mixed-integer solve through Pyomo; Pyomo's interface does not report the node count."""
    import pyomo.environ as pyo

    if not has_plan:
        return {"best_bound": None, "gap": None, "nodes": None}
    maximise = model.objective.sense == pyo.maximize
    bound = res.problem.upper_bound if maximise else res.problem.lower_bound
    plan = res.problem.lower_bound if maximise else res.problem.upper_bound
    bound = None if bound is None else float(bound)
    gap = None
    if bound is not None and plan is not None and np.isfinite(bound):
        plan = float(plan)
        gap = 0.0 if plan == bound else (abs(plan - bound) / abs(plan) if plan != 0 else float("inf"))
    return {"best_bound": bound, "gap": gap, "nodes": None}


def _pyomo_row_duals(model, lp: LinearProgram) -> np.ndarray:
    """The duals Pyomo loaded into ``model.dual``, in ``lp``'s row order (budgetshift's own rows)."""
    from formulations.pyomo_model import key_tuples

    row_dual = np.zeros(lp.n_rows)
    for name, block in lp.constraints.items():
        con = getattr(model, name)
        for k, key in enumerate(key_tuples(block.index)):
            if key in con:
                row_dual[block.start + k] = model.dual.get(con[key], 0.0)
    return row_dual


@contextlib.contextmanager
def _integers_fixed(model):
    """``model`` as an LP: every integer (or binary) variable fixed at its current value rounded
    and made continuous, as :func:`optimiser.solving.highs._fixed_integer_model` does for the HiGHS path. Afterwards each
    such variable has its domain back, and is fixed again only if it was fixed before (its value
    stays the rounded one)."""
    import pyomo.environ as pyo

    saved = []
    for v in model.component_data_objects(pyo.Var, active=True, descend_into=True):
        if v.is_integer() and v.value is not None:
            saved.append((v, v.domain, v.fixed))
            v.domain = pyo.Reals
            v.fix(float(round(v.value)))
    try:
        yield
    finally:
        for v, domain, was_fixed in saved:
            v.domain = domain
            if not was_fixed:
                v.unfix()


@contextlib.contextmanager
def _dual_suffix(model):
    """An import ``dual`` suffix on ``model`` for the duration (a mixed-integer model has none)."""
    import pyomo.environ as pyo

    if model.component("dual") is not None:
        yield
        return
    model.dual = pyo.Suffix(direction=pyo.Suffix.IMPORT)
    try:
        yield
    finally:
        model.del_component("dual")


@contextlib.contextmanager
def _pyomo_output(solver, log: bool):
    """Around Pyomo solves: HiGHS's log (``log``) to the stream ``sys.stdout`` is now (where the
    HiGHS path writes it; the CLI points it at stderr), and the standard streams kept apart.

    Pyomo's interface captures the process's file descriptors 1 and 2 while it works, and fails
    ("TeeStream: deadlock observed joining reader threads") when ``sys.stdout`` and ``sys.stderr``
    write to one descriptor, as after ``contextlib.redirect_stdout(sys.stderr)``: for the solve
    they are set back to the process's own. The log reaches the stream through a logger, whose
    handler Pyomo points at a copy of the original descriptor while it captures."""
    out, err = sys.stdout, sys.stderr
    handler = None
    if log:
        logger = logging.getLogger("budgetshift.highs_log")
        logger.propagate = False
        logger.setLevel(logging.INFO)
        handler = logging.StreamHandler(out)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        solver.config.solver_output_logger = logger
        solver.config.log_level = logging.INFO
    if _fileno(out) is not None and _fileno(out) == _fileno(err) and sys.__stdout__ and sys.__stderr__:
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err
        if handler is not None:
            handler.flush()
            logger.removeHandler(handler)


def _fileno(stream) -> int | None:
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):
        return None


def _pyomo_tiebreak(model, solver, lp: LinearProgram, best: float, pyo) -> None:
    """The Pyomo twin of :func:`optimiser.solving.highs._tiebreak`: each of ``lp.tiebreaks`` minimised in turn among the
    optima of the objectives before it (each held within 1e-9 relative by an added constraint), on
    the model as it stands (for a mixed-integer model, the LP with its integers fixed), starting
    from ``best``, the optimal value of its objective. A stage that does not solve to optimality is
    left out (named in ``lp.tiebreaks_skipped``, with a warning) and the plan of the stages before
    it stands, loaded in the model's variables. Afterwards the added components are removed and
    the primary objective is active again."""
    from pyomo.core.expr.numeric_expr import LinearExpression

    cols = model._budgetshift_cols
    primary = model.objective
    expr, sense, value = primary.expr, lp.sense, best
    added = []
    lp.tiebreaks_skipped = []
    primary.deactivate()
    try:
        for k, (label, vec) in enumerate(lp.tiebreak_costs()):
            slack = 1e-9 * max(1.0, abs(value))
            con = pyo.Constraint(expr=(expr >= value - slack) if sense == "max" else (expr <= value + slack))
            model.add_component(f"_budgetshift_hold_{k}", con)
            added.append(con)
            nz = np.flatnonzero(vec)
            expr = LinearExpression(constant=0.0, linear_coefs=vec[nz].tolist(), linear_vars=[cols[j] for j in nz])
            obj = pyo.Objective(expr=expr)
            model.add_component(f"_budgetshift_stage_{k}", obj)
            added.append(obj)
            res = solver.solve(model, load_solutions=False)
            obj.deactivate()
            status, text = _status_from_pyomo(res)
            if status is not Status.OPTIMAL:
                log.warning("tie-break stage %r not applied: HiGHS via Pyomo %s", label, text)
                lp.tiebreaks_skipped.append(label)
                break
            model.solutions.load_from(res)
            value, sense = float(pyo.value(expr)), "min"
    finally:
        for comp in added:
            model.del_component(comp)
        primary.activate()
