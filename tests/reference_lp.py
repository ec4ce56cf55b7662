"""An independent, deliberately plain second formulation of the budgetshift LP.

``reference_solve(data)`` takes the RAW instance mapping (as parsed from YAML), builds the
constraint matrix by hand with scipy.sparse and solves it with
``scipy.optimize.linprog(method="highs")``. It shares no code with ``optimiser`` and exists
only to cross-check the real formulation (see tests/test_reference_crosscheck.py).

It assumes the instance is valid and uses only the features of format version 1 without
CSV references. Loops and dicts everywhere: clarity over speed.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix


# ----------------------------------------------------------------------------- helpers

def year_values(spec, years, base_year):
    """Expand a YearValues field (number / {year: value} / {value, growth}) over ``years``."""
    out = {}
    if spec is None:
        return None
    if isinstance(spec, dict) and "value" in spec:
        v = float(spec["value"])
        g = float(spec.get("growth", 0.0))
        for y in years:
            out[y] = v * (1.0 + g) ** (y - base_year)
    elif isinstance(spec, dict):
        by_year = {int(k): float(v) for k, v in spec.items()}
        for y in years:
            out[y] = by_year[y]
    else:
        for y in years:
            out[y] = float(spec)
    return out


def share_bounds(share):
    if isinstance(share, (list, tuple)):
        return float(share[0]), float(share[1])
    return float(share), float(share)


def curve_value(points, x):
    """Piecewise-linear interpolation of [[x, y], ...], flat beyond the last point."""
    if x >= points[-1][0]:
        return float(points[-1][1])
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if x0 <= x <= x1:
            return float(y0) + (float(y1) - float(y0)) * (x - float(x0)) / (float(x1) - float(x0))
    return float(points[0][1])


class LP:
    """Collects named variables and rows, then hands them to linprog."""

    def __init__(self):
        self.index = {}      # key -> column
        self.lower = []
        self.upper = []
        self.cost = []
        self.ub_rows = []    # (coeffs dict col->value, rhs): sum <= rhs
        self.eq_rows = []    # (coeffs dict col->value, rhs): sum == rhs

    def var(self, key, lb=0.0, ub=None):
        assert key not in self.index, key
        self.index[key] = len(self.lower)
        self.lower.append(lb)
        self.upper.append(ub)
        self.cost.append(0.0)
        return self.index[key]

    def col(self, key):
        return self.index[key]

    @staticmethod
    def _clean(coeffs):
        return {c: v for c, v in coeffs.items() if v != 0.0}

    def le(self, coeffs, rhs):
        self.ub_rows.append((self._clean(coeffs), float(rhs)))

    def ge(self, coeffs, rhs):
        self.ub_rows.append(({c: -v for c, v in self._clean(coeffs).items()}, -float(rhs)))

    def eq(self, coeffs, rhs):
        self.eq_rows.append((self._clean(coeffs), float(rhs)))

    def _matrix(self, rows):
        r, c, v, b = [], [], [], []
        for i, (coeffs, rhs) in enumerate(rows):
            for col, val in coeffs.items():
                r.append(i)
                c.append(col)
                v.append(val)
            b.append(rhs)
        if not rows:
            return None, None
        a = coo_matrix((v, (r, c)), shape=(len(rows), len(self.lower))).tocsr()
        return a, np.array(b)

    def solve(self):
        a_ub, b_ub = self._matrix(self.ub_rows)
        a_eq, b_eq = self._matrix(self.eq_rows)
        bounds = list(zip(self.lower, self.upper))
        return linprog(np.array(self.cost), A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq,
                       bounds=bounds, method="highs")


def add_to(coeffs, col, value):
    coeffs[col] = coeffs.get(col, 0.0) + value


# ----------------------------------------------------------------------------- the model

def reference_solve(data: dict) -> tuple[str, float | None]:
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

    lp = LP()

    # --- activity a[i, t] with capacity bounds
    for i in service_names:
        cap = services[i].get("capacity") or {}
        cap_min = year_values(cap.get("min", 0.0), years, base)
        cap_max = year_values(cap.get("max"), years, base) if cap.get("max") is not None else None
        for t in years:
            lp.var(("a", i, t), lb=cap_min[t], ub=None if cap_max is None else cap_max[t])

    def spend_coeffs(service_list, t, factor=1.0):
        coeffs = {}
        for i in service_list:
            add_to(coeffs, lp.col(("a", i, t)), factor * unit_cost[i][t])
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

    def flow_sum(pname, edges, s, t, coeffs, factor=1.0):
        for key in edges:
            add_to(coeffs, lp.col(("f", pname, key, s, t)), factor)

    # --- prevention effects: red[k, t] for the years where t - lag > base
    effects = data.get("prevention_effects") or []
    effect_base = {}        # k -> g_k(x_base)
    effect_active_years = {}
    for eff in effects:
        k = eff["name"]
        i = eff["service"]
        lag = int(eff.get("lag", 1))
        driver = eff.get("driver", "activity")
        points = [(float(x), float(y)) for x, y in eff["response"]]
        x_base = baseline[i] if driver == "activity" else baseline[i] * unit_cost[i][base]
        effect_base[k] = curve_value(points, x_base)
        effect_active_years[k] = [t for t in years if t - lag > base]
        for t in effect_active_years[k]:
            r = lp.var(("red", k, t), lb=0.0, ub=points[-1][1])   # flat beyond the last point
            driver_year = t - lag
            x_coef = 1.0 if driver == "activity" else unit_cost[i][driver_year]
            a_col = lp.col(("a", i, driver_year))
            # red <= y0 + slope * (x - x0) for every piece of the (concave) curve
            for (x0, y0), (x1, y1) in zip(points, points[1:]):
                slope = (y1 - y0) / (x1 - x0)
                coeffs = {r: 1.0}
                add_to(coeffs, a_col, -slope * x_coef)
                lp.le(coeffs, y0 - slope * x0)

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

    # --- pooled budget
    pooled = year_values(data["budget"]["pooled"], years, base)
    for t in years:
        lp.le(spend_coeffs(service_names, t), pooled[t])

    # --- shift policies
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

    # --- stability
    for i in service_names:
        g = services[i].get("max_growth")
        sh = services[i].get("max_shrink")
        for t in years:
            cur = lp.col(("a", i, t))
            if t - 1 == base:
                if g is not None:
                    lp.le({cur: 1.0}, (1.0 + float(g)) * baseline[i])
                if sh is not None:
                    lp.ge({cur: 1.0}, (1.0 - float(sh)) * baseline[i])
            else:
                prev = lp.col(("a", i, t - 1))
                if g is not None:
                    lp.le({cur: 1.0, prev: -(1.0 + float(g))}, 0.0)
                if sh is not None:
                    lp.ge({cur: 1.0, prev: -(1.0 - float(sh))}, 0.0)

    # --- outcomes
    outcomes = {o["name"]: o for o in data.get("outcomes") or []}

    def outcome_value(oname, t):
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

    # --- objective
    objective = data.get("objective") or {}
    mode = objective.get("mode", "min_cost")
    if mode == "min_cost":
        for i in service_names:
            for t in years:
                lp.cost[lp.col(("a", i, t))] += discount[t] * unit_cost[i][t]
        sense = 1.0
    else:
        discount_outcomes = objective.get("discount_outcomes", True)
        for oname, weight in (objective.get("weights") or {}).items():
            direction = outcomes[oname].get("direction", "lower_is_better")
            sign = 1.0 if direction == "higher_is_better" else -1.0
            for t in years:
                d = discount[t] if discount_outcomes else 1.0
                for col, v in outcome_value(oname, t).items():
                    lp.cost[col] -= float(weight) * sign * d * v   # linprog minimises
        sense = -1.0

    res = lp.solve()
    if res.status == 0:
        return "optimal", sense * float(res.fun)
    if res.status == 2:
        return "infeasible", None
    if res.status == 3:
        return "unbounded", None
    raise RuntimeError(f"linprog failed: status {res.status}: {res.message}")
