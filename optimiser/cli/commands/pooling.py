"""``budgetshift pooling FILE``: the plan siloed, partially pooled and fully pooled, and the value
of pooling. A thin shell over :func:`optimiser.analyses.pooling.pooling`."""

from __future__ import annotations

import sys

import click
from rich.console import Console
from ...output.formatting import money, number
from ...output.terminal import PlannerConsole, year_table
from rich.markup import escape
from rich.table import Table

from ..main import EXIT_CODES_HELP, EXIT_OK, EXIT_SOLVER, MIP_GAP, OVERWRITE_HELP, THREADS, TIME_LIMIT, handle_errors, \
    status_exit, check_out, debug_option, echo_document, scenario_option, set_option


def _show(p, console: Console) -> None:
    inst = p.instance
    cur = inst.model.currency
    mode = inst.model.objective.mode
    t = Table(title=f"{inst.name}: the value of pooling", title_justify="left")
    for col in ("arrangement", "status", "discounted cost" if mode == "min_cost" else "weighted outcome",
                "total cost", "value of pooling"):
        t.add_column(col, justify="left" if col in ("arrangement", "status") else "right")
    siloed_plan = bool(p.results["siloed"].has_plan)
    for r in p.summary.itertuples(index=False):
        obj = r.objective
        fmt = (lambda v: money(v, cur)) if mode == "min_cost" else number
        value = "-" if r.value_of_pooling is None or r.value_of_pooling != r.value_of_pooling else fmt(r.value_of_pooling)
        if value != "-" and abs(r.value_high - r.value_low) > 1e-6 * max(1.0, abs(r.value_of_pooling)):
            value += f" ({fmt(r.value_low)} to {fmt(r.value_high)})"
        if r.arrangement != "siloed" and not siloed_plan and p.results[r.arrangement].has_plan:
            value = "makes the plan possible"
        t.add_row(r.label, r.status, "-" if obj is None or obj != obj else (money(obj, cur) if mode == "min_cost"
                                                                         else number(obj)),
                  "-" if r.total_cost is None or r.total_cost != r.total_cost else money(r.total_cost, cur), value)
    console.print(t)
    vy = p.value_by_year
    if len(vy) and "weighted_outcome_gained" in vy:
        console.print(year_table("Weighted outcome gained against siloed, per year (the objective's weights)",
                                 vy[vy["arrangement"] != "siloed"], "arrangement",
                                 lambda r: number(r["weighted_outcome_gained"])))
    elif len(vy) and "cost_saved" in vy:
        console.print(year_table("Cost saved against siloed, per year", vy[vy["arrangement"] != "siloed"],
                                 "arrangement", lambda r: money(r["cost_saved"], cur)))
    if len(p.holders):
        t = Table(title="Spend by holder over the horizon, against its budget", title_justify="left")
        for col in ("arrangement", "holder", "budget", "spend", "spend - budget (+ paid by others)"):
            t.add_column(col, justify="left" if col in ("arrangement", "holder") else "right")
        tot = p.holders.groupby(["arrangement", "holder"], sort=False)[["budget", "spend", "net_transfer"]].sum()
        for (arr, h), r in tot.iterrows():
            t.add_row(arr, escape(str(h)), money(r["budget"], cur), money(r["spend"], cur), money(r["net_transfer"], cur))
        console.print(t)
    if len(p.transfers):
        t = Table(title="Transfers between holders the pooled plans imply (over the horizon)", title_justify="left")
        for col in ("arrangement", "pool", "from", "to", "amount"):
            t.add_column(col, justify="right" if col == "amount" else "left")
        tot = p.transfers.groupby(["arrangement", "pool", "from_holder", "to_holder"], sort=False)["amount"].sum()
        for (arr, pool, a, b), v in tot.items():
            t.add_row(arr, escape(str(pool)), escape(str(a)), escape(str(b)), money(v, cur))
        console.print(t)
    if len(p.outcomes):
        t = Table(title="Outcomes over the horizon", title_justify="left")
        arrs = list(dict.fromkeys(p.outcomes["arrangement"]))
        t.add_column("outcome")
        for a in arrs:
            t.add_column(a, justify="right")
        tot = p.outcomes.groupby(["outcome", "arrangement"])["value"].sum()
        for o in dict.fromkeys(p.outcomes["outcome"]):
            t.add_row(escape(str(o)), *[number(tot.get((o, a), float("nan"))) for a in arrs])
        console.print(t)
    for note in p.notes:
        console.print(escape(note))


def register(group) -> None:
    @group.command(epilog=EXIT_CODES_HELP)
    @click.argument("file", type=click.Path(dir_okay=False))
    @set_option
    @scenario_option
    @click.option("--out", "out_dir", type=click.Path(file_okay=False),
                  help="Write the comparison tables as CSV, pooling.xlsx and pooling.json (atomically).")
    @click.option("--overwrite", is_flag=True, help=OVERWRITE_HELP)
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout instead of tables.")
    @click.option("--html", "html", type=click.Path(dir_okay=False),
                  help="Write a self-contained HTML report with plots to this file (atomically).")
    @click.option("--time-limit", type=TIME_LIMIT, help="Seconds HiGHS may take for each solve.")
    @click.option("--threads", type=THREADS, help="Threads HiGHS may use.")
    @click.option("--mip-gap", type=MIP_GAP, help="Relative gap for mixed-integer solves.")
    @debug_option
    @handle_errors
    def pooling(file, overrides, scenarios, out_dir, overwrite, as_json, html, time_limit, threads, mip_gap, debug):
        """Solve FILE with its budget holders siloed, partially pooled (where it defines pooled funds)
        and fully pooled, side by side: the least cost (or best outcome), outcomes, spend by holder
        and sector, the value of pooling in total and per year, and the transfers between holders
        the pooled plans imply.

        Exit status 0 when the fully pooled plan is optimal (a siloed plan with no plan is an answer:
        pooling is then what makes the plan possible); otherwise the fully pooled plan's status.

        \b
          budgetshift pooling instances/kent.yaml --out out/pooling
        """
        from ...input.loading import load
        from ...output.files import to_json
        from ...analyses.pooling import pooling as pooling_api

        check_out(out_dir, overwrite, inputs=[file])
        inst = load(file, overrides=list(overrides), scenarios=list(scenarios))
        p = pooling_api(inst, time_limit=time_limit, threads=threads, mip_gap=mip_gap)
        bad = [arr for arr, r in p.results.items() if r.has_plan and not r.verify().ok]
        if out_dir:
            path = p.write(out_dir, overwrite=overwrite)
            if not as_json:
                click.echo(f"wrote {len(p.tables)} tables (CSV and pooling.xlsx) and pooling.json to {path}", err=True)
        if html:
            from ...analyses.pooling import report_html
            from ...output.htmlparts import write_page as write_html

            write_html(report_html(p), html)
            if not as_json:
                click.echo(f"wrote the report to {html}", err=True)
        if as_json:
            echo_document(to_json(p.to_dict()))
        else:
            _show(p, PlannerConsole())
        for arr in bad:
            click.echo(f"{arr}: the plan fails verification", err=True)
        code = status_exit(p.results["pooled"].status)
        sys.exit(EXIT_SOLVER if code == EXIT_OK and bad else code)
