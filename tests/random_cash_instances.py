"""Small random instances with contract forms, semi-fixed steps, set-up costs and a transformation
fund (issue 13), drawn on top of tests/random_instances.py's LP family, for the cross-check against
the independent reference (tests/test_cash_crosscheck.py)."""

from __future__ import annotations

import numpy as np

from .random_instances import _expand, _r, random_instance


def random_cash_instance(seed: int) -> dict:
    data = random_instance(seed)
    rng = np.random.default_rng([seed, 13])
    base = int(data["horizon"]["base_year"])
    years = [base + k for k in range(1, int(data["horizon"]["years"]) + 1)]
    all_years = [base] + years
    segments = [s["name"] for s in data["segments"]]
    for s in data["services"]:
        cost0 = _expand(s["unit_cost"], all_years, base)[base]
        level = max(float(s["baseline_activity"]), 1.0)
        u = rng.random()
        steps = None
        if rng.random() < 0.5:
            cap = _r(level / int(rng.integers(2, 6)), 1) or 1.0
            steps = {"capacity": cap, "cost": _r(cap * cost0 * rng.uniform(0.3, 0.9), 0),
                     "closure_lag": int(rng.integers(0, 3))}
            if rng.random() < 0.3:
                steps["baseline_steps"] = int(np.ceil(float(s["baseline_activity"]) / cap - 1e-9)) + int(rng.integers(0, 2))
        if u < 0.25:
            s["contract"] = {"form": "activity"}
            if rng.random() < 0.7:
                s["contract"]["price"] = _r(cost0 * rng.uniform(0.8, 1.2), 2)
        elif u < 0.55:
            s["contract"] = {"form": "block"}
            if rng.random() < 0.6:
                s["contract"]["block_value"] = _r(cost0 * float(s["baseline_activity"]) * rng.uniform(0.9, 1.1), 0)
        elif u < 0.65:
            s["contract"] = {"form": "capitation", "per_head": _r(rng.uniform(1, 30), 2)}
            if rng.random() < 0.5:
                s["contract"]["segments"] = sorted(rng.choice(segments, size=int(rng.integers(1, len(segments) + 1)),
                                                              replace=False).tolist())
        if steps is not None or rng.random() < 0.3:
            cb = {"variable_cost": _r(cost0 * rng.uniform(0.05, 0.4), 2)}
            if steps is not None:
                cb["steps"] = steps
            if rng.random() < 0.5:
                cb["fixed_cost"] = _r(cost0 * level * rng.uniform(0.05, 0.3), 0)
            s["cost_behaviour"] = cb
        if rng.random() < 0.35:
            s["transition"] = {"setup_cost": _r(cost0 * rng.uniform(0.1, 1.0), 2)}
    if any("transition" in s for s in data["services"]) and rng.random() < 0.7:
        fund = {}
        if rng.random() < 0.7:
            fund["per_year"] = _r(rng.uniform(10, 5000), 0)
        if rng.random() < 0.5:
            fund["total"] = _r(rng.uniform(10, 8000), 0)
        if rng.random() < 0.5:
            fund["years"] = sorted(rng.choice(years, size=int(rng.integers(1, len(years) + 1)), replace=False).tolist())
        data["transformation_fund"] = fund
    if rng.random() < 0.3:
        # two siloed holders splitting the sectors, each with its share of the pool
        pooled = _expand(data["budget"]["pooled"], years, base)
        sectors = [x if isinstance(x, str) else x["name"] for x in data["sectors"]]
        first = sectors[: max(1, len(sectors) // 2)]
        rest = [x for x in sectors if x not in first]
        used = {s["sector"] for s in data["services"]}
        if rest and used & set(first) and used & set(rest):
            base_spend = {x: sum(float(s["baseline_activity"]) * _expand(s["unit_cost"], all_years, base)[base]
                                 for s in data["services"] if s["sector"] in x) for x in (tuple(first), tuple(rest))}
            share = base_spend[tuple(first)] / max(sum(base_spend.values()), 1e-9)
            data["budget"] = {
                "holders": [{"name": "h0", "sectors": [x for x in first if x in used],
                             "budget": {y: _r(pooled[y] * share, 0) for y in years}},
                            {"name": "h1", "sectors": [x for x in rest if x in used],
                             "budget": {y: _r(pooled[y] * (1 - share), 0) for y in years}}],
                "arrangement": str(rng.choice(["siloed", "pooled"]))}
    return data
