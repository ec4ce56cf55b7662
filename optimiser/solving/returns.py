"""Return on investment of each prevention programme, and who saves: read from a plan's own
tables (need, prevention, flows, nodes, allocation), never from the model.

A *programme* is a service with at least one prevention effect. Its figures, per year and in
total over the plan:

- **spend**, and **extra spend** = spend - base-year spend (the investment above what the
  programme already cost; in cash, so unit-cost growth counts as spend);
- **cases avoided** at every source an effect acts on:

      cases_avoided[k, n, s, t] = baseline_need[n, s, t] x net_reduction[k, t]

  with baseline_need = incidence x population and net_reduction = the effect's reduction minus
  its reduction at base-year activity (the baseline incidence already reflects base-year
  prevention). Incidence falls by the *sum* of the effects' net reductions, so this split is
  exact: where several effects act on one source each gets its own share (in proportion to its
  net reduction) and the shares add up to the cases avoided. A negative figure means a
  programme cut below its base-year level: cases *added*;
- **downstream consequences** of those cases: each avoided case is given the plan's own
  average path from that source (the *attribution rule*): the expected number of times a patient
  entering at source n passes each node, from the plan's realised edge shares (share = flow on
  the edge / patients leaving its tail, readmission loops included):

      visits_n = e_n + P' visits_n     (P[i, j] = share of i's patients going to j)

  so per case: outcome o = sum of o's node weights x visits + edge weights x visits[tail] x
  share; activity at service i = sum over i's care nodes of visits x units per patient; spend
  avoided = that activity x unit cost. Summed over every source with its entrants, the per-case
  figures give back the plan's own node and outcome totals (a node no patient passes in the plan
  sends none on, so a source whose need prevention has cut to nothing has no consequences to
  attribute). This is an *average* attribution
  (what an avoided case would on average have gone on to use); the *marginal* value of one more
  case avoided is a shadow price (``budgetshift explain``). Spend avoided is activity avoided at
  unit cost: it is not cash released (fixed and semi-fixed costs stay until capacity closes);
- **cost per outcome**: extra spend / improvement (£ per admission avoided, £ per QALY gained)
  and net cost / improvement, with net cost = extra spend - downstream spend avoided and
  return per £1 = downstream spend avoided / extra spend;
- **who saves**: downstream spend avoided by the holder of each service it falls on, against the
  holder that pays for the programme;
- **in cash**, beside those notional figures: the programme's *extra payment* = its payment - its
  baseline payment (base-year activity paid at the year's price or contract: the cash_release
  table's ``baseline_payment``, else base-year activity x the year's unit cost), and the *cash
  released* to the commissioner by the downstream services, split to programmes pro rata to their
  share of each service's activity avoided (:func:`programme_cash_released`: under a block or
  capitation payment avoided activity releases no cash until a step closes; paid per unit it
  releases its price, so without contracts the cash equals the notional figure); per holder too;
- **terminal value** (with ``horizon.terminal_value``): the discounted value of the cases each
  programme avoids after the horizon (the terminal_value table, by effect -> programme), on the
  total row as its own column, and a return per £1 including it (notional: at unit cost, like the
  terminal value itself).

Discounted figures use the plan's discount factors (the budget table's ``discount_factor``, the
objective's own weights), for money and outcomes alike (equal discounting); per-year ratios are
the same either way, totals over the plan differ. Benefits of spend in the last ``lag`` years
arise beyond the horizon and are counted only in the terminal-value column (when the instance
values them).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TOTAL = "total"
ALL_PROGRAMMES = "all programmes"
NO_HOLDER = "pooled budget"

CASES_COLUMNS = ["programme", "effect", "pathway", "node", "segment", "year", "baseline_need", "net_reduction",
                 "cases_avoided"]
CONSEQUENCE_COLUMNS = ["pathway", "node", "segment", "year", "kind", "item", "unit", "per_case", "unit_cost",
                       "spend_per_case"]
RETURN_COLUMNS = ["programme", "paid_by", "period", "spend", "base_spend", "extra_spend", "cases_avoided",
                  "downstream_spend_avoided", "net_cost", "return_per_pound", "discount_factor",
                  "discounted_extra_spend", "discounted_spend_avoided", "discounted_net_cost",
                  "discounted_return_per_pound"]
OUTCOME_COLUMNS = ["programme", "period", "outcome", "unit", "direction", "measure", "improvement",
                   "discounted_improvement", "cost_per_unit", "net_cost_per_unit", "discounted_cost_per_unit",
                   "discounted_net_cost_per_unit"]
SAVINGS_COLUMNS = ["programme", "period", "service", "sector", "holder", "activity_avoided", "spend_avoided",
                   "discounted_spend_avoided"]
HOLDER_COLUMNS = ["programme", "paid_by", "period", "holder", "invested", "savings", "share_of_savings",
                  "net_saving", "discounted_invested", "discounted_savings"]
# the cash figures beside the notional ones (added to the tables when the plan has programmes: a
# plan without any keeps its empty tables as they were)
CASH_SAVINGS_COLUMNS = ["cash_released", "discounted_cash_released"]
CASH_RETURN_COLUMNS = ["baseline_payment", "extra_payment", "cash_released", "net_cash_cost", "cash_return_per_pound",
                       "discounted_extra_payment", "discounted_cash_released", "discounted_net_cash_cost",
                       "discounted_cash_return_per_pound", "discounted_terminal_value",
                       "discounted_return_with_terminal_value"]
CASH_HOLDER_COLUMNS = ["cash_invested", "cash_released", "share_of_cash_released", "net_cash_saving",
                       "discounted_cash_invested", "discounted_cash_released"]
# a service's activity "fell" when its activity avoided is above this share of its baseline activity
# (at least 1e-6 units): below it, the figure is rounding in the solver
CASH_TOL = 1e-6


# a ratio's denominator (improvement, extra spend, savings) at or below this is rounding in the
# solver, not a programme's effect: the ratio is left blank
MIN_DENOMINATOR = 1e-6


def _ratio(num, den, positive_den: bool = True) -> np.ndarray:
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    ok = den > MIN_DENOMINATOR if positive_den else np.abs(den) > MIN_DENOMINATOR
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ok, num / np.where(ok, den, 1.0), np.nan)


def pathway_batches(flows: pd.DataFrame, nodes: pd.DataFrame, sources: pd.DataFrame, share: np.ndarray):
    """The per-case systems of every (pathway, segment, year) with sources, batched by the number of
    nodes n of their pathway: for each n, (want, names, P, rhs) with

    * ``want``: the rows of ``sources`` in the batch, with ``_g`` (their group in the batch) and
      ``_k`` (their source's column);
    * ``names[g, i]``: node i of group g's pathway;
    * ``P[g, i, j]``: the share of node i's patients going to node j (``share``: one per flows row);
    * ``rhs[g, i, k]`` = 1 where node i is the pathway's k-th source.

    A handful of array operations per batch, however many pathways, segments and years (a national
    instance has thousands)."""
    keys = ["pathway", "segment", "year"]
    src = sources[keys + ["node"]].drop_duplicates().reset_index(drop=True)
    groups = src[keys].drop_duplicates().reset_index(drop=True)
    pn = nodes[["pathway", "node"]].drop_duplicates()
    pn = pn[pn["pathway"].isin(set(groups["pathway"]))].reset_index(drop=True)
    pn["_i"] = pn.groupby("pathway", sort=False).cumcount()
    size = pn.groupby("pathway", sort=False).size()
    sp = src[["pathway", "node"]].drop_duplicates().reset_index(drop=True)
    sp["_k"] = sp.groupby("pathway", sort=False).cumcount()
    sp = sp.merge(pn, on=["pathway", "node"])
    groups["_n"] = groups["pathway"].map(size).to_numpy()
    f = flows[keys + ["from", "to"]].assign(_share=share)
    for n, gs in groups.groupby("_n", sort=True):
        n = int(n)
        gs = gs.reset_index(drop=True).assign(_g=lambda d: np.arange(len(d)))
        n_src = int(sp[sp["pathway"].isin(set(gs["pathway"]))]["_k"].max()) + 1
        fb = f.merge(gs[keys + ["_g"]], on=keys)
        fb = fb.merge(pn.rename(columns={"node": "from", "_i": "_a"}), on=["pathway", "from"]).merge(
            pn.rename(columns={"node": "to", "_i": "_b"}), on=["pathway", "to"])
        P = np.zeros((len(gs), n, n))
        P[fb["_g"].to_numpy(), fb["_a"].to_numpy(), fb["_b"].to_numpy()] = fb["_share"].to_numpy(dtype=float)
        r = gs[["pathway", "_g"]].merge(sp, on="pathway")
        rhs = np.zeros((len(gs), n, n_src))
        rhs[r["_g"].to_numpy(), r["_i"].to_numpy(), r["_k"].to_numpy()] = 1.0
        names = np.empty((len(gs), n), dtype=object)
        pg = gs[["pathway", "_g"]].merge(pn, on="pathway")
        names[pg["_g"].to_numpy(), pg["_i"].to_numpy()] = pg["node"].to_numpy(dtype=object)
        want = src.merge(gs[keys + ["_g"]], on=keys).merge(sp[["pathway", "node", "_k"]], on=["pathway", "node"])
        yield want, names, P, rhs


def batch_table(want: pd.DataFrame, names: np.ndarray, v: np.ndarray) -> pd.DataFrame:
    """``v[g, i, k]`` (visits of node i per entrant at source k in group g) as rows (pathway,
    source, segment, year, node, visits) for each row of ``want``."""
    n = names.shape[1]
    g = want["_g"].to_numpy()
    picked = v[g[:, None], np.arange(n)[None, :], want["_k"].to_numpy()[:, None]]
    rep = np.repeat(np.arange(len(want)), n)
    return pd.DataFrame({"pathway": want["pathway"].to_numpy()[rep], "source": want["node"].to_numpy()[rep],
                         "segment": want["segment"].to_numpy()[rep], "year": want["year"].to_numpy()[rep],
                         "node": names[g].reshape(-1), "visits": picked.reshape(-1)})


def visits_per_entrant(flows: pd.DataFrame, nodes: pd.DataFrame, sources: pd.DataFrame) -> pd.DataFrame:
    """(pathway, source, segment, year, node, visits): expected passes through each node of a
    patient entering at each of ``sources`` (pathway, node, segment, year), from the plan's edge
    shares: (I - P') visits = e_source, solved directly for every segment and year of a pathway
    at once."""
    cols = ["pathway", "source", "segment", "year", "node", "visits"]
    if sources.empty or flows.empty:
        return pd.DataFrame(columns=cols)
    out = []
    for want, names, P, rhs in pathway_batches(flows, nodes, sources, flows["share"].fillna(0.0).to_numpy()):
        A = np.eye(P.shape[1])[None, :, :] - P.transpose(0, 2, 1)
        try:
            v = np.linalg.solve(A, rhs)
        except np.linalg.LinAlgError:  # a closed loop no patient takes: least squares per group
            v = np.stack([np.linalg.lstsq(A[g], rhs[g], rcond=None)[0] for g in range(len(P))])
        out.append(batch_table(want, names, v))
    return pd.concat(out, ignore_index=True)[cols]


def case_consequences(flows: pd.DataFrame, nodes: pd.DataFrame, terms: pd.DataFrame, outcomes: pd.DataFrame,
                      alloc: pd.DataFrame, sources: pd.DataFrame) -> pd.DataFrame:
    """Per case entering at each source (pathway, node, segment, year): every outcome (kind
    ``outcome``) and the activity and spend at every service (kind ``activity``) it leads to."""
    if sources.empty:
        return pd.DataFrame(columns=CONSEQUENCE_COLUMNS)
    v = visits_per_entrant(flows, nodes, sources)
    parts = []
    nt = terms[terms["on"] == "node"]
    if len(nt):
        t = nt[["outcome", "pathway", "node", "segment", "weight"]].merge(v, on=["pathway", "node", "segment"])
        parts.append(t.assign(per_case=t["weight"] * t["visits"]))
    et = terms[terms["on"] == "edge"]
    if len(et):
        t = et[["outcome", "pathway", "from", "to", "segment", "weight"]].merge(
            flows[["pathway", "from", "to", "segment", "year", "share"]], on=["pathway", "from", "to", "segment"])
        t = t.merge(v.rename(columns={"node": "from"}), on=["pathway", "from", "segment", "year"])
        parts.append(t.assign(per_case=t["weight"] * t["visits"] * t["share"].fillna(0.0)))
    grid = sources.rename(columns={"node": "source"})[["pathway", "source", "segment", "year"]].merge(
        outcomes[["outcome", "unit"]], how="cross")
    if parts:
        oc = pd.concat(parts, ignore_index=True).groupby(["pathway", "source", "segment", "year", "outcome"],
                                                         as_index=False)["per_case"].sum()
        grid = grid.merge(oc, on=["pathway", "source", "segment", "year", "outcome"], how="left")
        grid["per_case"] = grid["per_case"].fillna(0.0)
    else:
        grid["per_case"] = 0.0
    oc = grid.rename(columns={"source": "node", "outcome": "item"}).assign(kind="outcome", unit_cost=np.nan,
                                                                            spend_per_case=np.nan)
    care = nodes[nodes["kind"] == "care"][["pathway", "node", "segment", "year", "service", "units_per_patient"]]
    a = v.merge(care, on=["pathway", "node", "segment", "year"])
    a = a.assign(per_case=a["visits"] * a["units_per_patient"])
    a = a.groupby(["pathway", "source", "segment", "year", "service"], as_index=False)["per_case"].sum()
    a = a.merge(alloc[["service", "year", "unit", "unit_cost"]], on=["service", "year"], how="left")
    a = a.rename(columns={"source": "node", "service": "item"}).assign(kind="activity")
    a["spend_per_case"] = a["per_case"] * a["unit_cost"]
    out = pd.concat([oc[CONSEQUENCE_COLUMNS], a[CONSEQUENCE_COLUMNS]], ignore_index=True)
    return out.sort_values(["pathway", "node", "segment", "year", "kind"], kind="stable").reset_index(drop=True)


def programme_cases(need: pd.DataFrame, prevention: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """Cases avoided by each effect at each source, segment and year (baseline need x the
    effect's net reduction)."""
    if prevention.empty or targets.empty:
        return pd.DataFrame(columns=CASES_COLUMNS)
    p = prevention[["effect", "service", "year", "net_reduction"]].rename(columns={"service": "programme"})
    c = targets[["effect", "pathway", "node", "segment"]].merge(p, on="effect")
    c = c.merge(need[["pathway", "node", "segment", "year", "baseline_need"]],
                on=["pathway", "node", "segment", "year"])
    c["cases_avoided"] = c["baseline_need"] * c["net_reduction"]
    return c[CASES_COLUMNS].sort_values(["programme", "effect", "year"], kind="stable").reset_index(drop=True)


def _with_total(df: pd.DataFrame, keys: list[str], values: list[str]) -> pd.DataFrame:
    """Yearly rows with ``period`` = the year (as text), then a ``total`` row per ``keys``."""
    yearly = df.assign(period=df["year"].astype(int).astype(str))
    total = df.groupby(keys, as_index=False, sort=False)[values].sum().assign(period=TOTAL)
    return pd.concat([yearly, total], ignore_index=True)


def _order(df: pd.DataFrame, programmes: list[str], years: list[int], extra: list[str] = ()) -> pd.DataFrame:
    rank = {p: i for i, p in enumerate(programmes + [ALL_PROGRAMMES])}
    prank = {str(y): i for i, y in enumerate(years)} | {TOTAL: len(years)}
    key = df.assign(_p=df["programme"].map(rank), _y=df["period"].map(prank))
    return key.sort_values(["_p", *extra, "_y"], kind="stable").drop(columns=["_p", "_y"]).reset_index(drop=True)


def programme_cash_released(act: pd.DataFrame, cash_release: pd.DataFrame | None) -> np.ndarray:
    """Cash released to the commissioner by each programme at each downstream service, one figure
    per row of ``act`` (programme, year, service, activity_avoided a, spend_avoided), from the
    cash_release table (service activity avoided A, contract, price, commissioner cash released C):

    * a service paid per unit (an activity contract, or any service of an instance without
      contracts, paid at unit cost): each unit avoided releases its price, cash = price x a (the
      pro-rata rule below gives the same whenever A != 0, as C = price x A there); without a
      cash_release table this is the notional figure, unit cost x a;
    * a block or capitation payment: the service's cash released C is split over the programmes
      pro rata to their activity avoided there, cash = C x a / max(A, sum of the programmes'
      positive a), when the service's activity fell (A > 1e-6 x max(1, baseline activity)); the
      denominator is at least the programmes' own total so that what other changes add (demand
      growth, a shift into the service) never gives programmes more than C between them. Where its
      activity did not fall, the cash it moved (a spare step closed, a block renegotiated) does not
      come from avoided activity and none is given to programmes. A block without steps releases
      nothing (C = 0), a capitation payment nothing either: the avoided activity stays with the
      provider."""
    a = act["activity_avoided"].to_numpy(dtype=float)
    if cash_release is None or not len(cash_release):
        return act["spend_avoided"].to_numpy(dtype=float)
    cr = cash_release[["service", "year", "contract", "price", "activity_avoided", "baseline_activity",
                       "commissioner_cash_released"]].rename(columns={"activity_avoided": "service_avoided"})
    m = act[["programme", "year", "service"]].merge(cr, on=["service", "year"], how="left")
    ours = pd.Series(np.maximum(a, 0.0)).groupby([m["service"], m["year"]]).transform("sum").to_numpy()
    whole = m["service_avoided"].to_numpy(dtype=float)
    fell = whole > CASH_TOL * np.maximum(1.0, np.abs(m["baseline_activity"].to_numpy(dtype=float)))
    denom = np.where(fell, np.maximum(whole, ours), 1.0)
    split = np.where(fell, m["commissioner_cash_released"].to_numpy(dtype=float) * a / denom, 0.0)
    per_unit = (m["contract"] == "activity").to_numpy()
    return np.where(per_unit, m["price"].to_numpy(dtype=float) * a, split)


def programme_baseline_payment(r: pd.DataFrame, alloc: pd.DataFrame, services: pd.DataFrame,
                               cash_release: pd.DataFrame | None) -> np.ndarray:
    """What each programme (rows of ``r``: programme, year) would be paid at its base-year activity
    in that year: the cash_release table's baseline payment (by contract form) where there is one,
    else base-year activity x the year's unit cost (paid per unit at unit cost)."""
    key = pd.MultiIndex.from_frame(r[["programme", "year"]])
    cost = alloc.set_index(["service", "year"])["unit_cost"].reindex(key).to_numpy(dtype=float)
    base = cost * r["programme"].map(services.set_index("service")["baseline_activity"]).to_numpy(dtype=float)
    if cash_release is None or not len(cash_release):
        return base
    paid = cash_release.set_index(["service", "year"])["baseline_payment"].reindex(key).to_numpy(dtype=float)
    return np.where(np.isnan(paid), base, paid)


def programme_terminal_value(terminal: pd.DataFrame | None, effect_programme: dict) -> pd.Series:
    """Discounted terminal value per programme: the terminal_value table's values (already discounted
    to the base year) summed over each programme's effects. Empty without the option."""
    if terminal is None or not len(terminal):
        return pd.Series(dtype=float)
    return terminal.assign(programme=terminal["effect"].map(effect_programme)).groupby("programme")["value"].sum()


def return_tables(alloc: pd.DataFrame, services: pd.DataFrame, budget: pd.DataFrame, cases: pd.DataFrame,
                  consequences: pd.DataFrame, outcomes: pd.DataFrame, programmes: list[str],
                  cash_release: pd.DataFrame | None = None,
                  terminal: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """programme_returns, programme_outcomes, programme_savings and savings_by_holder from the
    cases avoided and the per-case consequences (used by the result and, independently of the
    way the per-case figures were found, checked by the verifier)."""
    years = sorted(int(y) for y in budget["year"])
    disc = budget.set_index("year")["discount_factor"]
    svc = services.set_index("service")
    holder_of = svc["holder"].where(svc["holder"].notna(), NO_HOLDER) if "holder" in svc else \
        pd.Series(NO_HOLDER, index=svc.index)
    if not programmes:
        return {"programme_returns": pd.DataFrame(columns=RETURN_COLUMNS),
                "programme_outcomes": pd.DataFrame(columns=OUTCOME_COLUMNS),
                "programme_savings": pd.DataFrame(columns=SAVINGS_COLUMNS),
                "savings_by_holder": pd.DataFrame(columns=HOLDER_COLUMNS)}
    # consequences of each programme's cases: cases x per-case figure, by programme and year
    c = cases.merge(consequences, on=["pathway", "node", "segment", "year"])
    c["amount"] = c["cases_avoided"] * c["per_case"]
    c["spend_amount"] = c["cases_avoided"] * c["spend_per_case"]
    grid = pd.DataFrame({"programme": programmes}).merge(pd.DataFrame({"year": years}), how="cross")
    grid["d"] = grid["year"].map(disc)

    # ---------------------------------------------------------------- savings per service
    act = c[c["kind"] == "activity"].groupby(["programme", "year", "item"], as_index=False)[
        ["amount", "spend_amount"]].sum().rename(columns={"item": "service", "amount": "activity_avoided",
                                                          "spend_amount": "spend_avoided"})
    act["sector"] = act["service"].map(svc["sector"])
    act["holder"] = act["service"].map(holder_of)
    act["discounted_spend_avoided"] = act["spend_avoided"] * act["year"].map(disc)
    act["cash_released"] = programme_cash_released(act, cash_release)
    act["discounted_cash_released"] = act["cash_released"] * act["year"].map(disc)
    savings = _with_total(act, ["programme", "service", "sector", "holder"],
                          ["activity_avoided", "spend_avoided", "discounted_spend_avoided", *CASH_SAVINGS_COLUMNS])
    savings = _order(savings[SAVINGS_COLUMNS + CASH_SAVINGS_COLUMNS], programmes, years, ["service"])

    # ---------------------------------------------------------------- returns
    r = grid.copy()
    a = alloc.set_index(["service", "year"])["spend"]
    r["spend"] = a.reindex(pd.MultiIndex.from_frame(r[["programme", "year"]])).to_numpy()
    r["base_spend"] = r["programme"].map(svc["base_spend"])
    r["extra_spend"] = r["spend"] - r["base_spend"]
    r["cases_avoided"] = r.set_index(["programme", "year"]).index.map(
        cases.groupby(["programme", "year"])["cases_avoided"].sum()).to_numpy(dtype=float)
    r["downstream_spend_avoided"] = r.set_index(["programme", "year"]).index.map(
        act.groupby(["programme", "year"])["spend_avoided"].sum()).to_numpy(dtype=float)
    r[["cases_avoided", "downstream_spend_avoided"]] = r[["cases_avoided", "downstream_spend_avoided"]].fillna(0.0)
    r["net_cost"] = r["extra_spend"] - r["downstream_spend_avoided"]
    r["discounted_extra_spend"] = r["extra_spend"] * r["d"]
    r["discounted_spend_avoided"] = r["downstream_spend_avoided"] * r["d"]
    r["discounted_net_cost"] = r["net_cost"] * r["d"]
    # in cash: the payment above the baseline payment, against the cash the downstream services release
    r["baseline_payment"] = programme_baseline_payment(r, alloc, services, cash_release)
    r["extra_payment"] = r["spend"] - r["baseline_payment"]
    r["cash_released"] = r.set_index(["programme", "year"]).index.map(
        act.groupby(["programme", "year"])["cash_released"].sum()).to_numpy(dtype=float)
    r["cash_released"] = r["cash_released"].fillna(0.0)
    r["net_cash_cost"] = r["extra_payment"] - r["cash_released"]
    r["discounted_extra_payment"] = r["extra_payment"] * r["d"]
    r["discounted_cash_released"] = r["cash_released"] * r["d"]
    r["discounted_net_cash_cost"] = r["net_cash_cost"] * r["d"]
    cash_money = ["baseline_payment", "extra_payment", "cash_released", "net_cash_cost", "discounted_extra_payment",
                  "discounted_cash_released", "discounted_net_cash_cost"]
    money = ["spend", "base_spend", "extra_spend", "cases_avoided", "downstream_spend_avoided", "net_cost",
             "discounted_extra_spend", "discounted_spend_avoided", "discounted_net_cost"]
    ret = _with_total(r, ["programme"], money + cash_money)
    ret["discount_factor"] = np.where(ret["period"] == TOTAL, np.nan, ret["d"])
    ret["paid_by"] = ret["programme"].map(holder_of)
    ret["return_per_pound"] = _ratio(ret["downstream_spend_avoided"], ret["extra_spend"])
    ret["discounted_return_per_pound"] = _ratio(ret["discounted_spend_avoided"], ret["discounted_extra_spend"])
    ret["cash_return_per_pound"] = _ratio(ret["cash_released"], ret["extra_payment"])
    ret["discounted_cash_return_per_pound"] = _ratio(ret["discounted_cash_released"], ret["discounted_extra_payment"])
    # the terminal value (benefits after the horizon, at unit cost, discounted): a figure for the whole
    # plan, on the total row only; blank without the option
    effect_programme = dict(zip(cases["effect"], cases["programme"]))
    tv = programme_terminal_value(terminal, effect_programme)
    valued = terminal is not None
    ret["discounted_terminal_value"] = np.where((ret["period"] == TOTAL) & valued,
                                                ret["programme"].map(tv).fillna(0.0), np.nan)
    ret["discounted_return_with_terminal_value"] = _ratio(
        ret["discounted_spend_avoided"] + ret["discounted_terminal_value"], ret["discounted_extra_spend"])
    ret = _order(ret[RETURN_COLUMNS + CASH_RETURN_COLUMNS], programmes, years)

    # ---------------------------------------------------------------- outcomes
    o = c[c["kind"] == "outcome"].groupby(["programme", "year", "item"], as_index=False)["amount"].sum()
    o = grid[["programme", "year", "d"]].merge(outcomes[["outcome", "unit", "direction"]], how="cross").merge(
        o.rename(columns={"item": "outcome"}), on=["programme", "year", "outcome"], how="left")
    sign = np.where(o["direction"] == "higher_is_better", -1.0, 1.0)
    o["improvement"] = sign * o["amount"].fillna(0.0)
    o["discounted_improvement"] = o["improvement"] * o["d"]
    out = _with_total(o, ["programme", "outcome", "unit", "direction"], ["improvement", "discounted_improvement"])
    out["measure"] = out["outcome"].astype(str) + np.where(out["direction"] == "higher_is_better", " gained",
                                                           " avoided")
    m = out.merge(ret[["programme", "period", "extra_spend", "net_cost", "discounted_extra_spend",
                       "discounted_net_cost"]], on=["programme", "period"])
    # cost per unit: only where the programme spends more than in the base year and improves the
    # outcome; net cost per unit wherever it improves it (negative: saves more than it costs)
    m["cost_per_unit"] = np.where(m["extra_spend"] > MIN_DENOMINATOR, _ratio(m["extra_spend"], m["improvement"]),
                                  np.nan)
    m["net_cost_per_unit"] = _ratio(m["net_cost"], m["improvement"])
    m["discounted_cost_per_unit"] = np.where(m["discounted_extra_spend"] > MIN_DENOMINATOR,
                                             _ratio(m["discounted_extra_spend"], m["discounted_improvement"]), np.nan)
    m["discounted_net_cost_per_unit"] = _ratio(m["discounted_net_cost"], m["discounted_improvement"])
    outcome_order = {x: i for i, x in enumerate(outcomes["outcome"])}
    m = m.assign(_o=m["outcome"].map(outcome_order))
    prog_out = _order(m, programmes, years, ["_o"])[OUTCOME_COLUMNS]

    # ---------------------------------------------------------------- who saves
    by_holder = act.groupby(["programme", "year", "holder"], as_index=False)[["spend_avoided",
                                                                               "discounted_spend_avoided"]].sum()
    payers = r[["programme", "year", "extra_spend", "discounted_extra_spend"]].assign(
        holder=r["programme"].map(holder_of))
    by_holder = by_holder.merge(act.groupby(["programme", "year", "holder"], as_index=False)[
        ["cash_released", "discounted_cash_released"]].sum(), on=["programme", "year", "holder"])
    payers = payers.assign(cash_invested=r["extra_payment"], discounted_cash_invested=r["discounted_extra_payment"])
    h = by_holder.merge(payers, on=["programme", "year", "holder"], how="outer")
    h = h.rename(columns={"spend_avoided": "savings", "discounted_spend_avoided": "discounted_savings",
                          "extra_spend": "invested", "discounted_extra_spend": "discounted_invested"})
    vals = ["invested", "savings", "discounted_invested", "discounted_savings", "cash_invested", "cash_released",
            "discounted_cash_invested", "discounted_cash_released"]
    h[vals] = h[vals].fillna(0.0)
    everyone = h.groupby(["year", "holder"], as_index=False)[vals].sum().assign(programme=ALL_PROGRAMMES)
    h = pd.concat([h, everyone], ignore_index=True)
    h = _with_total(h, ["programme", "holder"], vals)
    h["paid_by"] = h["programme"].map(holder_of).fillna("")
    tot = h.groupby(["programme", "period"])["savings"].transform("sum")
    h["share_of_savings"] = _ratio(h["savings"], tot, positive_den=False)
    h["net_saving"] = h["savings"] - h["invested"]
    cash_tot = h.groupby(["programme", "period"])["cash_released"].transform("sum")
    h["share_of_cash_released"] = _ratio(h["cash_released"], cash_tot, positive_den=False)
    h["net_cash_saving"] = h["cash_released"] - h["cash_invested"]
    holder_rank = {x: i for i, x in enumerate(dict.fromkeys(list(holder_of.unique())))}
    h = h.assign(_h=h["holder"].map(holder_rank))
    h = _order(h, programmes, years, ["_h"])[HOLDER_COLUMNS + CASH_HOLDER_COLUMNS]
    return {"programme_returns": ret, "programme_outcomes": prog_out, "programme_savings": savings,
            "savings_by_holder": h}


def roi_tables(alloc: pd.DataFrame, services: pd.DataFrame, budget: pd.DataFrame, need: pd.DataFrame,
               prevention: pd.DataFrame, targets: pd.DataFrame, flows: pd.DataFrame, nodes: pd.DataFrame,
               terms: pd.DataFrame, outcomes: pd.DataFrame, cash_release: pd.DataFrame | None = None,
               terminal: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """Every return-on-investment table of a plan (see the module's docstring); ``cash_release`` and
    ``terminal`` (the plan's tables, where it has them) give the cash and terminal-value columns."""
    programmes = list(dict.fromkeys(prevention["service"])) if len(prevention) else []
    cases = programme_cases(need, prevention, targets)
    sources = cases[["pathway", "node", "segment", "year"]].drop_duplicates().reset_index(drop=True)
    cons = case_consequences(flows, nodes, terms, outcomes, alloc, sources)
    out = return_tables(alloc, services, budget, cases, cons, outcomes, programmes, cash_release, terminal)
    return {**out, "programme_cases": cases, "case_consequences": cons}
