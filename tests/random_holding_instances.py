"""Small random instances with budget holders, places, ring fences, capitation and equity rules.

``random_holding_instance(seed)`` starts from ``random_instance(seed)`` (tests/random_instances.py)
or, for about one seed in five, ``random_mip_instance(seed)`` (tests/random_mip_instances.py), and
with a second random stream:

* cuts the horizon to 1-3 planning years (year mappings and targets trimmed to match);
* makes 2-3 places: segments are split (population shared between the two halves, so the
  nominal flows are unchanged) until there is at least one per place, every place gets a
  segment, a few segments stay without a place; some services get a place, the rest are shared;
* with probability 0.8, 2-3 budget holders replace ``budget.pooled``: each sector to one holder,
  a holder with no sector names a service, sometimes a service is named away from its sector's
  holder; the budgets are mostly each holder's spend in the reference's optimal pooled plan
  times 0.8-1.15, topped up so that they add up to at least that plan's spend (so pooling has
  a value: siloed and partial plans bind, cost more or are infeasible), otherwise the pooled
  budget split by those spends with noise; sometimes one or two pooled funds (contributions
  0-0.4, sometimes exactly 0) and a random ``arrangement``;
* sometimes ring fences (``segments`` / ``places`` / ``services`` / ``sectors`` scopes,
  ``at_least`` and / or ``at_most``, ``years``), capitation (``per_head``, ``by_place``) and
  equity rules (``spend_per_head`` or ``outcome_rate``, ``max_ratio`` and / or ``max_gap``),
  their limits drawn around the values they take in the reference's optimal plan of the
  instance so far (factors either side of 1: some bind, some do not, some are infeasible).

Every instance is valid (tests/test_reference_holdings.py loads each with ``optimiser.load_data``).
``arrangements(data)`` lists the arrangements an instance can be solved under (``partial`` only
with a pooled fund) and ``with_arrangement(data, a)`` sets one.
"""

from __future__ import annotations

import copy

import numpy as np

from .random_instances import _expand, _r, random_instance
from .random_mip_instances import random_mip_instance
from .reference_mip import evaluate, reference_plan


def _is_year_map(d) -> bool:
    return isinstance(d, dict) and d and all(isinstance(k, (int, np.integer)) for k in d)


def _trim_years(obj, final):
    """Drop years after ``final`` from every year mapping in ``obj`` (in place)."""
    if isinstance(obj, dict):
        if _is_year_map(obj):
            for y in [y for y in obj if y > final]:
                del obj[y]
            return
        for v in obj.values():
            _trim_years(v, final)
    elif isinstance(obj, list):
        for v in obj:
            _trim_years(v, final)


def _cut_horizon(data, n_years):
    base = int(data["horizon"]["base_year"])
    final = base + n_years
    data["horizon"]["years"] = n_years
    _trim_years(data, final)
    targets = []
    for t in data.get("targets") or []:
        if t.get("year") is not None:
            if t["year"] > final:
                continue
        elif t["years"] != "all":
            t["years"] = [y for y in t["years"] if y <= final]
            if not t["years"]:
                continue
        targets.append(t)
    if targets:
        data["targets"] = targets
    else:
        data.pop("targets", None)
    for s in data["services"]:
        op = s.get("opening")
        if op and op.get("earliest_year") is not None and op["earliest_year"] > final:
            op["earliest_year"] = final


def _scale_values(spec, f):
    if isinstance(spec, dict) and "value" in spec:
        return {**spec, "value": _r(spec["value"] * f, 3)}
    if isinstance(spec, dict):
        return {y: _r(v * f, 3) for y, v in spec.items()}
    return _r(spec * f, 3)


def _split_segment(data, g, new):
    """Split segment ``g`` in two: ``new`` takes a share of its population, everything else alike."""
    seg = next(s for s in data["segments"] if s["name"] == g)
    f = 0.5 if not isinstance(seg["population"], (int, float)) else 0.4
    clone = {"name": new, "population": _scale_values(seg["population"], f)}
    seg["population"] = _scale_values(seg["population"], 1 - f)
    data["segments"].append(clone)
    for p in data["pathways"]:
        if p.get("segments") is not None and g in p["segments"]:
            p["segments"].append(new)
        for node in p["nodes"]:
            inc = node.get("incidence")
            if isinstance(inc, dict) and g in inc:
                inc[new] = inc[g]
    for eff in data.get("prevention_effects") or []:
        if eff.get("segments") is not None and g in eff["segments"]:
            eff["segments"].append(new)
    for o in data.get("outcomes") or []:
        for term in o["terms"]:
            if term.get("segments") is not None and g in term["segments"]:
                term["segments"].append(new)


def _add_places(rng, data):
    n_places = int(rng.integers(2, 4))
    places = [f"place{k}" for k in range(n_places)]
    k = 0
    while len(data["segments"]) < n_places:
        g = data["segments"][int(rng.integers(0, len(data["segments"])))]["name"]
        _split_segment(data, g, f"{g}_part{k}")
        k += 1
    segs = list(data["segments"])
    order = rng.permutation(len(segs))
    for j, idx in enumerate(order):
        if j < n_places:
            segs[idx]["place"] = places[j]
        elif rng.random() < 0.8:
            segs[idx]["place"] = str(rng.choice(places))
    for s in data["services"]:
        if rng.random() < 0.4:
            s["place"] = str(rng.choice(places))
    data["places"] = [{"name": p} for p in places]
    return places


def _sector_names(data):
    return [s if isinstance(s, str) else s["name"] for s in data["sectors"]]


def _add_holders(rng, data, plan):
    """Holders replacing budget.pooled, split by each one's spend in ``plan`` (or baseline spend)."""
    base = int(data["horizon"]["base_year"])
    years = [base + k for k in range(1, int(data["horizon"]["years"]) + 1)]
    all_years = [base] + years
    pooled = _expand(data["budget"]["pooled"], years, base)
    sectors = _sector_names(data)
    n_h = int(rng.integers(2, 4))
    names = [f"holder{k}" for k in range(n_h)]
    holders = {h: {"name": h, "sectors": [], "services": []} for h in names}
    for sec in sectors:
        holders[names[int(rng.integers(0, n_h))]]["sectors"].append(sec)
    services = [s["name"] for s in data["services"]]
    sector_of = {s["name"]: s["sector"] for s in data["services"]}
    free = list(rng.permutation(services))          # each service named by one holder at most
    for h in names:
        if not holders[h]["sectors"]:
            holders[h]["services"].append(str(free.pop()))
    if free and rng.random() < 0.3:
        holders[names[int(rng.integers(0, n_h))]]["services"].append(str(free.pop()))
    named = {i: h for h in names for i in holders[h]["services"]}
    by_sector = {sec: h for h in names for sec in holders[h]["sectors"]}
    holder_of = {i: named.get(i, by_sector.get(sector_of[i])) for i in services}
    # every holder must hold a service (validation rejects a holder of nothing): name one away from
    # a holder with several
    for h in names:
        if h in holder_of.values():
            continue
        counts = {g: sum(1 for i in services if holder_of[i] == g) for g in names}
        spare = [i for i in services if counts[holder_of[i]] > 1 and i not in named]
        if spare:
            i = spare[int(rng.integers(0, len(spare)))]
            holders[h]["services"].append(i)
            named[i] = h
            holder_of[i] = h

    # weights: each holder's spend in the plan (or at baseline activity) per year
    if plan is not None:
        x, probe = plan
        weight = {h: {t: evaluate(probe["attributable"](set(), {i for i in services if holder_of[i] == h},
                                                          None, t), x) for t in years} for h in names}
    else:
        cost = {s["name"]: _expand(s["unit_cost"], all_years, base) for s in data["services"]}
        base_act = {s["name"]: s["baseline_activity"] for s in data["services"]}
        weight = {h: {t: sum(cost[i][t] * base_act[i] for i in services if holder_of[i] == h) for t in years}
                  for h in names}
    budget = {h: {} for h in names}
    if plan is not None and rng.random() < 0.6:
        # tight: each holder near its spend in the optimal pooled plan, some short, and the
        # total at least that plan's spend (so the pooled plan stays feasible, and siloed plans
        # must substitute across holders, cost more, or are infeasible)
        factor = {h: rng.uniform(0.9, 1.2) for h in names}
        slack = rng.uniform(1.02, 1.3)
        donor = max(names, key=lambda h: factor[h])
        for t in years:
            total = sum(weight[h][t] for h in names)
            for h in names:
                budget[h][t] = weight[h][t] * factor[h] + 0.02 * total / n_h
            budget[donor][t] += max(0.0, slack * total - sum(budget[h][t] for h in names))
    else:
        # loose: the pooled budget split by those weights, with noise
        for h in names:
            noise = rng.uniform(0.8, 1.25)
            for t in years:
                total = sum(weight[g][t] for g in names)
                share = weight[h][t] / total if total > 0 else 1.0 / n_h
                budget[h][t] = pooled[t] * share * noise
    out = []
    for h in names:
        values = {t: _r(v + 1.0, 0) for t, v in budget[h].items()}
        spec = values if rng.random() < 0.7 else max(values.values())
        item = {"name": h, "budget": spec}
        if holders[h]["sectors"]:
            item["sectors"] = holders[h]["sectors"]
        if holders[h]["services"]:
            item["services"] = holders[h]["services"]
        out.append(item)
    data["budget"] = {"holders": out}

    funds = []
    if rng.random() < 0.65:
        members = list(rng.permutation(names)[: int(rng.integers(2, n_h + 1))])
        if n_h == 3 and len(members) == 2 and rng.random() < 0.4:
            rest = [h for h in names if h not in members]
            groups = [members, rest]
        else:
            groups = [members]
        for k, group in enumerate(groups):
            contrib = {str(h): (0.0 if rng.random() < 0.15 else _r(rng.uniform(0.01, 0.4), 3)) for h in group}
            funds.append({"name": f"fund{k}", "contributions": contrib})
        data["budget"]["pooled_funds"] = funds
    choices = ["pooled", "siloed"] + (["partial"] if funds else [])
    arrangement = str(rng.choice(choices + [None]))
    if arrangement != "None":
        data["budget"]["arrangement"] = arrangement


def _pick(rng, items, lo=1):
    items = list(items)
    m = int(rng.integers(lo, len(items) + 1))
    return sorted(str(v) for v in rng.choice(items, size=m, replace=False))


def _rule_years(rng, years):
    if len(years) > 1 and rng.random() < 0.3:
        return _pick(rng, years)
    return "all"


def _values_spec(rng, values: dict, pick):
    """A YearValues around ``values`` (year -> number): one number (``pick`` of them) or a mapping."""
    if rng.random() < 0.5:
        return _r(pick(values.values()), 2)
    return {int(t): _r(v, 2) for t, v in values.items()}


def _keep_only(scope: dict, key: str, allowed) -> None:
    """Keep the members of ``scope[key]`` that ``allowed`` accepts; drop the key when none are left."""
    kept = [v for v in scope.pop(key, []) if allowed(v)]
    if kept:
        scope[key] = kept


def _scope(rng, data, places):
    segs = [s["name"] for s in data["segments"]]
    services = [s["name"] for s in data["services"]]
    scope = {}
    u = rng.random()
    if u < 0.35:
        scope["places"] = _pick(rng, places)
    elif u < 0.65:
        scope["segments"] = _pick(rng, segs)
    elif u < 0.8:
        scope["services"] = _pick(rng, services)
    else:
        scope["segments"] = _pick(rng, segs)
        scope["services"] = _pick(rng, services)
    if rng.random() < 0.3:
        scope["sectors"] = _pick(rng, _sector_names(data))
    return scope


def _members(data, scope):
    segs = set(scope.get("segments") or [])
    whole = set(scope.get("services") or [])
    for pl in scope.get("places") or []:
        segs |= {s["name"] for s in data["segments"] if s.get("place") == pl}
        whole |= {s["name"] for s in data["services"] if s.get("place") == pl}
    sectors = scope.get("sectors")
    return segs, whole, None if sectors is None else set(sectors)


def _add_rules(rng, data, places, plan):
    x, probe = plan
    years = probe["years"]
    attributable = probe["attributable"]

    fences = []
    for k in range(int(rng.choice([0, 0, 1, 1, 2]))):
        scope = _scope(rng, data, places)
        ys = _rule_years(rng, years)
        segs, whole, sectors = _members(data, scope)
        # a mapping must give every planning year, whatever ``years`` says
        value = {t: evaluate(attributable(segs, whole, sectors, t), x) for t in years}
        rule = {"name": f"fence{k}", **scope}
        kind = rng.choice(["at_most", "at_least", "both"])
        if kind in ("at_most", "both"):
            f = rng.uniform(0.92, 1.3)
            rule["at_most"] = _values_spec(rng, {t: v * f for t, v in value.items()}, max)
        if kind in ("at_least", "both"):
            f = rng.uniform(0.8, 1.2) if kind == "at_least" else rng.uniform(0.6, 0.85)
            rule["at_least"] = _values_spec(rng, {t: v * f for t, v in value.items()}, min)
        if kind == "both":            # at_least <= at_most in every year, as validation requires
            hi = _expand(rule["at_most"], years, 0)
            lo = _expand(rule["at_least"], years, 0)
            if any(lo[t] > hi[t] for t in years):
                rule.pop("at_least")
        if ys != "all":
            rule["years"] = [int(y) for y in ys]
        fences.append(rule)
    if fences:
        data["ring_fences"] = fences

    caps = []
    for k in range(int(rng.choice([0, 0, 1, 1, 2]))):
        scope = _scope(rng, data, places)
        if not scope.get("segments") and not scope.get("places"):
            scope["segments"] = _pick(rng, [s["name"] for s in data["segments"]])
        by_place = bool(rng.random() < 0.5)
        if by_place:                  # validation: by_place needs its segments and services placed
            for key, items in (("segments", data["segments"]), ("services", data["services"])):
                _keep_only(scope, key, {i["name"] for i in items if i.get("place")}.__contains__)
            if not scope.get("segments") and not scope.get("places"):
                scope["places"] = _pick(rng, places)
            # validation: a named service must sit in a place that has some of the segments
            seg_places = {v.get("place") for v in data["segments"] if v["name"] in scope.get("segments", [])}
            seg_places |= set(scope.get("places", []))
            svc_place = {v["name"]: v.get("place") for v in data["services"]}
            _keep_only(scope, "services", lambda v: svc_place[v] in seg_places)
        segs, whole, sectors = _members(data, scope)
        ys = _rule_years(rng, years)
        place_of_seg = {s["name"]: s.get("place") for s in data["segments"]}
        place_of_svc = {s["name"]: s.get("place") for s in data["services"]}
        if by_place:
            parts = [({s for s in segs if place_of_seg[s] == pl}, {i for i in whole if place_of_svc[i] == pl})
                     for pl in places]
            parts = [p for p in parts if p[0]]
        else:
            parts = [(segs, whole)]
        per_head = {t: max(evaluate(attributable(sp, wp, sectors, t), x) / probe["head_count"](sp, t)
                           for sp, wp in parts) for t in years}
        f = rng.uniform(0.95, 1.0) if rng.random() < 0.3 else rng.uniform(1.0, 1.3)
        rule = {"name": f"capitation{k}", **scope,
                "per_head": _values_spec(rng, {t: v * f for t, v in per_head.items()}, max)}
        if by_place or rng.random() < 0.3:
            rule["by_place"] = by_place
        if ys != "all":
            rule["years"] = [int(y) for y in ys]
        caps.append(rule)
    if caps:
        data["capitation"] = caps

    rules = []
    for k in range(int(rng.choice([0, 0, 1, 1, 2]))):
        rule = {"name": f"equity{k}"}
        outcomes = [o["name"] for o in data.get("outcomes") or []]
        if outcomes and rng.random() < 0.4:
            rule["measure"] = "outcome_rate"
            rule["outcome"] = str(rng.choice(outcomes))
        else:
            rule["measure"] = "spend_per_head"
        compared = places
        if len(places) > 2 and rng.random() < 0.4:
            compared = _pick(rng, places, lo=2)
            rule["places"] = compared
        ys = _rule_years(rng, years)
        ryears = years if ys == "all" else [int(y) for y in ys]
        m = {t: [evaluate(probe["place_measure"](rule, pl, t), x) for pl in compared] for t in ryears}
        gap = max(max(v) - min(v) for v in m.values())
        ratios = [max(v) / min(v) for v in m.values() if min(v) > 1e-9]
        kind = rng.choice(["ratio", "gap", "both"])
        if kind in ("ratio", "both") and len(ratios) == len(ryears):
            rule["max_ratio"] = _r(max(1.0, max(ratios) * rng.uniform(0.9, 1.3)), 4)
        if kind in ("gap", "both") or "max_ratio" not in rule:
            rule["max_gap"] = _r(max(0.0, gap * rng.uniform(0.8, 1.3)), 4)
        if ys != "all":
            rule["years"] = [int(y) for y in ys]
        rules.append(rule)
    if rules:
        data["equity"] = rules


def random_holding_instance(seed: int) -> dict:
    rng = np.random.default_rng([seed, 31337])
    data = random_mip_instance(seed) if rng.random() < 0.2 else random_instance(seed)
    data["name"] = f"random holding instance {seed}"
    _cut_horizon(data, min(int(rng.integers(1, 4)), int(data["horizon"]["years"])))
    places = _add_places(rng, data)

    status, _, x, probe = reference_plan(copy.deepcopy(data))
    plan = (x, probe) if status == "optimal" else None
    if rng.random() < 0.8:
        _add_holders(rng, data, plan)
    if plan is not None:
        # limits around the optimal plan under the pooled arrangement of the instance so far
        pooled = with_arrangement(data, "pooled")
        status, _, x, probe = reference_plan(copy.deepcopy(pooled))
        if status == "optimal":
            _add_rules(rng, data, places, (x, probe))
    return data


def arrangements(data) -> list[str]:
    """The arrangements ``data`` can be solved under: none to choose without holders."""
    budget = data["budget"]
    if not budget.get("holders"):
        return ["pooled"]
    return ["pooled", "siloed"] + (["partial"] if budget.get("pooled_funds") else [])


def with_arrangement(data, arrangement: str) -> dict:
    out = copy.deepcopy(data)
    if out["budget"].get("holders"):
        out["budget"]["arrangement"] = arrangement
    return out
