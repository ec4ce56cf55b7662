"""The report's cash parts (HTML fragments for :mod:`optimiser.output.report`): where a plan's prevention
programmes release cash beside the activity they avoid at unit cost, and the cash flow per budget
holder and year with its payback year.

Kept apart from the report's layout so that the cash view can change without touching it: the
report calls :func:`run_cash_html` once per run and :func:`comparison_cash_html` once for a
comparison; each returns "" when there is nothing to show (no programmes, no cash tables).
"""

from __future__ import annotations

import html
from typing import Any, Mapping

import numpy as np
import pandas as pd

from . import htmlparts


def _table(df: pd.DataFrame, currency: str, keys: int = 1) -> str:
    return htmlparts.table(df, keys=keys)  # the report's own table style (report.html_table)


def programme_cash_html(tables: Mapping[str, pd.DataFrame], summary: Mapping[str, Any]) -> str:
    """Each programme's whole-plan return in cash (cash released, payment above the baseline
    payment, cash return per £1) beside its return on activity avoided at unit cost, and its
    terminal value with the return including it; then who the cash is released to."""
    ret = tables.get("programme_returns")
    if ret is None or not len(ret) or "cash_released" not in ret:
        return ""
    cur = summary.get("currency", "GBP")
    tot = ret[ret["period"].astype(str) == "total"]
    cols = {"Programme": tot["programme"],
            f"Payment above the baseline payment ({cur}, discounted)": tot["discounted_extra_payment"],
            f"Activity avoided at unit cost ({cur}, discounted)": tot["discounted_spend_avoided"],
            f"Cash released ({cur}, discounted)": tot["discounted_cash_released"],
            "Return per £1 at unit cost (discounted)": tot["discounted_return_per_pound"],
            "Cash return per £1 (discounted)": tot["discounted_cash_return_per_pound"]}
    valued = tot["discounted_terminal_value"].notna().any()
    if valued:
        cols[f"Terminal value after the plan ({cur}, discounted)"] = tot["discounted_terminal_value"]
        cols["Return per £1 with terminal value (at unit cost, discounted)"] = \
            tot["discounted_return_with_terminal_value"]
    parts = ["<h4>In cash: what the programmes release</h4>",
             '<p class="note">Cash released is what the downstream services\' payments to the commissioner '
             "actually fall by: paid per unit, each unit avoided releases its price (without contracts: its unit "
             "cost, so cash equals the figure at unit cost); under a block or capitation payment nothing is "
             "released until a step (a ward, a team) closes. A service's cash released is shared by the "
             "programmes in proportion to the activity each avoids there. Cash return = cash released / payment "
             "above the baseline payment (base-year activity at the year's price or contract)."
             + (" The terminal value counts cases avoided after the plan at the pathway's care cost per case "
                "(activity at unit cost, not cash), discounted." if valued else "") + "</p>",
             _table(pd.DataFrame(cols), cur)]
    sh = tables.get("savings_by_holder")
    if sh is not None and len(sh) and "cash_released" in sh:
        sh = sh[sh["period"].astype(str) == "total"]
        parts.append("<h4>Who saves in cash</h4>" + _table(pd.DataFrame({
            "Programme": sh["programme"], "Holder": sh["holder"],
            f"Cash invested ({cur}, discounted)": sh["discounted_cash_invested"],
            f"Activity avoided at unit cost ({cur}, discounted)": sh["discounted_savings"],
            f"Cash released ({cur}, discounted)": sh["discounted_cash_released"],
            "Share of cash released (fraction)": sh["share_of_cash_released"]}), cur, keys=2))
    return "".join(parts)


def cash_flow_html(tables: Mapping[str, pd.DataFrame], summary: Mapping[str, Any]) -> str:
    """The cash flow per holder and year (programme and transition investment, cash released,
    demand growth, cumulative net) and each holder's payback year."""
    flow = tables.get("cash_flow")
    if flow is None or not len(flow):
        return ""
    cur = summary.get("currency", "GBP")
    cols = {"Holder": flow["holder"], "Year": flow["year"].astype(int).astype(str),
            f"Invested ({cur})": flow["invested"], f"Cash released ({cur})": flow["saved"]}
    if "demand_growth" in flow:
        cols[f"Demand growth, not investment ({cur})"] = flow["demand_growth"]
    cols[f"Net ({cur})"] = flow["net"]
    cols[f"Cumulative net ({cur})"] = flow["cumulative_net"]
    pay = flow.drop_duplicates("holder")
    return ("<h4>Cash flow per holder</h4>"
            '<p class="note">Invested = payment rises of the prevention programmes and of services with a '
            "transition (set-up) cost, plus the set-up costs the transformation fund does not meet; any other "
            "payment rise is demand growth (care growing with its patients), shown apart and not counted in the "
            "payback. Cash released = payment falls against the baseline payment. Payback year: the first year "
            "cumulative net is back at or above zero after being below it. Payback: "
            + html.escape("; ".join(f"{r.holder} {r.payback}" for r in pay.itertuples(index=False))) + ".</p>"
            + _table(pd.DataFrame(cols), cur, keys=2))


def run_cash_html(label: str, tables: Mapping[str, pd.DataFrame], summary: Mapping[str, Any]) -> str:
    """A run's cash parts: programmes in cash and the cash flow ("" when it has neither)."""
    return programme_cash_html(tables, summary) + cash_flow_html(tables, summary)


def comparison_cash_html(cmp) -> str:
    """The cash flow of several runs side by side (the comparison's cash_flow table): "" when no
    run has one."""
    tidy = cmp.cash_flow
    if not len(tidy):
        return ""
    table = cmp.side_by_side("cash_flow")
    return ("<h3>Cash flow per holder (invested, cash released, demand growth, payback year)</h3>"
            + _table(table, cmp.currency, keys=int(np.sum([c in table for c in ("Holder", "Year", "Quantity",
                                                                                   "Unit")]))))
