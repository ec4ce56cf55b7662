"""Where cash is really released, and when: activity avoided against cash released per service
and year, transition costs and the transformation fund, and the cash flow per budget holder.

The baseline is the base year carried forward: each service at its base-year activity and
base-year steps, at the year's prices. Against it, per service and year:

* activity avoided = baseline activity - activity (negative: growth), and its *notional* value at
  the average unit cost (what a spreadsheet would call a saving);
* cash released to the commissioner = baseline payment - payment (the payment by contract form:
  :mod:`formulations.cost_behaviour`);
* cash released in the system = the provider's baseline cost - its cost, the provider's cost
  being variable cost x activity + step cost x steps paid for + fixed cost (with a stated cost
  behaviour) or unit cost x activity plus the fixed extras (without one).

Steps under an activity or capitation contract are the provider's: in use = ceil(activity /
capacity), paid for = the most in use within the closure lag (the base-year steps before the plan).
Under a block contract they are the plan's whole-number choices.

The tables are present only when an instance uses a contract, a cost behaviour, a transition
cost or a transformation fund; :mod:`optimiser.solving.verify` recomputes every figure from them.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from ..input.instance import expand_years

POOLED = "pooled budget"
SYSTEM = "system"

CASH_RELEASE_COLUMNS = [
    "service", "sector", "holder", "year", "contract", "activity", "baseline_activity", "activity_avoided",
    "unit_cost", "notional_value", "price", "block_value", "capitation_value", "payment", "baseline_payment",
    "commissioner_cash_released", "variable_cost", "fixed_cost", "step_capacity", "step_cost", "closure_lag",
    "baseline_steps", "steps_in_use", "steps_paid", "double_running", "provider_cost", "baseline_provider_cost",
    "system_cash_released"]
TRANSITION_COLUMNS = ["service", "sector", "holder", "year", "activity", "previous_activity", "growth",
                      "setup_cost_per_unit", "setup_cost", "fund_paid", "budget_bears"]
FUND_COLUMNS = ["fund", "year", "available", "paid", "cumulative_paid", "total"]
CASH_FLOW_COLUMNS = ["holder", "year", "payments_up", "payments_down", "demand_growth", "transition_cost", "fund_paid",
                     "invested", "saved", "net", "cumulative_net", "payback_year", "payback"]


def cash_features(inst) -> bool:
    """Whether the instance uses any of contracts, cost behaviour, transition costs or a fund."""
    svc = inst.services
    return bool(svc["contract_given"].any() or svc["cost_behaviour"].any()
                or any(s.transition is not None for s in inst.model.services)
                or inst.model.transformation_fund is not None)


def provider_steps(activity: np.ndarray, capacity: float, lag: int, baseline_steps: float) -> tuple[np.ndarray, np.ndarray]:
    """(in use, paid for) per planning year of a provider whose steps follow its activity:
    in use = ceil(activity / capacity); paid = max(in use over this year and the ``lag`` before,
    the base-year steps for years before the plan)."""
    in_use = np.maximum(np.ceil(np.asarray(activity, dtype=float) / capacity - 1e-7), 0.0)
    history = np.concatenate([np.full(lag, float(baseline_steps)), in_use])  # history[k + lag] = in_use[k]
    paid = np.array([history[k:k + lag + 1].max() for k in range(len(in_use))])
    return in_use, paid


def _column(lp, x, name: str, frame: pd.DataFrame) -> np.ndarray:
    if name not in lp.variables:
        return np.full(len(frame), np.nan)
    blk = lp.variables[name]
    vals = blk.index.assign(v=x[blk.start:blk.start + len(blk)])
    return frame[["service", "year"]].merge(vals, on=["service", "year"], how="left")["v"].to_numpy()


def contract_spend(inst, lp, x, alloc: pd.DataFrame) -> np.ndarray:
    """The commissioner's recurrent payment per allocation row, before the fixed extras (teams,
    running and opening costs): price x activity, or the block or capitation payment."""
    form = alloc["service"].map(inst.services["contract"]).to_numpy()
    sy = alloc[["service", "year"]].merge(inst.service_years[["service", "year", "price"]], on=["service", "year"],
                                          how="left")
    pay = _column(lp, x, "contract_payment", alloc)
    return np.where(form == "activity", sy["price"].to_numpy() * alloc["activity"].to_numpy(), pay)


def cash_tables(inst, lp, x: np.ndarray, alloc: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The cash_release, transition, transformation_fund and cash_flow tables (see the module)."""
    svc = inst.services
    keys = ["service", "year"]
    cr = alloc[["service", "sector", "year", "activity", "unit_cost", "spend", "fixed_spend"]].merge(
        inst.service_years[keys + ["price", "block_value", "capitation_value", "variable_cost", "fixed_cost",
                                   "step_cost"]], on=keys, how="left")
    cr = cr.sort_values(["service", "year"], kind="stable").reset_index(drop=True)
    cr["holder"] = cr["service"].map(svc["holder"]).fillna(POOLED)
    cr["contract"] = cr["service"].map(svc["contract"])
    cr["baseline_activity"] = cr["service"].map(svc["baseline_activity"])
    cr["activity_avoided"] = cr["baseline_activity"] - cr["activity"]
    cr["notional_value"] = cr["unit_cost"] * cr["activity_avoided"]
    form = cr["contract"].to_numpy()
    given = cr["service"].map(svc["contract_given"]).astype(bool).to_numpy()
    cr["price"] = np.where(form == "activity", np.where(given, cr["price"], cr["unit_cost"]), np.nan)
    cr["block_value"] = np.where(form == "block", cr["block_value"], np.nan)
    cr["capitation_value"] = np.where(form == "capitation", cr["capitation_value"], np.nan)
    cr["payment"] = cr["spend"]
    cr["baseline_payment"] = np.select(
        [form == "activity", form == "block"],
        [cr["price"] * cr["baseline_activity"], cr["block_value"]], cr["capitation_value"])
    cr["commissioner_cash_released"] = cr["baseline_payment"] - cr["payment"]
    has_cb = cr["service"].map(svc["cost_behaviour"]).astype(bool).to_numpy()
    cr["variable_cost"] = np.where(has_cb, cr["variable_cost"], np.nan)
    cr["fixed_cost"] = np.where(has_cb, cr["fixed_cost"], np.nan)
    for col in ("step_capacity", "closure_lag", "baseline_steps"):
        cr[col] = cr["service"].map(svc[col]).astype(float)
    cr["steps_in_use"], cr["steps_paid"] = np.nan, np.nan
    in_model = _column(lp, x, "steps_in_use", cr)
    paid_model = _column(lp, x, "steps_paid", cr)
    for name, rows in cr.groupby("service", sort=False).indices.items():
        cap = cr["step_capacity"].iat[rows[0]]
        if np.isnan(cap):
            continue
        if not np.isnan(in_model[rows]).any():
            cr.loc[rows, "steps_in_use"] = np.round(in_model[rows])
            cr.loc[rows, "steps_paid"] = np.round(paid_model[rows], 9)
        else:
            n, p = provider_steps(cr["activity"].to_numpy()[rows], cap, int(cr["closure_lag"].iat[rows[0]]),
                                  cr["baseline_steps"].iat[rows[0]])
            cr.loc[rows, "steps_in_use"], cr.loc[rows, "steps_paid"] = n, p
    stepped = cr["step_capacity"].notna().to_numpy()
    cr["step_cost"] = np.where(stepped, cr["step_cost"], np.nan)
    cr["double_running"] = np.where(stepped, cr["step_cost"] * (cr["steps_paid"] - cr["steps_in_use"]), 0.0)
    step_part = np.where(stepped, cr["step_cost"] * cr["steps_paid"], 0.0)
    step_base = np.where(stepped, cr["step_cost"] * cr["baseline_steps"], 0.0)
    cb_cost = cr["variable_cost"].fillna(0) * cr["activity"] + step_part + cr["fixed_cost"].fillna(0)
    cb_base = cr["variable_cost"].fillna(0) * cr["baseline_activity"] + step_base + cr["fixed_cost"].fillna(0)
    cr["provider_cost"] = np.where(has_cb, cb_cost, cr["unit_cost"] * cr["activity"] + cr["fixed_spend"])
    cr["baseline_provider_cost"] = np.where(has_cb, cb_base, cr["unit_cost"] * cr["baseline_activity"])
    cr["system_cash_released"] = cr["baseline_provider_cost"] - cr["provider_cost"]
    cash_release = cr[CASH_RELEASE_COLUMNS].sort_values(["year", "service"], kind="stable").reset_index(drop=True)

    tr = _transition_table(inst, lp, x, alloc)
    fund = _fund_table(inst, tr)
    return {"cash_release": cash_release, "transition": tr, "transformation_fund": fund,
            "cash_flow": cash_flow(cash_release, tr, fund, investing_services(inst))}


def investing_services(inst) -> set[str]:
    """The services whose payment growth is the plan's investment (see :func:`cash_flow`): the
    prevention programmes (a service with a prevention effect) and the services with a transition
    (set-up) cost."""
    programmes = set(inst.effects["service"]) if len(getattr(inst, "effects", ())) else set()
    return programmes | {s.name for s in inst.model.services if s.transition is not None}


def _transition_table(inst, lp, x, alloc: pd.DataFrame) -> pd.DataFrame:
    if "setup_cost" not in lp.variables:
        return pd.DataFrame(columns=TRANSITION_COLUMNS)
    blk = lp.variables["setup_cost"]
    t = blk.index.copy()
    t = t.merge(alloc[["service", "sector", "year", "activity"]], on=["service", "year"], how="left")
    prev = alloc[["service", "year", "activity"]].assign(year=alloc["year"] + 1).rename(
        columns={"activity": "previous_activity"})
    t = t.merge(prev, on=["service", "year"], how="left")
    first = t["previous_activity"].isna()
    t.loc[first, "previous_activity"] = t.loc[first, "service"].map(inst.services["baseline_activity"])
    t["holder"] = t["service"].map(inst.services["holder"]).fillna(POOLED)
    t["growth"] = np.maximum(t["activity"] - t["previous_activity"], 0.0)
    t["setup_cost_per_unit"] = t[["service", "year"]].merge(
        inst.service_years[["service", "year", "setup_cost"]], on=["service", "year"], how="left")["setup_cost"].to_numpy()
    t["setup_cost"] = _column(lp, x, "setup_cost", t)
    fp = _column(lp, x, "transformation_fund_paid", t)
    t["fund_paid"] = np.nan_to_num(fp)
    t["budget_bears"] = t["setup_cost"] - t["fund_paid"]
    return t[TRANSITION_COLUMNS].sort_values(["year", "service"], kind="stable").reset_index(drop=True)


def _fund_table(inst, tr: pd.DataFrame) -> pd.DataFrame:
    fund = inst.model.transformation_fund
    if fund is None:
        return pd.DataFrame(columns=FUND_COLUMNS)
    from formulations.transition import fund_years

    years = list(inst.years)
    open_years = set(fund_years(inst))
    per_year = expand_years(fund.per_year, years, inst.base_year) if fund.per_year is not None else None
    paid = tr.groupby("year")["fund_paid"].sum().reindex(years, fill_value=0.0) if len(tr) else \
        pd.Series(0.0, index=years)
    out = pd.DataFrame({"fund": fund.name, "year": years})
    out["available"] = [(per_year[y] if per_year is not None else np.inf) if y in open_years else 0.0 for y in years]
    out["paid"] = paid.to_numpy()
    out["cumulative_paid"] = out["paid"].cumsum()
    out["total"] = np.nan if fund.total is None else float(fund.total)
    out["available"] = out["available"].replace([np.inf], np.nan)
    return out[FUND_COLUMNS]


def payback(years: list[int], cumulative: np.ndarray, tol: float = 1e-6) -> tuple[float, str]:
    """(payback year, in words) of a cumulative net cash series: the first year cumulative net
    cash is back at or above zero after having been below it."""
    scale = tol * max(1.0, float(np.max(np.abs(cumulative))) if len(cumulative) else 1.0)
    below = np.flatnonzero(cumulative < -scale)
    if not len(below):
        return math.nan, "no net investment"
    after = [k for k in range(below[0] + 1, len(years)) if cumulative[k] >= -scale]
    if not after:
        return math.nan, "not within the plan"
    return float(years[after[0]]), str(years[after[0]])


def cash_flow(cash_release: pd.DataFrame, tr: pd.DataFrame, fund: pd.DataFrame,
              investing: set[str] | frozenset = frozenset()) -> pd.DataFrame:
    """Per holder (and the transformation fund, and the whole system) and year:

        payments_up    = sum over its services of max(0, payment - baseline payment)
        payments_down  = sum over its services of max(0, baseline payment - payment)
        demand_growth  = the part of payments_up on services that are not ``investing``
        invested       = payments_up - demand_growth + transition cost - what the fund pays of it
        saved          = payments_down
        net            = saved - invested;  cumulative_net its running sum;
        payback year   = the first year cumulative net is back at or above 0 after being below it.

    The rule that separates investment from demand growth: a payment rise of a prevention programme
    or of a service with a transition (set-up) cost (``investing``: the services the plan grows on
    purpose) is programme and transition investment; a payment rise of any other service (care that
    grows with its patients: demographic growth in acute, say) is demand growth, shown in its own
    column and left out of invested, net and the payback year. A growing care service without a
    stated transition cost therefore counts as demand growth: give it a transition section to count
    its growth as investment. Payback is programme investment against the cash released.

    The fund's row invests what it pays; the system row adds the holders' and the fund's rows."""
    rise = np.maximum(cash_release["payment"] - cash_release["baseline_payment"], 0.0)
    cr = cash_release.assign(
        up=rise, down=np.maximum(cash_release["baseline_payment"] - cash_release["payment"], 0.0),
        demand=np.where(cash_release["service"].isin(set(investing)), 0.0, rise))
    years = sorted(cr["year"].unique().tolist())
    g = cr.groupby(["holder", "year"]).agg(payments_up=("up", "sum"), payments_down=("down", "sum"),
                                           demand_growth=("demand", "sum"))
    if len(tr):
        t = tr.groupby(["holder", "year"]).agg(transition_cost=("setup_cost", "sum"), fund_paid=("fund_paid", "sum"))
        g = g.join(t, how="left")
    else:
        g["transition_cost"], g["fund_paid"] = 0.0, 0.0
    g = g.fillna(0.0).reset_index()
    g["invested"] = g["payments_up"] - g["demand_growth"] + g["transition_cost"] - g["fund_paid"]
    g["saved"] = g["payments_down"]
    frames = [g]
    if len(fund):
        f = pd.DataFrame({"holder": fund["fund"].iat[0], "year": fund["year"], "payments_up": 0.0,
                          "payments_down": 0.0, "demand_growth": 0.0, "transition_cost": 0.0, "fund_paid": 0.0,
                          "invested": fund["paid"].to_numpy(dtype=float), "saved": 0.0})
        frames.append(f)
    rows = pd.concat(frames, ignore_index=True)
    system = rows.groupby("year", as_index=False)[["payments_up", "payments_down", "demand_growth", "transition_cost",
                                                  "invested", "saved"]].sum()
    system["fund_paid"] = 0.0  # within the system the fund is an investor, not a credit
    system["holder"] = SYSTEM
    rows = pd.concat([rows, system], ignore_index=True)
    rows["net"] = rows["saved"] - rows["invested"]
    rows = rows.sort_values(["holder", "year"], kind="stable").reset_index(drop=True)
    rows["cumulative_net"] = rows.groupby("holder")["net"].cumsum()
    rows["payback_year"], rows["payback"] = np.nan, ""
    for h, idx in rows.groupby("holder", sort=False).indices.items():
        yr, words = payback(years, rows["cumulative_net"].to_numpy()[idx])
        rows.loc[idx, "payback_year"] = yr
        rows.loc[idx, "payback"] = words
    order = {h: k for k, h in enumerate(sorted(set(rows["holder"]) - {SYSTEM}) + [SYSTEM])}
    rows = rows.assign(_o=rows["holder"].map(order)).sort_values(["_o", "year"], kind="stable").drop(columns="_o")
    return rows[CASH_FLOW_COLUMNS].reset_index(drop=True)
