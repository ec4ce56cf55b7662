"""Small random budgetshift instances with the mixed-integer features, for cross-checking.

``random_mip_instance(seed)`` starts from ``random_instance(seed)`` (tests/random_instances.py)
and adds, with a second random stream:

* 0-2 new services with ``opening`` (baseline 0, ``capacity.max`` set; sometimes
  ``capacity.min``, ``earliest_year``, ``opening_cost``, ``running_cost``, growth / shrink limits,
  ``minimum_scale``). Each is either a *hub*: a new care node on a pathway, reachable by an
  optional edge ``[0, hi]`` from an existing source or care node and leading to a sink, or a
  *programme*: a prevention service driving a new effect with an S-shaped (non-concave) curve;
* ``minimum_scale`` on some existing services (sometimes dropping a prevention service's
  non-pathway activity so that it may really fall to 0);
* ``teams`` on one service (sometimes with ``max_teams``);
* sometimes ``limits.max_openings_per_year``;
* sometimes an existing effect switched to ``response_model: exact`` or given an S-shaped curve;
* objective mostly ``min_cost`` (about 90%).

Taking the new edge at share 0 and leaving every new service shut gives back the LP instance's
nominal plan, so feasibility is mostly inherited; the random limits (minimum scales, team caps,
exact curves against floors) make some instances infeasible, which is fine for a cross-check.
"""

from __future__ import annotations

import math

import numpy as np

from .random_instances import _expand, _r, random_instance


def _s_curve(rng, x_top):
    """A non-concave (S-shaped) curve from [0, 0] over [0, x_top]: slow start, steep middle."""
    n_pieces = int(rng.integers(2, 5))
    cuts = np.sort(rng.uniform(0.15, 0.95, size=n_pieces - 1))
    xs = [0.0] + [float(round(c * x_top, 1)) for c in cuts] + [float(round(x_top, 1))]
    xs = sorted(set(xs))
    while len(xs) < 3:                          # degenerate draw: fall back to thirds
        xs = [0.0, round(x_top / 3, 1) or 1.0, round(2 * x_top / 3, 1) or 2.0]
        xs = sorted(set(xs))
    k = len(xs) - 1
    slopes = list(rng.uniform(0.05, 0.3, size=k))
    peak = int(rng.integers(1, k)) if k > 1 else 0
    slopes[peak] = float(rng.uniform(1.0, 3.0))          # steeper than the first piece: not concave
    for j in range(peak + 1, k):
        slopes[j] = min(slopes[j], slopes[j - 1])
    if k > 2 and rng.random() < 0.3:
        slopes[-1] = 0.0
    incr = [s * (b - a) for s, a, b in zip(slopes, xs, xs[1:])]
    total = float(rng.uniform(0.1, 0.5))
    ys = [0.0]
    for inc in incr:
        ys.append(ys[-1] + inc * total / sum(incr))
    pts = [[float(x), float(round(min(1.0, y), 4))] for x, y in zip(xs, ys)]
    return pts


def _is_concave(points):
    slopes = [(y1 - y0) / (x1 - x0) for (x0, y0), (x1, y1) in zip(points, points[1:])]
    return all(b <= a + 1e-12 for a, b in zip(slopes, slopes[1:]))


def _pathway_need(data, p, years, base):
    """Patients arising at each source of pathway ``p`` per year (all of its segments)."""
    segs = p.get("segments") or [s["name"] for s in data["segments"]]
    pop = {s["name"]: _expand(s["population"], years, base) for s in data["segments"]}
    need = {}
    for node in p["nodes"]:
        if node["kind"] != "source":
            continue
        inc = node["incidence"]
        need[node["name"]] = {
            y: sum((inc.get(g, 0.0) if isinstance(inc, dict) else inc) * pop[g][y] for g in segs) for y in years
        }
    return need


def random_mip_instance(seed: int) -> dict:
    data = random_instance(seed)
    rng = np.random.default_rng([seed, 20240611])
    base = int(data["horizon"]["base_year"])
    n_years = int(data["horizon"]["years"])
    years = [base + k for k in range(1, n_years + 1)]
    all_years = [base] + years
    sector_names = [s if isinstance(s, str) else s["name"] for s in data["sectors"]]
    services = data["services"]
    unit_cost = {s["name"]: _expand(s["unit_cost"], all_years, base) for s in services}
    care_role = {n.get("service") for p in data["pathways"] for n in p["nodes"] if n["kind"] == "care"}

    # ---- new services with `opening`
    new_services = []
    effects = data.setdefault("prevention_effects", [])
    for j in range(int(rng.choice([0, 1, 1, 2, 2]))):
        name = f"new{j}"
        p = data["pathways"][int(rng.integers(0, len(data["pathways"])))]
        need = _pathway_need(data, p, years, base)
        total_need = max(sum(v[y] for v in need.values()) for y in years)
        svc = {"name": name, "baseline_activity": 0.0}
        programme = rng.random() < 0.35
        if programme:
            svc["sector"] = "prevention"
            cost = float(rng.uniform(10, 300))
            scale = max(1.0, total_need * rng.uniform(0.5, 2.0))
        else:
            svc["sector"] = str(rng.choice(sector_names))
            cares = [n.get("service") for n in p["nodes"] if n["kind"] == "care"]
            cost = float(np.mean([unit_cost[i][base] for i in cares])) * rng.uniform(0.2, 1.0)
            scale = max(1.0, total_need * rng.uniform(0.2, 0.8))
        svc["unit_cost"] = _r(cost, 2) if rng.random() < 0.6 else {"value": _r(cost, 2),
                                                                    "growth": _r(rng.uniform(0, 0.03), 3)}
        unit_cost[name] = _expand(svc["unit_cost"], all_years, base)
        cap_max = _r(scale, 1)
        svc["capacity"] = {"max": cap_max}
        if rng.random() < 0.3:
            svc["capacity"]["min"] = _r(cap_max * rng.uniform(0.05, 0.4), 1)
        opening = {}
        if rng.random() < 0.7:
            opening["opening_cost"] = _r(cost * cap_max * rng.uniform(0.05, 0.8), 0)
        if rng.random() < 0.5:
            rc = cost * cap_max * rng.uniform(0.01, 0.2)
            opening["running_cost"] = _r(rc, 0) if rng.random() < 0.5 else {y: _r(rc * rng.uniform(0.9, 1.1), 0)
                                                                            for y in years}
        if n_years > 1 and rng.random() < 0.4:
            opening["earliest_year"] = int(rng.choice(years))
        svc["opening"] = opening
        if rng.random() < 0.4:
            svc["max_growth"] = _r(rng.uniform(0.05, 0.4), 3)
        if rng.random() < 0.25:
            svc["max_shrink"] = _r(rng.uniform(0.05, 0.5), 3)
        if rng.random() < 0.4:
            svc["minimum_scale"] = _r(cap_max * rng.uniform(0.1, 0.6), 1)
        new_services.append(svc)
        if programme:
            srcs = [n["name"] for n in p["nodes"] if n["kind"] == "source"]
            eff = {"name": f"new_effect{j}", "service": name, "pathway": p["name"],
                   "sources": sorted(rng.choice(srcs, size=int(rng.integers(1, len(srcs) + 1)),
                                                replace=False).tolist()),
                   "lag": int(rng.integers(0, 3)),
                   "response": _s_curve(rng, cap_max * rng.uniform(0.4, 1.2))}
            if rng.random() < 0.3:
                eff["floor"] = _r(rng.uniform(0.3, 0.9), 3)
            effects.append(eff)
        else:
            node = f"{p['name']}_new{j}"
            frm = [n["name"] for n in p["nodes"] if n["kind"] != "sink"]
            sinks = [n["name"] for n in p["nodes"] if n["kind"] == "sink"]
            care = {"name": node, "kind": "care", "service": name}
            if rng.random() < 0.3:
                care["units_per_patient"] = _r(rng.uniform(0.5, 3.0), 2)
            p["nodes"].append(care)
            p["edges"].append({"from": str(rng.choice(frm)), "to": node,
                               "share": [0.0, _r(rng.uniform(0.2, 0.7), 2)]})
            p["edges"].append({"from": node, "to": str(rng.choice(sinks)), "share": 1})
    services.extend(new_services)

    # ---- minimum scale on some existing services
    for s in services[: len(services) - len(new_services)]:
        if rng.random() >= 0.2:
            continue
        level = max(s["baseline_activity"], 1.0)
        if s["sector"] == "prevention" and s["name"] not in care_role and rng.random() < 0.6:
            s.pop("non_pathway_activity", None)            # may now really fall to 0
            s.pop("max_shrink", None)
            if isinstance(s.get("capacity"), dict):
                s["capacity"].pop("min", None)
                if not s["capacity"]:
                    s.pop("capacity")
        m = level * rng.uniform(0.3, 1.1)
        cap = (s.get("capacity") or {}).get("max")
        if isinstance(cap, (int, float)):
            m = min(m, cap)
        s["minimum_scale"] = _r(m, 1)

    # ---- teams on one service
    if rng.random() < 0.6:
        s = services[int(rng.integers(0, len(services)))]
        level = max(s["baseline_activity"], (s.get("capacity") or {}).get("max", 0.0)
                    if isinstance((s.get("capacity") or {}).get("max", 0.0), (int, float)) else 0.0, 1.0)
        per = _r(level * rng.uniform(0.15, 0.5), 1) or 1.0
        cpt = per * unit_cost[s["name"]][base] * rng.uniform(0.02, 0.3)
        teams = {"activity_per_team": per}
        if rng.random() < 0.8:
            teams["cost_per_team"] = _r(cpt, 0) if rng.random() < 0.6 else {"value": _r(cpt, 0),
                                                                              "growth": _r(rng.uniform(0, 0.03), 3)}
        if rng.random() < 0.5:
            teams["max_teams"] = int(math.ceil(level * rng.uniform(0.9, 1.6) / per))
        s["teams"] = teams

    # ---- openings limit
    if new_services and rng.random() < 0.5:
        data["limits"] = {"max_openings_per_year": int(rng.choice([0, 1, 1, 1, 2]))}

    # ---- exact or S-shaped curves on existing effects
    for eff in effects:
        if eff["name"].startswith("new_effect"):
            if rng.random() < 0.2:
                eff["response_model"] = "exact"
            continue
        u = rng.random()
        if u < 0.3:
            eff["response_model"] = "exact"
        elif u < 0.55:
            eff["response"] = _s_curve(rng, float(eff["response"][-1][0]))
            if rng.random() < 0.3:
                eff["response_model"] = "auto"
    if not effects:
        data.pop("prevention_effects")

    # ---- objective: mostly min_cost
    if (data.get("objective") or {}).get("mode") == "max_outcome" and rng.random() < 0.5:
        data["objective"] = {"mode": "min_cost"}
    return data


def uses_exact_curves(data) -> bool:
    return any(e.get("response_model") == "exact" or not _is_concave(e["response"])
               for e in data.get("prevention_effects") or [])
