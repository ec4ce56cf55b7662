"""Readable terminal output of a result (rich tables)."""

from __future__ import annotations

import errno
import math

from rich.console import Console

from . import formatting
from .formatting import money, number  # one way everywhere (the sign rule is in formatting)
from rich.table import Table


class PlannerConsole(Console):
    """rich's Console for the CLI's standard output. Output cut short by its reader (``| head``)
    raises BrokenPipeError, which the CLI turns into exit status 141 (as a shell reports a command
    whose pipe closed); rich's own default exits with status 1, which budgetshift keeps for
    internal errors."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError(errno.EPIPE, "the reader of the output went away")




def print_result(result, check=None, console: Console | None = None) -> None:
    console = console or PlannerConsole(highlight=False, width=120)
    s = result.summary
    cur = s.get("currency", "GBP")
    colour = "green" if result.status.is_ok else ("yellow" if result.has_plan else "red")
    console.print(f"[bold]{s['instance']}[/bold]  ({s['source']})")
    if s.get("overrides"):
        console.print("overrides: " + ", ".join(f"{k}={v}" for k, v in s["overrides"].items()))
    console.print(f"status: [{colour}]{result.message}[/{colour}]")
    if not result.has_plan:
        return
    mip = s.get("mip")
    if mip:
        gap = mip.get("gap")
        console.print(f"mixed-integer: best bound {mip.get('best_bound', float('nan')):,.6g}, gap "
                      f"{'-' if gap is None else f'{gap:.4%}'}; {mip.get('duals', '')}")
        opened = result.allocation[result.allocation["opened"] > 0.5]
        if len(opened):
            console.print("opens: " + ", ".join(f"{r.service} in {r.year}" for r in opened.itertuples()))
    console.print(f"total cost {money(s['total_cost'], cur)} over {s['years'][0]}-{s['years'][-1]}; "
                  f"discounted ({s['discount_rate']:.1%}) {money(s['discounted_cost'], cur)}; "
                  f"objective ({s['objective_description']}) {s['objective']:,.6g}")
    if "terminal_value" in s:
        tv = result.tables.get("terminal_value")
        years = sorted(tv["year"].unique()) if tv is not None and len(tv) else []
        span = f" in {years[0]}-{years[-1]}" if years else ""
        console.print(f"terminal value (prevention benefits after the plan{span}, discounted, not spend) "
                      f"{money(s['terminal_value'], cur)}")

    shares = result.sector_shares
    years = sorted(shares["year"].unique())
    t = Table(title="Spend by sector (share of total)", title_justify="left")
    t.add_column("sector")
    for y in years:
        t.add_column(f"{y}{' (base)' if y == s['base_year'] else ''}", justify="right")
    for sector, grp in shares.groupby("sector", sort=False):
        g = grp.set_index("year")
        t.add_row(sector, *[f"{money(g.loc[y, 'spend'], cur)} ({g.loc[y, 'share']:.1%})" for y in years])
    b = result.budget.set_index("year")
    t.add_row("[bold]total / budget[/bold]", "", *[f"{money(b.loc[y, 'spend'], cur)} / {money(b.loc[y, 'budget'], cur)}"
                                                   for y in years[1:]])
    console.print(t)

    if len(result.shift):
        t = Table(title="Shift policies: required vs achieved", title_justify="left")
        for c in ("policy", "year", "measure", "required", "achieved", "met"):
            t.add_column(c, justify="right" if c in ("required", "achieved") else "left")
        for r in result.shift.itertuples(index=False):
            fmt = (lambda v: "-" if isinstance(v, float) and math.isnan(v) else f"{v:.2%}") if r.kind == "share" \
                else (lambda v: money(v, cur))
            t.add_row(r.policy, str(r.year), r.measure, fmt(r.required), fmt(r.achieved), "yes" if r.met else "[red]NO[/red]")
        console.print(t)

    if len(result.outcomes):
        _print_outcomes(result.outcomes, console)

    _print_holdings(result, console, cur)
    _print_cash(result, console, cur)
    _print_returns(result, console, cur)

    alloc = result.allocation
    t = Table(title="Allocation: spend by service and year", title_justify="left")
    t.add_column("service")
    t.add_column("sector")
    ys = sorted(alloc["year"].unique())
    for y in ys:
        t.add_column(str(y), justify="right")
    for (svc, sec), grp in alloc.groupby(["service", "sector"], sort=False):
        g = grp.set_index("year")
        t.add_row(svc, sec, *[money(g.loc[y, "spend"], cur) for y in ys])
    console.print(t)

    cons = result.constraints
    if len(cons) and "binding" in cons:
        from formulations.families import planner_rules  # the rules a planner set (the registry says which)

        bind = cons[cons["binding"] & cons["constraint"].isin(planner_rules())]
        if len(bind):
            console.print("binding: " + "; ".join(f"{k} [{', '.join(v)}]" for k, v in
                                                  bind.groupby("constraint")["keys"].apply(list).items()))
    st = result.stats
    console.print(f"[dim]model {st['variables']:,} variables x {st['constraints']:,} constraints "
                  f"({st['nonzeros']:,} nonzeros); HiGHS {st.get('highs_seconds', float('nan')):.3f}s, "
                  f"build {st.get('build_seconds', float('nan')):.3f}s[/dim]")
    if check is not None:
        console.print(f"[dim]{check}[/dim]" if check.ok else f"[red]{check}[/red]")


def _print_outcomes(outcomes, console: Console) -> None:
    """Outcomes against their targets, each named in planner words; an outcome kept as a negative
    change (QALYs) is shown as the loss, positive, with a line saying so (see
    :class:`optimiser.output.formatting.OutcomeView`)."""
    views = formatting.outcome_views(outcomes)
    t = Table(title="Outcomes against targets", title_justify="left")
    for c in ("outcome", "year", "value", "at least", "at most", "met"):
        t.add_column(c, justify="right" if c not in ("outcome", "met") else "left")
    for r in outcomes.itertuples(index=False):
        view = views[str(r.outcome)]
        at_least, at_most = view.targets(r.at_least, r.at_most)
        t.add_row(view.label, str(r.year), number(view.value(r.value)), number(at_least), number(at_most),
                  "yes" if r.met else "[red]NO[/red]")
    console.print(t)
    for view in views.values():
        if view.note:
            console.print(f"[dim]{view.note}[/dim]")


def _print_holdings(result, console: Console, cur: str) -> None:
    """Budget holders, ring fences and capitation, equity across places and evidence presets:
    shown only when the instance has them."""
    tables = result.tables
    h = tables.get("holders")
    if h is not None and len(h):
        arrangement = h["arrangement"].iloc[0]

        def holder_cell(r) -> str:
            text = f"{money(r['spend'], cur)} / {money(r['budget'], cur)}"
            if abs(r["net_transfer"]) > 0.5 and arrangement != "siloed":
                text += f" ({'+' if r['net_transfer'] > 0 else ''}{money(r['net_transfer'], cur)})"
            return text

        console.print(year_table(f"Budget holders ({arrangement}): spend / budget, and net transfer (+ paid by "
                                 "others)", h, "holder", holder_cell))
    lim = tables.get("spend_limits")
    if lim is not None and len(lim):
        t = Table(title="Ring fences and capitation: attributable spend against the limit", title_justify="left")
        for c in ("limit", "year", "spend", "at least", "at most", "met"):
            t.add_column(c, justify="right" if c in ("spend", "at least", "at most") else "left")
        for r in lim.itertuples(index=False):
            t.add_row(r.scope, str(r.year), money(r.spend, cur),
                      "-" if math.isnan(r.at_least) else money(r.at_least, cur),
                      "-" if math.isnan(r.at_most) else money(r.at_most, cur), "yes" if r.met else "[red]NO[/red]")
        console.print(t)
    places = tables.get("attributable_spend")
    if places is not None and len(places) and (places["scope"].str.startswith("place: ")).any():
        p = places[places["scope"].str.startswith("place: ")]
        p = p.assign(place=p["scope"].str.removeprefix("place: "))
        console.print(year_table("Places: attributable spend per head", p, "place",
                                 lambda r: money(r["spend_per_head"], cur)))
    eq = tables.get("equity_summary")
    if eq is not None and len(eq):
        t = Table(title="Equity across places", title_justify="left")
        for c in ("rule", "year", "highest", "lowest", "ratio", "gap", "limit", "met"):
            t.add_column(c, justify="left" if c in ("rule", "limit", "met") else "right")
        for r in eq.itertuples(index=False):
            limit = " and ".join(x for x in (
                "" if math.isnan(r.max_ratio) else f"ratio <= {r.max_ratio:g}",
                "" if math.isnan(r.max_gap) else f"gap <= {number(r.max_gap)}") if x)
            t.add_row(r.name, str(r.year), number(r.highest), number(r.lowest), f"{r.ratio:.3f}", number(r.gap),
                      limit, "yes" if r.met else "[red]NO[/red]")
        console.print(t)
    ev = tables.get("evidence")
    if ev is not None and len(ev):
        def used(r) -> str:
            if getattr(r, "curve", "preset") == "response":
                return f"the file's own curve; published {r.published_reduction:.1%}"
            return f"{r.reduction_used:.1%}" + (f", published {r.published_reduction:.1%}" if r.overridden else "")

        console.print("evidence: " + "; ".join(f"{r.effect} <- {r.preset}/{r.measure} ({used(r)}): {r.citation}"
                                               for r in ev.itertuples(index=False)))


def _print_cash(result, console: Console, cur: str) -> None:
    """Activity avoided against cash released, set-up costs and the fund, and the cash flow per
    holder: shown only when the instance has contracts, cost behaviour or transition costs."""
    tables = result.tables
    cr = tables.get("cash_release")
    if cr is None or not len(cr):
        return
    console.print(year_table(
        "Activity avoided (notional value at unit cost) -> cash released to the commissioner / in the system",
        cr, "service", lambda r: f"{number(r['activity_avoided'])} ({money(r['notional_value'], cur)}) -> "
        f"{money(r['commissioner_cash_released'], cur)} / {money(r['system_cash_released'], cur)}"
        + (f"; steps {r['steps_in_use']:.0f} in use, {r['steps_paid']:.0f} paid"
           if not math.isnan(r["steps_in_use"]) else "")))
    s = result.summary
    if s.get("transition_cost") is not None:
        console.print(f"transition (set-up) costs {money(s['transition_cost'], cur)}, of which the transformation "
                      f"fund paid {money(s.get('transformation_fund_paid', 0.0), cur)}")
    flow = tables.get("cash_flow")
    if flow is not None and len(flow):
        grew = "demand_growth" in flow and bool((flow["demand_growth"].abs() > 0.5).any())
        console.print(year_table(
            "Cash flow per holder: invested / cash released, cumulative net (+ = saved)"
            + ("; demand growth (not investment)" if grew else ""), flow, "holder",
            lambda r: f"{money(r['invested'], cur)} / {money(r['saved'], cur)}, {money(r['cumulative_net'], cur)}"
            + (f"; {money(r['demand_growth'], cur)}" if grew else "")))
        pay = flow.drop_duplicates("holder")
        console.print("payback (programme and transition investment against cash released): "
                      + "; ".join(f"{r.holder} {r.payback}" for r in pay.itertuples(index=False)))


def _print_returns(result, console: Console, cur: str) -> None:
    """Prevention programmes: what each costs above its base-year level, what it avoids downstream,
    its cost per outcome and who saves (totals over the plan, discounted). Shown only when the
    instance has prevention effects; negative figures are said in words (a programme cut below its
    base-year level adds cases)."""
    ret = result.tables.get("programme_returns")
    if ret is None or not len(ret):
        return
    s = result.summary
    tot = ret[ret["period"].astype(str) == "total"]
    holders = result.tables.get("savings_by_holder")
    span = f"{s['years'][0]}-{s['years'][-1]}" if len(s["years"]) > 1 else str(s["years"][0])
    rate = f"discounted at {s['discount_rate']:.1%}"

    def spent(v: float) -> str:
        return money(v, cur) if v >= -0.5 else f"{money(-v, cur)} less (cut)"

    def cases(v: float) -> str:
        return number(v) if v >= -1e-6 else f"{number(-v)} more (cut)"

    def per_pound(v: float) -> str:
        return "-" if math.isnan(v) else f"£{v:,.2f}"

    valued = "discounted_terminal_value" in tot and tot["discounted_terminal_value"].notna().any()
    t = Table(title=f"Prevention programmes: investment and return, total {span} ({rate})", title_justify="left")
    heads = ["programme", "paid by", "spend above base year", "cases avoided (as they happen)",
             "activity avoided at unit cost", "net cost", "return per £1"]
    if "cash_released" in tot:
        heads += ["cash released", "cash return per £1"]
    if valued:
        heads += ["terminal value (after the plan)", "return per £1 with terminal value"]
    for c in heads:
        t.add_column(c, justify="left" if c in ("programme", "paid by") else "right",
                     no_wrap=c in ("programme", "paid by"))
    for r in tot.itertuples(index=False):
        net = r.discounted_net_cost
        row = [r.programme, str(r.paid_by), spent(r.discounted_extra_spend), cases(r.cases_avoided),
               money(r.discounted_spend_avoided, cur),
               money(net, cur) if net >= 0 else f"saves {money(-net, cur)}", per_pound(r.discounted_return_per_pound)]
        if "cash_released" in tot:
            row += [money(r.discounted_cash_released, cur), per_pound(r.discounted_cash_return_per_pound)]
        if valued:
            row += [money(r.discounted_terminal_value, cur), per_pound(r.discounted_return_with_terminal_value)]
        t.add_row(*row)
    console.print(t)

    if holders is not None and len(holders):
        h = holders[holders["period"].astype(str) == "total"]
        names = list(dict.fromkeys(h["holder"]))
        in_cash = "discounted_cash_released" in h
        t = Table(title=f"Who saves: activity avoided at unit cost by holder (share)"
                        f"{'; cash released' if in_cash else ''}, and who pays, total {span} ({rate})",
                  title_justify="left")
        t.add_column("programme")
        t.add_column("paid by")
        for n in names:
            t.add_column(str(n), justify="right")
        for programme, g in h.groupby("programme", sort=False):
            by = {r.holder: r for r in g.itertuples(index=False)}
            whole = float(g["discounted_savings"].sum())

            def share(r) -> str:
                if r is None or abs(r.discounted_savings) <= 0.5:
                    return "-"
                pct = f" ({r.discounted_savings / whole:.0%})" if abs(whole) > 0.5 else ""
                cash = f"; cash {money(r.discounted_cash_released, cur)}" if in_cash else ""
                return money(r.discounted_savings, cur) + pct + cash

            payer = g["paid_by"].iloc[0]
            payer = "each its own" if programme == "all programmes" or not isinstance(payer, str) or not payer \
                else payer
            t.add_row(str(programme), payer, *[share(by.get(n)) for n in names])
        console.print(t)

    po = result.tables.get("programme_outcomes")
    if po is not None and len(po):
        po = po[po["period"].astype(str) == "total"]
        measures = list(dict.fromkeys(po["measure"]))
        # headers in the outcomes' own units ("QALYs gained") where those tell the outcomes apart
        first = po.drop_duplicates("measure").set_index("measure")
        units = [first.at[m, "unit"] for m in measures]
        plain = all(isinstance(u, str) and u for u in units) and len(set(units)) == len(units)
        heading = {m: (f"{first.at[m, 'unit']} {'gained' if first.at[m, 'direction'] == 'higher_is_better' else 'avoided'}"
                       if plain else m.replace("_", " ")) for m in measures}
        t = Table(title=f"Prevention programmes: outcomes as they happen, total {span}, and cost per outcome "
                        f"(costs and outcomes both {rate}; net = after downstream spend avoided)",
                  title_justify="left")
        t.add_column("programme")
        for m in measures:
            t.add_column(heading[m], justify="right")

        def cell(r) -> str:
            v = r.improvement
            if abs(v) <= 1e-6:
                return "-"
            if v < 0:
                return f"{number(-v)} {'lost' if r.direction == 'higher_is_better' else 'added'} (cut)"
            text = number(v)
            if not math.isnan(r.discounted_cost_per_unit):
                text += f" at {money(r.discounted_cost_per_unit, cur)}"
            net = r.discounted_net_cost_per_unit
            if not math.isnan(net):
                text += f" (net {money(net, cur)})" if net >= 0 else " (net: saves money)"
            return text

        for programme, g in po.groupby("programme", sort=False):
            by = {r.measure: r for r in g.itertuples(index=False)}
            t.add_row(programme, *[cell(by[m]) if m in by else "" for m in measures])
        console.print(t)
    console.print("[dim]Average attribution: each avoided case is given the plan's own average path from its "
                  "source (programme_returns.csv, case_consequences.csv); the marginal value is a shadow price "
                  "(budgetshift explain). Activity avoided at unit cost is not cash released: cash released is "
                  "what the downstream services' payments actually fall by (a block or capitation payment falls "
                  "only when a step closes), shared by the programmes in proportion to the activity they avoid "
                  "there; cash return = cash released / payment above the baseline payment. "
                  f"Benefits of spend in a programme's last lag years fall after {s['years'][-1]}: "
                  + ("counted only in the terminal value." if "terminal_value" in s else "not counted.")
                  + "[/dim]")


def year_table(title: str, frame, key: str, cell) -> Table:
    """A table with a row per ``key`` and a column per year; ``cell(row)`` formats one row of
    ``frame`` (blank where a key has no row for a year)."""
    t = Table(title=title, title_justify="left")
    t.add_column(key)
    years = sorted(frame["year"].unique())
    for y in years:
        t.add_column(str(y), justify="right")
    for name, g in frame.groupby(key, sort=False):
        by_year = {r["year"]: r for r in g.to_dict("records")}
        t.add_row(str(name), *[cell(by_year[y]) if y in by_year else "" for y in years])
    return t
