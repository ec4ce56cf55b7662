"""``budgetshift compare``: several instance files and/or scenarios, solved and shown side by side."""

from __future__ import annotations

import math
import sys

import click
import pandas as pd
from rich.console import Console
from ...output.terminal import PlannerConsole
from rich.markup import escape
from rich.table import Table

from formulations.families import terminal_duals

from ..main import EXIT_CODES_HELP, EXIT_OK, EXIT_SOLVER, OVERWRITE_HELP, TIME_LIMIT, handle_errors, check_out, \
    echo_document, debug_option, set_option
from ...output.formatting import money, number, points, present_outcomes

# the shadow prices shown in the terminal (every key family is in the --out tables): the registry's
# ``Block.dual_in_terminal``
_SHOWN_DUALS = terminal_duals()


def _fmt(value, unit: str | None, currency: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, str):
        return escape(value)
    value = value + 0.0  # no "-0"
    if unit == currency:
        return money(value, currency)
    if unit == "fraction":
        return f"{value:.2%}"
    if unit == "ratio":
        return f"{value:,.2f}"
    if unit == "year":
        return f"{value:.0f}"
    return number(value)


def _fmt_diff(d, pct, unit: str | None, currency: str) -> str:
    if d is None or (isinstance(d, float) and math.isnan(d)):
        return "-"
    if d == 0:
        return "[dim]=[/dim]"
    if unit == currency:
        text = money(d, currency, signed=True)
    elif unit == "fraction":
        text = points(d)
    elif unit == "year":
        return f"{d:+.0f} years"
    else:
        text = number(d, signed=True)
    if pct is not None and not (isinstance(pct, float) and math.isnan(pct)):
        text += f" ({pct:+.1f}%)"
    return text


def _side_table(cmp, tidy: pd.DataFrame, keys: list[str], title: str, console: Console,
                key_format=None) -> None:
    """One tidy comparison table as rows of keys and a column per run, with its difference to
    the first run beside every other run's value."""
    if tidy.empty:
        return
    cur = cmp.currency
    flat = tidy.reset_index()
    t = Table(title=title, title_justify="left")
    for k in keys:
        t.add_column(k.replace("_", " "))
    first = cmp.labels[0]
    t.add_column(escape(first), justify="right")
    for label in cmp.labels[1:]:
        t.add_column(escape(label), justify="right")
        t.add_column(f"Δ {escape(label)}", justify="right")
    rows = flat.drop_duplicates(subset=keys)[keys + (["unit"] if "unit" in flat and "unit" not in keys else [])]
    by = {(lab, tuple(r[k] for k in keys)): r for lab, grp in flat.groupby("instance", sort=False)
          for r in grp.to_dict("records")}
    for row in rows.to_dict("records"):
        key = tuple(row[k] for k in keys)
        unit = row.get("unit")
        cells = [escape(str(key_format(k, row[k]) if key_format else row[k])) for k in keys]
        r0 = by.get((first, key))
        cells.append(_fmt(r0["value"], unit, cur) if r0 else "-")
        for label in cmp.labels[1:]:
            r = by.get((label, key))
            cells.append(_fmt(r["value"], unit, cur) if r else "-")
            cells.append(_fmt_diff(r["difference"], r["difference_pct"], unit, cur) if r else "-")
        t.add_row(*cells)
    console.print(t)


def print_comparison(cmp, console: Console | None = None) -> None:
    console = console or PlannerConsole(highlight=False, width=160)
    cur = cmp.currency
    t = Table(title="Runs (differences are against the first)", title_justify="left")
    for c in ("instance", "file", "scenarios", "overrides", "status", "total cost", "discounted cost"):
        t.add_column(c, justify="right" if "cost" in c else "left")
    for label, r in cmp.runs.iterrows():
        colour = "green" if r["status"] == "optimal" else "red"
        t.add_row(escape(label), escape(str(r["file"])), escape(r["scenarios"] or "-"), escape(r["overrides"] or "-"),
                  f"[{colour}]{r['status']}[/{colour}]", money(r["total_cost"], cur), money(r["discounted_cost"], cur))
    console.print(t)
    if cmp.input_differences is not None:
        diff = cmp.input_differences
        if len(diff):
            t = Table(title="Input differences (fields that differ between the runs)", title_justify="left")
            t.add_column("field")
            for label in cmp.labels:
                t.add_column(escape(label), justify="right")
            for path, row in diff.iterrows():
                first = row[cmp.labels[0]]
                t.add_row(escape(path), *[escape(row[lab]) if row[lab] == first or lab == cmp.labels[0]
                                          else f"[bold]{escape(row[lab])}[/bold]" for lab in cmp.labels])
            console.print(t)
        elif len(cmp.labels) > 1:
            console.print("input differences: none (the runs have the same input)")
    _side_table(cmp, cmp.totals, ["quantity"], "Totals", console)
    _side_table(cmp, cmp.spend_by_sector, ["sector", "year"], "Spend by sector and year", console)
    _side_table(cmp, cmp.shift, ["policy", "year", "quantity"], "Shift: required against achieved", console)
    views = cmp.outcome_views()
    _side_table(cmp, present_outcomes(cmp.outcomes, views), ["outcome", "year", "quantity"],
                "Outcomes against targets", console)
    for note in (v.note for v in views.values()):
        if note:
            console.print(f"[dim]{escape(note)}[/dim]")
    pr = cmp.programme_returns
    if len(pr):
        _side_table(cmp, pr[~pr["quantity"].str.startswith(("share of savings", "savings to", "cash released to"))],
                    ["programme", "quantity"], "Prevention programmes over the whole plan (money discounted; "
                    "who saves by holder with --out)", console)
    flow = cmp.cash_flow
    if len(flow):
        system = flow["holder"].eq("system") & flow["quantity"].isin(["invested", "cash released"])
        shown = flow[system | flow["quantity"].eq("payback year")]
        _side_table(cmp, shown, ["holder", "year", "quantity"], "Cash flow: the system's investment and cash "
                    "released per year, payback year per holder (every holder with --out)", console)
    binding = cmp.binding
    _side_table(cmp, binding, ["constraint"], "Binding constraints (rows at a bound)", console)
    sp = cmp.shadow_prices
    shown = sp[sp["constraint"].isin(_SHOWN_DUALS)]
    _side_table(cmp, shown, ["constraint", "keys", "unit"], "Shadow prices of the key constraints", console)
    others = sp[~sp["constraint"].isin(_SHOWN_DUALS)]
    if len(others):
        counts = others.reset_index().drop_duplicates(["constraint", "keys"]).groupby("constraint").size()
        console.print("[dim]more shadow prices (with --out): " + ", ".join(
            f"{k} ({v} rows)" for k, v in counts.items()) + "[/dim]")


def register(group) -> None:
    @group.command(epilog=EXIT_CODES_HELP)
    @click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
    @set_option
    @click.option("--scenario", "scenarios", multiple=True, metavar="NAME[+NAME]",
                  help="Add a run of each file with this scenario (defined in the file's 'scenarios' "
                       "section); NAME+NAME combines scenarios in one run. Repeatable.")
    @click.option("--no-base", is_flag=True, help="With --scenario: leave out the files as written.")
    @click.option("--out", "out_dir", type=click.Path(file_okay=False),
                  help="Write every comparison table as CSV, comparison.xlsx (a sheet per table) and each "
                       "run's own tables (runs/<label>/) into this folder (atomically).")
    @click.option("--overwrite", is_flag=True, help=OVERWRITE_HELP)
    @click.option("--html", "html", type=click.Path(dir_okay=False),
                  help="Also write the HTML report with plots to this file.")
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout instead of tables.")
    @click.option("--workers", type=click.IntRange(min=1),
                  help="Worker processes to solve in (1: one after another in this process; default: one "
                       "per core when the runs are slow enough to repay starting them).")
    @click.option("--time-limit", type=TIME_LIMIT, help="Seconds HiGHS may take per run.")
    @debug_option
    @handle_errors
    def compare(files, overrides, scenarios, no_base, out_dir, overwrite, html, as_json, workers, time_limit,
                debug):
        """Solve FILES (and their --scenario variants) and show them side by side.

        Exit status 0 when every run was solved, whatever its answer (an infeasible run is part of
        the comparison); 3 for invalid input.
        """
        from ...analyses.compare import compare as compare_api
        from ...output.files import to_json

        check_out(out_dir, overwrite, inputs=files)
        cmp = compare_api(list(files), scenarios=list(scenarios), overrides=list(overrides),
                          include_base=not no_base, workers=workers, time_limit=time_limit,
                          progress=not as_json)
        if out_dir:
            path = cmp.write(out_dir, overwrite=overwrite)
            if not as_json:
                click.echo(f"wrote {len(cmp.tables())} comparison tables, comparison.xlsx and "
                           f"{len(cmp.labels)} runs to {path}", err=True)
        if html:
            from ...analyses.report_sources import write_report

            path = write_report(cmp, html)
            if not as_json:
                click.echo(f"wrote the report to {path}", err=True)
        if as_json:
            echo_document(to_json(cmp.to_dict()))
        else:
            print_comparison(cmp)
        failed = [lab for lab, r in cmp.runs.iterrows() if r["status"] == "error"]
        sys.exit(EXIT_SOLVER if failed else EXIT_OK)
