"""Spend attributable to a group of people (segments, places), and the limits on it: ring-fenced
budgets and capitated amounts per head."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .activity import usage_terms_by_segment
from .budget import spend_terms
from .lp import LinearProgram

ALL_SECTORS = "*"


def pathway_use_rate(inst) -> pd.Series:
    """r[i, t] on (service, year): the payment one unit of pathway use carries, the rate at which a
    segment's pathway use counts as its spend. The unit cost without a contract; the price under an
    activity contract; 0 under a block or capitation contract, whose payment does not move with who
    uses the service (it is attributable to segments only through the service's ``attribution``,
    or to a scope that counts the service whole)."""
    sy = inst.service_years
    if "contract_given" not in inst.services or not inst.services["contract_given"].any():
        rate = sy["unit_cost"]
    else:
        form = sy["service"].map(inst.services["contract"]).to_numpy()
        rate = pd.Series(np.where(form == "activity", sy["price"].to_numpy(dtype=float), 0.0), index=sy.index)
    return pd.Series(rate.to_numpy(), index=pd.MultiIndex.from_frame(sy[["service", "year"]]), name="rate")


def attributable_spend_terms(lp: LinearProgram, inst, scopes) -> pd.DataFrame:
    """(scope, year, col, coef) of the spend attributable to each scope in ``scopes``:

        spend[g, t] = sum_{i whole in g} spend[i, t]
                      + sum_{i not whole in g, sector(i) in S_g} r[i, t]
                        * sum_{care nodes n of i} u_n * sum_{s in segments(g)} patients[n, s, t]

(r[i, t] the payment per unit of pathway use, :func:`pathway_use_rate`: the unit cost, or the
price, or 0 under a block or capitation contract)
    (``inst.spend_scopes`` lists each scope's whole services, segments and sectors S_g; see
    :func:`optimiser.input.instance.scope_members`). A scope defined by places (it has ``place`` rows)
    does not count pathway use of services located in *other* places: that is the other place's
    spend, so places' spends add up without counting any money twice. Team, running and opening
    costs count only for services counted whole.
    """
    sc = inst.spend_scopes[inst.spend_scopes["scope"].isin(list(scopes))]
    parts = []
    whole = sc[sc["part"] == "whole_service"].rename(columns={"member": "service"})[["scope", "service"]]
    if len(whole):
        parts.append(whole.merge(spend_terms(lp, inst), on="service")[["scope", "year", "col", "coef"]])
    segs = sc[sc["part"] == "segment"].rename(columns={"member": "segment"})[["scope", "segment"]]
    if len(segs):
        use = usage_terms_by_segment(lp, inst)
        t = segs.merge(use, on="segment")
        sectors = sc[sc["part"] == "pathway_sector"].rename(columns={"member": "sector"})[["scope", "sector"]]
        t["sector"] = t["service"].map(inst.services["sector"])
        every = sectors.loc[sectors["sector"] == ALL_SECTORS, "scope"]
        named = t.merge(sectors[sectors["sector"] != ALL_SECTORS], on=["scope", "sector"])
        t = pd.concat([t[t["scope"].isin(every)], named], ignore_index=True)
        t = t.merge(whole.assign(_whole=True), on=["scope", "service"], how="left")
        t = t[t["_whole"].isna()]
        t = _without_other_places(t, sc, inst.services["place"])
        cost = pathway_use_rate(inst)
        t["coef"] = t["coef"].to_numpy() * cost.reindex(pd.MultiIndex.from_frame(t[["service", "year"]])).to_numpy()
        parts.append(t[["scope", "year", "col", "coef"]])
        if len(inst.attribution):
            parts.append(attributed_spend_terms(lp, inst, sc))
    if not parts:
        return pd.DataFrame(columns=["scope", "year", "col", "coef"])
    return pd.concat(parts, ignore_index=True)


def attributed_share(inst, scopes: pd.DataFrame) -> pd.DataFrame:
    """(scope, service, year, share): for each scope (rows of ``inst.spend_scopes``) and each
    service with an ``attribution`` that the scope does not count whole, in its pathway sectors and
    not located in another of its places, share = sum_{s in S_g} a[i, s, t]."""
    cols = ["scope", "service", "year", "share"]
    segs = scopes[scopes["part"] == "segment"].rename(columns={"member": "segment"})[["scope", "segment"]]
    if segs.empty or inst.attribution.empty:
        return pd.DataFrame(columns=cols)
    a = segs.merge(inst.attribution, on="segment").groupby(["scope", "service", "year"], as_index=False)["share"].sum()
    sectors = scopes[scopes["part"] == "pathway_sector"].rename(columns={"member": "sector"})[["scope", "sector"]]
    a["sector"] = a["service"].map(inst.services["sector"])
    every = sectors.loc[sectors["sector"] == ALL_SECTORS, "scope"]
    named = a.merge(sectors[sectors["sector"] != ALL_SECTORS], on=["scope", "sector"])
    a = pd.concat([a[a["scope"].isin(every)], named], ignore_index=True)
    whole = scopes[scopes["part"] == "whole_service"].rename(columns={"member": "service"})[["scope", "service"]]
    a = a.merge(whole.assign(_whole=True), on=["scope", "service"], how="left")
    a = _without_other_places(a[a["_whole"].isna()], scopes, inst.services["place"])
    return a[cols].reset_index(drop=True)


def attributed_spend_terms(lp: LinearProgram, inst, scopes: pd.DataFrame) -> pd.DataFrame:
    """(scope, year, col, coef) of the attributed part of each scope's spend: for every service i
    with an ``attribution`` a[i, s, t] (:func:`attributed_share`),

        share[g, i, t] * (spend[i, t] - r[i, t] * sum_{care nodes n of i} u_n * sum_{all s} patients[n, s, t])

    i.e. the scope's share of the service's payment that no pathway patient accounts for (non-pathway
    demand, activity above what is needed, team and site costs; all of it for a service no pathway
    uses, and all of a block or capitation payment), on top of its segments' own pathway use. With
    r the payment per unit of use (:func:`pathway_use_rate`) this is never negative: spend is
    r x activity (+ team and site costs) or a payment that r = 0 leaves whole, and activity covers
    pathway use."""
    a = attributed_share(inst, scopes)
    if a.empty:
        return pd.DataFrame(columns=["scope", "year", "col", "coef"])
    sp = a.merge(spend_terms(lp, inst)[["service", "year", "col", "coef"]], on=["service", "year"])
    sp["coef"] = sp["coef"] * sp["share"]
    use = usage_terms_by_segment(lp, inst)
    cost = pathway_use_rate(inst)
    use["coef"] = -use["coef"].to_numpy() * cost.reindex(pd.MultiIndex.from_frame(use[["service", "year"]])).to_numpy()
    u = a.merge(use[["service", "year", "col", "coef"]], on=["service", "year"])
    u["coef"] = u["coef"] * u["share"]
    return pd.concat([sp, u], ignore_index=True)[["scope", "year", "col", "coef"]]


def _without_other_places(use: pd.DataFrame, scopes: pd.DataFrame, place_of: pd.Series) -> pd.DataFrame:
    """Drop the pathway use (rows with scope, service) that a scope defined by places must not count:
    use of services located in a place that is not one of the scope's."""
    own = scopes[scopes["part"] == "place"].rename(columns={"member": "place"})[["scope", "place"]]
    if own.empty:
        return use
    located = use["service"].map(place_of)
    key = use[["scope"]].assign(place=located.to_numpy())
    mine = key.merge(own.assign(_own=True), on=["scope", "place"], how="left")["_own"].notna().to_numpy()
    other = use["scope"].isin(own["scope"].unique()).to_numpy() & located.notna().to_numpy() & ~mine
    return use[~other]


def _add_spend_limits(lp: LinearProgram, inst, kind: str, name: str, description: str) -> None:
    lim = inst.spend_limits[inst.spend_limits["kind"] == kind]
    if lim.empty:
        return
    rows = lim[["scope", "year"]]
    t = attributable_spend_terms(lp, inst, lim["scope"].unique()).merge(rows, on=["scope", "year"])
    lp.add_constraints(name, rows, t, lower=lim["at_least"].to_numpy(), upper=lim["at_most"].to_numpy(),
                       description=description, unit="currency", dual_unit="cost per extra unit of the limit")


def add_ring_fences(lp: LinearProgram, inst) -> None:
    """For every ring fence g and year t it applies to:  at_least[g, t] <= spend[g, t] <= at_most[g, t],
    spend[g, t] the spend attributable to the segment group or place (:func:`attributable_spend_terms`)."""
    _add_spend_limits(lp, inst, "ring_fence", "ring_fence", "spend attributable to a group within its ring fence")


def add_capitation(lp: LinearProgram, inst) -> None:
    """For every capitation g (per place with by_place) and year t:

        spend[g, t] <= per_head[g, t] * sum_{s in segments(g)} population[s, t]."""
    _add_spend_limits(lp, inst, "capitation", "capitation", "spend on the segments' care <= capitated amount")
