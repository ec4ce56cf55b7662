"""The why of a plan: shadow prices in planner units, the constraints that bind, and, when no plan
exists, the smallest relaxation that makes one possible and the constraints that conflict.

:func:`explain` takes a solved :class:`~optimiser.solving.results.Result` (or an instance, which it solves)
and returns one :class:`Explanation` whose tables are pandas DataFrames:

* ``shadow_prices``: for every target, budget year, shift rule (per year and per policy), transfer,
  and every capacity, stability limit, clinical edge-share bound and incidence floor that binds:
  the change in the objective per one unit of the planner's own quantity (an admission, a pound,
  a percentage point, a unit of capacity), with a sentence in plain words;
* ``binding``: the rows of ``shadow_prices`` whose constraint binds;
* ``relaxation`` (infeasible instances): by how much each target, budget, shift rule, capacity or
  stability limit must move, for the smallest relaxation of all families together and for each
  family alone (``scope``), from the elastic programme of :mod:`formulations.elastic`;
* ``conflict`` (infeasible instances): an irreducible infeasible subset from HiGHS (or, where HiGHS
  gives none, the bounds the relaxation had to move), named in instance terms.

Duals are HiGHS's: change in the objective per unit increase of the row's (or column's) active
bound; in ``min_cost`` mode the objective is the *discounted* cost, so every price here is in
discounted money (base-year present value). The conversions to planner units are derived in
docs/formulation.md, section "Explaining a plan".

The functions work from ``result.lp`` and the result tables plus, optionally, the row and column
duals as arrays, so they can be reused on a programme whose integer choices were fixed
(mixed-integer duals).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from formulations.elastic import (COL_FAMILIES, DEFAULT_WEIGHTS, FAMILIES, ROW_FAMILIES, ElasticModel,
                                  irreducible_subset, largest_share_increase, relaxable_bounds)
from formulations.families import group_of, rows_labels
from formulations.shift_policy import policy_fraction

from ..solving.highs import Status
from ..output import formatting
from ..input.instance import Instance
from ..output.files import records
from ..solving.solve import solve

SHADOW_COLUMNS = ["family", "constraint", "item", "year", "bound_type", "bound", "value", "binding", "dual",
                  "quantity", "marginal", "unit", "words"]
RELAXATION_COLUMNS = ["scope", "family", "constraint", "item", "year", "bound_type", "bound", "change",
                      "relaxed_bound", "relative", "unit", "words"]
CONFLICT_COLUMNS = ["family", "constraint", "item", "keys", "year", "side", "bound", "relaxable", "words",
                    "source"]

# ====================================================================================== the answer
@dataclass
class Explanation:
    """Why a plan is what it is, or why there is none. Tables are DataFrames (see module doc)."""

    status: Status
    summary: dict[str, Any]
    shadow_prices: pd.DataFrame
    binding: pd.DataFrame
    relaxation: pd.DataFrame
    conflict: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    result: Any = None

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        return {"shadow_prices": self.shadow_prices, "binding": self.binding, "relaxation": self.relaxation,
                "conflict": self.conflict}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the summary, the notes, then each table as a list of records."""

        out = dict(self.summary)
        out["notes"] = list(self.notes)
        for name, df in self.tables.items():
            out[name] = records(df)
        return out

    def lines(self) -> list[str]:
        """The explanation in plain words, one sentence a line (per-year prices of one rule are
        gathered into one sentence; see :func:`digest`)."""
        out = [f"status: {self.summary['status_message']}"]
        if self.status is Status.OPTIMAL:
            out += digest(self)
        elif self.status is Status.INFEASIBLE:
            out += list(self.summary.get("relaxation_summary", []))
        return out + list(self.notes)


def _years(years) -> str:
    ys = sorted(int(y) for y in years)
    if not ys:
        return ""
    if len(ys) > 2 and ys == list(range(ys[0], ys[-1] + 1)):
        return f"{ys[0]}-{ys[-1]}"
    return ", ".join(map(str, ys))


def _effect_range(w: "Words", deltas) -> str:
    d = [float(v) for v in deltas]
    if len(d) == 1:
        return w.effect(d[0])
    if all(v > 0 for v in d) or all(v < 0 for v in d):
        lo, hi = sorted(abs(v) for v in d)[0], sorted(abs(v) for v in d)[-1]
        sign = 1 if d[0] > 0 else -1
        if w.mode == "max_outcome":
            return f"{'gains' if sign > 0 else 'loses'} {precise_number(lo)} to {precise_number(hi)} of {w.unit} a year"
        return f"{'costs' if sign > 0 else 'saves'} {w.money(lo)} to {w.money(hi)} (discounted) a year"
    return "; ".join(w.effect(v) for v in d)


def digest(ex: "Explanation") -> list[str]:
    """The binding constraints with a price, in plain words: each target, budget year and capacity
    on its own; a shift rule, stability limit, edge-share bound or floor once over the years it
    binds, with its price per year and, where one exists, for the whole policy or limit."""
    sp = ex.shadow_prices
    if not len(sp):
        return ["no planner constraint to price"]
    w = Words(ex.result)
    yearly = sp[sp["year"].notna()]
    if yearly["marginal"].isna().all():  # no duals: say what binds, without prices
        bind = yearly[yearly["binding"]]
        return [f"{t.split(': ')[0]} (no price: the solver gave no duals)" for t in bind["words"]] or \
            ["no target, budget, shift rule, capacity or limit binds"]
    priced = yearly[yearly["binding"] & (yearly["marginal"].abs().fillna(0) > 1e-6)]
    out = list(priced[priced["family"].isin(["targets", "budget", "capacity"])]["words"])
    agg = sp[sp["year"].isna()].set_index(["constraint", "item"])
    for (name, item), g in priced[~priced["family"].isin(["targets", "budget", "capacity"])].groupby(
            ["constraint", "item"], sort=False):
        years = _years(g["year"])
        whole = agg["marginal"].get((name, item)) if (name, item) in agg.index else None
        if name == "shift_share":
            text = (f"the {item} rule binds in {years}: each percentage point more {_effect_range(w, g['marginal'])}")
            if whole is not None:
                text += f"; raising its increase by one point {w.effect(whole)} in all"
        elif name == "shift_transfer":
            text = (f"the {item} transfer binds in {years}: each {w.money(1)} more moved "
                    f"{_effect_range(w, g['marginal'])}")
            if whole is not None:
                text += f"; {w.money(1)} more on its amount {w.effect(whole)} in all"
        elif name in ("growth_limit", "shrink_limit"):
            verb = "growth" if name == "growth_limit" else "shrink"
            limit = g["bound"].iloc[0]
            text = (f"{item}'s {limit:.0f}% {verb} limit binds in {years}: one point more {verb} allowed "
                    f"{_effect_range(w, g['marginal'])}")
            if whole is not None and len(g) > 1:
                text += f"; one point more every year {w.effect(whole)} in all"
        elif name.startswith("edge_share"):
            first = g["words"].iloc[0]
            head = first.split(" binds: ")[0].rsplit(" (", 1)[0]
            pathway = item.split(":")[0]
            sign = 1 if name == "edge_share_max" else -1
            text = (f"{head} ({pathway}) binds in {years}: one point {'more' if sign > 0 else 'less'} "
                    f"{_effect_range(w, sign * g['marginal'])}")
        elif name == "incidence_floor":
            text = (f"the incidence floor at {item} binds in {years}: a floor one point lower "
                    f"{_effect_range(w, -g['marginal'])}")
        else:
            text = "; ".join(g["words"])
        out.append(text)
    free = yearly[yearly["binding"] & ~yearly.index.isin(priced.index)]
    if len(free):
        kinds = ", ".join(f"{n} {k}" for k, n in free["family"].value_counts().items())
        out.append(f"{len(free)} more constraints are at their limits at no cost at the margin ({kinds})")
    if not out:
        out.append("no target, budget, shift rule, capacity or limit binds: the plan is unconstrained at the margin")
    return out


# ====================================================================================== entry point
def explain(result_or_instance, *, weights: Mapping[str, float | None] | None = None,
            row_dual: np.ndarray | None = None, col_dual: np.ndarray | None = None, alone: bool = True,
            conflict: bool = True, time_limit: float | None = None, threads: int | None = None) -> Explanation:
    """Explain a solved plan (or solve ``result_or_instance`` first when it is an instance).

    For an optimal plan: shadow prices in planner units and the binding constraints. ``row_dual``
    and ``col_dual`` (arrays over ``result.lp``'s rows and columns) replace the duals read from the
    result's ``constraints`` table; without ``col_dual`` the reduced costs are computed from the row
    duals as ``c - A^T y`` (what HiGHS reports as ``col_dual``).

    For an infeasible instance: the smallest weighted relaxation of targets, budget, shift rules,
    capacities and stability limits (``weights`` per family, default 1 per unit of relative change;
    ``None`` or ``inf`` holds a family fixed), each family alone (``alone``), the largest share
    increase each share policy could have, and the conflicting constraints (``conflict``).
    """

    t0 = time.perf_counter()
    if isinstance(result_or_instance, Instance):
        result = solve(result_or_instance, time_limit=time_limit, threads=threads)
    else:
        result = result_or_instance
    weights = check_weights(weights)
    inst, lp = result.instance, result.lp
    if lp is None or inst is None:
        raise ValueError("explain needs a result solved in this session (it reads the programme and the "
                         "instance); a result read back from files has neither: solve the instance again")
    summary = {
        "instance": result.summary.get("instance"),
        "source": result.summary.get("source"),
        "overrides": result.summary.get("overrides", {}),
        "status": result.status.value,
        "status_message": result.status.explain(result.has_plan),
        "objective": result.objective,
        "objective_unit": objective_unit(result),
        "currency": result.summary.get("currency", "GBP"),
    }
    notes: list[str] = []
    empty = (pd.DataFrame(columns=SHADOW_COLUMNS), pd.DataFrame(columns=RELAXATION_COLUMNS),
             pd.DataFrame(columns=CONFLICT_COLUMNS))
    prices, relaxation, conflicts = empty
    if result.status is Status.OPTIMAL and result.has_plan:
        prices = shadow_prices(result, row_dual=row_dual, col_dual=col_dual)
        if prices["dual"].isna().all() and len(prices):
            notes.append("the solver gave no duals for this plan, so only which constraints bind is shown")
    elif result.status is Status.INFEASIBLE:
        relaxation, rsum = relax(result, weights=weights, alone=alone, time_limit=time_limit, threads=threads)
        summary.update(rsum)
        if conflict:
            conflicts, csum = conflict_set(result, relaxation=relaxation, time_limit=time_limit)
            summary.update(csum)
    else:
        notes.append("an explanation needs an optimal plan (shadow prices) or an infeasible instance "
                     "(relaxations); this solve ended: " + result.status.explain(result.has_plan))
    binding = prices[prices["binding"].astype(bool) & prices["year"].notna()].reset_index(drop=True) \
        if len(prices) else pd.DataFrame(columns=SHADOW_COLUMNS)
    summary["weights"] = {f: (None if not math.isfinite(w) else w) for f, w in weights.items()}
    summary["explain_seconds"] = time.perf_counter() - t0
    return Explanation(result.status, summary, prices, binding, relaxation, conflicts, notes, result)


def check_weights(weights: Mapping[str, float | None] | None) -> dict[str, float]:
    """Weights per relaxation family (:data:`formulations.elastic.FAMILIES`), defaults filled in;
    ``None``, ``inf`` or ``"off"`` hold a family fixed. Unknown families and negative weights
    raise ``ValueError`` with the list of families."""
    out = dict(DEFAULT_WEIGHTS)
    for k, v in (weights or {}).items():
        if k not in FAMILIES:
            raise ValueError(f"unknown relaxation family {k!r}: expected one of {', '.join(FAMILIES)}")
        if v is None or (isinstance(v, str) and v.strip().lower() in ("off", "none", "fixed", "inf")):
            out[k] = math.inf
            continue
        try:
            w = float(v)
        except (TypeError, ValueError):
            raise ValueError(f"weight of {k!r} must be a number >= 0 or 'off', not {v!r}") from None
        if not w >= 0:
            raise ValueError(f"weight of {k!r} must be a number >= 0 or 'off', not {v!r}")
        out[k] = w
    return out


# ====================================================================================== formatting
def objective_unit(result) -> str:
    s = result.summary
    if s.get("objective_mode") == "max_outcome":
        disc = getattr(getattr(getattr(result.instance, "model", None), "objective", None), "discount_outcomes", True)
        return "weighted outcome" + (" (discounted)" if disc else "")
    return f"discounted {s.get('currency', 'GBP')}"


def price(v: float, currency: str = "GBP", signed: bool = False) -> str:
    """``£612.35``, ``£2.40m``, ``£0.0123``: enough digits for a price per unit (the house sign
    rule of :mod:`optimiser.output.formatting`: a negative amount keeps its minus; ``signed`` adds ``+``)."""
    return formatting.money(v, currency, signed=signed, precise=True)


def precise_number(v: float) -> str:
    """A number with enough digits for a quantity at the margin (:func:`optimiser.output.formatting.number`, precise)."""
    return formatting.number(v, precise=True)


def _singular(unit: str) -> str:
    u = str(unit)
    if u.endswith("ies"):
        return u[:-3] + "y"
    if u.endswith("s") and not u.endswith("ss"):
        return u[:-1]
    return u


class Words:
    """Objective changes in plain words for one result (its mode and currency)."""

    def __init__(self, result):
        self.mode = result.summary.get("objective_mode", "min_cost")
        self.currency = result.summary.get("currency", "GBP")
        self.unit = objective_unit(result)

    def effect(self, delta: float) -> str:
        """What an action changing the objective by ``delta`` does, e.g. 'costs £612 (discounted)'."""
        if delta is None or (isinstance(delta, float) and math.isnan(delta)):
            return "has no shadow price (no duals)"
        if self.mode == "max_outcome":
            if abs(delta) < 1e-9:
                return "changes the weighted outcome by nothing at the margin"
            return f"{'gains' if delta > 0 else 'loses'} {precise_number(abs(delta))} of {self.unit}"
        if abs(delta) < 1e-6:
            return "costs nothing at the margin"
        return f"{'costs' if delta > 0 else 'saves'} {price(abs(delta), self.currency)} (discounted)"

    def money(self, v: float) -> str:
        return price(v, self.currency)


# ====================================================================================== duals
def _row_arrays(result, row_dual: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Row activities and duals over ``result.lp``'s rows, from the ``constraints`` table
    (or ``row_dual`` when given)."""
    lp = result.lp
    value = np.full(lp.n_rows, np.nan)
    dual = np.full(lp.n_rows, np.nan)
    cons = result.tables.get("constraints")
    if cons is not None and len(cons):
        groups = {name: g for name, g in cons.groupby("constraint", sort=False)}
        for name, block in lp.constraints.items():
            g = groups.get(name)
            if g is not None and len(g) == len(block):
                sl = slice(block.start, block.start + len(block))
                value[sl] = g["value"].to_numpy(dtype=float)
                dual[sl] = g["dual"].to_numpy(dtype=float)
    if row_dual is not None:
        dual = np.asarray(row_dual, dtype=float)[: lp.n_rows]
    return value, dual


def reduced_costs(lp, row_dual: np.ndarray) -> np.ndarray:
    """``c - A^T y``: HiGHS's column duals from its row duals (change in the objective per unit
    increase of a column's active bound)."""
    y = np.nan_to_num(np.asarray(row_dual, dtype=float))
    d = lp.objective - (lp.matrix().T @ y if lp.n_rows else 0.0)
    if np.isnan(np.asarray(row_dual, dtype=float)).all():
        d = np.full(lp.n_cols, np.nan)
    return d


def _block(lp, name: str, value: np.ndarray, dual: np.ndarray) -> pd.DataFrame | None:
    b = lp.constraints.get(name)
    if b is None or not len(b):
        return None
    sl = slice(b.start, b.start + len(b))
    return b.index.reset_index(drop=True).assign(lower=b.lower, upper=b.upper, value=value[sl], dual=dual[sl])


def _close(a, b) -> np.ndarray:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.isfinite(b) & (np.abs(a - b) <= 1e-6 * np.maximum(1.0, np.abs(b)))


def shadow_prices(result, *, row_dual: np.ndarray | None = None, col_dual: np.ndarray | None = None) -> pd.DataFrame:
    """Shadow prices in planner units (see module doc); ``marginal`` is the change in the objective
    per one unit increase of ``quantity``."""
    lp, inst = result.lp, result.instance
    words = Words(result)
    value, dual = _row_arrays(result, row_dual)
    if col_dual is None:
        col_dual = reduced_costs(lp, dual)
    col_dual = np.asarray(col_dual, dtype=float)
    d = _Duals(result, lp, inst, value, dual, col_dual, _year_spend(result, lp, value), words)
    rows: list[dict] = []
    for name in PRICE_ORDER:
        rows += globals()[name](d)
    out = pd.DataFrame(rows, columns=SHADOW_COLUMNS)
    out["binding"] = out["binding"].astype(bool)
    out["year"] = out["year"].astype("Int64")
    return out


@dataclass
class _Duals:
    """What a pricing function reads: the result, its programme and instance, row activities and
    duals, column duals, total spend per year and the words for objective changes."""

    result: Any
    lp: Any
    inst: Any
    value: np.ndarray
    dual: np.ndarray
    col_dual: np.ndarray
    spend: dict
    w: "Words"


#: The pricing functions (each family names its own in the registry, ``Family.prices``), in the
#: order their rows are listed: targets and money first, then the rules, capacity and limits.
PRICE_ORDER = ("_targets", "_budget", "_holder_limits", "_shares", "_transfers", "_capacity", "_stability",
               "_edge_shares", "_floors")


def _year_spend(result, lp, value) -> dict:
    """Total spend per year: the pooled budget rows' activity (every cost term counted)."""
    b = lp.constraints.get("pooled_budget")
    if b is not None and len(b):
        return dict(zip(b.index["year"], value[b.start:b.start + len(b)]))
    alloc = result.tables.get("allocation")
    return alloc.groupby("year")["spend"].sum().to_dict() if alloc is not None else {}


def _row(family, constraint, item, year, bound_type, bound, val, binding, dual, quantity, marginal, unit, text):
    return {"family": family, "constraint": constraint, "item": item, "year": year, "bound_type": bound_type,
            "bound": bound, "value": val, "binding": bool(binding), "dual": dual, "quantity": quantity,
            "marginal": marginal, "unit": unit, "words": text}


def _targets(d: "_Duals") -> list[dict]:
    lp, inst, value, dual, w = d.lp, d.inst, d.value, d.dual, d.w
    t = _block(lp, "outcome_target", value, dual)
    if t is None:
        return []
    units = inst.outcomes.set_index("outcome")["unit"].to_dict()
    out = []
    for r in t.itertuples(index=False):
        unit = units.get(r.outcome) or r.outcome
        at_hi, at_lo = bool(_close(r.value, r.upper)), bool(_close(r.value, r.lower))
        if at_hi and at_lo:  # an equality target: the dual's sign says which way it pushes
            side = "at_most" if (r.dual or 0) * (1 if lp.sense == "min" else -1) <= 0 else "at_least"
        elif at_hi or at_lo:
            side = "at_most" if at_hi else "at_least"
        else:
            side = "at_most" if math.isfinite(r.upper) else "at_least"
        binding = bool(at_hi if side == "at_most" else at_lo)
        bound = r.upper if side == "at_most" else r.lower
        name = f"the {r.year} {r.outcome} target ({side.replace('_', ' ')} {precise_number(bound)} {unit})"
        if binding:
            if side == "at_most":
                text = f"{name} binds: each {_singular(unit)} fewer {w.effect(-r.dual)}"
            else:
                text = f"{name} binds: each {_singular(unit)} more {w.effect(r.dual)}"
        else:
            text = f"{name} does not bind (the plan has {precise_number(r.value)}): tightening it a little {w.effect(0.0)}"
        out.append(_row("targets", "outcome_target", r.outcome, r.year, side, bound, r.value, binding, r.dual,
                        f"{side.replace('_', ' ')} target ({unit})", r.dual,
                        f"{w.unit} per {_singular(unit)}", text))
    return out


def _budget(d: "_Duals") -> list[dict]:
    lp, value, dual, w = d.lp, d.value, d.dual, d.w
    b = _block(lp, "pooled_budget", value, dual)
    if b is None:
        return []
    out = []
    for r in b.itertuples(index=False):
        binding = bool(_close(r.value, r.upper))
        name = f"the {r.year} pooled budget ({w.money(r.upper)})"
        if binding:
            text = (f"{name} binds: each {w.money(1)} more {w.effect(r.dual)} "
                    f"({w.effect(r.dual * 1e6)} per {w.money(1e6)})")
        else:
            text = f"{name} has {w.money(r.upper - r.value)} headroom: more budget {w.effect(0.0)}"
        out.append(_row("budget", "pooled_budget", "pooled budget", r.year, "at_most", r.upper, r.value, binding,
                        r.dual, f"budget ({w.currency})", r.dual, f"{w.unit} per {w.currency}", text))
    return out


def _holder_limits(d: "_Duals") -> list[dict]:
    """Holders' own budgets, pooled funds, ring fences and capitation: each pound more (or, for a
    ring fence's floor, less) and what it is worth."""
    lp, value, dual, w = d.lp, d.value, d.dual, d.w
    out = []
    for name, key, what in (("holder_budget", "holder", "the budget {} keeps"),
                            ("pooled_fund", "pooled_fund", "the {} pooled fund"),
                            ("ring_fence", "scope", "the {} limit"), ("capitation", "scope", "the {} capitated amount")):
        b = _block(lp, name, value, dual)
        if b is None:
            continue
        for r in b.itertuples(index=False):
            item = getattr(r, key)
            for side, bound in (("at_most", r.upper), ("at_least", r.lower)):
                if not np.isfinite(bound):
                    continue
                binding = bool(_close(r.value, bound))
                label = what.format(item) + f" in {r.year} ({'at most' if side == 'at_most' else 'at least'} "
                label += f"{w.money(bound)})"
                if binding:
                    more = "more" if side == "at_most" else "less"
                    text = f"{label} binds: each {w.money(1)} {more} {w.effect(r.dual if side == 'at_most' else -r.dual)}"
                else:
                    text = f"{label} has {w.money(abs(bound - r.value))} to spare"
                out.append(_row("budget", name, item, r.year, side, bound, r.value, binding, r.dual,
                                f"budget ({w.currency})", r.dual, f"{w.unit} per {w.currency}", text))
    return out


def _shares(d: "_Duals") -> list[dict]:
    """d objective / d s_t = dual_t x total spend_t (derivation in docs/formulation.md): raising the
    required share s_t by delta changes every coefficient of the row by -delta x spend coefficient,
    which to first order is the row's bound rising by delta x total spend."""
    lp, inst, value, dual, spend, w = d.lp, d.inst, d.value, d.dual, d.spend, d.w
    b = _block(lp, "shift_share", value, dual)
    if b is None:
        return []
    from formulations.shift_policy import share_trajectory

    out = []
    for p in inst.model.shift_policies:
        if p.kind != "share":
            continue
        req = share_trajectory(inst, p).set_index("year")["required_share"]
        rows = b[b["policy"] == p.name]
        sectors = "+".join(p.sectors)
        total = 0.0
        for r in rows.itertuples(index=False):
            s = float(req[r.year])
            t_spend = float(spend.get(r.year, np.nan))
            marginal = r.dual * t_spend * 0.01
            total += marginal * policy_fraction(inst, r.year, p.trajectory)
            binding = bool(_close(r.value, 0.0) or (abs(r.value) <= 1e-7 * max(1.0, t_spend)))
            name = f"the {p.name} rule ({sectors} at least {s:.2%} of spend in {r.year})"
            achieved = s + r.value / t_spend if t_spend else np.nan
            text = (f"{name} binds: each percentage point more {w.effect(marginal)}" if binding else
                    f"{name} does not bind ({sectors} has {achieved:.2%}): a point more {w.effect(0.0)}")
            out.append(_row("shift", "shift_share", p.name, r.year, "at_least", 100 * s, 100 * achieved, binding,
                            r.dual, "required share (percentage points)", marginal,
                            f"{w.unit} per percentage point", text))
        if len(rows):
            out.append(_row("shift", "shift_share", p.name, None, "increase_pp", p.increase_pp, None,
                            bool(np.any([o["binding"] for o in out if o["item"] == p.name])), None,
                            "policy increase (percentage points)", total, f"{w.unit} per percentage point",
                            f"raising the {p.name} increase by one point ({precise_number(p.increase_pp)} -> "
                            f"{precise_number(p.increase_pp + 1)} points by {inst.final_year}) {w.effect(total)}"))
    return out


def _transfers(d: "_Duals") -> list[dict]:
    """Moving X_t more: the 'from' row's upper bound falls by X_t and the 'to' row's lower bound
    rises by X_t, so d objective / d X_t = dual_to - dual_from."""
    lp, inst, value, dual, w = d.lp, d.inst, d.value, d.dual, d.w
    b = _block(lp, "shift_transfer", value, dual)
    if b is None:
        return []
    out = []
    for p in inst.model.shift_policies:
        if p.kind != "transfer":
            continue
        rows = b[b["policy"] == p.name]
        total = 0.0
        for year, g in rows.groupby("year"):
            fr = g[g["side"] == "from"].iloc[0]
            to = g[g["side"] == "to"].iloc[0]
            marginal = float(to["dual"] - fr["dual"])
            total += marginal * policy_fraction(inst, year, p.trajectory)
            moved = float(to["lower"] - inst.base_sector_spend()[p.to_sector])
            binding = bool(_close(fr["value"], fr["upper"]) or _close(to["value"], to["lower"]))
            name = f"the {p.name} transfer ({w.money(moved)} from {p.from_sector} to {p.to_sector} by {year})"
            text = (f"{name} binds: each {w.money(1)} more moved {w.effect(marginal)}" if binding else
                    f"{name} does not bind")
            out.append(_row("shift", "shift_transfer", p.name, int(year), "at_least", moved, None, binding,
                            marginal, f"amount moved ({w.currency})", marginal, f"{w.unit} per {w.currency}",
                            text))
        if len(rows):
            out.append(_row("shift", "shift_transfer", p.name, None, "amount", p.amount, None,
                            bool(np.any([o["binding"] for o in out if o["item"] == p.name])), None,
                            f"policy amount ({w.currency})", total, f"{w.unit} per {w.currency}",
                            f"moving {w.money(1)} more under {p.name} (of {w.money(p.amount)} by {inst.final_year}) "
                            f"{w.effect(total)}"))
    return out


def _capacity(d: "_Duals") -> list[dict]:
    """Capacity is the activity columns' bounds: the reduced cost at the active bound is the change
    in the objective per unit increase of that bound."""
    result, lp, inst, col_dual, w = d.result, d.lp, d.inst, d.col_dual, d.w
    act = lp.variables.get("activity")
    alloc = result.tables.get("allocation")
    if act is None or alloc is None or not len(act):
        return []
    a = act.index.reset_index(drop=True).assign(lower=act.lower, upper=act.upper, dual=col_dual[act.cols])
    a = a.merge(alloc[["service", "year", "activity"]], on=["service", "year"], how="left")
    units = inst.services["unit"].to_dict()
    out = []
    for r in a.itertuples(index=False):
        at_hi = bool(_close(r.activity, r.upper))
        at_lo = bool(r.lower > 0 and _close(r.activity, r.lower))
        if not (at_hi or at_lo):
            continue
        unit = units.get(r.service) or "unit"
        if at_hi:
            text = (f"{r.service} is at its {r.year} capacity ({precise_number(r.upper)} a year; unit: {unit}): "
                    f"each unit more capacity {w.effect(r.dual)}")
            out.append(_row("capacity", "capacity", r.service, r.year, "at_most", r.upper, r.activity, True,
                            r.dual, "capacity (units of activity)", r.dual, f"{w.unit} per unit of activity", text))
        else:
            text = (f"{r.service} is held at its {r.year} minimum ({precise_number(r.lower)} a year; unit: {unit}): "
                    f"each unit less {w.effect(-r.dual)}")
            out.append(_row("capacity", "capacity", r.service, r.year, "at_least", r.lower, r.activity, True,
                            r.dual, "minimum activity (units)", r.dual, f"{w.unit} per unit of activity", text))
    return out


def _previous_activity(result, inst) -> pd.Series:
    """activity[i, t-1] indexed by (service, t), the base year's being the baseline."""
    alloc = result.tables["allocation"][["service", "year", "activity"]]
    prev = alloc.assign(year=alloc["year"] + 1).set_index(["service", "year"])["activity"]
    base = inst.services["baseline_activity"]
    first = pd.Series(base.to_numpy(), index=pd.MultiIndex.from_arrays(
        [base.index, np.full(len(base), inst.base_year + 1)], names=["service", "year"]))
    return pd.concat([first, prev])


def _stability(d: "_Duals") -> list[dict]:
    """Growth row a_t - (1 + g) a_{t-1} <= 0: raising g by delta moves the bound by delta x a_{t-1},
    so d objective / d g = dual x a_{t-1} (per point: x 0.01). Shrink row a_t - (1 - h) a_{t-1} >= 0:
    raising h by delta lowers the bound by delta x a_{t-1}: d objective / d h = -dual x a_{t-1}."""
    result, lp, inst, value, dual, w = d.result, d.lp, d.inst, d.value, d.dual, d.w
    out = []
    prev = _previous_activity(result, inst)
    for name, col, sign, verb in (("growth_limit", "max_growth", 1.0, "grow"),
                                  ("shrink_limit", "max_shrink", -1.0, "shrink")):
        b = _block(lp, name, value, dual)
        if b is None:
            continue
        for svc, g in b.groupby("service", sort=False):
            limit = float(inst.services.loc[svc, col])
            total = 0.0
            for r in g.itertuples(index=False):
                a_prev = float(prev.get((svc, r.year), np.nan))
                marginal = sign * r.dual * a_prev * 0.01
                total += marginal
                bound = r.upper if sign > 0 else r.lower
                binding = bool(_close(r.value, bound))
                if not binding:
                    continue
                text = (f"{svc} may {verb} at most {limit:.1%} a year and the limit binds in {r.year}: "
                        f"one point more {'growth' if sign > 0 else 'shrinkage'} allowed {w.effect(marginal)} "
                        f"(each unit of activity {w.effect(sign * r.dual)})")
                out.append(_row("stability", name, svc, r.year, col, 100 * limit, None, True, r.dual,
                                f"{col.replace('_', ' ')} in {r.year} (percentage points)", marginal,
                                f"{w.unit} per percentage point", text))
            if (g["dual"].abs() > 1e-9).any():
                out.append(_row("stability", name, svc, None, col, 100 * limit, None, True, None,
                                f"{col.replace('_', ' ')} (percentage points, every year)", total,
                                f"{w.unit} per percentage point",
                                f"allowing {svc} to {verb} one point more a year ({limit:.1%} -> "
                                f"{limit + 0.01:.1%}) {w.effect(total)}"))
    return out


def _edge_shares(d: "_Duals") -> list[dict]:
    """Edge-share rows flow_e - m F >= 0 (or - M F <= 0), F the patients leaving the edge's node:
    raising m (or M) by delta moves the bound by delta x F, so d objective / d m = sum_s dual_s F_s."""
    result, lp, inst, value, dual, w = d.result, d.lp, d.inst, d.value, d.dual, d.w
    nodes = result.tables.get("nodes")
    if nodes is None:
        return []
    out_of = nodes.set_index(["pathway", "node", "segment", "year"])["outflow"]
    edges = inst.edges.set_index(["pathway", "from", "to"])
    out = []
    for name, side, col in (("edge_share_min", "at_least", "share_min"), ("edge_share_max", "at_most", "share_max")):
        b = _block(lp, name, value, dual)
        if b is None:
            continue
        b = b.assign(F=out_of.reindex(pd.MultiIndex.from_arrays(
            [b["pathway"], b["from"], b["segment"], b["year"]])).to_numpy())
        b["binding"] = _close(b["value"], 0.0) & (b["F"] > 1e-9)
        b["m"] = b["dual"] * b["F"] * 0.01
        for (pw, fr, to, year), g in b.groupby(["pathway", "from", "to", "year"], sort=False):
            if not g["binding"].any():
                continue
            share = float(edges.loc[(pw, fr, to), col])
            marginal = float(g["m"].sum())
            more = "more" if side == "at_most" else "less"
            delta = marginal if side == "at_most" else -marginal
            verb = "may" if side == "at_most" else "must"
            text = (f"{side.replace('_', ' ')} {share:.0%} of {fr} patients {verb} go to {to} ({pw}, {year}) binds: "
                    f"one point {more} {w.effect(delta)}")
            out.append(_row("pathways", name, f"{pw}: {fr} -> {to}", year, side, 100 * share, None, True,
                            float(g["dual"].sum()), "edge share bound (percentage points)", marginal,
                            f"{w.unit} per percentage point", text))
    return out


def _floors(d: "_Duals") -> list[dict]:
    """Floor row sum_k reduction <= 1 - floor + ...: d objective / d floor = -sum_s dual_s."""
    lp, inst, value, dual, w = d.lp, d.inst, d.value, d.dual, d.w
    b = _block(lp, "incidence_floor", value, dual)
    if b is None:
        return []
    b = b.assign(binding=_close(b["value"], b["upper"]))
    floors = inst.effect_targets.merge(inst.effects[["effect", "floor"]], on="effect").groupby(
        ["pathway", "node"])["floor"].max()
    out = []
    for (pw, node, year), g in b.groupby(["pathway", "node", "year"], sort=False):
        if not g["binding"].any():
            continue
        fl = float(floors.get((pw, node), np.nan))
        marginal = float(-g["dual"].sum() * 0.01)
        text = (f"incidence at {node} ({pw}) may not fall below {fl:.0%} of its baseline and this binds in {year}: "
                f"a floor one point lower {w.effect(-marginal)}")
        out.append(_row("prevention", "incidence_floor", f"{pw}: {node}", year, "floor", 100 * fl, None, True,
                        float(g["dual"].sum()), "incidence floor (percentage points)", marginal,
                        f"{w.unit} per percentage point", text))
    return out


# ====================================================================================== relaxation
def relax(result, *, weights: Mapping[str, float] | None = None, alone: bool = True,
          time_limit: float | None = None, threads: int | None = None) -> tuple[pd.DataFrame, dict]:
    """The smallest weighted relaxation (``scope == "together"``) and, with ``alone``, the smallest
    relaxation of each family on its own (``scope == "<family> alone"``) and the largest increase
    each share policy could have (``scope == "shift policy alone"``), with a summary."""
    lp, inst = result.lp, result.instance
    weights = check_weights(weights)
    words = Words(result)
    t0 = time.perf_counter()
    rb = relaxable_bounds(lp, inst)
    model = ElasticModel(lp, rb)
    frames, summary_lines = [], []
    together = model.solve(weights, time_limit=time_limit, threads=threads)
    alone_status: dict[str, Any] = {}
    if together.status == "relaxed":
        frames.append(_relaxation_rows("together", together, result, words))
        summary_lines.append("No plan meets everything. The smallest relaxation (weights: "
                             + ", ".join(f"{f} {_fmt_weight(weights[f])}" for f in FAMILIES) + "): "
                             + "; ".join(frames[-1]["words"]) + ".")
    elif together.status == "feasible":
        summary_lines.append("the relaxable bounds need not move: the instance has a plan "
                             "(the solver's infeasibility is a numerical edge case)")
    elif together.status == "impossible":
        fixed = [f for f in FAMILIES if not math.isfinite(weights[f])]
        summary_lines.append("No plan exists even when targets, budgets, shift rules, capacities and stability "
                             "limits" + (f" (except {', '.join(fixed)}, held fixed)" if fixed else "")
                             + " may all move: the conflict lies in the pathways, demand or prevention "
                             "data" + (" or in the whole-number choices (openings, minimum scale, teams)"
                                       if getattr(lp, "is_mip", False) else "")
                             + " (see the conflicting constraints)")
    else:
        summary_lines.append(f"the relaxation could not be solved ({together.message})")
    if alone:
        ors = []
        for fam in FAMILIES:
            if not math.isfinite(weights[fam]) or not (rb["family"] == fam).any():
                continue
            sol = model.solve({fam: 1.0}, families=[fam], time_limit=time_limit, threads=threads)
            alone_status[fam] = sol.status if sol.status != "relaxed" else float(sol.penalty)
            if sol.status == "relaxed":
                f = _relaxation_rows(f"{fam} alone", sol, result, words)
                frames.append(f)
                ors.append(f"{fam} alone: " + "; ".join(f["words"]))
            elif sol.status == "impossible":
                ors.append(f"{fam} alone cannot make a plan possible")
        if math.isfinite(weights["shift"]):
            for p in inst.model.shift_policies:
                if p.kind != "share":
                    continue
                best = largest_share_increase(lp, inst, p.name, time_limit=time_limit)
                if best is None or best >= p.increase_pp:
                    continue
                change = best - p.increase_pp
                text = (f"the {p.name} increase must fall by {precise_number(-change)} points, from {precise_number(p.increase_pp)} "
                        f"to {best:.2f} points by {inst.final_year} (the largest increase with a plan)")
                frames.append(pd.DataFrame([{
                    "scope": "shift policy alone", "family": "shift", "constraint": "shift_share", "item": p.name,
                    "year": None, "bound_type": "increase_pp", "bound": p.increase_pp, "change": change,
                    "relaxed_bound": best, "relative": change / p.increase_pp if p.increase_pp else np.nan,
                    "unit": "percentage points", "words": text}], columns=RELAXATION_COLUMNS))
                ors.append(text)
        if ors:
            summary_lines.append("Or, one family alone: " + " | ".join(ors) + ".")
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=RELAXATION_COLUMNS)
    table["year"] = table["year"].astype("Int64")
    summary = {
        "relaxation_status": together.status,
        "relaxation_penalty": together.penalty,
        "relaxed_plan_objective": together.objective,
        "relaxation_alone": alone_status,
        "relaxation_summary": summary_lines,
        "relaxation_seconds": time.perf_counter() - t0,
    }
    return table, summary


def _fmt_weight(w: float) -> str:
    return "off" if not math.isfinite(w) else f"{w:g}"


def _relaxation_rows(scope: str, sol, result, w: Words) -> pd.DataFrame:
    lp, inst = result.lp, result.instance
    rel = sol.relaxation
    rows = []
    x, act = sol.x, sol.row_activity
    spend_row = {}
    b = lp.constraints.get("pooled_budget")
    if b is not None:
        spend_row = dict(zip(b.index["year"], act[b.start:b.start + len(b)]))
    a = lp.variables.get("activity")
    act_of = {}
    if a is not None:
        act_of = dict(zip(zip(a.index["service"], a.index["year"]), x[a.cols]))
    units = inst.outcomes.set_index("outcome")["unit"].to_dict() if len(inst.outcomes) else {}
    for r in rel.itertuples(index=False):
        slack, bound, pct = float(r.slack), float(r.bound), float(r.relative)
        if r.kind == "col":
            key = a.index.iloc[int(r.pos)]
            svc, year = key["service"], int(key["year"])
            unit = inst.services.loc[svc, "unit"] or "units"
            if r.side == "upper":
                text = (f"the {year} capacity of {svc} must rise by {precise_number(slack)} ({_pct(slack, bound)}), "
                        f"from {precise_number(bound)} to {precise_number(bound + slack)}")
                rows.append(_rrow(scope, "capacity", "capacity", svc, year, "at_most", bound, slack, bound + slack,
                                  pct, unit, text))
            else:
                text = (f"the {year} minimum activity of {svc} must fall by {precise_number(slack)} ({_pct(slack, bound)}), "
                        f"from {precise_number(bound)} to {precise_number(bound - slack)}")
                rows.append(_rrow(scope, "capacity", "capacity", svc, year, "at_least", bound, -slack, bound - slack,
                                  pct, unit, text))
            continue
        block = lp.constraints[r.constraint]
        key = block.index.iloc[int(r.pos)]
        if r.constraint == "outcome_target":
            o, year = key["outcome"], int(key["year"])
            unit = units.get(o) or o
            up = r.side == "upper"
            said = _singular(unit) if precise_number(slack) == "1" else unit
            text = (f"the {year} {o} target must {'rise' if up else 'fall'} by {precise_number(slack)} {said} "
                    f"({_pct(slack, bound)}), from {'at most' if up else 'at least'} {precise_number(bound)} to "
                    f"{precise_number(bound + slack if up else bound - slack)}")
            rows.append(_rrow(scope, "targets", r.constraint, o, year, "at_most" if up else "at_least", bound,
                              slack if up else -slack, bound + slack if up else bound - slack, pct, unit, text))
        elif r.constraint == "pooled_budget":
            year = int(key["year"])
            text = (f"the {year} pooled budget must rise by {w.money(slack)} ({_pct(slack, bound)}), "
                    f"from {w.money(bound)} to {w.money(bound + slack)}")
            rows.append(_rrow(scope, "budget", r.constraint, "pooled budget", year, "at_most", bound, slack,
                              bound + slack, pct, w.currency, text))
        elif r.constraint in ("holder_budget", "pooled_fund", "ring_fence", "capitation"):
            year = int(key["year"])
            item = key["holder"] if r.constraint == "holder_budget" else key[
                "pooled_fund" if r.constraint == "pooled_fund" else "scope"]
            what = {"holder_budget": f"the budget {item} keeps", "pooled_fund": f"the {item} pooled fund",
                    "ring_fence": f"the {item} limit", "capitation": f"the {item} capitated amount"}[r.constraint]
            up = r.side == "upper"
            text = (f"{what} in {year} must {'rise' if up else 'fall'} by {w.money(slack)} ({_pct(slack, bound)}), "
                    f"from {w.money(bound)} to {w.money(bound + slack if up else bound - slack)}")
            rows.append(_rrow(scope, "budget", r.constraint, item, year, "at_most" if up else "at_least", bound,
                              slack if up else -slack, bound + slack if up else bound - slack, pct, w.currency, text))
        elif r.constraint == "shift_share":
            from formulations.shift_policy import share_trajectory

            pname, year = key["policy"], int(key["year"])
            p = next(q for q in inst.model.shift_policies if q.name == pname)
            s = float(share_trajectory(inst, p).set_index("year")["required_share"][year])
            total = float(spend_row.get(year, np.nan))
            drop = slack / total if total else np.nan  # exact for the relaxed plan: g/T >= s - slack/T
            digits = 2 if 100 * drop >= 0.01 else 4
            text = (f"the {pname} required {'+'.join(p.sectors)} share in {year} must fall by "
                    f"{precise_number(100 * drop)} points, from {100 * s:.{digits}f}% to {100 * (s - drop):.{digits}f}%")
            rows.append(_rrow(scope, "shift", r.constraint, pname, year, "at_least", 100 * s, -100 * drop,
                              100 * (s - drop), drop / s if s else np.nan, "percentage points", text))
        elif r.constraint == "shift_transfer":
            pname, side, year = key["policy"], key["side"], int(key["year"])
            p = next(q for q in inst.model.shift_policies if q.name == pname)
            sector = p.from_sector if side == "from" else p.to_sector
            text = (f"the {pname} transfer in {year} must be {w.money(slack)} smaller on the {sector} side "
                    f"({sector} spend {'may be higher' if side == 'from' else 'may be lower'} by {w.money(slack)})")
            rows.append(_rrow(scope, "shift", r.constraint, pname, year, f"{side} {sector}", bound,
                              slack if r.side == "upper" else -slack,
                              bound + slack if r.side == "upper" else bound - slack, pct, w.currency, text))
        elif r.constraint in ("growth_limit", "shrink_limit"):
            svc, year = key["service"], int(key["year"])
            grow = r.constraint == "growth_limit"
            col = "max_growth" if grow else "max_shrink"
            limit = float(inst.services.loc[svc, col])
            prev = float(act_of.get((svc, year - 1), inst.services.loc[svc, "baseline_activity"]))
            extra = slack / prev if prev > 0 else np.nan
            text = (f"{svc} must be allowed to {'grow' if grow else 'shrink'} by {precise_number(slack)} more units in {year}"
                    + (f" (a {limit + extra:.1%} {'growth' if grow else 'shrink'} limit instead of {limit:.1%})"
                       if np.isfinite(extra) else f" (its {col.replace('_', ' ')} is {limit:.1%} of nothing)"))
            rows.append(_rrow(scope, "stability", r.constraint, svc, year, col, 100 * limit,
                              100 * extra if np.isfinite(extra) else np.nan,
                              100 * (limit + extra) if np.isfinite(extra) else np.nan,
                              extra / limit if limit > 0 and np.isfinite(extra) else np.nan,
                              "percentage points", text))
    return pd.DataFrame(rows, columns=RELAXATION_COLUMNS)


def _rrow(scope, family, constraint, item, year, bound_type, bound, change, relaxed, relative, unit, words):
    return {"scope": scope, "family": family, "constraint": constraint, "item": item, "year": year,
            "bound_type": bound_type, "bound": bound, "change": change, "relaxed_bound": relaxed,
            "relative": relative, "unit": unit, "words": words}


def _pct(change: float, bound: float) -> str:
    return f"{abs(change) / abs(bound):.1%}" if bound else "from zero"


# ====================================================================================== conflict
def conflict_set(result, *, relaxation: pd.DataFrame | None = None,
                 time_limit: float | None = None) -> tuple[pd.DataFrame, dict]:
    """The conflicting constraints, named in instance terms: HiGHS's irreducible infeasible
    subset when it gives one, otherwise the bounds the smallest relaxation moved."""
    lp, inst = result.lp, result.instance
    sub = irreducible_subset(lp, time_limit=30.0 if time_limit is None else time_limit)
    rows = []
    if sub is not None:
        source = "HiGHS IIS" if sub.irreducible else "HiGHS infeasible subset"
        if sub.relaxed:
            source += " of the continuous relaxation"
        for row, side in sub.rows:
            block, pos = lp.row_block(row)
            rows.append(_conflict_row(lp, inst, block.name, block.index.iloc[pos], side,
                                      block.lower[pos], block.upper[pos], source, block.description))
        for col, side in sub.cols:
            block, pos = lp.col_block(col)
            rows.append(_conflict_row(lp, inst, block.name, block.index.iloc[pos], side,
                                      block.lower[pos], block.upper[pos], source, block.description, col=True))
        summary = {"conflict_source": source, "conflict_seconds": sub.seconds, "conflict_size": len(rows)}
    else:
        summary = {"conflict_source": "elastic relaxation", "conflict_size": 0}
        if relaxation is not None and len(relaxation):
            together = relaxation[relaxation["scope"] == "together"]
            for r in together.itertuples(index=False):
                what = r.words.split(" must ")[0]
                rows.append({"family": r.family, "constraint": r.constraint, "item": r.item, "keys": "",
                             "year": r.year, "side": r.bound_type, "bound": r.bound, "relaxable": True,
                             "words": f"{what} ({str(r.bound_type).replace('_', ' ')} {precise_number(r.bound)})",
                             "source": "elastic relaxation"})
            summary["conflict_size"] = len(rows)
    out = pd.DataFrame(rows, columns=CONFLICT_COLUMNS)
    out["year"] = out["year"].astype("Int64")
    return out, summary


def _conflict_row(lp, inst, name, key: pd.Series, side, lower, upper, source, description, col=False) -> dict:
    k = key.to_dict()
    year = int(k["year"]) if "year" in k and pd.notna(k.get("year")) else None
    keys = ", ".join(f"{a}={b}" for a, b in k.items())
    bound = lower if side == "lower" else upper if side == "upper" else lower
    if col:
        family = group_of(name)
        relaxable = name in COL_FAMILIES and (side == "upper" or lower > 0)
        item, text = _col_words(inst, name, k, side, lower, upper, description)
    else:
        family = group_of(name)
        relaxable = name in ROW_FAMILIES
        item, text = _row_words(inst, name, k, side, lower, upper, description)
    return {"family": family, "constraint": name, "item": item, "keys": keys, "year": year, "side": side,
            "bound": float(bound) if bound is not None and np.isfinite(bound) else np.nan, "relaxable": relaxable,
            "words": text, "source": source}


def _edge_share(inst, k):
    e = inst.edges
    hit = e[(e["pathway"] == k["pathway"]) & (e["from"] == k["from"]) & (e["to"] == k["to"])]
    return (float(hit["share_min"].iloc[0]), float(hit["share_max"].iloc[0])) if len(hit) else (np.nan, np.nan)


def _row_words(inst, name, k, side, lower, upper, description) -> tuple[str, str]:
    cur = inst.model.currency
    y = k.get("year")
    if name == "outcome_target":
        unit = inst.outcomes.set_index("outcome")["unit"].get(k["outcome"]) or ""
        parts = []
        if side in ("lower", "both") and np.isfinite(lower):
            parts.append(f"at least {precise_number(lower)}")
        if side in ("upper", "both") and np.isfinite(upper):
            parts.append(f"at most {precise_number(upper)}")
        return k["outcome"], f"the {y} {k['outcome']} target ({' and '.join(parts)} {unit})".replace(" )", ")")
    if name == "pooled_budget":
        return "pooled budget", f"the {y} pooled budget ({price(upper, cur)})"
    if name == "holder_budget":
        return k["holder"], f"{k['holder']}'s spend within what it keeps of its budget ({price(upper, cur)}) in {y}"
    if name == "pooled_fund":
        return k["pooled_fund"], f"draws on the {k['pooled_fund']} pooled fund within {price(upper, cur)} in {y}"
    if name in ("ring_fence", "capitation"):
        parts = ([f"at least {price(lower, cur)}"] if np.isfinite(lower) else []) + (
            [f"at most {price(upper, cur)}"] if np.isfinite(upper) else [])
        return k["scope"], f"the {k['scope']} spend {' and '.join(parts)} in {y}"
    if name == "shift_share":
        from formulations.shift_policy import share_trajectory

        p = next(q for q in inst.model.shift_policies if q.name == k["policy"])
        s = float(share_trajectory(inst, p).set_index("year")["required_share"][y])
        return k["policy"], f"the {k['policy']} rule: {'+'.join(p.sectors)} at least {s:.2%} of spend in {y}"
    if name == "shift_transfer":
        p = next(q for q in inst.model.shift_policies if q.name == k["policy"])
        if k["side"] == "from":
            return k["policy"], f"the {k['policy']} transfer: {p.from_sector} spend at most {price(upper, cur)} in {y}"
        return k["policy"], f"the {k['policy']} transfer: {p.to_sector} spend at least {price(lower, cur)} in {y}"
    if name in ("growth_limit", "shrink_limit"):
        col = "max_growth" if name == "growth_limit" else "max_shrink"
        lim = float(inst.services.loc[k["service"], col])
        verb = "grow" if name == "growth_limit" else "shrink"
        return k["service"], f"{k['service']} may {verb} at most {lim:.1%} a year ({y})"
    if name == "activity_covers_flows":
        unit = inst.services.loc[k["service"], "unit"] or "units"
        return k["service"], (f"{k['service']} must deliver the activity its pathway patients need plus "
                              f"{precise_number(lower)} ({unit}) of other demand ({y})")
    if name == "source_incidence":
        return f"{k['pathway']}: {k['node']}", (f"need arising at {k['node']} on the {k['pathway']} pathway "
                                                f"({k['segment']}, {y}), after prevention")
    if name == "flow_conservation":
        return f"{k['pathway']}: {k['node']}", (f"patients arriving at {k['node']} leave it ({k['pathway']}, "
                                                f"{k['segment']}, {y})")
    if name.startswith("edge_share"):
        lo, hi = _edge_share(inst, k)
        what = {"edge_share_fixed": f"{lo:.0%} of", "edge_share_min": f"at least {lo:.0%} of",
                "edge_share_max": f"at most {hi:.0%} of"}[name]
        return f"{k['pathway']}: {k['from']} -> {k['to']}", (f"{what} patients at {k['from']} go to {k['to']} "
                                                             f"({k['pathway']}, {k['segment']}, {y})")
    if name == "prevention_response":
        return k["effect"], f"the {k['effect']} response curve (piece {int(k['piece']) + 1}) in {y}"
    if name == "incidence_floor":
        return f"{k['pathway']}: {k['node']}", (f"incidence at {k['node']} ({k['pathway']}, {k['segment']}) "
                                                f"not below its floor in {y}")
    if name == "prevention_cohort_response":
        return k["effect"], (f"the {k['effect']} response curve (piece {int(k['piece']) + 1}) for the "
                             f"activity of {k['cohort_year']}")
    if name == "prevention_persistence":
        return k["effect"], (f"the {k['effect']} reduction in {y} within what earlier years' activity delivers "
                             f"(its ramp and persistence)")
    if name == "step_capacity":
        return k["service"], f"{k['service']} activity within the steps (wards, teams) in use in {y}"
    if name == "step_closure_lag":
        return k["service"], (f"{k['service']} steps still paid for in {y} after their last year in use "
                              f"({k['in_use_year']}; the closure lag)")
    if name == "block_payment":
        return k["service"], f"{k['service']}'s block payment in {y}: the block value moved by the steps paid for"
    keys = ", ".join(f"{a} {b}" for a, b in k.items())
    return keys, f"{description or name} ({keys})"


def _col_words(inst, name, k, side, lower, upper, description) -> tuple[str, str]:
    y = k.get("year")
    if name == "activity":
        unit = inst.services.loc[k["service"], "unit"] or "units"
        if side in ("upper", "both") and np.isfinite(upper):
            return k["service"], f"{k['service']} capacity: at most {precise_number(upper)} ({unit}) in {y}"
        if lower > 0:
            return k["service"], f"{k['service']} minimum: at least {precise_number(lower)} ({unit}) in {y}"
        return k["service"], f"{k['service']} activity cannot be negative ({y})"
    if name == "flow":
        return (f"{k['pathway']}: {k['from']} -> {k['to']}",
                f"patients from {k['from']} to {k['to']} cannot be negative ({k['pathway']}, {k['segment']}, {y})")
    if name == "reduction":
        if side == "upper":
            return k["effect"], f"{k['effect']} cannot cut incidence by more than {upper:.1%} ({y})"
        return k["effect"], f"{k['effect']}'s reduction cannot be negative ({y})"
    keys = ", ".join(f"{a} {b}" for a, b in k.items())
    return keys, f"{description or name} ({keys}) {side} bound"


def conflict_groups(conflict: pd.DataFrame) -> pd.DataFrame:
    """The conflict set for reading: relaxable members one by one, the structural rows (pathways,
    demand, prevention) counted per constraint and year."""
    if not len(conflict):
        return conflict.assign(count=pd.Series(dtype=int))
    own = conflict[conflict["relaxable"].astype(bool)].assign(count=1)
    rest = conflict[~conflict["relaxable"].astype(bool)]
    groups = []
    labels = rows_labels()
    for (name, year), g in rest.groupby(["constraint", "year"], sort=False, dropna=False):
        items = sorted(set(g["item"]))
        shown = ", ".join(items[:4]) + (f", ... ({len(items)} in all)" if len(items) > 4 else "")
        if len(g) == 1:
            text = g["words"].iloc[0]
        else:
            text = f"{len(g)} {labels.get(name, name)} rows ({shown})" + (f" in {year}" if pd.notna(year) else "")
        groups.append({**g.iloc[0].to_dict(), "item": shown, "keys": "", "words": text, "count": len(g)})
    return pd.concat([own, pd.DataFrame(groups)], ignore_index=True) if groups else own
