"""The elastic programme: the model with penalised slack on the bounds a planner can move.

When no plan meets every target, budget, shift rule, stability limit and capacity together, the
question is *what is the smallest change that makes a plan possible?* The elastic programme answers
it. It is built from the labelled :class:`~formulations.lp.LinearProgram` (which it does not
change) as plain arrays passed to HiGHS:

* every **relaxable bound** (a row bound of a relaxable constraint block, or a capacity bound of an
  ``activity`` column) gets a slack column ``r >= 0`` measured as a fraction of the bound's size
  ``scale``: a ``<=`` row becomes ``a x - scale r <= u``, a ``>=`` row ``a x + scale r >= l``, a
  capacity ``activity <= U`` becomes the row ``activity - scale r <= U`` (and ``activity >= L``,
  ``activity + scale r >= L``);
* stage 1 minimises ``sum_f w_f sum_{r in f} r`` (``w_f`` the weight of the bound's family, see
  :data:`FAMILIES`): the smallest total *relative* relaxation;
* stage 2 holds that penalty at its optimum and optimises the model's own objective, so the relaxed
  plan reported is the cheapest (or best) one among the smallest relaxations.

Slack is measured relative to each bound's size (:func:`relaxable_bounds` documents each ``scale``)
so that admissions, pounds, percentage points and units of activity are comparable: with the
default weights of 1, relaxing an admissions target by 1% weighs the same as relaxing a budget by 1%.

Never relaxed (they are definitions or clinical facts, not choices): need at sources, patient
conservation, edge shares, prevention response curves and floors, the demand each service must
cover, and any block not listed in :data:`ROW_FAMILIES`.

:func:`irreducible_subset` asks HiGHS for an irreducible infeasible subset (IIS) of rows and
column bounds; :func:`largest_share_increase` finds, by bisection on the shift rows'
coefficients, the largest ``increase_pp`` of a share policy that still has a plan.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .families import BLOCKS, RELAX_GROUPS, relaxable_columns, relaxable_rows
from .loaded import Loaded, Numbers
from .lp import LinearProgram, new_highs
from .shift_policy import base_total_spend, policy_fraction, required_share, share_trajectory

#: Families of relaxable bounds, in the order they are reported (the registry's relaxation groups).
FAMILIES = RELAX_GROUPS

#: Constraint blocks whose bounds may be relaxed, and their family (read off the registry,
#: :mod:`formulations.families`: a block's ``relax``). Capacity is the bounds of the variable
#: blocks in :data:`COL_FAMILIES` (the ``activity`` columns).
ROW_FAMILIES = relaxable_rows()
COL_FAMILIES = relaxable_columns()

#: Default weight of each family: 1 per unit of relative relaxation (1.0 = the bound's whole size).
DEFAULT_WEIGHTS = {f: 1.0 for f in FAMILIES}

_ZERO = 1e-7  # relative slack below this is solver noise (HiGHS's primal tolerance is 1e-7)


def relaxable_bounds(lp: LinearProgram, inst, families=FAMILIES) -> pd.DataFrame:
    """One row per relaxable bound: ``family, constraint, kind (row|col), pos, index, side
    (lower|upper), bound, scale``.

    ``index`` is the global row (``kind == "row"``) or column number, ``pos`` its place in its
    block. ``scale`` is the size relative to which the slack is measured (floored at 1), as the
    block's ``relax_scale`` in the registry says:

    * ``"bound"`` (``outcome_target``, the budgets, ``shift_transfer``, capacity): ``|bound|``;
    * ``"required share"`` (``shift_share``, bound 0, in currency): the required share ``s_t`` x
      base-year total spend, i.e. the group spend the rule asks for at base-year money, so 1.0 is
      the whole required share;
    * ``"first year"`` (``growth_limit`` / ``shrink_limit``): the first year's bound
      ``(1 +/- limit) x baseline`` of the service (later years' rows have bound 0), i.e. about one
      year's activity.
    """
    parts = []
    for name, block in lp.constraints.items():
        fam = ROW_FAMILIES.get(name)
        if fam is None or fam not in families or not len(block):
            continue
        idx = block.index.reset_index(drop=True)
        for side, bound in (("lower", block.lower), ("upper", block.upper)):
            finite = np.isfinite(bound)
            if not finite.any():
                continue
            pos = np.flatnonzero(finite)
            scale = np.abs(bound[pos])
            how = BLOCKS[name].relax_scale
            if how == "required share":
                scale = _share_scales(inst, idx.iloc[pos])
            elif how == "first year":
                first = idx.assign(_b=bound).sort_values("year").groupby("service")["_b"].first()
                scale = np.abs(first.reindex(idx.loc[pos, "service"]).to_numpy())
            parts.append(pd.DataFrame({
                "family": fam, "constraint": name, "kind": "row", "pos": pos, "index": block.start + pos,
                "side": side, "bound": bound[pos], "scale": np.maximum(scale, 1.0)}))
    for name, fam in COL_FAMILIES.items():
        act = lp.variables.get(name)
        if act is None or fam not in families or not len(act):
            continue
        for side, bound in (("upper", act.upper), ("lower", act.lower)):
            ok = np.isfinite(bound) & ((bound > 0) if side == "lower" else True)
            pos = np.flatnonzero(ok)
            if len(pos):
                parts.append(pd.DataFrame({
                    "family": fam, "constraint": fam, "kind": "col", "pos": pos,
                    "index": act.start + pos, "side": side, "bound": bound[pos],
                    "scale": np.maximum(np.abs(bound[pos]), 1.0)}))
    cols = ["family", "constraint", "kind", "pos", "index", "side", "bound", "scale"]
    if not parts:
        return pd.DataFrame(columns=cols)
    return pd.concat(parts, ignore_index=True)[cols]


def _share_scales(inst, rows: pd.DataFrame) -> np.ndarray:
    total = base_total_spend(inst) if inst is not None else 0.0
    req = {}
    if inst is not None:
        for p in inst.model.shift_policies:
            if p.kind == "share":
                for r in share_trajectory(inst, p).itertuples(index=False):
                    req[(p.name, r.year)] = r.required_share
    return np.array([req.get((p, y), 1.0) * total for p, y in zip(rows["policy"], rows["year"])], dtype=float)


@dataclass
class ElasticSolution:
    """The answer of one elastic solve.

    ``status``: ``"feasible"`` (no relaxation needed), ``"relaxed"``, ``"impossible"`` (even the
    relaxable bounds cannot make a plan: the conflict lies elsewhere) or ``"error"``.
    ``relaxation`` is :func:`relaxable_bounds` with ``slack`` (in the bound's own units, >= 0) and
    ``relative`` (slack / scale) for the bounds that moved; ``x`` and ``row_activity`` the relaxed
    plan on the original columns and rows (``A x``).
    """

    status: str
    penalty: float | None = None
    relaxation: pd.DataFrame = field(default_factory=pd.DataFrame)
    x: np.ndarray | None = None
    row_activity: np.ndarray | None = None
    objective: float | None = None
    seconds: float = 0.0
    message: str = ""


class ElasticModel:
    """The elastic version of ``lp`` with slack on every bound in ``relaxable`` (see module doc)."""

    def __init__(self, lp: LinearProgram, relaxable: pd.DataFrame):
        self.lp = lp
        self.relaxable = relaxable.reset_index(drop=True)
        n, m = lp.n_cols, lp.n_rows
        r = self.relaxable
        k = len(r)
        a = lp.matrix()
        col_lo, col_hi = lp.col_bounds()
        row_lo, row_hi = lp.row_bounds()
        col_lo, col_hi, row_lo, row_hi = (v.astype(float).copy() for v in (col_lo, col_hi, row_lo, row_hi))

        is_row = (r["kind"] == "row").to_numpy()
        sign = np.where(r["side"].to_numpy() == "upper", -1.0, 1.0)
        scale = r["scale"].to_numpy(dtype=float)
        # slack columns acting on existing rows
        rr = np.flatnonzero(is_row)
        s_rows = sp.coo_matrix((sign[rr] * scale[rr], (r["index"].to_numpy()[rr], rr)), shape=(m, k))
        # capacity bounds become new rows: activity -/+ scale r <=/>= bound
        cc = np.flatnonzero(~is_row)
        q = len(cc)
        col_idx = r["index"].to_numpy()[cc].astype(np.int64)
        c_x = sp.coo_matrix((np.ones(q), (np.arange(q), col_idx)), shape=(q, n))
        c_r = sp.coo_matrix((sign[cc] * scale[cc], (np.arange(q), cc)), shape=(q, k))
        new_lo = np.where(r["side"].to_numpy()[cc] == "lower", r["bound"].to_numpy()[cc], -np.inf)
        new_hi = np.where(r["side"].to_numpy()[cc] == "upper", r["bound"].to_numpy()[cc], np.inf)
        upper_cols = col_idx[r["side"].to_numpy()[cc] == "upper"]
        lower_cols = col_idx[r["side"].to_numpy()[cc] == "lower"]
        col_hi[upper_cols] = np.inf
        col_lo[lower_cols] = np.minimum(0.0, col_lo[lower_cols])
        self.matrix = sp.bmat([[a, s_rows], [c_x, c_r]], format="csc")
        self.matrix.sum_duplicates()
        self.col_lo = np.concatenate([col_lo, np.zeros(k)])
        self.col_hi = np.concatenate([col_hi, np.full(k, np.inf)])
        self.row_lo = np.concatenate([row_lo, new_lo])
        self.row_hi = np.concatenate([row_hi, new_hi])
        self.n, self.m, self.k = n, m, k
        self.integrality = None
        if getattr(lp, "is_mip", False):
            self.integrality = np.concatenate([np.asarray(lp.integrality(), dtype=np.int32), np.zeros(k, np.int32)])

    def _highs(self, cost: np.ndarray, col_hi: np.ndarray, time_limit: float | None, threads: int | None) -> Loaded:
        h = new_highs(threads=threads)
        h.setOptionValue("random_seed", 0)
        if time_limit is not None:
            h.setOptionValue("time_limit", float(time_limit))
        integrality = self.integrality if self.integrality is not None else np.zeros(len(cost), dtype=np.int32)
        return Loaded.load(h, Numbers(cost, self.col_lo, col_hi, self.row_lo, self.row_hi, self.matrix, integrality))

    def solve(self, weights: dict[str, float | None] | None = None, *, families=None,
              time_limit: float | None = None, threads: int | None = None,
              cheapest: bool = True) -> ElasticSolution:
        """Minimise the weighted relative slack, then (``cheapest``) the model's objective among
        the smallest relaxations. ``weights[family]`` of ``None`` or ``inf`` (or a family not in
        ``families``) holds that family's bounds fixed."""
        import highspy

        t0 = time.perf_counter()
        weights = {**DEFAULT_WEIGHTS, **(weights or {})}
        fam = self.relaxable["family"].to_numpy()
        w = np.array([_weight(weights.get(f)) for f in fam], dtype=float)
        if families is not None:
            w[~np.isin(fam, list(families))] = np.inf
        active = np.isfinite(w)
        cost = np.concatenate([np.zeros(self.n), np.where(active, w, 0.0)])
        col_hi = self.col_hi.copy()
        col_hi[self.n:][~active] = 0.0
        model = self._highs(cost, col_hi, time_limit, threads)
        h = model.h
        h.run()
        ms = h.getModelStatus()
        S = highspy.HighsModelStatus
        none = self.relaxable.iloc[:0].assign(relative=0.0, slack=0.0)
        if ms in (S.kInfeasible, S.kUnboundedOrInfeasible):
            return ElasticSolution("impossible", relaxation=none, seconds=time.perf_counter() - t0,
                                   message=h.modelStatusToString(ms))
        if ms != S.kOptimal:
            return ElasticSolution("error", relaxation=none, seconds=time.perf_counter() - t0,
                                   message=h.modelStatusToString(ms))
        penalty = float(h.getInfo().objective_function_value)
        sol = np.asarray(h.getSolution().col_value)
        if cheapest:
            sol = self._cheapest(model, cost, penalty, sol)
        x = sol[: self.n]
        rel = np.where(active, np.maximum(sol[self.n:], 0.0), 0.0)
        out = self.relaxable.assign(relative=rel, slack=rel * self.relaxable["scale"].to_numpy())
        out = out[out["relative"] > _ZERO].reset_index(drop=True)
        lp = self.lp
        row_activity = lp.matrix() @ x if lp.n_rows else np.zeros(0)
        objective = float(lp.objective @ x + lp.objective_offset)
        status = "relaxed" if len(out) else "feasible"
        return ElasticSolution(status, penalty, out, x, row_activity, objective,
                               time.perf_counter() - t0, h.modelStatusToString(ms))

    def _cheapest(self, model: Loaded, cost: np.ndarray, penalty: float, sol: np.ndarray) -> np.ndarray:
        """Stage 2: the model's own objective among the relaxations within 1e-9 of the smallest."""
        import highspy

        h = model.h
        if np.any(cost):
            model.hold(cost, "min", penalty + 1e-9 * max(1.0, abs(penalty)))
        c = np.concatenate([self.lp.objective, np.zeros(self.k)])
        model.change_to(model.numbers.with_objective(c, self.lp.sense))
        h.run()
        if h.getModelStatus() == highspy.HighsModelStatus.kOptimal:
            return np.asarray(h.getSolution().col_value)
        return sol  # keep the stage-1 plan (e.g. an unbounded objective once relaxed)


def _weight(value) -> float:
    if value is None:
        return np.inf
    v = float(value)
    if v < 0 or np.isnan(v):
        raise ValueError(f"a relaxation weight must be >= 0 (or off), not {value!r}")
    return v


# ---------------------------------------------------------------------------------- the IIS
@dataclass
class Subset:
    """An infeasible subset: rows and column bounds with the side each takes part with
    (``lower``, ``upper`` or ``both``). ``irreducible`` is HiGHS's word that removing any one
    member makes the rest feasible."""

    rows: list[tuple[int, str]]
    cols: list[tuple[int, str]]
    irreducible: bool
    seconds: float
    message: str = ""
    relaxed: bool = False  # the subset of the continuous relaxation of a mixed-integer programme


_SIDE = {2: "lower", 3: "upper", 4: "both"}


def irreducible_subset(lp: LinearProgram, *, time_limit: float | None = 30.0) -> Subset | None:
    """An irreducible infeasible subset of ``lp`` from HiGHS (``Highs.getIis``), or ``None`` when
    HiGHS gives none (within ``time_limit`` seconds, or an older highspy).

    Uses HiGHS's ``iis_strategy`` 6 (from the LP, made irreducible by deletion filtering): on the
    Kent instance with a tightened target it finds a subset in about 0.2 s where the pure
    deletion filter takes 4 s. Columns whose bounds are not needed (HiGHS marks them ``free``) are
    left out: they only say which variables the conflicting rows mention.

    For a mixed-integer programme HiGHS has no IIS; the subset is then that of the continuous
    relaxation (``Subset.relaxed``), which is also infeasible with integers, or ``None`` when the
    continuous relaxation has a plan (the integrality itself is part of the conflict).
    """
    import highspy

    t0 = time.perf_counter()
    h = new_highs()
    h.setOptionValue("random_seed", 0)
    if time_limit is not None:
        h.setOptionValue("iis_time_limit", float(time_limit))
        h.setOptionValue("time_limit", float(time_limit))
    model = lp.to_highs()
    relaxed = bool(getattr(lp, "is_mip", False))
    if relaxed:
        model.integrality_ = []
    h.passModel(model)
    h.setOptionValue("iis_strategy", int(highspy.IisStrategy.kIisStrategyFromLp)
                     | int(highspy.IisStrategy.kIisStrategyIrreducible))
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kInfeasible:
        return None
    try:
        status, iis = h.getIis()
    except Exception:  # noqa: BLE001 - an older highspy without getIis: fall back to the elastic model
        return None
    if status == highspy.HighsStatus.kError or not iis.valid_:
        return None
    rows = [(int(r), _SIDE[int(b)]) for r, b in zip(iis.row_index_, iis.row_bound_) if int(b) in _SIDE]
    cols = [(int(c), _SIDE[int(b)]) for c, b in zip(iis.col_index_, iis.col_bound_) if int(b) in _SIDE]
    if not rows and not cols:
        return None
    return Subset(rows, cols, irreducible=int(getattr(iis, "status_", 0)) == 3,
                  seconds=time.perf_counter() - t0, message=str(status), relaxed=relaxed)


# ---------------------------------------------------------------------------------- share policies
def largest_share_increase(lp: LinearProgram, inst, policy: str, *, tol: float = 1e-4,
                           time_limit: float | None = None) -> float | None:
    """The largest ``increase_pp`` of share policy ``policy`` (at most its own) for which a plan
    exists with everything else held, found by bisection to ``tol`` points; ``None`` when even
    an increase of 0 has no plan.

    The share rows' coefficients are ``spend_coef_j x (1[j in G] - s_t)`` with
    ``s_t = s0 + increase / 100 x f_t``; each trial rewrites them and asks HiGHS for any plan.
    Feasibility is monotone in the increase (a plan meeting a higher share meets a lower one).
    """
    import highspy

    from .budget import spend_terms

    p = next((q for q in inst.model.shift_policies if q.kind == "share" and q.name == policy), None)
    block = lp.constraints.get("shift_share")
    if p is None or block is None:
        return None
    rows = block.index.assign(row_=block.start + np.arange(len(block)))
    rows = rows[rows["policy"] == policy]
    s0 = inst.base_share(p.sectors)
    frac = {y: policy_fraction(inst, y, p.trajectory) for y in share_trajectory(inst, p)["year"]}
    spend = spend_terms(lp, inst)
    spend = spend.assign(g=spend["sector"].isin(p.sectors).astype(float))
    spend = spend.groupby(["year", "col", "g"], as_index=False)["coef"].sum()

    h = new_highs()
    h.setOptionValue("random_seed", 0)
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    numbers = Numbers.of(lp)
    model = Loaded.load(h, numbers.with_objective(np.zeros(lp.n_cols), numbers.sense))  # any plan will do

    def feasible(increase: float) -> bool:
        for r in rows.itertuples(index=False):
            s = required_share(s0, increase, frac[r.year])
            t = spend[spend["year"] == r.year]
            model.set_coefficients(np.full(len(t), r.row_), t["col"], t["coef"] * (t["g"] - s))
        h.run()
        return h.getModelStatus() == highspy.HighsModelStatus.kOptimal

    if feasible(p.increase_pp):
        return float(p.increase_pp)
    lo, hi = 0.0, float(p.increase_pp)
    if not feasible(lo):
        return None
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if feasible(mid):
            lo = mid
        else:
            hi = mid
    return lo
