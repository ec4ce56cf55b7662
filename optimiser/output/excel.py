"""Excel workbooks of result and comparison tables (openpyxl): one sheet per table.

Each workbook opens on a ``contents`` sheet (what the workbook holds: the run's summary figures,
then every table with its description and size); each further sheet is one table with a bold,
frozen header row and a filter. Headers are readable and carry their unit, e.g.
``Spend (GBP)``, ``Flow (patients)``, ``Share (fraction)``. The cells hold the same values as the
CSV files beside the workbook (``pandas.read_excel`` reads them back equal): an empty cell is a
missing value, and an unlimited bound is the text ``inf``, which pandas reads back as infinity.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

CONTENTS = "contents"

# units of result-table columns; "{currency}" is replaced by the result's currency
_MONEY = "{currency}"
UNITS: dict[str, str] = {
    **dict.fromkeys(["spend", "budget", "headroom", "discounted_spend", "unit_cost", "base_unit_cost",
                     "base_spend", "amount", "total_cost", "discounted_cost", "fixed_spend", "team_cost",
                     "running_cost", "opening_cost", "objective"], _MONEY),
    **dict.fromkeys(["flow", "inflow", "outflow", "patients", "baseline_need", "need"], "patients"),
    **dict.fromkeys(["activity", "baseline_activity", "pathway_activity", "non_pathway_activity",
                     "capacity_min", "capacity_max", "activity_used", "activity_bound", "minimum_scale",
                     "activity_per_team"], "service units"),
    **dict.fromkeys(["share", "share_min", "share_max", "reduction", "baseline_reduction", "net_reduction",
                     "curve_value", "floor", "max_growth", "max_shrink"], "fraction"),
    "population": "people",
    "incidence_per_head": "patients per person per year",
    "units_per_patient": "service units per patient",
    "discount_factor": "factor",
    "increase_pp": "percentage points",
    "lag": "years",
}
# columns whose unit depends on the table they are in
TABLE_UNITS: dict[str, dict[str, str]] = {
    "outcomes": dict.fromkeys(["value", "at_least", "at_most"], "outcome unit"),
    "constraints": {**dict.fromkeys(["lower", "upper", "value"], "constraint units"), "dual": "see dual unit"},
    "shift": dict.fromkeys(["base", "required", "achieved"], "share: fraction; transfer: {currency}"),
    "prevention": {"driver_value": "activity or {currency}: see driver"},
    "prevention_curves": {"x": "activity or {currency}: see the effect's driver"},
    "objective_weights": {"weight": "per outcome unit"},
    "programme_returns": {**dict.fromkeys(["extra_spend", "downstream_spend_avoided", "net_cost",
                                           "discounted_extra_spend", "discounted_spend_avoided",
                                           "discounted_net_cost"], _MONEY),
                          **dict.fromkeys(["baseline_payment", "extra_payment", "cash_released", "net_cash_cost",
                                           "discounted_extra_payment", "discounted_cash_released",
                                           "discounted_net_cash_cost", "discounted_terminal_value"], _MONEY),
                          "cases_avoided": "patients",
                          **dict.fromkeys(["return_per_pound", "discounted_return_per_pound", "cash_return_per_pound",
                                           "discounted_cash_return_per_pound",
                                           "discounted_return_with_terminal_value"], "{currency} per {currency}")},
    "programme_outcomes": {**dict.fromkeys(["improvement", "discounted_improvement"], "outcome unit"),
                           **dict.fromkeys(["cost_per_unit", "net_cost_per_unit", "discounted_cost_per_unit",
                                            "discounted_net_cost_per_unit"], "{currency} per outcome unit")},
    "programme_savings": {"activity_avoided": "service units",
                          **dict.fromkeys(["spend_avoided", "discounted_spend_avoided", "cash_released",
                                           "discounted_cash_released"], _MONEY)},
    "savings_by_holder": {**dict.fromkeys(["invested", "savings", "net_saving", "discounted_invested",
                                           "discounted_savings", "cash_invested", "cash_released", "net_cash_saving",
                                           "discounted_cash_invested", "discounted_cash_released"], _MONEY),
                          **dict.fromkeys(["share_of_savings", "share_of_cash_released"], "fraction")},
    "programme_cases": {"cases_avoided": "patients"},
    "case_consequences": {"per_case": "outcome or service units per case", "spend_per_case": _MONEY},
}
_MONEY_FORMAT = "#,##0.00"
_FRACTION_FORMAT = "0.0000"


def readable(column: str, table: str | None = None, currency: str = "GBP") -> str:
    """``spend`` -> ``Spend (GBP)``: the header a planner reads for a result-table column."""
    unit = TABLE_UNITS.get(table or "", {}).get(column, UNITS.get(column))
    text = str(column).replace("_", " ")
    text = text[:1].upper() + text[1:]
    return f"{text} ({unit.format(currency=currency)})" if unit else text


def sheet_name(name: str, taken: set[str]) -> str:
    """A valid, unique Excel sheet name (at most 31 characters, none of []:*?/\\)."""
    base = re.sub(r"[\[\]:*?/\\]", "_", str(name)).strip("'")[:31] or "sheet"
    out, k = base, 2
    while out.lower() in {t.lower() for t in taken}:
        suffix = f"_{k}"
        out, k = base[: 31 - len(suffix)] + suffix, k + 1
    taken.add(out)
    return out


def _cell_value(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isnan(v):
            return None
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return v
    if isinstance(value, (list, tuple, dict)):
        return str(value)
    return value


def write_workbook(path: str | Path, tables: Mapping[str, pd.DataFrame], *,
                   descriptions: Mapping[str, str] | None = None,
                   headers: Mapping[str, list[str]] | None = None,
                   about: Mapping[str, Any] | None = None, currency: str = "GBP",
                   title: str = "budgetshift tables") -> Path:
    """Write ``tables`` into one workbook at ``path``, a sheet each (in the order given).

    ``headers`` gives the header row of a table (default: :func:`readable` of its columns);
    ``about`` adds key/value lines (status, objective, ...) to the contents sheet.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    path = Path(path)
    descriptions = descriptions or {}
    headers = headers or {}
    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    taken: set[str] = {CONTENTS}
    names = {name: sheet_name(name, taken) for name in tables}

    contents = wb.create_sheet(CONTENTS)
    contents.column_dimensions["A"].width = 24
    contents.column_dimensions["B"].width = 90
    contents.column_dimensions["C"].width = 10

    def head(ws, text):
        c = WriteOnlyCell(ws, value=text)
        c.font = bold
        return c

    contents.append([head(contents, title)])
    for key, value in (about or {}).items():
        contents.append([key, _cell_value(value) if not isinstance(value, (list, tuple, dict)) else str(value)])
    contents.append([])
    contents.append([head(contents, "sheet"), head(contents, "what it holds"), head(contents, "rows")])
    for name, df in tables.items():
        contents.append([names[name], descriptions.get(name, ""), int(len(df))])

    for name, df in tables.items():
        ws = wb.create_sheet(names[name])
        cols = list(df.columns)
        hdr = list(headers.get(name) or [readable(c, name, currency) for c in cols])
        if len(hdr) != len(cols):
            raise ValueError(f"table {name}: {len(hdr)} headers for {len(cols)} columns")
        formats = []
        for c, h in zip(cols, hdr):
            unit = h[h.rfind("(") + 1:-1] if h.endswith(")") else ""
            is_num = pd.api.types.is_float_dtype(df[c]) if len(df) else False
            formats.append(_MONEY_FORMAT if is_num and unit == currency else
                           _FRACTION_FORMAT if is_num and unit == "fraction" else None)
        for j, h in enumerate(hdr, start=1):
            sample = df[cols[j - 1]].head(200).astype(str).str.len().max() if len(df) else 0
            sample = 0 if pd.isna(sample) else int(sample)
            ws.column_dimensions[get_column_letter(j)].width = min(60, max(10, len(h) + 2, sample + 2))
        ws.freeze_panes = "A2"
        if cols:
            ws.auto_filter.ref = f"A1:{get_column_letter(len(cols))}{len(df) + 1}"
        ws.append([head(ws, h) for h in hdr])
        styled = [j for j, f in enumerate(formats) if f]
        for row in df.itertuples(index=False, name=None):
            values = [_cell_value(v) for v in row]
            for j, v in enumerate(values):
                if isinstance(v, str) and v.startswith("="):
                    cell = WriteOnlyCell(ws, value=v)
                    cell.data_type = "s"  # text, never a formula
                    values[j] = cell
            for j in styled:
                if isinstance(values[j], float):
                    cell = WriteOnlyCell(ws, value=values[j])
                    cell.number_format = formats[j]
                    values[j] = cell
            ws.append(values)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.properties.creator = "budgetshift"
    wb.save(path)
    _make_reproducible(path)
    return path


_FIXED_TIME = "2000-01-01T00:00:00Z"


def _make_reproducible(path: Path) -> None:
    """Give the workbook fixed timestamps (the zip entries' and the document's own), so the same
    tables always give the same bytes, like the CSV files."""
    import zipfile

    with zipfile.ZipFile(path) as src:
        entries = [(info, src.read(info.filename)) for info in src.infolist()]
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for info, data in entries:
            if info.filename == "docProps/core.xml":
                text = data.decode("utf-8")
                text = re.sub(r"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)", rf"\g<1>{_FIXED_TIME}\g<3>", text)
                data = text.encode("utf-8")
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, data)
    tmp.replace(path)


def read_workbook(path: str | Path) -> dict[str, pd.DataFrame]:
    """Every table sheet of a workbook written by :func:`write_workbook`, by sheet name."""
    sheets = pd.read_excel(path, sheet_name=None, engine="openpyxl")
    sheets.pop(CONTENTS, None)
    return sheets


def result_workbook(path: str | Path, tables: Mapping[str, pd.DataFrame], summary: Mapping[str, Any],
                    descriptions: Mapping[str, str]) -> Path:
    """The workbook of one solve's tables (``results.xlsx`` beside the CSV files): the tables named
    in ``descriptions`` first, in its order and described by it (:data:`optimiser.solving.results.TABLES`),
    then any others."""
    currency = summary.get("currency", "GBP")
    about = {k: summary.get(k) for k in ("instance", "source", "status", "status_message", "objective",
                                         "objective_description", "total_cost", "discounted_cost", "currency",
                                         "discount_rate") if summary.get(k) is not None}
    if summary.get("scenarios"):
        about["scenarios"] = ", ".join(summary["scenarios"])
    if summary.get("overrides"):
        about["overrides"] = ", ".join(f"{k}={v}" for k, v in summary["overrides"].items())
    ordered = {n: tables[n] for n in descriptions if n in tables}
    ordered.update({n: df for n, df in tables.items() if n not in ordered})
    return write_workbook(path, ordered, descriptions=descriptions, about=about, currency=currency,
                          title=f"budgetshift result: {summary.get('instance', '')}")
