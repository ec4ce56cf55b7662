"""A built programme in HiGHS: the solver's options, its answer in plain words (:class:`Status`),
and one run (:func:`run_highs`: solve, then, for a plan with ties, the tie-break stages; for a
mixed-integer plan, the duals of the LP with the integer choices fixed). :func:`build_lp` states the
model (:mod:`formulations`) as labelled sparse blocks; :func:`load` puts it into HiGHS once so that
a session can change its numbers and solve again warm.
"""

from __future__ import annotations

import enum
import logging
import sys
from dataclasses import dataclass

import numpy as np

import formulations
from formulations.lp import LinearProgram

from . import progress
from ..errors import SolverError
from ..gc_pause import without_gc_pauses

log = logging.getLogger(__name__)


class Status(str, enum.Enum):
    """What HiGHS concluded, in plain words."""

    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    TIME_LIMIT = "time limit"
    ERROR = "error"

    @property
    def is_ok(self) -> bool:
        return self is Status.OPTIMAL

    def explain(self, has_plan: bool = False) -> str:
        return {
            Status.OPTIMAL: "optimal: the plan below is the best possible under the instance's rules",
            Status.INFEASIBLE: "infeasible: no plan meets all the targets, policies, budgets and "
                               "capacities together",
            Status.UNBOUNDED: "unbounded: the objective can be improved without limit (a cost or "
                              "limit is missing)",
            Status.TIME_LIMIT: ("time limit reached: the best plan found so far is shown, not proven optimal"
                                if has_plan else "time limit reached before any plan was found"),
            Status.ERROR: "the solver failed",
        }[self]


# what the summary says of a mixed-integer plan's duals (both backends)
FIXED_INTEGER_DUALS = ("duals of the LP with the integer choices (openings, minimum scales, teams, curve pieces) "
                       "fixed at their optimal values")


NO_FIXED_INTEGER_DUALS = "no duals: the LP with the integer choices fixed did not solve to optimality"


@dataclass(frozen=True)
class SolverOptions:
    time_limit: float | None = None
    threads: int | None = None
    log: bool = False
    log_file: str | None = None
    presolve: bool = True
    mip_gap: float | None = None  # relative gap at which a mixed-integer solve stops (HiGHS: 1e-4)


@dataclass
class RawSolution:
    status: Status
    has_plan: bool
    objective: float | None
    x: np.ndarray | None
    row_value: np.ndarray | None
    row_dual: np.ndarray | None
    col_dual: np.ndarray | None
    solver_seconds: float
    iterations: int
    message: str = ""
    mip: dict | None = None  # for mixed-integer models: best bound, gap, how the duals were found


@without_gc_pauses
def build_lp(instance) -> LinearProgram:
    """The labelled linear programme for ``instance`` (see :mod:`formulations.build`)."""
    return formulations.build(instance)


def _highs(options: SolverOptions):
    from formulations.lp import new_highs

    h = new_highs(threads=options.threads)
    h.setOptionValue("output_flag", bool(options.log or options.log_file))
    if options.log_file:
        h.setOptionValue("log_file", str(options.log_file))
        h.setOptionValue("log_to_console", bool(options.log))
    if options.log:
        # HiGHS prints to the process's stdout (C's), past sys.stdout: the log goes instead through
        # HiGHS's logging callback to the stream sys.stdout is now (the CLI points it at stderr, so
        # --json keeps stdout clean)
        h.setOptionValue("log_to_console", False)
        stream = sys.stdout
        h.cbLogging.subscribe(lambda event: stream.write(event.message))
    if options.time_limit is not None:
        h.setOptionValue("time_limit", float(options.time_limit))
    h.setOptionValue("random_seed", 0)
    if not options.presolve:
        h.setOptionValue("presolve", "off")
    if options.mip_gap is not None:
        h.setOptionValue("mip_rel_gap", float(options.mip_gap))
    return h


def _status_from_highs(h) -> tuple[Status, str]:
    import highspy

    ms = h.getModelStatus()
    text = h.modelStatusToString(ms)
    S = highspy.HighsModelStatus
    if ms == S.kOptimal:
        return Status.OPTIMAL, text
    if ms == S.kInfeasible:
        return Status.INFEASIBLE, text
    if ms == S.kUnbounded:
        return Status.UNBOUNDED, text
    if ms == S.kUnboundedOrInfeasible:
        return Status.ERROR, text  # resolved by a re-run without presolve
    if ms in (S.kTimeLimit, S.kIterationLimit, S.kInterrupt):
        return Status.TIME_LIMIT, text
    return Status.ERROR, text


def load(lp: LinearProgram, options: SolverOptions = SolverOptions(), numbers=None):
    """A new HiGHS with ``lp`` loaded (a :class:`formulations.loaded.Loaded`: change it in place
    with its ``change_to``); ``numbers``: ``lp``'s :class:`~formulations.loaded.Numbers` if
    already taken."""
    import highspy

    from formulations.loaded import Loaded, Numbers

    model = Loaded.load(_highs(options), numbers if numbers is not None else Numbers.of(lp))
    if model.status == highspy.HighsStatus.kError:
        raise SolverError("HiGHS rejected the model (passModel returned an error)")
    return model


def run_highs(lp: LinearProgram, options: SolverOptions = SolverOptions(), model=None) -> RawSolution:
    """Pass ``lp`` to HiGHS in one call (or, given ``model``, a :class:`formulations.loaded.Loaded`
    holding ``lp``'s numbers, solve it warm from its last basis), solve, and read the solution back."""
    import highspy

    if model is None:
        model = load(lp, options)
    h = model.h
    clock = h.getRunTime()  # HiGHS's clock runs on across solves of one model: take differences
    with progress.watching(h):  # on a terminal only (see optimiser.solving.progress); otherwise nothing
        h.run()
    st, text = _status_from_highs(h)
    seconds = h.getRunTime() - clock
    if h.getModelStatus() == highspy.HighsModelStatus.kUnboundedOrInfeasible:
        # presolve cannot tell which: ask the simplex without presolve
        h.setOptionValue("presolve", "off")
        h.clearSolver()
        clock = h.getRunTime()
        with progress.watching(h):
            h.run()
        seconds += h.getRunTime() - clock
        st, text = _status_from_highs(h)
        if h.getModelStatus() == highspy.HighsModelStatus.kUnboundedOrInfeasible:
            st = Status.INFEASIBLE
        h.setOptionValue("presolve", "on" if options.presolve else "off")
    if st is Status.ERROR and h.getModelStatus() == highspy.HighsModelStatus.kUnknown:
        # a warm re-solve from the last plan's basis can end 'Unknown' on an infeasible variant
        # (seen on Kent past its largest feasible shift): solve it once more from scratch
        h.clearSolver()
        clock = h.getRunTime()
        h.run()
        seconds += h.getRunTime() - clock
        st, text = _status_from_highs(h)
    info = h.getInfo()
    has_plan = info.primal_solution_status == 2  # kSolutionStatusFeasible
    sol = h.getSolution()
    x = np.asarray(sol.col_value) if has_plan else None
    row_value = np.asarray(sol.row_value) if has_plan else None
    duals_ok = st is Status.OPTIMAL and info.dual_solution_status == 2
    row_dual = np.asarray(sol.row_dual) if duals_ok else None
    col_dual = np.asarray(sol.col_dual) if duals_ok else None
    objective = float(info.objective_function_value) if has_plan else None
    iterations = int(info.simplex_iteration_count) + max(int(info.ipm_iteration_count), 0)
    mip = None
    if lp.is_mip:
        mip = {"best_bound": float(info.mip_dual_bound) if has_plan else None,
               "gap": float(info.mip_gap) if has_plan else None, "nodes": int(info.mip_node_count)}
    if lp.is_mip and has_plan:
        # The plan reported is that of the LP with the integer choices fixed at their (rounded)
        # values: it is consistent with whole numbers (no activity left under a 'closed' site
        # within HiGHS's integrality tolerance), gives the duals, and the tie-breaks run on it as LPs.
        fixed = _fixed_integer_model(lp, x, options)
        if fixed is not None:
            fixed_model, fsec = fixed
            hf = fixed_model.h
            seconds += fsec
            sol = hf.getSolution()
            x, row_value = np.asarray(sol.col_value), np.asarray(sol.row_value)
            row_dual, col_dual = np.asarray(sol.row_dual), np.asarray(sol.col_dual)
            mip["duals"] = FIXED_INTEGER_DUALS
            if lp.tiebreaks:
                x, row_value, extra = _tiebreak(fixed_model, lp, float(hf.getInfo().objective_function_value), x,
                                                row_value)
                seconds += extra
        else:
            row_dual = col_dual = None
            mip["duals"] = NO_FIXED_INTEGER_DUALS
    elif st is Status.OPTIMAL and lp.tiebreaks:
        x, row_value, extra = _tiebreak(model, lp, objective, x, row_value)
        seconds += extra
    return RawSolution(st, has_plan, objective, x, row_value, row_dual, col_dual, seconds, iterations, text, mip)


def _fixed_integer_model(lp: LinearProgram, x: np.ndarray, options: SolverOptions):
    """HiGHS loaded with ``lp`` as an LP whose integer variables are fixed at round(x), solved (a
    :class:`formulations.loaded.Loaded`), with its solve time. None when that LP does not solve to
    optimality with duals."""
    import dataclasses

    import highspy

    from formulations.loaded import Loaded, Numbers

    numbers = Numbers.of(lp)
    integer = numbers.integrality.astype(bool)
    fixed = np.round(x[integer])
    numbers = dataclasses.replace(numbers.with_col_bounds(integer, fixed, fixed),
                                  integrality=np.zeros(lp.n_cols, dtype=np.int32))
    model = Loaded.load(_highs(SolverOptions(threads=options.threads, time_limit=options.time_limit)), numbers)
    h = model.h
    clock = h.getRunTime()
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal or h.getInfo().dual_solution_status != 2:
        return None
    return model, h.getRunTime() - clock


def _tiebreak(model, lp: LinearProgram, best: float, x: np.ndarray, row_value: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, float]:
    """Solve ``lp.tiebreaks`` in turn, each among the optima of the objectives before it (held
    within 1e-9 relative by an added row), starting from the optimal plan ``x`` (with its row
    values) that ``model`` (a :class:`formulations.loaded.Loaded`) holds. The duals reported stay
    those of the primary problem. Afterwards the added rows are removed and the primary objective
    restored, so the loaded model is again exactly what it was (for warm re-solves)."""
    import highspy

    h = model.h
    primary = model.numbers
    objective, sense, value = primary.cost, primary.sense, best
    extra = 0.0
    lp.tiebreaks_skipped = []
    try:
        for label, vec in lp.tiebreak_costs():
            slack = 1e-9 * max(1.0, abs(value))
            # HiGHS's objective value includes the model's constant (lp.objective_offset); the row does not
            held = value - lp.objective_offset
            model.hold(objective, sense, held - slack if sense == "max" else held + slack)
            model.change_to(primary.with_objective(vec, "min"))  # only the costs that differ are pushed
            clock = h.getRunTime()
            h.run()
            if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                # the simplex can stall on the nearly parallel objective row: start this stage afresh
                h.clearSolver()
                h.run()
            extra += h.getRunTime() - clock
            if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                # the plan of the stages before stands (it is optimal); only this preference is lost
                log.warning("tie-break stage %r not applied: HiGHS %s", label,
                            h.modelStatusToString(h.getModelStatus()))
                lp.tiebreaks_skipped.append(label)
                break
            objective, sense, value = vec, "min", float(h.getInfo().objective_function_value)
            sol = h.getSolution()
            x, row_value = np.array(sol.col_value), np.array(sol.row_value)[: lp.n_rows]
        return x, row_value, extra
    finally:
        model.drop_held()
        model.change_to(primary)
