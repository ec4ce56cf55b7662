"""Readable terminal output of a result (rich tables)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table


def money(v: float, currency: str = "GBP") -> str:
    sym = {"GBP": "£", "USD": "$", "EUR": "€"}.get(currency, "")
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    a = abs(v)
    for div, suffix in ((1e9, "bn"), (1e6, "m"), (1e3, "k")):
        if a >= div:
            return f"{'-' if v < 0 else ''}{sym}{a / div:,.2f}{suffix}"
    return f"{'-' if v < 0 else ''}{sym}{a:,.0f}"


def number(v: float) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.3g}"


def print_result(result, check=None, console: Console | None = None) -> None:
    console = console or Console(highlight=False, width=120)
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
        t = Table(title="Outcomes against targets", title_justify="left")
        for c in ("outcome", "year", "value", "at least", "at most", "met"):
            t.add_column(c, justify="right" if c not in ("outcome", "met") else "left")
        for r in result.outcomes.itertuples(index=False):
            t.add_row(r.outcome, str(r.year), number(r.value), number(r.at_least), number(r.at_most),
                      "yes" if r.met else "[red]NO[/red]")
        console.print(t)

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
        bind = cons[cons["binding"] & cons["constraint"].isin(
            ["pooled_budget", "shift_share", "shift_transfer", "outcome_target", "growth_limit", "shrink_limit",
             "incidence_floor"])]
        if len(bind):
            console.print("binding: " + "; ".join(f"{k} [{', '.join(v)}]" for k, v in
                                                  bind.groupby("constraint")["keys"].apply(list).items()))
    st = result.stats
    console.print(f"[dim]model {st['variables']:,} variables x {st['constraints']:,} constraints "
                  f"({st['nonzeros']:,} nonzeros); HiGHS {st.get('highs_seconds', float('nan')):.3f}s, "
                  f"build {st.get('build_seconds', float('nan')):.3f}s[/dim]")
    if check is not None:
        console.print(f"[dim]{check}[/dim]" if check.ok else f"[red]{check}[/red]")
