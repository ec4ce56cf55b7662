"""An independent, deliberately plain reference formulation of the budgetshift MIP.

``reference_solve_mip(data)`` extends tests/reference_lp.py (whose helpers it reuses) with the
mixed-integer features, built by hand from the RAW instance mapping and solved with
``scipy.optimize.milp`` (HiGHS) at a relative gap of 0. It shares no code with ``optimiser``
or ``formulations`` and exists only to cross-check them (tests/test_mip_crosscheck.py).

Semantics (stated independently of the product code):

* ``opening``: open[t] in {0, 1}, non-decreasing over the planning years, 0 before
  ``earliest_year`` (default: the first planning year) and "0 before the first planning year";
  activity is 0 while closed, ``capacity.min`` only applies once open, baseline activity is 0.
  Spend adds ``opening_cost`` in the year it opens and ``running_cost[t]`` in each open year.
  The growth limit does not apply in the year of opening and applies normally afterwards.
  Here that is written as ``a[t] - (1+g) a[t-1] <= U[t] * (1 - open[t-1])`` (the limit is
  switched off unless the service was already open the year before).
* ``minimum_scale`` m: a[t] = 0 or a[t] >= m, via on[t] in {0,1}: m on <= a <= U on.
* ``teams``: teams[t] integer in [0, max_teams], a[t] <= activity_per_team * teams[t],
  spend adds cost_per_team[t] * teams[t].
* ``limits.max_openings_per_year`` k: sum_i (open[i,t] - open[i,t-1]) <= k.
* Spend including the extras is what the pooled budget, the shift policies and the min_cost
  objective use. A ``driver: spend`` prevention curve still reads unit_cost x activity (as in the
  LP reference; the extras are fixed costs, not delivered activity).
* A prevention curve that is not concave, or has ``response_model: exact``, holds exactly:
  reduction = g(x), written with the *incremental* (delta) method over the curve's pieces plus
  a flat tail up to the driver's bound (U x cost for a spend driver). Concave curves with
  ``response_model: auto`` keep the LP hypograph of the LP reference.

Cost behaviour, contract form and transition costs (written from docs/formulation.md "Cost
behaviour and contract form" and "Transition costs and the cash-flow view"; cross-checked in
tests/test_cash_crosscheck.py):

* Spend (budgets, shift policies, scopes, objective) is the commissioner's payment: price[t] x a[t]
  for an activity contract (price default unit_cost[t]; no contract = activity at the unit cost);
  for a block, block_value[t] (default unit_cost[t] x baseline) + step_cost[t] x (P[t] - N0) when
  the provider's cost has steps; for capitation, per_head[t] x the covered segments' population[t].
  The constants ride on a column fixed at 1.
* Block steps only: N[t] integer >= 0 with a[t] <= capacity x N[t]; P[t] >= N[s] for every s in
  [t - lag, t] after the base year, and P[t] >= N0 (baseline_steps, default ceil(baseline /
  capacity)) when t - lag reaches the base year. Steps of other contracts change no cash of the
  commissioner's, so they are not in the model.
* Set-up: su[t] >= setup_cost[t] x (a[t] - a[t-1]), a[base] = baseline, su >= 0. A fund gives
  fp[i, t] in [0, su[i, t]] (0 outside its years), sum_i fp[i, t] <= per_year[t], sum fp <= total.
  Budget rows add su - fp; the min_cost objective adds su (discounted); shift rows neither.

U[t] (a bound on activity) is min(capacity.max[t], pooled[t] / unit_cost[t],
activity_per_team * max_teams): each is implied by the other constraints, so it is a valid
big-M.

Budget holders, places, ring fences, capitation and equity (written from docs/formulation.md
"Budget holders and pooling", "Spend attributable to a group; ring fences and capitation",
"Equity across places" and the instance-format tables, not from the product code;
cross-checked in tests/test_reference_holdings.py):

* ``budget.holders``: each service is held by the holder that names it under ``services``, else
  by the holder whose ``sectors`` contain its sector. The pool B[t] is the sum of the holders'
  budgets (``budget.pooled`` is then absent); it is also the B[t] of the big-M above.
  ``arrangement: pooled`` (default): the one pooled row sum_i spend[i,t] <= B[t], funds ignored.
  ``siloed``: sum_{i held by h} spend[i,t] <= B[h,t] per holder (funds ignored; no pooled row:
  it is the sum of these). ``partial``: a member h of a fund (a key of its ``contributions``,
  share c_h, possibly 0) gets draw[h,t] >= 0 with
  spend_h[t] - draw[h,t] <= (1 - c_h) B[h,t] and sum_{h in fund} draw[h,t] <= sum c_h B[h,t];
  a holder in no fund is siloed. Spend is the full spend with the mixed-integer extras.
* A *scope* (ring fence, capitation, place) has segments S = ``segments`` U the segments whose
  ``place`` is one of ``places``; whole services W = ``services`` U the services whose ``place``
  is one of ``places``; sectors = ``sectors`` or every sector when absent. Its attributable
  spend is sum_{i in W} spend[i,t] (full spend, extras included, *whatever the sector*: the
  sectors filter pathway use only, as the field's description says) plus, for every other
  service i in the sectors, unit_cost[i,t] x sum over the care nodes n of i (all pathways) of
  units_per_patient[n] x patients arriving at n from segments in S. Non-pathway activity and
  activity above what the pathways need are attributable to no group.
* Ring fence: at_least[t] <= spend_g[t] <= at_most[t] in its ``years`` (default all).
* Capitation: spend_g[t] <= per_head[t] x sum_{s in S} pop[s,t]. With ``by_place``: one row per
  declared place p that holds at least one segment of S ("each place's share of the segments"),
  over S_p = {s in S with place p} and W_p = {i in W located in p}, capped at
  per_head[t] x pop(S_p). Services of W located in a place that holds none of S are then in no
  row (the docs leave this open; validation rejects segments and services without a place in a
  ``by_place`` scope, so that case does not arise).
* Equity, for the compared places (``places``, default all declared): the measure m[p,t] is the
  attributable spend of the place as a scope (its segments, its own services whole, every sector;
  a scope defined by places never counts use of services located in other places)
  / pop[p,t] for ``spend_per_head``, or 1000 x the outcome counted over the place's segments only
  / pop[p,t] for ``outcome_rate``. Written pairwise (not with hi / lo variables as the docs
  state it; the same feasible set): m[p,t] <= max_ratio x m[q,t] and
  m[p,t] - m[q,t] <= max_gap for every ordered pair p != q, in the rule's ``years``.

Lasting prevention effects, terminal value and attribution (written from docs/formulation.md
"Lasting prevention effects", "Terminal value" and "Spend attributable to a group", not from the
product code; cross-checked in tests/test_lasting_effects.py):

* An effect with ``ramp``, ``persistence`` or ``duration`` other than the one-year pulse, or any
  effect when ``horizon.terminal_value`` is set, is *lasting*: each planning year tau has a cohort
  response c[k,tau] <= g(x_tau) (hypograph; = exactly for exact curves) and in every year t (planning
  years, then the terminal years) that some cohort acts in, red[k,t] <= g0 + sum_tau p(t - tau)
  (c[k,tau] - g0) (= for exact curves); red feeds the source balance and the floor exactly as a
  pulse effect's does. The floor also holds in the terminal years.
* Terminal value (min_cost only here): the objective subtracts sum over terminal years u of
  d_u x (final-year need at each source and segment of the effect) x value per case x (red - g0).
* ``attribution`` on a service: a scope also counts, for every such service it does not count whole
  (and in its sectors, not located in another of its places), the sum over its segments of the
  service's shares times (spend - unit cost x units used by all pathway patients at its care nodes).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from .reference_lp import LP, add_to, curve_value, share_bounds, year_values


class MIP(LP):
    """The reference LP container plus integrality; solved with scipy.optimize.milp."""

    def __init__(self):
        super().__init__()
        self.integer = []

    def var(self, key, lb=0.0, ub=None, integer=False):
        col = super().var(key, lb, ub)
        self.integer.append(1 if integer else 0)
        return col

    def solve(self):
        constraints = []
        a_ub, b_ub = self._matrix(self.ub_rows)
        if a_ub is not None:
            constraints.append(LinearConstraint(a_ub, -np.inf, b_ub))
        a_eq, b_eq = self._matrix(self.eq_rows)
        if a_eq is not None:
            constraints.append(LinearConstraint(a_eq, b_eq, b_eq))
        lower = np.array(self.lower, dtype=float)
        upper = np.array([np.inf if u is None else u for u in self.upper], dtype=float)
        return milp(np.array(self.cost), integrality=np.array(self.integer), bounds=Bounds(lower, upper),
                    constraints=constraints, options={"mip_rel_gap": 0.0, "presolve": True})


def is_concave(points) -> bool:
    slopes = [(y1 - y0) / (x1 - x0) for (x0, y0), (x1, y1) in zip(points, points[1:])]
    return all(b <= a + 1e-12 for a, b in zip(slopes, slopes[1:]))


# ----------------------------------------------------------------------------- the model

def reference_solve_mip(data: dict) -> tuple[str, float | None]:
    """Status ('optimal', 'infeasible', 'unbounded') and, when optimal, the objective."""
    status, objective, _, _ = reference_plan(data)
    return status, objective


def reference_plan(data: dict):
    """(status, objective, x, probe): x the optimal column values (None unless optimal); probe a
    mapping of helpers reading the model's expressions as coefficient dicts (col -> value):
    ``attributable(segments, whole_services, sectors, t)``, ``place_measure(rule, place, t)``,
    ``head_count(segments, t)``, ``years``. Used by tests/random_holding_instances.py to set
    limits around an optimal plan."""
    lp, sense, probe = _build_reference(data)
    res = lp.solve()
    if res.status == 0:
        return "optimal", sense * (float(res.fun) + getattr(lp, "constant", 0.0)), np.asarray(res.x), probe
    if res.status == 2:
        return "infeasible", None, None, probe
    if res.status == 3:
        return "unbounded", None, None, probe
    raise RuntimeError(f"milp failed: status {res.status}: {res.message}")


def evaluate(coeffs: dict, x) -> float:
    return float(sum(v * x[c] for c, v in coeffs.items()))


def _build_reference(data: dict):
    horizon = data["horizon"]
    base = int(horizon["base_year"])
    n_years = int(horizon.get("years", 5))
    rate = float(horizon.get("discount_rate", 0.035))
    years = [base + k for k in range(1, n_years + 1)]
    all_years = [base] + years
    final = years[-1]
    discount = {t: (1.0 + rate) ** -(t - base) for t in years}

    segment_names = [s["name"] for s in data["segments"]]
    population = {s["name"]: year_values(s["population"], years, base) for s in data["segments"]}

    services = {s["name"]: s for s in data["services"]}
    service_names = [s["name"] for s in data["services"]]
    unit_cost = {i: year_values(services[i]["unit_cost"], all_years, base) for i in service_names}
    baseline = {i: float(services[i]["baseline_activity"]) for i in service_names}
    sector_of = {i: services[i]["sector"] for i in service_names}
    base_spend = {i: baseline[i] * unit_cost[i][base] for i in service_names}
    holders = data["budget"].get("holders") or []
    if holders:
        holder_budget = {h["name"]: year_values(h["budget"], years, base) for h in holders}
        pooled = {t: sum(holder_budget[h["name"]][t] for h in holders) for t in years}
    else:
        pooled = year_values(data["budget"]["pooled"], years, base)

    lp = MIP()

    # --- activity a[i, t] with capacity bounds, and a big-M bound U[i][t] on it
    bound = {}
    for i in service_names:
        svc = services[i]
        cap = svc.get("capacity") or {}
        cap_min = year_values(cap.get("min", 0.0), years, base)
        cap_max = year_values(cap.get("max"), years, base) if cap.get("max") is not None else None
        opens = svc.get("opening") is not None
        teams = svc.get("teams")
        bound[i] = {}
        for t in years:
            u = math.inf
            if cap_max is not None:
                u = min(u, cap_max[t])
            if unit_cost[i][t] > 0:
                u = min(u, pooled[t] / unit_cost[i][t])
            if teams is not None and teams.get("max_teams") is not None:
                u = min(u, float(teams["activity_per_team"]) * int(teams["max_teams"]))
            bound[i][t] = u
            # a service with `opening` has lower bound 0; capacity.min applies once open (below)
            lp.var(("a", i, t), lb=0.0 if opens else cap_min[t],
                   ub=None if cap_max is None else cap_max[t])

    def big_m(i, t):
        u = bound[i][t]
        assert math.isfinite(u), f"no finite bound on the activity of {i} in {t}"
        return u

    # --- openings: open[i, t] binary, non-decreasing, 0 before earliest_year
    opening_services = [i for i in service_names if services[i].get("opening") is not None]
    running = {}
    for i in opening_services:
        op = services[i]["opening"]
        earliest = op.get("earliest_year")
        earliest = years[0] if earliest is None else int(earliest)
        running[i] = year_values(op.get("running_cost", 0.0), years, base)
        cap = services[i].get("capacity") or {}
        cap_min = year_values(cap.get("min", 0.0), years, base)
        for t in years:
            o = lp.var(("open", i, t), lb=0.0, ub=0.0 if t < earliest else 1.0, integer=True)
            a = lp.col(("a", i, t))
            lp.le({a: 1.0, o: -big_m(i, t)}, 0.0)             # closed -> no activity
            if cap_min[t] > 0:
                lp.ge({a: 1.0, o: -cap_min[t]}, 0.0)           # open -> at least capacity.min
            if t > years[0]:
                lp.le({lp.col(("open", i, t - 1)): 1.0, o: -1.0}, 0.0)   # never closes

    def opened_coeffs(i, t, factor=1.0):
        """Coefficients of opened[i, t] = open[i, t] - open[i, t-1] (open before the plan = 0)."""
        coeffs = {lp.col(("open", i, t)): factor}
        if t > years[0]:
            add_to(coeffs, lp.col(("open", i, t - 1)), -factor)
        return coeffs

    limit = (data.get("limits") or {}).get("max_openings_per_year")
    if limit is not None and opening_services:
        for t in years:
            coeffs = {}
            for i in opening_services:
                for col, v in opened_coeffs(i, t).items():
                    add_to(coeffs, col, v)
            lp.le(coeffs, float(limit))

    # --- minimum scale: on[i, t] binary; m on <= a <= U on
    for i in service_names:
        m = services[i].get("minimum_scale")
        if m is None:
            continue
        for t in years:
            on = lp.var(("on", i, t), lb=0.0, ub=1.0, integer=True)
            a = lp.col(("a", i, t))
            lp.ge({a: 1.0, on: -float(m)}, 0.0)
            lp.le({a: 1.0, on: -big_m(i, t)}, 0.0)

    # --- teams: integer teams[i, t]; a <= per_team * teams
    team_cost = {}
    for i in service_names:
        teams = services[i].get("teams")
        if teams is None:
            continue
        team_cost[i] = year_values(teams.get("cost_per_team", 0.0), years, base)
        mx = teams.get("max_teams")
        for t in years:
            n = lp.var(("teams", i, t), lb=0.0, ub=None if mx is None else float(mx), integer=True)
            lp.le({lp.col(("a", i, t)): 1.0, n: -float(teams["activity_per_team"])}, 0.0)

    # --- cost behaviour, contract form, transition costs, transformation fund
    contract = {i: services[i].get("contract") for i in service_names}
    form = {i: (contract[i] or {}).get("form", "activity") for i in service_names}
    price = {i: year_values(contract[i]["price"], years, base) if (contract[i] or {}).get("price") is not None
             else {t: unit_cost[i][t] for t in years} for i in service_names}
    fixed_payment = {}      # i -> {t: the block value or the capitated amount}
    for i in service_names:
        if form[i] == "block":
            bv = contract[i].get("block_value")
            fixed_payment[i] = year_values(bv, years, base) if bv is not None else \
                {t: unit_cost[i][t] * baseline[i] for t in years}
        elif form[i] == "capitation":
            covered = contract[i].get("segments") or segment_names
            ph = year_values(contract[i]["per_head"], years, base)
            fixed_payment[i] = {t: ph[t] * sum(population[sg][t] for sg in covered) for t in years}
    # base-year spend (the share rule's and transfer policies' starting point) is what the base year's
    # baseline activity was paid: price x baseline, the block value, per head x covered base population
    for i in service_names:
        c_i = contract[i] or {}

        def at_base(v):
            if isinstance(v, dict) and "value" not in v:   # by year: the base year's, else the earliest stated
                by_year = {int(k): float(x) for k, x in v.items()}
                return by_year.get(base, by_year[min(by_year)])
            return year_values(v, [base], base)[base]

        if form[i] == "activity" and c_i.get("price") is not None:
            base_spend[i] = baseline[i] * at_base(c_i["price"])
        elif form[i] == "block" and c_i.get("block_value") is not None:
            base_spend[i] = at_base(c_i["block_value"])
        elif form[i] == "capitation":
            covered = c_i.get("segments") or segment_names
            heads = sum(year_values(next(s["population"] for s in data["segments"] if s["name"] == sg), [base], base)[base]
                        for sg in covered)
            base_spend[i] = at_base(c_i["per_head"]) * heads
    one = lp.var(("one",), lb=1.0, ub=1.0) if fixed_payment else None   # carries the constants
    block_steps = {}        # i -> (capacity, cost per year, lag, base-year steps)
    for i in service_names:
        steps = ((services[i].get("cost_behaviour") or {}).get("steps"))
        if form[i] != "block" or steps is None:
            continue
        cap = float(steps["capacity"])
        n0 = steps.get("baseline_steps")
        n0 = math.ceil(baseline[i] / cap - 1e-9) if n0 is None else int(n0)
        lag = int(steps.get("closure_lag", 1))
        block_steps[i] = (cap, year_values(steps["cost"], years, base), lag, n0)
        for t in years:
            n = lp.var(("steps", i, t), lb=0.0, integer=True)
            lp.le({lp.col(("a", i, t)): 1.0, n: -cap}, 0.0)
        for t in years:
            paid = lp.var(("paid", i, t), lb=0.0)
            for back in range(lag + 1):
                y = t - back
                if y > base:
                    lp.ge({paid: 1.0, lp.col(("steps", i, y)): -1.0}, 0.0)
                else:
                    lp.ge({paid: 1.0}, float(n0))
                    break
    setup = {i: year_values(services[i]["transition"]["setup_cost"], years, base)
             for i in service_names if services[i].get("transition") is not None}
    fund = data.get("transformation_fund")
    for i, e in setup.items():
        for t in years:
            su = lp.var(("setup", i, t), lb=0.0)
            coeffs = {su: 1.0, lp.col(("a", i, t)): -e[t]}
            if t > years[0]:
                lp.ge({**coeffs, lp.col(("a", i, t - 1)): e[t]}, 0.0)
            else:
                lp.ge(coeffs, -e[t] * baseline[i])
    if fund is not None and setup:
        fyears = years if fund.get("years", "all") == "all" else [t for t in years if t in fund["years"]]
        for i in setup:
            for t in years:
                fp = lp.var(("fund", i, t), lb=0.0, ub=None if t in fyears else 0.0)
                lp.le({fp: 1.0, lp.col(("setup", i, t)): -1.0}, 0.0)
        if fund.get("per_year") is not None:
            per_year = year_values(fund["per_year"], years, base)
            for t in fyears:
                lp.le({lp.col(("fund", i, t)): 1.0 for i in setup}, per_year[t])
        if fund.get("total") is not None:
            lp.le({lp.col(("fund", i, t)): 1.0 for i in setup for t in years}, float(fund["total"]))

    def transition_coeffs(service_list, t, coeffs, with_fund=True):
        """Adds the set-up costs (less what the fund pays, for a budget) of ``service_list``."""
        for i in service_list:
            if i in setup:
                add_to(coeffs, lp.col(("setup", i, t)), 1.0)
                if with_fund and fund is not None:
                    add_to(coeffs, lp.col(("fund", i, t)), -1.0)
        return coeffs

    def spend_coeffs(service_list, t, factor=1.0):
        coeffs = {}
        for i in service_list:
            if form[i] == "activity":
                add_to(coeffs, lp.col(("a", i, t)), factor * price[i][t])
            else:
                constant = fixed_payment[i][t]
                if i in block_steps:
                    _, step_cost, _, n0 = block_steps[i]
                    add_to(coeffs, lp.col(("paid", i, t)), factor * step_cost[t])
                    constant -= step_cost[t] * n0
                add_to(coeffs, one, factor * constant)
            if i in team_cost:
                add_to(coeffs, lp.col(("teams", i, t)), factor * team_cost[i][t])
            if i in running:
                add_to(coeffs, lp.col(("open", i, t)), factor * running[i][t])
                oc = float(services[i]["opening"].get("opening_cost", 0.0))
                for col, v in opened_coeffs(i, t, factor * oc).items():
                    add_to(coeffs, col, v)
        return coeffs

    # --- pathways: flows f[p, (from, to), s, t]
    pathways = {p["name"]: p for p in data.get("pathways") or []}
    path_segments = {}
    node_info = {}          # (p, n) -> node dict
    out_edges = {}          # (p, n) -> [(from, to)]
    in_edges = {}           # (p, n) -> [(from, to)]
    for pname, p in pathways.items():
        segs = p.get("segments")
        path_segments[pname] = list(segs) if segs is not None else list(segment_names)
        for node in p["nodes"]:
            node_info[(pname, node["name"])] = node
            out_edges[(pname, node["name"])] = []
            in_edges[(pname, node["name"])] = []
        for e in p["edges"]:
            key = (e["from"], e["to"])
            out_edges[(pname, e["from"])].append(key)
            in_edges[(pname, e["to"])].append(key)
            for s in path_segments[pname]:
                for t in years:
                    lp.var(("f", pname, key, s, t))

    def case_cost(pname, source):
        """Expected care cost of one case arising at ``source`` (docs/formulation.md, "Terminal
        value"): a cohort of one patient follows the routing (fixed shares as given; a node's
        ranged edges spread the room left after their minimums in proportion to their ranges),
        passed on node by node until less than 1e-14 of it is left, each arrival at a care node
        paying units per patient x its final-year unit cost."""
        p = pathways[pname]
        info = {nd["name"]: nd for nd in p["nodes"]}
        routes = {}
        for e in p["edges"]:
            routes.setdefault(e["from"], []).append((e["to"],) + tuple(share_bounds(e["share"])))
        split = {}
        for frm, outs in routes.items():
            spare = 1.0 - sum(lo for _, lo, _ in outs)
            widths = sum(hi - lo for _, lo, hi in outs)
            split[frm] = [(to, lo + (spare * (hi - lo) / widths if widths > 0 else 0.0)) for to, lo, hi in outs]
        cohort, total = {source: 1.0}, 0.0
        for _ in range(1_000_000):
            if not cohort:
                break
            for nm, people in cohort.items():
                nd = info[nm]
                if nd["kind"] == "care":
                    upp = nd.get("units_per_patient")
                    total += people * (1.0 if upp is None else float(upp)) * unit_cost[nd["service"]][final]
            moved = {}
            for nm, people in cohort.items():
                for to, sh in split.get(nm, []):
                    moved[to] = moved.get(to, 0.0) + people * sh
            cohort = {nm: v for nm, v in moved.items() if v > 1e-14}
        return total

    def flow_sum(pname, edges, s, t, coeffs, factor=1.0):
        for key in edges:
            add_to(coeffs, lp.col(("f", pname, key, s, t)), factor)

    # --- prevention effects: red[k, t] for the years where t - lag > base (one-year pulse), or, for
    # lasting effects, the years some planning-year cohort acts in (up to the terminal years)
    effects = data.get("prevention_effects") or []
    tv_spec = horizon.get("terminal_value")
    tv_years = [final + k for k in range(1, int(tv_spec["years"]) + 1)] if tv_spec else []
    effect_base = {}        # k -> g_k(x_base)
    effect_active_years = {}
    effect_curve_max = {}

    def profile(eff, d):
        """Weight of a cohort's full effect d years after its activity (docs/formulation.md,
        "Lasting prevention effects"), by listing the effect's years in turn: nothing for `lag`
        years; the ramp's fractions (1 without a ramp); then each further year the year before's
        weight x persistence (1 when only a duration is given, 0 when neither: the one-year pulse);
        the list ends `duration` years after the effect starts (never, without one)."""
        if d < 0:
            return 0.0
        lag = int(eff.get("lag", 1))
        duration = eff.get("duration")
        keep = eff.get("persistence")
        keep = float(keep) if keep is not None else (1.0 if duration is not None else 0.0)
        weights = [0.0] * lag
        for w in eff.get("ramp") or [1.0]:
            weights.append(float(w))
        while len(weights) <= d:
            weights.append(weights[-1] * keep)
        if duration is not None:
            weights = weights[:lag + int(duration)]
        return weights[d] if d < len(weights) else 0.0

    def is_lasting(eff):
        if tv_spec:
            return True
        return any(profile(eff, d) != (1.0 if d == int(eff.get("lag", 1)) else 0.0)
                   for d in range(0, len(years) + 60))

    def curve_rows(k, r, i, driver_year, x_coef, points, exact, tag):
        """r <= g(x) (concave, auto) or r = g(x) (exact, incremental method) for x = x_coef a[i, y]."""
        a_col = lp.col(("a", i, driver_year))
        if not exact:
            for (x0, y0), (x1, y1) in zip(points, points[1:]):
                slope = (y1 - y0) / (x1 - x0)
                coeffs = {r: 1.0}
                add_to(coeffs, a_col, -slope * x_coef)
                lp.le(coeffs, y0 - slope * x0)
            return
        # exact: incremental method. Pieces j = 0..n-1 of lengths L_j and slopes s_j, plus a
        # flat tail up to the driver's bound; x = sum delta_j, red = sum s_j delta_j,
        # full_j binary: delta_j >= L_j full_j and delta_{j+1} <= L_{j+1} full_j.
        x_max = big_m(i, driver_year) * x_coef
        pieces = []
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            pieces.append((x1 - x0, (y1 - y0) / (x1 - x0)))
        if x_max > points[-1][0]:
            pieces.append((x_max - points[-1][0], 0.0))
        x_row = {a_col: -x_coef}
        r_row = {r: -1.0}
        deltas = []
        for j, (length, slope) in enumerate(pieces):
            d = lp.var(("delta", tag, k, driver_year, j), lb=0.0, ub=length)
            deltas.append(d)
            x_row[d] = 1.0
            r_row[d] = slope
        lp.eq(x_row, 0.0)
        lp.eq(r_row, 0.0)
        for j in range(len(pieces) - 1):
            full = lp.var(("full", tag, k, driver_year, j), lb=0.0, ub=1.0, integer=True)
            lp.ge({deltas[j]: 1.0, full: -pieces[j][0]}, 0.0)
            lp.le({deltas[j + 1]: 1.0, full: -pieces[j + 1][0]}, 0.0)

    for eff in effects:
        k = eff["name"]
        i = eff["service"]
        lag = int(eff.get("lag", 1))
        driver = eff.get("driver", "activity")
        points = [(float(x), float(y)) for x, y in eff["response"]]
        x_base = baseline[i] if driver == "activity" else baseline[i] * unit_cost[i][base]
        effect_base[k] = curve_value(points, x_base)
        effect_curve_max[k] = points[-1][1]
        exact = eff.get("response_model", "auto") == "exact" or not is_concave(points)
        if not is_lasting(eff):
            effect_active_years[k] = [t for t in years if t - lag > base]
            for t in effect_active_years[k]:
                r = lp.var(("red", k, t), lb=0.0, ub=points[-1][1])   # flat beyond the last point
                driver_year = t - lag
                curve_rows(k, r, i, driver_year, 1.0 if driver == "activity" else unit_cost[i][driver_year],
                           points, exact, "pulse")
            continue
        # lasting: cohort responses c[k, tau] on the curve at tau's driver; red[k, t] <= (=, exact)
        # g0 + sum_tau p(t - tau) (c[k, tau] - g0) in every year some cohort acts in
        modelled = years + tv_years
        acts = {t: [(tau, profile(eff, t - tau)) for tau in years if tau <= t and profile(eff, t - tau) > 0]
                for t in modelled}
        effect_active_years[k] = [t for t in modelled if acts[t]]
        cohorts = sorted({tau for t in modelled for tau, _ in acts[t]})
        for tau in cohorts:
            c = lp.var(("cohort", k, tau), lb=0.0, ub=points[-1][1])
            curve_rows(k, c, i, tau, 1.0 if driver == "activity" else unit_cost[i][tau], points, exact, "cohort")
        g0 = effect_base[k]
        for t in effect_active_years[k]:
            reach = sum(w for _, w in acts[t])
            r = lp.var(("red", k, t), lb=min(0.0, g0 * (1 - reach)), ub=None)
            coeffs = {r: 1.0}
            for tau, w in acts[t]:
                add_to(coeffs, lp.col(("cohort", k, tau)), -w)
            (lp.eq if exact else lp.le)(coeffs, g0 * (1 - reach))

    def effects_on(pname, node, s):
        found = []
        for eff in effects:
            if eff["pathway"] != pname or node not in eff["sources"]:
                continue
            segs = eff.get("segments")
            segs = path_segments[pname] if segs is None else segs
            if s in segs:
                found.append(eff)
        return found

    # --- node balances
    for pname, p in pathways.items():
        for node in p["nodes"]:
            n = node["name"]
            kind = node["kind"]
            for s in path_segments[pname]:
                for t in years:
                    if kind == "source":
                        inc = node.get("incidence", 0.0)
                        if isinstance(inc, dict):
                            inc = inc.get(s, 0.0)
                        need = float(inc) * population[s][t]
                        acting = effects_on(pname, n, s)
                        active = [eff for eff in acting if t in effect_active_years[eff["name"]]]
                        # out = need * (1 - sum(red - g_base))
                        coeffs = {}
                        flow_sum(pname, out_edges[(pname, n)], s, t, coeffs)
                        rhs = need
                        for eff in active:
                            add_to(coeffs, lp.col(("red", eff["name"], t)), need)
                            rhs += need * effect_base[eff["name"]]
                        lp.eq(coeffs, rhs)
                        # incidence floor
                        if active:
                            floor = max(float(eff.get("floor", 0.0)) for eff in acting)
                            coeffs = {}
                            rhs = 1.0 - floor
                            for eff in active:
                                add_to(coeffs, lp.col(("red", eff["name"], t)), 1.0)
                                rhs += effect_base[eff["name"]]
                            lp.le(coeffs, rhs)
                    elif kind == "care":
                        coeffs = {}
                        flow_sum(pname, in_edges[(pname, n)], s, t, coeffs, 1.0)
                        flow_sum(pname, out_edges[(pname, n)], s, t, coeffs, -1.0)
                        lp.eq(coeffs, 0.0)
            # edge shares
            if kind == "sink":
                continue
            outs = out_edges[(pname, n)]
            for e in p["edges"]:
                if e["from"] != n:
                    continue
                lo, hi = share_bounds(e["share"])
                key = (e["from"], e["to"])
                for s in path_segments[pname]:
                    for t in years:
                        if lo == hi:
                            coeffs = {}
                            flow_sum(pname, outs, s, t, coeffs, -lo)
                            add_to(coeffs, lp.col(("f", pname, key, s, t)), 1.0)
                            lp.eq(coeffs, 0.0)
                            continue
                        if lo > 0:
                            coeffs = {}
                            flow_sum(pname, outs, s, t, coeffs, lo)
                            add_to(coeffs, lp.col(("f", pname, key, s, t)), -1.0)
                            lp.le(coeffs, 0.0)
                        if hi < 1:
                            coeffs = {}
                            flow_sum(pname, outs, s, t, coeffs, -hi)
                            add_to(coeffs, lp.col(("f", pname, key, s, t)), 1.0)
                            lp.le(coeffs, 0.0)

    # --- activity covers pathway patients plus non-pathway activity
    for i in service_names:
        npa = year_values(services[i].get("non_pathway_activity", 0.0), years, base)
        for t in years:
            coeffs = {lp.col(("a", i, t)): 1.0}
            for pname, p in pathways.items():
                for node in p["nodes"]:
                    if node["kind"] != "care" or node.get("service") != i:
                        continue
                    upp = node.get("units_per_patient")
                    upp = 1.0 if upp is None else float(upp)
                    for s in path_segments[pname]:
                        flow_sum(pname, in_edges[(pname, node["name"])], s, t, coeffs, -upp)
            lp.ge(coeffs, npa[t])

    # --- pooled budget (spend with the fixed extras); with holders, by the arrangement
    arrangement = data["budget"].get("arrangement", "pooled")
    def budget_coeffs(service_list, t):
        return transition_coeffs(service_list, t, spend_coeffs(service_list, t))

    if not holders or arrangement == "pooled":
        for t in years:
            lp.le(budget_coeffs(service_names, t), pooled[t])
    else:
        add_holder_rows(lp, data, holders, holder_budget, arrangement, service_names, sector_of,
                        years, budget_coeffs)

    # --- scopes: ring fences and capitation
    place_names = [p["name"] for p in data.get("places") or []]
    place_of_segment = {s["name"]: s.get("place") for s in data["segments"]}
    place_of_service = {i: services[i].get("place") for i in service_names}
    care_nodes_of = {i: [] for i in service_names}       # i -> [(pathway, node name, units)]
    for pname, p in pathways.items():
        for node in p["nodes"]:
            if node["kind"] == "care":
                upp = node.get("units_per_patient")
                care_nodes_of[node["service"]].append((pname, node["name"], 1.0 if upp is None else float(upp)))

    def scope_members(rule):
        segs = set(rule.get("segments") or [])
        whole = set(rule.get("services") or [])
        for pl in rule.get("places") or []:
            segs |= {s for s in segment_names if place_of_segment[s] == pl}
            whole |= {i for i in service_names if place_of_service[i] == pl}
        sectors = rule.get("sectors")
        return segs, whole, (None if sectors is None else set(sectors))

    def attributable(segs, whole, sectors, t, own_places=None):
        """Coefficients of the spend attributable to (segments, whole services, sectors) in t. A
        scope defined by places (``own_places``) leaves out use of services located elsewhere."""
        coeffs = spend_coeffs([i for i in service_names if i in whole], t)
        for i in service_names:
            if i in whole or (sectors is not None and sector_of[i] not in sectors):
                continue
            if own_places is not None and place_of_service[i] is not None and place_of_service[i] not in own_places:
                continue
            # a unit of pathway use counts at what it is paid: the price (the unit cost without a
            # contract); nothing under a block or capitation, whose payment does not follow use
            r = price[i][t] if form[i] == "activity" else 0.0
            for pname, n, upp in care_nodes_of[i]:
                for s in path_segments[pname]:
                    if s in segs:
                        flow_sum(pname, in_edges[(pname, n)], s, t, coeffs, r * upp)
            # attribution: the segments' share of the spend no pathway patient accounts for
            share = sum(attribution_share(i, s, t) for s in segs)
            if share:
                for col, v in spend_coeffs([i], t, share).items():
                    add_to(coeffs, col, v)
                for pname, n, upp in care_nodes_of[i]:
                    for s in path_segments[pname]:
                        flow_sum(pname, in_edges[(pname, n)], s, t, coeffs, -share * r * upp)
        return coeffs

    def attribution_share(i, s, t):
        """a[i, s, t]: stated share, or s's population over the listed segments' (or all)."""
        rule = services[i].get("attribution")
        if not rule:
            return 0.0
        if rule.get("shares") is not None:
            return float(rule["shares"].get(s, 0.0))
        listed = segment_names if rule["by_population"] == "all" else list(rule["by_population"])
        if s not in listed:
            return 0.0
        return population[s][t] / sum(population[x][t] for x in listed)

    def head_count(segs, t):
        return sum(population[s][t] for s in segment_names if s in segs)

    def rule_years(rule):
        ys = rule.get("years", "all")
        return list(years) if ys == "all" else [int(y) for y in ys]

    for rule in data.get("ring_fences") or []:
        segs, whole, sectors = scope_members(rule)
        ryears = rule_years(rule)
        lo = year_values(rule.get("at_least"), ryears, base)
        hi = year_values(rule.get("at_most"), ryears, base)
        own = set(rule["places"]) if rule.get("places") else None
        for t in ryears:
            coeffs = attributable(segs, whole, sectors, t, own)
            if lo is not None:
                lp.ge(coeffs, lo[t])
            if hi is not None:
                lp.le(coeffs, hi[t])

    for rule in data.get("capitation") or []:
        segs, whole, sectors = scope_members(rule)
        ryears = rule_years(rule)
        per_head = year_values(rule["per_head"], ryears, base)
        if rule.get("by_place", False):
            parts = []
            for pl in place_names:
                segs_p = {s for s in segs if place_of_segment[s] == pl}
                if segs_p:
                    parts.append((segs_p, {i for i in whole if place_of_service[i] == pl}, {pl}))
        else:
            parts = [(segs, whole, set(rule["places"]) if rule.get("places") else None)]
        for segs_p, whole_p, own in parts:
            for t in ryears:
                lp.le(attributable(segs_p, whole_p, sectors, t, own), per_head[t] * head_count(segs_p, t))

    # --- shift policies (spend with the fixed extras; base-year spend is baseline x unit cost)
    for pol in data.get("shift_policies") or []:
        trajectory = pol.get("trajectory", "linear")
        policy_years = years if trajectory == "linear" else [final]
        if pol["kind"] == "share":
            group = [i for i in service_names if sector_of[i] in pol["sectors"]]
            s0 = sum(base_spend[i] for i in group) / sum(base_spend[i] for i in service_names)
            for t in policy_years:
                step = (t - base) / n_years if trajectory == "linear" else 1.0
                required = s0 + float(pol["increase_pp"]) / 100.0 * step
                coeffs = spend_coeffs(group, t)
                for col, v in spend_coeffs(service_names, t, -required).items():
                    add_to(coeffs, col, v)
                lp.ge(coeffs, 0.0)
        else:
            src = [i for i in service_names if sector_of[i] == pol["from_sector"]]
            dst = [i for i in service_names if sector_of[i] == pol["to_sector"]]
            base_src = sum(base_spend[i] for i in src)
            base_dst = sum(base_spend[i] for i in dst)
            for t in policy_years:
                step = (t - base) / n_years if trajectory == "linear" else 1.0
                amount = float(pol["amount"]) * step
                lp.le(spend_coeffs(src, t), base_src - amount)
                lp.ge(spend_coeffs(dst, t), base_dst + amount)

    # --- stability (growth switched off for an opening service unless it was open the year before)
    for i in service_names:
        g = services[i].get("max_growth")
        sh = services[i].get("max_shrink")
        opens = i in running
        for t in years:
            cur = lp.col(("a", i, t))
            if t - 1 == base:
                if g is not None and not opens:        # open before the plan = 0: never applies
                    lp.le({cur: 1.0}, (1.0 + float(g)) * baseline[i])
                if sh is not None:
                    lp.ge({cur: 1.0}, (1.0 - float(sh)) * baseline[i])
            else:
                prev = lp.col(("a", i, t - 1))
                if g is not None:
                    if opens:
                        # a[t] - (1+g) a[t-1] <= U[t] (1 - open[t-1])
                        m = big_m(i, t)
                        lp.le({cur: 1.0, prev: -(1.0 + float(g)), lp.col(("open", i, t - 1)): m}, m)
                    else:
                        lp.le({cur: 1.0, prev: -(1.0 + float(g))}, 0.0)
                if sh is not None:
                    lp.ge({cur: 1.0, prev: -(1.0 - float(sh))}, 0.0)

    # --- outcomes
    outcomes = {o["name"]: o for o in data.get("outcomes") or []}

    def outcome_value(oname, t, seg_set=None):
        """The outcome in year t; with ``seg_set``, counted over those segments only."""
        coeffs = {}
        for term in outcomes[oname]["terms"]:
            pname = term["pathway"]
            w = float(term.get("weight", 1.0))
            segs = term.get("segments")
            segs = path_segments[pname] if segs is None else [s for s in segs if s in path_segments[pname]]
            if term.get("node") is not None:
                n = term["node"]
                if node_info[(pname, n)]["kind"] == "source":
                    edges = out_edges[(pname, n)]
                else:
                    edges = in_edges[(pname, n)]
            else:
                edges = [tuple(term["edge"])]
            for s in segs:
                if seg_set is None or s in seg_set:
                    flow_sum(pname, edges, s, t, coeffs, w)
        return coeffs

    for target in data.get("targets") or []:
        if target.get("year") is not None:
            tyears = [int(target["year"])]
        elif target["years"] == "all":
            tyears = years
        else:
            tyears = [int(y) for y in target["years"]]
        for t in tyears:
            value = outcome_value(target["outcome"], t)
            if target.get("at_most") is not None:
                lp.le(value, target["at_most"])
            if target.get("at_least") is not None:
                lp.ge(value, target["at_least"])

    # --- equity across places: pairwise rows on the per-head measures
    def place_measure(rule, pl, t):
        segs_p = {s for s in segment_names if place_of_segment[s] == pl}
        if rule["measure"] == "spend_per_head":
            coeffs = attributable(segs_p, {i for i in service_names if place_of_service[i] == pl}, None, t, {pl})
            scale = 1.0 / head_count(segs_p, t)
        else:
            coeffs = outcome_value(rule["outcome"], t, segs_p)
            scale = 1000.0 / head_count(segs_p, t)
        return {c: v * scale for c, v in coeffs.items()}

    for rule in data.get("equity") or []:
        compared = rule.get("places")
        compared = place_names if compared is None else list(compared)
        ratio, gap = rule.get("max_ratio"), rule.get("max_gap")
        for t in rule_years(rule):
            m = {pl: place_measure(rule, pl, t) for pl in compared}
            for p in compared:
                for q in compared:
                    if p == q:
                        continue
                    if ratio is not None:
                        coeffs = dict(m[p])
                        for c, v in m[q].items():
                            add_to(coeffs, c, -float(ratio) * v)
                        lp.le(coeffs, 0.0)
                    if gap is not None:
                        coeffs = dict(m[p])
                        for c, v in m[q].items():
                            add_to(coeffs, c, -v)
                        lp.le(coeffs, float(gap))

    # --- terminal value: the years after the horizon. The incidence floor holds there too, and the
    # value is sum_u d_u sum_k sum_{(p, n, s) of k} D[p,n,s,final] v[k,p,n] (red[k,u] - g0_k), with v the
    # effect's value_per_case or the expected care cost of one case from source n (edge shares: each
    # node's out-edges at the same fraction of the way from min to max that sums them to 1; final-year
    # unit costs x units per patient, readmissions counted).
    tv_coeffs, tv_constant = {}, 0.0
    if tv_years:
        for pname, p in pathways.items():
            for node in p["nodes"]:
                if node["kind"] != "source":
                    continue
                n = node["name"]
                for s in path_segments[pname]:
                    acting = effects_on(pname, n, s)
                    if not acting:
                        continue
                    inc = node.get("incidence", 0.0)
                    inc = inc.get(s, 0.0) if isinstance(inc, dict) else inc
                    need_final = float(inc) * population[s][final]
                    floor = max(float(eff.get("floor", 0.0)) for eff in acting)
                    for u in tv_years:
                        active = [eff for eff in acting if u in effect_active_years[eff["name"]]]
                        if not active:
                            continue
                        coeffs, rhs = {}, 1.0 - floor
                        for eff in active:
                            add_to(coeffs, lp.col(("red", eff["name"], u)), 1.0)
                            rhs += effect_base[eff["name"]]
                        lp.le(coeffs, rhs)
                        d_u = (1.0 + rate) ** -(u - base)
                        for eff in active:
                            v = eff.get("value_per_case")
                            v = case_cost(pname, n) if v is None else float(v)
                            w = d_u * need_final * v
                            add_to(tv_coeffs, lp.col(("red", eff["name"], u)), w)
                            tv_constant -= w * effect_base[eff["name"]]

    # --- objective
    objective = data.get("objective") or {}
    mode = objective.get("mode", "min_cost")
    if mode == "min_cost":
        for t in years:
            for col, v in spend_coeffs(service_names, t, discount[t]).items():
                lp.cost[col] += v
            for col, v in transition_coeffs(service_names, t, {}, with_fund=False).items():
                lp.cost[col] += discount[t] * v
        for col, v in tv_coeffs.items():
            lp.cost[col] -= v
        lp.constant = -tv_constant
        sense = 1.0
    else:
        discount_outcomes = objective.get("discount_outcomes", True)
        for oname, weight in (objective.get("weights") or {}).items():
            direction = outcomes[oname].get("direction", "lower_is_better")
            sign = 1.0 if direction == "higher_is_better" else -1.0
            for t in years:
                d = discount[t] if discount_outcomes else 1.0
                for col, v in outcome_value(oname, t).items():
                    lp.cost[col] -= float(weight) * sign * d * v   # milp minimises
        sense = -1.0

    probe = {"attributable": attributable, "place_measure": place_measure, "head_count": head_count,
             "years": years}
    return lp, sense, probe


def add_holder_rows(lp, data, holders, holder_budget, arrangement, service_names, sector_of, years,
                    spend_coeffs):
    """Siloed and partial arrangements (docs/formulation.md, "Budget holders and pooling")."""
    named = {i: h["name"] for h in holders for i in h.get("services") or []}
    by_sector = {sec: h["name"] for h in holders for sec in h.get("sectors") or []}
    holder_of = {i: named.get(i, by_sector.get(sector_of[i])) for i in service_names}
    assert all(h is not None for h in holder_of.values()), holder_of
    share, fund_of = {}, {}
    if arrangement == "partial":
        for fund in data["budget"].get("pooled_funds") or []:
            for h, c in fund["contributions"].items():
                share[h] = float(c)
                fund_of[h] = fund["name"]
    for t in years:
        for h in holders:
            hname = h["name"]
            coeffs = spend_coeffs([i for i in service_names if holder_of[i] == hname], t)
            if hname in fund_of:
                add_to(coeffs, lp.var(("draw", hname, t)), -1.0)
                lp.le(coeffs, (1.0 - share[hname]) * holder_budget[hname][t])
            else:
                lp.le(coeffs, holder_budget[hname][t])
        for fund in data["budget"].get("pooled_funds") or [] if arrangement == "partial" else []:
            members = list(fund["contributions"])
            lp.le({lp.col(("draw", h, t)): 1.0 for h in members},
                  sum(share[h] * holder_budget[h][t] for h in members))


# An instance without mixed-integer features is a pure LP in the reference too.
reference_solve = reference_solve_mip
