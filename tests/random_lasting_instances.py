"""Random instances with lasting prevention effects, a terminal value and segment attribution, for
the cross-check against the independent reference (tests/test_lasting_effects.py).

``random_lasting_instance(seed)`` starts from :func:`tests.random_instances.random_instance` (the
same seed gives the same base instance) and, with a random stream of its own, gives effects a ramp,
persistence and/or duration (sometimes an exact, S-shaped curve), sometimes sets
``horizon.terminal_value`` (and a ``value_per_case`` on some effects), gives some services an
``attribution`` (stated shares or by population) and adds a ring fence on one segment's attributed
spend set around the reference's own optimal plan (so that it binds: at least 2% more, or at most
2% less, than the plan without it spends there).
"""

from __future__ import annotations

import copy

import numpy as np

from .random_instances import random_instance
from .reference_mip import evaluate, reference_plan


def _ramp(rng):
    n = int(rng.integers(1, 4))
    if n == 1:
        return [1.0]
    steps = sorted(float(round(v, 2)) for v in rng.uniform(0.1, 0.95, size=n - 1))
    return steps + [1.0]


def _lasting(rng, eff, n_years):
    kind = rng.random()
    if kind < 0.3:
        eff["persistence"] = float(round(rng.uniform(0.2, 0.95), 3))
    elif kind < 0.55:
        eff["ramp"] = _ramp(rng)
        eff["persistence"] = float(round(rng.uniform(0.0, 0.9), 3))
    elif kind < 0.8:
        eff["ramp"] = _ramp(rng)
        eff["duration"] = int(rng.integers(len(eff["ramp"]), len(eff["ramp"]) + 3))
        if rng.random() < 0.5:
            eff["persistence"] = float(round(rng.uniform(0.3, 1.0), 3))
    # else: the one-year pulse (lasting only with a terminal value)
    if rng.random() < 0.2:
        # an S-shaped curve: modelled exactly (mixed-integer)
        xs = [p[0] for p in eff["response"]]
        top = eff["response"][-1][1]
        x1 = xs[-1] if xs[-1] > 0 else 1.0
        eff["response"] = [[0.0, 0.0], [round(x1 * 0.4, 1), round(top * 0.1, 4)],
                           [round(x1 * 0.7, 1), round(top * 0.7, 4)], [round(x1, 1) + 0.1, round(top, 4)]]


def random_lasting_instance(seed: int) -> dict:
    data = random_instance(seed)
    rng = np.random.default_rng(10_000 + seed)
    years = data["horizon"]["years"]
    effects = data.get("prevention_effects") or []
    if not effects:
        # every instance here has an effect: one on the first pathway's first source
        p = data["pathways"][0]
        src = next(n["name"] for n in p["nodes"] if n["kind"] == "source")
        svc = data["services"][0]
        x0 = max(float(svc["baseline_activity"]), 1.0)
        effects = [{"name": "effect0", "service": svc["name"], "pathway": p["name"], "sources": [src],
                    "lag": int(rng.integers(0, 2)),
                    "response": [[0.0, 0.0], [round(x0, 1), 0.1], [round(2.5 * x0, 1), 0.15]]}]
        data["prevention_effects"] = effects
    for eff in effects:
        _lasting(rng, eff, years)
    if rng.random() < 0.5:
        data["horizon"]["terminal_value"] = {"years": int(rng.integers(1, 6))}
        for eff in effects:
            if rng.random() < 0.3:
                eff["value_per_case"] = float(round(rng.uniform(100, 5000), 1))
    segments = [s["name"] for s in data["segments"]]
    attributed = []
    for svc in data["services"]:
        if rng.random() < 0.5:
            continue
        if rng.random() < 0.5:
            w = rng.dirichlet(np.ones(len(segments)))
            w = [float(round(v, 3)) for v in w]
            w[-1] = float(round(1.0 - sum(w[:-1]), 6))
            if w[-1] < 0:
                continue
            svc["attribution"] = {"shares": dict(zip(segments, w))}
        else:
            listed = sorted(rng.choice(segments, size=int(rng.integers(1, len(segments) + 1)), replace=False).tolist())
            svc["attribution"] = {"by_population": "all" if len(listed) == len(segments) and rng.random() < 0.5
                                  else listed}
        attributed.append(svc["name"])
    if attributed:
        _add_ring_fence(rng, data, segments)
    return data


def _add_ring_fence(rng, data, segments):
    """A ring fence on one segment (sometimes only the prevention sector) around the reference's plan."""
    status, _, x, probe = reference_plan(copy.deepcopy(data))
    if status != "optimal":
        return
    seg = str(rng.choice(segments))
    sectors = ["prevention"] if rng.random() < 0.5 else None
    t = int(rng.choice(probe["years"]))
    spend = evaluate(probe["attributable"]({seg}, set(), None if sectors is None else set(sectors), t), x)
    rule = {"name": "segment_fence", "segments": [seg], "years": [t]}
    if sectors is not None:
        rule["sectors"] = sectors
    if rng.random() < 0.5:
        rule["at_least"] = float(round(spend * 1.02 + 1.0, 2))
    else:
        rule["at_most"] = float(round(max(spend * 0.98, 0.0), 2))
    data["ring_fences"] = [rule]
