"""Cross-reference and graph checks, run after the structure has been checked.

Each ``_check_*`` function looks at one part of the file and returns the problems it finds; all
of them run, so the planner sees every problem at once. ``known`` holds the names declared in
the raw file even where the item itself was invalid, so that one broken service is reported once,
not again wherever it is referred to.
"""

from __future__ import annotations

import math

from collections import Counter
from typing import Any, Iterable

import networkx as nx

from . import schema
from ..errors import Problem
from .instance import base_year_spend, case_routing, edge_bounds, expand_years, missing_years
from .reading import raw_names

SHARE_TOL = 1e-9


class _Report:
    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []

    def __call__(self, path: str, expected: str, found: str) -> None:
        self.problems.append(Problem(self.file, path, expected, found))


def _item(section: str, i: int, name: str | None) -> str:
    return f"{section}[{i}] ({name})" if name else f"{section}[{i}]"


def _names_of(items: Iterable[Any]) -> list[str]:
    return [getattr(x, "name", None) for x in items]


def _duplicates(report: _Report, section: str, names: list[str]) -> None:
    for name, count in Counter(names).items():
        if name is not None and count > 1:
            report(section, "unique names", f"{name!r} {count} times")


def _year_series(report: _Report, path: str, values: Any, required: list[int], allowed: set[int]) -> None:
    if values is None or not isinstance(values, dict):
        return
    outside = sorted(y for y in values if y not in allowed)
    if outside:
        report(path, f"years within the horizon {min(allowed)}-{max(allowed)}", f"year(s) {outside}")
    missing = missing_years(values, required)
    if missing:
        report(path, f"a value for every year {required[0]}-{required[-1]}", f"no value for {missing}")


def check_semantics(m: schema.InstanceFile, raw: dict, file: str) -> list[Problem]:
    try:
        return _check_semantics(m, raw, file)
    finally:
        _POSITIONS.clear()


def _check_semantics(m: schema.InstanceFile, raw: dict, file: str) -> list[Problem]:
    report = _Report(file)
    known = {sec: raw_names(raw, sec) for sec in ("sectors", "services", "segments", "pathways",
                                                  "outcomes", "prevention_effects")}
    horizon = getattr(m, "horizon", None)
    years: list[int] = []
    all_years: list[int] = []
    if horizon is not None:
        years = [horizon.base_year + k for k in range(1, horizon.years + 1)]
        all_years = [horizon.base_year] + years
    known["_years"] = years
    known["_terminal_value"] = horizon is not None and horizon.terminal_value is not None
    # the sectors of every service in the file, also those whose item failed the schema (and so is
    # missing from m.services): a holder of a rejected service is not reported empty as well
    known["_service_sectors"] = {item.get("sector") for item in (raw.get("services") or [])
                                 if isinstance(item, dict) and isinstance(item.get("sector"), str)} \
        if isinstance(raw.get("services"), list) else set()
    sections = {name: getattr(m, name, None) or [] for name in
                ("sectors", "services", "segments", "pathways", "prevention_effects", "shift_policies",
                 "outcomes", "targets")}
    for section in ("sectors", "services", "segments", "pathways", "prevention_effects", "shift_policies",
                    "outcomes"):
        _duplicates(report, section, _names_of(sections[section]))

    if getattr(m, "budget", None) is not None:
        _check_budget(report, m.budget, known, years, all_years, sections["services"])
    _check_services(report, sections["services"], raw, known, years, all_years)
    _check_attribution(report, sections["services"], raw, known, years, sections["segments"])
    for i, seg in enumerate(sections["segments"]):
        if years:
            _year_series(report, f"{_item('segments', i, seg.name)}.population", seg.population, all_years,
                         set(all_years))
    graphs = _check_pathways(report, sections["pathways"], raw, known)
    _check_effects(report, sections["prevention_effects"], raw, known, graphs, sections["services"],
                   sections["pathways"])
    if known["_terminal_value"]:
        _check_case_values(report, sections["prevention_effects"], sections["pathways"], raw, known)
    _check_shift(report, sections["shift_policies"], raw, known, sections["services"], sections["segments"],
                 horizon.base_year if horizon is not None else None)
    _check_outcomes(report, sections["outcomes"], raw, known, graphs)
    _check_targets(report, sections["targets"], raw, known, years)
    _check_objective(report, getattr(m, "objective", None), known)
    _check_places(report, m, known)
    _check_spend_scopes(report, m, known, years, all_years)
    _check_equity(report, m, known, years)
    _check_fund(report, m, years)
    return report.problems


# name -> position of the first item so named, per raw section list, made once per list while
# check_semantics runs (a linear search per item made validation quadratic in the number of items)
_POSITIONS: dict[int, tuple[list, dict[str, int]]] = {}


def _raw_index(raw: dict, section: str, name: str) -> int:
    items = raw.get(section) or []
    cached = _POSITIONS.get(id(items))
    if cached is None or cached[0] is not items:
        positions: dict[str, int] = {}
        for i, item in enumerate(items):
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                positions.setdefault(item["name"], i)
        cached = _POSITIONS[id(items)] = (items, positions)
    return cached[1].get(name, -1)


def _check_services(report, services, raw, known, years, all_years) -> None:
    """Each service: a known sector, then (when the horizon is known) its yearly figures."""
    for s in services:
        i = _raw_index(raw, "services", s.name)
        at = _item("services", i, s.name)
        if s.sector not in known["sectors"]:
            report(f"{at}.sector", f"one of the sectors {sorted(known['sectors'])}", repr(s.sector))
        if years:
            _check_service_years(report, at, s, known, years, all_years)


def _check_service_years(report, at: str, s: schema.Service, known, years, all_years) -> None:
    """A service's unit cost, demand and capacity for every year, min <= max; its opening, teams,
    cost behaviour, contract and transition; a bound on its activity when it opens or has a
    minimum scale."""
    _year_series(report, f"{at}.unit_cost", s.unit_cost, all_years, set(all_years))
    _year_series(report, f"{at}.non_pathway_activity", s.non_pathway_activity, years, set(all_years))
    _year_series(report, f"{at}.capacity.min", s.capacity.min, years, set(all_years))
    _year_series(report, f"{at}.capacity.max", s.capacity.max, years, set(all_years))
    if s.capacity.max is not None and not any(
        isinstance(v, dict) and missing_years(v, years) for v in (s.capacity.min, s.capacity.max)
    ):
        _check_capacity_order(report, at, s, years, all_years[0])
    if s.opening is not None:
        _check_opening(report, at, s, years, all_years)
    if s.teams is not None:
        _year_series(report, f"{at}.teams.cost_per_team", s.teams.cost_per_team, years, set(all_years))
    _check_cash(report, at, s, known, years, all_years)
    if (s.opening is not None or s.minimum_scale is not None) and not _bounded(s, years, all_years[0]):
        report(f"{at}.capacity.max", "a capacity (or a unit cost above 0 in every year) to bound the "
               "activity of a service with 'opening' or 'minimum_scale'", "no capacity.max and a zero unit cost")


def _check_capacity_order(report, at: str, s: schema.Service, years, base: int) -> None:
    """The service's capacity minimum is at most its maximum in every planning year."""

    lo = expand_years(s.capacity.min, years, base)
    hi = expand_years(s.capacity.max, years, base)
    bad = [y for y in years if lo[y] > hi[y] + 1e-9]
    if bad:
        report(f"{at}.capacity", "min <= max in every year", f"min > max in {bad}")


def _check_opening(report, at: str, s: schema.Service, years, all_years) -> None:
    """A service that opens: no baseline activity, an earliest year within the plan, a running
    cost for every year."""
    if s.baseline_activity != 0:
        report(f"{at}.baseline_activity", "0 for a service that is not open yet (it has 'opening')",
               repr(s.baseline_activity))
    ey = s.opening.earliest_year
    if ey is not None and ey not in years:
        report(f"{at}.opening.earliest_year", f"a planning year {years[0]}-{years[-1]}", repr(ey))
    _year_series(report, f"{at}.opening.running_cost", s.opening.running_cost, years, set(all_years))


def _check_cash(report, at: str, s: schema.Service, known, years, all_years) -> None:
    """Cost behaviour, contract form and transition costs of one service."""
    allowed = set(all_years)
    if s.cost_behaviour is not None:
        _check_cost_behaviour(report, at, s, years, allowed)
    if s.contract is not None:
        _check_contract(report, at, s, known, years, allowed)
    if s.transition is not None:
        _year_series(report, f"{at}.transition.setup_cost", s.transition.setup_cost, years, allowed)


def _check_cost_behaviour(report, at: str, s: schema.Service, years, allowed: set[int]) -> None:
    """Variable, fixed and step costs for every year; enough baseline steps for the baseline
    activity; steps or teams, not both."""
    cb = s.cost_behaviour
    _year_series(report, f"{at}.cost_behaviour.variable_cost", cb.variable_cost, years, allowed)
    _year_series(report, f"{at}.cost_behaviour.fixed_cost", cb.fixed_cost, years, allowed)
    if cb.steps is not None:
        _year_series(report, f"{at}.cost_behaviour.steps.cost", cb.steps.cost, years, allowed)
        n0 = cb.steps.baseline_steps
        if n0 is not None and n0 * cb.steps.capacity < s.baseline_activity - 1e-9:
            report(f"{at}.cost_behaviour.steps.baseline_steps",
                   f"enough steps to carry the baseline activity {s.baseline_activity:g} "
                   f"(at least {math.ceil(s.baseline_activity / cb.steps.capacity - 1e-9)} of "
                   f"{cb.steps.capacity:g})", repr(n0))
        if s.teams is not None:
            report(f"{at}.cost_behaviour.steps", "either teams or cost_behaviour.steps (both state capacity in "
                   "whole units)", "both")


def _check_contract(report, at: str, s: schema.Service, known, years, allowed: set[int]) -> None:
    """Only the fields of the contract's form; a capitation contract's per-head payment; amounts for
    every year; an activity contract for a service with fixed costs (opening, minimum scale, teams);
    known segments."""
    ct = s.contract
    for fld, form in (("price", "activity"), ("block_value", "block"), ("per_head", "capitation"),
                      ("segments", "capitation")):
        if getattr(ct, fld) is not None and ct.form != form:
            report(f"{at}.contract.{fld}", f"no {fld} with form {ct.form} ({fld} is for form {form})",
                   repr(getattr(ct, fld)))
    if ct.form == "capitation" and ct.per_head is None:
        report(f"{at}.contract.per_head", "the yearly payment per head of a capitation contract",
               "nothing (the field is missing)")
    for fld in ("price", "block_value", "per_head"):
        _year_series(report, f"{at}.contract.{fld}", getattr(ct, fld), years, allowed)
    if ct.form != "activity":
        for fld in ("opening", "minimum_scale", "teams"):
            if getattr(s, fld) is not None:
                report(f"{at}.contract.form", f"an activity contract for a service with '{fld}' (its fixed "
                       "costs are paid on top of a price per unit)", repr(ct.form))
    for seg in ct.segments or []:
        if seg not in known["segments"]:
            report(f"{at}.contract.segments", f"segments defined under 'segments' {sorted(known['segments'])}",
                   repr(seg))


def _check_fund(report, m, years) -> None:
    """The transformation fund: its years within the plan, and something for it to pay for."""
    fund = getattr(m, "transformation_fund", None)
    if fund is None or not years:
        return
    if fund.years != "all":
        outside = [y for y in fund.years if y not in years]
        if outside:
            report("transformation_fund.years", f"planning years {years[0]}-{years[-1]}", f"{outside}")
    _year_series(report, "transformation_fund.per_year", fund.per_year, [y for y in years if fund.years == "all"
                                                                          or y in fund.years], set(years))
    if not any(s.transition is not None for s in (getattr(m, "services", None) or [])):
        report("transformation_fund", "a service with transition.setup_cost (the fund pays for transition costs "
               "only)", "no service with transition costs")


def _check_pathways(report, pathways, raw, known) -> dict[str, nx.DiGraph]:
    """Each pathway in turn: its segments, its nodes, its edges, then its shape. Returns the
    pathways' graphs (without the edges to unknown nodes), which the later checks read."""
    graphs: dict[str, nx.DiGraph] = {}
    for p in pathways:
        i = _raw_index(raw, "pathways", p.name)
        at = _item("pathways", i, p.name)
        segs = p.segments if p.segments is not None else sorted(known["segments"])
        for seg in p.segments or []:
            if seg not in known["segments"]:
                report(f"{at}.segments", f"segments defined under 'segments' {sorted(known['segments'])}",
                       repr(seg))
        g = _check_pathway_nodes(report, at, p, segs, known)
        broken = _check_pathway_edges(report, at, p, g)
        graphs[p.name] = g
        _check_pathway_shape(report, at, g, broken)
    return graphs


def _check_pathway_nodes(report, at: str, p, segs, known) -> nx.DiGraph:
    """Node names unique, and each node's fields right for its kind. Returns the pathway's graph
    with its nodes (no edges yet)."""
    _duplicates(report, f"{at}.nodes", [n.name for n in p.nodes])
    g = nx.DiGraph()
    for j, n in enumerate(p.nodes):
        nat = f"{at}.nodes[{j}] ({n.name})"
        g.add_node(n.name, kind=n.kind)
        _check_node(report, nat, n, segs, known)
    return g


def _check_node(report, nat: str, n, segs, known) -> None:
    """A source has incidence (for the pathway's segments only) and no service; a care node has a
    known service and no incidence; a sink has neither, nor units per patient."""
    if n.kind == "source":
        if n.incidence is None:
            report(f"{nat}.incidence", "new patients per head per year (source nodes need it)",
                   "nothing (the field is missing)")
        elif isinstance(n.incidence, dict):
            for seg in n.incidence:
                if seg not in segs:
                    report(f"{nat}.incidence", f"segments of this pathway {list(segs)}", repr(seg))
        if n.service is not None:
            report(f"{nat}.service", "no service on a source node (need arises there)", repr(n.service))
    elif n.kind == "care":
        if n.service is None:
            report(f"{nat}.service", "the service delivering this care node", "nothing (the field is missing)")
        elif n.service not in known["services"]:
            report(f"{nat}.service", "a service defined under 'services'", repr(n.service))
        if n.incidence is not None:
            report(f"{nat}.incidence", "incidence on source nodes only", "incidence on a care node")
    else:
        for fld in ("service", "incidence", "units_per_patient"):
            if getattr(n, fld) is not None:
                report(f"{nat}.{fld}", f"no {fld} on a sink node", repr(getattr(n, fld)))


def _check_pathway_edges(report, at: str, p, g: nx.DiGraph) -> set[str]:
    """Each edge once, between known nodes, with min share <= max, nothing into a source and
    nothing out of a sink; adds the edges between known nodes to ``g``. Returns the nodes with an
    edge to an unknown node (their share sums are moot)."""
    broken: set[str] = set()  # nodes with an edge to an unknown node: their share sums are moot
    seen_edges = Counter((e.from_, e.to) for e in p.edges)
    for (a, b), c in seen_edges.items():
        if c > 1:
            report(f"{at}.edges", "each edge [from, to] at most once", f"{a} -> {b} {c} times")
    for j, e in enumerate(p.edges):
        eat = f"{at}.edges[{j}] ({e.from_} -> {e.to})"
        ok = True
        for end, name in (("from", e.from_), ("to", e.to)):
            if name not in g:
                report(f"{eat}.{end}", f"a node of pathway {p.name!r}", repr(name))
                ok = False
                broken.update({e.from_, e.to})
        lo, hi = edge_bounds(e.share)
        if lo > hi:
            report(f"{eat}.share", "[min, max] with min <= max", f"[{lo}, {hi}]")
        if not ok:
            continue
        if g.nodes[e.to]["kind"] == "source":
            report(f"{eat}.to", "a care or sink node (nothing flows into a source)", f"source node {e.to!r}")
        if g.nodes[e.from_]["kind"] == "sink":
            report(f"{eat}.from", "a source or care node (sinks have no way out)", f"sink node {e.from_!r}")
        g.add_edge(e.from_, e.to, share=(lo, hi))
    return broken


def _check_pathway_shape(report, at: str, g: nx.DiGraph, broken: set[str]) -> None:
    """At least one source and one sink; every node (but those in ``broken``) reachable from a
    source, with a way on to a sink, and edges out of it whose shares can sum to 1."""
    sources = [n for n, d in g.nodes(data=True) if d["kind"] == "source"]
    sinks = [n for n, d in g.nodes(data=True) if d["kind"] == "sink"]
    if not sources:
        report(f"{at}.nodes", "at least one source node (where need arises)", "none")
    if not sinks:
        report(f"{at}.nodes", "at least one sink node (an outcome)", "none")
    reachable = set(sources)
    for s in sources:
        reachable |= nx.descendants(g, s)
    can_finish = set(sinks)
    for t in sinks:
        can_finish |= nx.ancestors(g, t)
    for n, d in g.nodes(data=True):
        if n in broken:
            continue
        if n not in reachable:
            report(f"{at}.nodes ({n})", "every node reachable from a source node", f"{n!r} cannot be reached")
        if d["kind"] != "sink" and n not in can_finish and sinks:
            report(f"{at}.nodes ({n})", "a way from every source and care node to a sink",
                   f"no path from {n!r} to any sink")
        if d["kind"] != "sink":
            _check_out_shares(report, at, g, n)


def _check_out_shares(report, at: str, g: nx.DiGraph, n: str) -> None:
    """The shares of the edges out of node ``n`` can sum to 1: sum of mins <= 1 <= sum of maxes
    (a node with no edge out is reported as having no way to a sink)."""
    out = [g.edges[n, v]["share"] for v in g.successors(n)]
    if not out:
        return  # already reported as having no way to a sink
    lo_sum = sum(x[0] for x in out)
    hi_sum = sum(x[1] for x in out)
    if lo_sum > 1 + SHARE_TOL or hi_sum < 1 - SHARE_TOL:
        report(f"{at}.edges (out of {n})",
               "shares of the edges out of a node that can sum to 1 (sum of mins <= 1 <= sum of maxes)",
               f"mins sum to {lo_sum:.6g}, maxes to {hi_sum:.6g}")


def _check_effects(report, effects, raw, known, graphs, services, pathways=()) -> None:
    """Each prevention effect: what it names (service, pathway, sources, segments), its response
    curve, its lasting profile, and a bound on its driver when its curve is modelled exactly."""
    pathways_by_name: dict[str, list] = {}
    for p in pathways:
        pathways_by_name.setdefault(p.name, []).append(p)
    by_name: dict[str, object] = {}  # the first service of each name
    for x in services:
        by_name.setdefault(x.name, x)
    for e in effects:
        i = _raw_index(raw, "prevention_effects", e.name)
        at = _item("prevention_effects", i, e.name)
        _check_effect_names(report, at, e, known, graphs, pathways_by_name)
        concave = _check_response_curve(report, at, e)
        if concave is None:
            continue
        _check_lasting(report, at, e, known)
        svc = by_name.get(e.service)
        horizon_years = [y for y in known.get("_years", [])]
        if (not concave or e.response_model == "exact") and svc is not None and horizon_years \
                and not _bounded(svc, horizon_years, horizon_years[0] - 1):
            report(f"{at}.service", "a service with a capacity or a unit cost above 0 (an exact response "
                   "curve needs a bound on its driver)", repr(e.service))


def _check_effect_names(report, at: str, e, known, graphs, pathways_by_name) -> None:
    """The effect's service and pathway are defined; its sources are source nodes of the pathway;
    its segments are defined and among the pathway's."""
    if e.service not in known["services"]:
        report(f"{at}.service", "a service defined under 'services'", repr(e.service))
    if e.pathway not in known["pathways"]:
        report(f"{at}.pathway", "a pathway defined under 'pathways'", repr(e.pathway))
    g = graphs.get(e.pathway)
    if g is not None:
        for src in e.sources:
            if src not in g:
                report(f"{at}.sources", f"source nodes of pathway {e.pathway!r}", repr(src))
            elif g.nodes[src]["kind"] != "source":
                report(f"{at}.sources", "source nodes (where need arises)",
                       f"{src!r} is a {g.nodes[src]['kind']} node")
    pathway_segs = next((p.segments for p in pathways_by_name.get(e.pathway, [])), None)
    for seg in e.segments or []:
        if seg not in known["segments"]:
            report(f"{at}.segments", "segments defined under 'segments'", repr(seg))
        elif pathway_segs is not None and seg not in pathway_segs:
            report(f"{at}.segments", f"segments of pathway {e.pathway!r} {list(pathway_segs)}", repr(seg))


def _check_response_curve(report, at: str, e) -> bool | None:
    """The response curve starts at [0, 0], with strictly increasing x and reductions that never
    fall. Returns whether it is concave, or None when its x values do not increase (nothing more
    about the effect is checked then)."""
    xs = [x for x, _ in e.response]
    ys = [y for _, y in e.response]
    if xs[0] != 0:
        report(f"{at}.response", "a curve starting at x = 0", f"first point at x = {xs[0]}")
    if any(b <= a for a, b in zip(xs, xs[1:])):
        report(f"{at}.response", "strictly increasing x values", f"x = {xs}")
        return None
    if ys[0] != 0:
        report(f"{at}.response", "no reduction at x = 0 (first point [0, 0])", f"[{xs[0]}, {ys[0]}]")
    slopes = [(y1 - y0) / (x1 - x0) for x0, y0, x1, y1 in zip(xs, ys, xs[1:], ys[1:])]
    if any(s < -1e-12 for s in slopes):
        report(f"{at}.response", "reductions that never fall as the driver rises", f"reductions {ys}")
    return all(b <= a + 1e-12 for a, b in zip(slopes, slopes[1:]))



def _check_lasting(report, at: str, e: schema.PreventionEffect, known) -> None:
    """Ramp, persistence, duration and value per case of one effect."""
    if e.ramp is not None:
        if any(b < a for a, b in zip(e.ramp, e.ramp[1:])):
            report(f"{at}.ramp", "fractions that never fall (a ramp up to the full effect)", f"{list(e.ramp)}")
        if e.ramp[-1] != 1.0:
            report(f"{at}.ramp", "a last fraction of 1 (the ramp ends at the full effect; scale the response "
                   "curve for a smaller one)", f"last fraction {e.ramp[-1]}")
        if e.duration is not None and e.duration < len(e.ramp):
            report(f"{at}.duration", f"at least the {len(e.ramp)} ramp years", repr(e.duration))
    if e.value_per_case is not None and not known.get("_terminal_value"):
        report(f"{at}.value_per_case", "a value per case only with horizon.terminal_value (it values cases "
               "avoided beyond the horizon)", repr(e.value_per_case))


def _check_case_values(report, effects, pathways, raw, known) -> None:
    """With a terminal value, every pathway whose cases are valued by its own care cost (an effect
    without value_per_case) must let a case end: under the valuation's edge shares some patients
    must reach a sink from every node (no loop that keeps them all)."""
    valued = {e.pathway for e in effects if e.value_per_case is None}
    for p in pathways:
        if p.name not in valued or p.name not in known["pathways"]:
            continue
        names = [n.name for n in p.nodes]
        if len(set(names)) != len(names) or any(e.from_ not in names or e.to not in names for e in p.edges):
            continue  # reported elsewhere
        if _case_never_ends(p, names):
            report(f"{_item('pathways', _raw_index(raw, 'pathways', p.name), p.name)}.edges", "edge shares under which some patients leave every loop (the terminal value values a case "
                   "at its expected care cost; give the effects a value_per_case otherwise)",
                   "a loop that keeps every patient at the shares used (each edge at the same fraction of its range)")


def _case_never_ends(p, names: list[str]) -> bool:
    """Whether, under the case valuation's edge shares (:func:`instance.case_routing`), some loop of
    pathway ``p`` keeps every patient: I - W is singular, W the share matrix."""
    import numpy as np
    import pandas as pd

    lo_hi = [(e.share, e.share) if not isinstance(e.share, (tuple, list)) else tuple(e.share) for e in p.edges]
    edges = pd.DataFrame({"pathway": p.name, "from": [e.from_ for e in p.edges], "to": [e.to for e in p.edges],
                          "share_min": [float(a) for a, _ in lo_hi], "share_max": [float(b) for _, b in lo_hi]})
    r = case_routing(None, edges)
    pos = {n: k for k, n in enumerate(names)}
    w = np.zeros((len(names), len(names)))
    for a, b, sh in zip(r["from"], r["to"], r["share"]):
        w[pos[b], pos[a]] += sh
    return abs(np.linalg.det(np.eye(len(names)) - w)) < 1e-12


def _check_attribution(report, services, raw, known, years, segments) -> None:
    """Each attributed service: exactly one rule; known segments; shares summing to 1; a population."""
    pops = {seg.name: seg.population for seg in segments}
    for s in services:
        if s.attribution is None:
            continue
        at = f"{_item('services', _raw_index(raw, 'services', s.name), s.name)}.attribution"
        _check_service_attribution(report, at, s.attribution, known, years, pops)


def _check_service_attribution(report, at: str, a, known, years, pops) -> None:
    """One service's attribution: 'shares' or 'by_population' (not both); the segments it names
    defined; shares summing to 1, or segments with people in every planning year."""

    if (a.shares is None) == (a.by_population is None):
        report(at, "exactly one of 'shares' or 'by_population'", "both" if a.shares is not None else "neither")
        return
    named = list(a.shares) if a.shares is not None else ([] if a.by_population == "all" else a.by_population)
    for seg in named:
        if seg not in known["segments"]:
            report(f"{at}.{'shares' if a.shares is not None else 'by_population'}",
                   f"segments defined under 'segments' {sorted(known['segments'])}", repr(seg))
    if a.shares is not None:
        total = sum(a.shares.values())
        if not a.shares or abs(total - 1.0) > 1e-6:
            report(f"{at}.shares", "fractions summing to 1", f"sum {total:.6g}")
        return
    if isinstance(a.by_population, list) and not a.by_population:
        report(f"{at}.by_population", "at least one segment, or 'all'", "an empty list")
        return
    segs = list(pops) if a.by_population == "all" else [x for x in a.by_population if x in pops]
    if years and segs and not any(isinstance(pops[x], dict) and missing_years(pops[x], years) for x in segs):
        tot = {y: sum(expand_years(pops[x], years, years[0] - 1)[y] for x in segs) for y in years}
        empty = [y for y in years if tot[y] <= 0]
        if empty:
            report(f"{at}.by_population", "segments with people (shares in proportion to population)",
                   f"no population in {empty}")


def _base_spend(service: schema.Service, base_year: int | None, segments) -> float:
    """The service's base-year spend as the instance will measure it (a contract's baseline
    payment, :func:`optimiser.input.instance.base_year_spend`); baseline x base-year unit cost where the
    contract's values are themselves invalid (reported elsewhere)."""

    if base_year is not None and service.contract is not None:
        try:
            return base_year_spend(service, base_year, {seg.name: seg.population for seg in segments})
        except (KeyError, TypeError, ValueError, AttributeError):
            pass
    return service.baseline_activity * _base_cost(service)


def _check_shift(report, policies, raw, known, services, segments=(), base_year=None) -> None:
    """Each shift policy: a share policy or a transfer policy."""
    for i, pol in enumerate(policies):
        at = _item("shift_policies", i, pol.name)
        if isinstance(pol, schema.ShareShift):
            _check_share_shift(report, at, pol, known, services, segments, base_year)
        else:
            _check_transfer_shift(report, at, pol, known)


def _check_share_shift(report, at: str, pol, known, services, segments=(), base_year=None) -> None:
    """A share policy: known sectors; an increase of -100 to 100 points that leaves the final share
    between 0% and 100% of a base year with some spend."""
    from formulations.shift_policy import required_share

    for sec in pol.sectors:
        if sec not in known["sectors"]:
            report(f"{at}.sectors", f"sectors defined under 'sectors' {sorted(known['sectors'])}", repr(sec))
    if not (-100 <= pol.increase_pp <= 100):
        report(f"{at}.increase_pp", "percentage points between -100 and 100", repr(pol.increase_pp))
    base_total = sum(_base_spend(s, base_year, segments) for s in services)
    if base_total > 0 and all(sec in known["sectors"] for sec in pol.sectors):
        share0 = sum(_base_spend(s, base_year, segments) for s in services
                     if s.sector in pol.sectors) / base_total
        final = required_share(share0, pol.increase_pp)
        if not (0 <= final <= 1):
            report(f"{at}.increase_pp", "a final share between 0% and 100%",
                   f"base share {share0:.2%} + {pol.increase_pp} points = {final:.2%}")
    elif base_total <= 0:
        report(f"{at}", "a base year with some spend (shares are measured against it)", "zero base-year spend")


def _check_transfer_shift(report, at: str, pol, known) -> None:
    """A transfer policy: two known sectors, not the same one."""
    for fld in ("from_sector", "to_sector"):
        if getattr(pol, fld) not in known["sectors"]:
            report(f"{at}.{fld}", f"a sector defined under 'sectors' {sorted(known['sectors'])}",
                   repr(getattr(pol, fld)))
    if pol.from_sector == pol.to_sector:
        report(f"{at}.to_sector", "a sector other than from_sector", repr(pol.to_sector))


def _bounded(service: schema.Service, years: list[int], base: int) -> bool:
    """Whether the service's activity has a finite bound (capacity, or budget / unit cost)."""

    if service.capacity.max is not None:
        return True
    if isinstance(service.unit_cost, dict) and missing_years(service.unit_cost, years):
        return True  # reported elsewhere
    return all(v > 0 for v in expand_years(service.unit_cost, years, base).values())


def _base_cost(service: schema.Service) -> float:
    c = service.unit_cost
    if isinstance(c, schema.Growth):
        return c.value
    if isinstance(c, dict):
        return min(c.items())[1] if c else 0.0
    return float(c)


def _check_outcomes(report, outcomes, raw, known, graphs) -> None:
    """Each term of each outcome."""
    for o in outcomes:
        i = _raw_index(raw, "outcomes", o.name)
        at = _item("outcomes", i, o.name)
        for j, t in enumerate(o.terms):
            _check_outcome_term(report, f"{at}.terms[{j}]", t, known, graphs)


def _check_outcome_term(report, tat: str, t, known, graphs) -> None:
    """One outcome term: a known pathway; a node or an edge (not both) of it; known segments."""
    if t.pathway not in known["pathways"]:
        report(f"{tat}.pathway", "a pathway defined under 'pathways'", repr(t.pathway))
    if (t.node is None) == (t.edge is None):
        report(tat, "exactly one of 'node' or 'edge'", "both" if t.node else "neither")
        return
    g = graphs.get(t.pathway)
    if g is None:
        return
    if t.node is not None and t.node not in g:
        report(f"{tat}.node", f"a node of pathway {t.pathway!r}", repr(t.node))
    if t.node is not None and t.node in g and g.nodes[t.node]["kind"] == "source":
        pass  # counting arrivals of need at a source is allowed (incidence)
    if t.edge is not None and not g.has_edge(*t.edge):
        report(f"{tat}.edge", f"an edge [from, to] of pathway {t.pathway!r}", f"{list(t.edge)}")
    for seg in t.segments or []:
        if seg not in known["segments"]:
            report(f"{tat}.segments", "segments defined under 'segments'", repr(seg))


def _check_targets(report, targets, raw, known, years) -> None:
    for i, t in enumerate(targets):
        at = f"targets[{i}] ({t.outcome})"
        if t.outcome not in known["outcomes"]:
            report(f"{at}.outcome", f"an outcome defined under 'outcomes' {sorted(known['outcomes'])}",
                   repr(t.outcome))
        if (t.year is None) == (t.years is None):
            report(at, "exactly one of 'year' or 'years'", "both" if t.year is not None else "neither")
        ys = [t.year] if t.year is not None else (t.years if isinstance(t.years, list) else [])
        if years:
            outside = [y for y in ys if y not in years]
            if outside:
                report(f"{at}.{'year' if t.year is not None else 'years'}",
                       f"planning years {years[0]}-{years[-1]}", f"{outside}")
        if t.at_most is None and t.at_least is None:
            report(at, "at least one of 'at_most' or 'at_least'", "neither")
        if t.at_most is not None and t.at_least is not None and t.at_least > t.at_most:
            report(at, "at_least <= at_most", f"at_least {t.at_least} > at_most {t.at_most}")


def _check_objective(report, obj, known) -> None:
    if obj is None:
        return
    if obj.mode == "max_outcome":
        if not obj.weights:
            report("objective.weights", "a weight for at least one outcome (max_outcome mode)", "none")
        for name in obj.weights or {}:
            if name not in known["outcomes"]:
                report("objective.weights", f"outcomes defined under 'outcomes' {sorted(known['outcomes'])}",
                       repr(name))
    elif obj.weights:
        report("objective.weights", "no weights in min_cost mode (they are for max_outcome)",
               f"weights for {sorted(obj.weights)}")


def _check_budget(report, budget: schema.Budget, known, years, all_years, services) -> None:
    """Either one pooled budget, or holders that between them hold every service exactly once;
    pooled funds name holders, each holder in at most one fund; 'partial' needs a fund."""
    holders = budget.holders or []
    if not holders:
        _check_pooled_budget(report, budget, years, all_years)
        return
    if budget.pooled is not None:
        report("budget.pooled", "no pooled total when budget holders are given (the pool is the sum of "
               "the holders' budgets)", "a pooled budget as well as holders")
    _check_holders(report, holders, known, years, all_years, services)
    _check_pooled_funds(report, budget, {h.name for h in holders})


def _check_pooled_budget(report, budget: schema.Budget, years, all_years) -> None:
    """Without holders: a pooled budget for every year, the 'pooled' arrangement and no pooled funds."""
    if budget.pooled is None:
        report("budget.pooled", "a pooled budget per year (or budget holders under budget.holders)",
               "nothing (the field is missing)")
    elif years:
        _year_series(report, "budget.pooled", budget.pooled, years, set(all_years))
    if budget.arrangement != "pooled":
        report("budget.arrangement", "'pooled' when no budget holders are given (siloed and partial "
               "arrangements need budget.holders)", repr(budget.arrangement))
    if budget.pooled_funds:
        report("budget.pooled_funds", "pooled funds only with budget holders (budget.holders)",
               f"{len(budget.pooled_funds)} fund(s)")


def _check_holders(report, holders, known, years, all_years, services) -> None:
    """Holder names unique, each holder in turn, then what they hold between them."""
    _duplicates(report, "budget.holders", [h.name for h in holders])
    for i, h in enumerate(holders):
        _check_holder(report, _item("budget.holders", i, h.name), h, known, years, all_years)
    _check_holdings(report, holders, services, known)


def _check_holder(report, at: str, h, known, years, all_years) -> None:
    """One holder: known sectors and services, at least one of them, a budget for every year."""
    for sec in h.sectors:
        if sec not in known["sectors"]:
            report(f"{at}.sectors", f"sectors defined under 'sectors' {sorted(known['sectors'])}", repr(sec))
    for svc in h.services:
        if svc not in known["services"]:
            report(f"{at}.services", "services defined under 'services'", repr(svc))
    if not h.sectors and not h.services:
        report(at, "at least one sector or service held", "neither 'sectors' nor 'services'")
    if years:
        _year_series(report, f"{at}.budget", h.budget, years, set(all_years))


def _check_holdings(report, holders, services, known) -> None:
    """Between the holders: each sector or service named by at most one; each holder holds some
    service; every service held (through its sector or by name)."""
    for kind, attr in (("sector", "sectors"), ("service", "services")):
        counts = Counter(x for h in holders for x in getattr(h, attr))
        for name, c in counts.items():
            if c > 1:
                owners = [h.name for h in holders if name in getattr(h, attr)]
                report("budget.holders", f"each {kind} named by at most one holder", f"{name!r} held by {owners}")
    sectors_in_use = {svc.sector for svc in services} | known.get("_service_sectors", set())
    for i, h in enumerate(holders):
        if (h.sectors or h.services) and not (set(h.services) or sectors_in_use & set(h.sectors)):
            report(_item("budget.holders", i, h.name), "a holder of at least one service (its budget would pay "
                   "for nothing and show as a donor to the others)", f"sectors {h.sectors} with no services")
    held = {h for h in holders for h in (h.sectors + h.services)}
    unheld = [s.name for s in services if not (s.name in held or s.sector in held)]
    if unheld:
        report("budget.holders", "every service held by one holder (through its sector or by name)",
               f"no holder for {unheld}")


def _check_pooled_funds(report, budget: schema.Budget, holder_names: set[str]) -> None:
    """Fund names unique; funds name known holders, each holder in at most one fund; a 'partial'
    arrangement has a fund."""
    _duplicates(report, "budget.pooled_funds", [f.name for f in budget.pooled_funds])
    membership = Counter()
    for i, f in enumerate(budget.pooled_funds):
        at = _item("budget.pooled_funds", i, f.name)
        for h in f.contributions:
            membership[h] += 1
            if h not in holder_names:
                report(f"{at}.contributions", f"holders defined under budget.holders {sorted(holder_names)}", repr(h))
    for h, c in membership.items():
        if c > 1:
            report("budget.pooled_funds", "each holder in at most one pooled fund", f"{h!r} in {c} funds")
    if budget.arrangement == "partial" and not budget.pooled_funds:
        report("budget.arrangement", "at least one fund under budget.pooled_funds for a 'partial' arrangement",
               "'partial' and no pooled fund")


def _check_places(report, m, known) -> None:
    places = getattr(m, "places", None) or []
    _duplicates(report, "places", [p.name for p in places])
    names = {p.name for p in places}
    for section in ("segments", "services"):
        for i, item in enumerate(getattr(m, section, None) or []):
            if item.place is not None and item.place not in names:
                report(f"{_item(section, i, item.name)}.place",
                       f"a place defined under 'places' {sorted(names)}" if names else
                       "no place (no places are defined under 'places')", repr(item.place))
    peopled = {seg.place for seg in getattr(m, "segments", None) or []}
    for p in places:
        if p.name not in peopled:
            report(f"places ({p.name})", "at least one segment in each place (its population)",
                   f"no segment has place {p.name!r}")


def _check_scope(report, at: str, scope: schema.SpendScope, known, places: set[str]) -> None:
    for fld, section in (("segments", "segments"), ("services", "services"), ("sectors", "sectors")):
        for name in getattr(scope, fld) or []:
            if name not in known[section]:
                report(f"{at}.{fld}", f"{section} defined under '{section}' {sorted(known[section])}", repr(name))
    for name in scope.places:
        if name not in places:
            report(f"{at}.places", f"places defined under 'places' {sorted(places)}", repr(name))
    if not (scope.segments or scope.places or scope.services):
        report(at, "at least one of 'segments', 'places' or 'services' (whose spend counts)", "none")


def _check_years_field(report, at: str, spec, years) -> None:
    if isinstance(spec, list) and not spec:
        report(f"{at}.years", "'all' or at least one planning year (an empty list makes the rule do nothing)",
               "an empty list")
    if years and isinstance(spec, list):
        outside = [y for y in spec if y not in years]
        if outside:
            report(f"{at}.years", f"planning years {years[0]}-{years[-1]}", f"{outside}")


def _check_spend_scopes(report, m, known, years, all_years) -> None:
    """Ring fences and capitation: known names, a non-empty scope, amounts for every year."""
    places = {p.name for p in getattr(m, "places", None) or []}
    rings = getattr(m, "ring_fences", None) or []
    caps = getattr(m, "capitation", None) or []
    _duplicates(report, "ring_fences", [r.name for r in rings])
    _duplicates(report, "capitation", [c.name for c in caps])
    for i, r in enumerate(rings):
        _check_ring_fence(report, _item("ring_fences", i, r.name), r, known, places, years, all_years)
    segment_place = {s.name: s.place for s in getattr(m, "segments", None) or []}
    service_place = {s.name: s.place for s in getattr(m, "services", None) or []}
    for i, c in enumerate(caps):
        at = _item("capitation", i, c.name)
        _check_capitation(report, at, c, known, places, years, all_years)
        if c.by_place:
            _check_capitation_by_place(report, at, c, places, segment_place, service_place)


def _check_ring_fence(report, at: str, r, known, places: set[str], years, all_years) -> None:
    """A ring fence: its scope and years; a floor or a ceiling, given for every year it applies,
    the floor never above the ceiling."""

    _check_scope(report, at, r, known, places)
    _check_years_field(report, at, r.years, years)
    if r.at_least is None and r.at_most is None:
        report(at, "at least one of 'at_least' or 'at_most'", "neither")
    applies = _applies(r.years, years)
    if applies:
        for fld in ("at_least", "at_most"):
            _year_series(report, f"{at}.{fld}", getattr(r, fld), applies, set(all_years))
        if r.at_least is not None and r.at_most is not None and not any(
                isinstance(v, dict) and missing_years(v, applies) for v in (r.at_least, r.at_most)):
            lo = expand_years(r.at_least, applies, all_years[0])
            hi = expand_years(r.at_most, applies, all_years[0])
            bad = [y for y in applies if lo[y] > hi[y]]
            if bad:
                report(at, "at_least <= at_most in every year", f"at_least > at_most in {bad}")


def _check_capitation(report, at: str, c, known, places: set[str], years, all_years) -> None:
    """A capitation rule: its scope and years; segments or places whose people it pays for; an
    amount per head for every year it applies."""
    _check_scope(report, at, c, known, places)
    _check_years_field(report, at, c.years, years)
    if not (c.segments or c.places):
        report(at, "segments or places whose population the amount per head is paid for", "none")
    if _applies(c.years, years):
        _year_series(report, f"{at}.per_head", c.per_head, _applies(c.years, years), set(all_years))


def _check_capitation_by_place(report, at: str, c, places: set[str], segment_place, service_place) -> None:
    """A capitation rule split by place: places defined; its segments and services each in a
    place, the services in places that have some of its segments."""
    if not places:
        report(f"{at}.by_place", "places defined under 'places'", "by_place with no places")
    unplaced = [s for s in c.segments if s in segment_place and segment_place[s] is None]
    if unplaced:
        report(f"{at}.segments", "segments with a place (by_place splits them by place)",
               f"no place for {unplaced}")
    shared = [s for s in c.services if s in service_place and service_place[s] is None]
    if shared:
        report(f"{at}.services", "services with a place (by_place splits them by place)",
               f"no place for {shared}")
    cap_places = {segment_place.get(s) for s in c.segments} | set(c.places)
    stray = [s for s in c.services if service_place.get(s) not in cap_places | {None}]
    if stray:
        report(f"{at}.services", "services in places that have some of the capitated segments (each "
               "place's amount pays for its own people)",
               f"{stray} in places with none of them")


def _check_equity(report, m, known, years) -> None:
    """Equity rules: names unique, then each rule in turn."""
    rules = getattr(m, "equity", None) or []
    places = {p.name for p in getattr(m, "places", None) or []}
    _duplicates(report, "equity", [e.name for e in rules])
    for i, e in enumerate(rules):
        _check_equity_rule(report, _item("equity", i, e.name), e, m, known, years, places)


def _check_equity_rule(report, at: str, e, m, known, years, places: set[str]) -> None:
    """One equity rule: known places, each named once, at least two compared; a ratio only on an
    outcome that cannot be negative; a ratio or a gap; an outcome exactly when the measure is an
    outcome rate; its years; people in every place compared."""
    compared = list(dict.fromkeys(e.places)) if e.places is not None else sorted(places)
    for p in e.places or []:
        if p not in places:
            report(f"{at}.places", f"places defined under 'places' {sorted(places)}", repr(p))
    twice = sorted({p for p in e.places or [] if (e.places or []).count(p) > 1})
    if twice:
        report(f"{at}.places", "each place named once", f"{twice} more than once")
    if e.measure == "outcome_rate" and e.max_ratio is not None:
        outcome = next((o for o in getattr(m, "outcomes", None) or [] if o.name == e.outcome), None)
        if outcome is not None and any(t.weight < 0 for t in outcome.terms):
            report(f"{at}.max_ratio", "a ratio only on an outcome that cannot be negative (all weights >= 0); "
                   "use max_gap", f"negative weights in outcome {e.outcome!r}")
    if len(compared) < 2:
        report(f"{at}.places", "at least two places to compare", f"{len(compared)} place(s)")
    if e.max_ratio is None and e.max_gap is None:
        report(at, "at least one of 'max_ratio' or 'max_gap'", "neither")
    _check_equity_outcome(report, at, e, known)
    _check_years_field(report, at, e.years, years)
    if years:
        _check_places_peopled(report, at, compared, m, years)


def _check_equity_outcome(report, at: str, e, known) -> None:
    """An outcome rate names a defined outcome; spend per head names none."""
    if e.measure == "outcome_rate":
        if e.outcome is None:
            report(f"{at}.outcome", "the outcome whose rate is compared (measure: outcome_rate)",
                   "nothing (the field is missing)")
        elif e.outcome not in known["outcomes"]:
            report(f"{at}.outcome", f"an outcome defined under 'outcomes' {sorted(known['outcomes'])}",
                   repr(e.outcome))
    elif e.outcome is not None:
        report(f"{at}.outcome", "no outcome for measure spend_per_head", repr(e.outcome))


def _check_places_peopled(report, at: str, compared: list[str], m, years) -> None:
    """Every place compared has people in every planning year (a measure per head needs them);
    places without segments, or with populations missing years, are reported elsewhere."""

    seg_of_place: dict = {}
    for seg in getattr(m, "segments", None) or []:
        seg_of_place.setdefault(seg.place, []).append(seg)
    for p in compared:
        segs = seg_of_place.get(p, [])
        if not segs or any(isinstance(seg.population, dict) and missing_years(seg.population, years)
                           for seg in segs):
            continue  # reported elsewhere
        pop = {y: sum(expand_years(seg.population, years, years[0] - 1)[y] for seg in segs) for y in years}
        empty = [y for y in years if pop[y] <= 0]
        if empty:
            report(f"{at}.places", "places with people (a measure per head needs a population above 0)",
                   f"no population in {p!r} in {empty}")


def _applies(spec, years: list[int]) -> list[int]:
    """The planning years a rule with ``years: spec`` applies to."""
    if not years:
        return []
    return list(years) if spec == "all" else [y for y in years if y in set(spec)]
