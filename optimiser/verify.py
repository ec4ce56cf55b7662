"""Recompute a plan's figures from its result tables alone — no model, no instance — and list
every rule the plan breaks, with its size.

Checks: spend = unit cost x activity; capacity; pooled budget; patients conserved at every care
node; need at sources = baseline need x (1 - net prevention reduction); edge shares within their
bounds; activity covers pathway use plus non-pathway demand; growth and shrink limits; prevention
reductions equal to their response curves at the lagged driver, and the incidence floors; sector
shares and the shift trajectories; outcome values and their targets; reported costs and the
objective.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .gc_pause import without_gc_pauses


@dataclass(frozen=True)
class Violation:
    check: str
    where: str
    amount: float
    detail: str

    def __str__(self) -> str:
        return f"{self.check} [{self.where}]: {self.detail} (off by {self.amount:.6g})"


@dataclass
class Verification:
    violations: list[Violation] = field(default_factory=list)
    checks_run: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def __str__(self) -> str:
        if self.ok:
            return f"verified: {len(self.checks_run)} checks passed ({', '.join(self.checks_run)})"
        return "\n".join([f"{len(self.violations)} violation(s):"] + [f"  - {v}" for v in self.violations[:50]])


class _Checker:
    def __init__(self, tol: float):
        self.tol = tol
        self.out = Verification()

    def tolerance(self, scale) -> np.ndarray:
        return self.tol * np.maximum(1.0, np.abs(np.asarray(scale, dtype=float)))

    def leq(self, check: str, lhs, rhs, where, detail: str, scale=None) -> None:
        """Record rows where lhs > rhs beyond tolerance."""
        lhs = np.asarray(lhs, dtype=float)
        rhs = np.asarray(rhs, dtype=float)
        excess = lhs - rhs
        bad = excess > self.tolerance(scale if scale is not None else np.maximum(np.abs(lhs), np.abs(np.nan_to_num(rhs))))
        bad &= ~np.isnan(excess)
        for i in np.flatnonzero(bad)[:20]:
            self.out.violations.append(Violation(check, str(where[i]), float(excess[i]),
                                                 f"{detail}: {lhs[i]:.10g} > {rhs[i]:.10g}"))

    def known(self, check: str, values, where, detail: str) -> None:
        """Record rows where a figure is missing (NaN): a comparison with it would pass silently."""
        values = np.asarray(values, dtype=float)
        for i in np.flatnonzero(np.isnan(values))[:20]:
            self.out.violations.append(Violation(check, str(where[i]), float("nan"), f"{detail}: missing"))

    def eq(self, check: str, lhs, rhs, where, detail: str, scale=None) -> None:
        """Record rows where lhs (as reported) differs from rhs (as recomputed) beyond tolerance."""
        lhs = np.asarray(lhs, dtype=float)
        rhs = np.asarray(rhs, dtype=float)
        diff = lhs - rhs
        bad = np.abs(diff) > self.tolerance(scale if scale is not None else np.maximum(np.abs(lhs), np.abs(rhs)))
        bad &= ~np.isnan(diff)
        for i in np.flatnonzero(bad)[:20]:
            self.out.violations.append(Violation(check, str(where[i]), float(abs(diff[i])),
                                                 f"{detail}: {lhs[i]:.10g}, expected {rhs[i]:.10g}"))


class _Labels:
    """Row labels made only when a row is reported (formatting every row would dominate the time)."""

    def __init__(self, df: pd.DataFrame, cols: list[str]):
        self.df, self.cols = df, cols

    def __getitem__(self, i: int) -> str:
        return ", ".join(str(self.df[col].iat[i]) for col in self.cols)

    def __len__(self) -> int:
        return len(self.df)


def _where(df: pd.DataFrame, cols: list[str]) -> _Labels:
    return _Labels(df, cols)


class _NodeYears:
    """One integer per (pathway, node, segment, year) of the nodes table, shared by the flows, nodes
    and need tables: each text column is coded once, not once per group-by. A row naming a
    node, segment or year the nodes table lacks gets a key of its own (it matches nothing)."""

    def __init__(self, nodes: pd.DataFrame):
        self.levels = [pd.Index(pd.unique(nodes[col])) for col in ("pathway", "node", "segment", "year")]
        self._unknown = 0  # unknown rows get -1, -2, ... across every call: no two of them match

    def key(self, df: pd.DataFrame, node: str = "node") -> np.ndarray:
        key = np.zeros(len(df), dtype=np.int64)
        missing = np.zeros(len(df), dtype=bool)
        for col, level in zip(("pathway", node, "segment", "year"), self.levels):
            code = level.get_indexer(df[col])
            missing |= code < 0
            key = key * max(len(level), 1) + code
        n = int(missing.sum())
        key[missing] = -1 - self._unknown - np.arange(n)
        self._unknown += n
        return key


@without_gc_pauses
def verify_tables(t: dict[str, pd.DataFrame], summary: dict, tol: float = 1e-6) -> Verification:
    """Check a plan from its tables (as in :attr:`Result.tables` or re-read from CSV)."""
    c = _Checker(tol)
    if "allocation" not in t:
        c.out.checks_run.append("no plan to verify")
        return c.out
    alloc = t["allocation"]
    years = sorted(alloc["year"].unique().tolist())
    base_year = int(summary["base_year"])
    n_years = len(years)

    # spend and capacity --------------------------------------------------------------
    c.out.checks_run.append("spend")
    w = _where(alloc, ["service", "year"])
    fixed = np.zeros(len(alloc))
    if "fixed_spend" in alloc:
        opens_col = alloc["service"].map(t["services"].set_index("service")["opens"]).fillna(False).astype(bool)
        fixed = (alloc["team_cost"].fillna(0) * alloc["teams"].fillna(0)
                 + alloc["running_cost"].fillna(0) * np.where(opens_col, alloc["open"], 0.0)
                 + alloc["opening_cost"].fillna(0) * alloc["opened"].fillna(0)).to_numpy()
        c.eq("fixed spend", alloc["fixed_spend"], fixed, w, "fixed spend vs teams, running and opening costs")
    c.eq("spend = unit cost x activity + fixed", alloc["spend"], alloc["unit_cost"] * alloc["activity"] + fixed, w,
         "spend")
    if "open" in alloc:
        _verify_discrete(c, alloc, t["services"], summary, w)
    c.out.checks_run.append("capacity")
    c.leq("capacity max", alloc["activity"], alloc["capacity_max"].fillna(np.inf), w, "activity above capacity")
    is_open = alloc["open"].fillna(1.0).to_numpy() if "open" in alloc else np.ones(len(alloc))
    c.leq("capacity min", alloc["capacity_min"] * is_open, alloc["activity"], w,
          "activity below minimum (a site not yet open has none)")

    # budget ---------------------------------------------------------------------------
    c.out.checks_run.append("budget")
    b = t["budget"]
    spend_by_year = alloc.groupby("year")["spend"].sum().reindex(b["year"]).to_numpy()
    c.eq("budget table spend", b["spend"], spend_by_year, _where(b, ["year"]), "reported spend vs allocation")
    c.leq("pooled budget", spend_by_year, b["budget"], _where(b, ["year"]), "spend above budget")

    holders = t.get("holders")
    counts = summary.get("rules") or {}
    for table, rule in (("holders", "holders"), ("spend_limits", "ring_fences"), ("spend_limits", "capitation"),
                        ("equity", "equity"), ("equity_summary", "equity"), ("attributable_spend", "places")):
        if counts.get(rule) and (t.get(table) is None or not len(t[table])):
            c.out.violations.append(Violation("tables present", table, float("nan"),
                                              f"the instance has {rule} but the {table} table is missing or empty"))
    if holders is not None and len(holders):
        _verify_holders(c, t, alloc, holders, b)

    # flows ----------------------------------------------------------------------------
    flows, nodes, need = t["flows"], t["nodes"], t["need"]
    if len(flows):
        c.out.checks_run.append("flow conservation")
        nk = _NodeYears(nodes)
        flow = flows["flow"].to_numpy(dtype=float)
        to_key, from_key = nk.key(flows, "to"), nk.key(flows, "from")
        inflow = pd.Series(flow).groupby(to_key).sum()
        outflow = pd.Series(flow).groupby(from_key).sum()
        care = nodes[nodes["kind"] == "care"]
        key = nk.key(care)
        cin = inflow.reindex(key, fill_value=0.0).to_numpy()
        cout = outflow.reindex(key, fill_value=0.0).to_numpy()
        wc = _where(care, ["pathway", "node", "segment", "year"])
        c.eq("flow conservation", cin, cout, wc, "in vs out")
        c.eq("nodes table", care["patients"], cin, wc, "reported patients vs inflow")

        c.out.checks_run.append("source need")
        nout = outflow.reindex(nk.key(need), fill_value=0.0).to_numpy()
        wn = _where(need, ["pathway", "node", "segment", "year"])
        c.eq("source need", nout, need["need"], wn, "patients leaving source vs need")
        c.eq("need after prevention", need["need"],
             need["incidence_per_head"] * need["population"] * (1 - need["net_reduction"]), wn,
             "need vs incidence x population x (1 - reduction)")

        c.out.checks_run.append("edge shares")
        ot = outflow.reindex(from_key, fill_value=0.0).to_numpy()
        wf = _where(flows, ["pathway", "from", "to", "segment", "year"])
        c.leq("edge share min", flows["share_min"] * ot, flows["flow"], wf, "flow below min share", scale=ot)
        c.leq("edge share max", flows["flow"], flows["share_max"] * ot, wf, "flow above max share", scale=ot)

        c.out.checks_run.append("activity covers flows")
        care_use = care.assign(u=care["patients"] * care["units_per_patient"]).groupby(["service", "year"])["u"].sum()
        akey = pd.MultiIndex.from_frame(alloc[["service", "year"]])
        pathway_use = care_use.reindex(akey, fill_value=0.0).to_numpy()
        c.leq("activity covers flows", pathway_use + alloc["non_pathway_activity"].to_numpy(), alloc["activity"], w,
              "pathway use + non-pathway demand above activity")

    # stability --------------------------------------------------------------------------
    services = t["services"].set_index("service")
    c.out.checks_run.append("growth and shrink limits")
    prev = alloc[["service", "year", "activity"]].assign(year=lambda d: d["year"] + 1).rename(
        columns={"activity": "prev"})
    st = alloc[["service", "year", "activity"]].merge(prev, on=["service", "year"], how="left")
    first = st["prev"].isna()
    st.loc[first, "prev"] = services["baseline_activity"].reindex(st.loc[first, "service"]).to_numpy()
    g = services["max_growth"].reindex(st["service"]).to_numpy(dtype=float)
    s = services["max_shrink"].reindex(st["service"]).to_numpy(dtype=float)
    ws = _where(st, ["service", "year"])
    opening_year = st.merge(alloc[["service", "year", "opened"]], on=["service", "year"], how="left")["opened"] \
        .fillna(0.0).to_numpy() > 0.5 if "opened" in alloc else np.zeros(len(st), dtype=bool)
    growth_cap = np.where(np.isnan(g) | opening_year, np.inf, (1 + np.nan_to_num(g)) * st["prev"])
    c.leq("growth limit", st["activity"], growth_cap, ws,
          "activity above last year's x (1 + max growth) (a service may start at any level the year it opens)",
          scale=st["prev"])
    c.leq("shrink limit", np.where(np.isnan(s), -np.inf, (1 - np.nan_to_num(s)) * st["prev"]), st["activity"], ws,
          "activity below last year's x (1 - max shrink)", scale=st["prev"])

    # prevention -------------------------------------------------------------------------
    prev_t = t.get("prevention")
    if prev_t is not None and len(prev_t):
        c.out.checks_run.append("prevention response")
        curves = t["prevention_curves"].sort_values(["effect", "point"])
        wp = _where(prev_t, ["effect", "year"])
        # the driver: the service's activity (or spend) in the driver year, or its baseline before the horizon
        lagged = prev_t[["service", "driver_year"]].rename(columns={"driver_year": "year"}).merge(
            alloc[["service", "year", "activity", "unit_cost"]], on=["service", "year"], how="left")
        svc = services.reindex(prev_t["service"])
        spend_driver = (prev_t["driver"] == "spend").to_numpy()
        decided = (prev_t["driver_year"] > base_year).to_numpy()
        drv = np.where(decided, lagged["activity"].to_numpy() * np.where(spend_driver, lagged["unit_cost"], 1.0),
                       svc["baseline_activity"].to_numpy() * np.where(spend_driver, svc["base_unit_cost"], 1.0))
        c.eq("prevention driver", np.where(decided, prev_t["driver_value"], np.nan), drv, wp,
             "driver vs lagged activity/spend")
        g_val = np.empty(len(prev_t))
        rows_of = prev_t.groupby("effect", sort=False).indices
        for effect, cv in curves.groupby("effect", sort=False):
            if effect in rows_of:
                i = rows_of[effect]
                g_val[i] = np.interp(drv[i], cv["x"].to_numpy(), cv["reduction"].to_numpy())
        profiles = t.get("prevention_profiles")
        if profiles is not None and len(profiles):
            # lasting effects: the curve value of a year is what the planning cohorts deliver together
            delivered, _ = _verify_cohorts(c, t, alloc, services, base_year)
            lasting = prev_t["effect"].isin(set(profiles["effect"])).to_numpy()
            got = delivered.reindex(pd.MultiIndex.from_frame(prev_t[["effect", "year"]])).to_numpy()
            g_val = np.where(lasting, np.where(np.isnan(got), prev_t["baseline_reduction"], got), g_val)
        curve_at = g_val
        c.leq("prevention response", prev_t["reduction"], g_val, wp, "reduction above the response curve")
        c.eq("net reduction", prev_t["net_reduction"], prev_t["reduction"] - prev_t["baseline_reduction"], wp,
             "net reduction")
        c.out.checks_run.append("incidence floor")
        full = prev_t[["effect", "year", "net_reduction", "floor", "baseline_reduction"]].assign(
            curve_net=np.asarray(curve_at) - prev_t["baseline_reduction"].to_numpy())
        tg = t["prevention_targets"].merge(full, on="effect")
        agg = tg.groupby(["pathway", "node", "segment", "year"]).agg(
            net=("net_reduction", "sum"), curve_net=("curve_net", "sum"), floor=("floor", "max"))
        where = _where(agg.index.to_frame(index=False), ["pathway", "node", "segment", "year"])
        cap = 1 - agg["floor"].to_numpy()
        c.leq("incidence floor", agg["net"], cap, where, "incidence below floor")
        # the effect a plan may count on is the curve's, cut only by the floor: less would mean the
        # plan relies on more need than its prevention implies (the LP relaxation of the curve is
        # not exact for this instance: it rewards more patients)
        c.eq("prevention effect realised", agg["net"], np.minimum(agg["curve_net"].to_numpy(), cap), where,
             "net reduction vs min(response curve, floor)")
        nk = need.set_index(["pathway", "node", "segment", "year"])["net_reduction"].reindex(agg.index).to_numpy()
        c.eq("need reduction", nk, agg["net"], where, "need table reduction vs prevention table")

    # sector shares and shift policies -----------------------------------------------------
    c.out.checks_run.append("sector shares")
    shares = t["sector_shares"]
    sp = pd.concat([
        services.groupby("sector")["base_spend"].sum().rename("spend").reset_index().assign(year=base_year),
        alloc.groupby(["sector", "year"], as_index=False)["spend"].sum(),
    ], ignore_index=True)
    spk = sp.set_index(["sector", "year"])["spend"]
    sh_spend = spk.reindex(pd.MultiIndex.from_frame(shares[["sector", "year"]]), fill_value=0.0).to_numpy(dtype=float)
    totals = spk.groupby(level="year").sum()
    ws2 = _where(shares, ["sector", "year"])
    c.eq("sector spend", shares["spend"], sh_spend, ws2, "sector spend vs allocation")
    tot = totals.reindex(shares["year"]).to_numpy(dtype=float)
    expected_share = np.divide(sh_spend, tot, out=np.zeros_like(sh_spend), where=tot > 0)
    c.eq("sector share", shares["share"], expected_share, ws2, "share")
    pol = t.get("shift_policies")
    if pol is not None and len(pol):
        c.out.checks_run.append("shift policies")
        for p in pol.itertuples(index=False):
            for k, y in enumerate(years, start=1):
                if p.trajectory == "final_year" and y != years[-1]:
                    continue
                frac = (y - base_year) / n_years
                if p.kind == "share":
                    group = str(p.sectors).split("+")
                    base_share = spk.loc[[(g_, base_year) for g_ in group if (g_, base_year) in spk.index]].sum() / totals[base_year]
                    req = base_share + float(p.increase_pp) / 100 * frac
                    got = sum(spk.get((g_, y), 0.0) for g_ in group) / totals[y]
                    c.leq("shift share", [req], [got], [f"{p.policy}, {y}"], "share below trajectory")
                else:
                    req = float(p.amount) * frac
                    out_ = spk.get((p.from_sector, base_year), 0.0) - spk.get((p.from_sector, y), 0.0)
                    in_ = spk.get((p.to_sector, y), 0.0) - spk.get((p.to_sector, base_year), 0.0)
                    c.leq("shift transfer out", [req], [out_], [f"{p.policy}, {y}"], "moved out of sector")
                    c.leq("shift transfer in", [req], [in_], [f"{p.policy}, {y}"], "moved into sector")

    # outcomes -------------------------------------------------------------------------------
    oc = t.get("outcomes")
    if oc is not None and len(oc):
        from .results import outcome_values

        c.out.checks_run.append("outcomes")
        defs = oc[["outcome", "unit", "direction"]].drop_duplicates("outcome")
        terms = t["outcome_terms"]
        recomputed = outcome_values(terms, flows, nodes, defs, years).set_index(["outcome", "year"])["value"]
        vals = recomputed.reindex(pd.MultiIndex.from_frame(oc[["outcome", "year"]])).to_numpy()
        wo = _where(oc, ["outcome", "year"])
        c.eq("outcome value", oc["value"], vals, wo, "reported vs recomputed from flows")
        c.out.checks_run.append("targets")
        c.leq("target at most", vals, oc["at_most"].fillna(np.inf), wo, "outcome above target")
        c.leq("target at least", oc["at_least"].fillna(-np.inf), vals, wo, "outcome below target")

    if "attributable_spend" in t and len(t["attributable_spend"]):
        _verify_groups(c, t, alloc, years)

    terminal = 0.0
    if "terminal_value" in summary or "terminal_value" in t:
        terminal = _verify_terminal_value(c, t, summary, alloc, base_year)

    # costs and objective ------------------------------------------------------------------------
    c.out.checks_run.append("costs and objective")
    disc = b.set_index("year")["discount_factor"]
    r = float(summary.get("discount_rate", 0.0))
    c.eq("discount factors", disc.to_numpy(), [(1 + r) ** -(y - base_year) for y in disc.index], list(map(str, disc.index)),
         "discount factor")
    discounted = float((alloc["spend"] * disc.reindex(alloc["year"]).to_numpy()).sum())
    total = float(alloc["spend"].sum())
    c.eq("total cost", [summary.get("total_cost", np.nan)], [total], ["summary"], "total cost vs allocation")
    c.eq("discounted cost", [summary.get("discounted_cost", np.nan)], [discounted], ["summary"],
         "discounted cost vs allocation")
    if summary.get("objective") is None:
        return c.out
    if summary.get("objective_mode", "min_cost") == "min_cost":
        c.eq("objective", [summary["objective"]], [discounted - terminal], ["summary"],
             "objective vs discounted cost (less the terminal value)")
    elif oc is not None and "objective_weights" in t:
        w = t["objective_weights"].merge(oc[["outcome", "year", "value"]], on=["outcome", "year"])
        c.eq("objective", [summary["objective"]], [float((w["weight"] * w["value"]).sum())], ["summary"],
             "objective vs weighted outcomes")
    return c.out


def _verify_cohorts(c: _Checker, t: dict, alloc: pd.DataFrame, services: pd.DataFrame, base_year: int):
    """Lasting effects: each cohort's driver from the allocation, its response at most the curve
    there; and, per (effect, year), what the cohorts deliver on the curve,
    g0 + sum_tau p(year - tau) (g(driver_tau) - g0), and what the plan's responses add up to,
    g0 + sum_tau p(year - tau) (response_tau - g0). Returns both as Series on (effect, year)."""
    if "prevention cohorts" not in c.out.checks_run:
        c.out.checks_run.append("prevention cohorts")
    co, prof = t["prevention_cohorts"], t["prevention_profiles"]
    curves = t["prevention_curves"].sort_values(["effect", "point"])
    lagged = co[["service", "cohort_year"]].rename(columns={"cohort_year": "year"}).merge(
        alloc[["service", "year", "activity", "unit_cost"]], on=["service", "year"], how="left")
    drv = lagged["activity"].to_numpy() * np.where(co["driver"] == "spend", lagged["unit_cost"], 1.0)
    wc = _where(co, ["effect", "cohort_year"])
    c.eq("cohort driver", co["driver_value"], drv, wc, "driver vs the year's activity/spend")
    g = np.full(len(co), np.nan)
    rows_of = co.groupby("effect", sort=False).indices
    for effect, cv in curves.groupby("effect", sort=False):
        if effect in rows_of:
            i = rows_of[effect]
            g[i] = np.interp(drv[i], cv["x"].to_numpy(), cv["reduction"].to_numpy())
    c.known("cohort response", co["response"], wc, "response")
    c.leq("cohort response", co["response"], g, wc, "a cohort's effect above the response curve")
    terms = co[["effect", "cohort_year", "baseline_reduction", "response"]].assign(curve=g).merge(prof, on="effect")
    terms["year"] = terms["cohort_year"] + terms["years_after"]
    terms["on_curve"] = terms["weight"] * (terms["curve"] - terms["baseline_reduction"])
    terms["planned"] = terms["weight"] * (terms["response"] - terms["baseline_reduction"])
    agg = terms.groupby(["effect", "year"]).agg(g0=("baseline_reduction", "first"), on_curve=("on_curve", "sum"),
                                                planned=("planned", "sum"))
    return agg["g0"] + agg["on_curve"], agg["g0"] + agg["planned"]


def _verify_terminal_value(c: _Checker, t: dict, summary: dict, alloc: pd.DataFrame, base_year: int) -> float:
    """The terminal value from its table: each effect's reduction after the horizon at most what its
    cohorts deliver, the incidence floors, net reductions equal to min(what the cohorts deliver,
    floor) per source, cases = the final year's need x net reduction, need from the need table,
    value per case (computed rule: the pathway's care cost per case at final-year unit costs),
    discount factors, values, and their sum against the summary. Returns the recomputed sum."""
    c.out.checks_run.append("terminal value")
    tv = t.get("terminal_value")
    if tv is None or not len(tv):
        c.out.violations.append(Violation("tables present", "terminal_value", float("nan"),
                                          "the summary has a terminal value but the table is missing or empty"))
        return float("nan")
    w = _where(tv, ["effect", "pathway", "node", "segment", "year"])
    delivered, _ = _verify_cohorts(c, t, alloc, t["services"].set_index("service"), base_year)
    on_curve = delivered.reindex(pd.MultiIndex.from_frame(tv[["effect", "year"]])).to_numpy()
    c.known("terminal value reduction", on_curve, w, "no cohort acts in this year")
    c.leq("terminal value reduction", tv["reduction"], on_curve, w, "reduction above what the cohorts deliver")
    c.eq("terminal value net reduction", tv["net_reduction"], tv["reduction"] - tv["baseline_reduction"], w, "net")
    full = tv.assign(curve_net=on_curve - tv["baseline_reduction"].to_numpy(),
                     weight=tv["final_year_need"] * tv["value_per_case"] * tv["discount_factor"])
    by_src = full.drop_duplicates(["effect", "pathway", "node", "segment", "year"]).groupby(
        ["pathway", "node", "segment", "year"]).agg(net=("net_reduction", "sum"), curve_net=("curve_net", "sum"),
                                                    floor=("floor", "max"), weight=("weight", "max"))
    ws = _where(by_src.index.to_frame(index=False), ["pathway", "node", "segment", "year"])
    cap = 1 - by_src["floor"].to_numpy()
    c.leq("terminal value incidence floor", by_src["net"], cap, ws, "incidence below floor after the horizon")
    # these reductions are anchored only by their value in the objective, so they are realised to
    # the objective's own tolerance: a shortfall worth at most tol x |objective| (the solve's
    # tie-breaks may spend the 1e-9 x |objective| they hold the objective to on them)
    scale = np.maximum(1.0, abs(float(summary.get("objective") or 0.0))
                       / np.maximum(by_src["weight"].to_numpy(dtype=float), 1e-300))
    c.eq("terminal value effect realised", by_src["net"], np.minimum(by_src["curve_net"].to_numpy(), cap), ws,
         "net reduction vs min(what the cohorts deliver, floor)", scale=np.minimum(scale, 1e3))
    need = t["need"]
    final = int(need["year"].max())
    nf = need[need["year"] == final].set_index(["pathway", "node", "segment"])["baseline_need"]
    c.eq("terminal value need", tv["final_year_need"],
         nf.reindex(pd.MultiIndex.from_frame(tv[["pathway", "node", "segment"]])).to_numpy(), w,
         "the final year's baseline need")
    c.eq("cases avoided after the horizon", tv["cases_avoided"], tv["final_year_need"] * tv["net_reduction"], w,
         "need x net reduction")
    computed = (tv["value_rule"] != "given").to_numpy()
    if computed.any():
        from .instance import pathway_case_costs

        flows, nodes = t["flows"], t["nodes"]
        valued = set(tv.loc[computed, "pathway"])
        edges = flows[(flows["year"] == final) & flows["pathway"].isin(valued)].drop_duplicates(
            ["pathway", "from", "to"])[["pathway", "from", "to", "share_min", "share_max"]]
        nd = nodes[(nodes["year"] == final) & nodes["pathway"].isin(valued)].drop_duplicates(["pathway", "node"])[
            ["pathway", "node", "kind", "service", "units_per_patient"]]
        cost = alloc[alloc["year"] == final].set_index("service")["unit_cost"].to_dict()
        v = pathway_case_costs(nd, edges, cost).set_index(["pathway", "node"])["value_per_case"]
        expect = v.reindex(pd.MultiIndex.from_frame(tv[["pathway", "node"]])).to_numpy()
        c.eq("value per case", np.where(computed, tv["value_per_case"], np.nan), expect, w,
             "pathway care cost per case at final-year unit costs")
    r = float(summary.get("discount_rate", 0.0))
    c.eq("terminal value discount", tv["discount_factor"], (1 + r) ** -(tv["year"] - base_year).astype(float), w,
         "discount factor")
    value = tv["cases_avoided"] * tv["value_per_case"] * tv["discount_factor"]
    c.eq("terminal value", tv["value"], value, w, "cases x value per case x discount factor",
         scale=np.maximum(np.abs(value), 1.0))
    total = float(value.sum())
    c.eq("terminal value total", [summary.get("terminal_value", np.nan)], [total], ["summary"], "sum of the table")
    return total


def _verify_discrete(c: _Checker, alloc: pd.DataFrame, services: pd.DataFrame, summary: dict, w) -> None:
    """Integrality, opening logic, minimum scales, teams and the openings limit."""
    svc = services.set_index("service")
    opens = alloc["service"].map(svc["opens"]).fillna(False).astype(bool).to_numpy()
    if not (opens.any() or svc["minimum_scale"].notna().any() or svc["activity_per_team"].notna().any()):
        return
    c.out.checks_run.append("mixed-integer choices")
    for col in ("open", "on", "teams"):
        v = alloc[col].to_numpy(dtype=float)
        c.leq(f"integrality of {col}", np.abs(v - np.round(v)), np.zeros(len(v)), w, f"{col} not whole")
    a = alloc.assign(_opens=opens).sort_values(["service", "year"])
    if opens.any():
        o = a[a["_opens"]]
        prev = o.groupby("service")["open"].shift(1).fillna(0.0)
        wo = _where(o, ["service", "year"])
        c.leq("open stays open", prev, o["open"], wo, "closed after opening")
        c.eq("opened", o["opened"], o["open"] - prev, wo, "opened vs open - previous open")
        earliest = o["service"].map(svc["earliest_year"]).to_numpy(dtype=float)
        c.leq("earliest opening", np.where(o["year"] < earliest, o["open"], 0.0), np.zeros(len(o)), wo,
              "open before its earliest year")
        c.leq("activity only when open", np.where(o["open"] < 0.5, o["activity"], 0.0), np.zeros(len(o)), wo,
              "activity while closed")
        k = summary.get("max_openings_per_year")
        if k is not None:
            per_year = o.groupby("year")["opened"].sum()
            c.leq("openings per year", per_year, np.full(len(per_year), float(k)), list(map(str, per_year.index)),
                  "openings above the limit")
    m = alloc["service"].map(svc["minimum_scale"]).to_numpy(dtype=float)
    has_m = ~np.isnan(m)
    if has_m.any():
        act = alloc["activity"].to_numpy(dtype=float)
        tol = c.tolerance(np.maximum(act, np.nan_to_num(m)))
        below = has_m & (act > tol) & (act < m - tol)
        for i in np.flatnonzero(below)[:20]:
            c.out.violations.append(Violation("minimum scale", w[i], float(m[i] - act[i]),
                                              f"activity {act[i]:.6g} between 0 and the minimum {m[i]:.6g}"))
    per = alloc["service"].map(svc["activity_per_team"]).to_numpy(dtype=float)
    has_t = ~np.isnan(per)
    if has_t.any():
        c.leq("team capacity", np.where(has_t, alloc["activity"], 0.0),
              np.where(has_t, np.nan_to_num(per) * alloc["teams"], 0.0), w, "activity above teams x activity per team")
        mx = alloc["service"].map(svc["max_teams"]).to_numpy(dtype=float)
        c.leq("max teams", np.where(has_t, alloc["teams"], 0.0), np.where(np.isnan(mx), np.inf, mx), w,
              "more teams than allowed")


def _verify_holders(c: _Checker, t: dict, alloc: pd.DataFrame, h: pd.DataFrame, budget: pd.DataFrame) -> None:
    """Holders: spend from the allocation, budgets summing to the pool, each holder within what it
    keeps plus what it draws, each pool's draws within what is paid in, transfers netting out."""
    c.out.checks_run.append("budget holders")
    holder_of = t["services"].set_index("service")["holder"]
    wh = _where(h, ["holder", "year"])
    for col in ("budget", "spend", "contributed", "drawn"):
        c.known("holder figures", h[col], wh, col)
    spend = alloc.assign(holder=alloc["service"].map(holder_of)).groupby(["holder", "year"])["spend"].sum()
    hs = spend.reindex(pd.MultiIndex.from_frame(h[["holder", "year"]]), fill_value=0.0).to_numpy()
    c.eq("holder spend", h["spend"], hs, wh, "holder spend vs allocation of its services")
    tot = h.groupby("year")["budget"].sum().reindex(budget["year"]).to_numpy()
    c.eq("holder budgets sum to the pool", tot, budget["budget"], _where(budget, ["year"]), "sum of holders' budgets")
    share = h["pooled_share"].fillna(0.0).to_numpy(dtype=float)
    pooled = h["pooled_fund"].notna().to_numpy()
    share = np.where(pooled, share, 0.0)
    c.eq("holder pool contribution", h["contributed"], share * h["budget"], wh, "contribution = share x budget")
    kept = h["budget"].to_numpy(dtype=float) - share * h["budget"].to_numpy(dtype=float)
    drawn = np.where(pooled, np.maximum(hs - kept, 0.0), 0.0)
    c.eq("holder draw", h["drawn"], drawn, wh, "draw = spend beyond what the holder keeps")
    c.leq("holder within its budget", hs, kept + drawn, wh, "spend above what it keeps plus its draw", scale=h["budget"])
    inpool = h[pooled].assign(_drawn=drawn[pooled])
    if len(inpool):
        g = inpool.groupby(["pooled_fund", "year"]).agg(drawn=("_drawn", "sum"), paid=("contributed", "sum"))
        c.leq("pool draws", g["drawn"], g["paid"], [f"{a}, {y}" for a, y in g.index], "draws above what is paid in",
              scale=g["paid"])
    tr = t.get("holder_transfers")
    if tr is not None and len(inpool):
        c.out.checks_run.append("holder transfers")
        ip = inpool.set_index(["pooled_fund", "holder", "year"])
        recv = tr.groupby(["pool", "to_holder", "year"])["amount"].sum()
        give = tr.groupby(["pool", "from_holder", "year"])["amount"].sum()
        key = pd.MultiIndex.from_frame(inpool[["pooled_fund", "holder", "year"]])
        need = np.maximum(ip["_drawn"] - ip["contributed"], 0.0).to_numpy()
        spare = np.maximum(ip["contributed"] - ip["_drawn"], 0.0).to_numpy()
        w = _where(inpool, ["pooled_fund", "holder", "year"])
        c.eq("transfers received", recv.reindex(key, fill_value=0.0).to_numpy(), need, w,
             "received vs draw beyond own contribution", scale=inpool["budget"])
        c.leq("transfers given", give.reindex(key, fill_value=0.0).to_numpy(), spare, w,
              "given beyond what the holder left in the pool", scale=inpool["budget"])
        members = set(zip(inpool["pooled_fund"], inpool["holder"], inpool["year"]))
        wt = _where(tr, ["pool", "from_holder", "to_holder", "year"])
        outside = [i for i, (p_, a_, b_, y_) in enumerate(zip(tr["pool"], tr["from_holder"], tr["to_holder"], tr["year"]))
                   if (p_, a_, y_) not in members or (p_, b_, y_) not in members]
        for i in outside[:20]:
            c.out.violations.append(Violation("transfers within a pool", wt[i], float("nan"),
                                              "a transfer from or to a holder outside the pool"))
        c.known("transfers", tr["amount"], wt, "amount")


def _verify_groups(c: _Checker, t: dict, alloc: pd.DataFrame, years: list[int]) -> None:
    """Attributable spend recomputed from the allocation and the nodes table; ring fences and
    capitation within their limits; equity measures and rules recomputed per place."""
    c.out.checks_run.append("attributable spend")
    from .holdings import attributable_from_tables

    scopes, nodes, pop = t["spend_scopes"], t["nodes"], t["population"]
    attribution = t.get("service_attribution")
    spend = attributable_from_tables(scopes, alloc, nodes, t["services"], attribution)
    a_t = t["attributable_spend"]
    if attribution is not None and len(attribution):
        from .holdings import attributed_from_tables

        c.out.checks_run.append("attributed spend")
        sh = attribution.groupby(["service", "year"])["share"].sum()
        c.eq("attribution shares", sh.to_numpy(), np.ones(len(sh)), [f"{a}, {y}" for a, y in sh.index],
             "a service's shares over the segments sum to 1")
        part = attributed_from_tables(scopes, alloc, nodes, t["services"], attribution)
        if "attributed_spend" in a_t:
            got = part.reindex(pd.MultiIndex.from_frame(a_t[["scope", "year"]]), fill_value=0.0).to_numpy()
            c.eq("attributed spend", a_t["attributed_spend"], got, _where(a_t, ["scope", "year"]),
                 "reported vs shares x spend not used by pathway patients", scale=np.maximum(np.abs(got), 1.0))
    segs = scopes[scopes["part"] == "segment"].rename(columns={"member": "segment"})[["scope", "segment"]]
    people = segs.merge(pop, on="segment").groupby(["scope", "year"])["population"].sum()
    a = t["attributable_spend"]
    key = pd.MultiIndex.from_frame(a[["scope", "year"]])
    wa = _where(a, ["scope", "year"])
    c.known("attributable spend", a["spend"], wa, "reported spend")
    mine = pd.DataFrame({"spend": spend.reindex(key, fill_value=0.0).to_numpy(),
                         "population": people.reindex(key, fill_value=0.0).to_numpy()}, index=key)
    c.eq("attributable spend", a["spend"], mine["spend"], wa, "reported vs recomputed from allocation and nodes",
         scale=np.maximum(np.abs(mine["spend"].to_numpy()), 1.0))
    c.eq("scope population", a["population"], mine["population"], wa, "population")
    lim = t.get("spend_limits")
    if lim is not None and len(lim):
        c.out.checks_run.append("ring fences and capitation")
        lk = pd.MultiIndex.from_frame(lim[["scope", "year"]])
        got = mine["spend"].reindex(lk).to_numpy()
        wl = _where(lim, ["scope", "year"])
        c.known("ring fence / capitation scope", got, wl, "no attributable spend for this limit's scope")
        c.known("limit spend", lim["spend"], wl, "reported spend")
        c.leq("ring fence / capitation at most", got, lim["at_most"].fillna(np.inf), wl, "spend above its limit",
              scale=np.maximum(np.abs(got), 1.0))
        c.leq("ring fence at least", lim["at_least"].fillna(-np.inf), got, wl, "spend below its ring fence",
              scale=np.maximum(np.abs(got), 1.0))
        cap = lim[lim["kind"] == "capitation"]
        if len(cap):
            ck = pd.MultiIndex.from_frame(cap[["scope", "year"]])
            wc = _where(cap, ["scope", "year"])
            c.known("capitated amount", cap["per_head"], wc, "per head")
            c.eq("capitated amount", cap["at_most"], cap["per_head"] * mine["population"].reindex(ck).to_numpy(),
                 wc, "cap = per head x population")
    eq = t.get("equity")
    if eq is not None and len(eq):
        c.out.checks_run.append("equity across places")
        place_pop = pop.groupby(["place", "year"])["population"].sum()
        ppop = place_pop.reindex(pd.MultiIndex.from_frame(eq[["place", "year"]]), fill_value=np.nan).to_numpy()
        spend_pp = mine["spend"].reindex(pd.MultiIndex.from_arrays(["place: " + eq["place"].astype(str), eq["year"]]))
        vals = spend_pp.to_numpy() / ppop
        rates = eq["measure"] == "outcome_rate"
        if rates.any():
            by_seg = _outcomes_by_segment(t["outcome_terms"], t["flows"], nodes)
            by_seg = by_seg.merge(pop[["segment", "place"]].drop_duplicates(), on="segment")
            per_place = by_seg.groupby(["outcome", "place", "year"])["value"].sum()
            ov = per_place.reindex(pd.MultiIndex.from_frame(eq[["outcome", "place", "year"]]), fill_value=0.0)
            vals = np.where(rates, 1000.0 * ov.to_numpy() / ppop, vals)
        we = _where(eq, ["name", "year", "place"])
        vals = np.asarray(vals, dtype=float)
        c.known("equity measure", vals, we, "cannot recompute the place's measure (population or spend missing)")
        c.known("equity measure", eq["value"], we, "reported measure")
        c.eq("equity measure", eq["value"], vals, we, "place measure vs recomputed", scale=np.maximum(np.abs(vals), 1.0))
        e = eq.assign(_v=vals)
        s = t.get("equity_summary")
        g = e.groupby(["name", "year"]).agg(hi=("_v", "max"), lo=("_v", "min"))
        if s is not None and len(s):
            sk = s.set_index(["name", "year"])
            hi, lo = g["hi"].reindex(sk.index).to_numpy(), g["lo"].reindex(sk.index).to_numpy()
            ws = [f"{a}, {y}" for a, y in sk.index]
            ratio, gap = sk["max_ratio"].to_numpy(dtype=float), sk["max_gap"].to_numpy(dtype=float)
            c.leq("equity ratio", hi, np.where(np.isnan(ratio), np.inf, np.nan_to_num(ratio) * lo), ws,
                  "highest above max_ratio x lowest", scale=np.maximum(np.abs(hi), 1.0))
            c.leq("equity gap", hi - lo, np.where(np.isnan(gap), np.inf, np.nan_to_num(gap)), ws,
                  "highest - lowest above max_gap", scale=np.maximum(np.abs(hi), 1.0))


def _outcomes_by_segment(terms: pd.DataFrame, flows: pd.DataFrame, nodes: pd.DataFrame) -> pd.DataFrame:
    """(outcome, segment, year, value): each outcome's weight x patients, per segment."""
    parts = []
    nt = terms[terms["on"] == "node"]
    if len(nt):
        x = nt.merge(nodes[["pathway", "node", "segment", "year", "patients"]], on=["pathway", "node", "segment"])
        parts.append(x.assign(value=x["weight"] * x["patients"])[["outcome", "segment", "year", "value"]])
    et = terms[terms["on"] == "edge"]
    if len(et):
        x = et.merge(flows[["pathway", "from", "to", "segment", "year", "flow"]], on=["pathway", "from", "to", "segment"])
        parts.append(x.assign(value=x["weight"] * x["flow"])[["outcome", "segment", "year", "value"]])
    if not parts:
        return pd.DataFrame(columns=["outcome", "segment", "year", "value"])
    return pd.concat(parts, ignore_index=True).groupby(["outcome", "segment", "year"], as_index=False)["value"].sum()
