"""Patient flows on the care-pathway graphs: need arising at sources, conservation at care
nodes, and the share of a node's patients that may take each edge."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .lp import LinearProgram, positions, terms
from .variables import node_positions

KEYS = ["pathway", "node", "segment", "year"]


def node_year_key(inst, node, pathway_segment, year_pos) -> np.ndarray:
    """One integer per (pathway node, pathway segment, year), from their positions in
    ``inst.nodes``, ``inst.pathway_segments`` and ``inst.years``: what large families match on."""
    node = np.asarray(node, dtype=np.int64)
    return (node * len(inst.pathway_segments) + np.asarray(pathway_segment, dtype=np.int64)) * len(inst.years) \
        + np.asarray(year_pos, dtype=np.int64)


def node_grid(inst, kinds=None) -> pd.DataFrame:
    """(pathway, node, segment, year) for the nodes of the given kinds (default all), each with its
    pathway's segments and every planning year (in the order of ``inst.nodes``), with the node's
    row in ``inst.nodes`` (``node_pos``) and the node-year ``key``."""
    n = inst.nodes[["pathway", "node", "kind"]].assign(node_pos=np.arange(len(inst.nodes)))
    if kinds is not None:
        n = n.loc[n["kind"].isin(kinds)]
    n = n[["pathway", "node", "node_pos"]]
    ps = inst.pathway_segments.assign(pathway_segment=np.arange(len(inst.pathway_segments)))
    years = pd.DataFrame({"year": list(inst.years), "year_pos": np.arange(len(inst.years))})
    g = n.merge(ps, on="pathway").merge(years, how="cross")
    return g[KEYS + ["node_pos"]].assign(key=node_year_key(inst, g["node_pos"], g["pathway_segment"], g["year_pos"]))


def flow_keys(lp: LinearProgram, inst, end: str) -> np.ndarray:
    """For every flow variable, the node-year key of its tail (``end="tail"``) or head node."""
    c = lp.variables["flow"].codes
    return node_year_key(inst, c[end].to_numpy(), c["pathway_segment"].to_numpy(), c["year_pos"].to_numpy())


def node_kind_is(inst, kind: str) -> np.ndarray:
    """Boolean per row of ``inst.nodes``."""
    return (inst.nodes["kind"] == kind).to_numpy()


def _flows(lp: LinearProgram) -> pd.DataFrame:
    block = lp.variables["flow"]
    return block.index.assign(col=block.cols)


def out_flow_terms(lp: LinearProgram) -> pd.DataFrame:
    """(pathway, node, segment, year, col, coef=1) for the flows leaving each node."""
    f = _flows(lp)
    return f.rename(columns={"from": "node"})[KEYS + ["col"]].assign(coef=1.0)


def in_flow_terms(lp: LinearProgram) -> pd.DataFrame:
    """(pathway, node, segment, year, col, coef=1) for the flows arriving at each node."""
    f = _flows(lp)
    return f.rename(columns={"to": "node"})[KEYS + ["col"]].assign(coef=1.0)


def throughput_terms(lp: LinearProgram, inst) -> pd.DataFrame:
    """Patients passing through each node: out-flows at sources, in-flows at care and sink nodes."""
    kind = inst.nodes[["pathway", "node", "kind"]]
    out = out_flow_terms(lp).merge(kind, on=["pathway", "node"])
    inn = in_flow_terms(lp).merge(kind, on=["pathway", "node"])
    return pd.concat([out[out["kind"] == "source"], inn[inn["kind"] != "source"]],
                     ignore_index=True)[KEYS + ["col", "coef"]]


def source_rows(inst) -> pd.DataFrame:
    """(pathway, node, segment, year, need): baseline need = incidence per head x population."""
    if inst.incidence.empty:
        return pd.DataFrame(columns=KEYS + ["need"])
    years = pd.DataFrame({"year": list(inst.years)})
    s = inst.incidence.merge(years, how="cross")
    pop = inst.population.rename("population").reset_index()
    s = s.merge(pop, on=["segment", "year"], how="left")
    s["need"] = s["incidence"] * s["population"]
    return s[KEYS + ["need"]]


def add_source_incidence(lp: LinearProgram, inst) -> None:
    """Need arising at each source n, segment s, year t leaves along the source's edges:

        sum_{e out of n} flow[e, s, t] = need[n, s, t] * (1 - sum_k (reduction[k, t] - g_k(x_k^base)))

    where need = incidence per head x population and k runs over the prevention effects on (n, s)
    whose driver year t - lag_k is a planning year (earlier years see the baseline: no change).
    Written with the reductions on the left: sum out + need * sum_k reduction = need * (1 + sum_k g_k^base).
    """
    rows = source_rows(inst)
    if rows.empty:
        return
    rhs = rows["need"].to_numpy().copy()
    # flows leaving each source, placed on their row by node-year key (flows of a source, segment
    # and year with no incidence given have no row, as need is then not modelled)
    block = lp.variables["flow"]
    leaves = node_kind_is(inst, "source")[block.codes["tail"].to_numpy()]
    ps = pd.MultiIndex.from_frame(inst.pathway_segments[["pathway", "segment"]]).get_indexer(
        pd.MultiIndex.from_frame(rows[["pathway", "segment"]]))
    node = node_positions(inst, rows["pathway"], rows["node"])
    if (ps < 0).any() or (node < 0).any():
        raise ValueError("incidence given for a node or segment its pathway does not have")
    row_keys = node_year_key(inst, node, ps, pd.Index(list(inst.years)).get_indexer(rows["year"]))
    at, kept = positions(row_keys, flow_keys(lp, inst, "tail")[leaves], "source_incidence", drop_missing=True)
    t = [pd.DataFrame({"_row": at, "col": block.cols[leaves][kept], "coef": 1.0})]
    red = lp.variables.get("reduction")
    if red is not None and len(red):
        eff = inst.effect_targets.merge(red.index.assign(col=red.cols), on="effect")
        eff = eff.merge(inst.effects[["effect", "baseline_reduction"]], on="effect")
        eff = eff.merge(rows, on=KEYS)
        t.append(terms(eff[KEYS], eff["col"], eff["need"]))
        base = eff.groupby(KEYS, as_index=False).agg(extra=("baseline_reduction", "sum"),
                                                      need=("need", "first"))
        idx = rows[KEYS].reset_index().merge(base, on=KEYS)
        rhs[idx["index"].to_numpy()] += (idx["need"] * idx["extra"]).to_numpy()
    lp.add_constraints("source_incidence", rows[KEYS], t, lower=rhs, upper=rhs,
                       description="patients leaving a source = need after prevention",
                       unit="patients", dual_unit="currency per patient of need")


def add_flow_conservation(lp: LinearProgram, inst) -> None:
    """At every care node n, segment s, year t: sum_{e into n} flow[e,s,t] = sum_{e out of n} flow[e,s,t]."""
    rows = node_grid(inst, ["care"])
    if rows.empty:
        return
    block = lp.variables["flow"]
    care = node_kind_is(inst, "care")
    key = rows["key"].to_numpy()
    out = care[block.codes["tail"].to_numpy()]
    inn = care[block.codes["head"].to_numpy()]
    t_out = pd.DataFrame({"_row": positions(key, flow_keys(lp, inst, "tail")[out], "flow_conservation"),
                          "col": block.cols[out], "coef": 1.0})
    t_in = pd.DataFrame({"_row": positions(key, flow_keys(lp, inst, "head")[inn], "flow_conservation"),
                         "col": block.cols[inn], "coef": -1.0})
    lp.add_constraints("flow_conservation", rows[KEYS], [t_out, t_in], lower=0.0, upper=0.0,
                       description="patients in = patients out at a care node", unit="patients")


def add_edge_shares(lp: LinearProgram, inst) -> None:
    """Each edge e = (n, v) carries a share of n's patients within [min_e, max_e]:

        min_e * sum_{e' out of n} flow[e'] <= flow[e] <= max_e * sum_{e' out of n} flow[e']

    Fixed shares (min = max) give one equality; bounds that cannot bind (min = 0, max = 1) add no row.
    """
    block = lp.variables["flow"]
    edge = block.codes["edge"].to_numpy()
    f = block.index.assign(col=block.cols, share_min=inst.edges["share_min"].to_numpy()[edge],
                           share_max=inst.edges["share_max"].to_numpy()[edge])
    # the flows out of one node, segment and year form a group: sum out = sum over the group
    f["group"] = flow_keys(lp, inst, "tail")
    group = f[["group", "col"]]
    ekeys = ["pathway", "from", "to", "segment", "year"]
    for name, bound, need, lower, upper in (
        ("edge_share_fixed", "share_min", f["share_min"] == f["share_max"], 0.0, 0.0),
        ("edge_share_min", "share_min", (f["share_min"] < f["share_max"]) & (f["share_min"] > 0), 0.0, np.inf),
        ("edge_share_max", "share_max", (f["share_min"] < f["share_max"]) & (f["share_max"] < 1), -np.inf, 0.0),
    ):
        sel = f[need]
        if name == "edge_share_fixed":
            # a node's only edge (share 1) needs no row: flow[e] = sum out is an identity
            _, inverse, size = np.unique(f["group"].to_numpy(), return_inverse=True, return_counts=True)
            n_out = size[inverse]
            sel = f[need & ~((n_out == 1) & (f["share_min"] == 1.0))]
        if sel.empty:
            continue
        sel = sel.reset_index(drop=True)
        row = np.arange(len(sel))
        own = pd.DataFrame({"_row": row, "col": sel["col"].to_numpy(), "coef": 1.0})
        others = pd.DataFrame({"_row": row, "group": sel["group"].to_numpy(),
                               "share": sel[bound].to_numpy()}).merge(group, on="group")
        share_terms = pd.DataFrame({"_row": others["_row"], "col": others["col"], "coef": -others["share"]})
        lp.add_constraints(name, sel[ekeys], [own, share_terms], lower=lower, upper=upper,
                           description=f"flow on an edge vs its {bound.replace('_', ' ')}", unit="patients")
