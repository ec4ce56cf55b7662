"""Mixed-integer choices: opening new services or sites, minimum viable scale, whole teams, and a
limit on how many new programmes may start in one year.

U[i, t] below is the most activity service i could have in year t: its capacity, or what the
whole pooled budget would buy (``activity_bound``), a valid big-M.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .lp import LinearProgram, terms

KEYS = ["service", "year"]


def _service_years(inst, mask_column: str) -> pd.DataFrame:
    svc = inst.services
    if mask_column == "opens":
        chosen = svc.index[svc["opens"].astype(bool)]
    else:
        chosen = svc.index[svc[mask_column].notna()]
    sy = inst.service_years
    return sy[sy["service"].isin(chosen)].reset_index(drop=True)


def add_discrete_variables(lp: LinearProgram, inst) -> None:
    """open[i, t] in {0, 1} for services with ``opening`` (0 before their earliest year);
    on[i, t] in {0, 1} for services with a ``minimum_scale``; teams[i, t] in {0, 1, ...} for
    services delivered by ``teams`` (at most max_teams)."""
    o = _service_years(inst, "opens")
    if len(o):
        earliest = inst.services.loc[o["service"], "earliest_year"].to_numpy()
        lp.add_variables("open", o[KEYS], lower=0.0, upper=np.where(o["year"] < earliest, 0.0, 1.0),
                         integer=True, description="1 once the service or site is open")
    m = _service_years(inst, "minimum_scale")
    if len(m):
        lp.add_variables("on", m[KEYS], lower=0.0, upper=1.0, integer=True,
                         description="1 if the service runs at or above its minimum scale this year")
    t = _service_years(inst, "activity_per_team")
    if len(t):
        cap = inst.services.loc[t["service"], "max_teams"].to_numpy(dtype=float)
        lp.add_variables("teams", t[KEYS], lower=0.0, upper=np.where(np.isnan(cap), np.inf, cap),
                         integer=True, description="whole teams", unit="teams")


def _cols(lp: LinearProgram, name: str, frame: pd.DataFrame) -> np.ndarray:
    return lp.variables[name].lookup(frame, on=KEYS)


def add_opening(lp: LinearProgram, inst) -> None:
    """For a service or site i that must be opened:

        open[i, t] >= open[i, t-1]                     (once open, it stays open; open[i, base] = 0)
        activity[i, t] <= U[i, t] * open[i, t]         (no activity before it opens)
        activity[i, t] >= capacity_min[i, t] * open[i, t]

    Its one-off opening cost falls in the year open[i, t] - open[i, t-1] = 1 and its running cost in
    every open year (see :func:`formulations.budget.spend_terms`).
    """
    if "open" not in lp.variables:
        return
    o = lp.variables["open"].index
    sy = o.merge(inst.service_years, on=KEYS)
    act = _cols(lp, "activity", sy)
    opn = _cols(lp, "open", sy)
    later = sy[sy["year"] > inst.years[0]].reset_index(drop=True)
    if len(later):
        prev = later.assign(year=later["year"] - 1)
        lp.add_constraints("open_stays_open", later[KEYS],
                           [terms(later[KEYS], _cols(lp, "open", later), 1.0),
                            terms(later[KEYS], _cols(lp, "open", prev), -1.0)], lower=0.0,
                           description="open[t] >= open[t-1]")
    lp.add_constraints("activity_only_when_open", sy[KEYS],
                       [terms(sy[KEYS], act, 1.0), terms(sy[KEYS], opn, -sy["activity_bound"])], upper=0.0,
                       description="activity <= U x open", unit="units")
    need_min = sy[sy["capacity_min"] > 0].reset_index(drop=True)
    if len(need_min):
        lp.add_constraints("minimum_when_open", need_min[KEYS],
                           [terms(need_min[KEYS], _cols(lp, "activity", need_min), 1.0),
                            terms(need_min[KEYS], _cols(lp, "open", need_min), -need_min["capacity_min"])],
                           lower=0.0, description="activity >= capacity min x open", unit="units")


def add_minimum_scale(lp: LinearProgram, inst) -> None:
    """Semi-continuous activity: either zero or at least the minimum viable scale m_i:

        m_i * on[i, t] <= activity[i, t] <= U[i, t] * on[i, t]
    """
    if "on" not in lp.variables:
        return
    sy = lp.variables["on"].index.merge(inst.service_years, on=KEYS)
    m = inst.services.loc[sy["service"], "minimum_scale"].to_numpy()
    act, on = _cols(lp, "activity", sy), _cols(lp, "on", sy)
    lp.add_constraints("minimum_scale_low", sy[KEYS], [terms(sy[KEYS], act, 1.0), terms(sy[KEYS], on, -m)],
                       lower=0.0, description="activity >= minimum scale x on", unit="units")
    lp.add_constraints("minimum_scale_high", sy[KEYS],
                       [terms(sy[KEYS], act, 1.0), terms(sy[KEYS], on, -sy["activity_bound"])],
                       upper=0.0, description="activity <= U x on", unit="units")


def add_teams(lp: LinearProgram, inst) -> None:
    """Whole teams: activity[i, t] <= activity_per_team_i * teams[i, t]; each team costs
    cost_per_team[i, t] a year (see :func:`formulations.budget.spend_terms`)."""
    if "teams" not in lp.variables:
        return
    sy = lp.variables["teams"].index
    per = inst.services.loc[sy["service"], "activity_per_team"].to_numpy()
    lp.add_constraints("team_capacity", sy[KEYS], [terms(sy[KEYS], _cols(lp, "activity", sy), 1.0),
                                                    terms(sy[KEYS], _cols(lp, "teams", sy), -per)],
                       upper=0.0, description="activity <= activity per team x teams", unit="units",
                       dual_unit="currency per unit of team capacity")


def openings_terms(lp: LinearProgram) -> pd.DataFrame:
    """(service, year, col, coef): opened[i, t] = open[i, t] - open[i, t-1] (open[i, base] = 0)."""
    if "open" not in lp.variables:
        return pd.DataFrame(columns=KEYS + ["col", "coef"])
    blk = lp.variables["open"]
    cur = blk.index.assign(col=blk.cols, coef=1.0)
    prev = blk.index.assign(col=blk.cols, coef=-1.0, year=blk.index["year"] + 1)
    prev = prev[prev["year"].isin(set(blk.index["year"]))]
    return pd.concat([cur, prev], ignore_index=True)[KEYS + ["col", "coef"]]


def add_openings_limit(lp: LinearProgram, inst) -> None:
    """At most k new services or sites open in any one year:  sum_i opened[i, t] <= k."""
    k = inst.model.limits.max_openings_per_year
    if k is None or "open" not in lp.variables:
        return
    rows = pd.DataFrame({"year": list(inst.years)})
    t = openings_terms(lp)[["year", "col", "coef"]]
    lp.add_constraints("openings_per_year", rows, t, upper=float(k),
                       description="new services or sites opened this year <= limit", unit="openings")
