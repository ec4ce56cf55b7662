"""A self-contained HTML report with plots (plotly) of one plan or several side by side.

    optimiser.write_report(result, "report.html")                  # one solve
    optimiser.write_report(optimiser.compare([...]), "report.html")  # a comparison
    optimiser.write_report(["out/kent", "out/variant"], "report.html")   # written result folders

The file needs no network access to open: plotly's JavaScript is inlined once in the page head,
and nothing else is fetched. For each run with a plan it shows spend by sector over the years
(stacked, with the budget), each sector's share of spend against the shift trajectory, outcomes
against their targets, and the patient flows of every care pathway as a flow (Sankey) diagram with
patient numbers; for two or more runs it opens with grouped bars per run (costs, spend by sector,
the shift achieved, outcomes) and the side-by-side tables, including the input differences.
"""

from __future__ import annotations

import html
import re
from typing import Any, Mapping

import numpy as np
import pandas as pd

from . import htmlparts, report_cash
from .formatting import (KIND_COLOURS, TARGET_COLOURS, differences, money, money_scale, outcome_views, present_outcomes, rgba, run_colour,
                         sector_colour, words)


# ----------------------------------------------------------------------------- inputs

def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", str(text)).strip("-").lower() or "run"


# ----------------------------------------------------------------------------- figures

def _year_label(year: int, base_year: int | None) -> str:
    return f"{year} (base)" if base_year is not None and int(year) == int(base_year) else str(int(year))


def fig_spend(tables: Mapping[str, pd.DataFrame], summary: Mapping[str, Any]):
    """Spend by sector over the years, stacked, with the pooled budget."""
    import plotly.graph_objects as go

    shares = tables["sector_shares"]
    base = summary.get("base_year")
    sectors = list(dict.fromkeys(shares["sector"]))
    years = sorted(shares["year"].unique())
    labels = [_year_label(y, base) for y in years]
    budget = tables.get("budget")
    totals = shares.groupby("year")["spend"].sum()
    div, unit = money_scale(list(totals) + (list(budget["budget"]) if budget is not None else []),
                             summary.get("currency", "GBP"))
    fig = go.Figure()
    for s in sectors:
        g = shares[shares["sector"] == s].set_index("year").reindex(years)
        fig.add_bar(name=words(s), x=labels, y=g["spend"].to_numpy() / div, marker_color=sector_colour(s),
                    hovertemplate=f"{words(s)}<br>%{{x}}: %{{y:,.4g}} {unit}<extra></extra>")
    if budget is not None and len(budget):
        fig.add_scatter(name="pooled budget", x=[_year_label(y, base) for y in budget["year"]],
                        y=budget["budget"].to_numpy() / div, mode="lines+markers", line=dict(color="#222", dash="dash"))
    fig.update_layout(barmode="stack", title="Spend by sector", height=440,
                      yaxis=dict(title=f"spend ({unit})", tickformat=",.3~f"), xaxis=dict(title="year"))
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=labels)
    return fig


def fig_shares(tables: Mapping[str, pd.DataFrame], summary: Mapping[str, Any]):
    """Each sector's share of spend, and each share policy's group share against its trajectory."""
    import plotly.graph_objects as go

    shares = tables["sector_shares"]
    base = summary.get("base_year")
    sectors = list(dict.fromkeys(shares["sector"]))
    years = sorted(shares["year"].unique())
    labels = [_year_label(y, base) for y in years]
    fig = go.Figure()
    for s in sectors:
        g = shares[shares["sector"] == s].set_index("year").reindex(years)
        fig.add_scatter(name=f"{words(s)} share", x=labels, y=g["share"].to_numpy(), mode="lines+markers",
                        line=dict(color=sector_colour(s), width=1.5))
    shift = tables.get("shift")
    policies = tables.get("shift_policies")
    if shift is not None and len(shift):
        for k, (policy, g) in enumerate(shift[shift["kind"] == "share"].groupby("policy", sort=False)):
            g = g.sort_values("year")
            x = [_year_label(base, base)] + [_year_label(y, base) for y in g["year"]] if base is not None else \
                [_year_label(y, base) for y in g["year"]]
            lead = [float(g["base"].iloc[0])] if base is not None else []
            group = policy
            if policies is not None and len(policies):
                row = policies[policies["policy"] == policy]
                if len(row) and isinstance(row["sectors"].iloc[0], str):
                    group = f"{words(policy)} ({', '.join(words(x.strip()) for x in row['sectors'].iloc[0].split(','))})"
            colour = run_colour(k + 1)
            fig.add_scatter(name=f"{group}: required", x=x, y=lead + list(g["required"]), mode="lines",
                            line=dict(color=colour, dash="dash", width=2))
            fig.add_scatter(name=f"{group}: achieved", x=x, y=lead + list(g["achieved"]), mode="markers",
                            marker=dict(color=colour, size=10, symbol="diamond-open", line=dict(width=2)))
    fig.update_layout(title="Sector shares of spend against the shift trajectory", height=460,
                      yaxis=dict(title="share of spend", tickformat=".1%", rangemode="tozero"), xaxis=dict(title="year"))
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=labels)
    return fig


def fig_outcomes(tables: Mapping[str, pd.DataFrame], summary: Mapping[str, Any]):
    """Each outcome per year against its targets (one panel per outcome, each with its own axis
    titles), named in planner words; an outcome kept as a negative change is shown as the loss
    (:class:`~optimiser.output.formatting.OutcomeView`)."""
    from plotly.subplots import make_subplots

    out = tables["outcomes"]
    views = outcome_views(out)
    names = list(dict.fromkeys(out["outcome"]))
    n = len(names)
    panel = 210  # pixels a panel
    height = 110 + panel * n + 60 * (n - 1)
    fig = make_subplots(rows=n, cols=1, shared_xaxes=False, vertical_spacing=min(0.3, 70 / height),
                        subplot_titles=[f"{views[str(o)].label} ({views[str(o)].better})" for o in names])
    shown = set()
    for i, o in enumerate(names, start=1):
        view = views[str(o)]
        g = out[out["outcome"] == o].sort_values("year")
        x = [str(y) for y in g["year"]]
        fig.add_scatter(name=view.label, x=x, y=[view.value(v) for v in g["value"]], mode="lines+markers",
                        line=dict(color=run_colour(0)), showlegend=False, row=i, col=1,
                        hovertemplate=f"{view.label} %{{x}}: %{{y:,.4g}}<extra></extra>")
        pairs = [view.targets(lo, hi) for lo, hi in zip(g["at_least"] if "at_least" in g else [np.nan] * len(g),
                                                         g["at_most"] if "at_most" in g else [np.nan] * len(g))]
        for side, k, label in (("at_most", 1, "target (at most)"), ("at_least", 0, "target (at least)")):
            values = pd.Series([p[k] for p in pairs], dtype=float)
            if values.notna().any():
                fig.add_scatter(name=label, x=x, y=values, mode="lines+markers", row=i, col=1,
                                line=dict(color=TARGET_COLOURS[side], dash="dot"),
                                marker=dict(symbol="line-ew-open", size=12),
                                legendgroup=label, showlegend=label not in shown)
                shown.add(label)
        unit = view.unit if not view.as_loss else view.label
        fig.update_yaxes(title_text=unit or "value", tickformat=",.4~r", row=i, col=1)
    fig.update_xaxes(title_text="year", row=n, col=1)
    fig.update_xaxes(type="category")
    fig.update_layout(title="Outcomes against targets", height=height, margin=dict(t=110))
    return fig


def readmission_loops(order: list[str], edges: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """The edges of a pathway that go back (readmission loops): an edge to a node already on the
    path that reaches it, found by depth-first search from the nodes in ``order`` (sources first).
    Without them the pathway is a chain of steps a flow diagram draws left to right."""
    after: dict[str, list[str]] = {n: [] for n in order}
    for a, b in edges:
        after.setdefault(a, []).append(b)
        after.setdefault(b, [])
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}  # 1 on the path, 2 done
    for root in after:
        if root in state:
            continue
        stack = [(root, iter(after[root]))]
        state[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                back.add((node, nxt))
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(after[nxt])))
    return back


def fig_flows(tables: Mapping[str, pd.DataFrame], summary: Mapping[str, Any], pathway: str, year: int):
    """The care pathway as a flow diagram: patients per edge (all segments) in ``year``. Nodes are
    named in planner words with their patients, steps left to right, outcomes (sinks) on the
    right; a readmission loop is drawn as a band to a node "readmitted to
    ...", not as a band curling back; labels of nodes under 1% of the largest stay in the hover."""
    import plotly.graph_objects as go

    nodes = tables["nodes"]
    flows = tables["flows"]
    n = nodes[(nodes["pathway"] == pathway) & (nodes["year"] == year)]
    n = n.groupby(["node", "kind", "service"], dropna=False, sort=False)["patients"].sum().reset_index()
    f = flows[(flows["pathway"] == pathway) & (flows["year"] == year)]
    f = f.groupby(["from", "to"], sort=False)["flow"].sum().reset_index()
    f = f[f["flow"] > 1e-6]
    order = list(dict.fromkeys(n["node"]))
    back = readmission_loops(order, list(zip(f["from"], f["to"])))
    sectors_of = {}
    alloc = tables.get("services")
    if alloc is not None and len(alloc):
        sectors_of = dict(zip(alloc["service"], alloc["sector"]))
    info = {}
    for row in n.itertuples(index=False):
        colour = sector_colour(sectors_of[row.service]) if row.kind == "care" and row.service in sectors_of \
            else KIND_COLOURS.get(row.kind, "#999")
        info[row.node] = (words(row.node), float(row.patients), colour)
    names = list(order)
    loops = {}
    for a, b in sorted(back):  # one "readmitted to" node per node readmitted to
        copy = f"{b} (readmitted)"
        loops[(a, b)] = copy
        inflow = float(f[(f["from"] == a) & (f["to"] == b)]["flow"].sum())
        if copy in info:
            info[copy] = (info[copy][0], info[copy][1] + inflow, info[copy][2])
            continue
        names.append(copy)
        label, _, colour = info[b]
        info[copy] = (f"readmitted to {label[:1].lower() + label[1:]}", inflow, colour)
    index = {name: i for i, name in enumerate(names)}
    biggest = max([p for _, p, _ in info.values()] + [1.0])
    labels = [f"{info[x][0]}:<br>{info[x][1]:,.0f}" if info[x][1] >= 0.01 * biggest else "" for x in names]
    hover = [f"{info[x][0]}: {info[x][1]:,.0f}" for x in names]
    src = [index[a] for a in f["from"]]
    dst = [index[loops.get((a, b), b)] for a, b in zip(f["from"], f["to"])]
    fig = go.Figure(go.Sankey(
        arrangement="snap",
        node=dict(label=labels, customdata=hover, color=[info[x][2] for x in names], pad=18, thickness=14,
                  line=dict(color="#555", width=0.5),
                  hovertemplate="%{customdata} patients<extra></extra>"),
        link=dict(source=src, target=dst, value=f["flow"].to_numpy(),
                  customdata=[f"{info[a][0]} → {info[b][0]}" for a, b in zip(f["from"], f["to"])],
                  hovertemplate="%{customdata}: %{value:,.0f} patients<extra></extra>",
                  color=[rgba(info[a][2], 0.35) for a in f["from"]]),
        textfont=dict(size=11),
    ))
    fig.update_layout(title=f"Pathway {words(pathway)}: patients in {year} (all segments)",
                      height=max(480, 40 * len(names)), margin=dict(l=20, r=170, t=70, b=30))
    return fig


def _difference_bars(fig, x, values, first, name, colour, unit_div, unit, **where) -> None:
    """Bars of ``values - first`` (scaled by ``unit_div``), hovering with both figures and the
    difference in per cent."""
    d, pct = differences(values, first)
    hover = [f"{name}<br>%{{x}}: {dv / unit_div:+,.4g} {unit}" + (f" ({p:+.1f}%)" if np.isfinite(p) else "")
             + "<extra></extra>" for dv, p in zip(d, pct)]
    fig.add_bar(name=name, x=x, y=d / unit_div, marker_color=colour, hovertemplate=hover,
                text=[_pct_text(p) for p in pct], textposition="outside",
                cliponaxis=False, **where)


def _pct_text(p: float) -> str:
    """A difference in per cent on a bar: ``+0.2%``, ``-7.6%``, ``0.0%`` (never ``-0.0%``)."""
    if not np.isfinite(p):
        return ""
    text = f"{p:+.1f}%"
    return "0.0%" if text in ("+0.0%", "-0.0%") else text


def _comparison_figures(cmp) -> list[tuple[str, str, Any]]:
    """(id, caption, figure) of the charts of a comparison: each run after the first as its
    *difference* from the first run (a bar from zero), so a 3% difference is as tall as the plot
    allows; the shift as lines of each run's own shares."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    figs = []
    labels = cmp.labels
    first, rest = labels[0], labels[1:]
    colour = {lab: run_colour(i) for i, lab in enumerate(labels)}
    runs = cmp.runs
    cur = cmp.currency
    zero = dict(type="line", xref="paper", x0=0, x1=1, y0=0, y1=0, line=dict(color="#444", width=1))

    fig = go.Figure()
    costs = ["total_cost", "discounted_cost"]
    base = [runs.loc[first, c] for c in costs]
    spread = [runs.loc[lab, c] - runs.loc[first, c] for lab in rest for c in costs]
    div, unit = money_scale(spread, cur)
    for lab in rest:
        _difference_bars(fig, ["total cost", "discounted cost"], [runs.loc[lab, c] for c in costs], base,
                         lab, colour[lab], div, unit)
    fig.update_layout(barmode="group", title=f"Cost: difference from {first}", height=420, shapes=[zero],
                      yaxis=dict(title=f"difference from {first} ({unit})", tickformat="+,.3~f"),
                      xaxis=dict(title="cost over the plan"))
    firsts = "; ".join(f"{c.replace('_', ' ')} {money(runs.loc[first, c], cur)}" for c in costs)
    figs.append(("cmp-costs", f"Each run's total and discounted cost minus {first}'s ({firsts}); the label on a "
                 "bar is the difference in per cent. A run without a plan has no bar.", fig))

    spend = cmp.table("sector_shares").reset_index()
    if len(spend):
        year = int(spend["year"].max())
        final = spend[spend["year"] == year]
        sectors = list(dict.fromkeys(final["sector"]))
        by = final.set_index(["instance", "sector"])["spend"]
        ref = [by.get((first, sec), np.nan) for sec in sectors]
        spread = [by.get((lab, sec), np.nan) - r for lab in rest for sec, r in zip(sectors, ref)]
        div, unit = money_scale(spread, cur)
        fig = go.Figure()
        for lab in rest:
            _difference_bars(fig, [words(sec) for sec in sectors], [by.get((lab, sec), np.nan) for sec in sectors],
                             ref, lab, colour[lab], div, unit)
        fig.update_layout(barmode="group", title=f"Spend by sector in {year}: difference from {first}", height=440,
                          shapes=[zero], yaxis=dict(title=f"difference from {first} ({unit})", tickformat="+,.3~f"),
                          xaxis=dict(title="sector"))
        figs.append(("cmp-sector-spend", f"Spend per sector in the final year ({year}), each run minus {first}; "
                     "the label on a bar is the difference in per cent of the sector's spend in "
                     f"{first}.", fig))

    shift = cmp.table("shift").reset_index()
    if len(shift):
        fig = go.Figure()
        for lab in labels:
            g = shift[shift["instance"] == lab]
            policy = g["policy"].iloc[0] if len(g) else None
            g = g[g["policy"] == policy]
            fig.add_scatter(name=f"{lab}: achieved", x=[str(y) for y in g["year"]], y=g["achieved"].to_numpy(),
                            mode="lines+markers", line=dict(color=colour[lab], width=2), marker=dict(size=9))
            fig.add_scatter(name=f"{lab}: required", x=[str(y) for y in g["year"]], y=g["required"].to_numpy(),
                            mode="lines", line=dict(color=colour[lab], dash="dash"))
        kinds = set(shift["kind"])
        fig.update_xaxes(type="category", title="year")
        fig.update_layout(title="Shift achieved against required (first policy of each run)", height=440,
                          yaxis=dict(title="share of spend" if kinds == {"share"} else f"amount moved ({cur})",
                                     tickformat=".2%" if kinds == {"share"} else ",.3~f"))
        figs.append(("cmp-shift", "The shift achieved each year (solid, markers) against the required trajectory "
                     "(dashed), per run; the axis spans the shares, not from zero.", fig))

    out = cmp.outcomes
    if len(out):
        shown = present_outcomes(out, cmp.outcome_views()).reset_index()
        shown = shown[shown["quantity"] == "value"]
        names = list(dict.fromkeys(shown["outcome"]))
        n = len(names)
        height = 110 + 210 * n + 60 * (n - 1)
        fig = make_subplots(rows=n, cols=1, vertical_spacing=min(0.3, 70 / height),
                            subplot_titles=[f"{o}: difference from {first}" for o in names])
        for i, o in enumerate(names, start=1):
            for lab in rest:
                g = shown[(shown["instance"] == lab) & (shown["outcome"] == o)].sort_values("year")
                g0 = shown[(shown["instance"] == first) & (shown["outcome"] == o)].set_index("year")["value"]
                _difference_bars(fig, [str(y) for y in g["year"]], g["value"].to_numpy(),
                                 g0.reindex(g["year"]).to_numpy(), lab, colour[lab], 1.0, "",
                                 legendgroup=lab, showlegend=(i == 1), row=i, col=1)
            unit = shown.loc[shown["outcome"] == o, "unit"].dropna()
            unit = unit.iloc[0] if len(unit) and unit.iloc[0] else o
            fig.update_yaxes(title_text=f"Δ {unit}", tickformat="+,.4~r", zeroline=True, zerolinecolor="#444",
                             row=i, col=1)
        fig.update_xaxes(title_text="year", row=n, col=1)
        fig.update_xaxes(type="category")
        fig.update_layout(barmode="group", title=f"Outcomes per year: difference from {first}", height=height,
                          margin=dict(t=110))
        figs.append(("cmp-outcomes", f"Each outcome per year, each run minus {first} (the first run), in planner "
                     "terms (a loss shown positive: fewer lost is a bar below zero).", fig))
    return figs


def run_figures(label: str, tables: Mapping[str, pd.DataFrame], summary: Mapping[str, Any]) -> list[tuple[str, str, Any]]:
    """(id, caption, figure) of every plot of one run (none when it has no plan)."""
    if "sector_shares" not in tables or not len(tables["sector_shares"]):
        return []
    slug = _slug(label)
    figs = [(f"{slug}-spend", "Spend per sector each year, stacked (the base year is the baseline); the dashed "
             "line is the pooled budget.", fig_spend(tables, summary)),
            (f"{slug}-shares", "Each sector's share of spend; for each share policy the required trajectory "
             "(dashed) and the share achieved (diamonds).", fig_shares(tables, summary))]
    if "outcomes" in tables and len(tables["outcomes"]):
        figs.append((f"{slug}-outcomes", "Outcomes per year with their targets (dotted).", fig_outcomes(tables, summary)))
    if "flows" in tables and len(tables["flows"]):
        year = int(tables["flows"]["year"].max())
        for pathway in dict.fromkeys(tables["flows"]["pathway"]):
            figs.append((f"{slug}-flows-{_slug(pathway)}",
                         f"Patients through pathway {pathway} in {year}, summed over segments; each node shows "
                         "its patients, each band the patients on that edge. Colours: the sector of the "
                         "service delivering a care node; grey sources, olive outcomes.",
                         fig_flows(tables, summary, pathway, year)))
    return figs


def fig_returns(tables: Mapping[str, pd.DataFrame], summary: Mapping[str, Any]):
    """Each prevention programme's spend above the base year (left bar) against the downstream
    spend it avoids, stacked by the holder it falls on (right bar), discounted, over the plan."""
    import plotly.graph_objects as go

    cur = summary.get("currency", "GBP")
    ret = tables["programme_returns"]
    tot = ret[ret["period"].astype(str) == "total"]
    sh = tables.get("savings_by_holder")
    sh = sh[(sh["period"].astype(str) == "total") & (sh["programme"].isin(tot["programme"]))] \
        if sh is not None and len(sh) else pd.DataFrame(columns=["programme", "holder", "discounted_savings"])
    div, unit = money_scale(list(tot["discounted_extra_spend"]) + list(tot["discounted_spend_avoided"]), cur)
    progs = list(tot["programme"])
    fig = go.Figure()
    fig.add_bar(name="spend above base year", x=progs, y=tot["discounted_extra_spend"].to_numpy() / div,
                offsetgroup="invest", marker_color="#444444",
                hovertemplate=f"%{{x}}<br>spend above base year: %{{y:,.4g}} {unit}<extra></extra>")
    base = np.zeros(len(progs))
    holders = list(dict.fromkeys(sh["holder"])) or ["all"]
    for i, h in enumerate(holders):
        g = sh[sh["holder"] == h].set_index("programme")["discounted_savings"] if len(sh) else \
            tot.set_index("programme")["discounted_spend_avoided"]
        y = g.reindex(progs).fillna(0.0).to_numpy() / div
        if not np.any(np.abs(y) > 0):
            continue
        fig.add_bar(name=f"spend avoided: {h}", x=progs, y=y, base=base.copy(), offsetgroup="saved",
                    marker_color=sector_colour(h),
                    hovertemplate=f"%{{x}}<br>spend avoided, {h}: %{{y:,.4g}} {unit}<extra></extra>")
        base = base + y
    rate = float(summary.get("discount_rate", 0.0))
    fig.update_layout(barmode="group", height=440, yaxis=dict(title=f"{unit} (discounted at {rate:.1%})"),
                      title="Prevention programmes: investment against downstream spend avoided, by who saves")
    return fig


def returns_html(label: str, tables: Mapping[str, pd.DataFrame], summary: Mapping[str, Any]) -> str:
    """The return-on-investment part of a run's section: a table per programme (totals over the
    plan), cost per outcome, who saves, and the plot of :func:`fig_returns`; empty without
    prevention programmes."""
    ret = tables.get("programme_returns")
    if ret is None or not len(ret) or "period" not in ret:
        return ""
    cur = summary.get("currency", "GBP")
    years = summary.get("years") or []
    span = f"{years[0]}–{years[-1]}" if len(years) > 1 else (str(years[0]) if years else "")
    rate = float(summary.get("discount_rate", 0.0))
    tot = ret[ret["period"].astype(str) == "total"]
    main = pd.DataFrame({
        "Programme": tot["programme"], "Paid by": tot["paid_by"].fillna("–"),
        f"Spend above base year ({cur}, discounted)": tot["discounted_extra_spend"],
        "Cases avoided": tot["cases_avoided"],
        f"Downstream spend avoided ({cur}, discounted)": tot["discounted_spend_avoided"],
        f"Net cost ({cur}, discounted)": tot["discounted_net_cost"],
        "Return per £1 (discounted)": tot["discounted_return_per_pound"]})
    parts = [f"<h3>Prevention programmes: return on investment, {html.escape(span)}</h3>",
             '<p class="note">Money discounted at ' + f"{rate:.1%}" + " (the objective's own factors); cases and "
             "outcomes counted as they happen. Spend above base year = spend − base-year spend. Each avoided case "
             "is given the plan's own average path from its source (an average attribution; the marginal value "
             "of a case avoided is a shadow price, see <code>budgetshift explain</code>). Downstream spend avoided "
             "is activity at unit cost, not cash released. Benefits of spend in a programme's last lag years fall "
             "after the horizon and are not counted. Negative cases avoided: a programme cut below its base-year "
             "level adds cases.</p>", html_table(main, cur)]
    po = tables.get("programme_outcomes")
    if po is not None and len(po):
        po = po[po["period"].astype(str) == "total"]
        parts.append("<h4>Cost per outcome</h4>" + html_table(pd.DataFrame({
            "Programme": po["programme"], "Outcome": po["measure"], "Improvement (as it happens)": po["improvement"],
            f"Cost per unit ({cur}, discounted)": po["discounted_cost_per_unit"],
            f"Net cost per unit ({cur}, discounted)": po["discounted_net_cost_per_unit"]}), cur, keys=2))
    sh = tables.get("savings_by_holder")
    if sh is not None and len(sh):
        sh = sh[sh["period"].astype(str) == "total"]
        whole = sh.groupby("programme")["discounted_savings"].transform("sum")
        share = np.where(np.abs(whole) > 1e-6, sh["discounted_savings"] / whole.where(np.abs(whole) > 1e-6, 1.0),
                         np.nan)
        parts.append("<h4>Who saves</h4>" + html_table(pd.DataFrame({
            "Programme": sh["programme"], "Holder": sh["holder"],
            f"Invested ({cur}, discounted)": sh["discounted_invested"],
            f"Downstream spend avoided ({cur}, discounted)": sh["discounted_savings"],
            "Share of savings (fraction)": share}), cur, keys=2))
    parts.append(_figure_html(f"{_slug(label)}-returns", "Each programme's spend above its base-year level (grey) "
                              "against the downstream spend its avoided cases would have used, stacked by the "
                              "budget holder it falls on; discounted, whole plan.", fig_returns(tables, summary)))
    return "".join(parts)


# ----------------------------------------------------------------------------- HTML

def _keys_in_words(table: pd.DataFrame, keys: int) -> pd.DataFrame:
    """``table`` with the names in its first ``keys`` columns in planner words (a copy)."""
    if table is None or not len(table):
        return table
    table = table.copy()
    for c in list(table.columns)[:keys]:
        if table[c].dtype == object:
            table[c] = table[c].map(lambda v: words(v) if isinstance(v, str) else v)
    return table


def html_table(df: pd.DataFrame, currency: str = "GBP", keys: int = 1, max_rows: int = 400) -> str:
    """A table of the report (:func:`optimiser.output.htmlparts.table`; ``currency`` is in the headers)."""
    return htmlparts.table(df, keys=keys, max_rows=max_rows)


_figure_html = htmlparts.figure


def report_html(cmp, title: str | None = None) -> str:
    """The report of ``cmp`` (a :class:`~optimiser.analyses.compare.Comparison`, of one run or
    several) as one HTML document (see the module docstring). Reports of other things (a result,
    result folders, instance files) go through :func:`optimiser.analyses.report_sources.report_html`."""
    cur = cmp.currency
    labels = cmp.labels
    several = len(labels) > 1
    if title is None:
        names = list(dict.fromkeys(str(n) for n in cmp.runs["name"] if isinstance(n, str)))
        title = ("Comparison: " + ", ".join(labels)) if several else f"Plan: {names[0] if names else labels[0]}"
    body: list[str] = [f"<header><h1>{html.escape(title)}</h1>",
                       f'<p class="meta">budgetshift report; {len(labels)} run{"s" if several else ""}; money in '
                       f"{html.escape(cur)}{'; differences are against ' + html.escape(labels[0]) if several else ''}"
                       "</p></header>"]
    nav = []
    sections = []
    runs_tab = cmp.side_by_side("runs").drop(columns=["Message"])
    sections.append('<section id="runs"><h2>Runs</h2>' + html_table(runs_tab, cur) + "</section>")
    nav.append(("runs", "Runs"))
    if several:
        parts = ['<section id="comparison"><h2>Side by side</h2>']
        for fig_id, caption, fig in _comparison_figures(cmp):
            parts.append(_figure_html(fig_id, caption, fig))
        if cmp.input_differences is not None:
            parts.append("<h3>Input differences</h3>")
            parts.append('<p class="note">Fields whose values differ between the runs (after scenarios and '
                         "overrides).</p>" + html_table(cmp.side_by_side("input_differences"), cur))
        for name, heading, keys in (("totals", "Totals", 1), ("spend_by_sector", "Spend by sector", 2),
                                    ("shift", "Shift policies", 3), ("outcomes", "Outcomes", 4),
                                    ("programme_returns", "Prevention programmes over the whole plan (money "
                                     "discounted)", 2),
                                    ("binding", "Binding constraints", 1), ("shadow_prices", "Shadow prices", 3)):
            table = cmp.side_by_side(name, present_outcomes(cmp.outcomes, cmp.outcome_views())) \
                if name == "outcomes" else cmp.side_by_side(name)
            table = _keys_in_words(table, keys)
            parts.append(f"<h3>{heading}</h3>" + html_table(table, cur, keys=keys))
        parts.append(report_cash.comparison_cash_html(cmp))
        parts.append("</section>")
        sections.append("".join(parts))
        nav.append(("comparison", "Side by side"))
    for label in labels:
        sid = f"run-{_slug(label)}"
        summary = cmp.summaries[label]
        tables = cmp.tables_by_run[label]
        parts = [f'<section id="{sid}"><h2>{html.escape(label)}</h2>']
        meta = [f"status: {html.escape(str(summary.get('status_message') or summary.get('status')))}"]
        if summary.get("scenarios"):
            meta.append("scenarios: " + html.escape(", ".join(summary["scenarios"])))
        if summary.get("overrides"):
            meta.append("overrides: " + html.escape(", ".join(f"{k}={v}" for k, v in summary["overrides"].items())))
        parts.append('<p class="meta">' + "<br>".join(meta) + "</p>")
        figs = run_figures(label, tables, summary)
        if not figs:
            parts.append('<p class="note">No plan to plot: ' + html.escape(str(summary.get("status_message", ""))) + "</p>")
        for fig_id, caption, fig in figs:
            parts.append(_figure_html(fig_id, caption, fig))
        parts.append(returns_html(label, tables, summary))
        parts.append(report_cash.run_cash_html(label, tables, summary))
        parts.append("</section>")
        sections.append("".join(parts))
        nav.append((sid, label))
    body.append("<nav><ul>" + "".join(f'<li><a href="#{i}">{html.escape(t)}</a></li>' for i, t in nav) + "</ul></nav>")
    body += sections
    return htmlparts.document(title, body)
