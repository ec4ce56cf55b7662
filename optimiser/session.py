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

import numpy as np

from formulations.lp import LinearProgram

from .solve import SolverOptions, _highs, build_lp, run_highs


@dataclass
class _Loaded:
    lp: LinearProgram
    cost: np.ndarray
    col_lo: np.ndarray
    col_hi: np.ndarray
    row_lo: np.ndarray
    row_hi: np.ndarray
    matrix: Any
    integrality: np.ndarray

    @classmethod
    def of(cls, lp: LinearProgram) -> "_Loaded":
        lo, hi = lp.col_bounds()
        rlo, rhi = lp.row_bounds()
        return cls(lp, lp.objective, lo, hi, rlo, rhi, lp.matrix(), lp.integrality())

    def same_shape(self, other: "_Loaded") -> bool:
        a, b = self.matrix, other.matrix
        return (a.shape == b.shape and self.lp.sense == other.lp.sense
                and np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
                and np.array_equal(self.integrality, other.integrality)
                and len(self.lp.tiebreaks) == len(other.lp.tiebreaks))


@dataclass
class _Variant:
    instance: Any
    lp: LinearProgram
    loaded: _Loaded
    timing: dict


@dataclass
class _Solved:
    raw: Any
    warm: bool
    changes: dict | None
    timing: dict


def _changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.flatnonzero(~((a == b) | (np.isnan(a) & np.isnan(b))))


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
        self._h = None
        self._loaded: _Loaded | None = None
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

        from .errors import InstanceError

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
        return _Variant(inst, lp, _Loaded.of(lp), {"load": t1 - t0, "build": t2 - t1})

    def _run(self, variant: "_Variant") -> "_Solved":
        """Load the variant into HiGHS (just its changes when the shape is the same) and solve. One
        at a time: a solve() called while a solve_many pass is paused waits for the pass's solve in
        flight, then goes on from the model that solve left."""
        with self._solving:
            return self._run_locked(variant)

    def _run_locked(self, variant: "_Variant") -> "_Solved":
        t2 = time.perf_counter()
        new = variant.loaded
        warm = self._h is not None and self._loaded is not None and self._loaded.same_shape(new)
        old, self._loaded = self._loaded, None  # until this solve succeeds, the loaded model is unknown
        try:
            if warm:
                changes = self._push_changes(old, new)
                self.warm_solves += 1
            else:
                self._h = _highs(self.options)
                variant.lp.pass_to(self._h)
                changes = None
                self.cold_solves += 1
            t3 = time.perf_counter()
            raw = run_highs(variant.lp, self.options, h=self._h)
        except BaseException:
            self._h = None  # an interrupted or failed solve leaves HiGHS in an unknown state
            raise
        self._loaded = new
        t4 = time.perf_counter()
        return _Solved(raw, warm, changes, {"translate": t3 - t2, "translate_and_solve": t4 - t2,
                                            "highs": raw.solver_seconds})

    def _result(self, variant: "_Variant", solved: "_Solved"):
        from .results import extract

        timing = {**variant.timing, **solved.timing}
        result = extract(variant.instance, variant.lp, solved.raw, timing=timing,
                         backend="highs (warm)" if solved.warm else "highs", returns=self.returns)
        result.stats["warm_start"] = solved.warm
        if solved.changes is not None:
            result.stats["changes_pushed"] = solved.changes
        return result

    def _push_changes(self, old: _Loaded, new: _Loaded) -> dict[str, int]:
        h = self._h
        out = {}
        idx = _changed(old.cost, new.cost)
        if len(idx):
            h.changeColsCost(len(idx), idx.astype(np.int32), new.cost[idx])
        out["costs"] = len(idx)
        idx = np.union1d(_changed(old.col_lo, new.col_lo), _changed(old.col_hi, new.col_hi))
        if len(idx):
            h.changeColsBounds(len(idx), idx.astype(np.int32), new.col_lo[idx], new.col_hi[idx])
        out["column_bounds"] = len(idx)
        idx = np.union1d(_changed(old.row_lo, new.row_lo), _changed(old.row_hi, new.row_hi))
        if len(idx):
            h.changeRowsBounds(len(idx), idx.astype(np.int32), new.row_lo[idx], new.row_hi[idx])
        out["row_bounds"] = len(idx)
        diff = np.flatnonzero(old.matrix.data != new.matrix.data)
        if len(diff):
            cols = np.repeat(np.arange(new.matrix.shape[1]), np.diff(new.matrix.indptr))
            for k in diff:
                h.changeCoeff(int(new.matrix.indices[k]), int(cols[k]), float(new.matrix.data[k]))
        out["coefficients"] = len(diff)
        return out
