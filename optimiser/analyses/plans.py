"""Many plans of one instance, the parts sweep, pareto and uncertainty share: the instance a point
starts from (:func:`as_instance`), a warm session per worker (:func:`warm_session`,
:func:`solve_point`), one solve as one flat record (:func:`plan_record`), and a table of such
records with what it was made from (:func:`table_of`, :func:`meta`), written as a result folder
(:func:`write`, :func:`document`). The points themselves are run by :mod:`optimiser.analyses.execution`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from formulations.families import BLOCKS, sweep_duals

from . import execution
from ..errors import InstanceError
from ..input.instance import Instance
from ..input.loading import load
from ..input.uncertainty_section import carry
from ..input.variants import with_scenarios
from ..output.excel import write_workbook
from ..output.files import records, write_tables_atomically
from ..solving.highs import Status
from ..solving.session import Session
from .explain import explain as explain_api

#: the constraint blocks whose shadow prices a point's record carries (summed over the years), in
#: the record's order: the registry's ``Block.sweep_dual`` (formulations/families.py)
KEY_DUALS = sweep_duals()



def _sum(series: pd.Series):
    v = pd.to_numeric(series, errors="coerce").sum(min_count=1)
    return None if pd.isna(v) else float(v)


def plan_record(result, *, explain: bool = True) -> dict[str, Any]:
    """One solve as one flat record (a row of a sweep, Pareto or uncertainty table):

    * ``status``, ``message`` (the status in words), ``objective``, ``total_cost`` and
      ``discounted_cost`` (the sum over the planning years of spend, undiscounted and discounted);
    * ``spend:<sector>``: spend over the planning years; ``share:<sector>:<year>``: the sector's
      share of that year's spend;
    * ``outcome:<name>``: the outcome's total over the planning years; ``outcome:<name>:<year>``;
    * ``dual:pooled_budget``, ``dual:outcome_target:<outcome>``, ``dual:shift_share:<policy>``,
      ``dual:shift_transfer:<policy>``: shadow prices summed over the years, i.e. the change in the
      objective when the bound moves by one unit in every year (HiGHS's sign: per unit increase
      of the bound);
    * ``relaxation`` (infeasible points, with ``explain``): the smallest relaxation of targets,
      budget, shift rules, capacities and stability limits that gives a plan, in words.
    """

    s = result.summary
    rec: dict[str, Any] = {"status": result.status.value, "message": result.message,
                           "objective": result.objective, "total_cost": s.get("total_cost"),
                           "discounted_cost": s.get("discounted_cost")}
    if result.has_plan:
        sh = result.tables["sector_shares"]
        sh = sh[~sh["is_base_year"].astype(bool)]
        for sector, g in sh.groupby("sector", sort=False):
            rec[f"spend:{sector}"] = float(g["spend"].sum())
        for r in sh.itertuples(index=False):
            rec[f"share:{r.sector}:{int(r.year)}"] = float(r.share)
        out = result.tables["outcomes"]
        for name, g in out.groupby("outcome", sort=False):
            rec[f"outcome:{name}"] = float(g["value"].sum())
        for r in out.itertuples(index=False):
            rec[f"outcome:{r.outcome}:{int(r.year)}"] = float(r.value)
        cons = result.tables["constraints"]
        lp = result.lp
        for name in KEY_DUALS:
            rows = cons[cons["constraint"] == name]
            if not len(rows):
                continue
            if BLOCKS[name].keys == ("year",):  # one row a year (the pooled budget): one figure
                rec[f"dual:{name}"] = _sum(rows["dual"])
                continue
            if lp is not None and name in lp.constraints and len(lp.constraints[name]) == len(rows):
                items = lp.constraints[name].index.iloc[:, 0].astype(str).to_numpy()
            else:
                items = rows["keys"].astype(str).str.split(", ").str[0].to_numpy()
            for item, d in rows["dual"].groupby(items, sort=False):
                rec[f"dual:{name}:{item}"] = _sum(d)
    if result.status is Status.INFEASIBLE and explain and result.lp is not None:
        rec["relaxation"] = relaxation_words(result)
    return rec


def relaxation_words(result) -> str:
    """The smallest relaxation that makes an infeasible plan possible, in one line of words."""

    try:
        ex = explain_api(result, alone=False, conflict=False)
    except Exception as exc:  # noqa: BLE001 - a diagnosis must not fail the point
        return f"(no relaxation: {type(exc).__name__}: {exc})"
    t = ex.relaxation
    t = t[t["scope"] == "together"] if len(t) else t
    if len(t):
        return "; ".join(str(w) for w in t["words"])
    return " ".join(ex.summary.get("relaxation_summary", [])) or "no relaxation found"


def invalid_record(exc: InstanceError) -> dict[str, Any]:
    return {"status": "invalid", "message": "; ".join(str(p) for p in exc.problems)}


def warm_session(payload: dict, options: dict):
    """A Session on the instance a task's payload describes (one per worker: later points are warm).
    A point keeps one record, so its result leaves out the return-on-investment tables."""

    return Session(execution.rebuild(payload), returns=False, **options)


def solve_point(session, spec: Mapping[str, Any]):
    """(result, None) for a point's overrides, or (None, invalid record) when they make the instance invalid."""
    try:
        return session.solve(dict(spec["overrides"])), None
    except InstanceError as exc:
        return None, invalid_record(exc)


def as_instance(instance, overrides=None, scenarios=None):
    """An Instance from an Instance or a file path (with ``overrides``/``scenarios`` applied)."""

    if isinstance(instance, Instance):
        original = instance
        if overrides:
            instance = instance.with_overrides(overrides)
        if scenarios:
            instance = with_scenarios(instance, list(scenarios))
        if instance is not original:
            instance = carry(original, instance)
        return instance
    return load(instance, overrides=overrides, scenarios=scenarios)


def solver_options(time_limit, threads) -> dict:
    return {k: v for k, v in (("time_limit", time_limit), ("threads", threads)) if v is not None}


def table_of(records: list[dict[str, Any]], front: pd.DataFrame) -> pd.DataFrame:
    """``front`` (one row per point: its number and values) joined with the records' columns in
    the order they first appear."""
    body = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    body.index = front.index
    return pd.concat([front, body], axis=1)


def meta(inst, kind: str, stats, **more) -> dict[str, Any]:
    """What a many-plans table was made from (kept in ``table.attrs`` and written as summary.json)."""
    extra = inst.extra or {}
    out = {"kind": kind, "instance": inst.name, "source": inst.source, "overrides": dict(inst.overrides),
           "scenarios": list(extra.get("scenarios", ())), "currency": inst.model.currency,
           "base_year": inst.base_year, "years": list(inst.years), "discount_rate": inst.model.horizon.discount_rate}
    out.update(more)
    out["run"] = stats.to_dict()
    return out


def status_counts(table: pd.DataFrame) -> dict[str, int]:
    return {str(k): int(v) for k, v in table["status"].value_counts(sort=False).items()}


def write(table: pd.DataFrame, directory: str | Path, *, tables: Mapping[str, pd.DataFrame] | None = None,
          html: str | None = None, overwrite: bool = False, name: str | None = None) -> Path:
    """Write a many-plans table (and ``tables``) as CSV, one Excel workbook, ``summary.json`` (the
    table's attrs) and, given ``html``, ``report.html`` into ``directory``, atomically."""

    kind = table.attrs.get("kind", "plans")
    name = name or ("points" if kind == "sweep" else "frontier" if kind == "pareto" else "samples")
    all_tables = {name: table, **dict(tables or {})}
    doc = dict(table.attrs)
    doc["tables"] = {k: f"{k}.csv" for k in all_tables}
    doc["workbook"] = f"{kind}.xlsx"
    if html is not None:
        doc["report"] = "report.html"
    doc["statuses"] = status_counts(table) if "status" in table else {}

    def extra(folder: Path) -> None:
        write_workbook(folder / f"{kind}.xlsx", all_tables, headers={k: [str(c) for c in v.columns]
                                                                     for k, v in all_tables.items()},
                       about={k: v for k, v in doc.items() if not isinstance(v, (dict, list))},
                       currency=table.attrs.get("currency", "GBP"), title=f"budgetshift {kind}")
        if html is not None:
            (folder / "report.html").write_text(html, encoding="utf-8")

    return write_tables_atomically(directory, all_tables, {"summary": doc}, overwrite=overwrite, extra=extra)


def document(table: pd.DataFrame, tables: Mapping[str, pd.DataFrame] | None = None, name: str = "points") -> dict:
    """The JSON document of ``--json``: the table's attrs, then every table as records."""

    doc = dict(table.attrs)
    doc["statuses"] = status_counts(table) if "status" in table else {}
    doc[name] = records(table)
    for k, v in (tables or {}).items():
        doc[k] = records(v)
    return doc
