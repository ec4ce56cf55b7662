"""The result of a solve: status, objective and planner tables (pandas DataFrames).

The tables are self-contained: together they carry every figure needed to recompute budgets,
shares, flow conservation, prevention effects, outcomes and the objective
(:mod:`optimiser.solving.verify` does exactly that, from the tables alone).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from formulations.lp import LinearProgram, positions
from formulations.pathway_flows import flow_keys, node_grid
from formulations.shift_policy import share_trajectory, trajectory

from ..input import schema
from ..input.evidence import evidence_table
from .returns import roi_tables
from .holdings import holder_sector_spend, holder_table, holder_transfers, population_table, scope_tables
from .highs import RawSolution, Status
from ..gc_pause import without_gc_pauses
from ..output.files import records, write_result
from .cash import cash_features, cash_tables, contract_spend
from .verify import verify_tables

# Order in which tables are written and shown; each has a one-line description for exports.
TABLES = {
    "allocation": "spend and activity per service and planning year",
    "sector_shares": "spend and share of spend per sector and year (base year included)",
    "shift": "shift policies: achieved against required, per year",
    "budget": "pooled budget, spend and discounting per year",
    "outcomes": "outcomes per year against targets",
    "flows": "patients per pathway edge, segment and year",
    "nodes": "patients through each pathway node, segment and year, and activity they use",
    "need": "need arising at pathway sources, before and after prevention",
    "prevention": "prevention effects per year: lagged driver, reduction achieved",
    "programme_returns": "each prevention programme per year and in total: spend above the base year, cases "
                         "avoided, downstream spend avoided, net cost, return per £1 (discounted too)",
    "programme_outcomes": "each prevention programme's outcomes improved (admissions avoided, QALYs gained, ...) "
                          "and its cost per unit improved, gross and net of downstream spend avoided",
    "programme_savings": "downstream activity and spend avoided by each prevention programme, per service",
    "savings_by_holder": "who saves: each holder's share of a programme's downstream spend avoided, against "
                         "who pays for it",
    "programme_cases": "cases avoided by each prevention effect at each source, segment and year",
    "case_consequences": "per case entering at a source: outcomes and activity it leads to on the plan's own "
                         "average path (the attribution rule of programme_returns)",
    "prevention_cohorts": "lasting prevention effects: each planning year's activity, its driver and full effect",
    "terminal_value": "cases the plan's prevention avoids after the horizon and their discounted value",
    "holders": "budget holders per year: budget, what each keeps and pools, spend, draws, net transfer",
    "holder_spend": "spend by budget holder, sector and year",
    "holder_transfers": "transfers between holders the plan implies, within each pool and year",
    "attributable_spend": "spend attributable to each segment, place, ring fence and capitation, per head",
    "spend_limits": "ring-fenced budgets and capitation against their limits",
    "place_outcomes": "outcomes by place, per 1,000 population",
    "equity": "each compared place's measure under each equity rule",
    "equity_summary": "equity rules: highest and lowest place, ratio and gap against the limits",
    "constraints": "every constraint with its value, bounds, dual (shadow price) and whether it binds",
    "services": "service parameters and base-year figures",
    "prevention_curves": "response curve points of each prevention effect",
    "prevention_targets": "sources and segments each prevention effect acts on",
    "prevention_profiles": "lasting prevention effects: fraction of one year's full effect acting each year after",
    "prevention_effect_terms": "lasting prevention effects as stated: lag, ramp, persistence and duration (the "
                               "verifier rebuilds the profiles from them)",
    "capitation_cover": "capitation contracts: payment per head and the segments covered, per year (the verifier "
                        "rebuilds each capitated amount from the population table)",
    "service_attribution": "share of each attributed service's non-pathway spend per segment and year",
    "outcome_terms": "definition of each outcome as weights on pathway flows",
    "shift_policies": "shift policy parameters",
    "objective_weights": "max_outcome mode: weight of each outcome and year in the objective",
    "evidence": "prevention effects taken from the evidence library: preset, published figure, citation",
    "population": "population per segment (and its place) and planning year",
    "spend_scopes": "what counts towards each group's attributable spend: services whole, segments, sectors",
    "cash_release": "per service and year: activity avoided and its notional value against cash released to the "
                    "commissioner and in the system (contract form, steps, closure lags)",
    "transition": "set-up costs of growth per service and year, and what the transformation fund pays of them",
    "transformation_fund": "the transformation fund per year: available, paid, cumulative",
    "cash_flow": "cash flow per budget holder, the fund and the system per year: programme and transition "
                 "investment, cash released (saved), demand growth apart, net, cumulative, payback year",
}


@dataclass
class Result:
    """One solve's answer. ``tables`` holds the DataFrames named in :data:`TABLES`."""

    status: Status
    objective: float | None
    has_plan: bool
    summary: dict[str, Any]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    instance: Any = None
    lp: LinearProgram | None = None

    def __getattr__(self, name: str):
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    @property
    def message(self) -> str:
        return self.status.explain(self.has_plan)

    def verify(self, tol: float = 1e-6):
        return verify_tables(self.tables, self.summary, tol=tol)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: summary keys at the top, then each table as a list of records."""

        out = dict(self.summary)
        out["stats"] = self.stats
        for name, df in self.tables.items():
            out[name] = records(df)
        return out

    def write(self, directory, overwrite: bool = False):
        return write_result(self, directory, overwrite=overwrite, descriptions=TABLES)


def _df(rows, columns) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)


@without_gc_pauses
def extract(instance, lp: LinearProgram, raw: RawSolution, timing: dict | None = None,
            backend: str = "highs", returns: bool = True) -> Result:
    """The Result of a solve. ``returns=False`` leaves out the return-on-investment tables
    (:mod:`optimiser.solving.returns`): loops over many plans that keep one record per plan (sweep,
    Pareto) do not pay for them."""
    t0 = time.perf_counter()
    m = instance.model
    summary: dict[str, Any] = {
        "instance": instance.name,
        "source": instance.source,
        "overrides": dict(instance.overrides),
        "scenarios": list((instance.extra or {}).get("scenarios", ())),
        "status": raw.status.value,
        "status_message": raw.status.explain(raw.has_plan),
        "solver_status": raw.message,
        "objective": raw.objective,
        "objective_mode": m.objective.mode,
        "objective_sense": "minimise" if lp.sense == "min" else "maximise",
        "objective_description": lp.objective_description,
        "currency": m.currency,
        "base_year": instance.base_year,
        "years": list(instance.years),
        "discount_rate": m.horizon.discount_rate,
        "mixed_integer": lp.is_mip,
        "max_openings_per_year": m.limits.max_openings_per_year,
        "budget_arrangement": instance.arrangement,
        # what the verifier must find tables for
        "rules": {"holders": len(m.budget.holders), "places": len(m.places), "ring_fences": len(m.ring_fences),
                  "capitation": len(m.capitation), "equity": len(m.equity)},
    }
    if raw.mip is not None:
        summary["mip"] = dict(raw.mip)
    if getattr(lp, "tiebreaks_skipped", None):
        summary["tiebreaks_not_applied"] = list(lp.tiebreaks_skipped)
    tables = static_tables(instance)
    if raw.has_plan:
        tables.update(plan_tables(instance, lp, raw, returns=returns))
        alloc = tables["allocation"]
        d = instance.discount.reindex(alloc["year"]).to_numpy()
        summary["total_cost"] = float(alloc["spend"].sum())
        summary["discounted_cost"] = float((alloc["spend"].to_numpy() * d).sum())
        tr = tables.get("transition")
        if tr is not None and len(tr):
            # one-off set-up costs count in the cost a plan is judged by, whoever pays them
            setup = tr["setup_cost"].to_numpy(dtype=float)
            summary["recurrent_cost"] = summary["total_cost"]
            summary["transition_cost"] = float(setup.sum())
            summary["transformation_fund_paid"] = float(tr["fund_paid"].sum())
            summary["total_cost"] += float(setup.sum())
            summary["discounted_cost"] += float((setup * instance.discount.reindex(tr["year"]).to_numpy()).sum())
        if "terminal_value" in tables:
            summary["terminal_value"] = float(tables["terminal_value"]["value"].sum())
            summary["terminal_value_years"] = len(instance.terminal_years)
    stats = {
        "backend": backend,
        "variables": lp.n_cols,
        "constraints": lp.n_rows,
        "nonzeros": lp.nnz,
        "iterations": raw.iterations,
        "build_steps_seconds": {k: round(v, 6) for k, v in getattr(lp, "step_seconds", {}).items()},
    }
    for k, v in (timing or {}).items():
        stats[f"{k}_seconds"] = v
    stats["extract_seconds"] = time.perf_counter() - t0
    return Result(status=raw.status, objective=raw.objective, has_plan=raw.has_plan, summary=summary,
                  tables=tables, stats=stats, instance=instance, lp=lp)


def static_tables(inst) -> dict[str, pd.DataFrame]:
    """Tables that describe the instance (needed to recompute a plan's figures)."""
    services = inst.services.reset_index()[["service", "sector", "unit", "baseline_activity",
                                            "base_unit_cost", "base_spend", "max_growth", "max_shrink", "opens",
                                            "earliest_year", "minimum_scale", "activity_per_team", "max_teams",
                                            "holder", "place"]]
    curves = _df([{"effect": k, "point": j, "x": x, "reduction": y}
                  for k, c in inst.curves.items() for j, (x, y) in enumerate(zip(c.x, c.y))],
                 ["effect", "point", "x", "reduction"])
    policies = []
    for p in inst.model.shift_policies:
        if isinstance(p, schema.ShareShift):
            policies.append({"policy": p.name, "kind": "share", "sectors": "+".join(p.sectors),
                             "increase_pp": p.increase_pp, "from_sector": None, "to_sector": None,
                             "amount": None, "trajectory": p.trajectory})
        else:
            policies.append({"policy": p.name, "kind": "transfer", "sectors": None, "increase_pp": None,
                             "from_sector": p.from_sector, "to_sector": p.to_sector, "amount": p.amount,
                             "trajectory": p.trajectory})
    from formulations.outcomes import outcome_weights

    weights = outcome_weights(inst) if inst.model.objective.mode == "max_outcome" else \
        _df([], ["outcome", "year", "weight"])
    return {
        "objective_weights": weights,
        "services": services,
        "prevention_curves": curves,
        "prevention_targets": inst.effect_targets.copy(),
        "outcome_terms": inst.outcome_terms.copy(),
        "shift_policies": _df(policies, ["policy", "kind", "sectors", "increase_pp", "from_sector",
                                         "to_sector", "amount", "trajectory"]),
        "evidence": evidence_table(inst),
        "population": population_table(inst),
        "spend_scopes": inst.spend_scopes.copy(),
        **({"prevention_profiles": inst.effect_profiles.copy()} if len(inst.effect_profiles) else {}),
        **({"service_attribution": inst.attribution.copy()} if len(inst.attribution) else {}),
        **({"prevention_effect_terms": effect_terms_table(inst)} if len(inst.effect_profiles) else {}),
        **({"capitation_cover": capitation_cover_table(inst)}
           if (inst.services["contract"] == "capitation").any() else {}),
    }


def effect_terms_table(inst) -> pd.DataFrame:
    """(effect, lag, ramp, persistence, duration) of every lasting effect as stated (ramp as its
    fractions joined by ';', blank when not given): what the profile p_k(d) is built from."""
    lasting = set(inst.effect_profiles["effect"])
    rows = [{"effect": e.name, "lag": int(e.lag),
             "ramp": ";".join(repr(float(r)) for r in e.ramp) if e.ramp is not None else None,
             "persistence": e.persistence, "duration": e.duration}
            for e in inst.model.prevention_effects if e.name in lasting]
    return pd.DataFrame(rows, columns=["effect", "lag", "ramp", "persistence", "duration"])


def capitation_cover_table(inst) -> pd.DataFrame:
    """(service, year, segment, per_head): one row per capitation contract, planning year and
    segment it covers (every segment when the contract names none)."""
    svc, sy = inst.services, inst.service_years
    every = list(inst.segments["segment"]) if "segment" in inst.segments else list(inst.segments.index)
    rows = []
    for name in svc.index[svc["contract"] == "capitation"]:
        segs = svc.at[name, "covered_segments"] or tuple(every)
        mine = sy[sy["service"] == name]
        rows += [{"service": name, "year": int(y), "segment": g, "per_head": float(ph)}
                 for y, ph in zip(mine["year"], mine["per_head"]) for g in segs]
    return pd.DataFrame(rows, columns=["service", "year", "segment", "per_head"])


def _values(lp: LinearProgram, name: str, x: np.ndarray) -> pd.DataFrame:
    block = lp.variables[name]
    return block.index.assign(value=x[block.start:block.start + len(block)])


def plan_tables(inst, lp: LinearProgram, raw: RawSolution, returns: bool = True) -> dict[str, pd.DataFrame]:
    """Every result table of a solved plan, from the instance and the solution vector: each table
    made by its own function below, in an order where each reads only those made before it."""
    x = raw.x
    years = list(inst.years)
    act = _values(lp, "activity", x).rename(columns={"value": "activity"})
    alloc = _allocation_table(inst, lp, x, act)
    flows, nodes = _flow_and_node_tables(inst, lp, x)
    alloc = _with_pathway_activity(alloc, nodes)
    cohorts, delivered = lasting_tables(inst, lp, x, act, inst.service_years) if len(inst.effect_profiles) \
        else (None, {})
    prevention = _prevention_table(inst, lp, x, act, delivered)
    need = _need_table(inst, prevention)
    shares = _sector_share_table(inst, alloc)
    shift = _shift_table(inst, alloc, shares)
    budget = _budget_table(inst, alloc)
    outcomes = _outcome_table(inst, flows, nodes)

    holders = holder_table(inst, alloc)

    cash = cash_tables(inst, lp, x, alloc) if cash_features(inst) else {}
    if len(cash.get("transition", ())):
        _add_transition_costs(budget, cash["transition"], years)
    extra = {}
    if cohorts is not None:
        extra["prevention_cohorts"] = cohorts
        if inst.terminal_years:
            extra["terminal_value"] = terminal_value_table(inst, lp, x, delivered)
    return {**cash, **extra,
        "allocation": alloc, "sector_shares": shares, "shift": shift, "budget": budget,
        "outcomes": outcomes, "flows": flows, "nodes": nodes, "need": need, "prevention": prevention,
        "holders": holders, "holder_spend": holder_sector_spend(inst, alloc),
        "holder_transfers": holder_transfers(holders), **scope_tables(inst, lp, x, alloc, nodes),
        "constraints": constraint_table(lp, raw),
        **(roi_tables(alloc, static_tables_services(inst), budget, need, prevention, inst.effect_targets, flows,
                      nodes, inst.outcome_terms, inst.outcomes, cash.get("cash_release"),
                      extra.get("terminal_value")) if returns else {}),
    }


def _allocation_table(inst, lp: LinearProgram, x: np.ndarray, act: pd.DataFrame) -> pd.DataFrame:
    """Each service and year's activity with its yearly figures, the mixed-integer choices (open,
    on, teams; a service that never opens is open throughout), the year a site opened, the fixed
    spend (teams, running and opening costs) and the spend: the payment by contract form (or unit
    cost x activity) plus the fixed spend."""
    alloc = act.merge(inst.service_years, on=["service", "year"]).merge(
        inst.services[["sector", "unit", "opening_cost"]].reset_index(), on="service")
    # mixed-integer choices (0 where a service has none)
    for name, col, default in (("open", "open", 1.0), ("on", "on", 1.0), ("teams", "teams", 0.0)):
        if name in lp.variables:
            v = _values(lp, name, x).rename(columns={"value": col})
            v[col] = np.round(v[col])
            alloc = alloc.merge(v, on=["service", "year"], how="left")
        else:
            alloc[col] = np.nan
    opens = alloc["service"].map(inst.services["opens"]).astype(bool)
    alloc["open"] = np.where(opens, alloc["open"].fillna(0.0), 1.0)
    prev_open = alloc.sort_values("year").groupby("service")["open"].shift(1)
    alloc["opened"] = np.where(opens, alloc["open"] - prev_open.reindex(alloc.index).fillna(0.0), 0.0)
    alloc["teams"] = alloc["teams"].fillna(0.0)
    alloc["fixed_spend"] = (alloc["team_cost"] * alloc["teams"] + alloc["running_cost"] * np.where(opens, alloc["open"], 0.0)
                            + alloc["opening_cost"] * alloc["opened"])
    contracts = bool(inst.services["contract_given"].any())
    if contracts:
        alloc["spend"] = contract_spend(inst, lp, x, alloc) + alloc["fixed_spend"]
    else:
        alloc["spend"] = alloc["unit_cost"] * alloc["activity"] + alloc["fixed_spend"]
    return alloc


def _flow_and_node_tables(inst, lp: LinearProgram, x: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(flows, nodes): each edge's flow with its share of the tail node's outflow and its share
    range; each node's inflow, outflow, patients (a source's outflow, else its inflow) and the
    activity they use."""
    # placed by the flow variables' integer codes (formulations.variables.flow_table): on a large
    # model, grouping a million flows by their text keys costs more than building the model
    fb = lp.variables["flow"]
    edge = fb.codes["edge"].to_numpy()
    flow = x[fb.start:fb.start + len(fb)]
    tail, head = flow_keys(lp, inst, "tail"), flow_keys(lp, inst, "head")
    groups, group_of = np.unique(tail, return_inverse=True)
    out_tot = np.bincount(group_of, weights=flow, minlength=len(groups))[group_of]
    flows = fb.index.assign(flow=flow)
    flows["share"] = np.where(out_tot > 0, flow / np.where(out_tot > 0, out_tot, 1.0), np.nan)
    flows["share_min"] = inst.edges["share_min"].to_numpy()[edge]
    flows["share_max"] = inst.edges["share_max"].to_numpy()[edge]
    flows = flows[["pathway", "segment", "year", "from", "to", "flow", "share", "share_min", "share_max"]]

    grid = node_grid(inst)
    key = grid["key"].to_numpy()
    pos = grid["node_pos"].to_numpy()
    nodes = grid[["pathway", "node", "segment", "year"]].copy()
    for col in ("kind", "service", "units_per_patient"):
        nodes[col] = inst.nodes[col].to_numpy()[pos]
    nodes["inflow"] = np.bincount(positions(key, head, "nodes"), weights=flow, minlength=len(nodes))
    nodes["outflow"] = np.bincount(positions(key, tail, "nodes"), weights=flow, minlength=len(nodes))
    nodes["patients"] = np.where(nodes["kind"] == "source", nodes["outflow"], nodes["inflow"])
    nodes["activity_used"] = nodes["patients"] * nodes["units_per_patient"]
    nodes = nodes[["pathway", "node", "kind", "service", "segment", "year", "inflow", "outflow", "patients",
                   "units_per_patient", "activity_used"]]
    return flows, nodes


def _with_pathway_activity(alloc: pd.DataFrame, nodes: pd.DataFrame) -> pd.DataFrame:
    """The allocation table as written: with each service and year's pathway activity (what its
    care nodes use), its columns in their published order, sorted by year then service."""
    use = nodes[nodes["kind"] == "care"].groupby(["service", "year"], as_index=False)["activity_used"].sum()
    alloc = alloc.merge(use.rename(columns={"activity_used": "pathway_activity"}), on=["service", "year"],
                        how="left").fillna({"pathway_activity": 0.0})
    alloc = alloc[["service", "sector", "year", "unit", "unit_cost", "activity", "spend", "pathway_activity",
                   "non_pathway_activity", "capacity_min", "capacity_max", "fixed_spend", "open", "opened",
                   "on", "teams", "team_cost", "running_cost", "opening_cost"]]
    return alloc.sort_values(["year", "service"], kind="stable").reset_index(drop=True)


def _prevention_table(inst, lp: LinearProgram, x: np.ndarray, act: pd.DataFrame, delivered: dict) -> pd.DataFrame:
    """One row per prevention effect and planning year: its driver (the service's activity or
    spend ``lag`` years before, or the baseline before the horizon), the response curve there,
    the plan's reduction and the net reduction over the baseline. A lasting effect's curve value
    is what its cohorts deliver together that year (``delivered``)."""
    prev_rows = []
    red = _values(lp, "reduction", x).set_index(["effect", "year"])["value"] if "reduction" in lp.variables else None
    act_idx = act.set_index(["service", "year"])["activity"]
    cost_idx = inst.service_years.set_index(["service", "year"])["unit_cost"]
    for e in inst.effects.itertuples(index=False):
        curve = inst.curves[e.effect]
        for y in inst.years:
            dy = y - e.lag
            if getattr(e, "lasting", False):
                # many cohorts act in year y: the curve value is what they deliver together
                got = (e.effect, y) in delivered
                prev_rows.append({"effect": e.effect, "service": e.service, "pathway": e.pathway, "year": y,
                                  "driver": e.driver, "driver_year": np.nan, "driver_value": np.nan,
                                  "curve_value": delivered.get((e.effect, y), e.baseline_reduction),
                                  "reduction": float(red[(e.effect, y)]) if got else e.baseline_reduction,
                                  "baseline_reduction": e.baseline_reduction,
                                  "net_reduction": (float(red[(e.effect, y)]) if got else e.baseline_reduction)
                                  - e.baseline_reduction, "floor": e.floor})
                continue
            if dy > inst.base_year:
                drv = act_idx[(e.service, dy)] * (cost_idx[(e.service, dy)] if e.driver == "spend" else 1.0)
                r = float(red[(e.effect, y)])
            else:
                drv, r = e.baseline_driver, e.baseline_reduction
            prev_rows.append({"effect": e.effect, "service": e.service, "pathway": e.pathway, "year": y,
                              "driver": e.driver, "driver_year": dy, "driver_value": drv,
                              "curve_value": curve(drv), "reduction": r,
                              "baseline_reduction": e.baseline_reduction,
                              "net_reduction": r - e.baseline_reduction, "floor": e.floor})
    return _df(prev_rows, ["effect", "service", "pathway", "year", "driver", "driver_year", "driver_value",
                           "curve_value", "reduction", "baseline_reduction", "net_reduction", "floor"])


def _need_table(inst, prevention: pd.DataFrame) -> pd.DataFrame:
    """Each source, segment and year's need: incidence per head x population (the baseline need)
    x (1 - the net reduction of the prevention effects aimed at it)."""
    years = list(inst.years)
    need = inst.incidence.merge(pd.DataFrame({"year": years}), how="cross").merge(
        inst.population.rename("population").reset_index(), on=["segment", "year"])
    need["baseline_need"] = need["incidence"] * need["population"]
    if len(prevention):
        net = inst.effect_targets.merge(prevention[["effect", "year", "net_reduction"]], on="effect")
        net = net.groupby(["pathway", "node", "segment", "year"], as_index=False)["net_reduction"].sum()
        need = need.merge(net, on=["pathway", "node", "segment", "year"], how="left")
    else:
        need["net_reduction"] = 0.0
    need["net_reduction"] = need["net_reduction"].fillna(0.0)
    need["need"] = need["baseline_need"] * (1 - need["net_reduction"])
    return need.rename(columns={"incidence": "incidence_per_head"})[
        ["pathway", "node", "segment", "year", "population", "incidence_per_head", "baseline_need",
         "net_reduction", "need"]]


def _sector_share_table(inst, alloc: pd.DataFrame) -> pd.DataFrame:
    """Each sector's spend and share of the year's total, the base year (from base spend) first."""
    base = inst.base_sector_spend()
    sec_rows = [{"sector": s, "year": inst.base_year, "spend": float(base[s])} for s in inst.sectors]
    spend = alloc.groupby(["sector", "year"])["spend"].sum()
    for y in inst.years:
        for s in inst.sectors:
            sec_rows.append({"sector": s, "year": y, "spend": float(spend.get((s, y), 0.0))})
    shares = _df(sec_rows, ["sector", "year", "spend"])
    tot = shares.groupby("year")["spend"].transform("sum")
    shares["share"] = np.where(tot > 0, shares["spend"] / tot.where(tot > 0, 1.0), 0.0)
    shares["is_base_year"] = shares["year"] == inst.base_year
    return shares


def _shift_table(inst, alloc: pd.DataFrame, shares: pd.DataFrame) -> pd.DataFrame:
    """Each shift policy's trajectory year by year: required and achieved (a share of spend, or
    the amount moved out of one sector and into the other: the lesser of the two), and whether met."""
    base = inst.base_sector_spend()
    spend = alloc.groupby(["sector", "year"])["spend"].sum()
    shift_rows = []
    for p in inst.model.shift_policies:
        if isinstance(p, schema.ShareShift):
            req = share_trajectory(inst, p).set_index("year")["required_share"]
            s0 = inst.base_share(p.sectors)
            for y in inst.years:
                achieved = float(shares[(shares["year"] == y) & shares["sector"].isin(p.sectors)]["share"].sum())
                r = float(req[y]) if y in req.index else math.nan
                shift_rows.append({"policy": p.name, "kind": "share", "year": y, "measure": "share of spend",
                                   "base": s0, "required": r, "achieved": achieved,
                                   "met": bool(math.isnan(r) or achieved >= r - 1e-7)})
        else:
            req = trajectory(inst, p.amount, 0.0, p.trajectory).set_index("year")["required"]
            for y in inst.years:
                moved_out = float(base[p.from_sector] - spend.get((p.from_sector, y), 0.0))
                moved_in = float(spend.get((p.to_sector, y), 0.0) - base[p.to_sector])
                r = float(req[y]) if y in req.index else math.nan
                achieved = min(moved_out, moved_in)
                shift_rows.append({"policy": p.name, "kind": "transfer", "year": y,
                                   "measure": f"moved {p.from_sector} -> {p.to_sector}",
                                   "base": 0.0, "required": r, "achieved": achieved,
                                   "met": bool(math.isnan(r) or achieved >= r - 1e-6 * max(1.0, abs(r)))})
    return _df(shift_rows, ["policy", "kind", "year", "measure", "base", "required", "achieved", "met"])


def _budget_table(inst, alloc: pd.DataFrame) -> pd.DataFrame:
    """Each year's budget, spend, headroom, discount factor and discounted spend."""
    years = list(inst.years)
    budget = pd.DataFrame({"year": years})
    budget["budget"] = inst.budget.reindex(years).to_numpy()
    budget["spend"] = alloc.groupby("year")["spend"].sum().reindex(years).to_numpy()
    budget["headroom"] = budget["budget"] - budget["spend"]
    budget["discount_factor"] = inst.discount.reindex(years).to_numpy()
    budget["discounted_spend"] = budget["spend"] * budget["discount_factor"]
    return budget


def _add_transition_costs(budget: pd.DataFrame, transition: pd.DataFrame, years: list[int]) -> None:
    """Add each year's transition set-up cost and what the fund paid of it to the budget table
    (while it is being built), the headroom then net of what the fund does not meet."""
    tr = transition.groupby("year")[["setup_cost", "fund_paid"]].sum().reindex(years, fill_value=0.0)
    budget["transition_cost"] = tr["setup_cost"].to_numpy()
    budget["fund_paid"] = tr["fund_paid"].to_numpy()
    budget["headroom"] = budget["budget"] - budget["spend"] - budget["transition_cost"] + budget["fund_paid"]


def _outcome_table(inst, flows: pd.DataFrame, nodes: pd.DataFrame) -> pd.DataFrame:
    """Each outcome's value per year, recomputed from the flows, with its targets (blank where
    there is none) and whether they are met (to a relative 1e-6)."""
    outcomes = outcome_values(inst.outcome_terms, flows, nodes, inst.outcomes, list(inst.years))
    outcomes = outcomes.merge(inst.targets, on=["outcome", "year"], how="left")
    outcomes["met"] = [
        bool((np.isnan(lo) or v >= lo - 1e-6 * max(1, abs(lo))) and (np.isnan(hi) or v <= hi + 1e-6 * max(1, abs(hi))))
        for v, lo, hi in zip(outcomes["value"], outcomes["at_least"].astype(float).replace([-np.inf], np.nan),
                             outcomes["at_most"].astype(float).replace([np.inf], np.nan))]
    for col, inf in (("at_least", -np.inf), ("at_most", np.inf)):
        outcomes[col] = outcomes[col].astype(float).replace([inf], np.nan)
    return outcomes


def static_tables_services(inst) -> pd.DataFrame:
    """The services table's columns that the return-on-investment tables read."""
    return inst.services.reset_index()[["service", "sector", "base_spend", "baseline_activity", "holder"]]


def lasting_tables(inst, lp: LinearProgram, x: np.ndarray, act: pd.DataFrame, sy: pd.DataFrame):
    """(prevention_cohorts, delivered): one row per lasting effect and planning-year cohort (driver
    in that year, the curve there, the cohort response in the plan); and, per (effect, year) the
    cohorts act in (beyond the horizon too), what they deliver on the curve:
    g0 + sum_tau p(year - tau) (g(driver_tau) - g0)."""
    from formulations.variables import cohort_terms, cohort_years

    cy = cohort_years(inst).merge(inst.effects[["effect", "service", "driver", "baseline_reduction"]], on="effect",
                                  sort=False)
    a = act.set_index(["service", "year"])["activity"]
    c = sy.set_index(["service", "year"])["unit_cost"]
    key = pd.MultiIndex.from_arrays([cy["service"], cy["cohort_year"]])
    cy["driver_value"] = a.reindex(key).to_numpy() * np.where(cy["driver"] == "spend", c.reindex(key).to_numpy(), 1.0)
    cy["curve_value"] = [inst.curves[k](v) for k, v in zip(cy["effect"], cy["driver_value"])]
    resp = _values(lp, "cohort_response", x).set_index(["effect", "cohort_year"])["value"]
    cy["response"] = resp.reindex(pd.MultiIndex.from_frame(cy[["effect", "cohort_year"]])).to_numpy()
    ct = cohort_terms(inst).merge(cy[["effect", "cohort_year", "curve_value", "baseline_reduction"]],
                                  on=["effect", "cohort_year"])
    ct["add"] = ct["weight"] * (ct["curve_value"] - ct["baseline_reduction"])
    d = ct.groupby(["effect", "year"]).agg(add=("add", "sum"), g0=("baseline_reduction", "first"))
    delivered = {k: float(v) for k, v in (d["g0"] + d["add"]).items()}
    cols = ["effect", "service", "cohort_year", "driver", "driver_value", "curve_value", "response",
            "baseline_reduction"]
    return cy[cols], delivered


def terminal_value_table(inst, lp: LinearProgram, x: np.ndarray, delivered: dict) -> pd.DataFrame:
    """One row per effect, source, segment and year after the horizon: the final year's baseline
    need, the effect's reduction that year (and what its cohorts deliver on the curve), the cases
    avoided (need x net reduction), the value per case, the discount factor and the discounted
    value. Its values sum to the terminal value in the objective
    (formulations.objective.terminal_value_terms)."""
    from formulations.pathway_flows import source_rows

    need = source_rows(inst)
    need = need[need["year"] == inst.final_year][["pathway", "node", "segment", "need"]]
    red = _values(lp, "reduction", x)
    red = red[red["year"].isin(inst.terminal_years)]
    t = inst.effect_targets.merge(need, on=["pathway", "node", "segment"]).merge(
        inst.case_values, on=["effect", "pathway", "node"]).merge(red.rename(columns={"value": "reduction"}),
                                                                  on="effect")
    t = t.merge(inst.effects[["effect", "baseline_reduction", "floor"]], on="effect")
    t["curve_value"] = [delivered.get((k, y), g0) for k, y, g0 in zip(t["effect"], t["year"], t["baseline_reduction"])]
    t["net_reduction"] = t["reduction"] - t["baseline_reduction"]
    t["cases_avoided"] = t["need"] * t["net_reduction"]
    rate = inst.model.horizon.discount_rate
    t["discount_factor"] = (1.0 + rate) ** -(t["year"] - inst.base_year).astype(float)
    t["value"] = t["cases_avoided"] * t["value_per_case"] * t["discount_factor"]
    t = t.rename(columns={"need": "final_year_need", "rule": "value_rule"})
    return t[["effect", "pathway", "node", "segment", "year", "final_year_need", "curve_value", "reduction",
              "baseline_reduction", "net_reduction", "floor", "cases_avoided", "value_per_case", "value_rule",
              "discount_factor", "value"]].sort_values(["effect", "pathway", "node", "segment", "year"],
                                                       kind="stable").reset_index(drop=True)


def outcome_values(terms: pd.DataFrame, flows: pd.DataFrame, nodes: pd.DataFrame, outcomes: pd.DataFrame,
                   years: list[int]) -> pd.DataFrame:
    """value[o, t] = sum of weight x patients over the outcome's terms (nodes: patients through the
    node; edges: patients on the edge). The verifier recomputes it on its own, per segment."""
    grid = outcomes[["outcome", "unit", "direction"]].merge(pd.DataFrame({"year": years}), how="cross")
    parts = []
    nt = terms[terms["on"] == "node"]
    if len(nt):
        t = nt.merge(nodes[["pathway", "node", "segment", "year", "patients"]], on=["pathway", "node", "segment"])
        parts.append(t.assign(v=t["weight"] * t["patients"])[["outcome", "year", "v"]])
    et = terms[terms["on"] == "edge"]
    if len(et):
        t = et.merge(flows[["pathway", "from", "to", "segment", "year", "flow"]], on=["pathway", "from", "to", "segment"])
        parts.append(t.assign(v=t["weight"] * t["flow"])[["outcome", "year", "v"]])
    if parts:
        v = pd.concat(parts).groupby(["outcome", "year"], as_index=False)["v"].sum()
        grid = grid.merge(v, on=["outcome", "year"], how="left")
        grid["value"] = grid.pop("v").fillna(0.0)
    else:
        grid["value"] = 0.0
    return grid


def join_keys(index: pd.DataFrame) -> pd.Series:
    """'key1, key2, ...' per row (a plain join over the columns as Python strings: about 2.5x
    quicker than pandas' str.cat on large blocks)."""
    if index.shape[1] == 0:
        return pd.Series([""] * len(index), dtype=object)
    cols = [index[c].astype(str).tolist() for c in index.columns]
    return pd.Series([", ".join(row) for row in zip(*cols)], index=index.index, dtype=object)


def constraint_table(lp: LinearProgram, raw: RawSolution) -> pd.DataFrame:
    """Every row of the programme, labelled in planner terms, with value, bounds and dual."""
    frames = []
    for name, block in lp.constraints.items():
        sl = slice(block.start, block.start + len(block))
        labels = join_keys(block.index)
        df = pd.DataFrame({
            "constraint": name,
            "keys": labels.to_numpy(),
            "year": block.index["year"].to_numpy() if "year" in block.index else None,
            "lower": block.lower, "upper": block.upper,
            "value": raw.row_value[sl] if raw.row_value is not None else np.nan,
            "dual": raw.row_dual[sl] if raw.row_dual is not None else np.nan,
            "dual_unit": block.dual_unit, "description": block.description,
        })
        frames.append(df)
    if not frames:
        return _df([], ["constraint", "keys", "year", "lower", "upper", "value", "dual", "dual_unit",
                        "description", "binding"])
    out = pd.concat(frames, ignore_index=True)
    scale = 1e-6 * np.maximum(1.0, np.abs(out["value"].to_numpy()))
    out["binding"] = ((np.abs(out["value"] - out["lower"]) <= scale) | (np.abs(out["value"] - out["upper"]) <= scale)) \
        & ~(out["lower"] == out["upper"])
    out["binding"] = out["binding"] | ((out["lower"] == out["upper"]) & (np.abs(out["dual"].fillna(0)) > 1e-9))
    out["lower"] = out["lower"].replace([-np.inf], np.nan)
    out["upper"] = out["upper"].replace([np.inf], np.nan)
    return out
