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
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from .folders import (NotAResultError, OutputWriteError, check_target, clean_stale, mark_partial, partial_prefix,
                      unmark_partial, write_marker)
from . import excel


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


def _kind(documents: dict[str, Any]) -> str:
    """What an output folder holds, for its marker: solve, compare, pooling, sweep, pareto, uncertainty."""
    if "comparison" in documents:
        return "compare"
    if "pooling" in documents:
        return "pooling"
    summary = documents.get("summary")
    kind = summary.get("kind") if isinstance(summary, dict) else None
    return str(kind) if isinstance(kind, str) and kind else "solve"


def write_tables_atomically(directory: str | Path, tables: dict[str, pd.DataFrame], documents: dict[str, Any],
                            overwrite: bool = False, extra: Callable[[Path], None] | None = None,
                            kind: str | None = None) -> Path:
    """Write ``tables`` as CSV and ``documents`` as JSON into ``directory``, atomically.

    ``extra(folder)``, if given, writes further files into the temporary folder before it is
    renamed into place (so they too are complete or absent). The folder gets the marker file
    :data:`~optimiser.output.folders.MARKER` (``kind``: what it holds), by which ``overwrite`` knows a
    folder budgetshift wrote: any other non-empty folder is refused (see :mod:`optimiser.output.folders`).
    Partial folders left beside it by killed runs are removed first.
    """
    target = check_target(directory, overwrite)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        clean_stale(target)
        tmp = Path(tempfile.mkdtemp(prefix=partial_prefix(target), dir=target.parent))
    except OSError as exc:
        raise OutputWriteError(f"cannot write {target}: {exc.strerror or exc}") from None
    try:
        mark_partial(tmp)
        for name, df in tables.items():
            df.to_csv(tmp / f"{name}.csv", index=False, float_format="%.10g", lineterminator="\n")
        for name, doc in documents.items():
            (tmp / f"{name}.json").write_text(to_json(doc) + "\n", encoding="utf-8")
        if extra is not None:
            extra(tmp)
        unmark_partial(tmp)
        write_marker(tmp, kind or _kind(documents))
        if target.exists():
            check_target(target, overwrite)  # still ours (or empty) now that the plan is written
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise OutputWriteError(f"cannot write {target}: {exc.strerror or exc}") from None
        raise
    return target


WORKBOOK = "results.xlsx"


def write_result(result, directory: str | Path, overwrite: bool = False, workbook: bool = True,
                 descriptions: Mapping[str, str] | None = None) -> Path:
    """CSV per table, ``results.xlsx`` (every table, a sheet each, in the order and with the one-line
    descriptions of ``descriptions``; ``workbook=False`` leaves it out) and ``summary.json``
    (status, objective, stats) — complete or absent."""
    summary = dict(result.summary)
    if "scenarios" not in summary and result.instance is not None:
        summary["scenarios"] = list((getattr(result.instance, "extra", None) or {}).get("scenarios", ()))
    summary["tables"] = {name: f"{name}.csv" for name in result.tables}
    if workbook:
        summary["workbook"] = WORKBOOK
    stats = {k: v for k, v in result.stats.items() if not k.endswith("_seconds") and k != "build_steps_seconds"}
    summary["model"] = stats  # timings are left out so the same input gives the same files

    def write_workbook(folder: Path) -> None:
        excel.result_workbook(folder / WORKBOOK, result.tables, summary, descriptions or {})

    return write_tables_atomically(directory, result.tables, {"summary": summary}, overwrite=overwrite,
                                   extra=write_workbook if workbook else None)


def read_result(directory: str | Path) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Tables and summary of a result folder written by :func:`write_result`.

    A folder that is not one (no readable ``summary.json`` listing its tables, a table file
    missing, or the folder of a sweep, Pareto or uncertainty run) raises
    :class:`~optimiser.output.folders.NotAResultError` saying what was found."""
    directory = Path(directory)
    where = f"{directory} is not a result folder (the folder solve --out writes)"
    path = directory / "summary.json"
    if not directory.is_dir():
        raise NotAResultError(f"{where}: it is {'a file' if directory.exists() else 'not there'}")
    if not path.is_file():
        other = [n for n in ("comparison.json", "pooling.json") if (directory / n).is_file()]
        found = f"it has {other[0]}, not summary.json" if other else "it has no summary.json"
        raise NotAResultError(f"{where}: {found}")
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise NotAResultError(f"{where}: {path} cannot be read as JSON ({exc})") from None
    kind = summary.get("kind") if isinstance(summary, dict) else None
    if isinstance(kind, str) and kind in ("sweep", "pareto", "uncertainty"):
        raise NotAResultError(f"{where}: it holds a {kind} run, not one plan")
    if not isinstance(summary, dict) or not isinstance(summary.get("tables"), dict):
        raise NotAResultError(f"{where}: {path} is not a result summary (expected a JSON object with a "
                              "'tables' mapping)")
    tables = {}
    for name, file in summary["tables"].items():
        path = directory / str(file)
        if not path.is_file():
            raise NotAResultError(f"{where}: its summary.json lists {file}, which is missing")
        try:
            tables[name] = pd.read_csv(path)
        except pd.errors.EmptyDataError:
            tables[name] = pd.DataFrame()
        except (UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise NotAResultError(f"{where}: {path} is not a readable CSV table ({exc})") from None
    return tables, summary
