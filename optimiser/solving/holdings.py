"""Who pays, and for whom: a plan's spend by budget holder, the transfers between holders it
implies, and the spend attributable to groups of people (segments, places, ring fences,
capitation) with equity across places.

Holder figures are read from the allocation; attributable spend, place outcomes and equity
measures are evaluated from the solved model's own terms (:mod:`formulations.ring_fences`,
:mod:`formulations.equity`), so that :mod:`optimiser.solving.verify`, which recomputes them from the
tables, checks the model rather than repeating this code.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

HOLDER_COLUMNS = ["holder", "year", "arrangement", "pooled_fund", "pooled_share", "budget", "kept", "contributed", "spend",
                  "drawn", "net_transfer", "unspent"]
TRANSFER_COLUMNS = ["pool", "year", "from_holder", "to_holder", "amount"]


def holder_table(inst, alloc: pd.DataFrame) -> pd.DataFrame:
    """One row per holder and year: its budget, the pool it pays into under the instance's
    arrangement (the whole budget when pooled; none when siloed; its fund's share when partial), what
    it keeps and pays in, its spend, what it draws from the pool (spend beyond what it keeps)
    and its net transfer (spend - budget: positive = paid for by others)."""
    if inst.holders.empty:
        return pd.DataFrame(columns=HOLDER_COLUMNS)
    arrangement = inst.arrangement
    hb = inst.holder_budgets.merge(inst.holders, on="holder")
    spend = alloc.assign(holder=alloc["service"].map(inst.services["holder"])).groupby(
        ["holder", "year"])["spend"].sum()
    hb["spend"] = spend.reindex(pd.MultiIndex.from_frame(hb[["holder", "year"]]), fill_value=0.0).to_numpy()
    if arrangement == "pooled":
        hb["pooled_fund"], hb["pooled_share"] = "pooled budget", 1.0
    elif arrangement == "siloed":
        hb["pooled_fund"], hb["pooled_share"] = None, 0.0
    share = hb["pooled_share"].to_numpy(dtype=float)
    hb["arrangement"] = arrangement
    hb["contributed"] = share * hb["budget"]
    hb["kept"] = hb["budget"] - hb["contributed"]
    hb["drawn"] = np.where(hb["pooled_fund"].notna(), np.maximum(hb["spend"] - hb["kept"], 0.0), 0.0)
    hb["net_transfer"] = hb["spend"] - hb["budget"]
    hb["unspent"] = hb["budget"] - hb["spend"]
    return hb[HOLDER_COLUMNS].sort_values(["year", "holder"], kind="stable").reset_index(drop=True)


def holder_transfers(holders: pd.DataFrame, tol: float = 1e-6) -> pd.DataFrame:
    """Transfers between holders within each pool and year: a member receives what it draws
    beyond its own contribution; donors (contribution beyond their draw) pay the receivers in
    proportion to what each leaves in the pool. One convention among many that net to the same
    positions; the net positions themselves are unique."""
    rows = []
    pooled = holders[holders["pooled_fund"].notna()]
    for (pool, year), g in pooled.groupby(["pooled_fund", "year"], sort=True):
        give = np.maximum(g["contributed"] - g["drawn"], 0.0).to_numpy()
        take = np.maximum(g["drawn"] - g["contributed"], 0.0).to_numpy()
        total_give = give.sum()
        if total_give <= 0:
            continue
        for h_to, t_amt in zip(g["holder"], take):
            if t_amt <= tol * max(1.0, total_give):
                continue
            for h_from, g_amt in zip(g["holder"], give):
                if g_amt > 0:
                    rows.append({"pool": pool, "year": int(year), "from_holder": h_from, "to_holder": h_to,
                                 "amount": t_amt * g_amt / total_give})
    return pd.DataFrame(rows, columns=TRANSFER_COLUMNS)


def holder_sector_spend(inst, alloc: pd.DataFrame) -> pd.DataFrame:
    """Spend by holder, sector and year (the allocation by holder and sector)."""
    if inst.holders.empty:
        return pd.DataFrame(columns=["holder", "sector", "year", "spend"])
    a = alloc.assign(holder=alloc["service"].map(inst.services["holder"]))
    return a.groupby(["holder", "sector", "year"], as_index=False)["spend"].sum()


def _evaluate(terms: pd.DataFrame, keys: list[str], x: np.ndarray) -> pd.Series:
    t = terms.assign(value=terms["coef"].to_numpy(dtype=float) * x[terms["col"].to_numpy(dtype=np.int64)])
    return t.groupby(keys)["value"].sum()


def population_table(inst) -> pd.DataFrame:
    """(segment, place, year, population) for every segment and planning year."""
    pop = inst.population.rename("population").reset_index()
    pop = pop[pop["year"].isin(inst.years)].merge(inst.segments, on="segment")
    return pop[["segment", "place", "year", "population"]].reset_index(drop=True)


def _use_rate(alloc: pd.DataFrame, rate: pd.Series | None) -> pd.Series:
    """Payment per unit of pathway use on (service, year): ``rate`` when given (contracts:
    :func:`formulations.ring_fences.pathway_use_rate`), else the allocation's unit cost."""
    if rate is not None:
        return rate
    return alloc.set_index(["service", "year"])["unit_cost"]


def attributed_from_tables(scopes: pd.DataFrame, alloc: pd.DataFrame, nodes: pd.DataFrame,
                           services: pd.DataFrame, attribution: pd.DataFrame, rate: pd.Series | None = None) -> pd.Series:
    """The attributed part of each scope's spend per (scope, year), from result tables alone: for
    every service with shares in ``attribution`` (service, segment, year, share) that the scope does
    not count whole, in its pathway sectors and not located in another of its places,
    (sum of the shares of the scope's segments) x (spend - r x activity used by all pathway
    patients at the service's care nodes), r the payment per unit of use (``rate``; default the
    unit cost)."""
    keys = ["service", "year"]
    by_service = services.set_index("service") if "service" in services else services
    care = nodes[nodes["kind"] == "care"]
    used = care.groupby(keys)["activity_used"].sum()
    a = alloc[keys + ["spend"]].copy()
    a["unit_cost"] = _use_rate(alloc, rate).reindex(pd.MultiIndex.from_frame(a[keys])).to_numpy()
    a["rest"] = a["spend"] - a["unit_cost"] * used.reindex(pd.MultiIndex.from_frame(a[keys]), fill_value=0.0).to_numpy()
    segs = scopes[scopes["part"] == "segment"].rename(columns={"member": "segment"})[["scope", "segment"]]
    sh = segs.merge(attribution, on="segment").groupby(["scope", "service", "year"], as_index=False)["share"].sum()
    sh["sector"] = sh["service"].map(by_service["sector"])
    sectors = scopes[scopes["part"] == "pathway_sector"].rename(columns={"member": "sector"})[["scope", "sector"]]
    every = sectors.loc[sectors["sector"] == "*", "scope"].unique()
    sh = pd.concat([sh[sh["scope"].isin(every)], sh[~sh["scope"].isin(every)].merge(sectors, on=["scope", "sector"])],
                   ignore_index=True)
    whole = set(zip(*[scopes.loc[scopes["part"] == "whole_service", c] for c in ("scope", "member")]))
    sh = sh[[(g, i) not in whole for g, i in zip(sh["scope"], sh["service"])]]
    own = scopes[scopes["part"] == "place"]
    if len(own):
        pairs = set(zip(own["scope"], own["member"]))
        located = sh["service"].map(by_service["place"])
        other = sh["scope"].isin(set(own["scope"])) & located.notna() & ~pd.Series(
            [(g, p) in pairs for g, p in zip(sh["scope"], located)], index=sh.index, dtype=bool)
        sh = sh[~other]
    sh = sh.merge(a[keys + ["rest"]], on=keys)
    return (sh["share"] * sh["rest"]).groupby([sh["scope"], sh["year"]]).sum()


def attributable_from_tables(scopes: pd.DataFrame, alloc: pd.DataFrame, nodes: pd.DataFrame,
                             services: pd.DataFrame, attribution: pd.DataFrame | None = None,
                             rate: pd.Series | None = None) -> pd.Series:
    """Attributable spend per (scope, year) recomputed from result tables alone: the spend of the
    scope's whole services (allocation) plus, for every other service in its pathway sectors (not
    located in another place, for a scope defined by places), unit cost x activity used by the
    scope's segments at the service's care nodes (nodes table; priced at ``rate``, the payment per
    unit of use under contracts, default the unit cost); plus, with ``attribution``, the
    scope's share of attributed services' non-pathway spend (:func:`attributed_from_tables`)."""
    keys = ["service", "year"]
    by_service = services.set_index("service") if "service" in services else services
    sector_of, place_of = by_service["sector"], by_service["place"]
    care = nodes[nodes["kind"] == "care"]
    use = care.groupby(["service", "segment", "year"], as_index=False)["activity_used"].sum()
    use["cost"] = use["activity_used"].to_numpy() * _use_rate(alloc, rate).reindex(
        pd.MultiIndex.from_frame(use[keys])).to_numpy()
    use["sector"] = use["service"].map(sector_of)
    whole = scopes[scopes["part"] == "whole_service"].rename(columns={"member": "service"})[["scope", "service"]]
    w = whole.merge(alloc[keys + ["spend"]], on="service")
    segs = scopes[scopes["part"] == "segment"].rename(columns={"member": "segment"})[["scope", "segment"]]
    u = segs.merge(use, on="segment")
    if len(whole):
        u = u.merge(whole.assign(_whole=True), on=["scope", "service"], how="left")
        u = u[u["_whole"].isna()]
    sectors = scopes[scopes["part"] == "pathway_sector"].rename(columns={"member": "sector"})[["scope", "sector"]]
    every = sectors.loc[sectors["sector"] == "*", "scope"].unique()
    in_every = u["scope"].isin(every)
    u = pd.concat([u[in_every], u[~in_every].merge(sectors, on=["scope", "sector"])], ignore_index=True)
    # a scope defined by places does not count use of services located in other places
    own = scopes[scopes["part"] == "place"]
    if len(own):
        pairs = set(zip(own["scope"], own["member"]))
        located = u["service"].map(place_of)
        other = u["scope"].isin(set(own["scope"])) & located.notna() & ~pd.Series(
            [(a, b) in pairs for a, b in zip(u["scope"], located)], index=u.index, dtype=bool)
        u = u[~other]
    parts = [w.groupby(["scope", "year"])["spend"].sum(), u.groupby(["scope", "year"])["cost"].sum().rename("spend")]
    if attribution is not None and len(attribution):
        parts.append(attributed_from_tables(scopes, alloc, nodes, services, attribution, rate).rename("spend"))
    return pd.concat(parts).groupby(level=[0, 1]).sum()


def scope_tables(inst, lp, x: np.ndarray, alloc: pd.DataFrame | None = None,
                 nodes: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """attributable_spend (every scope, per year, per head), spend_limits (ring fences and
    capitation against their limits), place_outcomes, equity (each compared place's measure) and
    equity_summary (highest, lowest, ratio and gap against the rule)."""
    from formulations.equity import RATE_PER, place_measure_terms
    from formulations.outcomes import outcome_value_terms
    from formulations.ring_fences import attributable_spend_terms, pathway_use_rate

    years = list(inst.years)
    scopes = list(dict.fromkeys(inst.spend_scopes["scope"]))
    grid = pd.DataFrame({"scope": scopes}).merge(pd.DataFrame({"year": years}), how="cross")
    # scopes the model constrains (ring fences, capitation, places under an equity rule) are read off
    # the model's own terms, so that the verifier's recomputation from the tables checks the model;
    # the others (every segment and place, for spend per head) are reports, read off the tables
    constrained = set(inst.spend_limits["scope"]) | set(inst.equity["scope"])
    rate = pathway_use_rate(inst) if inst.services["contract_given"].any() else None
    spend = _evaluate(attributable_spend_terms(lp, inst, sorted(constrained)), ["scope", "year"], x) \
        if constrained else pd.Series(dtype=float)
    if alloc is not None and nodes is not None:
        reported = inst.spend_scopes[~inst.spend_scopes["scope"].isin(constrained)]
        spend = pd.concat([spend, attributable_from_tables(reported, alloc, nodes, inst.services.reset_index(),
                                                           inst.attribution, rate)])
    else:
        spend = _evaluate(attributable_spend_terms(lp, inst, scopes), ["scope", "year"], x)
    grid["spend"] = spend.reindex(pd.MultiIndex.from_frame(grid[["scope", "year"]]), fill_value=0.0).to_numpy()
    # population of each scope: its segments
    pop = population_table(inst)
    members = inst.spend_scopes[inst.spend_scopes["part"] == "segment"].rename(columns={"member": "segment"})
    sp = members.merge(pop, on="segment").groupby(["scope", "year"])["population"].sum()
    grid["population"] = sp.reindex(pd.MultiIndex.from_frame(grid[["scope", "year"]]), fill_value=0.0).to_numpy()
    grid["spend_per_head"] = np.where(grid["population"] > 0, grid["spend"] / grid["population"].where(
        grid["population"] > 0, 1.0), np.nan)
    if len(inst.attribution) and alloc is not None and nodes is not None:
        # the part of each scope's spend that comes from services' attribution shares
        part = attributed_from_tables(inst.spend_scopes, alloc, nodes, inst.services.reset_index(), inst.attribution,
                                      rate)
        grid["attributed_spend"] = part.reindex(pd.MultiIndex.from_frame(grid[["scope", "year"]]),
                                                fill_value=0.0).to_numpy()
    out = {"attributable_spend": grid}

    lim = inst.spend_limits.copy()
    if len(lim):
        lim = lim.merge(grid[["scope", "year", "spend"]], on=["scope", "year"], how="left")
        tol = 1e-6 * np.maximum(1.0, lim["spend"].abs())
        lim["met"] = (lim["spend"] >= lim["at_least"] - tol) & (lim["spend"] <= lim["at_most"] + tol)
        lim["binding"] = (np.abs(lim["spend"] - lim["at_least"]) <= tol) | (np.abs(lim["spend"] - lim["at_most"]) <= tol)
        for col, inf in (("at_least", -np.inf), ("at_most", np.inf)):
            lim[col] = lim[col].astype(float).replace([inf], np.nan)
    else:
        lim = lim.assign(spend=[], met=[], binding=[])
    out["spend_limits"] = lim

    if inst.places and not inst.outcome_terms.empty:
        v = outcome_value_terms(lp, inst).merge(inst.segments, on="segment")
        v = v[v["place"].notna()]
        vals = _evaluate(v, ["place", "outcome", "year"], x).rename("value").reset_index()
        place_pop = pop.groupby(["place", "year"], as_index=False)["population"].sum()
        vals = vals.merge(place_pop, on=["place", "year"], how="left")
        vals["per_1000"] = RATE_PER * vals["value"] / vals["population"]
        out["place_outcomes"] = vals[["place", "outcome", "year", "value", "population", "per_1000"]]
    else:
        out["place_outcomes"] = pd.DataFrame(columns=["place", "outcome", "year", "value", "population", "per_1000"])

    eq = inst.equity
    if len(eq):
        m = _evaluate(place_measure_terms(lp, inst), ["name", "year", "place"], x)
        e = eq.copy()
        e["value"] = m.reindex(pd.MultiIndex.from_frame(e[["name", "year", "place"]]), fill_value=0.0).to_numpy()
        out["equity"] = e[["name", "measure", "outcome", "year", "place", "population", "value"]]
        s = e.groupby(["name", "year"], as_index=False).agg(
            highest=("value", "max"), lowest=("value", "min"), max_ratio=("max_ratio", "first"),
            max_gap=("max_gap", "first"))
        s["ratio"] = np.where(s["lowest"] > 0, s["highest"] / s["lowest"].where(s["lowest"] > 0, 1.0), np.inf)
        s["gap"] = s["highest"] - s["lowest"]
        tol = 1e-6 * np.maximum(1.0, s["highest"].abs())
        s["met"] = ((s["max_ratio"].isna() | (s["highest"] <= s["max_ratio"] * s["lowest"] + tol))
                    & (s["max_gap"].isna() | (s["gap"] <= s["max_gap"] + tol)))
        out["equity_summary"] = s[["name", "year", "highest", "lowest", "ratio", "gap", "max_ratio", "max_gap", "met"]]
    else:
        out["equity"] = pd.DataFrame(columns=["name", "measure", "outcome", "year", "place", "population", "value"])
        out["equity_summary"] = pd.DataFrame(columns=["name", "year", "highest", "lowest", "ratio", "gap",
                                                      "max_ratio", "max_gap", "met"])
    return out
