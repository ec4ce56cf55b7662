"""Warm re-solves: keep one HiGHS model loaded and change it in place between solves.

A planner's "what if" (the shift target from 0 to 10 points, the budget +-5%, a target, a cost)
usually changes numbers, not the shape of the model. A :class:`Session` builds the programme for
each variant, compares it with the one loaded in HiGHS, and when only costs, bounds or matrix
coefficients differ it pushes just those changes and re-solves warm from the last basis. A
variant that changes the model's shape (another service, pathway, year) is passed in whole.

    session = optimiser.Session(optimiser.load("instances/kent.yaml"))
    base = session.solve()
    for pp in range(0, 11):
        r = session.solve({"shift_policies[0].increase_pp": pp})

    # the same plans, with validation, building and extraction overlapping HiGHS's solves
    results = list(session.solve_many({"shift_policies[0].increase_pp": pp} for pp in range(0, 11)))
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Mapping


from formulations.loaded import Numbers
from formulations.lp import LinearProgram

from .highs import SolverOptions, build_lp, load, run_highs
from ..errors import InstanceError
from . import results


@dataclass
class _Variant:
    instance: Any
    lp: LinearProgram
    numbers: Numbers
    timing: dict


@dataclass
class _Solved:
    raw: Any
    warm: bool
    changes: dict | None
    timing: dict


def _finished(future) -> "_Solved | None":
    """The answer of a solve in flight once it is done, or None if it failed."""
    try:
        return future.result()
    except Exception:  # noqa: BLE001 - a failed solve is simply not kept
        return None


class Session:
    """Solve an instance and its variants, re-using one HiGHS model (see module docstring)."""

    def __init__(self, instance, *, time_limit: float | None = None, threads: int | None = None,
                 mip_gap: float | None = None, returns: bool = True):
        self.instance = instance
        self.returns = returns  # False: results without the return-on-investment tables (sweeps)
        self.options = SolverOptions(time_limit=time_limit, threads=threads, mip_gap=mip_gap)
        self._model = None  # the formulations.loaded.Loaded of the last variant solved
        self._lp: LinearProgram | None = None  # that variant's programme
        # one solve at a time touches the HiGHS model (solve_many runs them on a helper thread)
        self._solving = threading.Lock()
        self.warm_solves = 0
        self.cold_solves = 0

    def solve(self, overrides: Mapping[str, Any] | list[str] | None = None):
        """Solve the instance with ``overrides`` applied to the session's base instance (not to the
        previous variant), warm where the model's shape allows. Returns a Result."""
        variant = self._prepare(overrides)
        return self._result(variant, self._run(variant))

    def solve_many(self, variants: Iterable[Mapping[str, Any] | list[str] | None],
                   invalid: str = "raise") -> Iterator:
        """Solve each variant in turn, as :meth:`solve` would one call after another (the same
        warm sequence, so the same plans), yielding each Result as it is ready.

        HiGHS releases Python's lock while it solves, so the work around it overlaps: while HiGHS
        solves variant k on a helper thread, this thread validates and builds variant k+1 and
        extracts the tables of variant k-1. On two cores a point then costs about the larger of
        HiGHS's time and ours rather than their sum. A variant that is invalid raises its
        :class:`~optimiser.errors.InstanceError` when its turn comes, as :meth:`solve` would; with
        ``invalid="yield"`` the error is yielded in the variant's place and the others go on.
        """
        from concurrent.futures import ThreadPoolExecutor

        if invalid not in ("raise", "yield"):
            raise ValueError(f"invalid must be 'raise' or 'yield', not {invalid!r}")
        variants = iter(variants)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="budgetshift-highs") as pool:
            running = None  # (variant, future of its solve)
            for overrides in variants:
                try:
                    variant = self._prepare(overrides)  # overlaps the solve of the variant before
                except (KeyboardInterrupt, SystemExit):
                    # interrupted while the variant before was solving: its answer is not lost (the pool
                    # waits for that solve anyway), so a caller keeping a checkpoint keeps it
                    if running is not None:
                        finished = _finished(running[1])
                        if finished is not None:
                            done, running = running[0], None
                            yield self._result(done, finished)
                    raise
                except Exception as exc:
                    if running is not None:  # the variant before is answered first, as solve() would
                        done, future = running
                        running = None
                        yield self._result(done, future.result())
                    if invalid == "yield" and isinstance(exc, InstanceError):
                        yield exc
                        continue
                    raise
                if running is not None:
                    done, future = running
                    try:
                        solved = future.result()
                    except (KeyboardInterrupt, SystemExit):
                        # interrupted while waiting for it: the pool finishes that solve anyway, so it is kept
                        finished = _finished(future)
                        if finished is not None:
                            yield self._result(done, finished)
                        raise
                    running = (variant, pool.submit(self._run, variant))
                    yield self._result(done, solved)  # extraction overlaps the next solve
                else:
                    running = (variant, pool.submit(self._run, variant))
            if running is not None:
                done, future = running
                yield self._result(done, future.result())

    # ------------------------------------------------------------------ the three steps of a solve
    def _prepare(self, overrides) -> "_Variant":
        """Validate the variant and build its programme (no solver state is touched)."""
        t0 = time.perf_counter()
        inst = self.instance.with_overrides(overrides) if overrides else self.instance
        t1 = time.perf_counter()
        lp = build_lp(inst)
        t2 = time.perf_counter()
        return _Variant(inst, lp, Numbers.of(lp), {"load": t1 - t0, "build": t2 - t1})

    def _run(self, variant: "_Variant") -> "_Solved":
        """Load the variant into HiGHS (just its changes when the shape is the same) and solve. One
        at a time: a solve() called while a solve_many pass is paused waits for the pass's solve in
        flight, then goes on from the model that solve left."""
        with self._solving:
            return self._run_locked(variant)

    def _run_locked(self, variant: "_Variant") -> "_Solved":
        t2 = time.perf_counter()
        model, old_lp = self._model, self._lp
        warm = model is not None and self._same_shape(old_lp, model.numbers, variant)
        self._model = self._lp = None  # until this solve succeeds, the loaded model is unknown
        if warm:
            changes = model.change_to(variant.numbers)
            self.warm_solves += 1
        else:
            model = load(variant.lp, self.options, variant.numbers)
            changes = None
            self.cold_solves += 1
        t3 = time.perf_counter()
        raw = run_highs(variant.lp, self.options, model=model)
        self._model, self._lp = model, variant.lp
        t4 = time.perf_counter()
        return _Solved(raw, warm, changes, {"translate": t3 - t2, "translate_and_solve": t4 - t2,
                                            "highs": raw.solver_seconds})

    def _result(self, variant: "_Variant", solved: "_Solved"):
        timing = {**variant.timing, **solved.timing}
        result = results.extract(variant.instance, variant.lp, solved.raw, timing=timing,
                         backend="highs (warm)" if solved.warm else "highs", returns=self.returns)
        result.stats["warm_start"] = solved.warm
        if solved.changes is not None:
            result.stats["changes_pushed"] = solved.changes
        return result

    @staticmethod
    def _same_shape(old_lp: LinearProgram, old: Numbers, variant: "_Variant") -> bool:
        """The variant can be reached by changing numbers only: the same columns, rows, nonzero
        pattern and integrality, the same sense and as many tie-breaks."""
        return (old.same_shape(variant.numbers) and old.sense == variant.numbers.sense
                and len(old_lp.tiebreaks) == len(variant.lp.tiebreaks))
