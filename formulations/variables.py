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
