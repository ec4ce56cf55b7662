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


def flow_index(inst) -> pd.DataFrame:
    """Every (pathway, from, to, segment, year): the pathway's edges x its segments x planning years."""
    if inst.edges.empty:
        return pd.DataFrame(columns=["pathway", "from", "to", "segment", "year"])
    e = inst.edges[["pathway", "from", "to"]].merge(inst.pathway_segments, on="pathway")
    years = pd.DataFrame({"year": list(inst.years)})
    return e.merge(years, how="cross")[["pathway", "from", "to", "segment", "year"]]


def add_flows(lp: LinearProgram, inst) -> None:
    """flow[p, (u, v), s, t] >= 0: patients of segment s taking edge u -> v of pathway p in year t."""
    lp.add_variables("flow", flow_index(inst), description="patients per year", unit="patients")


def effect_years(inst) -> pd.DataFrame:
    """(effect, year, driver_year) for the years in which an effect's driver is a decision:
    driver_year = year - lag falls in the planning horizon. Earlier years see the baseline."""
    if inst.effects.empty:
        return pd.DataFrame(columns=["effect", "year", "driver_year"])
    e = inst.effects[["effect", "lag"]].merge(pd.DataFrame({"year": list(inst.years)}), how="cross")
    e["driver_year"] = e["year"] - e["lag"]
    return e.loc[e["driver_year"] > inst.base_year, ["effect", "year", "driver_year"]].reset_index(drop=True)


def add_prevention(lp: LinearProgram, inst) -> None:
    """reduction[k, t] in [0, max_k]: the fractional cut in incidence that effect k achieves in
    year t, read off its response curve at the driver's level in year t - lag (see prevention)."""
    ey = effect_years(inst)
    upper = np.array([max(inst.curves[k].y) for k in ey["effect"]], dtype=float)
    lp.add_variables("reduction", ey[["effect", "year"]], lower=0.0, upper=upper,
                     description="fractional reduction in incidence (response curve value)", unit="fraction")
