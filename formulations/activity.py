"""Service activity: it must carry the patients routed through the service's care nodes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .lp import LinearProgram, positions
from .pathway_flows import node_kind_is, throughput_terms


def usage_terms_by_segment(lp: LinearProgram, inst) -> pd.DataFrame:
    """(service, segment, year, col, coef): activity units used by pathway patients of each segment,
    u_n x patients arriving at care node n, over the service's care nodes."""
    care = inst.nodes.loc[inst.nodes["kind"] == "care", ["pathway", "node", "service", "units_per_patient"]]
    t = throughput_terms(lp, inst).merge(care, on=["pathway", "node"])
    t["coef"] = t["units_per_patient"]
    return t[["service", "segment", "year", "col", "coef"]]


def add_activity_covers_flows(lp: LinearProgram, inst) -> None:
    """For every service i and year t:

        activity[i, t] >= sum_{care nodes n of i} u_n * sum_s patients[n, s, t] + other[i, t]

    where other[i, t] is the activity for demand outside the modelled pathways (fixed).
    """
    a = lp.variables["activity"]
    rows = a.index
    # patients arriving at care nodes, placed on their service's row by integer position
    flow = lp.variables["flow"]
    head = flow.codes["head"].to_numpy()
    arrive = node_kind_is(inst, "care")[head]
    service_of_node = pd.Index(inst.services.index).get_indexer(inst.nodes["service"])
    years = pd.Index(list(inst.years))
    n_years = len(years)
    row_keys = pd.Index(inst.services.index).get_indexer(rows["service"]).astype(np.int64) * n_years \
        + years.get_indexer(rows["year"])
    term_keys = service_of_node[head[arrive]].astype(np.int64) * n_years + flow.codes["year_pos"].to_numpy()[arrive]
    use = pd.DataFrame({"_row": positions(row_keys, term_keys, "activity_covers_flows"),
                        "col": flow.cols[arrive],
                        "coef": -inst.nodes["units_per_patient"].to_numpy(dtype=float)[head[arrive]]})
    own = pd.DataFrame({"_row": np.arange(len(rows)), "col": a.cols, "coef": 1.0})
    other = inst.service_years.set_index(["service", "year"])["non_pathway_activity"]
    lower = other.reindex(pd.MultiIndex.from_frame(rows)).to_numpy()
    lp.add_constraints("activity_covers_flows", rows, [own, use], lower=lower,
                       description="activity >= pathway use + non-pathway demand",
                       unit="units", dual_unit="currency per unit of activity")
