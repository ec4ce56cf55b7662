"""The shift policy: move money upstream, as a share of spend or as an amount."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .budget import spend_terms
from .lp import LinearProgram, terms


def trajectory(inst, final_value: float, start_value: float, kind: str) -> pd.DataFrame:
    """Required level per planning year: linear from the base year to the final year, or the
    final year only."""
    base, years = inst.base_year, list(inst.years)
    n = len(years)
    rows = []
    for y in years:
        if kind == "final_year" and y != years[-1]:
            continue
        rows.append({"year": y, "required": start_value + (final_value - start_value) * (y - base) / n})
    return pd.DataFrame(rows, columns=["year", "required"])


def policy_fraction(inst, year: int, kind: str) -> float:
    """f_t: the fraction of a policy's change required by ``year``: ``(t - base_year) / T`` on a
    linear trajectory; on a ``final_year`` one, 1 in the final year and 0 before (the factor of
    :func:`trajectory`)."""
    if kind == "final_year":
        return 1.0 if year == inst.final_year else 0.0
    return (year - inst.base_year) / len(inst.years)


def required_share(base_share: float, increase_pp: float, fraction: float = 1.0) -> float:
    """The share rule: ``s_t = share_base(G) + increase_pp / 100 x f_t`` (``f_t = 1``: the final share)."""
    return base_share + increase_pp / 100 * fraction


def base_total_spend(inst) -> float:
    """The base-year total spend a share is measured against (the smallest finite budget where
    the base year has no spend, else 1), so that ``s_t x base_total_spend`` is the group spend the
    rule asks for at base-year money."""
    total = float(inst.services["base_spend"].sum())
    if total <= 0:
        total = float(np.nanmin(np.where(np.isfinite(inst.budget), inst.budget, np.nan))) \
            if np.isfinite(inst.budget).any() else 1.0
    return total


def share_trajectory(inst, policy) -> pd.DataFrame:
    """(year, required_share) for a share policy: base share + increase x (t - base) / T."""
    s0 = inst.base_share(policy.sectors)
    tr = trajectory(inst, s0 + policy.increase_pp / 100.0, s0, policy.trajectory)
    return tr.rename(columns={"required": "required_share"})


def add_share_shift(lp: LinearProgram, inst) -> None:
    """For each share policy over sector group G and each year t on its trajectory:

        sum_{i in G} spend[i, t] >= share_t * sum_i spend[i, t],
        share_t = share_base(G) + increase_pp / 100 * (t - base_year) / T

    written as sum_{i in G} (1 - share_t) spend[i, t] - sum_{i not in G} share_t spend[i, t] >= 0.
    """
    policies = [p for p in inst.model.shift_policies if p.kind == "share"]
    if not policies:
        return
    spend = spend_terms(lp, inst)
    idx, parts = [], []
    for p in policies:
        tr = share_trajectory(inst, p)
        tr["policy"] = p.name
        idx.append(tr[["policy", "year"]])
        t = spend.merge(tr, on="year")
        in_group = t["sector"].isin(p.sectors).to_numpy()
        coef = t["coef"] * (in_group.astype(float) - t["required_share"])
        parts.append(terms(t.assign(policy=p.name)[["policy", "year"]], t["col"], coef))
    lp.add_constraints("shift_share", pd.concat(idx, ignore_index=True), parts, lower=0.0,
                       description="sector group share of spend >= trajectory", unit="currency",
                       dual_unit="cost per unit of the share rule")


def add_transfer_shift(lp: LinearProgram, inst) -> None:
    """For each transfer policy moving X from sector A to sector B, each year t on its trajectory:

        spend_A[t] <= spend_A[base] - X_t   and   spend_B[t] >= spend_B[base] + X_t,
        X_t = X * (t - base_year) / T
    """
    policies = [p for p in inst.model.shift_policies if p.kind == "transfer"]
    if not policies:
        return
    spend = spend_terms(lp, inst)
    base = inst.base_sector_spend()
    idx, parts, lo, hi = [], [], [], []
    for p in policies:
        tr = trajectory(inst, p.amount, 0.0, p.trajectory)
        for side, sector, sign in (("from", p.from_sector, -1.0), ("to", p.to_sector, 1.0)):
            rows = tr.assign(policy=p.name, side=side)
            idx.append(rows[["policy", "side", "year"]])
            t = spend[spend["sector"] == sector].merge(rows, on="year")
            parts.append(terms(t[["policy", "side", "year"]], t["col"], t["coef"]))
            if sign < 0:  # spend_A <= base_A - X_t
                lo.append(np.full(len(rows), -np.inf))
                hi.append(base[sector] - rows["required"].to_numpy())
            else:
                lo.append(base[sector] + rows["required"].to_numpy())
                hi.append(np.full(len(rows), np.inf))
    lp.add_constraints("shift_transfer", pd.concat(idx, ignore_index=True), parts,
                       lower=np.concatenate(lo), upper=np.concatenate(hi),
                       description="sector spend moved by at least the amount on the trajectory",
                       unit="currency", dual_unit="cost per unit of the transfer")
