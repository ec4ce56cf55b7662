"""What the many-plans commands (``sweep``, ``pareto``, ``uncertainty``) share: where to solve
(workers, Dask, time limits), checkpoints, outputs, their exit statuses, and the terminal table of
their points. One module, so no command is the library of another.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import click

from .main import EXIT_OK, EXIT_SOLVER, EXIT_USAGE, OVERWRITE_HELP, THREADS, TIME_LIMIT, check_out, echo_document


MANY_EXIT_HELP = f"""
\b
Exit status:
  {EXIT_OK}  every point was solved (a point with no plan is an answer: see its status)
  1  unexpected internal error (a bug: please report it with --debug output)
  2  wrong command-line usage, or an --out folder budgetshift may not write (checked before solving)
  3  invalid instance file, override or --vary/--outcome (every problem is listed)
  {EXIT_SOLVER}  some points failed (their solve failed twice; see their status and message)
  130  interrupted (finished points are kept: run the same command with --resume)
"""


def run_options(fn):
    """--workers, --backend, --scheduler, --checkpoint, --resume, --time-limit, --threads."""
    for opt in reversed([
        click.option("--workers", type=click.IntRange(min=1),
                     help="Local worker processes (default 1: every point in this process, warm). With "
                          "--backend dask: the workers of the local Dask cluster (default: one per core)."),
        click.option("--backend", type=click.Choice(["local", "dask"]), default="local", show_default=True,
                     help="local: this process or --workers processes; dask: a Dask distributed cluster "
                          "(a local one unless --scheduler is given)."),
        click.option("--scheduler", metavar="ADDRESS",
                     help="With --backend dask: the address of an existing cluster's scheduler, e.g. "
                          "tcp://10.0.0.5:8786 (its workers need budgetshift installed)."),
        click.option("--checkpoint", type=click.Path(dir_okay=False),
                     help="Append every finished point to this JSON-lines file (default with --out: a hidden "
                          "file beside the output folder, removed once the folder is written)."),
        click.option("--resume", is_flag=True,
                     help="Continue from the checkpoint: points already in it are not solved again."),
        click.option("--time-limit", type=TIME_LIMIT, help="Seconds HiGHS may take per point."),
        click.option("--threads", type=THREADS, help="Threads HiGHS may use per point."),
    ]):
        fn = opt(fn)
    return fn


def output_options(fn):
    """--out, --overwrite, --json, --html."""
    for opt in reversed([
        click.option("--out", "out_dir", type=click.Path(file_okay=False),
                     help="Write the tables as CSV, one Excel workbook, summary.json and report.html into "
                          "this folder (atomically: complete or absent)."),
        click.option("--overwrite", is_flag=True, help=OVERWRITE_HELP),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout instead of tables "
                     "(and no progress bar)."),
        click.option("--html", "html", type=click.Path(dir_okay=False),
                     help="Also write the HTML report (self-contained, with plots) to this file."),
    ]):
        fn = opt(fn)
    return fn


def checkpoint_path(checkpoint, out_dir, resume) -> tuple[Path | None, bool]:
    """The checkpoint file to use and whether it was chosen for the caller (and is removed at the end)."""
    if checkpoint:
        return Path(checkpoint), False
    if out_dir:
        target = Path(out_dir).resolve()
        return target.parent / f".{target.name}.checkpoint.jsonl", True
    if resume:
        click.echo("error: --resume needs --checkpoint FILE or --out DIR (the checkpoint of an --out run is kept "
                   "beside DIR)", err=True)
        sys.exit(EXIT_USAGE)
    return None, False


def run_many(compute, *, checkpoint, out_dir, resume, overwrite, as_json, html, write, document, report, show,
             failed, inputs=()) -> None:
    """Shared tail of the three commands: compute with a checkpoint, write, print, exit. A bad
    --out fails here, before any point is solved (exit 2)."""
    from ..output.files import to_json
    from ..output.htmlparts import write_page as write_html

    path, auto = checkpoint_path(checkpoint, out_dir, resume)
    check_out(out_dir, overwrite, inputs=inputs)
    try:
        table = compute(checkpoint=path, resume=resume, progress=not as_json)
    except KeyboardInterrupt:
        where = f"; the finished points are in {path}: run the same command with --resume to continue" if path else ""
        click.echo(f"interrupted{where}", err=True)
        sys.exit(130)
    page = report(table) if (out_dir or html) else None
    if out_dir:
        written = write(table, out_dir, page, overwrite)
        if auto and path is not None:
            path.unlink(missing_ok=True)
        if not as_json:
            click.echo(f"wrote the tables, the workbook, summary.json and report.html to {written}", err=True)
    if html:
        p = write_html(page, html)
        if not as_json:
            click.echo(f"wrote the report to {p}", err=True)
    if as_json:
        echo_document(to_json(document(table)))
    else:
        show(table)
    sys.exit(EXIT_SOLVER if failed(table) else EXIT_OK)


def any_failed(table) -> bool:
    return bool((table["status"] == "failed").any()) if "status" in table else False


def fmt(value, money: bool = False, currency: str = "GBP") -> str:
    from rich.markup import escape

    from ..output.formatting import money as fmt_money, number

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, str):
        return escape(value)
    return fmt_money(float(value), currency) if money else number(float(value))


def print_points(table, keys: list[str], title: str, max_rows: int = 200) -> None:
    from ..output.terminal import PlannerConsole
    from rich.markup import escape
    from rich.table import Table

    cur = table.attrs.get("currency", "GBP")
    console = PlannerConsole(highlight=False, width=200)
    spend = [c for c in table.columns if str(c).startswith("spend:") and str(c).count(":") == 1]
    t = Table(title=title, title_justify="left")
    for k in keys:
        t.add_column(escape(str(k)), justify="right")
    t.add_column("status")
    t.add_column("discounted cost", justify="right")
    for c in spend:
        t.add_column(escape(c.replace("spend:", "spend ")), justify="right")
    t.add_column("why not / message", overflow="fold", max_width=70)
    for r in table.head(max_rows).to_dict("records"):
        status = str(r.get("status"))
        colour = "green" if status == "optimal" else "red"
        why = r.get("relaxation") if isinstance(r.get("relaxation"), str) else (
            r.get("message") if status != "optimal" else "")
        t.add_row(*[fmt(r.get(k)) for k in keys], f"[{colour}]{escape(status)}[/{colour}]",
                  fmt(r.get("discounted_cost"), True, cur), *[fmt(r.get(c), True, cur) for c in spend],
                  escape(str(why or "")))
    console.print(t)
    if len(table) > max_rows:
        console.print(f"[dim]first {max_rows} of {len(table)} rows: every row is in the --out tables or --json[/dim]")
    run = table.attrs.get("run", {})
    console.print(f"[dim]{run.get('points')} points ({run.get('resumed')} from the checkpoint), solved on "
                  f"{run.get('backend')} with {run.get('workers')} worker(s) in {run.get('seconds')} s; "
                  f"{run.get('retried')} retried, {run.get('failed')} failed[/dim]")
