#!/usr/bin/env python
"""Write a valid, seeded budget-shift instance of a chosen size.

Shaped like a real system: services in prevention / community / acute sectors with non-pathway
demand, age segments with growing populations, several layered care pathways (sources, care
layers, sinks) with substitutable [min, max] edges and a readmission loop, prevention effects with
lags and concave responses, a +2 point prevention shift, and emergency-admission targets set a
little below the least-cost plan's level where admissions can fall (at it where they cannot), met
by a known plan so that they bind but stay feasible (see ``add_binding_targets``).

    python scripts/generate_instance.py --variables 100000 --out /tmp/gen100k.yaml
    python scripts/generate_instance.py --pathways 20 --nodes 12 --segments 6 --years 5 --out x.yaml

Large pathway tables are written to CSV beside the YAML (``{from_csv: ...}``).
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path

import numpy as np
import yaml

SECTORS = ["prevention", "community", "acute"]
SEGMENTS = ["0-17", "18-39", "40-55", "56-64", "65-84", "85+"]
SEG_POP = [390_000, 500_000, 370_000, 220_000, 315_000, 55_000]


def edges_per_pathway(nodes: int) -> int:
    """Edges the layered pathway generator makes for ``nodes`` nodes (for sizing)."""
    care = nodes - 3
    layers = _layers(care)
    n = 0
    prev = 1
    for width in layers:
        n += prev * width if prev * width <= 3 * max(prev, width) else 2 * max(prev, width)
        prev = width
    return n + prev * 2 + 1


def _layers(care: int) -> list[int]:
    width = max(1, int(round(math.sqrt(care))))
    out, left = [], care
    while left > 0:
        w = min(width, left)
        out.append(w)
        left -= w
    return out


def generate(pathways: int = 3, nodes: int = 9, services: int = 12, segments: int = 6, years: int = 5,
             seed: int = 0, csv_dir: Path | None = None, stem: str = "gen") -> dict:
    rng = np.random.default_rng(seed)
    base_year = 2025
    segs = SEGMENTS[:segments] if segments <= 6 else [f"seg{k}" for k in range(segments)]
    pops = SEG_POP[:segments] if segments <= 6 else list(rng.integers(50_000, 500_000, segments))

    # services: 20% prevention, 35% community, rest acute
    n_prev = max(1, services // 5)
    n_comm = max(1, int(services * 0.35))
    sector_of = ["prevention"] * n_prev + ["community"] * n_comm + ["acute"] * (services - n_prev - n_comm)
    # big acute providers cannot be cut fast: every third service, if acute, has a shrink limit
    svc = [_service(rng, f"{sector[:4]}_{k}", sector, shrink=sector == "acute" and k % 3 == 0)
           for k, sector in enumerate(sector_of)]
    by_sector = {s: [x["name"] for x in svc if x["sector"] == s] for s in SECTORS}

    pw_list, effects, adm_terms = [], [], []
    usage = {s["name"]: 0.0 for s in svc}  # base-year pathway use, to set baselines
    for p in range(pathways):
        name = f"pathway_{p}"
        prev_svc = by_sector["prevention"][p % len(by_sector["prevention"])]
        pw, effect, terms = _pathway(rng, name, f"effect_{p}", nodes, segs, pops, by_sector, prev_svc, usage)
        pw_list.append(pw)
        effects.append(effect)
        adm_terms += terms
    _size_baselines(rng, svc, usage)
    base_spend = sum(s["baseline_activity"] * s["unit_cost"]["value"] for s in svc)

    seg_rows = [{"name": s, "population": {"value": int(pop), "growth": round(float(rng.uniform(0, 0.02)), 4)}}
                for s, pop in zip(segs, pops)]
    return _document(f"generated (seed {seed}, {pathways} pathways x {nodes} nodes, {services} services)",
                     base_year, years, base_spend, svc, seg_rows, pw_list, effects, adm_terms, csv_dir, stem)


def generate_places(places: int = 30, pathways_per_place: int = 1, nodes: int = 12, segments: int = 6,
                    years: int = 5, seed: int = 0, places_per_system: int = 30, acute_per_system: int = 4,
                    csv_dir: Path | None = None, stem: str = "gen") -> dict:
    """Many places (PCN-like localities) under one pooled budget, grouped into systems.

    Each place has its own population (six age segments of 25k-60k people in all), its own
    prevention service and three community services, and its own pathways (on its own segments);
    the acute care on its pathways is delivered by its system's ``acute_per_system`` hospital
    trusts, shared by the ``places_per_system`` places of the system (about 42 systems of 30 places
    for England's ~1,250 PCNs). Only each system's largest trust has a shrink limit. One edge of each
    split on a pathway is clinically bounded, the others take the rest (so about one constraint row
    per flow variable, against two in the system mix). One pooled
    budget, one +2 point prevention shift and one admissions outcome span every place.
    """
    rng = np.random.default_rng(seed)
    base_year = 2025
    ages = SEGMENTS[:segments] if segments <= 6 else [f"seg{k}" for k in range(segments)]
    weights = np.array(SEG_POP[:segments] if segments <= 6 else [1.0] * segments, dtype=float)
    weights /= weights.sum()
    n_systems = max(1, math.ceil(places / places_per_system))
    svc, trusts = [], []
    for j in range(n_systems):
        names = []
        for k in range(acute_per_system):
            svc.append(_service(rng, f"acute_s{j}_{k}", "acute", shrink=k == 0))
            names.append(svc[-1]["name"])
        trusts.append(names)
    pw_list, effects, adm_terms, seg_rows = [], [], [], []
    usage = {s["name"]: 0.0 for s in svc}
    for i in range(places):
        place = f"p{i:04d}"
        local = [_service(rng, f"prev_{place}", "prevention", shrink=False)] + \
            [_service(rng, f"comm_{place}_{k}", "community", shrink=False) for k in range(3)]
        svc += local
        usage.update({s["name"]: 0.0 for s in local})
        segs = [f"{place}_{a}" for a in ages]
        pops = [int(w * rng.uniform(25_000, 60_000)) for w in weights]
        seg_rows += [{"name": s, "population": {"value": pop, "growth": round(float(rng.uniform(0, 0.02)), 4)}}
                     for s, pop in zip(segs, pops)]
        by_sector = {"community": [s["name"] for s in local[1:]], "acute": trusts[i // places_per_system]}
        for k in range(pathways_per_place):
            name = f"{place}_pw{k}"
            pw, effect, terms = _pathway(rng, name, f"effect_{place}_{k}", nodes, segs, pops, by_sector,
                                         local[0]["name"], usage, one_bounded=True)
            pw["segments"] = segs
            pw_list.append(pw)
            effects.append(effect)
            adm_terms += terms
    _size_baselines(rng, svc, usage)
    base_spend = sum(s["baseline_activity"] * s["unit_cost"]["value"] for s in svc)
    return _document(f"generated places (seed {seed}, {places} places x {pathways_per_place} pathways x {nodes} "
                     f"nodes, {n_systems} systems)", base_year, years, base_spend, svc, seg_rows, pw_list, effects,
                     adm_terms, csv_dir, stem)


def _document(name, base_year, years, base_spend, svc, seg_rows, pw_list, effects, adm_terms, csv_dir, stem) -> dict:
    """The instance mapping both mixes share: a pool of 1.4 x base-year spend growing 3% a year, a
    2-point prevention shift and an emergency-admissions outcome (patients reaching a pathway's first
    two acute care nodes; when no pathway drew any acute care, its first care node instead, as an
    outcome needs at least one term)."""
    if not adm_terms:
        adm_terms = [{"pathway": p["name"], "node": next(n["name"] for n in p["nodes"] if n["kind"] == "care")}
                     for p in pw_list]
    data = {
        "format_version": 1,
        "name": name,
        "horizon": {"base_year": base_year, "years": years, "discount_rate": 0.035},
        "budget": {"pooled": {"value": round(base_spend * 1.4, 0), "growth": 0.03}},
        "sectors": SECTORS,
        "services": svc,
        "segments": seg_rows,
        "pathways": pw_list,
        "prevention_effects": effects,
        "shift_policies": [{"kind": "share", "name": "prevention_shift", "sectors": ["prevention"],
                            "increase_pp": 2.0}],
        "outcomes": [{"name": "emergency_admissions", "unit": "admissions", "terms": adm_terms}],
    }
    if csv_dir is not None:
        _pathways_to_csv(data, csv_dir, stem)
    return data


def _service(rng, name: str, sector: str, shrink: bool) -> dict:
    """One service: unit cost by sector, cost growth, a growth limit (and a shrink limit if asked)."""
    cost = {"prevention": rng.uniform(30, 300), "community": rng.uniform(20, 150),
            "acute": rng.uniform(250, 2500)}[sector]
    out = {
        "name": name, "sector": sector,
        "unit_cost": {"value": round(float(cost), 2), "growth": round(float(rng.uniform(0.01, 0.03)), 4)},
        "baseline_activity": 0.0,
        "non_pathway_activity": 0.0,
        "max_growth": 0.6 if sector == "prevention" else round(float(rng.uniform(0.08, 0.15)), 3),
    }
    if shrink:
        out["max_shrink"] = round(float(rng.uniform(0.03, 0.06)), 3)
    return out


def _pathway(rng, name: str, effect_name: str, nodes: int, segs: list[str], pops: list, by_sector: dict,
             prev_svc: str, usage: dict, one_bounded: bool = False) -> tuple[dict, dict, list]:
    """One layered pathway (onset, care layers, recovered/died) with substitutable [min, max] edges
    and a readmission loop; its prevention effect (driven by ``prev_svc``) and its admission terms.
    Adds the pathway's rough base-year use of each service to ``usage``.

    By default every edge of a split has its own [min, max] share. With ``one_bounded``, one edge of
    each split is the clinically bounded one (between min and max, at most max, or at least min)
    and the others take the rest (share [0, 1]); deaths are at most a share."""
    care_n = nodes - 3
    layers = _layers(care_n)
    node_rows = [{"name": "onset", "kind": "source", "description": "",
                  "incidence": {s: round(float(rng.uniform(0.001, 0.02)), 6) for s in segs}}]
    layer_names = []
    k = 0
    for li, width in enumerate(layers):
        names = []
        for _ in range(width):
            sector = "community" if rng.random() < 0.5 else "acute"
            service = by_sector[sector][int(rng.integers(len(by_sector[sector])))]
            nm = f"care_{k}"
            node_rows.append({"name": nm, "kind": "care", "service": service,
                              "units_per_patient": round(float(rng.uniform(1, 8)), 3)})
            names.append(nm)
            k += 1
        layer_names.append(names)
    node_rows += [{"name": "recovered", "kind": "sink"}, {"name": "died", "kind": "sink"}]
    edge_rows = []

    def connect(src_list, dst_list):
        for a_i, a in enumerate(src_list):
            if len(src_list) * len(dst_list) <= 3 * max(len(src_list), len(dst_list)):
                targets = dst_list
            else:
                targets = sorted({dst_list[a_i % len(dst_list)], dst_list[(a_i + 1) % len(dst_list)]})
            m = len(targets)
            if m == 1:
                edge_rows.append({"from": a, "to": targets[0], "share": 1.0})
                continue
            w = rng.dirichlet(np.ones(m))
            if one_bounded:
                chosen, kind = int(rng.integers(m)), rng.random()
                for j, t in enumerate(targets):
                    lo = round(float(w[j] * 0.6), 4)
                    hi = round(float(min(1.0, w[j] * 1.6 + 0.05)), 4)
                    share = [0.0, 1.0] if j != chosen else [lo, hi] if kind < 0.5 else [0.0, hi] if kind < 0.75 \
                        else [lo, 1.0]
                    edge_rows.append({"from": a, "to": t, "share": share})
                continue
            for j, t in enumerate(targets):
                lo = round(float(w[j] * 0.6), 4)
                hi = round(float(min(1.0, w[j] * 1.6 + 0.05)), 4)
                edge_rows.append({"from": a, "to": t, "share": [lo, hi]})

    connect(["onset"], layer_names[0])
    for a, b in zip(layer_names, layer_names[1:]):
        connect(a, b)
    last = layer_names[-1]
    rest = [0.0, 1.0] if one_bounded else None
    for a in last:
        edge_rows.append({"from": a, "to": "recovered", "share": rest or [0.8, 0.97]})
        edge_rows.append({"from": a, "to": "died", "share": [0.0, 0.2] if one_bounded else [0.03, 0.2]})
    # a readmission loop: last layer's first node back to the first layer's first node
    if len(layer_names) > 1:
        a = last[0]
        edge_rows = [e for e in edge_rows if not (e["from"] == a)]
        edge_rows += [{"from": a, "to": "recovered", "share": rest or [0.75, 0.9]},
                      {"from": a, "to": "died", "share": [0.0, 0.1] if one_bounded else [0.03, 0.1]},
                      {"from": a, "to": layer_names[0][0], "share": [0.02, 0.1]}]
    # rough base-year use (midpoint shares, normalised per node, ignoring loops) to size baselines
    pop_need = sum(node_rows[0]["incidence"][s] * pop for s, pop in zip(segs, pops))
    per_node = {"onset": pop_need}
    mid_sum: dict[str, float] = {}
    for e in edge_rows:
        lo, hi = (e["share"], e["share"]) if isinstance(e["share"], float) else e["share"]
        mid_sum[e["from"]] = mid_sum.get(e["from"], 0.0) + (lo + hi) / 2
    for e in edge_rows:
        lo, hi = (e["share"], e["share"]) if isinstance(e["share"], float) else e["share"]
        mid = (lo + hi) / 2 / (mid_sum[e["from"]] if one_bounded else 1.0)
        per_node[e["to"]] = per_node.get(e["to"], 0.0) + per_node.get(e["from"], 0.0) * mid
    for n in node_rows:
        if n["kind"] == "care":
            usage[n["service"]] += per_node.get(n["name"], 0.0) * n["units_per_patient"]
    acute_nodes = [n["name"] for n in node_rows if n["kind"] == "care" and n["service"].startswith("acut")]
    adm_terms = [{"pathway": name, "node": n} for n in acute_nodes[:2]]
    x1 = round(float(rng.uniform(0.5, 2.0) * pop_need), 1) + 1.0
    y1 = round(float(rng.uniform(0.05, 0.15)), 4)
    y2 = round(y1 * float(rng.uniform(1.3, 1.9)), 4)  # second piece flatter: concave
    effect = {
        "name": effect_name, "service": prev_svc, "pathway": name, "sources": ["onset"],
        "lag": int(rng.integers(0, 3)), "floor": 0.6,
        "response": [[0, 0], [x1, y1], [3 * x1, y2]],
    }
    return {"name": name, "nodes": node_rows, "edges": edge_rows}, effect, adm_terms


def _size_baselines(rng, svc: list[dict], usage: dict) -> None:
    """Baseline activity = pathway use + non-pathway demand; capacity with room to grow; prevention
    at about 4% of base-year spend, half of it committed (non-pathway) activity."""
    for s in svc:
        used = usage[s["name"]]
        other = used * float(rng.uniform(0.5, 3.0)) + 1000.0
        s["non_pathway_activity"] = round(other, 1)
        s["baseline_activity"] = round(used + other, 1)
        room = 10.0 if s["sector"] == "prevention" else 2.5
        s["capacity"] = {"max": round(room * (used + other), 1)}
    # prevention: about 4% of base-year spend, half of it committed (non-pathway) activity
    other_spend = sum(s["baseline_activity"] * s["unit_cost"]["value"] for s in svc if s["sector"] != "prevention")
    prev = [s for s in svc if s["sector"] == "prevention"]
    for s in prev:
        s["baseline_activity"] = round(0.04 / 0.96 * other_spend / len(prev) / s["unit_cost"]["value"], 1)
        s["non_pathway_activity"] = round(0.5 * s["baseline_activity"], 1)
        s["capacity"] = {"max": round(10 * s["baseline_activity"], 1)}


def _pathways_to_csv(data: dict, csv_dir: Path, stem: str) -> None:
    """Move each pathway's node and edge lists into CSV files (one pair for all is not allowed by
    the format, so one pair per pathway)."""
    csv_dir.mkdir(parents=True, exist_ok=True)
    for p in data["pathways"]:
        for part in ("nodes", "edges"):
            rows = p[part]
            file = f"{stem}_{p['name']}_{part}.csv"
            cols = ["name", "kind", "service", "units_per_patient", "incidence"] if part == "nodes" else \
                ["from", "to", "share"]
            _write_csv(csv_dir / file, cols, rows)
            p[part] = {"from_csv": file}


def _flatten(rec: dict, prefix: str = "") -> dict:
    """{'unit_cost': {'value': 1, 'growth': 0.02}} -> {'unit_cost.value': 1, 'unit_cost.growth': 0.02}."""
    out = {}
    for k, v in rec.items():
        if isinstance(v, dict) and v and all(isinstance(x, str) for x in v):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _items_to_csv(data: dict, csv_dir: Path, stem: str, sections=("services", "segments")) -> None:
    """Move long item lists (services, segments) into one CSV table each, nested fields as dotted
    columns (unit_cost.value, capacity.max): spreadsheet-shaped, and far quicker to read than YAML."""
    csv_dir.mkdir(parents=True, exist_ok=True)
    for section in sections:
        rows = [_flatten(r) for r in data[section]]
        cols = list(dict.fromkeys(k for r in rows for k in r))
        file = f"{stem}_{section}.csv"
        _write_csv(csv_dir / file, cols, rows)
        data[section] = {"from_csv": file}


def _write_csv(path: Path, cols: list[str], rows: list[dict]) -> None:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for r in rows:
            w.writerow([_cell(r.get(c)) for c in cols])


def _cell(v):
    if v is None:
        return ""
    if isinstance(v, (dict, list)):
        return yaml.safe_dump(v, default_flow_style=True, width=10**9).strip()
    return v


def add_binding_targets(data: dict, tightness: float = 0.98) -> dict:
    """Set yearly admission targets a little below the least-cost plan's admissions, so they bind,
    and met by a known plan, so the instance stays feasible.

    The least-cost plan F is solved without targets (when no plan exists at all, the drawn growth and
    shrink limits are first widened just enough: see :func:`_widen_stability_limits`). Then, as
    before (so settings that worked give the same files): targets at ``tightness``, 0.995 and 1.0 of
    F's admissions, rounded to 3 decimals, each kept if a solve finds a plan. Those are guesses, and
    in many settings all fail: rounding can put even the 1.0 target a hair below F, and often no
    plan admits fewer patients than F at all (acute care is both the dearest care and the admitting
    care, so the cheapest plan already admits fewest). The targets are then built from two plans:
    F and B, the plan with the fewest admissions (``max_outcome`` on admissions). Every mix
    (1 - t) F + t B keeps every other rule (the generated programme is linear: no whole-number
    choices), and its admissions are (1 - t) a_F + t a_B year by year; targets rounded *up* from
    those are met by that mix. ``t`` puts the total admissions ``1 - tightness`` below F's, or at B's
    when they cannot fall that far (then the targets bind as tightly as the instance allows)."""
    import copy

    import optimiser

    def solve(d):
        return optimiser.solve(optimiser.load_data(copy.deepcopy(d), file="<generated>"))

    r = solve(data)
    if not r.has_plan and r.status.value == "infeasible":
        _widen_stability_limits(data)
        r = solve(data)
    if not r.has_plan:
        raise SystemExit(f"generated instance is {r.status.value} before targets; try another seed")
    free = r.outcomes.set_index("year")["value"]
    for tight in (tightness, 0.995, 1.0):
        data["targets"] = [{"outcome": "emergency_admissions", "year": int(y), "at_most": round(float(v) * tight, 3)}
                           for y, v in free.items()]
        if solve(data).has_plan:
            return data
    del data["targets"]
    fewest = copy.deepcopy(data)
    fewest["objective"] = {"mode": "max_outcome", "weights": {"emergency_admissions": 1.0}}
    b = solve(fewest)
    best = b.outcomes.set_index("year")["value"].reindex(free.index) if b.has_plan else free
    room = float((free - best).sum())
    t = min(1.0, (1.0 - tightness) * float(free.sum()) / room) if room > 0 else 0.0
    data["targets"] = [{"outcome": "emergency_admissions", "year": int(y),
                        "at_most": math.ceil(((1 - t) * float(free[y]) + t * float(best[y])) * 1000) / 1000}
                       for y in free.index]
    if not solve(data).has_plan:  # not expected: a mix of two plans meets them
        raise SystemExit("the admission targets built from two plans have no plan (a numerical edge case); "
                         "try another seed, or --no-targets")
    return data


def _widen_stability_limits(data: dict) -> None:
    """Widen the services' growth and shrink limits (``max_growth``, ``max_shrink``) by the smallest
    relaxation of those limits alone that gives a plan (``optimiser.explain``'s elastic programme),
    each rounded up to 3 decimals. Needed when the base-year use, estimated from midpoint edge
    shares without the readmission loop, leaves a service less room to grow in the first year than
    its pathways need."""
    import copy

    import optimiser

    ex = optimiser.explain(optimiser.load_data(copy.deepcopy(data), file="<generated>"), conflict=False)
    rows = ex.relaxation
    rows = rows[rows["scope"] == "stability alone"] if len(rows) else rows
    services = {s["name"]: s for s in data["services"]}
    for r in rows.itertuples():
        if r.bound_type in ("max_growth", "max_shrink") and r.item in services and math.isfinite(r.relaxed_bound):
            limit = math.ceil(float(r.relaxed_bound) * 10) / 1000  # percent -> fraction, rounded up
            services[r.item][r.bound_type] = max(limit, services[r.item].get(r.bound_type, 0.0))


def size_for(variables: int, segments: int = 6, years: int = 5, nodes: int = 12) -> int:
    """Pathways needed for about ``variables`` flow variables."""
    return max(1, round(variables / (edges_per_pathway(nodes) * segments * years)))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variables", type=int,
                    help="aim for about this many variables (sets --pathways, or --places with --mix places)")
    ap.add_argument("--mix", choices=("system", "places"), default="system",
                    help="system: one system's pathways sharing --services services (the default); places: "
                         "many PCN-like places, each with its own services, segments and pathways")
    ap.add_argument("--pathways", type=int, default=3)
    ap.add_argument("--nodes", type=int, default=12, help="nodes per pathway (>= 4)")
    ap.add_argument("--services", type=int, default=40, help="services of the system mix")
    ap.add_argument("--places", type=int, default=30, help="places of the places mix")
    ap.add_argument("--pathways-per-place", type=int, default=1)
    ap.add_argument("--places-per-system", type=int, default=30,
                    help="places sharing one system's acute trusts (places mix)")
    ap.add_argument("--segments", type=int, default=6)
    ap.add_argument("--years", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-targets", action="store_true", help="skip the binding admission targets (and the solves they take, including "
                    "the check that the instance has a plan)")
    ap.add_argument("--csv", action="store_true", help="write pathway nodes and edges, services and segments "
                    "as CSV beside the YAML")
    ap.add_argument("--out", required=True, type=Path)
    a = ap.parse_args(argv)
    if a.nodes < 4:
        ap.error("--nodes must be at least 4")
    if a.mix == "system" and a.services < 3:
        ap.error("--services must be at least 3 (one prevention, one community and one acute service)")
    for flag in ("pathways", "segments", "years", "places", "pathways_per_place", "places_per_system"):
        if getattr(a, flag) < 1:
            ap.error(f"--{flag.replace('_', '-')} must be at least 1")
    if a.mix == "places":
        places = max(1, round(size_for(a.variables, a.segments, a.years, a.nodes) / a.pathways_per_place)) \
            if a.variables else a.places
        data = generate_places(places, a.pathways_per_place, a.nodes, a.segments, a.years, a.seed,
                               places_per_system=a.places_per_system)
        what = f"{places} places x {a.pathways_per_place} pathways x {a.nodes} nodes"
    else:
        pathways = size_for(a.variables, a.segments, a.years, a.nodes) if a.variables else a.pathways
        data = generate(pathways, a.nodes, a.services, a.segments, a.years, a.seed)
        what = f"{pathways} pathways x {a.nodes} nodes, {a.services} services"
    if not a.no_targets:
        data = add_binding_targets(data)
    if a.csv:
        _pathways_to_csv(data, a.out.parent, a.out.stem)
        _items_to_csv(data, a.out.parent, a.out.stem)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(yaml.safe_dump(data, sort_keys=False, width=120))
    print(f"wrote {a.out}: {what}, {a.segments} segments, {a.years} years", file=sys.stderr)


if __name__ == "__main__":
    main()
