"""The validated, read-only instance: the file's content as tidy tables and networkx graphs.

Everything the formulation, the result tables and the reports need is computed here once
(yearly series expanded, discount factors, base-year shares), so that they all agree.
"""

from __future__ import annotations

import math
import dataclasses
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

import networkx as nx
import numpy as np
import pandas as pd

from . import schema


def expand_years(values: Any, years: list[int], base_year: int) -> dict[int, float]:
    """A :data:`schema.YearValues` as ``{year: value}`` for ``years`` (assumed validated)."""
    if isinstance(values, schema.Growth):
        return {y: values.value * (1 + values.growth) ** (y - base_year) for y in years}
    if isinstance(values, dict):
        return {y: float(values[y]) for y in years}
    return {y: float(values) for y in years}


def missing_years(values: Any, years: list[int]) -> list[int]:
    if isinstance(values, dict):
        return [y for y in years if y not in values]
    return []


def edge_bounds(share: Any) -> tuple[float, float]:
    if isinstance(share, (tuple, list)):
        return float(share[0]), float(share[1])
    return float(share), float(share)


def _readonly(df: pd.DataFrame) -> pd.DataFrame:
    for col in df.columns:
        arr = df[col].to_numpy()
        try:
            arr.flags.writeable = False
        except (ValueError, AttributeError):
            pass
    return df


@dataclass(frozen=True)
class PreventionCurve:
    """A concave piecewise-linear response: reduction(x) = min_k (intercept_k + slope_k * x)."""

    x: tuple[float, ...]
    y: tuple[float, ...]

    def __call__(self, value: float) -> float:
        return float(np.interp(value, self.x, self.y))  # flat beyond the last point

    def pieces(self) -> list[tuple[float, float]]:
        """(intercept, slope) of each linear piece, plus the flat piece beyond the last point."""
        out = []
        for (x0, y0), (x1, y1) in zip(zip(self.x, self.y), zip(self.x[1:], self.y[1:])):
            slope = (y1 - y0) / (x1 - x0)
            out.append((y0 - slope * x0, slope))
        out.append((self.y[-1], 0.0))
        return out


def _base_year_value(values: Any, base_year: int) -> float:
    """A :data:`schema.YearValues` in the base year: a constant, a growth series' starting value,
    or a by-year mapping's base-year entry (its earliest entry when the base year is not given:
    contract values are stated for the planning years)."""
    if isinstance(values, schema.Growth):
        return float(values.value)
    if isinstance(values, dict):
        return float(values[base_year]) if base_year in values else float(min(values.items())[1])
    return float(values)


def base_year_spend(s: schema.Service, base_year: int, population: Mapping[str, Any]) -> float:
    """The service's spend in the base year: what the commissioner paid for its baseline activity.
    Without a contract, baseline activity x base-year unit cost; under a contract, its payment at
    baseline activity in the base year: price x baseline activity (activity), the block value (a
    block's value is its payment at the base-year steps), per head x the covered segments'
    base-year population (capitation). Shares, transfer policies and validation's share check all
    measure from this, so a sector's share does not jump in the first year merely because a
    contract's payment differs from unit cost x activity. ``population``: segment -> YearValues
    (all segments, for a capitation that names none)."""
    unit = _base_year_value(s.unit_cost, base_year)
    ct = s.contract
    if ct is None:
        return s.baseline_activity * unit
    if ct.form == "activity":
        price = _base_year_value(ct.price, base_year) if ct.price is not None else unit
        return s.baseline_activity * price
    if ct.form == "block":
        return _base_year_value(ct.block_value, base_year) if ct.block_value is not None \
            else s.baseline_activity * unit
    segs = ct.segments if ct.segments is not None else list(population)
    return _base_year_value(ct.per_head, base_year) * sum(_base_year_value(population[g], base_year) for g in segs)


PROFILE_COLUMNS = ["effect", "years_after", "weight"]
CASE_VALUE_COLUMNS = ["effect", "pathway", "node", "value_per_case", "rule"]
ATTRIBUTION_COLUMNS = ["service", "segment", "year", "share"]


def effect_profile(e: schema.PreventionEffect, d: int) -> float:
    """p_k(d): the fraction of one year's full effect (the response curve's value at that year's
    driver) that acts d years after the activity. 0 before the lag; the ramp's fractions in its
    years; then the last ramp fraction x persistence^(years after the ramp); 0 from ``duration``
    years after the first year it acts. Without ramp, persistence and duration: 1 at d = lag only
    (the one-year pulse)."""
    j = d - e.lag
    if j < 0 or (e.duration is not None and j >= e.duration):
        return 0.0
    ramp = list(e.ramp) if e.ramp is not None else [1.0]
    if j < len(ramp):
        return float(ramp[j])
    keep = e.persistence if e.persistence is not None else (1.0 if e.duration is not None else 0.0)
    return float(ramp[-1]) * float(keep) ** (j - len(ramp) + 1)


def is_pulse(e: schema.PreventionEffect) -> bool:
    """Whether the effect's profile is the one-year pulse (all of the effect in year lag only)."""
    keep = e.persistence if e.persistence is not None else (1.0 if e.duration is not None else 0.0)
    return (e.ramp is None or list(e.ramp) == [1.0]) and (keep == 0.0 or e.duration == 1)


def case_routing(nodes: pd.DataFrame, edges: pd.DataFrame) -> pd.DataFrame:
    """(pathway, from, to, share): the shares used to value a case avoided beyond the horizon. A
    fixed share as given; the edges out of a node with a range all at the same fraction lambda of the
    way from their minimum to their maximum, the lambda that makes the node's shares sum to 1:
    share_e = min_e + lambda (max_e - min_e), lambda = (1 - sum min) / sum (max - min)."""
    e = edges[["pathway", "from", "to", "share_min", "share_max"]].copy()
    g = e.groupby(["pathway", "from"])
    lo = g["share_min"].transform("sum")
    room = g["share_max"].transform("sum") - lo
    lam = np.where(room > 0, (1.0 - lo) / room.where(room > 0, 1.0), 0.0)
    e["share"] = e["share_min"] + lam * (e["share_max"] - e["share_min"])
    return e[["pathway", "from", "to", "share"]]


def pathway_case_costs(nodes: pd.DataFrame, edges: pd.DataFrame, unit_cost: Mapping[str, float]) -> pd.DataFrame:
    """(pathway, node, value_per_case) for every source: the expected care cost of one case arising
    there, sum over care nodes m of visits_m x u_m x unit_cost[service(m)], with visits the expected
    number of arrivals at m of a patient starting at the source under :func:`case_routing`'s shares
    (v = e_source + W^T v, W the share matrix; readmission loops counted)."""
    routing = case_routing(nodes, edges)
    rows = []
    for pw, nd in nodes.groupby("pathway", sort=False):
        names = list(nd["node"])
        pos = {n: k for k, n in enumerate(names)}
        w = np.zeros((len(names), len(names)))
        mine = routing[routing["pathway"] == pw]
        for frm, to, share in zip(mine["from"], mine["to"], mine["share"]):
            w[pos[to], pos[frm]] += share
        cost = np.array([(u * unit_cost.get(svc, 0.0)) if k == "care" else 0.0
                         for k, svc, u in zip(nd["kind"], nd["service"], nd["units_per_patient"])])
        for n, kind in zip(names, nd["kind"]):
            if kind != "source":
                continue
            start = np.zeros(len(names))
            start[pos[n]] = 1.0
            visits = np.linalg.solve(np.eye(len(names)) - w, start)
            rows.append({"pathway": pw, "node": n, "value_per_case": float(cost @ visits)})
    return pd.DataFrame(rows, columns=["pathway", "node", "value_per_case"])


@dataclass(frozen=True)
class Instance:
    """A checked instance. Read-only: its fields cannot be set, its mappings are read-only views
    and its tables' columns read-only arrays. Make variants with :meth:`with_overrides` (changed
    inputs, validated again); record how an instance was made with :meth:`with_record`."""

    model: schema.InstanceFile
    raw: Mapping[str, Any]
    source: str
    overrides: Mapping[str, Any]
    base_year: int
    years: tuple[int, ...]
    discount: pd.Series
    budget: pd.Series
    sectors: tuple[str, ...]
    services: pd.DataFrame
    service_years: pd.DataFrame
    population: pd.Series
    graphs: Mapping[str, nx.DiGraph]
    nodes: pd.DataFrame
    edges: pd.DataFrame
    pathway_segments: pd.DataFrame
    incidence: pd.DataFrame
    effects: pd.DataFrame
    effect_targets: pd.DataFrame
    curves: Mapping[str, PreventionCurve]
    outcome_terms: pd.DataFrame
    outcomes: pd.DataFrame
    targets: pd.DataFrame
    holders: pd.DataFrame
    holder_budgets: pd.DataFrame
    segments: pd.DataFrame
    spend_scopes: pd.DataFrame
    spend_limits: pd.DataFrame
    equity: pd.DataFrame
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    # lasting prevention effects and value beyond the horizon (empty when unused)
    effect_profiles: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=PROFILE_COLUMNS))
    terminal_years: tuple[int, ...] = ()
    case_values: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CASE_VALUE_COLUMNS))
    # attribution of services' non-pathway spend to segments (empty when unused)
    attribution: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ATTRIBUTION_COLUMNS))

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_model(cls, m: schema.InstanceFile, raw: Mapping[str, Any], source: str = "<instance>",
                   overrides: Mapping[str, Any] | None = None,
                   extra: Mapping[str, Any] | None = None) -> "Instance":
        """The instance built from a validated file: every table made once, each by its own
        builder below, then frozen (the tables' columns made read-only). ``overrides`` and ``extra``
        record how it was made (kept as read-only copies)."""
        base = m.horizon.base_year
        years = [base + k for k in range(1, m.horizon.years + 1)]
        all_years = [base] + years
        holders, holder_budgets, holder_of = _holder_tables(m, years, base)
        budget = _budget_series(m, holder_budgets, years, base)
        services, service_years = _service_tables(m, years, base, holder_of, budget)
        population = _population_series(m, all_years, base)
        all_segments = [seg.name for seg in m.segments]
        _add_capitation_values(services, service_years, population, all_segments)
        graphs, nodes, edges, pathway_segments, incidence = _pathway_tables(m, all_segments)
        seg_of = pathway_segments.groupby("pathway")["segment"].apply(list).to_dict()
        effects, effect_targets, curves = _prevention_tables(m, services, seg_of)
        terminal_years = tuple(years[-1] + k for k in range(1, m.horizon.terminal_value.years + 1)) \
            if m.horizon.terminal_value is not None else ()
        effect_profiles, case_values = _lasting_tables(m, effects, nodes, edges, years, terminal_years, base)
        outcome_terms, outcomes = _outcome_tables(m, seg_of)
        targets = _target_table(m, years)
        segments = pd.DataFrame([{"segment": seg.name, "place": seg.place} for seg in m.segments],
                                columns=["segment", "place"])
        spend_scopes, spend_limits, equity = _scope_tables(m, years, base, services, segments, population)
        attribution = _attribution_table(m, years, population)

        frames = [services, service_years, nodes, edges, pathway_segments, incidence, effects,
                  effect_targets, outcome_terms, outcomes, targets, holders, holder_budgets, segments,
                  spend_scopes, spend_limits, equity, effect_profiles, case_values, attribution]
        for df in frames:
            _readonly(df)
        return cls(
            model=m, raw=MappingProxyType(dict(raw)), source=source,
            overrides=MappingProxyType(dict(overrides or {})), extra=MappingProxyType(dict(extra or {})),
            base_year=base, years=tuple(years),
            discount=_discount_series(m, years), budget=budget, sectors=tuple(s.name for s in m.sectors),
            services=services, service_years=service_years, population=population, graphs=MappingProxyType(graphs),
            nodes=nodes, edges=edges, pathway_segments=pathway_segments, incidence=incidence,
            effects=effects, effect_targets=effect_targets, curves=MappingProxyType(curves),
            outcome_terms=outcome_terms, outcomes=outcomes, targets=targets, holders=holders,
            holder_budgets=holder_budgets, segments=segments, spend_scopes=spend_scopes,
            spend_limits=spend_limits, equity=equity, effect_profiles=effect_profiles,
            terminal_years=terminal_years, case_values=case_values, attribution=attribution,
        )

    # ------------------------------------------------------------------ conveniences
    @property
    def name(self) -> str:
        return self.model.name

    @property
    def is_mip(self) -> bool:
        """Whether the model has integer variables (openings, minimum scales, teams, exact curves)."""
        svc = self.services
        return bool(svc["opens"].any() or svc["minimum_scale"].notna().any()
                    or svc["activity_per_team"].notna().any() or self.effects["exact"].any()
                    or ((svc["contract"] == "block") & svc["step_capacity"].notna()).any())

    @property
    def arrangement(self) -> str:
        """How the budget is held: ``pooled`` (one budget), ``partial`` (holders plus pooled funds)
        or ``siloed`` (each holder within its own budget)."""
        return self.model.budget.arrangement

    @property
    def places(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.model.places)

    @property
    def all_years(self) -> tuple[int, ...]:
        return (self.base_year,) + self.years

    @property
    def final_year(self) -> int:
        return self.years[-1]

    def transformation_fund_per_year(self) -> dict[int, float]:
        """The transformation fund's ``per_year`` limit as ``{year: amount}`` over the planning years
        (empty when there is no fund or no yearly limit)."""
        fund = self.model.transformation_fund
        if fund is None or fund.per_year is None:
            return {}
        return expand_years(fund.per_year, list(self.years), self.base_year)

    def base_sector_spend(self) -> pd.Series:
        """Base-year spend by sector (:func:`base_year_spend`: baseline activity x base-year unit cost,
        or a contract's baseline payment)."""
        s = self.services.groupby("sector")["base_spend"].sum()
        return s.reindex(list(self.sectors), fill_value=0.0)

    def base_share(self, sectors: list[str]) -> float:
        spend = self.base_sector_spend()
        total = spend.sum()
        return float(spend.loc[list(sectors)].sum() / total) if total > 0 else 0.0

    def with_overrides(self, overrides: Mapping[str, Any] | list[str]) -> "Instance":
        """A new, re-validated instance with ``overrides`` applied on top of this one's
        (:func:`optimiser.input.variants.with_overrides`: the loader runs again, which is why this
        one method imports upward, lazily; see tests/test_layers.py)."""
        from .variants import with_overrides

        return with_overrides(self, overrides)

    def with_record(self, *, overrides: Mapping[str, Any] | None = None,
                    extra: Mapping[str, Any] | None = None) -> "Instance":
        """This instance with a new record of how it was made: ``overrides`` and/or ``extra``
        replaced by read-only copies of the ones given (the others kept). A new object: the
        tables are shared (they are read-only), this instance is left as it was. The one way to
        change that record; never set fields on a built instance."""
        changes: dict[str, Any] = {}
        if overrides is not None:
            changes["overrides"] = MappingProxyType(dict(overrides))
        if extra is not None:
            changes["extra"] = MappingProxyType(dict(extra))
        return dataclasses.replace(self, **changes)


# ---------------------------------------------------------------------- the builders of from_model
def _discount_series(m: schema.InstanceFile, years: list[int]) -> pd.Series:
    """The discount factor of each planning year: 1 / (1 + rate)^(year - base year)."""
    base, r = m.horizon.base_year, m.horizon.discount_rate
    discount = pd.Series({y: 1.0 / (1 + r) ** (y - base) for y in years}, name="discount_factor")
    discount.index.name = "year"
    return discount


def _budget_series(m: schema.InstanceFile, holder_budgets: pd.DataFrame, years: list[int], base: int) -> pd.Series:
    """The whole budget of each planning year: the holders' budgets summed, or the pooled budget."""
    if m.budget.holders:
        budget = holder_budgets.groupby("year")["budget"].sum().reindex(years).rename("budget")
    else:
        budget = pd.Series(expand_years(m.budget.pooled, years, base), name="budget")
    budget.index.name = "year"
    return budget


def _service_tables(m: schema.InstanceFile, years: list[int], base: int, holder_of: Mapping[str, str],
                    budget: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(services, service_years): one row per service (indexed by name) with its fixed facts, and
    one row per service and planning year with its yearly figures and activity bound."""
    population = {seg.name: seg.population for seg in m.segments}
    services = pd.DataFrame([_service_row(s, years, base, holder_of, population)
                             for s in m.services]).set_index("service")
    service_years = pd.DataFrame([row for s in m.services for row in _service_year_rows(s, years, base)])
    service_years["activity_bound"] = _activity_bound(services, service_years, budget)
    return services, service_years


def _service_row(s: schema.Service, years: list[int], base: int, holder_of: Mapping[str, str],
                 population: Mapping[str, Any]) -> dict:
    """A service's fixed facts: base-year spend, growth limits, opening, teams, holder and place,
    cost behaviour and contract form (see formulations.cost_behaviour, .transition)."""
    cost_base = expand_years(s.unit_cost, [base] + years, base)[base]
    cb, ct = s.cost_behaviour, s.contract
    steps = cb.steps if cb is not None else None
    form = ct.form if ct is not None else None
    return {
        "service": s.name, "sector": s.sector, "unit": s.unit,
        "baseline_activity": s.baseline_activity, "base_unit_cost": cost_base,
        "base_spend": base_year_spend(s, base, population),
        "max_growth": np.nan if s.max_growth is None else s.max_growth,
        "max_shrink": np.nan if s.max_shrink is None else s.max_shrink,
        "opens": s.opening is not None,
        "earliest_year": (s.opening.earliest_year or years[0]) if s.opening else np.nan,
        "opening_cost": s.opening.opening_cost if s.opening else 0.0,
        "minimum_scale": np.nan if s.minimum_scale is None else s.minimum_scale,
        "activity_per_team": s.teams.activity_per_team if s.teams else np.nan,
        "max_teams": np.nan if (s.teams is None or s.teams.max_teams is None) else s.teams.max_teams,
        "holder": holder_of.get(s.name), "place": s.place,
        # cost behaviour, contract form, transition (formulations.cost_behaviour, .transition)
        "contract": form or "activity", "contract_given": ct is not None,
        "cost_behaviour": cb is not None,
        "step_capacity": steps.capacity if steps is not None else np.nan,
        "closure_lag": steps.closure_lag if steps is not None else np.nan,
        "baseline_steps": (float(steps.baseline_steps) if steps.baseline_steps is not None else
                           float(math.ceil(s.baseline_activity / steps.capacity - 1e-9)))
        if steps is not None else np.nan,
        "covered_segments": tuple(ct.segments) if form == "capitation" and ct.segments is not None else None,
    }


def _service_year_rows(s: schema.Service, years: list[int], base: int) -> list[dict]:
    """A service's figures for each planning year: unit cost, capacity, non-pathway demand, running
    and team costs, contract price, block value and per-head rate, cost behaviour, set-up cost.
    A figure the service does not have is 0 (running, team, set-up costs) or NaN."""
    cost = expand_years(s.unit_cost, [base] + years, base)
    cap_min = expand_years(s.capacity.min, years, base)
    cap_max = expand_years(s.capacity.max, years, base) if s.capacity.max is not None else None
    other = expand_years(s.non_pathway_activity, years, base)
    running = expand_years(s.opening.running_cost, years, base) if s.opening else {y: 0.0 for y in years}
    team_cost = expand_years(s.teams.cost_per_team, years, base) if s.teams else {y: 0.0 for y in years}
    cb, ct, tr = s.cost_behaviour, s.contract, s.transition
    steps = cb.steps if cb is not None else None
    zero = {y: 0.0 for y in years}
    nan = {y: np.nan for y in years}
    variable = expand_years(cb.variable_cost, years, base) if cb is not None else nan
    fixed = expand_years(cb.fixed_cost, years, base) if cb is not None else nan
    step_cost = expand_years(steps.cost, years, base) if steps is not None else nan
    form = ct.form if ct is not None else None
    price = expand_years(ct.price, years, base) if form == "activity" and ct.price is not None else \
        {y: cost[y] for y in years}
    block = expand_years(ct.block_value, years, base) if form == "block" and ct.block_value is not None \
        else {y: cost[y] * s.baseline_activity for y in years}
    per_head = expand_years(ct.per_head, years, base) if form == "capitation" else nan
    setup = expand_years(tr.setup_cost, years, base) if tr is not None else zero
    return [{
        "service": s.name, "year": y, "unit_cost": cost[y], "capacity_min": cap_min[y],
        "capacity_max": np.inf if cap_max is None else cap_max[y],
        "non_pathway_activity": other[y], "running_cost": running[y], "team_cost": team_cost[y],
        "price": price[y], "block_value": block[y], "per_head": per_head[y],
        "variable_cost": variable[y], "step_cost": step_cost[y], "fixed_cost": fixed[y],
        "setup_cost": setup[y],
    } for y in years]


def _activity_bound(services: pd.DataFrame, service_years: pd.DataFrame, budget: pd.Series) -> np.ndarray:
    """The most activity a service could ever have in a year: its capacity, what the whole budget
    would buy, or what its teams could deliver, whichever is least (a valid bound for the
    mixed-integer formulations)."""
    bud = service_years["year"].map(budget)
    by_budget = np.where(service_years["unit_cost"] > 0, bud / service_years["unit_cost"].where(
        service_years["unit_cost"] > 0, 1.0), np.inf)
    team_cap = (services["activity_per_team"] * services["max_teams"]).reindex(service_years["service"]).to_numpy()
    return np.minimum(np.minimum(service_years["capacity_max"].to_numpy(), by_budget),
                      np.where(np.isnan(team_cap), np.inf, team_cap))


def _population_series(m: schema.InstanceFile, all_years: list[int], base: int) -> pd.Series:
    """Each segment's population in the base year and every planning year, indexed by (segment, year)."""
    seg_names, seg_years, seg_pop = [], [], []
    for seg in m.segments:
        for y, v in expand_years(seg.population, all_years, base).items():
            seg_names.append(seg.name)
            seg_years.append(y)
            seg_pop.append(v)
    return pd.Series(seg_pop, name="population", dtype=float,
                     index=pd.MultiIndex.from_arrays([seg_names, seg_years], names=["segment", "year"]))


def _add_capitation_values(services: pd.DataFrame, service_years: pd.DataFrame, population: pd.Series,
                           all_segments: list[str]) -> None:
    """Add service_years' ``capitation_value`` column (while the table is being built): a capitation
    contract pays its per-head rate x the population of the segments it covers (all of them unless
    it names some); 0 for every other contract."""
    cap_rows = services.index[services["contract"] == "capitation"]
    service_years["capitation_value"] = 0.0
    for name in cap_rows:
        segs = services.at[name, "covered_segments"] or tuple(all_segments)
        at = (service_years["service"] == name).to_numpy()
        heads = [sum(population[(sg, y)] for sg in segs) for y in service_years.loc[at, "year"]]
        service_years.loc[at, "capitation_value"] = service_years.loc[at, "per_head"].to_numpy() * np.asarray(heads)


def _pathway_tables(m: schema.InstanceFile, all_segments: list[str]):
    """(graphs, nodes, edges, pathway_segments, incidence): each pathway as a frozen networkx graph
    and as tidy tables — its nodes (care nodes' units per patient, 1 unless given), its edges' share
    ranges, the segments it serves (all unless it names some) and each source's incidence per
    segment (0 for a segment it does not name)."""
    graphs, node_rows, edge_rows, ps_rows, inc_rows = {}, [], [], [], []
    for p in m.pathways:
        segs = p.segments if p.segments is not None else all_segments
        ps_rows += [{"pathway": p.name, "segment": s} for s in segs]
        g = nx.DiGraph(name=p.name)
        for n in p.nodes:
            units = (n.units_per_patient if n.units_per_patient is not None else 1.0) if n.kind == "care" else 0.0
            g.add_node(n.name, kind=n.kind, service=n.service, units_per_patient=units)
            node_rows.append({"pathway": p.name, "node": n.name, "kind": n.kind,
                              "service": n.service if n.kind == "care" else None,
                              "units_per_patient": units})
            if n.kind == "source":
                for s in segs:
                    rate = n.incidence.get(s, 0.0) if isinstance(n.incidence, dict) else float(n.incidence or 0.0)
                    inc_rows.append({"pathway": p.name, "node": n.name, "segment": s, "incidence": rate})
        for e in p.edges:
            lo, hi = edge_bounds(e.share)
            g.add_edge(e.from_, e.to, share_min=lo, share_max=hi)
            edge_rows.append({"pathway": p.name, "from": e.from_, "to": e.to,
                              "share_min": lo, "share_max": hi})
        graphs[p.name] = nx.freeze(g)
    nodes = pd.DataFrame(node_rows, columns=["pathway", "node", "kind", "service", "units_per_patient"])
    edges = pd.DataFrame(edge_rows, columns=["pathway", "from", "to", "share_min", "share_max"])
    pathway_segments = pd.DataFrame(ps_rows, columns=["pathway", "segment"])
    incidence = pd.DataFrame(inc_rows, columns=["pathway", "node", "segment", "incidence"])
    return graphs, nodes, edges, pathway_segments, incidence


def _prevention_tables(m: schema.InstanceFile, services: pd.DataFrame, seg_of: Mapping[str, list[str]]):
    """(effects, effect_targets, curves): one row per prevention effect (its service, lag, driver,
    floor, whether its curve must be modelled exactly — asked for, or not concave — and whether it
    lasts beyond one year), the (source node, segment) pairs it reduces, and its response curve.
    The baseline driver and reduction are the curve at the base-year activity: the baseline
    incidence already reflects it."""
    eff_rows, tgt_rows, curves = [], [], {}
    for e in m.prevention_effects:
        curves[e.name] = PreventionCurve(tuple(x for x, _ in e.response), tuple(y for _, y in e.response))
        xs, ys = [x for x, _ in e.response], [y for _, y in e.response]
        slopes = [(y1 - y0) / (x1 - x0) for x0, y0, x1, y1 in zip(xs, ys, xs[1:], ys[1:])]
        concave = all(b <= a + 1e-12 for a, b in zip(slopes, slopes[1:]))
        eff_rows.append({"effect": e.name, "service": e.service, "pathway": e.pathway, "lag": e.lag,
                         "driver": e.driver, "floor": e.floor,
                         "baseline_driver": 0.0, "baseline_reduction": 0.0,
                         "exact": e.response_model == "exact" or not concave,
                         "lasting": m.horizon.terminal_value is not None or not is_pulse(e)})
        segs = e.segments if e.segments is not None else seg_of.get(e.pathway, [])
        for src in e.sources:
            for s in segs:
                tgt_rows.append({"effect": e.name, "pathway": e.pathway, "node": src, "segment": s})
    effects = pd.DataFrame(eff_rows, columns=["effect", "service", "pathway", "lag", "driver", "floor",
                                              "baseline_driver", "baseline_reduction", "exact", "lasting"])
    if len(effects):
        # the baseline incidence already reflects base-year prevention activity: effects are
        # measured against the response at the baseline level
        bl = services.loc[effects["service"], "baseline_activity"].to_numpy()
        cost0 = services.loc[effects["service"], "base_unit_cost"].to_numpy()
        effects["baseline_driver"] = np.where(effects["driver"] == "spend", bl * cost0, bl)
        effects["baseline_reduction"] = [curves[n](x) for n, x in zip(effects["effect"], effects["baseline_driver"])]
    effect_targets = pd.DataFrame(tgt_rows, columns=["effect", "pathway", "node", "segment"])
    return effects, effect_targets, curves


def _outcome_tables(m: schema.InstanceFile, seg_of: Mapping[str, list[str]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(outcome_terms, outcomes): each outcome's weighted terms on a node or an edge, one row per
    segment the term counts (all its pathway's unless it names some), and each outcome's unit and
    direction."""
    term_rows = []
    for o in m.outcomes:
        for t in o.terms:
            segs = t.segments if t.segments is not None else seg_of.get(t.pathway, [])
            for s in segs:
                term_rows.append({
                    "outcome": o.name, "pathway": t.pathway, "segment": s,
                    "on": "node" if t.node is not None else "edge",
                    "node": t.node, "from": t.edge[0] if t.edge else None,
                    "to": t.edge[1] if t.edge else None, "weight": t.weight,
                })
    outcome_terms = pd.DataFrame(term_rows, columns=["outcome", "pathway", "segment", "on", "node",
                                                     "from", "to", "weight"])
    outcomes = pd.DataFrame([{"outcome": o.name, "unit": o.unit, "direction": o.direction}
                             for o in m.outcomes], columns=["outcome", "unit", "direction"])
    return outcome_terms, outcomes


def _target_table(m: schema.InstanceFile, years: list[int]) -> pd.DataFrame:
    """(outcome, year, at_least, at_most): the targets in force each year (one year, the years
    named, or all), several on the same outcome and year combined into the tightest bounds."""
    tgt = {}
    for t in m.targets:
        if t.year is not None:
            ys = [t.year]
        elif t.years == "all" or t.years is None:
            ys = years
        else:
            ys = list(t.years)
        for y in ys:
            lo, hi = tgt.get((t.outcome, y), (-np.inf, np.inf))
            if t.at_least is not None:
                lo = max(lo, t.at_least)
            if t.at_most is not None:
                hi = min(hi, t.at_most)
            tgt[(t.outcome, y)] = (lo, hi)
    return pd.DataFrame([{"outcome": o, "year": y, "at_least": lo, "at_most": hi}
                         for (o, y), (lo, hi) in tgt.items()],
                        columns=["outcome", "year", "at_least", "at_most"])


# ---------------------------------------------------------------------- lasting effects, attribution
def _lasting_tables(m: schema.InstanceFile, effects: pd.DataFrame, nodes: pd.DataFrame, edges: pd.DataFrame,
                    years: list[int], terminal_years: tuple[int, ...], base: int):
    """(effect_profiles, case_values). effect_profiles: (effect, years_after, weight) with weight =
    p_k(years_after) > 0 for every lasting effect, years_after up to the last modelled year (the
    final planning year, or the last terminal year) minus the first planning year. case_values:
    (effect, pathway, node, value_per_case, rule) for every source of every effect when
    horizon.terminal_value is set."""
    lasting = set(effects.loc[effects["lasting"].astype(bool), "effect"]) if len(effects) else set()
    last = (terminal_years or tuple(years))[-1]
    rows = [{"effect": e.name, "years_after": d, "weight": effect_profile(e, d)}
            for e in m.prevention_effects if e.name in lasting for d in range(0, last - years[0] + 1)]
    prof = pd.DataFrame(rows, columns=PROFILE_COLUMNS)
    prof = prof[prof["weight"] > 0].reset_index(drop=True)
    if not terminal_years or not m.prevention_effects:
        return prof, pd.DataFrame(columns=CASE_VALUE_COLUMNS)
    final_cost = {s.name: expand_years(s.unit_cost, [years[-1]], base)[years[-1]] for s in m.services}
    need = {e.pathway for e in m.prevention_effects if e.value_per_case is None}  # pathways valued at care cost
    computed = pathway_case_costs(nodes[nodes["pathway"].isin(need)], edges[edges["pathway"].isin(need)],
                                  final_cost).set_index(["pathway", "node"])["value_per_case"]
    vals = []
    for e in m.prevention_effects:
        for src in e.sources:
            given = e.value_per_case is not None
            vals.append({"effect": e.name, "pathway": e.pathway, "node": src,
                         "value_per_case": float(e.value_per_case) if given else float(computed[(e.pathway, src)]),
                         "rule": "given" if given else "pathway care cost at final-year unit costs"})
    return prof, pd.DataFrame(vals, columns=CASE_VALUE_COLUMNS)


def _attribution_table(m: schema.InstanceFile, years: list[int], population: pd.Series) -> pd.DataFrame:
    """(service, segment, year, share): each attributed service's share of its non-pathway spend
    for each segment and planning year (stated shares, or population shares of the listed
    segments)."""
    rows = []
    every = [seg.name for seg in m.segments]
    for s in m.services:
        a = s.attribution
        if a is None:
            continue
        if a.shares is not None:
            rows += [(s.name, seg, y, float(v)) for seg, v in a.shares.items() for y in years]
            continue
        segs = every if a.by_population == "all" else list(a.by_population)
        for y in years:
            pop = {seg: float(population[(seg, y)]) for seg in segs}
            total = sum(pop.values())
            rows += [(s.name, seg, y, pop[seg] / total) for seg in segs]
    return pd.DataFrame(rows, columns=ATTRIBUTION_COLUMNS)


# ---------------------------------------------------------------------- budget holders and scopes
from formulations.ring_fences import ALL_SECTORS  # noqa: E402  ("*": pathway use in every sector counts)

def holder_claims(m: schema.InstanceFile) -> dict[str, list[str]]:
    """service -> the holders that claim it: by name where any holder names it, else by sector."""
    by_name: dict[str, list[str]] = {}
    by_sector: dict[str, list[str]] = {}
    for h in m.budget.holders:
        for svc in h.services:
            by_name.setdefault(svc, []).append(h.name)
        for sec in h.sectors:
            by_sector.setdefault(sec, []).append(h.name)
    return {s.name: by_name.get(s.name) or by_sector.get(s.sector, []) for s in m.services}


def _holder_tables(m: schema.InstanceFile, years: list[int], base: int):
    """(holders, holder_budgets, holder_of): each holder with its pooled fund and the share of its
    budget it pays in; its budget per planning year; the holder of each service."""
    fund_of = {h: (f.name, share) for f in m.budget.pooled_funds for h, share in f.contributions.items()}
    holders = pd.DataFrame(
        [{"holder": h.name, "pooled_fund": fund_of.get(h.name, (None, 0.0))[0],
          "pooled_share": float(fund_of.get(h.name, (None, 0.0))[1])} for h in m.budget.holders],
        columns=["holder", "pooled_fund", "pooled_share"])
    holder_budgets = pd.DataFrame(
        [{"holder": h.name, "year": y, "budget": v}
         for h in m.budget.holders for y, v in expand_years(h.budget, years, base).items()],
        columns=["holder", "year", "budget"])
    claims = holder_claims(m) if m.budget.holders else {}
    holder_of = {svc: names[0] for svc, names in claims.items() if len(names) == 1}
    return holders, holder_budgets, holder_of


def scope_members(scope: schema.SpendScope, services: pd.DataFrame, segments: pd.DataFrame,
                  place: str | None = None) -> tuple[list[str], list[str], list[str]]:
    """(whole services, segments, pathway sectors) of a spend scope; with ``place``, only the
    segments and services located there.

    Whole services: those named, and those located in a named place. Segments: those named, and
    those of a named place. Pathway sectors: the sectors (``*`` = every sector) of the other
    services whose activity the scope's segments use through pathway care nodes counts.
    """
    places = list(scope.places)
    whole = list(scope.services) + list(services.index[services["place"].isin(places)])
    segs = list(scope.segments) + list(segments.loc[segments["place"].isin(places), "segment"])
    if place is not None:
        whole = [s for s in whole if services.at[s, "place"] == place]
        seg_place = segments.set_index("segment")["place"]
        segs = [s for s in segs if seg_place[s] == place]
    return (list(dict.fromkeys(whole)), list(dict.fromkeys(segs)),
            list(scope.sectors) if scope.sectors is not None else [ALL_SECTORS])


def _scope_years(spec, years: list[int]) -> list[int]:
    return list(years) if spec == "all" else [y for y in years if y in set(spec)]


SCOPE_COLUMNS = ["scope", "part", "member"]


def _scope_rows(scope_id: str, whole, segs, sectors, places=()) -> pd.DataFrame:
    return pd.DataFrame(
        [(scope_id, "whole_service", x) for x in whole] + [(scope_id, "segment", x) for x in segs]
        + [(scope_id, "pathway_sector", x) for x in sectors] + [(scope_id, "place", x) for x in places],
        columns=SCOPE_COLUMNS)


def _scope_tables(m: schema.InstanceFile, years: list[int], base: int, services: pd.DataFrame,
                  segments: pd.DataFrame, population: pd.Series):
    """(spend_scopes, spend_limits, equity).

    spend_scopes: (scope, part, member) with part one of whole_service, segment, pathway_sector
    (member ``*``: every sector) or place (a scope defined by places, which counts pathway use of
    shared services only): the spend attributable to a scope in year t is

        sum_{whole services i} spend[i, t]
        + sum_{other services i in the pathway sectors} unit_cost[i, t] * (activity used at i's care
          nodes by patients of the scope's segments).

    Every segment and every place is a scope of its own (for spend per head); so is every ring
    fence, capitation (per place with by_place) and place compared by an equity rule. Built with
    table operations throughout: a national instance has thousands of places and segments.
    spend_limits: (scope, kind, name, place, year, population, per_head, at_least, at_most).
    equity: (name, measure, outcome, year, place, scope, population, max_ratio, max_gap).
    """
    frames = []
    seg = segments["segment"]
    # every segment: its own pathway use, every sector
    frames.append(pd.DataFrame({"scope": "segment: " + seg, "part": "segment", "member": seg}))
    frames.append(pd.DataFrame({"scope": "segment: " + seg, "part": "pathway_sector", "member": ALL_SECTORS}))
    # every place: its own services whole, its people's pathway use of everything else
    if m.places:
        placed_svc = services.loc[services["place"].notna(), "place"]
        frames.append(pd.DataFrame({"scope": "place: " + placed_svc.to_numpy(dtype=object), "part": "whole_service",
                                    "member": placed_svc.index.to_numpy(dtype=object)}))
        placed_seg = segments[segments["place"].notna()]
        frames.append(pd.DataFrame({"scope": "place: " + placed_seg["place"], "part": "segment",
                                    "member": placed_seg["segment"]}))
        names = pd.Series([p.name for p in m.places], dtype=object)
        frames.append(pd.DataFrame({"scope": "place: " + names, "part": "pathway_sector", "member": ALL_SECTORS}))
        frames.append(pd.DataFrame({"scope": "place: " + names, "part": "place", "member": names}))

    pop = population.rename("population").reset_index()
    pop = pop[pop["year"].isin(years)].merge(segments, on="segment")
    place_pop = pop.groupby(["place", "year"])["population"].sum()

    def pop_of(segs) -> pd.Series:
        return pop[pop["segment"].isin(segs)].groupby("year")["population"].sum().reindex(years, fill_value=0.0)

    limits = []
    for rf in m.ring_fences:
        sid = f"ring fence: {rf.name}"
        whole, segs, sectors = scope_members(rf, services, segments)
        frames.append(_scope_rows(sid, whole, segs, sectors, rf.places))
        ys = _scope_years(rf.years, years)
        lo = expand_years(rf.at_least, ys, base) if rf.at_least is not None else {}
        hi = expand_years(rf.at_most, ys, base) if rf.at_most is not None else {}
        limits.append(pd.DataFrame({
            "scope": sid, "kind": "ring_fence", "name": rf.name, "place": None, "year": ys,
            "population": pop_of(segs).reindex(ys).to_numpy(), "per_head": np.nan,
            "at_least": [lo.get(y, -np.inf) for y in ys], "at_most": [hi.get(y, np.inf) for y in ys]}))
    for cap in m.capitation:
        ys = _scope_years(cap.years, years)
        per_head = expand_years(cap.per_head, ys, base)
        whole, segs, sectors = scope_members(cap, services, segments)
        if not cap.by_place:
            sid = f"capitation: {cap.name}"
            frames.append(_scope_rows(sid, whole, segs, sectors, cap.places))
            p = pop_of(segs).reindex(ys).to_numpy()
            ph = np.array([per_head[y] for y in ys])
            limits.append(pd.DataFrame({"scope": sid, "kind": "capitation", "name": cap.name, "place": None,
                                        "year": ys, "population": p, "per_head": ph, "at_least": -np.inf,
                                        "at_most": ph * p}))
            continue
        # one scope per place that has some of the segments: its segments and its services
        seg_rows = segments[segments["segment"].isin(segs)]
        svc_rows = services.loc[services.index.isin(whole), "place"]
        prefix = f"capitation: {cap.name} @ "
        frames.append(pd.DataFrame({"scope": prefix + seg_rows["place"], "part": "segment",
                                    "member": seg_rows["segment"]}))
        frames.append(pd.DataFrame({"scope": prefix + svc_rows[svc_rows.isin(seg_rows["place"])].to_numpy(dtype=object),
                                    "part": "whole_service",
                                    "member": svc_rows.index[svc_rows.isin(seg_rows["place"])].to_numpy(dtype=object)}))
        cap_places = pd.Series(pd.unique(seg_rows["place"]), dtype=object)
        frames.append(pd.DataFrame({"scope": prefix + cap_places, "part": "place", "member": cap_places}))
        frames.append(pd.DataFrame({"scope": prefix + cap_places, "part": "pathway_sector", "member": None})
                      .merge(pd.DataFrame({"sector": sectors}), how="cross")
                      .assign(member=lambda d: d["sector"]).drop(columns="sector"))
        grid = pd.DataFrame({"place": cap_places}).merge(pd.DataFrame({"year": ys}), how="cross")
        cp = pop[pop["segment"].isin(segs)].groupby(["place", "year"])["population"].sum()
        grid["population"] = cp.reindex(pd.MultiIndex.from_frame(grid[["place", "year"]]), fill_value=0.0).to_numpy()
        grid["per_head"] = grid["year"].map(per_head)
        limits.append(grid.assign(scope=prefix + grid["place"], kind="capitation", name=cap.name,
                                  at_least=-np.inf, at_most=grid["per_head"] * grid["population"]))
    equity_parts = []
    for eq in m.equity:
        places = eq.places if eq.places is not None else [p.name for p in m.places]
        grid = pd.DataFrame({"place": pd.Series(places, dtype=object)}).merge(
            pd.DataFrame({"year": _scope_years(eq.years, years)}), how="cross")
        grid["population"] = place_pop.reindex(pd.MultiIndex.from_frame(grid[["place", "year"]]),
                                               fill_value=0.0).to_numpy()
        grid = grid[["year", "place", "population"]]
        equity_parts.append(grid.assign(name=eq.name, measure=eq.measure, outcome=eq.outcome,
                                        scope="place: " + grid["place"],
                                        max_ratio=eq.max_ratio if eq.max_ratio is not None else np.nan,
                                        max_gap=eq.max_gap if eq.max_gap is not None else np.nan))
    spend_scopes = pd.concat(frames, ignore_index=True)[SCOPE_COLUMNS] if frames else \
        pd.DataFrame(columns=SCOPE_COLUMNS)
    spend_scopes = spend_scopes.drop_duplicates().reset_index(drop=True)
    limit_cols = ["scope", "kind", "name", "place", "year", "population", "per_head", "at_least", "at_most"]
    spend_limits = pd.concat(limits, ignore_index=True)[limit_cols] if limits else pd.DataFrame(columns=limit_cols)
    eq_cols = ["name", "measure", "outcome", "year", "place", "scope", "population", "max_ratio", "max_gap"]
    equity = pd.concat(equity_parts, ignore_index=True)[eq_cols] if equity_parts else pd.DataFrame(columns=eq_cols)
    return spend_scopes, spend_limits, equity
