"""A programme loaded in HiGHS, and the one way budgetshift changes it.

Warm re-solves (:mod:`optimiser.solving.session`), the levels of a Pareto frontier
(:mod:`optimiser.analyses.pareto`), the tie-breaks after a solve (:mod:`optimiser.solving.highs`) and the second
stage of the elastic programme (:mod:`formulations.elastic`) all change a model HiGHS already
holds rather than pass a new one. They all do it here:

* :class:`Numbers` are the arrays of a programme as HiGHS takes them: costs, column and row
  bounds, the constraint matrix, integrality, the sense and the objective's constant;
* :class:`Loaded` is a ``highspy.Highs`` together with the numbers it holds.
  :meth:`Loaded.load` passes numbers in whole; :meth:`Loaded.change_to` pushes only the
  difference to new numbers of the same shape (the sense, the costs, bounds and coefficients
  that differ), so HiGHS re-solves warm from its last basis; :meth:`Loaded.hold` adds a row that
  keeps an objective within a bound (a tie-break among the optima of the objective before) and
  :meth:`Loaded.drop_held` removes those rows again.

Knowing what is loaded is what lets every caller say only what it wants the model to be.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np


def _changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Positions where ``a`` and ``b`` differ (NaN equals NaN)."""
    return np.flatnonzero(~((a == b) | (np.isnan(a) & np.isnan(b))))


@dataclass(frozen=True)
class Numbers:
    """A programme's arrays: ``cost`` and column bounds per column, row bounds per row, the
    constraint ``matrix`` (scipy CSC), ``integrality`` (1 = integer), ``sense`` ("min"/"max")
    and ``offset`` (the objective's constant)."""

    cost: np.ndarray
    col_lo: np.ndarray
    col_hi: np.ndarray
    row_lo: np.ndarray
    row_hi: np.ndarray
    matrix: Any
    integrality: np.ndarray
    sense: str = "min"
    offset: float = 0.0

    @classmethod
    def of(cls, lp) -> "Numbers":
        """The numbers of a :class:`~formulations.lp.LinearProgram`."""
        lo, hi = lp.col_bounds()
        rlo, rhi = lp.row_bounds()
        return cls(lp.objective, lo, hi, rlo, rhi, lp.matrix(), lp.integrality(), lp.sense,
                   float(lp.objective_offset))

    def same_shape(self, other: "Numbers") -> bool:
        """The same columns, rows, nonzero pattern and integrality: ``other`` can be reached by
        :meth:`Loaded.change_to` (only numbers differ)."""
        a, b = self.matrix, other.matrix
        return (a.shape == b.shape and np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
                and np.array_equal(self.integrality, other.integrality))

    def with_objective(self, cost: np.ndarray, sense: str) -> "Numbers":
        return dataclasses.replace(self, cost=np.asarray(cost, dtype=float), sense=sense)

    def with_row_bounds(self, rows, lower, upper) -> "Numbers":
        """These numbers with rows ``rows`` bounded by ``lower`` and ``upper``."""
        row_lo, row_hi = self.row_lo.copy(), self.row_hi.copy()
        row_lo[rows], row_hi[rows] = lower, upper
        return dataclasses.replace(self, row_lo=row_lo, row_hi=row_hi)

    def with_col_bounds(self, cols, lower, upper) -> "Numbers":
        """These numbers with columns ``cols`` bounded by ``lower`` and ``upper``."""
        col_lo, col_hi = self.col_lo.copy(), self.col_hi.copy()
        col_lo[cols], col_hi[cols] = lower, upper
        return dataclasses.replace(self, col_lo=col_lo, col_hi=col_hi)


def _sense(sense: str):
    import highspy

    return highspy.ObjSense.kMinimize if sense == "min" else highspy.ObjSense.kMaximize


class Loaded:
    """A ``highspy.Highs`` (``h``) and the :class:`Numbers` it holds (see the module docstring)."""

    def __init__(self, h, numbers: Numbers, status=None):
        self.h = h
        self.numbers = numbers
        self.status = status  # HiGHS's answer to passing the model in (kError: rejected)
        self._held = 0

    @classmethod
    def load(cls, h, numbers: Numbers) -> "Loaded":
        """Pass ``numbers`` into ``h`` in one call from numpy arrays (no copy element by element
        into a ``HighsLp``: about 0.6 s at a million variables)."""
        import highspy

        a = numbers.matrix
        n_cols, n_rows = a.shape[1], a.shape[0]
        integrality = np.asarray(numbers.integrality, dtype=np.int32)
        if not integrality.any():
            integrality = np.zeros(n_cols, dtype=np.int32)
        status = h.passModel(
            int(n_cols), int(n_rows), int(a.nnz), int(highspy.MatrixFormat.kColwise), int(_sense(numbers.sense)),
            float(numbers.offset), np.ascontiguousarray(numbers.cost, dtype=np.float64),
            np.ascontiguousarray(numbers.col_lo, dtype=np.float64), np.ascontiguousarray(numbers.col_hi, dtype=np.float64),
            np.ascontiguousarray(numbers.row_lo, dtype=np.float64), np.ascontiguousarray(numbers.row_hi, dtype=np.float64),
            a.indptr.astype(np.int32, copy=False), a.indices.astype(np.int32, copy=False),
            np.ascontiguousarray(a.data, dtype=np.float64), integrality)
        return cls(h, numbers, status)

    def change_to(self, new: Numbers) -> dict[str, int]:
        """Make the loaded model ``new`` (of the same shape, :meth:`Numbers.same_shape`) by pushing
        only what differs: the sense, then costs, column bounds, row bounds and coefficients.
        Returns how many of each were pushed."""
        h, old = self.h, self.numbers
        out = {}
        if new.sense != old.sense:
            h.changeObjectiveSense(_sense(new.sense))
        idx = _changed(old.cost, new.cost)
        if len(idx):
            h.changeColsCost(len(idx), idx.astype(np.int32), np.asarray(new.cost, dtype=float)[idx])
        out["costs"] = len(idx)
        idx = np.union1d(_changed(old.col_lo, new.col_lo), _changed(old.col_hi, new.col_hi))
        if len(idx):
            h.changeColsBounds(len(idx), idx.astype(np.int32), new.col_lo[idx], new.col_hi[idx])
        out["column_bounds"] = len(idx)
        idx = np.union1d(_changed(old.row_lo, new.row_lo), _changed(old.row_hi, new.row_hi))
        if len(idx):
            h.changeRowsBounds(len(idx), idx.astype(np.int32), new.row_lo[idx], new.row_hi[idx])
        out["row_bounds"] = len(idx)
        diff = np.zeros(0, dtype=np.int64)
        if new.matrix is not old.matrix:
            if old.matrix is None:
                raise RuntimeError("coefficients were set one by one: the loaded matrix is not known")
            a = new.matrix
            diff = np.flatnonzero(old.matrix.data != a.data)
            if len(diff):
                cols = np.repeat(np.arange(a.shape[1]), np.diff(a.indptr))
                for k in diff:
                    h.changeCoeff(int(a.indices[k]), int(cols[k]), float(a.data[k]))
        out["coefficients"] = len(diff)
        self.numbers = new
        return out

    def set_coefficients(self, rows, cols, values) -> None:
        """Set single coefficients (which need not be nonzeros of the loaded matrix). The matrix
        the numbers describe is then no longer the loaded one: later changes may not touch it."""
        for r, c, v in zip(rows, cols, values):
            self.h.changeCoeff(int(r), int(c), float(v))
        self.numbers = dataclasses.replace(self.numbers, matrix=None)

    def hold(self, cost: np.ndarray, sense: str, bound: float) -> None:
        """Add a row keeping ``cost @ x`` at most ``bound`` (``sense`` "min": the objective
        minimised so far) or at least ``bound`` ("max"). Rows held are removed by :meth:`drop_held`."""
        import highspy

        nz = np.flatnonzero(cost).astype(np.int32)
        values = np.asarray(cost, dtype=float)[nz]
        if sense == "max":
            self.h.addRow(bound, highspy.kHighsInf, len(nz), nz, values)
        else:
            self.h.addRow(-highspy.kHighsInf, bound, len(nz), nz, values)
        self._held += 1

    def drop_held(self) -> None:
        """Remove the rows added by :meth:`hold` (the model's own rows come first)."""
        if self._held:
            n = self.numbers.row_lo.shape[0]
            self.h.deleteRows(self._held, np.arange(n, n + self._held, dtype=np.int32))
            self._held = 0


__all__ = ["Loaded", "Numbers"]
