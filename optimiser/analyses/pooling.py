"""The value of pooling: the same plan solved siloed, partially pooled and fully pooled.

Every siloed plan is also a partially pooled and a fully pooled plan (pooling only removes
restrictions), so the best pooled plan is never worse: the **value of pooling** is the cost it
saves (``min_cost``: siloed minus pooled discounted cost) or the outcome it gains (``max_outcome``:
pooled minus siloed weighted outcome), in total and per year, with the transfers between holders
that the pooled plan implies. A siloed plan with no plan at all is an answer too: pooling is then
what makes the targets reachable, and the smallest relaxation says how far the siloed holders fall
short.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InstanceError, Problem
from ..solving.results import Result, TABLES
from . import execution
from ..output import htmlparts
from ..output.excel import result_workbook
from ..output.files import records, write_tables_atomically
from ..output.formatting import money, money_scale, run_colour, words
from .explain import relax

ORDER = ("siloed", "partial", "pooled")
LABELS = {"siloed": "siloed", "partial": "partially pooled", "pooled": "fully pooled"}


@dataclass
class Pooling:
    """Plans under each arrangement side by side (``results`` keyed by arrangement) and the tables
    that compare them (each has an ``arrangement`` column, in the order siloed, partial, pooled)."""

    instance: Any
    results: dict[str, Result]
    summary: pd.DataFrame
    value_by_year: pd.DataFrame
    outcomes: pd.DataFrame
    holder_spend: pd.DataFrame
    holders: pd.DataFrame
    transfers: pd.DataFrame
    siloed_shortfall: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list[str] = field(default_factory=list)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        return {"pooling_summary": self.summary, "value_by_year": self.value_by_year, "outcomes": self.outcomes,
                "holder_spend": self.holder_spend, "holders": self.holders, "transfers": self.transfers,
                "siloed_shortfall": self.siloed_shortfall}

    def to_dict(self) -> dict[str, Any]:
        return {"instance": self.instance.name, "source": self.instance.source,
                "objective_mode": self.instance.model.objective.mode, "currency": self.instance.model.currency,
                "notes": list(self.notes), **{k: records(v) for k, v in self.tables.items()}}

    def write(self, directory, overwrite: bool = False):
        """CSV per table, one Excel workbook and pooling.json, complete or absent."""

        doc = self.to_dict()
        return write_tables_atomically(
            directory, self.tables, {"pooling": doc},
            overwrite=overwrite,
            extra=lambda folder: result_workbook(folder / "pooling.xlsx", self.tables,
                                                 {k: v for k, v in doc.items() if k not in self.tables}, TABLES))


def report_html(p: Pooling) -> str:
    """A self-contained HTML page: cost (or outcome) per arrangement, each holder's spend against its
    budget per arrangement, the cost saved per year, and the tables."""
    import plotly.graph_objects as go

    inst = p.instance
    cur = inst.model.currency
    mode = inst.model.objective.mode
    figures = []
    s = p.summary
    ok = s[s["objective"].notna()]
    div, unit = money_scale(ok["objective"], cur) if mode == "min_cost" else (1.0, "")
    text = [money(v, cur) if mode == "min_cost" else f"{v:,.0f}" for v in ok["objective"]]
    fig = go.Figure(go.Bar(x=ok["label"], y=ok["objective"] / div, text=text, textposition="outside",
                           marker_color=[run_colour(i) for i in range(len(ok))]))
    none = s[s["objective"].isna()]
    title = "discounted cost" if mode == "min_cost" else "weighted outcome"
    fig.update_layout(title=f"{title} by arrangement" + (
        f" (no plan: {', '.join(none['label'] + ' — ' + none['status'])})" if len(none) else ""),
        yaxis_title=f"{title} ({unit})" if mode == "min_cost" else title, yaxis_tickformat=",.3~f")
    figures.append((f"The {title} of the best plan under each arrangement; the value of pooling is the "
                    "difference from siloed.", fig))
    if len(p.holders):
        tot = p.holders.groupby(["arrangement", "holder"], sort=False)[["budget", "spend"]].sum().reset_index()
        hdiv, hunit = money_scale(list(tot["budget"]) + list(tot["spend"]), cur)
        fig = go.Figure()
        for k, (arr, g) in enumerate(tot.groupby("arrangement", sort=False)):
            fig.add_trace(go.Bar(x=[words(h) for h in g["holder"]], y=g["spend"] / hdiv,
                                 name=f"spend, {LABELS.get(arr, arr)}", marker_color=run_colour(k)))
        budget = tot.drop_duplicates("holder")
        fig.add_trace(go.Scatter(x=[words(h) for h in budget["holder"]], y=budget["budget"] / hdiv, mode="markers",
                                 name="budget", marker=dict(symbol="line-ew-open", size=40, line=dict(width=3),
                                                            color="#222")))
        fig.update_layout(barmode="group", title="Each holder's spend over the horizon against its budget",
                          yaxis_title=f"spend ({hunit})", yaxis_tickformat=",.3~f")
        figures.append(("Spend of each holder's services under each arrangement, and the holder's own budget: "
                        "above it, others pay; below it, the holder's money pays for others.", fig))
    if len(p.value_by_year) and "cost_saved" in p.value_by_year:
        fig = go.Figure()
        vdiv, vunit = money_scale(p.value_by_year["cost_saved"], cur)
        for k, (arr, g) in enumerate(p.value_by_year.groupby("arrangement", sort=False)):
            if arr != "siloed":
                fig.add_trace(go.Scatter(x=g["year"], y=g["cost_saved"] / vdiv, mode="lines+markers",
                                         name=LABELS.get(arr, arr), line=dict(color=run_colour(k))))
        fig.update_layout(title="Cost saved against siloed, per year", yaxis_title=f"cost saved ({vunit})",
                          xaxis_title="year", yaxis_tickformat=",.3~f", xaxis=dict(dtick=1))
        figures.append(("Spend saved each year by pooling (undiscounted); the total value of pooling is the "
                        "discounted sum.", fig))
    lines = [f"instance: {inst.name} ({inst.source})", f"objective: {mode}", *p.notes]
    table = htmlparts.table
    tables = [("Arrangements", table(p.summary)), ("Per year", table(p.value_by_year)),
              ("Transfers between holders", table(p.transfers)), ("Holders", table(p.holders)),
              ("Spend by holder and sector", table(p.holder_spend)), ("Outcomes", table(p.outcomes))]
    if len(p.siloed_shortfall):
        tables.insert(1, ("Extra money the siloed holders would need", table(p.siloed_shortfall)))
    lines.append(f"money in {cur}")
    return htmlparts.page(f"Value of pooling: {inst.name}", lines, figures, tables)


def arrangements_of(inst) -> list[str]:
    """siloed, partial (where the file defines a pooled fund) and pooled, in that order."""
    if inst.holders.empty:
        raise InstanceError([Problem(inst.source, "budget.holders",
                                     "budget holders (the value of pooling compares holders' budgets kept apart "
                                     "with the same budgets pooled)", "no holders")])
    return [a for a in ORDER if a != "partial" or len(inst.model.budget.pooled_funds)]


def pooling(inst, *, time_limit: float | None = None, threads: int | None = None, mip_gap: float | None = None,
            relax_infeasible: bool = True) -> Pooling:
    """Solve ``inst`` siloed, partially pooled (if it has pooled funds) and fully pooled and
    compare them. The instance's own ``budget.arrangement`` does not matter: each is set in turn."""

    arrangements = arrangements_of(inst)
    variants = [inst.with_overrides({"budget.arrangement": arr}) for arr in arrangements]
    # in this process, one after another, each plan kept whole (the siloed one is explained below)
    task = execution.SolveEach(variants, {"time_limit": time_limit, "threads": threads, "mip_gap": mip_gap},
                               keep_model=True)
    solved, _ = execution.run(task, task.points(), workers=1, failures="raise")
    results: dict[str, Result] = dict(zip(arrangements, solved))
    mode = inst.model.objective.mode
    sign = 1.0 if mode == "min_cost" else -1.0  # value = sign x (siloed - arrangement)
    siloed = results["siloed"]
    notes: list[str] = []

    def bound(r) -> float:
        """The best objective any plan could reach, as the solver proved it (the objective itself
        for an LP solved to optimality; the MIP's best bound otherwise)."""
        mip = r.summary.get("mip") or {}
        b = mip.get("best_bound")
        return float(b) if b is not None and np.isfinite(b) else float(r.objective)

    rows = []
    for arr, r in results.items():
        value = low = high = np.nan
        if arr != "siloed" and r.has_plan and siloed.has_plan and r.objective is not None \
                and siloed.objective is not None:
            value = sign * (siloed.objective - r.objective)
            # the true optima lie between each plan and its bound: the value lies in this interval
            if mode == "min_cost":
                low, high = bound(siloed) - r.objective, siloed.objective - bound(r)
            else:
                low, high = r.objective - bound(siloed), bound(r) - siloed.objective
        rows.append({"arrangement": arr, "label": LABELS[arr], "status": r.status.value,
                     "objective": r.objective if r.has_plan else np.nan,
                     "best_bound": bound(r) if r.has_plan else np.nan,
                     "total_cost": r.summary.get("total_cost", np.nan),
                     "discounted_cost": r.summary.get("discounted_cost", np.nan),
                     "value_of_pooling": value, "value_low": low, "value_high": high})
    summary = pd.DataFrame(rows)
    inexact = summary[(summary["value_high"] - summary["value_low"]).abs()
                      > 1e-6 * np.maximum(1.0, summary["value_of_pooling"].abs())]
    if len(inexact):
        notes.append("not proven optimal (mixed-integer gap or time limit): the value of pooling lies between "
                     + "; ".join(f"{r.value_low:,.6g} and {r.value_high:,.6g} ({r.label})"
                                 for r in inexact.itertuples(index=False)))
    shortfall = pd.DataFrame(columns=["holder", "year", "kept", "extra_needed"])
    pooled_plan = any(r.has_plan for arr, r in results.items() if arr != "siloed")
    if not siloed.has_plan and not pooled_plan:
        notes.append("no arrangement has a plan: " + "; ".join(
            f"{LABELS[arr]}: {r.summary.get('status_message', r.status.value)}" for arr, r in results.items())
            + " — pooling does not help; see budgetshift explain for the smallest relaxation")
    elif not siloed.has_plan:
        text = (f"siloed: {siloed.status.value} — kept apart, the holders' budgets cannot deliver this plan; "
                "pooling is what makes it possible")
        if relax_infeasible and siloed.status.value == "infeasible":
            table, info = relax(siloed, alone=True)
            money_alone = table[(table["scope"] == "budget alone") & (table["constraint"] == "holder_budget")]
            if len(money_alone):
                shortfall = money_alone.rename(columns={"item": "holder", "bound": "kept", "change": "extra_needed"})[
                    ["holder", "year", "kept", "extra_needed"]].reset_index(drop=True)
                per = shortfall.groupby("holder", sort=False)["extra_needed"].sum()

                cur = inst.model.currency
                text += (". The least extra money that would make it possible kept apart: "
                         + "; ".join(f"{h} {money(v, cur)} over the horizon" for h, v in per.items()))
            shift = table[table["scope"] == "shift policy alone"]
            if len(shift):
                text += ". Or, with the budgets kept apart, " + "; ".join(shift["words"])
        notes.append(text)
    for arr, r in results.items():
        if not r.has_plan and arr != "siloed" and pooled_plan:
            notes.append(f"{LABELS[arr]}: {r.summary.get('status_message', r.status.value)}")

    def stack(name: str) -> pd.DataFrame:
        frames = [r.tables[name].assign(arrangement=arr) for arr, r in results.items()
                  if r.has_plan and name in r.tables]
        if not frames:
            return pd.DataFrame()
        df = pd.concat(frames, ignore_index=True)
        return df[["arrangement"] + [c for c in df.columns if c != "arrangement"]]

    budget = stack("budget")
    value_by_year = pd.DataFrame()
    if len(budget):
        value_by_year = budget[["arrangement", "year", "budget", "spend", "discount_factor", "discounted_spend"]].copy()
        if siloed.has_plan:
            base = siloed.tables["budget"].set_index("year")
            value_by_year["cost_saved"] = value_by_year["year"].map(base["spend"]) - value_by_year["spend"]
            value_by_year["discounted_cost_saved"] = (value_by_year["year"].map(base["discounted_spend"])
                                                      - value_by_year["discounted_spend"])
    if len(value_by_year) and mode == "max_outcome" and siloed.has_plan:
        # the objective's own weights (sign and discounting included), year by year
        w = siloed.tables["objective_weights"]
        def weighted(r):
            v = r.tables["outcomes"].merge(w, on=["outcome", "year"])
            return (v["weight"] * v["value"]).groupby(v["year"]).sum()
        base_w = weighted(siloed)
        gains = {arr: weighted(r) - base_w for arr, r in results.items() if r.has_plan}
        value_by_year["weighted_outcome_gained"] = [
            float(gains[a].get(y, 0.0)) for a, y in zip(value_by_year["arrangement"], value_by_year["year"])]
    outcomes = stack("outcomes")
    if len(outcomes):
        outcomes = outcomes[["arrangement", "outcome", "unit", "direction", "year", "value", "at_least", "at_most", "met"]]
        if siloed.has_plan:
            base = siloed.tables["outcomes"].set_index(["outcome", "year"])["value"]
            gain = outcomes["value"].to_numpy() - base.reindex(
                pd.MultiIndex.from_frame(outcomes[["outcome", "year"]])).to_numpy()
            outcomes["gained"] = np.where(outcomes["direction"] == "higher_is_better", gain, -gain) + 0.0
    holder_spend = stack("holder_spend")
    holders = stack("holders")
    transfers = stack("holder_transfers")
    return Pooling(instance=inst, results=results, summary=summary, value_by_year=value_by_year,
                   outcomes=outcomes, holder_spend=holder_spend, holders=holders, transfers=transfers,
                   siloed_shortfall=shortfall, notes=notes)
