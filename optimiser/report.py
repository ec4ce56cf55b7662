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
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from . import report_cash

_SECTOR_COLOURS = {"prevention": "#2ca02c", "community": "#1f77b4", "primary": "#17becf", "acute": "#d62728",
                   "social_care": "#9467bd", "mental_health": "#ff7f0e"}
_PALETTE = ["#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3", "#ff6692", "#b6e880",
            "#ff97ff", "#fecb52"]
_KIND_COLOURS = {"source": "#7f7f7f", "sink": "#bcbd22"}

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 0 auto;
       max-width: 1200px; padding: 1.5rem; color: #222; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2.5rem; border-bottom: 2px solid #ddd; }
h3 { margin-top: 1.8rem; } p.meta { color: #555; margin-top: 0; }
nav ul { columns: 2; } figure { margin: 1rem 0 2rem; } figcaption { color: #555; font-size: .9rem; }
div.table { overflow-x: auto; margin: .5rem 0 1.5rem; }
table.bs { border-collapse: collapse; font-size: .85rem; white-space: nowrap; }
table.bs th, table.bs td { border: 1px solid #ddd; padding: .25rem .5rem; text-align: right; }
table.bs th { background: #f4f4f4; } table.bs td.key, table.bs th.key { text-align: left; }
.status-optimal { color: #1a7f37; font-weight: 600; } .status-other { color: #b42318; font-weight: 600; }
.diff-pos { color: #1a4f9f; } .diff-neg { color: #b54708; } .note { color: #555; }
"""


# ----------------------------------------------------------------------------- inputs

def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", str(text)).strip("-").lower() or "run"


def collect(source) -> "Any":
    """Anything a report can be made of, as a :class:`~optimiser.compare.Comparison`: a Result, a
    Comparison, ``{label: Result}``, or paths (result folders from ``solve --out``, comparison
    folders from ``compare --out``, or instance files, which are solved)."""
    from .compare import Comparison, compare
    from .output import read_result
    from .results import Result

    if isinstance(source, Comparison):
        return source
    if isinstance(source, Result):
        label = Path(source.summary.get("source", "")).stem or source.summary.get("instance", "plan")
        return Comparison.from_results({label: source})
    if isinstance(source, Mapping) and all(isinstance(v, Result) for v in source.values()):
        return Comparison.from_results(dict(source))
    paths = [source] if isinstance(source, (str, Path)) else list(source)
    if not paths:
        raise ValueError("nothing to report: give a result, a comparison or at least one path")
    from .errors import InstanceError, Problem

    folders, instance_files = [], []
    for p in paths:
        p = Path(p)
        if p.is_file() and p.name in ("summary.json", "comparison.json"):
            p = p.parent
        if p.is_dir() and (p / "comparison.json").is_file():
            folders.append(("comparison", p))
        elif p.is_dir() and (p / "summary.json").is_file():
            folders.append(("result", p))
        elif p.is_file() and p.suffix.lower() in (".yaml", ".yml"):
            instance_files.append(p)
        else:
            found = "no such file or folder" if not p.exists() else \
                ("a folder without summary.json or comparison.json" if p.is_dir() else f"a {p.suffix or 'plain'} file")
            raise InstanceError([Problem(str(p), "(file)", "a result folder (solve --out), a comparison folder "
                                         "(compare --out) or an instance file (.yaml)", found)])
    if len(folders) == 1 and folders[0][0] == "comparison" and not instance_files:
        return Comparison.from_folder(folders[0][1])
    if not folders:
        return compare([str(p) for p in instance_files])
    tables: dict[str, dict] = {}
    summaries: dict[str, dict] = {}
    parts = []
    for kind, p in folders:
        if kind == "comparison":
            c = Comparison.from_folder(p)
            parts += [(lab, c.tables_by_run[lab], c.summaries[lab]) for lab in c.labels]
        else:
            t, s = read_result(p)
            parts.append((p.name, t, s))
    if instance_files:
        c = compare([str(p) for p in instance_files])
        parts += [(lab, c.tables_by_run[lab], c.summaries[lab]) for lab in c.labels]
    for lab, t, s in parts:
        label, k = lab, 2
        while label in tables:
            label, k = f"{lab} #{k}", k + 1
        tables[label], summaries[label] = t, s
    return Comparison.from_tables(tables, summaries)


# ----------------------------------------------------------------------------- figures

def _template():
    import plotly.graph_objects as go

    # a small template (plotly's default one would be repeated in every figure of the page)
    return go.layout.Template(layout=dict(
        font=dict(family="system-ui, Segoe UI, Roboto, Helvetica, Arial, sans-serif", size=12),
        colorway=_PALETTE, plot_bgcolor="#fafafa", paper_bgcolor="white",
        xaxis=dict(gridcolor="#e5e5e5", zeroline=False), yaxis=dict(gridcolor="#e5e5e5", zerolinecolor="#bbb"),
        margin=dict(l=70, r=30, t=50, b=50), legend=dict(orientation="h", y=-0.15)))


def _money_scale(values, currency: str) -> tuple[float, str]:
    """A divisor and axis title suffix for money: (1e9, "GBP bn") for values in the billions."""
    v = pd.to_numeric(pd.Series(list(values)), errors="coerce").abs().max()
    v = 0.0 if pd.isna(v) else float(v)
    for div, suffix in ((1e9, "bn"), (1e6, "m"), (1e3, "k")):
        if v >= div:
            return div, f"{currency} {suffix}"
    return 1.0, currency


def _sector_colour(sector: str, sectors: list[str]) -> str:
    return _SECTOR_COLOURS.get(sector) or _PALETTE[sectors.index(sector) % len(_PALETTE)]


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
    div, unit = _money_scale(list(totals) + (list(budget["budget"]) if budget is not None else []),
                             summary.get("currency", "GBP"))
    fig = go.Figure()
    for s in sectors:
        g = shares[shares["sector"] == s].set_index("year").reindex(years)
        fig.add_bar(name=s, x=labels, y=g["spend"].to_numpy() / div, marker_color=_sector_colour(s, sectors),
                    hovertemplate=f"{s}<br>%{{x}}: %{{y:,.4g}} {unit}<extra></extra>")
    if budget is not None and len(budget):
        fig.add_scatter(name="pooled budget", x=[_year_label(y, base) for y in budget["year"]],
                        y=budget["budget"].to_numpy() / div, mode="lines+markers", line=dict(color="#222", dash="dash"))
    fig.update_layout(barmode="stack", title="Spend by sector", height=420, yaxis=dict(title=f"spend ({unit})"))
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
        fig.add_scatter(name=f"{s} share", x=labels, y=g["share"].to_numpy(), mode="lines+markers",
                        line=dict(color=_sector_colour(s, sectors), width=1.5))
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
                    group = f"{policy} ({row['sectors'].iloc[0]})"
            colour = _PALETTE[k % len(_PALETTE)]
            fig.add_scatter(name=f"{group}: required", x=x, y=lead + list(g["required"]), mode="lines",
                            line=dict(color=colour, dash="dash", width=2))
            fig.add_scatter(name=f"{group}: achieved", x=x, y=lead + list(g["achieved"]), mode="markers",
                            marker=dict(color=colour, size=10, symbol="diamond-open", line=dict(width=2)))
    fig.update_layout(title="Sector shares of spend against the shift trajectory", height=420,
                      yaxis=dict(title="share of spend", tickformat=".1%", rangemode="tozero"))
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=labels)
    return fig


def fig_outcomes(tables: Mapping[str, pd.DataFrame], summary: Mapping[str, Any]):
    """Each outcome per year against its targets (one panel per outcome)."""
    from plotly.subplots import make_subplots

    out = tables["outcomes"]
    names = list(dict.fromkeys(out["outcome"]))
    units = {o: u for o, u in zip(out["outcome"], out["unit"])}
    fig = make_subplots(rows=len(names), cols=1, shared_xaxes=False, vertical_spacing=min(0.12, 0.5 / max(1, len(names))),
                        subplot_titles=[f"{o} ({units[o]})" if units[o] else str(o) for o in names])
    for i, o in enumerate(names, start=1):
        g = out[out["outcome"] == o].sort_values("year")
        x = [str(y) for y in g["year"]]
        fig.add_scatter(name=o, x=x, y=g["value"], mode="lines+markers", line=dict(color=_PALETTE[0]),
                        showlegend=False, row=i, col=1, hovertemplate=f"{o} %{{x}}: %{{y:,.4g}}<extra></extra>")
        for col, label, colour in (("at_most", "target (at most)", "#d62728"), ("at_least", "target (at least)", "#2ca02c")):
            if col in g and g[col].notna().any():
                fig.add_scatter(name=label, x=x, y=g[col], mode="lines+markers", row=i, col=1,
                                line=dict(color=colour, dash="dot"), marker=dict(symbol="line-ew-open", size=12),
                                legendgroup=label, showlegend=not any(t.name == label for t in fig.data))
        fig.update_yaxes(tickformat=",.4~s", row=i, col=1)
    fig.update_xaxes(type="category")
    fig.update_layout(title="Outcomes against targets", height=max(320, 230 * len(names)))
    return fig


def fig_flows(tables: Mapping[str, pd.DataFrame], summary: Mapping[str, Any], pathway: str, year: int):
    """The care pathway as a flow diagram: patients per edge (all segments) in ``year``."""
    import plotly.graph_objects as go

    nodes = tables["nodes"]
    flows = tables["flows"]
    n = nodes[(nodes["pathway"] == pathway) & (nodes["year"] == year)]
    n = n.groupby(["node", "kind", "service"], dropna=False, sort=False)["patients"].sum().reset_index()
    f = flows[(flows["pathway"] == pathway) & (flows["year"] == year)]
    f = f.groupby(["from", "to"], sort=False)["flow"].sum().reset_index()
    f = f[f["flow"] > 1e-6]
    order = list(dict.fromkeys(n["node"]))
    index = {name: i for i, name in enumerate(order)}
    sectors_of = {}
    alloc = tables.get("services")
    if alloc is not None and len(alloc):
        sectors_of = dict(zip(alloc["service"], alloc["sector"]))
    all_sectors = list(dict.fromkeys(sectors_of.values()))
    colours, labels = [], []
    for row in n.itertuples(index=False):
        if row.kind == "care":
            sector = sectors_of.get(row.service, "")
            colours.append(_sector_colour(sector, all_sectors) if sector in all_sectors else _PALETTE[0])
        else:
            colours.append(_KIND_COLOURS.get(row.kind, "#999"))
        labels.append(f"{row.node}: {row.patients:,.0f}")
    fig = go.Figure(go.Sankey(
        arrangement="snap",
        node=dict(label=labels, color=colours, pad=14, thickness=16, line=dict(color="#555", width=0.5),
                  hovertemplate="%{label} patients<extra></extra>"),
        link=dict(source=[index[a] for a in f["from"]], target=[index[b] for b in f["to"]], value=f["flow"].to_numpy(),
                  customdata=[f"{a} → {b}" for a, b in zip(f["from"], f["to"])],
                  hovertemplate="%{customdata}: %{value:,.0f} patients<extra></extra>",
                  color=[_rgba(colours[index[a]], 0.35) for a in f["from"]]),
    ))
    fig.update_layout(title=f"Pathway {pathway}: patients in {year} (all segments)",
                      height=max(420, 40 * len(order)))
    return fig


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _comparison_figures(cmp) -> list[tuple[str, str, Any]]:
    """(id, caption, figure) of the grouped-bar charts of a comparison."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    figs = []
    labels = cmp.labels
    colour = {lab: _PALETTE[i % len(_PALETTE)] for i, lab in enumerate(labels)}
    runs = cmp.runs
    cur = cmp.currency
    fig = go.Figure()
    div, unit = _money_scale(list(runs["total_cost"]) + list(runs["discounted_cost"]), cur)
    for lab in labels:
        fig.add_bar(name=lab, x=["total cost", "discounted cost"],
                    y=[runs.loc[lab, "total_cost"] / div, runs.loc[lab, "discounted_cost"] / div],
                    marker_color=colour[lab], hovertemplate=f"{lab}<br>%{{x}}: %{{y:,.4g}} {unit}<extra></extra>")
    fig.update_layout(barmode="group", title="Cost per run", height=400, yaxis=dict(title=unit))
    figs.append(("cmp-costs", "Total and discounted cost of each run (a run without a plan has no bar).", fig))

    spend = cmp.table("sector_shares").reset_index()
    if len(spend):
        final = spend[spend["year"] == spend["year"].max()]
        fig = go.Figure()
        div, unit = _money_scale(final["spend"], cur)
        for lab in labels:
            g = final[final["instance"] == lab]
            fig.add_bar(name=lab, x=list(g["sector"]), y=g["spend"].to_numpy() / div, marker_color=colour[lab],
                        hovertemplate=f"{lab}<br>%{{x}}: %{{y:,.4g}} {unit}<extra></extra>")
        year = int(spend["year"].max())
        fig.update_layout(barmode="group", title=f"Spend by sector in {year}", height=400,
                          yaxis=dict(title=f"spend ({unit})"))
        figs.append(("cmp-sector-spend", f"Spend per sector in the final year ({year}), grouped by run.", fig))

    shift = cmp.table("shift").reset_index()
    if len(shift):
        fig = go.Figure()
        for lab in labels:
            g = shift[shift["instance"] == lab]
            first = g["policy"].iloc[0] if len(g) else None
            g = g[g["policy"] == first]
            fig.add_bar(name=f"{lab}: achieved", x=[str(y) for y in g["year"]], y=g["achieved"].to_numpy(),
                        marker_color=colour[lab])
            fig.add_scatter(name=f"{lab}: required", x=[str(y) for y in g["year"]], y=g["required"].to_numpy(),
                            mode="lines+markers", line=dict(color=colour[lab], dash="dash"))
        kinds = set(shift["kind"])
        fig.update_xaxes(type="category")
        fig.update_layout(barmode="group", title="Shift achieved against required (first policy of each run)",
                          height=420, yaxis=dict(title="share of spend" if kinds == {"share"} else "achieved",
                                                 tickformat=".1%" if kinds == {"share"} else ",.3s"))
        figs.append(("cmp-shift", "The shift achieved each year (bars) against the trajectory (dashed), per run.", fig))

    out = cmp.table("outcomes").reset_index()
    if len(out):
        names = list(dict.fromkeys(out["outcome"]))
        units = dict(zip(out["outcome"], out["unit"]))
        fig = make_subplots(rows=len(names), cols=1, vertical_spacing=min(0.12, 0.5 / max(1, len(names))),
                            subplot_titles=[f"{o} ({units[o]})" if units[o] else str(o) for o in names])
        for i, o in enumerate(names, start=1):
            for lab in labels:
                g = out[(out["instance"] == lab) & (out["outcome"] == o)].sort_values("year")
                fig.add_bar(name=lab, x=[str(y) for y in g["year"]], y=g["value"].to_numpy(), marker_color=colour[lab],
                            legendgroup=lab, showlegend=(i == 1), row=i, col=1)
            fig.update_yaxes(tickformat=",.4~s", row=i, col=1)
        fig.update_xaxes(type="category")
        fig.update_layout(barmode="group", title="Outcomes per year, by run", height=max(320, 230 * len(names)))
        figs.append(("cmp-outcomes", "Each outcome per year, grouped by run.", fig))
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
    div, unit = _money_scale(list(tot["discounted_extra_spend"]) + list(tot["discounted_spend_avoided"]), cur)
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
                    marker_color=_PALETTE[i % len(_PALETTE)],
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

def _fmt_cell(value: Any, header: str, currency: str) -> tuple[str, str]:
    """Text and CSS class of one table cell."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–", ""
    if isinstance(value, (bool, np.bool_)):
        return ("yes" if value else "no"), ""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        v = float(value) + 0.0  # no "-0"
        cls = ""
        if header.startswith("Δ"):
            cls = "diff-pos" if v > 0 else "diff-neg" if v < 0 else ""
        if header.startswith("Δ%"):
            return f"{v:+.2f}%", cls
        if "(fraction)" in header:
            return (f"{v * 100:+.2f} pp" if header.startswith("Δ") else f"{v:.2%}"), cls
        if header.startswith("Year"):
            return f"{v:.0f}", cls
        if v.is_integer():
            return ("+" if v > 0 and header.startswith("Δ") else "") + f"{v:,.0f}", cls
        text = f"{v:,.2f}" if abs(v) < 1e4 else f"{v:,.0f}"
        return (("+" if v > 0 and header.startswith("Δ") else "") + text), cls
    return html.escape(str(value)), ""


def html_table(df: pd.DataFrame, currency: str = "GBP", keys: int = 1, max_rows: int = 400) -> str:
    if df is None or not len(df):
        return '<p class="note">(no rows)</p>'
    cols = list(df.columns)
    out = ['<div class="table"><table class="bs"><thead><tr>']
    out += [f'<th class="{"key" if j < keys else ""}">{html.escape(str(c))}</th>' for j, c in enumerate(cols)]
    out.append("</tr></thead><tbody>")
    for row in df.head(max_rows).itertuples(index=False, name=None):
        out.append("<tr>")
        for j, (c, v) in enumerate(zip(cols, row)):
            text, cls = _fmt_cell(v, str(c), currency)
            if j < keys:
                cls = (cls + " key").strip()
            if str(c) == "Status":
                cls = "status-optimal" if v == "optimal" else "status-other"
            out.append(f'<td class="{cls}">{text}</td>' if cls else f"<td>{text}</td>")
        out.append("</tr>")
    out.append("</tbody></table></div>")
    if len(df) > max_rows:
        out.append(f'<p class="note">({len(df) - max_rows} more rows in the CSV/Excel export)</p>')
    return "".join(out)


def _figure_html(fig_id: str, caption: str, fig) -> str:
    fig.update_layout(template=_template())
    height = int(fig.layout.height or 420)
    div = fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"plot-{fig_id}", default_height=f"{height}px",
                      default_width="100%", config={"displaylogo": False, "responsive": True})
    return (f'<figure class="bs-plot" data-plot="plot-{html.escape(fig_id)}">{div}'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def report_html(source, title: str | None = None) -> str:
    """The report as one HTML document (see the module docstring)."""
    from plotly.offline import get_plotlyjs
    import plotly

    cmp = collect(source)
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
            table = cmp.side_by_side(name)
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
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style>"
            f"<script type=\"text/javascript\">/* plotly.js {plotly.__version__} (inlined: the report needs no "
            f"network) */\n{get_plotlyjs()}</script></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def write_report(source, path: str | Path, title: str | None = None) -> Path:
    """Write the HTML report of ``source`` (a Result, a Comparison, ``{label: Result}``, or result
    folders, comparison folders or instance files) to ``path``, atomically."""
    path = Path(path)
    text = report_html(source, title=title)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path.resolve()
