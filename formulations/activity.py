"""Service activity: it must carry the patients routed through the service's care nodes."""

from __future__ import annotations

import pandas as pd

from .lp import LinearProgram
from .pathway_flows import throughput_terms


def usage_terms_by_segment(lp: LinearProgram, inst) -> pd.DataFrame:
    """(service, segment, year, col, coef): activity units used by pathway patients of each segment,
    u_n x patients arriving at care node n, over the service's care nodes."""
    care = inst.nodes.loc[inst.nodes["kind"] == "care", ["pathway", "node", "service", "units_per_patient"]]
    t = throughput_terms(lp, inst).merge(care, on=["pathway", "node"])
    t["coef"] = t["units_per_patient"]
    return t[["service", "segment", "year", "col", "coef"]]


def usage_terms(lp: LinearProgram, inst) -> pd.DataFrame:
    """(service, year, col, coef): activity units used by pathway patients,
    u_n x patients arriving at care node n, summed over the service's nodes and segments."""
    return usage_terms_by_segment(lp, inst)[["service", "year", "col", "coef"]]


def add_activity_covers_flows(lp: LinearProgram, inst) -> None:
    """For every service i and year t:

        activity[i, t] >= sum_{care nodes n of i} u_n * sum_s patients[n, s, t] + other[i, t]

    where other[i, t] is the activity for demand outside the modelled pathways (fixed).
    """
    a = lp.variables["activity"]
    rows = a.index
    use = usage_terms(lp, inst)
    use["coef"] = -use["coef"]
    own = rows.assign(col=a.cols, coef=1.0)
    other = inst.service_years.set_index(["service", "year"])["non_pathway_activity"]
    lower = other.reindex(pd.MultiIndex.from_frame(rows)).to_numpy()
    lp.add_constraints("activity_covers_flows", rows, [own, use], lower=lower,
                       description="activity >= pathway use + non-pathway demand",
                       unit="units", dual_unit="currency per unit of activity")
