"""Reports of anything a planner has: one solve, a comparison, ``{label: Result}``, result folders
written by ``solve --out``, comparison folders written by ``compare --out``, or instance files
(solved first). :func:`collect` turns each into a :class:`~optimiser.analyses.compare.Comparison`;
the page itself is drawn by :mod:`optimiser.output.report`.

    optimiser.write_report(result, "report.html")                       # one solve
    optimiser.write_report(optimiser.compare([...]), "report.html")       # a comparison
    optimiser.write_report(["out/kent", "out/variant"], "report.html")    # written result folders
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from ..errors import InstanceError, Problem
from ..output import htmlparts, report
from ..output.files import read_result
from ..solving.results import Result
from .compare import Comparison, compare


def collect(source) -> "Any":
    """Anything a report can be made of, as a :class:`~optimiser.analyses.compare.Comparison`: a Result, a
    Comparison, ``{label: Result}``, or paths (result folders from ``solve --out``, comparison
    folders from ``compare --out``, or instance files, which are solved)."""
    if isinstance(source, Comparison):
        return source
    if isinstance(source, Result):
        label = Path(source.summary.get("source", "")).stem or source.summary.get("instance", "plan")
        return Comparison.from_results({label: source})
    if isinstance(source, Mapping) and all(isinstance(v, Result) for v in source.values()):
        return Comparison.from_results(dict(source))
    paths = [source] if isinstance(source, (str, Path)) else list(source)
    if not paths:
        raise ValueError("nothing to report: give a result, a comparison or at least one path")
    folders, instance_files = [], []
    for p in paths:
        p = Path(p)
        if p.is_file() and p.name in ("summary.json", "comparison.json"):
            p = p.parent
        if p.is_dir() and (p / "comparison.json").is_file():
            folders.append(("comparison", p))
        elif p.is_dir() and (p / "summary.json").is_file():
            folders.append(("result", p))
        elif p.is_file() and p.suffix.lower() in (".yaml", ".yml"):
            instance_files.append(p)
        else:
            found = "no such file or folder" if not p.exists() else \
                ("a folder without summary.json or comparison.json" if p.is_dir() else f"a {p.suffix or 'plain'} file")
            raise InstanceError([Problem(str(p), "(file)", "a result folder (solve --out), a comparison folder "
                                         "(compare --out) or an instance file (.yaml)", found)])
    if len(folders) == 1 and folders[0][0] == "comparison" and not instance_files:
        return Comparison.from_folder(folders[0][1])
    if not folders:
        return compare([str(p) for p in instance_files])
    tables: dict[str, dict] = {}
    summaries: dict[str, dict] = {}
    parts = []
    for kind, p in folders:
        if kind == "comparison":
            c = Comparison.from_folder(p)
            parts += [(lab, c.tables_by_run[lab], c.summaries[lab]) for lab in c.labels]
        else:
            t, s = read_result(p)
            parts.append((p.name, t, s))
    if instance_files:
        c = compare([str(p) for p in instance_files])
        parts += [(lab, c.tables_by_run[lab], c.summaries[lab]) for lab in c.labels]
    for lab, t, s in parts:
        label, k = lab, 2
        while label in tables:
            label, k = f"{lab} #{k}", k + 1
        tables[label], summaries[label] = t, s
    return Comparison.from_tables(tables, summaries)


def report_html(source, title: str | None = None) -> str:
    """The report of ``source`` (see :func:`collect`) as one HTML document."""
    return report.report_html(collect(source), title=title)


def write_report(source, path: str | Path, title: str | None = None) -> Path:
    """Write the HTML report of ``source`` (a Result, a Comparison, ``{label: Result}``, or result
    folders, comparison folders or instance files) to ``path``, atomically."""
    return htmlparts.write_page(report_html(source, title=title), path)
