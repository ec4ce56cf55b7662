"""Random small budgetshift instances (raw mappings) for cross-checking formulations.

``random_instance(seed)`` builds a valid instance around a "nominal" plan: the shares of each
node's out-edges are drawn first, the patient flows they imply are worked out, and baseline
activity, capacities, budgets and targets are set around those flows. So most instances are
feasible; the random limits make some of them infeasible, which is fine for a cross-check.
"""

from __future__ import annotations

import numpy as np

SECTOR_POOL = ["acute", "community", "social_care"]


def _r(x: float, nd: int = 4) -> float:
    return float(round(float(x), nd))


def _year_values(rng, base_value, years, base_year, growth_range=(-0.01, 0.03), nd=4):
    """A random YearValues field around ``base_value``: number, growth rule or mapping."""
    kind = rng.choice(["number", "growth", "mapping"], p=[0.4, 0.35, 0.25])
    if kind == "number":
        return _r(base_value, nd)
    if kind == "growth":
        return {"value": _r(base_value, nd), "growth": _r(rng.uniform(*growth_range), 4)}
    out = {}
    v = base_value
    for y in years:
        out[int(y)] = _r(v, nd)
        v *= 1 + rng.uniform(*growth_range)
    return out


def _expand(spec, years, base_year):
    if isinstance(spec, dict) and "value" in spec:
        return {y: spec["value"] * (1 + spec.get("growth", 0.0)) ** (y - base_year) for y in years}
    if isinstance(spec, dict):
        return {y: float(spec[y]) for y in years}
    return {y: float(spec) for y in years}


def _shares(rng, k, loop_index=None):
    """Nominal shares for k out-edges (multiples of 0.05) and the share field of each edge."""
    if k == 1:
        return [1.0], [1]
    if loop_index is not None:
        loop_units = int(rng.integers(1, 4))           # 0.05 .. 0.15 readmitted
        rest = rng.multinomial(20 - loop_units - (k - 1), np.ones(k - 1) / (k - 1)) + 1
        units = list(rest)
        units.insert(loop_index, loop_units)
    else:
        units = list(rng.multinomial(20 - k, np.ones(k) / k) + 1)
    w = [u / 20 for u in units]
    fields = []
    free = int(rng.integers(0, k))                      # this edge is never fixed
    for j, wj in enumerate(w):
        if loop_index is not None and j == loop_index:
            fields.append([0.0, _r(min(0.3, wj + rng.uniform(0.0, 0.1)), 2)])
            continue
        u = rng.random()
        if u < 0.3 and j != free:
            fields.append(_r(wj, 2))
        elif u < 0.5:
            fields.append([0, 1])
        else:
            lo = np.floor(max(0.0, wj - rng.uniform(0.0, 0.3)) * 100) / 100
            hi = np.ceil(min(1.0, wj + rng.uniform(0.0, 0.3)) * 100) / 100
            fields.append([_r(lo, 2), _r(hi, 2)])
    return w, fields


def _pathway(rng, pname, care_services, segment_names, years_all, population):
    n_nodes = int(rng.integers(4, 10))
    n_src = 2 if (n_nodes >= 6 and rng.random() < 0.35) else 1
    n_sink = 2 if (n_nodes >= 5 and rng.random() < 0.5) else 1
    n_care = n_nodes - n_src - n_sink
    srcs = [f"{pname}_need{j}" for j in range(n_src)]
    cares = [f"{pname}_care{j}" for j in range(n_care)]
    sinks = [f"{pname}_end{j}" for j in range(n_sink)]

    segs = None
    if len(segment_names) > 1 and rng.random() < 0.35:
        m = int(rng.integers(1, len(segment_names)))
        segs = sorted(rng.choice(segment_names, size=m, replace=False).tolist())
    psegs = segs if segs is not None else list(segment_names)

    targets = {n: [] for n in srcs + cares}
    for s in srcs:
        m = int(rng.integers(1, min(2, n_care) + 1))
        targets[s] = rng.choice(cares, size=m, replace=False).tolist()
        if rng.random() < 0.2:
            targets[s].append(str(rng.choice(sinks)))
    for j, c in enumerate(cares):
        cand = cares[j + 1:] + sinks
        m = int(rng.integers(1, min(3, len(cand)) + 1))
        targets[c] = rng.choice(cand, size=m, replace=False).tolist()
    # every care node and sink reachable
    for j, c in enumerate(cares):
        if not any(c in t for t in targets.values()):
            frm = str(rng.choice(srcs + cares[:j]))
            targets[frm].append(c)
    for s in sinks:
        if not any(s in t for t in targets.values()):
            targets[str(rng.choice(cares))].append(s)
    loop = None
    if n_care >= 2 and rng.random() < 0.35:
        j = int(rng.integers(1, n_care))
        i = int(rng.integers(0, j))
        loop = (cares[j], cares[i])
        targets[cares[j]].append(cares[i])

    nodes = []
    units = {}
    services_of = {}
    for s in srcs:
        if rng.random() < 0.5 or len(psegs) == 1:
            inc = _r(rng.uniform(0.005, 0.08), 4)
        else:
            present = [g for g in psegs if rng.random() < 0.8] or [psegs[0]]
            inc = {g: _r(rng.uniform(0.005, 0.08), 4) for g in present}
        nodes.append({"name": s, "kind": "source", "incidence": inc})
    for c in cares:
        svc = str(rng.choice(care_services))
        services_of[c] = svc
        node = {"name": c, "kind": "care", "service": svc}
        if rng.random() < 0.3:
            node["units_per_patient"] = _r(rng.uniform(0.5, 5.0), 2)
        units[c] = node.get("units_per_patient", 1.0)
        nodes.append(node)
    for s in sinks:
        nodes.append({"name": s, "kind": "sink"})
    order = list(range(len(nodes)))
    rng.shuffle(order)
    nodes = [nodes[k] for k in order]

    edges = []
    w_of = {}
    for frm, tos in targets.items():
        loop_index = tos.index(loop[1]) if (loop is not None and frm == loop[0]) else None
        w, fields = _shares(rng, len(tos), loop_index)
        for to, wj, fld in zip(tos, w, fields):
            edges.append({"from": frm, "to": to, "share": fld})
            w_of[(frm, to)] = wj
    rng.shuffle(edges)

    pathway = {"name": pname, "nodes": nodes, "edges": edges}
    if segs is not None:
        pathway["segments"] = segs

    # nominal throughput per node, segment, year: x = need + W^T x
    names = srcs + cares + sinks
    pos = {n: k for k, n in enumerate(names)}
    wmat = np.zeros((len(names), len(names)))
    for (a, b), wj in w_of.items():
        wmat[pos[b], pos[a]] += wj
    node_by_name = {n["name"]: n for n in nodes}
    through = {}
    for g in psegs:
        for y in years_all:
            need = np.zeros(len(names))
            for s in srcs:
                inc = node_by_name[s]["incidence"]
                rate = inc.get(g, 0.0) if isinstance(inc, dict) else inc
                need[pos[s]] = rate * population[g][y]
            x = np.linalg.solve(np.eye(len(names)) - wmat, need)
            for n in names:
                through[(n, g, y)] = float(x[pos[n]])
    info = {"srcs": srcs, "cares": cares, "sinks": sinks, "segs": psegs, "w": w_of,
            "through": through, "units": units, "services_of": services_of}
    return pathway, info


def _concave_curve(rng, x0):
    n_pts = int(rng.integers(2, 5))
    scale = max(x0, 1.0)
    steps = rng.uniform(0.3, 1.2, size=n_pts - 1) * scale
    xs = [0.0]
    for st in steps:
        xs.append(float(round(xs[-1] + st, 1)))
    total = rng.uniform(0.1, 0.5)
    raw_slopes = sorted(rng.uniform(0.2, 1.0, size=n_pts - 1), reverse=True)
    raw_slopes = [s * (1 - 0.3 * k) for k, s in enumerate(raw_slopes)]   # strictly falling
    if n_pts > 2 and rng.random() < 0.3:
        raw_slopes[-1] = 0.0                                              # a flat last piece
    dx = [b - a for a, b in zip(xs, xs[1:])]
    incr = [s * d for s, d in zip(raw_slopes, dx)]
    factor = total / sum(incr)
    ys = [0.0]
    for inc in incr:
        ys.append(ys[-1] + inc * factor)
    ys = [min(1.0, y) for y in ys]
    return [[float(x), float(y)] for x, y in zip(xs, ys)]


def random_instance(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    base = int(rng.integers(2023, 2027))
    n_years = int(rng.integers(2, 6))
    years = [base + k for k in range(1, n_years + 1)]
    all_years = [base] + years
    rate = 0.0 if rng.random() < 0.2 else _r(rng.uniform(0.0, 0.05), 4)

    n_sectors = int(rng.integers(2, 5))
    sectors = ["prevention"] + SECTOR_POOL[: n_sectors - 1]

    # segments
    n_seg = int(rng.integers(1, 4))
    segment_names = [f"seg{j}" for j in range(n_seg)]
    segments, population = [], {}
    for g in segment_names:
        spec = _year_values(rng, float(rng.integers(2000, 50000)), all_years, base, (-0.01, 0.03), nd=1)
        segments.append({"name": g, "population": spec})
        population[g] = _expand(spec, all_years, base)

    # services: names and sectors first; activity figures once the flows are known
    n_serv = int(rng.integers(3, 9))
    service_names = [f"svc{j}" for j in range(n_serv)]
    sector_of = {}
    for j, i in enumerate(service_names):
        if j == 0:
            sector_of[i] = "prevention"
        elif j == 1:
            sector_of[i] = sectors[1]
        else:
            sector_of[i] = str(rng.choice(sectors))
    care_services = [i for i in service_names if sector_of[i] != "prevention" or rng.random() < 0.3]

    # pathways
    n_path = int(rng.integers(1, 4))
    pathways, infos = [], {}
    for k in range(n_path):
        p, info = _pathway(rng, f"p{k}", care_services, segment_names, all_years, population)
        pathways.append(p)
        infos[p["name"]] = info

    # nominal activity per service and year
    nominal = {i: {y: 0.0 for y in all_years} for i in service_names}
    for pname, info in infos.items():
        for c in info["cares"]:
            i = info["services_of"][c]
            for g in info["segs"]:
                for y in all_years:
                    nominal[i][y] += info["units"][c] * info["through"][(c, g, y)]

    services = []
    unit_cost, npa_of, baseline = {}, {}, {}
    for i in service_names:
        svc = {"name": i, "sector": sector_of[i]}
        cost0 = float(rng.uniform(20, 2000)) if sector_of[i] != "prevention" else float(rng.uniform(10, 300))
        svc["unit_cost"] = _year_values(rng, cost0, all_years, base, (-0.01, 0.04), nd=2)
        unit_cost[i] = _expand(svc["unit_cost"], all_years, base)
        npa = {y: 0.0 for y in all_years}
        if rng.random() < 0.4 or nominal[i][base] == 0:
            spec = _year_values(rng, float(rng.uniform(50, 2000)), years, base, (-0.02, 0.03), nd=1)
            svc["non_pathway_activity"] = spec
            npa.update(_expand(spec, years, base))
            npa[base] = npa[years[0]]
        npa_of[i] = npa
        for y in all_years:
            nominal[i][y] += npa[y]
        baseline[i] = _r(nominal[i][base] * rng.uniform(0.9, 1.1), 1)
        svc["baseline_activity"] = baseline[i]
        cap = {}
        peak = max(nominal[i][y] for y in years)
        if rng.random() < 0.2:
            cap["min"] = _r(min(nominal[i][y] for y in years) * rng.uniform(0.3, 0.9), 1)
        if rng.random() < 0.35:
            room = (1.05, 1.6) if sector_of[i] != "prevention" else (2.0, 4.0)
            hi = max(peak, cap.get("min", 0.0)) * rng.uniform(*room)
            if rng.random() < 0.5:
                cap["max"] = _r(hi, 1)
            else:
                cap["max"] = {"value": _r(hi, 1), "growth": _r(rng.uniform(0.0, 0.03), 3)}
        if cap:
            svc["capacity"] = cap
        if rng.random() < 0.35:
            svc["max_growth"] = _r(rng.uniform(0.05, 0.3), 3)
        if rng.random() < 0.35:
            svc["max_shrink"] = _r(rng.uniform(0.03, 0.3), 3)
        services.append(svc)

    data = {
        "format_version": 1,
        "name": f"random instance {seed}",
        "horizon": {"base_year": base, "years": n_years, "discount_rate": rate},
        "sectors": sectors if rng.random() < 0.5 else [{"name": s} for s in sectors],
        "services": services,
        "segments": segments,
        "pathways": pathways,
    }

    # budget around the nominal spend
    spend = {y: sum(nominal[i][y] * unit_cost[i][y] for i in service_names) for y in years}
    factor = rng.uniform(1.05, 1.5)
    kind = rng.choice(["number", "mapping", "growth"])
    if kind == "number":
        pooled = _r(max(spend.values()) * factor, 0)
    elif kind == "mapping":
        pooled = {y: _r(spend[y] * factor, 0) for y in years}
    else:
        g = _r(rng.uniform(0.0, 0.04), 3)
        pooled = {"value": _r(max(spend[y] / (1 + g) ** (y - base) for y in years) * factor, 0), "growth": g}
    data["budget"] = {"pooled": pooled}

    # prevention effects
    effects = []
    prevention_services = [i for i in service_names if sector_of[i] == "prevention"]
    for k in range(int(rng.integers(0, 3))):
        i = str(rng.choice(prevention_services)) if rng.random() < 0.8 else str(rng.choice(service_names))
        pname = str(rng.choice([p["name"] for p in pathways]))
        info = infos[pname]
        m = int(rng.integers(1, len(info["srcs"]) + 1))
        eff = {
            "name": f"effect{k}",
            "service": i,
            "pathway": pname,
            "sources": sorted(rng.choice(info["srcs"], size=m, replace=False).tolist()),
            "lag": int(rng.integers(0, 3)),
        }
        driver = "spend" if rng.random() < 0.4 else "activity"
        if driver == "spend" or rng.random() < 0.5:
            eff["driver"] = driver
        x0 = baseline[i] * (unit_cost[i][base] if driver == "spend" else 1.0)
        eff["response"] = _concave_curve(rng, x0 * rng.uniform(0.3, 1.5))
        if len(info["segs"]) > 1 and rng.random() < 0.4:
            mm = int(rng.integers(1, len(info["segs"])))
            eff["segments"] = sorted(rng.choice(info["segs"], size=mm, replace=False).tolist())
        if rng.random() < 0.5:
            eff["floor"] = _r(rng.uniform(0.5, 0.95), 3)
        effects.append(eff)
    if effects:
        data["prevention_effects"] = effects

    # shift policies
    base_spend = {i: baseline[i] * unit_cost[i][base] for i in service_names}
    total0 = sum(base_spend.values())
    policies = []
    if rng.random() < 0.35:
        group = ["prevention"] if rng.random() < 0.7 else sorted({"prevention", str(rng.choice(sectors))})
        s0 = sum(base_spend[i] for i in service_names if sector_of[i] in group) / total0
        pp = _r(min(rng.uniform(0.2, 4.0), 100 * (1 - s0) - 0.01), 2)
        pol = {"kind": "share", "name": "more_upstream", "sectors": group, "increase_pp": pp}
        if rng.random() < 0.6:
            pol["trajectory"] = str(rng.choice(["linear", "final_year"]))
        policies.append(pol)
    if rng.random() < 0.2:
        frm = str(rng.choice(sectors[1:]))
        to = "prevention" if rng.random() < 0.7 else str(rng.choice([s for s in sectors if s != frm]))
        base_from = sum(base_spend[i] for i in service_names if sector_of[i] == frm)
        pol = {"kind": "transfer", "name": "move_money", "from_sector": frm, "to_sector": to,
               "amount": _r(base_from * rng.uniform(0.0, 0.03), 0)}
        if rng.random() < 0.6:
            pol["trajectory"] = str(rng.choice(["linear", "final_year"]))
        policies.append(pol)
    if policies:
        data["shift_policies"] = policies

    # outcomes and targets
    outcomes, targets, nominal_value = [], [], {}
    for k in range(int(rng.integers(1, 4))):
        oname = f"outcome{k}"
        terms = []
        value = {y: 0.0 for y in years}
        for _ in range(int(rng.integers(1, 4))):
            pname = str(rng.choice([p["name"] for p in pathways]))
            info = infos[pname]
            term = {"pathway": pname}
            if rng.random() < 0.6:
                n = str(rng.choice(info["srcs"] + info["cares"] + info["sinks"]))
                term["node"] = n
                per = {(g, y): info["through"][(n, g, y)] for g in info["segs"] for y in years}
            else:
                e = list(info["w"])[int(rng.integers(0, len(info["w"])))]
                term["edge"] = [e[0], e[1]]
                per = {(g, y): info["w"][e] * info["through"][(e[0], g, y)] for g in info["segs"] for y in years}
            w = 1.0
            if rng.random() < 0.5:
                w = _r(rng.uniform(0.5, 3.0), 2)
                term["weight"] = w
            segs = info["segs"]
            if len(segs) > 1 and rng.random() < 0.4:
                mm = int(rng.integers(1, len(segs)))
                segs = sorted(rng.choice(segs, size=mm, replace=False).tolist())
                term["segments"] = segs
            for y in years:
                value[y] += w * sum(per[(g, y)] for g in segs)
            terms.append(term)
        out = {"name": oname, "terms": terms}
        u = rng.random()
        if u < 0.4:
            out["direction"] = "higher_is_better"
        elif u < 0.7:
            out["direction"] = "lower_is_better"
        outcomes.append(out)
        nominal_value[oname] = value
        if rng.random() < 0.6:
            form = rng.choice(["year", "years", "all"])
            if form == "year":
                tyears = [int(rng.choice(years))]
            elif form == "years":
                mm = int(rng.integers(1, len(years) + 1))
                tyears = sorted(int(y) for y in rng.choice(years, size=mm, replace=False))
            else:
                tyears = years
            target = {"outcome": oname}
            if form == "year":
                target["year"] = tyears[0]
            elif form == "years":
                target["years"] = tyears
            else:
                target["years"] = "all"
            lower_better = out.get("direction", "lower_is_better") == "lower_is_better"
            if lower_better or rng.random() < 0.3:
                target["at_most"] = _r(min(value[y] for y in tyears) * rng.uniform(0.85, 1.3), 2)
            if not lower_better or rng.random() < 0.3:
                lo = _r(max(value[y] for y in tyears) * rng.uniform(0.6, 1.02), 2)
                if "at_most" in target:
                    lo = min(lo, target["at_most"])
                target["at_least"] = lo
            targets.append(target)
    data["outcomes"] = outcomes
    if targets:
        data["targets"] = targets

    # objective
    if rng.random() < 0.2:
        chosen = [o["name"] for o in outcomes if rng.random() < 0.7] or [outcomes[0]["name"]]
        obj = {"mode": "max_outcome", "weights": {o: _r(rng.uniform(0.5, 2.0), 2) for o in chosen}}
        if rng.random() < 0.5:
            obj["discount_outcomes"] = bool(rng.random() < 0.5)
        data["objective"] = obj
    elif rng.random() < 0.5:
        data["objective"] = {"mode": "min_cost"}
    return data
