"""A linear programme stated once, as labelled blocks, and emitted to HiGHS or to Pyomo.

Every constraint family in :mod:`formulations` adds its variables and rows here as tidy pandas
tables: a block's *index* is a DataFrame of planner keys (service, year, ...), one row per
variable or constraint, and its coefficients are a DataFrame of ``(row keys..., col, coef)``.
From that one statement we emit

* a :class:`highspy.HighsLp` in compressed sparse column form (:meth:`LinearProgram.to_highs`),
  the fast path used by :func:`optimiser.solve`; and
* a Pyomo ``ConcreteModel`` with one indexed ``Var`` / ``Constraint`` per block, named as the
  block (:func:`formulations.pyomo_model.to_pyomo`), for callers who want to extend the model.

Both carry the same labels, so duals and values come back as planner tables either way.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

INF = np.inf
INDEX = np.int32  # row and column numbers (HiGHS takes 32-bit indices)


@dataclass
class VariableBlock:
    """Variables ``name[keys]``: columns ``start .. start+len-1`` in the order of ``index``."""

    name: str
    index: pd.DataFrame
    start: int
    lower: np.ndarray
    upper: np.ndarray
    description: str = ""
    unit: str = ""
    integer: bool = False
    # optional integer positions behind the labels, one row per variable (e.g. for flows: the edge,
    # its tail and head nodes, the pathway segment, the year), so that large families can place
    # their coefficients by arithmetic on integers instead of matching text keys
    codes: pd.DataFrame | None = None

    def __len__(self) -> int:
        return len(self.index)

    @property
    def keys(self) -> list[str]:
        return list(self.index.columns)

    @property
    def cols(self) -> np.ndarray:
        return np.arange(self.start, self.start + len(self.index))

    def lookup(self, frame: pd.DataFrame, on: list[str] | None = None) -> np.ndarray:
        """Column numbers of the variables whose keys match each row of ``frame``.

        ``on`` maps block keys to columns of ``frame`` of the same name (default: all keys).
        Every row of ``frame`` must match exactly one variable.
        """
        on = on or self.keys
        indexed = self.index.assign(_col=self.cols)
        merged = frame[on].merge(indexed, how="left", on=on, validate="many_to_one")
        if merged["_col"].isna().any():
            missing = frame[on][merged["_col"].isna().to_numpy()].head(3).to_dict("records")
            raise KeyError(f"no variable {self.name} for keys {missing}")
        return merged["_col"].to_numpy(dtype=np.int64)


@dataclass
class ConstraintBlock:
    """Rows ``lower <= A x <= upper`` labelled by ``index``: rows ``start .. start+len-1``."""

    name: str
    index: pd.DataFrame
    start: int
    lower: np.ndarray
    upper: np.ndarray
    description: str = ""
    unit: str = ""
    dual_unit: str = ""

    def __len__(self) -> int:
        return len(self.index)


@dataclass
class LinearProgram:
    """A linear programme built block by block (see module docstring)."""

    name: str = "budgetshift"
    variables: dict[str, VariableBlock] = field(default_factory=dict)
    constraints: dict[str, ConstraintBlock] = field(default_factory=dict)
    n_cols: int = 0
    n_rows: int = 0
    sense: str = "min"
    objective_offset: float = 0.0
    objective_description: str = ""
    # further objectives, each minimised among the optima of the ones before: (label, cost vector)
    tiebreaks: list[tuple[str, np.ndarray]] = field(default_factory=list)
    # coefficients added since the matrix was last assembled, as (row, col, value) triplets with
    # int32 indices; :meth:`matrix` folds them into ``_matrix`` (CSC) and drops them
    _rows: list[np.ndarray] = field(default_factory=list)
    _cols: list[np.ndarray] = field(default_factory=list)
    _vals: list[np.ndarray] = field(default_factory=list)
    _matrix: sp.csc_matrix | None = None
    _obj_cols: list[np.ndarray] = field(default_factory=list)
    _obj_vals: list[np.ndarray] = field(default_factory=list)

    # -------------------------------------------------------------- building
    def add_variables(self, name: str, index: pd.DataFrame, lower=0.0, upper=INF,
                      description: str = "", unit: str = "", integer: bool = False,
                      codes: pd.DataFrame | None = None) -> VariableBlock:
        if name in self.variables or name in self.constraints:
            raise ValueError(f"variable block {name!r} added twice, or named as a constraint block (the Pyomo "
                             "model needs one name per component)")
        index = index.reset_index(drop=True)
        n = len(index)
        block = VariableBlock(
            name=name, index=index, start=self.n_cols,
            lower=np.broadcast_to(np.asarray(lower, dtype=float), (n,)).copy(),
            upper=np.broadcast_to(np.asarray(upper, dtype=float), (n,)).copy(),
            description=description, unit=unit, integer=integer,
            codes=None if codes is None else codes.reset_index(drop=True),
        )
        if block.codes is not None and len(block.codes) != n:
            raise ValueError(f"variable block {name!r}: {len(block.codes)} rows of codes for {n} variables")
        self.variables[name] = block
        self.n_cols += n
        return block

    def add_constraints(self, name: str, index: pd.DataFrame, terms: pd.DataFrame | list[pd.DataFrame],
                        lower=-INF, upper=INF, description: str = "", unit: str = "",
                        dual_unit: str = "") -> ConstraintBlock | None:
        """Add one row per row of ``index``; ``terms`` has the index's key columns plus ``col``, ``coef``
        (or, where the family already knows it, ``_row``: the position of the term's row in ``index``,
        which saves matching keys on large blocks).

        Terms whose keys match no row are an error (they would silently vanish otherwise).
        Returns ``None`` (and adds nothing) when ``index`` is empty.
        """
        if name in self.constraints or name in self.variables:
            raise ValueError(f"constraint block {name!r} added twice, or named as a variable block (the Pyomo "
                             "model needs one name per component)")
        index = index.reset_index(drop=True)
        if len(index) == 0:
            return None
        terms = [t for t in (terms if isinstance(terms, list) else [terms]) if len(t)]
        keys = list(index.columns)
        n = len(index)
        positioned = [t for t in terms if "_row" in t.columns]
        keyed = [t for t in terms if "_row" not in t.columns]
        for t in positioned:
            rows = t["_row"].to_numpy(dtype=np.int64)
            if len(rows) and (rows.min() < 0 or rows.max() >= n):
                raise KeyError(f"{name}: coefficients for row positions outside 0..{n - 1}")
            self._rows.append((rows + self.n_rows).astype(INDEX))
            self._cols.append(t["col"].to_numpy(dtype=INDEX))
            self._vals.append(t["coef"].to_numpy(dtype=float))
        if keyed:
            merged = pd.concat(keyed, ignore_index=True) if len(keyed) > 1 else keyed[0]
            pos = index.assign(_row=np.arange(n))
            merged = merged.merge(pos, how="left", on=keys, validate="many_to_one")
            if merged["_row"].isna().any():
                bad = merged.loc[merged["_row"].isna(), keys].head(3).to_dict("records")
                raise KeyError(f"{name}: coefficients for rows that do not exist: {bad}")
            rows = merged["_row"].to_numpy(dtype=np.int64) + self.n_rows
            self._rows.append(rows.astype(INDEX))
            self._cols.append(merged["col"].to_numpy(dtype=INDEX))
            self._vals.append(merged["coef"].to_numpy(dtype=float))
        block = ConstraintBlock(
            name=name, index=index, start=self.n_rows,
            lower=np.broadcast_to(np.asarray(lower, dtype=float), (n,)).copy(),
            upper=np.broadcast_to(np.asarray(upper, dtype=float), (n,)).copy(),
            description=description, unit=unit, dual_unit=dual_unit,
        )
        self.constraints[name] = block
        self.n_rows += n
        return block

    def tiebreak_costs(self) -> list[tuple[str, np.ndarray]]:
        """``tiebreaks`` with every cost vector as long as the programme has columns (a vector made
        before later variables were added is zero on them)."""
        return [(label, np.pad(np.asarray(vec, dtype=float), (0, self.n_cols - len(vec))))
                for label, vec in self.tiebreaks]

    def add_objective_terms(self, cols: np.ndarray, coefs: np.ndarray) -> None:
        self._obj_cols.append(np.asarray(cols, dtype=np.int64))
        self._obj_vals.append(np.asarray(coefs, dtype=float))

    # -------------------------------------------------------------- arrays
    @property
    def objective(self) -> np.ndarray:
        c = np.zeros(self.n_cols)
        if self._obj_cols:
            np.add.at(c, np.concatenate(self._obj_cols), np.concatenate(self._obj_vals))
        return c

    def matrix(self) -> sp.csc_matrix:
        """The constraint matrix (duplicates summed, zeros dropped). Assembled once: the triplets
        are folded into one CSC matrix and freed, so the coefficients are not held twice."""
        shape = (self.n_rows, self.n_cols)
        if self._matrix is not None and self._matrix.shape == shape and not self._rows:
            return self._matrix
        parts = [self._matrix] if self._matrix is not None else []
        if self._rows:
            rows, cols, vals = (np.concatenate(x) for x in (self._rows, self._cols, self._vals))
            self._rows, self._cols, self._vals = [], [], []
            parts.append(sp.coo_matrix((vals, (rows, cols)), shape=shape).tocsc())
            del rows, cols, vals
        if not parts:
            parts = [sp.csc_matrix(shape)]
        a = parts[0]
        if a.shape != shape:
            a = sp.csc_matrix((a.data, a.indices, a.indptr), shape=(shape[0], a.shape[1]))
            a = sp.hstack([a, sp.csc_matrix((shape[0], shape[1] - a.shape[1]))], format="csc")
        for b in parts[1:]:
            a = a + b
        a = a.tocsc()
        a.sum_duplicates()
        a.eliminate_zeros()
        self._matrix = a
        return a

    def col_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        if not self.variables:
            return np.zeros(0), np.zeros(0)
        return (np.concatenate([b.lower for b in self.variables.values()]),
                np.concatenate([b.upper for b in self.variables.values()]))

    def row_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        if not self.constraints:
            return np.zeros(0), np.zeros(0)
        return (np.concatenate([b.lower for b in self.constraints.values()]),
                np.concatenate([b.upper for b in self.constraints.values()]))

    @property
    def is_mip(self) -> bool:
        return any(b.integer and len(b) for b in self.variables.values())

    def integrality(self) -> np.ndarray:
        """1 for integer columns, 0 for continuous ones."""
        return np.concatenate([np.full(len(b), int(b.integer), dtype=np.int32) for b in self.variables.values()]) \
            if self.variables else np.zeros(0, dtype=np.int32)

    @property
    def nnz(self) -> int:
        """Nonzeros of the constraint matrix."""
        return int(self.matrix().nnz)

    def to_highs(self):
        """This programme as a :class:`highspy.HighsLp` (column-wise sparse matrix)."""
        lo, hi = self.col_bounds()
        rlo, rhi = self.row_bounds()
        return highs_model(self.objective, lo, hi, rlo, rhi, self.matrix(),
                           integrality=self.integrality() if self.is_mip else None,
                           sense=self.sense, offset=self.objective_offset)

    def pass_to(self, h):
        """Load this programme into ``h`` (a ``highspy.Highs``) in one call from numpy arrays (see
        :meth:`formulations.loaded.Loaded.load`). Returns HiGHS's status."""
        from .loaded import Loaded, Numbers

        return Loaded.load(h, Numbers.of(self)).status

    # -------------------------------------------------------------- labels
    def row_block(self, row: int) -> tuple[ConstraintBlock, int]:
        for block in self.constraints.values():
            if block.start <= row < block.start + len(block):
                return block, row - block.start
        raise IndexError(row)

    def col_block(self, col: int) -> tuple[VariableBlock, int]:
        for block in self.variables.values():
            if block.start <= col < block.start + len(block):
                return block, col - block.start
        raise IndexError(col)

    def describe_row(self, row: int) -> str:
        block, i = self.row_block(row)
        keys = ", ".join(f"{k}={v}" for k, v in block.index.iloc[i].items())
        return f"{block.name}[{keys}]"

    def describe_col(self, col: int) -> str:
        block, i = self.col_block(col)
        keys = ", ".join(f"{k}={v}" for k, v in block.index.iloc[i].items())
        return f"{block.name}[{keys}]"


def highs_model(cost, col_lower, col_upper, row_lower, row_upper, matrix: sp.csc_matrix,
                integrality=None, sense: str = "min", offset: float = 0.0):
    """A :class:`highspy.HighsLp` from arrays and a CSC matrix (``integrality``: 1 = integer)."""
    import highspy

    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = matrix.shape[1], matrix.shape[0]
    lp.col_cost_ = cost
    lp.col_lower_, lp.col_upper_ = col_lower, col_upper
    lp.row_lower_, lp.row_upper_ = row_lower, row_upper
    lp.offset_ = offset
    lp.sense_ = highspy.ObjSense.kMinimize if sense == "min" else highspy.ObjSense.kMaximize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr.astype(np.int32, copy=False)
    lp.a_matrix_.index_ = matrix.indices.astype(np.int32, copy=False)
    lp.a_matrix_.value_ = matrix.data
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = matrix.shape[1], matrix.shape[0]
    if integrality is not None:
        lp.integrality_ = [highspy.HighsVarType.kInteger if v else highspy.HighsVarType.kContinuous
                           for v in integrality]
    return lp


_HIGHS_LOCK = threading.Lock()
_BANNER_SILENCED = False  # HiGHS prints its banner once per process, at the first construction
_SCHEDULER_THREADS: int | None = None  # the thread count HiGHS's global scheduler was last reset to


def new_highs(threads: int | None = None):
    """A quiet ``highspy.Highs`` (output off).

    HiGHS 1.16 prints a banner to stdout the first time a ``Highs`` is constructed in a process,
    which would corrupt ``--json`` output: stdout is closed over that first construction only (the
    file descriptor is the whole process's, so later constructions, from any thread, leave it
    alone). ``threads`` resets HiGHS's global task scheduler, as HiGHS requires to change it, and
    only when it changes (a reset while another thread's solve runs is not safe)."""
    import os
    import sys

    import highspy

    global _BANNER_SILENCED, _SCHEDULER_THREADS
    with _HIGHS_LOCK:
        if _BANNER_SILENCED:
            h = highspy.Highs()
        else:
            sys.stdout.flush()
            saved = os.dup(1)
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 1)
                os.close(devnull)
                h = highspy.Highs()
            finally:
                os.dup2(saved, 1)
                os.close(saved)
            _BANNER_SILENCED = True
        h.setOptionValue("output_flag", False)
        if threads is not None:
            if _SCHEDULER_THREADS != int(threads):
                highspy.Highs.resetGlobalScheduler(True)
                _SCHEDULER_THREADS = int(threads)
            h.setOptionValue("threads", int(threads))
    return h


def terms(keys: pd.DataFrame, cols: np.ndarray, coefs) -> pd.DataFrame:
    """Coefficient table: the row keys in ``keys`` with column numbers and coefficients."""
    out = keys.reset_index(drop=True).copy()
    out["col"] = np.asarray(cols, dtype=np.int64)
    out["coef"] = np.broadcast_to(np.asarray(coefs, dtype=float), (len(out),))
    return out


def positions(row_keys: np.ndarray, term_keys: np.ndarray, what: str, drop_missing: bool = False):
    """Position in ``row_keys`` (distinct integers, one per row of a block) of each of ``term_keys``.

    The integer counterpart of matching terms to rows on their text keys. A term whose key is not a
    row is an error, or with ``drop_missing`` is left out: then ``(positions, kept)`` is returned,
    ``kept`` the boolean mask of the terms that matched.
    """
    row_keys = np.asarray(row_keys, dtype=np.int64)
    term_keys = np.asarray(term_keys, dtype=np.int64)
    order = np.argsort(row_keys, kind="stable")
    ordered = row_keys[order]
    if len(ordered) > 1 and (ordered[1:] == ordered[:-1]).any():
        raise ValueError(f"{what}: two rows share one key")
    i = np.searchsorted(ordered, term_keys)
    i_in = np.minimum(i, max(len(ordered) - 1, 0))
    found = (i < len(ordered)) & (ordered[i_in] == term_keys) if len(ordered) else np.zeros(len(term_keys), bool)
    if drop_missing:
        return order[i_in[found]], found
    if not found.all():
        raise KeyError(f"{what}: {int((~found).sum())} coefficients for rows that do not exist")
    return order[i_in]
