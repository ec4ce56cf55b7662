"""Recompute a plan's figures from its result tables alone — no model, no instance — and list
every rule the plan breaks, with its size.

Checks: spend = unit cost x activity; capacity; pooled budget; patients conserved at every care
node; need at sources = baseline need x (1 - net prevention reduction); edge shares within their
bounds; activity covers pathway use plus non-pathway demand; growth and shrink limits; prevention
reductions equal to their response curves at the lagged driver, and the incidence floors; sector
shares and the shift trajectories; outcome values and their targets; reported costs and the
objective; and every return-on-investment figure (cases avoided, per-case consequences, returns,
cost per outcome, who saves), recomputed a different way from the one that made them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import verify_independent as _verify_independent
from ..gc_pause import without_gc_pauses
from .verify_independent import attributable_spend, case_costs, visits_by_propagation


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

    def fail(self, check: str, where: str, detail: str) -> None:
        """Record a check that could not be made (e.g. a table it needs is missing)."""
        self.out.violations.append(Violation(check, where, float("nan"), detail))

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
    """Check a plan from its tables (as in :attr:`Result.tables` or re-read from CSV): each table
    family in turn, in a fixed order (the order of the checks and of their violations is part of
    the output)."""
    c = _Checker(tol)
    if "allocation" not in t:
        c.out.checks_run.append("no plan to verify")
        return c.out
    alloc = t["allocation"]
    years = sorted(alloc["year"].unique().tolist())
    base_year = int(summary["base_year"])
    _verify_spend_and_capacity(c, t, alloc, summary)
    _verify_budget(c, t, alloc, summary)
    _verify_tables_present(c, t, summary)
    if _present(t, "holders"):
        _verify_holders(c, t, alloc, t["holders"], t["budget"])
    if len(t["flows"]):
        _verify_flows(c, t, alloc)
    _verify_growth_and_shrink(c, t, alloc)
    if _present(t, "prevention"):
        _verify_prevention(c, t, alloc, base_year)
    sector_spend, totals = _verify_sector_shares(c, t, alloc, base_year)
    if _present(t, "shift_policies"):
        _verify_shift_policies(c, t["shift_policies"], sector_spend, totals, years, base_year)
    if _present(t, "outcomes"):
        _verify_outcomes(c, t)
    if _present(t, "attributable_spend"):
        _verify_groups(c, t, alloc, years)
    _verify_independent.check_capitation(c, t), _verify_independent.check_base_steps(c, t)
    _verify_independent.check_profiles(c, t)
    if "programme_returns" in t:
        _verify_returns(c, t, alloc, t["budget"])
    terminal = 0.0
    if "terminal_value" in summary or "terminal_value" in t:
        terminal = _verify_terminal_value(c, t, summary, alloc, base_year)
    _verify_costs_and_objective(c, t, summary, alloc, terminal)
    return c.out


def _present(t: dict, name: str) -> bool:
    """Whether the plan has the table ``name`` with at least one row."""
    return t.get(name) is not None and len(t[name]) > 0


def _verify_spend_and_capacity(c: _Checker, t: dict, alloc: pd.DataFrame, summary: dict) -> None:
    """Spend = the payment by contract form (or unit cost x activity) plus the fixed extras (teams,
    running and opening costs); the discrete choices; activity within its capacity (none before a
    site opens)."""
    c.out.checks_run.append("spend")
    w = _where(alloc, ["service", "year"])
    fixed = np.zeros(len(alloc))
    if "fixed_spend" in alloc:
        opens_col = alloc["service"].map(t["services"].set_index("service")["opens"]).fillna(False).astype(bool)
        fixed = (alloc["team_cost"].fillna(0) * alloc["teams"].fillna(0)
                 + alloc["running_cost"].fillna(0) * np.where(opens_col, alloc["open"], 0.0)
                 + alloc["opening_cost"].fillna(0) * alloc["opened"].fillna(0)).to_numpy()
        c.eq("fixed spend", alloc["fixed_spend"], fixed, w, "fixed spend vs teams, running and opening costs")
    per_unit = (alloc["unit_cost"] * alloc["activity"]).to_numpy(dtype=float)
    cash = t.get("cash_release")
    if cash is not None and len(cash):
        per_unit = _contract_payments(cash, alloc)
    c.eq("spend = unit cost x activity + fixed", alloc["spend"], per_unit + fixed, w,
         "spend (the payment by contract form, plus the fixed extras)")
    if "open" in alloc:
        _verify_discrete(c, alloc, t["services"], summary, w)
    c.out.checks_run.append("capacity")
    c.leq("capacity max", alloc["activity"], alloc["capacity_max"].fillna(np.inf), w, "activity above capacity")
    is_open = alloc["open"].fillna(1.0).to_numpy() if "open" in alloc else np.ones(len(alloc))
    c.leq("capacity min", alloc["capacity_min"] * is_open, alloc["activity"], w,
          "activity below minimum (a site not yet open has none)")


def _verify_budget(c: _Checker, t: dict, alloc: pd.DataFrame, summary: dict) -> None:
    """The budget table's spend is the allocation's; spend plus the transition costs the fund does
    not meet stays within the pooled budget; then the cash-release family when the plan has one."""
    c.out.checks_run.append("budget")
    b = t["budget"]
    spend_by_year = alloc.groupby("year")["spend"].sum().reindex(b["year"]).to_numpy()
    c.eq("budget table spend", b["spend"], spend_by_year, _where(b, ["year"]), "reported spend vs allocation")
    tr = t.get("transition")
    bears = np.zeros(len(b))
    if tr is not None and len(tr):
        bears = (tr.groupby("year")["setup_cost"].sum() - tr.groupby("year")["fund_paid"].sum()).reindex(
            b["year"], fill_value=0.0).to_numpy()
    c.leq("pooled budget", spend_by_year + bears, b["budget"], _where(b, ["year"]),
          "spend (plus transition costs the fund does not meet) above budget")
    cash = t.get("cash_release")
    if cash is not None and len(cash):
        _verify_cash(c, t, alloc, summary)


def _verify_tables_present(c: _Checker, t: dict, summary: dict) -> None:
    """Every table the instance's rules call for is there and not empty (a missing table would
    let its checks pass silently)."""
    counts = summary.get("rules") or {}
    for table, rule in (("holders", "holders"), ("spend_limits", "ring_fences"), ("spend_limits", "capitation"),
                        ("equity", "equity"), ("equity_summary", "equity"), ("attributable_spend", "places")):
        if counts.get(rule) and (t.get(table) is None or not len(t[table])):
            c.out.violations.append(Violation("tables present", table, float("nan"),
                                              f"the instance has {rule} but the {table} table is missing or empty"))


def _verify_flows(c: _Checker, t: dict, alloc: pd.DataFrame) -> None:
    """Patients conserved at every care node; patients leaving each source = need after
    prevention; each edge's flow within its share of the node's outflow; activity covers the
    pathway use plus the non-pathway demand."""
    flows, nodes, need = t["flows"], t["nodes"], t["need"]
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
    c.leq("activity covers flows", pathway_use + alloc["non_pathway_activity"].to_numpy(), alloc["activity"],
          _where(alloc, ["service", "year"]), "pathway use + non-pathway demand above activity")


def _verify_growth_and_shrink(c: _Checker, t: dict, alloc: pd.DataFrame) -> None:
    """Each service's activity within last year's (the baseline before the plan) x (1 + max growth)
    and x (1 - max shrink); no growth limit the year a site opens."""
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


def _verify_prevention(c: _Checker, t: dict, alloc: pd.DataFrame, base_year: int) -> None:
    """Each prevention effect's driver is the service's lagged activity (or spend); its reduction
    stays under the response curve (or what the lasting cohorts deliver); the net reduction
    respects the incidence floor, equals min(curve, floor) and is the need table's."""
    prev_t = t["prevention"]
    services = t["services"].set_index("service")
    c.out.checks_run.append("prevention response")
    wp = _where(prev_t, ["effect", "year"])
    drv = _prevention_driver(c, prev_t, alloc, services, base_year, wp)
    curve_at = _prevention_curve_at(c, t, prev_t, alloc, services, base_year, drv)
    c.leq("prevention response", prev_t["reduction"], curve_at, wp, "reduction above the response curve")
    c.eq("net reduction", prev_t["net_reduction"], prev_t["reduction"] - prev_t["baseline_reduction"], wp,
         "net reduction")
    _verify_incidence_floor(c, t, prev_t, curve_at)


def _prevention_driver(c: _Checker, prev_t: pd.DataFrame, alloc: pd.DataFrame, services: pd.DataFrame,
                       base_year: int, wp) -> np.ndarray:
    """The driver of each prevention row, recomputed: the service's activity (or spend) in the
    driver year, or its baseline before the horizon; checked against the reported driver value."""
    lagged = prev_t[["service", "driver_year"]].rename(columns={"driver_year": "year"}).merge(
        alloc[["service", "year", "activity", "unit_cost"]], on=["service", "year"], how="left")
    svc = services.reindex(prev_t["service"])
    spend_driver = (prev_t["driver"] == "spend").to_numpy()
    decided = (prev_t["driver_year"] > base_year).to_numpy()
    drv = np.where(decided, lagged["activity"].to_numpy() * np.where(spend_driver, lagged["unit_cost"], 1.0),
                   svc["baseline_activity"].to_numpy() * np.where(spend_driver, svc["base_unit_cost"], 1.0))
    c.eq("prevention driver", np.where(decided, prev_t["driver_value"], np.nan), drv, wp,
         "driver vs lagged activity/spend")
    return drv


def _prevention_curve_at(c: _Checker, t: dict, prev_t: pd.DataFrame, alloc: pd.DataFrame,
                         services: pd.DataFrame, base_year: int, drv: np.ndarray) -> np.ndarray:
    """The response curve's value at each row's driver; for lasting effects, what the planning
    cohorts deliver together that year (checked by :func:`_verify_cohorts`)."""
    curves = t["prevention_curves"].sort_values(["effect", "point"])
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
    return g_val


def _verify_incidence_floor(c: _Checker, t: dict, prev_t: pd.DataFrame, curve_at: np.ndarray) -> None:
    """Per target node and year: the net reduction of its effects stays above the incidence floor,
    equals min(response curve, floor), and is the need table's reduction."""
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
    nk = t["need"].set_index(["pathway", "node", "segment", "year"])["net_reduction"].reindex(agg.index).to_numpy()
    c.eq("need reduction", nk, agg["net"], where, "need table reduction vs prevention table")


def _verify_sector_shares(c: _Checker, t: dict, alloc: pd.DataFrame, base_year: int) -> tuple[pd.Series, pd.Series]:
    """Each sector's spend and share of the year's total, recomputed from the allocation (the base
    year from the services' base spend). Returns the spend by (sector, year) and the yearly totals,
    which the shift policies are checked against."""
    services = t["services"].set_index("service")
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
    return spk, totals


def _verify_shift_policies(c: _Checker, pol: pd.DataFrame, spk: pd.Series, totals: pd.Series,
                           years: list[int], base_year: int) -> None:
    """Each shift policy's trajectory, year by year (or the final year only): a share policy's
    sector group reaches its base share plus the increase so far; a transfer policy moves at least
    the amount so far out of one sector and into the other."""
    n_years = len(years)
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


def _verify_outcomes(c: _Checker, t: dict) -> None:
    """Each outcome's value recomputed from the flows and its terms, and within its targets."""
    oc = t["outcomes"]
    c.out.checks_run.append("outcomes")
    by_segment = _outcomes_by_segment(t["outcome_terms"], t["flows"], t["nodes"])
    recomputed = by_segment.groupby(["outcome", "year"])["value"].sum()
    vals = recomputed.reindex(pd.MultiIndex.from_frame(oc[["outcome", "year"]]), fill_value=0.0).to_numpy()
    wo = _where(oc, ["outcome", "year"])
    c.eq("outcome value", oc["value"], vals, wo, "reported vs recomputed from flows")
    c.out.checks_run.append("targets")
    c.leq("target at most", vals, oc["at_most"].fillna(np.inf), wo, "outcome above target")
    c.leq("target at least", oc["at_least"].fillna(-np.inf), vals, wo, "outcome below target")


def _verify_costs_and_objective(c: _Checker, t: dict, summary: dict, alloc: pd.DataFrame, terminal: float) -> None:
    """The discount factors; the total and discounted cost (with one-off set-up costs, whoever pays
    them); the objective: discounted cost less the terminal value, or the weighted outcomes."""
    b, tr, oc = t["budget"], t.get("transition"), t.get("outcomes")
    base_year = int(summary["base_year"])
    c.out.checks_run.append("costs and objective")
    disc = b.set_index("year")["discount_factor"]
    r = float(summary.get("discount_rate", 0.0))
    c.eq("discount factors", disc.to_numpy(), [(1 + r) ** -(y - base_year) for y in disc.index], list(map(str, disc.index)),
         "discount factor")
    discounted = float((alloc["spend"] * disc.reindex(alloc["year"]).to_numpy()).sum())
    total = float(alloc["spend"].sum())
    if tr is not None and len(tr):  # one-off set-up costs count, whoever pays them
        discounted += float((tr["setup_cost"] * disc.reindex(tr["year"]).to_numpy()).sum())
        total += float(tr["setup_cost"].sum())
    c.eq("total cost", [summary.get("total_cost", np.nan)], [total], ["summary"], "total cost vs allocation")
    c.eq("discounted cost", [summary.get("discounted_cost", np.nan)], [discounted], ["summary"],
         "discounted cost vs allocation")
    if summary.get("objective") is None:
        return
    if summary.get("objective_mode", "min_cost") == "min_cost":
        c.eq("objective", [summary["objective"]], [discounted - terminal], ["summary"],
             "objective vs discounted cost (less the terminal value)")
    elif oc is not None and "objective_weights" in t:
        w = t["objective_weights"].merge(oc[["outcome", "year", "value"]], on=["outcome", "year"])
        c.eq("objective", [summary["objective"]], [float((w["weight"] * w["value"]).sum())], ["summary"],
             "objective vs weighted outcomes")


def _contract_payments(cash: pd.DataFrame, alloc: pd.DataFrame) -> np.ndarray:
    """The commissioner's payment per allocation row, recomputed from the cash_release table:
    price x activity (activity contract), block value + step cost x (steps paid - base-year steps)
    (block), the capitated amount (capitation)."""
    cr = alloc[["service", "year", "activity"]].merge(
        cash.drop(columns=["activity"]), on=["service", "year"], how="left")
    form = cr["contract"].to_numpy()
    stepped = cr["step_capacity"].notna().to_numpy()
    block = cr["block_value"] + np.where(stepped, cr["step_cost"] * (cr["steps_paid"] - cr["baseline_steps"]), 0.0)
    return np.select([form == "activity", form == "block"], [cr["price"] * cr["activity"], block],
                     cr["capitation_value"]).astype(float)


def _steps_window(cash: pd.DataFrame) -> np.ndarray:
    """The most steps in use over each row's year and its closure lag before it (the base-year
    steps for years before the plan): what must still be paid for."""
    out = np.full(len(cash), np.nan)
    stepped = cash[cash["step_capacity"].notna()]
    for _, g in stepped.groupby("service", sort=False):
        g = g.sort_values("year")
        lag = int(g["closure_lag"].iat[0])
        n0 = float(g["baseline_steps"].iat[0])
        used = dict(zip(g["year"], g["steps_in_use"]))
        first = int(g["year"].min())
        for i, y in zip(g.index, g["year"]):
            window = [used[s] if s >= first else n0 for s in range(int(y) - lag, int(y) + 1)]
            out[cash.index.get_loc(i)] = max(window)
    return out


def _verify_cash(c: _Checker, t: dict, alloc: pd.DataFrame, summary: dict) -> None:
    """Cost behaviour, contract forms, transition costs, the transformation fund and the cash flow,
    recomputed from the cash_release, transition, transformation_fund and cash_flow tables."""
    c.out.checks_run.append("cash released")
    cash = t["cash_release"].reset_index(drop=True)
    w = _where(cash, ["service", "year"])
    a = cash[["service", "year"]].merge(alloc[["service", "year", "activity", "spend", "fixed_spend"]],
                                        on=["service", "year"], how="left")
    c.eq("cash release activity", cash["activity"], a["activity"], w, "activity vs allocation")
    c.eq("payment", cash["payment"], a["spend"], w, "payment vs allocation spend")
    c.eq("activity avoided", cash["activity_avoided"], cash["baseline_activity"] - cash["activity"], w,
         "baseline activity - activity")
    c.eq("notional value", cash["notional_value"], cash["unit_cost"] * cash["activity_avoided"], w,
         "unit cost x activity avoided")
    form = cash["contract"].to_numpy()
    base_pay = np.select([form == "activity", form == "block"],
                         [cash["price"] * cash["baseline_activity"], cash["block_value"]], cash["capitation_value"])
    c.eq("baseline payment", cash["baseline_payment"], base_pay, w, "baseline payment by contract form")
    c.eq("cash released to the commissioner", cash["commissioner_cash_released"],
         cash["baseline_payment"] - cash["payment"], w, "baseline payment - payment")
    stepped = cash["step_capacity"].notna().to_numpy()
    if stepped.any():
        c.out.checks_run.append("steps and closure lags")
        n = cash["steps_in_use"].to_numpy(dtype=float)
        p = cash["steps_paid"].to_numpy(dtype=float)
        cap = cash["step_capacity"].to_numpy(dtype=float)
        c.leq("integrality of steps", np.where(stepped, np.abs(n - np.round(n)), 0.0), np.zeros(len(cash)), w,
              "steps in use not whole")
        c.leq("step capacity", np.where(stepped, cash["activity"], 0.0), np.where(stepped, cap * n, 0.0), w,
              "activity above steps in use x activity per step")
        derived = stepped & (form != "block")
        c.eq("provider's steps", np.where(derived, n, 0.0),
             np.where(derived, np.ceil(cash["activity"].to_numpy(dtype=float) / np.where(stepped, cap, 1.0) - 1e-7),
                      0.0), w, "steps in use = activity / capacity rounded up (the provider's own steps)")
        window = _steps_window(cash)
        c.leq("closure lag", np.where(stepped, window, 0.0), np.where(stepped, p, 0.0), w,
              "a step paid for less than its closure lag after its last year in use")
        c.eq("provider's closure lag", np.where(derived, p, 0.0), np.where(derived, window, 0.0), w,
             "steps paid = most in use within the closure lag")
        c.eq("double running", cash["double_running"],
             np.where(stepped, cash["step_cost"] * (cash["steps_paid"] - cash["steps_in_use"]), 0.0), w,
             "step cost x steps paid for but not in use")
    has_cb = cash["variable_cost"].notna().to_numpy()
    step_part = np.where(stepped, cash["step_cost"] * cash["steps_paid"], 0.0)
    step_base = np.where(stepped, cash["step_cost"] * cash["baseline_steps"], 0.0)
    cost = np.where(has_cb, cash["variable_cost"].fillna(0) * cash["activity"] + step_part + cash["fixed_cost"].fillna(0),
                    cash["unit_cost"] * cash["activity"] + a["fixed_spend"].fillna(0))
    base = np.where(has_cb, cash["variable_cost"].fillna(0) * cash["baseline_activity"] + step_base
                    + cash["fixed_cost"].fillna(0), cash["unit_cost"] * cash["baseline_activity"])
    c.eq("provider cost", cash["provider_cost"], cost, w, "variable x activity + step cost x steps paid + fixed")
    c.eq("baseline provider cost", cash["baseline_provider_cost"], base, w, "the provider's base-year cost")
    c.eq("cash released in the system", cash["system_cash_released"], base - cost, w,
         "baseline provider cost - provider cost")

    tr = t.get("transition")
    if tr is not None and len(tr):
        c.out.checks_run.append("transition costs")
        wt = _where(tr, ["service", "year"])
        act = alloc.set_index(["service", "year"])["activity"]
        key = pd.MultiIndex.from_frame(tr[["service", "year"]])
        prev_key = pd.MultiIndex.from_arrays([tr["service"], tr["year"] - 1])
        base_act = cash.drop_duplicates("service").set_index("service")["baseline_activity"]
        prev = act.reindex(prev_key).to_numpy()
        prev = np.where(np.isnan(prev), base_act.reindex(tr["service"]).to_numpy(), prev)
        growth = np.maximum(act.reindex(key).to_numpy() - prev, 0.0)
        c.eq("growth", tr["growth"], growth, wt, "activity - last year's (at least 0)")
        c.eq("set-up cost", tr["setup_cost"], tr["setup_cost_per_unit"] * growth, wt,
             "set-up cost per unit x growth")
        c.leq("fund pays transition only", tr["fund_paid"], tr["setup_cost"], wt, "fund paid above the set-up cost")
        c.eq("budget bears", tr["budget_bears"], tr["setup_cost"] - tr["fund_paid"], wt, "set-up cost - fund paid")
        h = t.get("holders")
        if h is not None and len(h) and (h["arrangement"] == "siloed").all():
            # siloed: each holder's budget also bears its services' set-up costs the fund does not meet
            bears = tr.assign(b=tr["budget_bears"]).groupby(["holder", "year"])["b"].sum()
            hb = bears.reindex(pd.MultiIndex.from_frame(h[["holder", "year"]]), fill_value=0.0).to_numpy()
            c.leq("holder within its budget with transition costs", h["spend"] + hb, h["budget"],
                  _where(h, ["holder", "year"]), "spend + set-up costs the fund does not meet above the holder's budget",
                  scale=h["budget"])
    fund = t.get("transformation_fund")
    if fund is not None and len(fund):
        c.out.checks_run.append("transformation fund")
        wf = _where(fund, ["year"])
        paid = tr.groupby("year")["fund_paid"].sum().reindex(fund["year"], fill_value=0.0).to_numpy()             if tr is not None and len(tr) else np.zeros(len(fund))
        c.eq("fund paid", fund["paid"], paid, wf, "fund paid vs transition table")
        c.leq("fund per year", paid, fund["available"].fillna(np.inf), wf, "paid above what the fund has for the year")
        c.eq("fund cumulative", fund["cumulative_paid"], np.cumsum(paid), wf, "running total")
        c.leq("fund total", [paid.sum()], [fund["total"].fillna(np.inf).iat[0]], ["total"], "paid above the fund's total")
    flow = t.get("cash_flow")
    if flow is not None and len(flow):
        c.out.checks_run.append("cash flow")
        # programme and transition investment: the prevention table's programmes and the
        # transition table's services; every other payment rise is demand growth
        prev = t.get("prevention")
        investing = set(prev["service"]) if prev is not None and len(prev) else set()
        investing |= set(tr["service"]) if tr is not None and len(tr) else set()
        if "demand_growth" not in flow:  # written before demand growth was told apart: every rise invested
            investing = set(cash["service"])
        _verify_cash_flow(c, cash, tr, fund, flow, investing)


def _verify_cash_flow(c: _Checker, cash: pd.DataFrame, tr, fund, flow: pd.DataFrame, investing: set) -> None:
    """Each holder's demand growth, invested, saved, net and cumulative net, and its payback year,
    from the cash_release, transition and fund tables (a payment rise of a service outside
    ``investing`` is demand growth, not investment); the system row the sum of the others."""
    diff = (cash["payment"] - cash["baseline_payment"]).to_numpy(dtype=float)
    ours = cash["service"].isin(investing).to_numpy()
    per = cash.assign(up=np.where(ours, np.maximum(diff, 0), 0.0), down=np.maximum(-diff, 0),
                      demand=np.where(ours, 0.0, np.maximum(diff, 0))).groupby(["holder", "year"])[
        ["up", "down", "demand"]].sum()
    if tr is not None and len(tr):
        tb = tr.assign(b=tr["setup_cost"] - tr["fund_paid"]).groupby(["holder", "year"])["b"].sum()
        per = per.join(tb, how="outer").fillna(0.0)
    else:
        per["b"] = 0.0
    per["invested"], per["saved"] = per["up"] + per["b"], per["down"]
    per = per[["invested", "saved", "demand"]]
    if fund is not None and len(fund):
        fr = pd.DataFrame({"holder": fund["fund"], "year": fund["year"], "invested": fund["paid"], "saved": 0.0,
                           "demand": 0.0})
        per = pd.concat([per, fr.set_index(["holder", "year"])])
    system = per.groupby(level="year").sum()
    system.index = pd.MultiIndex.from_product([["system"], system.index], names=["holder", "year"])
    per = pd.concat([per, system])
    key = pd.MultiIndex.from_frame(flow[["holder", "year"]])
    wc = _where(flow, ["holder", "year"])
    inv = per["invested"].reindex(key).to_numpy()
    sav = per["saved"].reindex(key).to_numpy()
    c.known("cash flow rows", inv, wc, "a holder-year the tables do not explain")
    if "demand_growth" in flow:
        c.eq("demand growth", flow["demand_growth"], per["demand"].reindex(key).to_numpy(), wc,
             "payment rises of services that are neither programmes nor in transition")
    c.eq("invested", flow["invested"], inv, wc,
         "payment rises of programmes and services in transition + transition cost the fund does not meet")
    c.eq("saved", flow["saved"], sav, wc, "payments down")
    c.eq("net", flow["net"], sav - inv, wc, "saved - invested")
    if len(set(zip(flow["holder"], flow["year"]))) < len(per):
        c.out.violations.append(Violation("cash flow rows", "cash_flow", float(len(per) - len(flow)),
                                          "holders or years missing from the cash-flow table"))
    for h, g in flow.assign(_net=sav - inv).groupby("holder", sort=False):
        g = g.sort_values("year")
        cum = np.cumsum(g["_net"].to_numpy())
        c.eq("cumulative net", g["cumulative_net"], cum, _where(g, ["holder", "year"]), "running sum of net")
        scale = 1e-6 * max(1.0, float(np.abs(cum).max()))
        below = np.flatnonzero(cum < -scale)
        after = [k for k in range(below[0] + 1, len(cum)) if cum[k] >= -scale] if len(below) else []
        expected = float(g["year"].iat[after[0]]) if after else np.nan
        got = g["payback_year"].to_numpy(dtype=float)
        if not np.all((np.isnan(got) & np.isnan(expected)) | (got == expected)):
            c.out.violations.append(Violation("payback year", str(h), float("nan"),
                                              f"reported {got[0]}, expected {expected}"))
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
        flows, nodes = t["flows"], t["nodes"]
        valued = set(tv.loc[computed, "pathway"])
        edges = flows[(flows["year"] == final) & flows["pathway"].isin(valued)].drop_duplicates(
            ["pathway", "from", "to"])[["pathway", "from", "to", "share_min", "share_max"]]
        nd = nodes[(nodes["year"] == final) & nodes["pathway"].isin(valued)].drop_duplicates(["pathway", "node"])[
            ["pathway", "node", "kind", "service", "units_per_patient"]]
        cost = alloc[alloc["year"] == final].set_index("service")["unit_cost"].to_dict()
        v = case_costs(nd, edges, cost)
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

    scopes, nodes, pop = t["spend_scopes"], t["nodes"], t["population"]
    attribution = t.get("service_attribution")
    spend, part = attributable_spend(t)
    a_t = t["attributable_spend"]
    if attribution is not None and len(attribution):
        c.out.checks_run.append("attributed spend")
        sh = attribution.groupby(["service", "year"])["share"].sum()
        c.eq("attribution shares", sh.to_numpy(), np.ones(len(sh)), [f"{a}, {y}" for a, y in sh.index],
             "a service's shares over the segments sum to 1")
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


# ------------------------------------------------------------------------------ return on investment

def _compare_rows(c: _Checker, check: str, reported: pd.DataFrame, expected: pd.DataFrame, keys: list[str],
                  cols: list[str]) -> None:
    """Every row of ``expected`` must be reported once, and every reported row expected, with the
    same figures; a figure missing on one side only (NaN) is a violation too."""
    rep = reported.copy()
    exp = expected.copy()
    for df in (rep, exp):
        for k in keys:
            df[k] = df[k].astype(str).where(df[k].notna(), "")
    m = rep.merge(exp, on=keys, how="outer", suffixes=("", "_expected"), indicator=True)
    for side, text in (("left_only", "reported but not expected"), ("right_only", "expected but not reported")):
        bad = m[m["_merge"] == side]
        for i in range(min(len(bad), 20)):
            c.out.violations.append(Violation(check, ", ".join(str(bad[k].iat[i]) for k in keys), float("nan"), text))
    both = m[m["_merge"] == "both"]
    w = _where(both, keys)
    for col in cols:
        got = pd.to_numeric(both[col], errors="coerce").to_numpy(dtype=float)
        want = pd.to_numeric(both[f"{col}_expected"], errors="coerce").to_numpy(dtype=float)
        c.eq(check, got, want, w, col)
        for i in np.flatnonzero(np.isnan(got) != np.isnan(want))[:20]:
            c.out.violations.append(Violation(check, w[i], float("nan"),
                                              f"{col}: reported {got[i]:.10g}, recomputed {want[i]:.10g}"))


def _per_case_by_propagation(flows: pd.DataFrame, nodes: pd.DataFrame, sources: pd.DataFrame) -> pd.DataFrame:
    """(pathway, source, segment, year, node, visits): one patient put in at each source and passed
    along the plan's edge shares (flow / patients leaving the tail, recomputed here) step by step
    until none is left (readmission loops converge geometrically) — every segment and year of a
    pathway at once (:func:`optimiser.solving.verify_independent.visits_by_propagation`, not the product's
    batching in optimiser.returns)."""

    return visits_by_propagation(flows, nodes, sources)


def _verify_returns(c: _Checker, t: dict, alloc: pd.DataFrame, budget: pd.DataFrame) -> None:
    """Recompute the return-on-investment tables (optimiser.returns) from need, prevention, flows,
    nodes, outcome terms, allocation, services and budget. A ratio is blank where its denominator
    is at most 1e-6 (rounding in the solver, as the tables state)."""
    eps = 1e-6
    prev = t.get("prevention")
    pr = t["programme_returns"]
    if prev is None or not len(prev):
        if len(pr):
            c.out.violations.append(Violation("programme returns", "programme_returns", float("nan"),
                                              "returns reported for a plan with no prevention effects"))
        return
    c.out.checks_run.append("programme returns")
    names = ("programme_cases", "case_consequences", "programme_outcomes", "programme_savings", "savings_by_holder")
    missing = [n for n in names if n not in t]
    if missing:
        c.out.violations.append(Violation("programme returns", ", ".join(missing), float("nan"), "tables missing"))
        return
    years = sorted(int(y) for y in budget["year"])
    disc = dict(zip(budget["year"].astype(int), budget["discount_factor"].astype(float)))
    services = t["services"].set_index("service")
    holder = {s: (h if isinstance(h, str) and h else "pooled budget") for s, h in services["holder"].items()}
    programmes = list(dict.fromkeys(prev["service"]))

    # cases avoided: baseline need x each effect's net reduction, at every source it acts on
    tg = t["prevention_targets"].merge(prev[["effect", "service", "year", "net_reduction"]], on="effect")
    tg = tg.merge(t["need"][["pathway", "node", "segment", "year", "baseline_need"]],
                  on=["pathway", "node", "segment", "year"])
    cases = tg.rename(columns={"service": "programme"})
    cases["cases_avoided"] = cases["baseline_need"] * cases["net_reduction"]
    _compare_rows(c, "cases avoided", t["programme_cases"], cases, ["programme", "effect", "pathway", "node", "segment",
                                                                     "year"],
                  ["baseline_need", "net_reduction", "cases_avoided"])

    # per case: outcomes and activity on the plan's paths, by propagation
    flows, nodes = t["flows"], t["nodes"]
    sources = cases[["pathway", "node", "segment", "year"]].drop_duplicates()
    v = _per_case_by_propagation(flows, nodes, sources)
    terms = t["outcome_terms"]
    defs = t["outcomes"][["outcome", "unit", "direction"]].drop_duplicates("outcome")
    per = []
    for o in defs["outcome"]:
        ot = terms[terms["outcome"] == o]
        nt = ot[ot["on"] == "node"].merge(v, on=["pathway", "node", "segment"])
        vals = (nt["weight"] * nt["visits"]).groupby([nt["pathway"], nt["source"], nt["segment"], nt["year"]]).sum()
        et = ot[ot["on"] == "edge"]
        if len(et):
            fl = flows.assign(_share=flows["flow"] / flows.groupby(["pathway", "segment", "year", "from"])[
                "flow"].transform("sum").replace(0.0, np.nan))
            e = et.merge(fl, on=["pathway", "from", "to", "segment"]).merge(
                v.rename(columns={"node": "from"}), on=["pathway", "from", "segment", "year"])
            ev = (e["weight"] * e["visits"] * e["_share"].fillna(0.0)).groupby(
                [e["pathway"], e["source"], e["segment"], e["year"]]).sum()
            vals = vals.add(ev, fill_value=0.0)
        at = pd.MultiIndex.from_frame(sources[["pathway", "node", "segment", "year"]])
        per.append(sources[["pathway", "node", "segment", "year"]].assign(
            kind="outcome", item=o, per_case=vals.reindex(at, fill_value=0.0).to_numpy() if len(vals) else 0.0,
            spend_per_case=np.nan))
    care = nodes[nodes["kind"] == "care"]
    a = v.merge(care[["pathway", "node", "segment", "year", "service", "units_per_patient"]],
                on=["pathway", "node", "segment", "year"])
    a["per_case"] = a["visits"] * a["units_per_patient"]
    a = a.groupby(["pathway", "source", "segment", "year", "service"], as_index=False)["per_case"].sum()
    cost = alloc.set_index(["service", "year"])["unit_cost"]
    a["spend_per_case"] = a["per_case"] * cost.reindex(pd.MultiIndex.from_frame(a[["service", "year"]])).to_numpy()
    per_case = pd.concat(per + [a.rename(columns={"source": "node", "service": "item"}).assign(
        kind="activity")], ignore_index=True)
    _compare_rows(c, "per-case consequences", t["case_consequences"], per_case,
                  ["pathway", "node", "segment", "year", "kind", "item"], ["per_case", "spend_per_case"])

    # consequences of each programme's cases, per year
    cc = cases[["programme", "pathway", "node", "segment", "year", "cases_avoided"]].merge(
        per_case, on=["pathway", "node", "segment", "year"])
    cc["amount"] = cc["cases_avoided"] * cc["per_case"]
    cc["money"] = cc["cases_avoided"] * cc["spend_per_case"]
    d_of = pd.Series(disc)

    def with_total(df: pd.DataFrame, keys: list[str], values: list[str]) -> pd.DataFrame:
        total = df.groupby(keys, as_index=False)[values].sum().assign(period="total")
        return pd.concat([df.assign(period=df["year"].astype(int).astype(str)), total], ignore_index=True)

    def ratio(num, den) -> np.ndarray:
        num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
        return np.where(den > eps, num / np.where(den > eps, den, 1.0), np.nan)

    # downstream activity and spend avoided per service
    sav = cc[cc["kind"] == "activity"].groupby(["programme", "year", "item"], as_index=False)[["amount", "money"]].sum()
    sav = sav.rename(columns={"item": "service", "amount": "activity_avoided", "money": "spend_avoided"})
    sav["discounted_spend_avoided"] = sav["spend_avoided"] * sav["year"].map(d_of)
    sav["holder"] = sav["service"].map(holder)
    _compare_rows(c, "programme savings", t["programme_savings"],
                  with_total(sav, ["programme", "service"], ["activity_avoided", "spend_avoided",
                                                             "discounted_spend_avoided"]),
                  ["programme", "period", "service"], ["activity_avoided", "spend_avoided", "discounted_spend_avoided"])

    # returns per programme and year, then over the plan
    g = pd.MultiIndex.from_product([programmes, years], names=["programme", "year"]).to_frame(index=False)
    g["spend"] = alloc.set_index(["service", "year"])["spend"].reindex(pd.MultiIndex.from_frame(g)).to_numpy()
    g["base_spend"] = g["programme"].map(services["base_spend"]).astype(float)
    g["extra_spend"] = g["spend"] - g["base_spend"]
    idx = pd.MultiIndex.from_frame(g[["programme", "year"]])
    g["cases_avoided"] = cases.groupby(["programme", "year"])["cases_avoided"].sum().reindex(idx, fill_value=0.0).to_numpy()
    g["downstream_spend_avoided"] = sav.groupby(["programme", "year"])["spend_avoided"].sum().reindex(
        idx, fill_value=0.0).to_numpy()
    g["net_cost"] = g["extra_spend"] - g["downstream_spend_avoided"]
    g["discount_factor"] = g["year"].map(d_of)
    for col, src in (("discounted_extra_spend", "extra_spend"), ("discounted_spend_avoided", "downstream_spend_avoided"),
                     ("discounted_net_cost", "net_cost")):
        g[col] = g[src] * g["discount_factor"]
    summed = ["spend", "base_spend", "extra_spend", "cases_avoided", "downstream_spend_avoided", "net_cost",
              "discounted_extra_spend", "discounted_spend_avoided", "discounted_net_cost"]
    ret = with_total(g, ["programme"], summed)
    ret["return_per_pound"] = ratio(ret["downstream_spend_avoided"], ret["extra_spend"])
    ret["discounted_return_per_pound"] = ratio(ret["discounted_spend_avoided"], ret["discounted_extra_spend"])
    _compare_rows(c, "programme returns", pr, ret, ["programme", "period"],
                  summed + ["return_per_pound", "discount_factor", "discounted_return_per_pound"])

    # outcomes improved (fewer admissions and more QALYs both count up) and cost per unit
    o = g[["programme", "year", "discount_factor"]].merge(defs[["outcome", "direction"]], how="cross")
    amount = cc[cc["kind"] == "outcome"].groupby(["programme", "year", "item"])["amount"].sum()
    o["improvement"] = amount.reindex(pd.MultiIndex.from_frame(o[["programme", "year", "outcome"]]),
                                      fill_value=0.0).to_numpy() * np.where(o["direction"] == "higher_is_better", -1, 1)
    o["discounted_improvement"] = o["improvement"] * o["discount_factor"]
    o = with_total(o, ["programme", "outcome"], ["improvement", "discounted_improvement"])
    o = o.merge(ret[["programme", "period", "extra_spend", "net_cost", "discounted_extra_spend",
                     "discounted_net_cost"]], on=["programme", "period"])
    o["cost_per_unit"] = np.where(o["extra_spend"] > eps, ratio(o["extra_spend"], o["improvement"]), np.nan)
    o["net_cost_per_unit"] = ratio(o["net_cost"], o["improvement"])
    o["discounted_cost_per_unit"] = np.where(o["discounted_extra_spend"] > eps,
                                             ratio(o["discounted_extra_spend"], o["discounted_improvement"]), np.nan)
    o["discounted_net_cost_per_unit"] = ratio(o["discounted_net_cost"], o["discounted_improvement"])
    _compare_rows(c, "programme outcomes", t["programme_outcomes"], o, ["programme", "period", "outcome"],
                  ["improvement", "discounted_improvement", "cost_per_unit", "net_cost_per_unit",
                   "discounted_cost_per_unit", "discounted_net_cost_per_unit"])

    # who saves: spend avoided by the holder of each service, against the payer's extra spend
    saved = sav.groupby(["programme", "year", "holder"], as_index=False)[["spend_avoided", "discounted_spend_avoided"]].sum()
    saved = saved.rename(columns={"spend_avoided": "savings", "discounted_spend_avoided": "discounted_savings"})
    paid = g[["programme", "year", "extra_spend", "discounted_extra_spend"]].rename(
        columns={"extra_spend": "invested", "discounted_extra_spend": "discounted_invested"})
    paid["holder"] = paid["programme"].map(holder)
    h = saved.merge(paid, on=["programme", "year", "holder"], how="outer")
    vals = ["invested", "savings", "discounted_invested", "discounted_savings"]
    h[vals] = h[vals].fillna(0.0)
    h = pd.concat([h, h.groupby(["year", "holder"], as_index=False)[vals].sum().assign(programme="all programmes")],
                  ignore_index=True)
    h = with_total(h, ["programme", "holder"], vals)
    h["paid_by"] = h["programme"].map(holder).fillna("")
    whole = h.groupby(["programme", "period"])["savings"].transform("sum").to_numpy(dtype=float)
    h["share_of_savings"] = np.where(np.abs(whole) > eps, h["savings"] / np.where(np.abs(whole) > eps, whole, 1.0),
                                     np.nan)
    h["net_saving"] = h["savings"] - h["invested"]
    rep = t["savings_by_holder"].assign(paid_by=t["savings_by_holder"]["paid_by"].fillna(""))
    _compare_rows(c, "who saves", rep, h, ["programme", "paid_by", "period", "holder"],
                  ["invested", "savings", "share_of_savings", "net_saving", "discounted_invested",
                   "discounted_savings"])
    _verify_returns_in_cash(c, t, alloc, sav, g, holder, with_total, ratio)


def _verify_returns_in_cash(c: _Checker, t: dict, alloc: pd.DataFrame, sav: pd.DataFrame, g: pd.DataFrame,
                            holder: dict, with_total, ratio) -> None:
    """The cash columns of programme_savings, programme_returns and savings_by_holder, and the
    terminal value per programme, from the cash_release, terminal_value, prevention, services and
    allocation tables and the recomputed activity avoided per programme and service (``sav``) and
    spend per programme and year (``g``): per unit a unit avoided releases its price; a block or
    capitation service's cash released is shared by the programmes in proportion to what they
    avoid there, over at least the service's own fall; none where its activity did not fall."""
    eps = 1e-6
    if "cash_released" not in t["programme_returns"]:
        return  # a result written before the cash columns: nothing of them to check
    cash = t.get("cash_release")
    services = t["services"].set_index("service")
    s = sav.copy()
    a = s["activity_avoided"].to_numpy(dtype=float)
    if cash is None or not len(cash):
        s["cash_released"] = s["spend_avoided"]  # every service paid per unit at unit cost
    else:
        cr = cash.set_index(["service", "year"])
        key = pd.MultiIndex.from_frame(s[["service", "year"]])
        fall = cr["activity_avoided"].reindex(key).to_numpy(dtype=float)
        progs = np.maximum(a, 0.0)
        progs = pd.Series(progs).groupby([s["service"].to_numpy(), s["year"].to_numpy()]).transform("sum").to_numpy()
        fell = fall > eps * np.maximum(1.0, np.abs(cr["baseline_activity"].reindex(key).to_numpy(dtype=float)))
        share = np.where(fell, a / np.where(fell, np.maximum(fall, progs), 1.0), 0.0)
        per_unit = cr["contract"].reindex(key).to_numpy() == "activity"
        s["cash_released"] = np.where(per_unit, cr["price"].reindex(key).to_numpy(dtype=float) * a,
                                      share * cr["commissioner_cash_released"].reindex(key).to_numpy(dtype=float))
    d = g.drop_duplicates("year").set_index("year")["discount_factor"]
    s["discounted_cash_released"] = s["cash_released"] * s["year"].map(d)
    cash_cols = ["cash_released", "discounted_cash_released"]
    _compare_rows(c, "programme savings in cash", t["programme_savings"],
                  with_total(s, ["programme", "service"], cash_cols), ["programme", "period", "service"], cash_cols)

    r = g[["programme", "year", "spend", "extra_spend", "discounted_extra_spend", "discounted_spend_avoided",
           "discount_factor"]].copy()
    key = pd.MultiIndex.from_frame(r[["programme", "year"]])
    at_cost = alloc.set_index(["service", "year"])["unit_cost"].reindex(key).to_numpy(dtype=float) * \
        r["programme"].map(services["baseline_activity"]).to_numpy(dtype=float)
    if cash is not None and len(cash):
        paid = cash.set_index(["service", "year"])["baseline_payment"].reindex(key).to_numpy(dtype=float)
        at_cost = np.where(np.isnan(paid), at_cost, paid)
    r["baseline_payment"] = at_cost
    r["extra_payment"] = r["spend"] - r["baseline_payment"]
    r["cash_released"] = s.groupby(["programme", "year"])["cash_released"].sum().reindex(key, fill_value=0.0).to_numpy()
    r["net_cash_cost"] = r["extra_payment"] - r["cash_released"]
    for col, src in (("discounted_extra_payment", "extra_payment"), ("discounted_cash_released", "cash_released"),
                     ("discounted_net_cash_cost", "net_cash_cost")):
        r[col] = r[src] * r["discount_factor"]
    summed = ["baseline_payment", "extra_payment", "cash_released", "net_cash_cost", "discounted_extra_payment",
              "discounted_cash_released", "discounted_net_cash_cost", "discounted_extra_spend",
              "discounted_spend_avoided"]
    ret = with_total(r, ["programme"], summed)
    ret["cash_return_per_pound"] = ratio(ret["cash_released"], ret["extra_payment"])
    ret["discounted_cash_return_per_pound"] = ratio(ret["discounted_cash_released"], ret["discounted_extra_payment"])
    tv = t.get("terminal_value")
    total = (ret["period"] == "total").to_numpy()
    if tv is not None:
        of = dict(zip(t["prevention"]["effect"], t["prevention"]["service"]))
        by = tv.assign(p=tv["effect"].map(of)).groupby("p")["value"].sum() if len(tv) else pd.Series(dtype=float)
        ret["discounted_terminal_value"] = np.where(total, ret["programme"].map(by).fillna(0.0), np.nan)
    else:
        ret["discounted_terminal_value"] = np.nan
    ret["discounted_return_with_terminal_value"] = ratio(
        ret["discounted_spend_avoided"] + ret["discounted_terminal_value"], ret["discounted_extra_spend"])
    _compare_rows(c, "programme returns in cash", t["programme_returns"], ret, ["programme", "period"],
                  summed[:7] + ["cash_return_per_pound", "discounted_cash_return_per_pound",
                                "discounted_terminal_value", "discounted_return_with_terminal_value"])

    # who saves in cash: cash released by the holder of each service, against the payer's extra payment
    hs = s.assign(holder=s["service"].map(holder)).groupby(["programme", "year", "holder"], as_index=False)[cash_cols].sum()
    pay = r[["programme", "year", "extra_payment", "discounted_extra_payment"]].rename(
        columns={"extra_payment": "cash_invested", "discounted_extra_payment": "discounted_cash_invested"})
    pay["holder"] = pay["programme"].map(holder)
    h = hs.merge(pay, on=["programme", "year", "holder"], how="outer")
    vals = cash_cols + ["cash_invested", "discounted_cash_invested"]
    h[vals] = h[vals].fillna(0.0)
    h = pd.concat([h, h.groupby(["year", "holder"], as_index=False)[vals].sum().assign(programme="all programmes")],
                  ignore_index=True)
    h = with_total(h, ["programme", "holder"], vals)
    whole = h.groupby(["programme", "period"])["cash_released"].transform("sum").to_numpy(dtype=float)
    h["share_of_cash_released"] = np.where(np.abs(whole) > eps,
                                           h["cash_released"] / np.where(np.abs(whole) > eps, whole, 1.0), np.nan)
    h["net_cash_saving"] = h["cash_released"] - h["cash_invested"]
    _compare_rows(c, "who saves in cash", t["savings_by_holder"], h, ["programme", "period", "holder"],
                  vals + ["share_of_cash_released", "net_cash_saving"])
