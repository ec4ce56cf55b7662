"""Recomputations for the verifier written from docs/formulation.md, not from the code that built
the reported figures: attributable and attributed spend (by payment), lasting-effect profiles from
their stated ramp, persistence and duration, capitated amounts from the population table, and the
care cost of a case by iterating the routing to convergence.

Each function reads the output tables alone (``t``: table name -> DataFrame) and, where it checks,
records through the verifier's checker (``c.eq`` / ``c.leq`` / ``c.known``)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def use_rate(t: dict) -> dict[tuple[str, int], float]:
    """(service, year) -> the payment one unit of pathway use carries: the price under an activity
    contract, 0 under a block or capitation contract (the payment does not move with use), else the
    unit cost (allocation). Contracts are read from the cash_release table when there is one."""
    alloc = t["allocation"]
    rate = {(s, int(y)): float(c) for s, y, c in zip(alloc["service"], alloc["year"], alloc["unit_cost"])}
    cash = t.get("cash_release")
    if cash is not None and len(cash):
        for s, y, form, price in zip(cash["service"], cash["year"], cash["contract"], cash["price"]):
            rate[(s, int(y))] = float(price) if form == "activity" else 0.0
    return rate


def _scope_members(scopes: pd.DataFrame) -> dict[str, dict[str, set]]:
    out: dict[str, dict[str, set]] = {}
    for g, part, m in zip(scopes["scope"], scopes["part"], scopes["member"]):
        out.setdefault(g, {"whole_service": set(), "segment": set(), "pathway_sector": set(), "place": set()})
        out[g].setdefault(part, set()).add(m)
    return out


def _counts_use(members: dict[str, set], service: str, sector, place) -> bool:
    """Whether a scope counts (segments') use of ``service``: not counted whole, in its pathway
    sectors ('*' = every sector), and not located in a place other than the scope's own."""
    if service in members["whole_service"]:
        return False
    sectors = members["pathway_sector"]
    if "*" not in sectors and sector not in sectors:
        return False
    own = members["place"]
    located = isinstance(place, str) and place != ""
    return not (own and located and place not in own)


def attributable_spend(t: dict) -> tuple[pd.Series, pd.Series]:
    """(spend, attributed) per (scope, year) from the spend_scopes, allocation, nodes, services and
    service_attribution tables (docs/formulation.md, "Attributable spend"):

        spend[g, t] = sum_{i whole in g} spend[i, t]
                      + sum_{i counted for use} r[i, t] x (patients x units per patient of g's segments at i)
                      + attributed[g, t],
        attributed[g, t] = sum_{i counted, with shares} (sum_{s in g} a[i, s, t])
                           x (spend[i, t] - r[i, t] x all pathway use of i),

    r the payment per unit of use (:func:`use_rate`)."""
    alloc, nodes = t["allocation"], t["nodes"]
    services = t["services"].set_index("service")
    rate = use_rate(t)
    spend = {(s, int(y)): float(v) for s, y, v in zip(alloc["service"], alloc["year"], alloc["spend"])}
    years = sorted({int(y) for y in alloc["year"]})
    care = nodes[nodes["kind"] == "care"]
    use_by_seg: dict[tuple[str, str, int], float] = {}
    use_all: dict[tuple[str, int], float] = {}
    for s, g, y, p, u in zip(care["service"], care["segment"], care["year"], care["patients"],
                             care["units_per_patient"]):
        k = (s, g, int(y))
        use_by_seg[k] = use_by_seg.get(k, 0.0) + float(p) * float(u)
        use_all[(s, int(y))] = use_all.get((s, int(y)), 0.0) + float(p) * float(u)
    shares: dict[tuple[str, str, int], float] = {}
    attribution = t.get("service_attribution")
    if attribution is not None and len(attribution):
        shares = {(s, g, int(y)): float(a) for s, g, y, a in zip(attribution["service"], attribution["segment"],
                                                                  attribution["year"], attribution["share"])}
    attributed_services = {k[0] for k in shares}
    total, part = {}, {}
    # each service's sector and place read once (not per scope and year: that made the check
    # quadratic in the number of places), the services kept in the table's order
    located = list(zip(services.index, services["sector"], services["place"]))
    # a service none of a scope's segments uses (no care-node row), without attribution shares and
    # at a finite rate adds exactly r x 0 to the scope's spend: it is passed over (the sums are the
    # same to the last bit, and the check no longer visits every service for every place's scope)
    used_by: dict[str, set] = {}
    for s, g, _ in use_by_seg:
        used_by.setdefault(s, set()).add(g)
    always = attributed_services | {s for (s, _), r in rate.items() if not math.isfinite(r)}
    for g, members in _scope_members(t["spend_scopes"]).items():
        segs = members["segment"]
        counted = [i for i, sector, place in located
                   if (i in always or not used_by.get(i, set()).isdisjoint(segs))
                   and _counts_use(members, i, sector, place)]
        for y in years:
            value = sum(spend.get((i, y), 0.0) for i in members["whole_service"])
            extra = 0.0
            for i in counted:
                r = rate.get((i, y), 0.0)
                value += r * sum(use_by_seg.get((i, s, y), 0.0) for s in segs)
                if i in attributed_services:
                    a = sum(shares.get((i, s, y), 0.0) for s in segs)
                    extra += a * (spend.get((i, y), 0.0) - r * use_all.get((i, y), 0.0))
            total[(g, y)], part[(g, y)] = value + extra, extra
    index = pd.MultiIndex.from_tuples(list(total), names=["scope", "year"])
    return (pd.Series(list(total.values()), index=index, dtype=float),
            pd.Series(list(part.values()), index=index, dtype=float))


def effect_profile(lag: int, ramp, persistence, duration, d: int) -> float:
    """p(d) by walking the years after the activity one at a time (docs/formulation.md, "Lasting
    prevention effects"): nothing until the lag has passed; then the ramp's fractions one per year;
    after the ramp each year keeps ``persistence`` of the year before (all of it when only a
    duration is stated, none when neither is: the one-year pulse); nothing from ``duration`` years
    after the effect starts."""
    steps = list(ramp) if ramp else [1.0]
    keep = persistence if persistence is not None else (1.0 if duration is not None else 0.0)
    level = 0.0
    for year in range(d + 1):
        acting = year - lag   # years since the effect started acting
        if acting < 0 or (duration is not None and acting >= duration):
            level = 0.0
        elif acting < len(steps):
            level = float(steps[acting])
        else:
            level = level * float(keep)
    return level


def _ramp(cell) -> list[float] | None:
    if cell is None or (isinstance(cell, float) and np.isnan(cell)) or str(cell).strip() == "":
        return None
    return [float(x) for x in str(cell).split(";")]


def _opt(cell):
    return None if cell is None or (isinstance(cell, float) and np.isnan(cell)) else cell


def check_profiles(c, t: dict) -> None:
    """prevention_profiles against p(d) rebuilt from prevention_effect_terms, for every year after
    the first planning year up to the last modelled year (the final year, or the last terminal year)."""
    terms, prof = t.get("prevention_effect_terms"), t.get("prevention_profiles")
    if prof is None or not len(prof):
        return
    c.out.checks_run.append("lasting-effect profiles")
    if terms is None or not len(terms):
        c.fail("lasting-effect profiles", "prevention_effect_terms",
               "the profiles cannot be rebuilt: the effects' terms table is missing")
        return
    years = sorted(int(y) for y in t["allocation"]["year"].unique())
    last = years[-1]
    tv = t.get("terminal_value")
    if tv is not None and len(tv):
        last = max(last, int(tv["year"].max()))
    reported = {(e, int(d)): float(w) for e, d, w in zip(prof["effect"], prof["years_after"], prof["weight"])}
    where, got, want = [], [], []
    for e, lag, ramp, keep, dur in zip(terms["effect"], terms["lag"], terms["ramp"], terms["persistence"],
                                       terms["duration"]):
        dur = _opt(dur)
        for d in range(0, last - years[0] + 1):
            where.append(f"{e}, {d} years after")
            got.append(reported.get((e, d), 0.0))
            want.append(effect_profile(int(lag), _ramp(ramp), _opt(keep), None if dur is None else int(dur), d))
    c.eq("lasting-effect profile", got, want, where, "weight vs lag, ramp, persistence and duration")


def check_capitation(c, t: dict) -> None:
    """Each capitated amount in cash_release = per head x the covered segments' population
    (capitation_cover and population tables)."""
    cash, cover = t.get("cash_release"), t.get("capitation_cover")
    if cash is None or not len(cash) or not (cash["contract"] == "capitation").any():
        return
    c.out.checks_run.append("capitated amounts")
    cap = cash[cash["contract"] == "capitation"]
    where = [f"{s}, {int(y)}" for s, y in zip(cap["service"], cap["year"])]
    if cover is None or not len(cover):
        c.known("capitated amount", np.full(len(cap), np.nan), where, "no capitation_cover table")
        return
    pop = {(g, int(y)): float(p) for g, y, p in zip(t["population"]["segment"], t["population"]["year"],
                                                      t["population"]["population"])}
    amount: dict[tuple[str, int], float] = {}
    for s, y, g, ph in zip(cover["service"], cover["year"], cover["segment"], cover["per_head"]):
        amount[(s, int(y))] = amount.get((s, int(y)), 0.0) + float(ph) * pop.get((g, int(y)), np.nan)
    want = [amount.get((s, int(y)), np.nan) for s, y in zip(cap["service"], cap["year"])]
    c.known("capitated amount", want, where, "no covered population for this contract and year")
    c.eq("capitated amount", cap["capitation_value"], want, where, "per head x covered population")


def case_costs(nodes: pd.DataFrame, edges: pd.DataFrame, unit_cost: dict) -> pd.Series:
    """(pathway, node) -> the expected care cost of one case arising at each source: the routing
    shares (a fixed share as given; a node's ranged edges all the same fraction of the way from
    minimum to maximum, so that its shares sum to 1), and one patient passed along them step
    by step until less than 1e-15 of a patient is left (readmission loops converge geometrically),
    each arrival at a care node costing units per patient x unit cost."""
    out = {}
    for pw, nd in nodes.groupby("pathway", sort=False):
        es = edges[edges["pathway"] == pw]
        share: dict[str, list[tuple[str, float]]] = {}
        for frm, g in es.groupby("from", sort=False):
            lo, hi = g["share_min"].to_numpy(float), g["share_max"].to_numpy(float)
            room = float((hi - lo).sum())
            frac = (1.0 - float(lo.sum())) / room if room > 0 else 0.0
            share[frm] = list(zip(g["to"], lo + frac * (hi - lo)))
        cost = {n: (float(u) * float(unit_cost.get(s, 0.0)) if k == "care" else 0.0)
                for n, k, s, u in zip(nd["node"], nd["kind"], nd["service"], nd["units_per_patient"])}
        for src in nd.loc[nd["kind"] == "source", "node"]:
            here, total = {src: 1.0}, 0.0
            for _ in range(100000):
                total += sum(cost.get(n, 0.0) * v for n, v in here.items())
                nxt: dict[str, float] = {}
                for n, v in here.items():
                    for to, sh in share.get(n, []):
                        nxt[to] = nxt.get(to, 0.0) + v * sh
                here = {n: v for n, v in nxt.items() if v > 1e-15}
                if not here:
                    break
            out[(pw, src)] = total
    return pd.Series(out, dtype=float)


def visits_by_propagation(flows: pd.DataFrame, nodes: pd.DataFrame, sources: pd.DataFrame) -> pd.DataFrame:
    """(pathway, source, segment, year, node, visits): one patient put in at each of ``sources``
    (pathway, node, segment, year) and passed along the plan's own edge shares (flow / all flow
    leaving the tail node, from the flows table) step by step until less than 1e-15 of a patient
    is left; visits = the patient at the start plus every arrival. One pathway at a time, every
    segment and year of it together."""
    cols = ["pathway", "source", "segment", "year", "node", "visits"]
    leaving = flows.groupby(["pathway", "segment", "year", "from"])["flow"].transform("sum").to_numpy(dtype=float)
    flow = flows["flow"].to_numpy(dtype=float)
    share = np.divide(flow, leaving, out=np.zeros_like(flow), where=leaving > 0)
    parts = []
    src = sources[["pathway", "node", "segment", "year"]].drop_duplicates()
    # each pathway's rows found once (a mask over every row per pathway was quadratic in pathways)
    none = np.zeros(0, dtype=np.intp)
    flows_of = flows.groupby("pathway", sort=False).indices
    node_names = nodes["node"].to_numpy(dtype=object)
    nodes_of = nodes.groupby("pathway", sort=False).indices
    for pw, rows in src.groupby("pathway", sort=False):
        names = list(dict.fromkeys(node_names[nodes_of.get(pw, none)]))
        pos = {n: i for i, n in enumerate(names)}
        group = {k: g for g, k in enumerate(dict.fromkeys(zip(rows["segment"], rows["year"].astype(int))))}
        mine = flows_of.get(pw, none)
        f = flows.iloc[mine]
        g_of = np.array([group.get((s, int(y)), -1) for s, y in zip(f["segment"], f["year"])], dtype=int)
        # a flow naming a node the nodes table lacks is reported by the flow checks; it carries no
        # patient here (the verifier never fails on a table it is checking)
        tail = np.array([pos.get(n, -1) for n in f["from"]], dtype=int)
        head = np.array([pos.get(n, -1) for n in f["to"]], dtype=int)
        keep = (g_of >= 0) & (tail >= 0) & (head >= 0)
        P = np.zeros((len(group), len(names), len(names)))
        np.add.at(P, (g_of[keep], tail[keep], head[keep]), share[mine][keep])
        r_g = np.array([group[(s, int(y))] for s, y in zip(rows["segment"], rows["year"])], dtype=int)
        step = np.zeros((len(rows), len(names)))
        at = np.array([pos.get(n, -1) for n in rows["node"]], dtype=int)
        step[np.arange(len(rows))[at >= 0], at[at >= 0]] = 1.0
        visits = step.copy()
        Pr = P[r_g]
        for _ in range(100000):
            step = np.einsum("ri,rij->rj", step, Pr)
            visits += step
            if not np.any(np.abs(step) > 1e-15):
                break
        n = len(names)
        parts.append(pd.DataFrame({
            "pathway": pw, "source": np.repeat(rows["node"].to_numpy(dtype=object), n),
            "segment": np.repeat(rows["segment"].to_numpy(dtype=object), n),
            "year": np.repeat(rows["year"].to_numpy(), n), "node": np.tile(np.array(names, dtype=object), len(rows)),
            "visits": visits.reshape(-1)}))
    return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)


def check_base_steps(c, t: dict) -> None:
    """The base-year steps the closure lag and the block renegotiation start from are whole and
    carry the baseline activity: N0 x activity per step >= baseline activity (the default N0 is the
    least such number; a stated one may be more)."""
    cash = t.get("cash_release")
    if cash is None or not len(cash) or not cash["step_capacity"].notna().any():
        return
    c.out.checks_run.append("base-year steps")
    s = cash[cash["step_capacity"].notna()].drop_duplicates("service")
    n0, cap = s["baseline_steps"].to_numpy(dtype=float), s["step_capacity"].to_numpy(dtype=float)
    where = list(s["service"])
    c.eq("base-year steps whole", n0, np.round(n0), where, "base-year steps not a whole number")
    c.leq("base-year steps", s["baseline_activity"].to_numpy(dtype=float), n0 * cap, where,
          "base-year steps x activity per step below the baseline activity")
