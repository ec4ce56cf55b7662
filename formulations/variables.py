"""Decision variables: activity per service and year, patient flow per pathway edge, segment and
year, and the incidence reduction achieved by each prevention effect per year."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .lp import LinearProgram


def add_activity(lp: LinearProgram, inst) -> None:
    """activity[i, t] >= 0 for service i, planning year t, within its capacity:
    capacity_min[i, t] <= activity[i, t] <= capacity_max[i, t]  (units of the service per year)."""
    sy = inst.service_years
    opens = sy["service"].map(inst.services["opens"]).astype(bool).to_numpy()
    lp.add_variables(
        "activity", sy[["service", "year"]],
        # a service still to open has its minimum only once open (formulations.discrete.add_opening)
        lower=np.where(opens, 0.0, sy["capacity_min"].to_numpy()),
        upper=sy["capacity_max"].to_numpy(), description="units of activity delivered", unit="units",
    )


FLOW_KEYS = ["pathway", "from", "to", "segment", "year"]
FLOW_CODES = ["edge", "tail", "head", "pathway_segment", "year_pos"]


def node_positions(inst, pathway: pd.Series, node: pd.Series) -> np.ndarray:
    """Row of ``inst.nodes`` of each (pathway, node) pair (-1 where there is none)."""
    where = pd.MultiIndex.from_frame(inst.nodes[["pathway", "node"]])
    return where.get_indexer(pd.MultiIndex.from_arrays([pathway, node]))


def flow_table(inst) -> pd.DataFrame:
    """Every (pathway, from, to, segment, year): the pathway's edges x its segments x planning years;
    with the integer codes :data:`FLOW_CODES` of each: the row of its edge in ``inst.edges``, of its
    tail and head nodes in ``inst.nodes``, of (pathway, segment) in ``inst.pathway_segments``, and
    the position of its year in ``inst.years``."""
    if inst.edges.empty:
        return pd.DataFrame({c: pd.Series(dtype=object if c in FLOW_KEYS[:4] else np.int64)
                             for c in FLOW_KEYS + FLOW_CODES})
    e = inst.edges[["pathway", "from", "to"]].copy()
    e["edge"] = np.arange(len(e))
    e["tail"] = node_positions(inst, e["pathway"], e["from"])
    e["head"] = node_positions(inst, e["pathway"], e["to"])
    ps = inst.pathway_segments.assign(pathway_segment=np.arange(len(inst.pathway_segments)))
    e = e.merge(ps, on="pathway")
    years = pd.DataFrame({"year": list(inst.years), "year_pos": np.arange(len(inst.years))})
    f = e.merge(years, how="cross")
    return f[FLOW_KEYS + FLOW_CODES]


def add_flows(lp: LinearProgram, inst) -> None:
    """flow[p, (u, v), s, t] >= 0: patients of segment s taking edge u -> v of pathway p in year t."""
    f = flow_table(inst)
    codes = pd.DataFrame({c: f[c].to_numpy(dtype=np.int32) for c in FLOW_CODES})
    lp.add_variables("flow", f[FLOW_KEYS], description="patients per year", unit="patients", codes=codes)


def _pulse_effects(inst) -> pd.DataFrame:
    if "lasting" not in inst.effects:
        return inst.effects
    return inst.effects[~inst.effects["lasting"].astype(bool)]


def effect_years(inst) -> pd.DataFrame:
    """(effect, year, driver_year) for the one-year-pulse effects (no ramp, persistence or duration,
    no terminal value) in the years in which the driver is a decision: driver_year = year - lag falls
    in the planning horizon. Earlier years see the baseline."""
    effects = _pulse_effects(inst)
    if effects.empty:
        return pd.DataFrame(columns=["effect", "year", "driver_year"])
    e = effects[["effect", "lag"]].merge(pd.DataFrame({"year": list(inst.years)}), how="cross")
    e["driver_year"] = e["year"] - e["lag"]
    return e.loc[e["driver_year"] > inst.base_year, ["effect", "year", "driver_year"]].reset_index(drop=True)


def cohort_terms(inst) -> pd.DataFrame:
    """(effect, year, cohort_year, weight) for the lasting effects: the planning-year cohorts tau
    whose activity acts in year t (a planning year, or a year after the horizon counted by the
    terminal value) with weight p_k(t - tau) > 0."""
    prof = inst.effect_profiles
    cols = ["effect", "year", "cohort_year", "weight"]
    if prof.empty:
        return pd.DataFrame(columns=cols)
    modelled = list(inst.years) + list(inst.terminal_years)
    c = prof.merge(pd.DataFrame({"cohort_year": list(inst.years)}), how="cross")
    c["year"] = c["cohort_year"] + c["years_after"]
    c = c[c["year"].isin(modelled)]
    return c.sort_values(["effect", "year", "cohort_year"], kind="stable")[cols].reset_index(drop=True)


def lasting_effect_years(inst) -> pd.DataFrame:
    """(effect, year, reach) for the lasting effects: the years t some planning-year cohort acts in,
    reach = S_{k,t} = sum_tau p_k(t - tau) over those cohorts, in the order of ``inst.effects``."""
    c = cohort_terms(inst)
    if c.empty:
        return pd.DataFrame(columns=["effect", "year", "reach"])
    s = c.groupby(["effect", "year"], as_index=False, sort=False).agg(reach=("weight", "sum"))
    order = {k: i for i, k in enumerate(inst.effects["effect"])}
    return s.assign(_o=s["effect"].map(order)).sort_values(["_o", "year"], kind="stable") \
        .drop(columns="_o").reset_index(drop=True)


def cohort_years(inst) -> pd.DataFrame:
    """(effect, cohort_year, driver_year = cohort_year) for the lasting effects' planning-year
    cohorts that act in some modelled year."""
    c = cohort_terms(inst)
    if c.empty:
        return pd.DataFrame(columns=["effect", "cohort_year", "driver_year"])
    order = {k: i for i, k in enumerate(inst.effects["effect"])}
    y = c[["effect", "cohort_year"]].drop_duplicates()
    y = y.assign(_o=y["effect"].map(order)).sort_values(["_o", "cohort_year"], kind="stable").drop(columns="_o")
    return y.assign(driver_year=y["cohort_year"]).reset_index(drop=True)


def add_prevention(lp: LinearProgram, inst) -> None:
    """reduction[k, t] in [0, max_k]: the fractional cut in incidence that effect k achieves in
    year t, read off its response curve at the driver's level in year t - lag (see prevention).

    A lasting effect (ramp, persistence, duration or terminal value) has a reduction in every year
    t some planning-year cohort acts in, beyond the horizon too with a terminal value, bounded by
    what its cohorts can deliver: g0_k (1 - S_{k,t}) <= reduction[k, t] <= g0_k + S_{k,t} (max_k - g0_k)
    (formulations.prevention.add_prevention_persistence; S from :func:`lasting_effect_years`)."""
    ey = effect_years(inst)
    upper = np.array([max(inst.curves[k].y) for k in ey["effect"]], dtype=float)
    ly = lasting_effect_years(inst)
    if len(ly):
        g0 = ly["effect"].map(inst.effects.set_index("effect")["baseline_reduction"]).to_numpy(dtype=float)
        top = np.array([max(inst.curves[k].y) for k in ly["effect"]], dtype=float)
        reach = ly["reach"].to_numpy(dtype=float)
        index = pd.concat([ey[["effect", "year"]], ly[["effect", "year"]]], ignore_index=True)
        lower = np.concatenate([np.zeros(len(ey)), np.minimum(0.0, g0 * (1 - reach))])
        upper = np.concatenate([upper, np.maximum(top, g0 + reach * (top - g0))])
        lp.add_variables("reduction", index, lower=lower, upper=upper,
                         description="fractional reduction in incidence (response curve value)", unit="fraction")
        return
    lp.add_variables("reduction", ey[["effect", "year"]], lower=0.0, upper=upper,
                     description="fractional reduction in incidence (response curve value)", unit="fraction")


def add_cohort_responses(lp: LinearProgram, inst) -> None:
    """cohort_response[k, tau] in [0, max_k] for the lasting effects: the full effect of cohort tau,
    the response curve read at the driver in year tau (formulations.prevention.add_cohort_response)."""
    cy = cohort_years(inst)
    if cy.empty:
        return
    upper = np.array([max(inst.curves[k].y) for k in cy["effect"]], dtype=float)
    lp.add_variables("cohort_response", cy[["effect", "cohort_year"]], lower=0.0, upper=upper,
                     description="full effect of one year's prevention activity (response curve value)",
                     unit="fraction")
