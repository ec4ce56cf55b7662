"""Writing results: CSV per table, an Excel workbook of them all and a JSON summary, all or nothing.

A result folder is written into a temporary sibling folder and renamed into place in one step,
so a reader (or a crash) never sees a half-written folder.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from .errors import BudgetshiftError


def _clean(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return None if math.isnan(v) or math.isinf(v) else v
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """A DataFrame as JSON-ready records (NaN and infinities become null)."""
    cols = list(df.columns)
    return [{c: _clean(v) for c, v in zip(cols, row)} for row in df.itertuples(index=False, name=None)]


def to_json(data: Any) -> str:
    return json.dumps(_clean(data), indent=2, sort_keys=False, allow_nan=False)


def write_tables_atomically(directory: str | Path, tables: dict[str, pd.DataFrame], documents: dict[str, Any],
                            overwrite: bool = False, extra: Callable[[Path], None] | None = None) -> Path:
    """Write ``tables`` as CSV and ``documents`` as JSON into ``directory``, atomically.

    ``extra(folder)``, if given, writes further files into the temporary folder before it is
    renamed into place (so they too are complete or absent).
    """
    target = Path(directory).resolve()
    if target.exists() and not overwrite:
        if not target.is_dir() or any(target.iterdir()):
            raise BudgetshiftError(f"{target} already exists and is not empty; choose another folder "
                                   "or pass --overwrite")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        for name, df in tables.items():
            df.to_csv(tmp / f"{name}.csv", index=False, float_format="%.10g", lineterminator="\n")
        for name, doc in documents.items():
            (tmp / f"{name}.json").write_text(to_json(doc) + "\n", encoding="utf-8")
        if extra is not None:
            extra(tmp)
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


WORKBOOK = "results.xlsx"


def write_result(result, directory: str | Path, overwrite: bool = False, workbook: bool = True) -> Path:
    """CSV per table, ``results.xlsx`` (every table, a sheet each; ``workbook=False`` leaves it out)
    and ``summary.json`` (status, objective, stats) — complete or absent."""
    summary = dict(result.summary)
    if "scenarios" not in summary and result.instance is not None:
        summary["scenarios"] = list((getattr(result.instance, "extra", None) or {}).get("scenarios", ()))
    summary["tables"] = {name: f"{name}.csv" for name in result.tables}
    if workbook:
        summary["workbook"] = WORKBOOK
    stats = {k: v for k, v in result.stats.items() if not k.endswith("_seconds") and k != "build_steps_seconds"}
    summary["model"] = stats  # timings are left out so the same input gives the same files

    def write_workbook(folder: Path) -> None:
        from .excel import result_workbook

        result_workbook(folder / WORKBOOK, result.tables, summary)

    return write_tables_atomically(directory, result.tables, {"summary": summary}, overwrite=overwrite,
                                   extra=write_workbook if workbook else None)


def read_result(directory: str | Path) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Tables and summary of a result folder written by :func:`write_result`."""
    directory = Path(directory)
    summary = json.loads((directory / "summary.json").read_text(encoding="utf-8"))
    tables = {}
    for name, file in summary.get("tables", {}).items():
        path = directory / file
        try:
            tables[name] = pd.read_csv(path)
        except pd.errors.EmptyDataError:
            tables[name] = pd.DataFrame()
    return tables, summary
